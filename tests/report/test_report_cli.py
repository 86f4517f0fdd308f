"""``celltrial analyze`` and ``celltrial report`` (the functions cli.py registers)."""

from __future__ import annotations

from pathlib import Path

import typer
from typer.testing import CliRunner

from celltrial.commands.analysis import analyze_command, report_command

app = typer.Typer()
app.command("analyze")(analyze_command)
app.command("report")(report_command)
runner = CliRunner()

SMALL = Path(__file__).parents[1] / "dataset" / "data" / "lanzoni_small"


def test_analyze_prints_results() -> None:
    r = runner.invoke(app, ["analyze", str(SMALL), "--protocol", "lanzoni2021"])
    assert r.exit_code == 0, r.output
    assert "SAE-free survival" in r.output and "0.004616" in r.output


def test_report_writes_html(tmp_path: Path) -> None:
    out = tmp_path / "r.html"
    r = runner.invoke(
        app, ["report", str(SMALL), "-p", "lanzoni2021", "--out", str(out), "--closed"]
    )
    assert r.exit_code == 0, r.output
    assert "CLOSED REPORT" in out.read_text(encoding="utf-8")


def test_errors_are_one_line_exit_2(tmp_path: Path) -> None:
    r = runner.invoke(app, ["analyze", str(tmp_path / "nope"), "-p", "lanzoni2021"])
    assert r.exit_code == 2 and "error:" in r.output and "Traceback" not in r.output
    r = runner.invoke(app, ["analyze", str(SMALL), "-p", "no_such_protocol"])
    assert r.exit_code == 2 and "error:" in r.output
    bad = tmp_path / "bad"
    bad.mkdir()
    for f in SMALL.glob("*.csv"):
        text = f.read_text(encoding="utf-8")
        (bad / f.name).write_text(
            text.replace(",L-003,003,01,47,M,ucmsc,", ",L-003,003,01,47,M,placebo,"),
            encoding="utf-8",
        )
    r = runner.invoke(app, ["analyze", str(bad), "-p", "lanzoni2021"])
    assert r.exit_code == 2 and "does not fit protocol lanzoni2021" in r.output
    assert "placebo" in r.output
    # A report still renders (issue 15): the participant in error is set aside and listed.
    out = tmp_path / "x.html"
    r = runner.invoke(app, ["report", str(bad), "-p", "lanzoni2021", "--out", str(out)])
    assert r.exit_code == 0, r.output
    assert "set aside: DM (participant L-003)" in r.output
    page = out.read_text(encoding="utf-8")
    assert "Data problems (1)" in page and "L-003" in page
    assert "placebo" not in page.lower()  # blinded: the problem names an arm, not shown
