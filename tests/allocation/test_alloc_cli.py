"""``celltrial allocation generate|verify|assess``: outputs, exit codes, no tracebacks."""

from __future__ import annotations

import json
import re
import stat
from pathlib import Path

import pytest
from typer.testing import CliRunner

from celltrial.cli import app

runner = CliRunner()


def _run(*args: str) -> tuple[int, str]:
    result = runner.invoke(app, ["allocation", *args])
    assert "Traceback" not in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result.exit_code, result.output


def _commitment(output: str) -> str:
    found = re.search(r"commitment \(SHA-256\): ([0-9a-f]{64})", output)
    assert found, output
    return found.group(1)


def test_generate_then_verify_then_flip_one_byte(tmp_path: Path) -> None:
    key, out = tmp_path / "secret.key", tmp_path / "list.csv"
    code, output = _run(
        "generate", "--protocol", "lanzoni2021", "--sites", "3", "--per-stratum", "40",
        "--seed-file", str(key), "--out", str(out), "--block-sizes", "2,4",
    )  # fmt: skip
    assert code == 0, output
    assert "created seed file" in output
    assert stat.S_IMODE(key.stat().st_mode) == 0o600 and len(key.read_bytes()) == 32
    commitment = _commitment(output)
    lines = out.read_text().splitlines()
    assert lines[12] == "sequence,site,stratum,arm,kit_code"
    assert len(lines) - 13 >= 240

    code, output = _run("verify", str(out), "--commitment", commitment)
    assert code == 0 and "ok" in output

    data = bytearray(out.read_bytes())
    for position in (0, 200, len(data) // 2, len(data) - 2):
        bad = bytearray(data)
        bad[position] ^= 0x01
        tampered = tmp_path / "tampered.csv"
        tampered.write_bytes(bytes(bad))
        code, output = _run("verify", str(tampered), "--commitment", commitment)
        assert code == 1
        assert "error:" in output and "does not match the commitment" in output


def test_generate_is_reproducible_from_the_key_and_never_overwrites(tmp_path: Path) -> None:
    key = tmp_path / "secret.key"
    args = [
        "generate",
        "--protocol",
        "lanzoni2021",
        "--per-stratum",
        "8",
        "--seed-file",
        str(key),
        "--block-sizes",
        "4",
    ]
    code1, out1 = _run(*args, "--out", str(tmp_path / "a.csv"))
    code2, out2 = _run(
        *args,
        "--out",
        str(tmp_path / "b.csv"),
        "--blinded",
        str(tmp_path / "blind.csv"),
        "--key-out",
        str(tmp_path / "kits.csv"),
    )
    assert code1 == code2 == 0
    assert "created seed file" not in out2
    assert (tmp_path / "a.csv").read_bytes() == (tmp_path / "b.csv").read_bytes()
    assert _commitment(out1) == _commitment(out2)
    assert "ucmsc" not in (tmp_path / "blind.csv").read_text()
    assert (tmp_path / "kits.csv").read_text().startswith("kit_code,arm\n")
    code, output = _run(*args, "--out", str(tmp_path / "a.csv"))
    assert code == 2 and "--out:" in output and "never overwritten" in output


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["--protocol", "lanzoni2021"],
            "design.allocation.block_sizes is unknown; give them with --block-sizes",
        ),
        (
            ["--protocol", "shi2021"],
            "design.allocation.method is unknown; choose one with --method",
        ),
        (
            ["--protocol", "rebelatto2022", "--method", "simple"],
            "design.allocation.ratio is unknown",
        ),
        (["--protocol", "meng2020"], "not randomized"),
        (
            ["--protocol", "lanzoni2021", "--block-sizes", "3"],
            "--block-sizes: ratio 1:1 fits none of the block sizes [3]",
        ),
        (
            ["--protocol", "lanzoni2021", "--block-sizes", "4,x"],
            "--block-sizes: '4,x' must be integers",
        ),
        (
            ["--protocol", "lanzoni2021", "--method", "minimization"],
            "minimization cannot be pre-listed",
        ),
        (["--protocol", "nosuch"], "--protocol:"),
        (
            ["--protocol", "lanzoni2021", "--block-sizes", "4", "--sites", "0"],
            "--sites: needs at least one site",
        ),
    ],
)
def test_generate_mistakes_exit_2_with_a_clear_error(
    tmp_path: Path, args: list[str], message: str
) -> None:
    key = tmp_path / "k"
    code, output = _run(
        "generate",
        *args,
        "--per-stratum",
        "4",
        "--seed-file",
        str(key),
        "--out",
        str(tmp_path / "l.csv"),
    )
    assert code == 2
    assert "error:" in output and message in " ".join(output.split())
    assert not (tmp_path / "l.csv").exists()


def test_verify_mistakes(tmp_path: Path) -> None:
    code, output = _run("verify", str(tmp_path / "none.csv"), "--commitment", "0" * 64)
    assert code == 2 and "no file" in output
    (tmp_path / "x.csv").write_text("hello\n")
    code, output = _run("verify", str(tmp_path / "x.csv"), "--commitment", "xyz")
    assert code == 2 and "--commitment: expected 64 hexadecimal digits" in output


def test_assess_table_and_json() -> None:
    code, output = _run(
        "assess", "--protocol", "lanzoni2021", "--n", "24", "--runs", "400", "--seed", "1"
    )
    assert code == 0, output
    for text in ("simple", "permuted blocks 2", "stratified blocks {4,6}", "minimization (range, p=0.8)",
                 "P(|D|≥2)", "correct", "mild_moderate", "seed 1"):  # fmt: skip
        assert text in output
    code, output = _run(
        "assess", "--protocol", "lanzoni2021", "--runs", "300", "--seed", "2", "--json"
    )
    assert code == 0
    data = json.loads(output)
    assert data["n"] == 24 and data["seed"] == 2 and len(data["schemes"]) == 10
    assert data["schemes"][0]["imbalance_distribution"]
    code, output = _run("assess", "--protocol", "shi2021", "--runs", "200", "--seed", "3", "--json")
    assert code == 0 and json.loads(output)["ratio"] == {"ucmsc": 2, "placebo": 1}


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["--protocol", "rebelatto2022"],
            "design.allocation.ratio is unknown; give one with --ratio",
        ),
        (["--protocol", "meng2020"], "not randomized"),
        (
            ["--protocol", "lanzoni2021", "--stratum-probs", "0.5,0.7"],
            "--stratum-probs: give 2 non-negative",
        ),
        (["--protocol", "lanzoni2021", "--runs", "0"], "--runs: needs at least 1"),
    ],
)
def test_assess_mistakes(args: list[str], message: str) -> None:
    code, output = _run("assess", *args)
    assert code == 2 and "error:" in output and message in " ".join(output.split())
