"""Schema checks on load: one clear problem per bad row, every row kept; CSV and Parquet I/O."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from celltrial.dataset import (
    ALL_DOMAINS,
    Dataset,
    DatasetError,
    domain,
    make_dataset,
    read_dataset,
    write_dataset,
)


def messages(ds: Dataset) -> list[str]:
    return [str(p) for p in ds.problems]


def test_hand_built_dataset_loads_without_problems(small: Dataset) -> None:
    assert messages(small) == []
    assert small.ok
    assert len(small.dm) == 16
    assert small.study == "lanzoni2021"
    assert small.findings_domains == ("VS", "LB")
    assert small.table("AE")["AETOXGR"].dtype == "Int64"
    assert small.table("EX")["EXDOSE"].dtype == "float64"


def test_every_domain_has_ids_and_an_empty_typed_table() -> None:
    for code in ALL_DOMAINS:
        d = domain(code)
        assert "STUDYID" in d.names
        assert len(Dataset(tables={}).table(code)) == 0


@pytest.mark.parametrize(
    ("table", "row", "column", "value", "message"),
    [
        ("AE", 3, "AETOXGR", "6", "AE row 3 (USUBJID L-003): AETOXGR '6' is not a CTCAE grade 1–5"),
        ("AE", 3, "AETOXGR", "two", "AE row 3 (USUBJID L-003): AETOXGR 'two' is not a number"),
        (
            "AE",
            3,
            "AETOXGR",
            "2.5",
            "AE row 3 (USUBJID L-003): AETOXGR '2.5' is not a whole number",
        ),
        ("AE", 3, "AESER", "maybe", "AE row 3 (USUBJID L-003): AESER 'maybe' is not Y or N"),
        (
            "AE",
            3,
            "AESTDTC",
            "06/05/2020",
            "AE row 3 (USUBJID L-003): AESTDTC '06/05/2020' is not an ISO 8601 date or date-time "
            "(e.g. 2020-05-01 or 2020-05-01T14:00Z)",
        ),
        (
            "AE",
            3,
            "AESTDTC",
            "2020-02-30",
            "AE row 3 (USUBJID L-003): AESTDTC '2020-02-30' is not an ISO 8601 date or date-time "
            "(e.g. 2020-05-01 or 2020-05-01T14:00Z)",
        ),
        ("AE", 3, "AETERM", "", "AE row 3 (USUBJID L-003): AETERM is missing (required)"),
        (
            "AE",
            3,
            "AEOUT",
            "DEAD",
            "AE row 3 (USUBJID L-003): AEOUT 'DEAD' is not one of RECOVERED/RESOLVED, "
            "RECOVERING/RESOLVING, NOT RECOVERED/NOT RESOLVED, RECOVERED/RESOLVED WITH SEQUELAE, "
            "FATAL, UNKNOWN",
        ),
        (
            "AE",
            3,
            "AEENDTC",
            "2020-05-01",
            "AE row 3 (USUBJID L-003): AEENDTC 2020-05-01 is before AESTDTC 2020-05-06T16:00Z",
        ),
        (
            "AE",
            3,
            "AESLIFE",
            "N",
            "AE row 3 (USUBJID L-003): warning: AESER is Y but no seriousness criterion "
            "(AESDTH, AESLIFE, …) is Y",
        ),
        (
            "DM",
            2,
            "SEX",
            "X",
            "DM row 2 (USUBJID L-002): SEX 'X' is not one of F, M, U, UNDIFFERENTIATED",
        ),
        ("DM", 2, "DTHFL", "Y", "DM row 2 (USUBJID L-002): DTHFL is Y but DTHDTC is missing"),
        (
            "DM",
            2,
            "USUBJID",
            "L-001",
            "DM row 2 (USUBJID L-001): USUBJID L-001 is listed twice (first on row 1)",
        ),
        (
            "DM",
            2,
            "RANDDTC",
            "2020-04-01T10:00Z",
            "DM row 2 (USUBJID L-002): RANDDTC 2020-04-01T10:00Z is before consent "
            "(RFICDTC 2020-04-30T09:00Z)",
        ),
        (
            "DS",
            1,
            "DSDECOD",
            "FINISHED",
            "DS row 1 (USUBJID L-001): DSDECOD 'FINISHED' is not one of",
        ),
        ("EX", 1, "EXDOSE", "-5", "EX row 1 (USUBJID L-001): EXDOSE -5 is negative"),
        (
            "EX",
            1,
            "EXDOSU",
            "vials",
            "EX row 1 (USUBJID L-001): EXDOSU 'vials' is not one of cells, mL",
        ),
        (
            "LB",
            2,
            "LBORRES",
            "",
            "LB row 2 (USUBJID L-001): LBORRES is missing; write LBSTAT NOT DONE for a test not done",
        ),
        ("CE", 1, "USUBJID", "L-099", "CE row 1 (USUBJID L-099): USUBJID L-099 is not in DM"),
        ("SL", 17, "RANDFL", "Y", "SL row 17 (USUBJID S-017): RANDFL is Y but USUBJID is missing"),
    ],
)
def test_bad_value_gives_one_clear_problem_and_keeps_the_row(
    raw: dict[str, pd.DataFrame], table: str, row: int, column: str, value: str, message: str
) -> None:
    raw[table].loc[row - 1, column] = value
    ds = make_dataset(raw)
    found = [m for m in messages(ds) if m.startswith(message)]
    assert len(found) == 1, messages(ds)
    assert len(ds.table(table)) == len(raw[table])  # never silently dropped


def test_all_problems_are_collected_not_raised(raw: dict[str, pd.DataFrame]) -> None:
    raw["AE"].loc[0, "AETOXGR"] = "6"
    raw["AE"].loc[1, "AETOXGR"] = "0"
    raw["AE"].loc[2, "AESTDTC"] = "yesterday"
    ds = make_dataset(raw)
    assert [p.row for p in ds.problems if p.domain == "AE" and p.level == "error"] == [3, 1, 2]
    assert not ds.ok
    with pytest.raises(DatasetError) as info:
        ds.raise_for_problems()
    assert len(info.value.problems) == 3
    # The bad values are read as missing; the rows stay.
    assert ds.table("AE")["AETOXGR"].isna().sum() == 2


def test_missing_columns_and_tables(raw: dict[str, pd.DataFrame]) -> None:
    raw["AE"] = raw["AE"].drop(columns=["AETOXGR", "AEREL"])
    raw["AE"]["AEXTRA"] = "x"
    del raw["DM"]
    out = messages(make_dataset(raw))
    assert "AE: required column AETOXGR is missing" in out
    assert "AE: warning: expected column AEREL is missing; read as empty" in out
    assert "AE: warning: column AEXTRA is not in the AE schema; kept as text" in out
    assert "DM: the dataset has no DM table (one row per participant)" in out


def test_times_are_normalized_to_utc(raw: dict[str, pd.DataFrame]) -> None:
    raw["AE"].loc[0, "AESTDTC"] = "2020-05-02T22:00+02:00"
    raw["AE"].loc[1, "AESTDTC"] = "2020-05-07T14:00:30"
    raw["AE"].loc[2, "AESTDTC"] = "2020-05-06"
    ae = make_dataset(raw).table("AE")
    assert list(ae["AESTDTC"][:3]) == ["2020-05-02T20:00Z", "2020-05-07T14:00:30Z", "2020-05-06"]


def test_a_folder_that_is_not_there_or_a_broken_file(tmp_path: Path) -> None:
    assert messages(read_dataset(tmp_path / "nope"))[0].endswith("is not a folder")
    (tmp_path / "dm.csv").write_text('STUDYID,USUBJID\n"x,1\n', encoding="utf-8")
    (tmp_path / "notes.csv").write_text("a\n1\n", encoding="utf-8")
    out = messages(read_dataset(tmp_path))
    assert any(m.startswith("DM: cannot read dm.csv") for m in out), out
    assert "NOTES: warning: notes.csv is not a domain of the dataset; ignored" in out


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_round_trip(small: Dataset, tmp_path: Path, fmt: str) -> None:
    files = write_dataset(small, tmp_path, format=fmt)  # type: ignore[arg-type]
    assert sorted(f.name for f in files) == sorted(f"{c.lower()}.{fmt}" for c in small.tables)
    back = read_dataset(tmp_path)
    assert messages(back) == []
    for code, table in small.tables.items():
        pd.testing.assert_frame_equal(back.table(code), table, check_dtype=True)


def test_parquet_first_when_both_formats_are_there(small: Dataset, tmp_path: Path) -> None:
    write_dataset(small, tmp_path, format="csv")
    write_dataset(small, tmp_path, format="parquet")
    (tmp_path / "dm.csv").write_text("garbage\n", encoding="utf-8")
    assert messages(read_dataset(tmp_path)) == []
    assert messages(read_dataset(tmp_path, format="csv"))  # the spoiled CSV is read
