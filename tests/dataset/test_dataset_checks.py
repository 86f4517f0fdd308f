"""Does the dataset fit the protocol? One problem per row that does not."""

from __future__ import annotations

import pandas as pd
import pytest

from celltrial.dataset import Dataset, check_dataset, make_dataset
from celltrial.protocol import Protocol


def test_hand_built_dataset_fits(small: Dataset, lanzoni: Protocol) -> None:
    assert [str(p) for p in check_dataset(small, lanzoni)] == []


@pytest.mark.parametrize(
    ("table", "row", "column", "value", "message"),
    [
        (
            "DM",
            1,
            "ARMCD",
            "placebo",
            "DM row 1 (USUBJID L-001): ARMCD 'placebo' is not an arm of protocol lanzoni2021 "
            "(arms: ucmsc, control)",
        ),
        (
            "DM",
            1,
            "STRAT_ARDS_SEVERITY",
            "severe",
            "DM row 1 (USUBJID L-001): STRAT_ARDS_SEVERITY 'severe' is not a level of "
            "ards_severity (mild_moderate, moderate_severe)",
        ),
        (
            "DM",
            1,
            "STUDYID",
            "other",
            "DM row 1 (USUBJID L-001): STUDYID 'other' is not the protocol's id 'lanzoni2021'",
        ),
        (
            "DM",
            1,
            "AGE",
            "130",
            "DM row 1 (USUBJID L-001): warning: AGE 130 is outside the plausible range 18–110",
        ),
        (
            "EX",
            1,
            "EXTRT",
            "msc",
            "EX row 1 (USUBJID L-001): EXTRT 'msc' is not an arm of protocol lanzoni2021 (arms: ucmsc, control)",
        ),
        (
            "EX",
            1,
            "EXDOSU",
            "mL",
            "EX row 1 (USUBJID L-001): EXDOSU 'mL' is not the unit ucmsc is dosed in ('cells')",
        ),
        (
            "LB",
            2,
            "LBTESTCD",
            "CRP",
            "LB row 2 (USUBJID L-001): LBTESTCD 'CRP' is not a measurement of protocol lanzoni2021 in LB",
        ),
        (
            "LB",
            2,
            "LBTESTCD",
            "WEIGHT",
            "LB row 2 (USUBJID L-001): LBTESTCD 'WEIGHT' is not a measurement of protocol "
            "lanzoni2021 in LB (it is in VS)",
        ),
        (
            "LB",
            2,
            "LBORRESU",
            "ng/mL",
            "LB row 2 (USUBJID L-001): LBORRESU 'ng/mL' differs from the catalogue's unit 'pg/mL' for IL6",
        ),
        (
            "LB",
            2,
            "LBORRES",
            "200000",
            "LB row 2 (USUBJID L-001): warning: IL6 200000 is outside the plausible range 0–100000",
        ),
        ("LB", 2, "LBORRES", "high", "LB row 2 (USUBJID L-001): IL6 result 'high' is not a number"),
        (
            "LB",
            2,
            "VISIT",
            "day2",
            "LB row 2 (USUBJID L-001): VISIT 'day2' is not a visit of the schedule (or UNSCHEDULED)",
        ),
        (
            "CE",
            1,
            "CEDECOD",
            "discharge",
            "CE row 1 (USUBJID L-001): CEDECOD 'discharge' is not an event of protocol lanzoni2021 "
            "(death, recovery, sae)",
        ),
        (
            "AE",
            1,
            "AESTDTC",
            "2020-04-28T10:00Z",
            "AE row 1 (USUBJID L-001): AESTDTC 2020-04-28T10:00Z is before consent (RFICDTC 2020-04-29T09:00Z)",
        ),
        (
            "AE",
            4,
            "AESTDTC",
            "2020-05-14T10:00Z",
            "AE row 4 (USUBJID L-004): AESTDTC 2020-05-14T10:00Z is after death (DTHDTC 2020-05-13T14:00Z)",
        ),
        (
            "DS",
            1,
            "DSSTDTC",
            "2020-04-20",
            "DS row 1 (USUBJID L-001): DSSTDTC 2020-04-20 is before consent (RFICDTC 2020-04-29T09:00Z)",
        ),
        (
            "SL",
            17,
            "FAILCRIT",
            "age",
            "SL row 17 (USUBJID S-017): FAILCRIT 'age' is not an eligibility criterion of protocol lanzoni2021",
        ),
    ],
)
def test_misfit_gives_one_problem(
    raw: dict[str, pd.DataFrame],
    lanzoni: Protocol,
    table: str,
    row: int,
    column: str,
    value: str,
    message: str,
) -> None:
    raw[table].loc[row - 1, column] = value
    ds = make_dataset(raw)
    found = [str(p) for p in check_dataset(ds, lanzoni) if str(p).startswith(message)]
    assert len(found) == 1, [str(p) for p in check_dataset(ds, lanzoni)]


def test_events_after_death_in_every_table(raw: dict[str, pd.DataFrame], lanzoni: Protocol) -> None:
    # L-004 died at 2020-05-13T14:00Z; move their death to day 5 (2020-05-09T14:00Z).
    dm = raw["DM"]
    dm.loc[dm["USUBJID"] == "L-004", "DTHDTC"] = "2020-05-09T14:00Z"
    problems = [p for p in check_dataset(make_dataset(raw), lanzoni) if "after death" in p.message]
    where = sorted({(p.domain, p.column) for p in problems})
    # the day-6 samples, the SAE at 192 h, the CE death row (the DS DEATH row is not "after")
    assert where == [("AE", "AESTDTC"), ("CE", "CESTDTC"), ("LB", "LBDTC")]
    assert all(p.usubjid == "L-004" for p in problems)


def test_missing_stratum_column(raw: dict[str, pd.DataFrame], lanzoni: Protocol) -> None:
    raw["DM"] = raw["DM"].drop(columns=["STRAT_ARDS_SEVERITY"])
    out = [str(p) for p in check_dataset(make_dataset(raw), lanzoni)]
    assert out == ["DM: stratum column STRAT_ARDS_SEVERITY (factor ards_severity) is missing"]
