"""``celltrial design power`` and ``celltrial demo`` (registered here on a bare typer app)."""

from __future__ import annotations

import json
from pathlib import Path

import typer
from typer.testing import CliRunner

from celltrial.commands.demo import demo_command
from celltrial.commands.design import app as design_app
from celltrial.protocol import library_text


def _app() -> typer.Typer:
    app = typer.Typer()
    app.add_typer(design_app, name="design")
    app.command("demo")(demo_command)
    return app


def test_design_power_table_and_json(tmp_path: Path) -> None:
    out = tmp_path / "power.json"
    r = CliRunner().invoke(
        _app(),
        [
            "design",
            "power",
            "--protocol",
            "meng2020",
            "--scenario",
            "meng2020",
            "--trials",
            "2000",
            "--n",
            "18,36",
            "--seed",
            "3",
            "--json",
            str(out),
        ],
    )
    assert r.exit_code == 0, r.output
    assert "mechanical_ventilation" in r.output
    every = json.loads(out.read_text())
    rows = [row for row in every if row["endpoint"] == "mechanical_ventilation"]
    assert [row["n"] for row in rows] == [18, 36]
    assert rows[1]["power"] > rows[0]["power"]
    again = tmp_path / "again.json"
    CliRunner().invoke(
        _app(),
        [
            "design",
            "power",
            "--protocol",
            "meng2020",
            "--scenario",
            "meng2020",
            "--trials",
            "2000",
            "--n",
            "18,36",
            "--seed",
            "3",
            "--json",
            str(again),
        ],
    )
    assert json.loads(again.read_text()) == every


def test_design_power_reports_a_scenario_mismatch() -> None:
    r = CliRunner().invoke(
        _app(),
        [
            "design",
            "power",
            "--protocol",
            "lanzoni2021",
            "--scenario",
            "meng2020",
            "--trials",
            "10",
        ],
    )
    assert r.exit_code == 2
    assert "is not the protocol's id 'lanzoni2021'" in r.output


# celltrial demo (through the EDC, in a subprocess): tests/simulate/test_through_edc.py


def test_demo_refuses_a_today_in_the_future_or_unreadable(tmp_path: Path) -> None:
    """`--today` is checked before anything is created (the EDC refuses future times)."""
    out = tmp_path / "demo"
    for today, said in [
        ("2999-01-01", "is in the future"),
        ("next monday", "is not a date"),
    ]:
        r = CliRunner().invoke(_app(), ["demo", "--out", str(out), "--today", today])
        assert r.exit_code == 2, r.output
        assert "--today: " in r.output and said in r.output, r.output
    r = CliRunner().invoke(_app(), ["demo", "--out", str(out), "--whole", "--today", "2026-01-01"])
    assert r.exit_code == 2 and "--whole" in r.output
    assert not out.exists()


def test_design_power_of_rebelatto_at_its_published_size(tmp_path: Path) -> None:
    # The library protocol pre-specifies no between-arm test (the paper's methods are unknown;
    # its changes are within the UC-MSC arm): power names each endpoint and why, and stops.
    args = ["design", "power", "--scenario", "rebelatto2022", "--trials", "2000"]
    r = CliRunner().invoke(_app(), [*args, "--protocol", "rebelatto2022"])
    assert r.exit_code == 1
    said = " ".join(r.output.split())
    assert "ferritin_change_d14: no between-arm test in its analysis" in said
    assert "no endpoint has a test power can simulate" in said
    # With a Wilcoxon rank-sum test listed for ferritin: the protocol's ratio is unknown, so
    # arms of 11 and 6 from the planned sizes (n = 17).
    text = library_text("rebelatto2022").replace(
        "analysis: [change_from_baseline, percent_change, wilcoxon_signed_rank]",
        "analysis: [change_from_baseline, wilcoxon_rank_sum]",
        1,
    )
    (tmp_path / "rebelatto2022.yaml").write_text(text, encoding="utf-8")
    out = tmp_path / "rebelatto.json"
    mine = ["--protocol", str(tmp_path / "rebelatto2022.yaml"), "--json", str(out)]
    r = CliRunner().invoke(_app(), [*args, *mine])
    assert r.exit_code == 0, r.output
    assert "Not simulated: safety" in " ".join(r.output.split())
    rows = {row["endpoint"]: row for row in json.loads(out.read_text())}
    assert set(rows) == {"ferritin_change_d14"}
    assert all(row["n"] == 17 and row["trials"] == 2000 for row in rows.values())
    # The scenario's (assumed) ferritin fall with UC-MSC by day 14 gives power above the
    # type I error.
    assert rows["ferritin_change_d14"]["power"] > rows["ferritin_change_d14"]["type1"]
