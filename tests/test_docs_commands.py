"""The command examples of the README and docs/ run as written, so they cannot drift.

A fenced block whose info string is ``sh runnable`` (GitHub highlights it as ``sh``) is run by
this test: each ``celltrial …`` line (a trailing ``\\`` continues it; ``#`` starts a comment)
is one command, run in order in one fresh folder where ``tests/`` and ``docs/`` of this
checkout are visible, by one Python process that imports the command line once. A command that
exits non-zero fails the test, naming the file, the line and its output. The
``. .venv/bin/activate`` line of the README is the environment this test already runs in.
Each block has :data:`LIMIT` seconds.
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
LIMIT = 300
FENCE = re.compile(r"^```sh runnable\s*$(.*?)^```\s*$", re.M | re.S)

#: Runs the commands given as JSON on stdin with one import of the command line.
DRIVER = """
import json, sys
from celltrial.cli import app
for where, argv in json.load(sys.stdin):
    print(f"$ celltrial {' '.join(argv)}", flush=True)
    try:
        app(args=argv, prog_name="celltrial", standalone_mode=False)
    except SystemExit as exc:
        if exc.code not in (0, None):
            print(f"FAILED ({exc.code}) at {where}", flush=True)
            sys.exit(1)
    except Exception as exc:
        print(f"FAILED ({type(exc).__name__}: {exc}) at {where}", flush=True)
        sys.exit(1)
"""


def blocks() -> list[tuple[str, list[tuple[str, list[str]]]]]:
    """(file:line of the block, [(file:line, argv)]) of every runnable block."""
    found = []
    for path in DOCS:
        text = path.read_text(encoding="utf-8")
        for m in FENCE.finditer(text):
            first = text.count("\n", 0, m.start()) + 2
            commands: list[tuple[str, list[str]]] = []
            pending, start = "", first
            for k, line in enumerate(m.group(1).strip("\n").splitlines()):
                if not pending:
                    start = first + k
                pending += line.rstrip("\\").strip() + " " if line.endswith("\\") else line
                if line.endswith("\\"):
                    continue
                words = shlex.split(pending, comments=True)
                pending = ""
                if not words or words == [".", ".venv/bin/activate"]:
                    continue
                where = f"{path.relative_to(ROOT)}:{start}"
                assert words[0] == "celltrial", f"{where}: a runnable block runs celltrial only"
                commands.append((where, words[1:]))
            found.append((f"{path.relative_to(ROOT)}:{first - 1}", commands))
    return found


BLOCKS = blocks()


def test_there_are_runnable_examples() -> None:
    assert len(BLOCKS) >= 3
    assert any(b.startswith("README.md") for b, _ in BLOCKS)


@pytest.mark.slow
@pytest.mark.parametrize(("where", "commands"), BLOCKS, ids=[b for b, _ in BLOCKS])
def test_runnable_block(where: str, commands: list[tuple[str, list[str]]], tmp_path: Path) -> None:
    import json

    for name in ("tests", "docs"):
        (tmp_path / name).symlink_to(ROOT / name)
    env = {
        k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "DJANGO_SETTINGS_MODULE")
    }
    env["PYTHONPATH"] = os.pathsep.join(
        [str(ROOT / "src"), *filter(None, [os.environ.get("PYTHONPATH")])]
    )
    done = subprocess.run(
        [sys.executable, "-c", DRIVER],
        input=json.dumps(commands),
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=LIMIT,
    )
    assert done.returncode == 0, f"{where}\n{done.stdout[-4000:]}\n{done.stderr[-4000:]}"


def test_make_demo_is_safe_to_run_twice() -> None:
    """The README says `make demo` is safe to run twice: its recipe replaces an earlier demo's
    database (``--force``; tests/simulate/test_through_edc.py runs ``demo --force`` twice)."""
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    recipe = makefile.split("\ndemo:", 1)[1].split("\n\n", 1)[0]
    assert "celltrial demo --force" in recipe
