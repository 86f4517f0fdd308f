"""``celltrial cdisc write|odm-export|odm-import`` on the hand-built Lanzoni dataset."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from celltrial.cli import app

SMALL = Path(__file__).parents[1] / "dataset" / "data" / "lanzoni_small"


def test_write_and_odm_round_trip(tmp_path: Path) -> None:
    runner = CliRunner()
    r = runner.invoke(
        app,
        [
            "cdisc",
            "write",
            str(SMALL),
            "-p",
            "lanzoni2021",
            "--out",
            str(tmp_path),
            "--format",
            "xpt,json",
        ],
    )
    assert r.exit_code == 0, r.output
    assert (tmp_path / "sdtm" / "dm.xpt").exists() and (tmp_path / "adam" / "adtte.json").exists()
    assert (tmp_path / "sdtm" / "define.xml").exists()
    r = runner.invoke(
        app,
        [
            "cdisc",
            "write",
            str(SMALL),
            "-p",
            "lanzoni2021",
            "--out",
            str(tmp_path),
            "--format",
            "sas",
        ],
    )
    assert r.exit_code == 2 and "use xpt, json, csv or parquet" in r.output
    odm = tmp_path / "odm.xml"
    r = runner.invoke(
        app, ["cdisc", "odm-export", str(SMALL), "-p", "lanzoni2021", "--out", str(odm)]
    )
    assert r.exit_code == 0, r.output
    r = runner.invoke(
        app,
        [
            "cdisc",
            "odm-import",
            str(odm),
            "--protocol-out",
            str(tmp_path / "draft.yaml"),
            "--dataset-out",
            str(tmp_path / "back"),
        ],
    )
    assert r.exit_code == 0, r.output
    assert (tmp_path / "back" / "dm.csv").exists()
    assert "unknown" in (tmp_path / "draft.yaml").read_text()
