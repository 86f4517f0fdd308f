"""The import contract means what docs/architecture.md says.

The table in ``docs/architecture.md`` ("may import (of celltrial)") names, for each package,
what it may import; every other arrow is forbidden. These tests probe the contracts of
``pyproject.toml`` arrow by arrow:

- on a small import graph holding one import from package P to package Q, the contracts
  break exactly when the table forbids P -> Q (all ordered pairs of the packages in the tree);
- ``lint-imports`` itself, run on a temporary copy of ``src/`` with one forbidden import
  written into it, fails and names the contract (the real tree is not touched).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tomllib
from functools import cache
from pathlib import Path
from typing import Any

import pytest

grimp = pytest.importorskip("grimp")
pytest.importorskip("importlinter")

from importlinter.configuration import configure  # noqa: E402
from importlinter.contracts.forbidden import ForbiddenContract  # noqa: E402
from importlinter.contracts.independence import IndependenceContract  # noqa: E402
from importlinter.contracts.layers import LayersContract  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
SRC = ROOT / "src" / "celltrial"
DOC = ROOT / "docs" / "architecture.md"
PYPROJECT = ROOT / "pyproject.toml"
CONTRACT_TYPES: dict[str, Any] = {
    "forbidden": ForbiddenContract,
    "layers": LayersContract,
    "independence": IndependenceContract,
}


def packages_in_tree() -> set[str]:
    """The top-level packages and modules of celltrial (``cli.py`` counts as ``cli``)."""
    names = {p.name for p in SRC.iterdir() if p.is_dir() and (p / "__init__.py").exists()}
    names |= {p.stem for p in SRC.glob("*.py") if p.stem != "__init__"}
    return names


def table() -> dict[str, set[str]]:
    """The documented table: package -> the packages it may import (closed under the rows)."""
    text = DOC.read_text(encoding="utf-8")
    start = text.index("| package | may import (of celltrial) |")
    rows: dict[str, str] = {}
    for line in text[start:].splitlines()[2:]:
        if not line.startswith("|"):
            break
        cells = [c.strip() for c in line.strip("|").split("|")]
        (name,) = re.findall(r"`(\w+)`", cells[0])
        rows[name] = cells[1]
    names = set(rows)
    allowed: dict[str, set[str]] = {}
    for name, cell in rows.items():
        listed = set(re.findall(r"`(\w+)`", cell))
        if cell == "nothing":
            allowed[name] = set()
        elif cell.startswith("everything but"):
            allowed[name] = names - listed - {name}
        elif cell == "everything":
            allowed[name] = names - {name}
        else:
            allowed[name] = listed
    # The ground floor (``_result``): every package may import it; it imports nothing.
    ground = {name for name in names if name.startswith("_")}
    for name in names - ground:
        allowed[name] |= ground
    return allowed


@cache
def contracts() -> list[Any]:
    """The contracts of ``pyproject.toml``, as import-linter builds them."""
    configure()  # import-linter's settings (its timer), as its command sets them
    config = tomllib.loads(PYPROJECT.read_text(encoding="utf-8"))["tool"]["importlinter"]
    session = {"root_packages": [config["root_package"]]}
    return [
        CONTRACT_TYPES[c["type"]](name=c["name"], session_options=session, contract_options=c)
        for c in config["contracts"]
    ]


def broken_by(importer: str, imported: str, present: set[str]) -> list[str]:
    """Names of the contracts broken by one import ``celltrial.importer`` -> ``.imported``."""
    graph = grimp.ImportGraph()
    graph.add_module("celltrial")
    for name in present:
        graph.add_module(f"celltrial.{name}")
    graph.add_import(
        importer=f"celltrial.{importer}",
        imported=f"celltrial.{imported}",
        line_number=1,
        line_contents=f"import celltrial.{imported}",
    )
    broken = []
    for contract in contracts():
        if not contract.check(graph, verbose=False).kept:
            broken.append(contract.name)
    return broken


def test_the_table_is_whole_and_closed() -> None:
    """Every package of the tree has a row; what a package may import, its imports may too."""
    allowed = table()
    assert packages_in_tree() - set(allowed) == set(), "add the package to docs/architecture.md"
    for name, may in allowed.items():
        assert may <= set(allowed), f"{name}: row names an unknown package"
        for dep in may:
            assert allowed[dep] <= may | {name}, (
                f"{name} may import {dep}, which may import {allowed[dep] - may - {name}}: "
                "an arrow the table forbids would be reachable through an allowed one"
            )


def test_every_forbidden_arrow_breaks_a_contract_and_no_allowed_one_does() -> None:
    allowed = table()
    present = packages_in_tree()
    missed, too_strict = [], []
    for importer in sorted(present):
        for imported in sorted(present - {importer}):
            broken = broken_by(importer, imported, present)
            if imported in allowed[importer] and broken:
                too_strict.append(f"{importer} -> {imported} (broken: {broken})")
            if imported not in allowed[importer] and not broken:
                missed.append(f"{importer} -> {imported}")
    assert missed == [], (
        "forbidden by docs/architecture.md but no contract in pyproject.toml breaks: " + str(missed)
    )
    assert too_strict == [], "allowed by docs/architecture.md but a contract breaks: " + str(
        too_strict
    )


@pytest.mark.skipif(
    shutil.which("lint-imports") is None
    and not Path(sys.executable).with_name("lint-imports").exists(),
    reason="lint-imports not installed",
)
def test_lint_imports_fails_on_a_copy_with_a_forbidden_import(tmp_path: Path) -> None:
    """A copy of the tree where ``dataset`` imports ``stats``: ``lint-imports`` fails on it."""
    shutil.copytree(
        SRC, tmp_path / "src" / "celltrial", ignore=shutil.ignore_patterns("__pycache__")
    )
    shutil.copy(PYPROJECT, tmp_path / "pyproject.toml")
    probe = tmp_path / "src" / "celltrial" / "dataset" / "_probe.py"
    probe.write_text("import celltrial.stats  # a forbidden arrow\n", encoding="utf-8")
    exe = Path(sys.executable).with_name("lint-imports")
    cmd = [str(exe) if exe.exists() else "lint-imports", "--no-cache"]
    env = {**os.environ, "PYTHONPATH": str(tmp_path / "src")}
    done = subprocess.run(cmd, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 1, done.stdout + done.stderr
    assert "dataset imports protocol only BROKEN" in " ".join(done.stdout.split())
    assert "celltrial.dataset._probe -> celltrial.stats" in done.stdout
    # The real tree still passes (the probe lived in the copy only).
    assert not (SRC / "dataset" / "_probe.py").exists()
