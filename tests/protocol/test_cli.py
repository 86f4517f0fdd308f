"""``celltrial protocol ...`` as a user runs it."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from celltrial.cli import app
from celltrial.protocol import library_text

runner = CliRunner()


def test_calendar_lanzoni() -> None:
    result = runner.invoke(
        app,
        [
            "protocol",
            "calendar",
            "lanzoni2021",
            "--randomized",
            "2026-03-01T10:00Z",
            "--weight",
            "70",
        ],
    )
    assert result.exit_code == 0, result.output
    lines = [line for line in result.output.splitlines() if "ucmsc" in line]
    assert len(lines) == 2
    assert "2026-03-01 10:00" in lines[0] and "2026-03-04 10:00" in lines[1]
    assert all("100 × 10^6 cells" in line for line in lines)


def test_calendar_rebelatto() -> None:
    result = runner.invoke(
        app,
        [
            "protocol",
            "calendar",
            "rebelatto2022",
            "--randomized",
            "2026-03-01T10:00Z",
            "--weight",
            "70",
        ],
    )
    assert result.exit_code == 0, result.output
    lines = [line for line in result.output.splitlines() if "│ ucmsc" in line]
    assert [line.count("3.5 × 10^7 cells") for line in lines] == [1, 1, 1]
    assert [
        "2026-03-01 10:00" in lines[0],
        "2026-03-03 10:00" in lines[1],
        "2026-03-05 10:00" in lines[2],
    ] == [True] * 3


def test_calendar_bad_time_is_a_message_not_a_traceback() -> None:
    result = runner.invoke(app, ["protocol", "calendar", "lanzoni2021", "--randomized", "tomorrow"])
    assert result.exit_code == 2
    assert "--randomized: 'tomorrow' is not an ISO 8601 time" in result.output
    assert "Traceback" not in result.output


def test_calendar_missing_weight() -> None:
    result = runner.invoke(
        app, ["protocol", "calendar", "rebelatto2022", "--randomized", "2026-03-01T10:00Z"]
    )
    assert result.exit_code == 2
    assert "weight: arm 'ucmsc' is dosed in cells/kg" in result.output


def test_validate_reports_each_problem(tmp_path: Path) -> None:
    broken = tmp_path / "lanzoni2021.yaml"
    broken.write_text(
        library_text("lanzoni2021").replace("unit: cells\n", "unit: cell/kg\n", 1), encoding="utf-8"
    )
    result = runner.invoke(app, ["protocol", "validate", str(broken), "meng2020"])
    assert result.exit_code == 1
    assert (
        "arms[0].dose.unit: 'cell/kg' is not a known unit (did you mean 'cells/kg'?)"
        in result.output
    )
    assert "ok meng2020" in result.output
    assert "1 of 2 protocol(s) did not validate" in result.output


def test_validate_missing_file() -> None:
    result = runner.invoke(app, ["protocol", "validate", "nope.yaml"])
    assert result.exit_code == 1
    assert "no protocol file 'nope.yaml'" in result.output


def test_list_and_show() -> None:
    listed = runner.invoke(app, ["protocol", "list"])
    assert listed.exit_code == 0
    for pid in ("rebelatto2022", "lanzoni2021", "fathikazerooni2022", "shi2021", "meng2020"):
        assert pid in listed.output
    shown = runner.invoke(app, ["protocol", "show", "rebelatto2022"])
    assert shown.exit_code == 0, shown.output
    assert "allocation unknown unknown" in shown.output
    assert "every 2d × 3" in shown.output


def test_show_marks_defaults_the_protocol_does_not_state() -> None:
    """Issue 18: "SAE report within 1d" was printed as if four seeds stated it."""
    shown = runner.invoke(app, ["protocol", "show", "meng2020"])
    assert shown.exit_code == 0, shown.output
    assert "SAE report within 1d (default, not stated)" in shown.output
    stated = runner.invoke(app, ["protocol", "show", "lanzoni2021"])  # states 24h
    assert "SAE report within 1d" in stated.output
    assert "SAE report within 1d (default" not in stated.output


def test_a_folder_named_like_a_library_id_does_not_hide_it(tmp_path: Path, monkeypatch) -> None:
    """Issue 18: a folder called meng2020 in the working directory hid the library protocol."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "meng2020").mkdir()
    shown = runner.invoke(app, ["protocol", "show", "meng2020"])
    assert shown.exit_code == 0, shown.output
    assert "id meng2020" in shown.output
