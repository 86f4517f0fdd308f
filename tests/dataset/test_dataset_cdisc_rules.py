"""The rules issue 19 added to the dataset: censoring at the last known assessment (ADaM's
default) or at the horizon, ADaM study days (no day 0), partial dates, and population flags of
participants who were never assigned an arm."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from celltrial.dataset import (
    Dataset,
    derive_adsl,
    derive_adtte,
    make_dataset,
    outcome,
    summarize,
    times,
)
from celltrial.protocol import Endpoint, Protocol
from celltrial.protocol.models import Censoring


def _endpoint(at: str) -> Endpoint:
    return Endpoint(
        id="tte",
        label="Time to event",
        type="time_to_event",
        events=["recovery"],
        horizon=744,
        censoring=Censoring(death="censor_at_death", at=at),  # type: ignore[arg-type]
        analysis=["kaplan_meier"],
    )


@pytest.mark.parametrize(
    ("at", "completed", "eos", "last", "hours", "why"),
    [
        ("last_assessment", True, 700.0, 710.0, 700.0, "end of study"),
        ("horizon", True, 700.0, 710.0, 744.0, "end of follow-up"),
        ("last_assessment", False, 300.0, 400.0, 300.0, "last contact (drop-out)"),
        ("horizon", False, 300.0, 400.0, 400.0, "last contact (drop-out)"),
        ("last_assessment", False, None, 400.0, 400.0, "last contact (drop-out)"),
        ("last_assessment", True, 800.0, 810.0, 744.0, "end of follow-up"),
    ],
)
def test_censoring_at(
    at: str, completed: bool, eos: float | None, last: float, hours: float, why: str
) -> None:
    o = outcome(
        _endpoint(at),
        occurrences={},
        death=None,
        last_contact=last,
        completed=completed,
        end_of_study=eos,
    )
    assert (o.hours, o.cnsr, o.censor_reason) == (hours, 1, why)


def test_study_days_have_no_day_zero(small: Dataset, lanzoni: Protocol) -> None:
    base = lanzoni.endpoint("time_to_recovery").model_dump(exclude={"unknowns"})
    elapsed = lanzoni.model_copy(update={"endpoints": [Endpoint(**base)]})
    counted = lanzoni.model_copy(update={"endpoints": [Endpoint(**{**base, "days_from": 1})]})
    a = derive_adtte(small, elapsed).set_index("USUBJID")
    b = derive_adtte(small, counted).set_index("USUBJID")
    days = (b["ADTM"].dt.floor("D") - b["STARTDTM"].dt.floor("D")).dt.days + 1
    assert (b["AVAL"] == days).all()  # AVAL = ADT - STARTDT + 1 on dates
    assert (b["AVAL"] >= 1).all()
    assert b.loc["L-001", "AVAL"] == a.loc["L-001", "AVAL"] + 1  # 10 elapsed days, day 11


def test_partial_dates_kept_and_imputed(raw: dict[str, pd.DataFrame]) -> None:
    raw["AE"].loc[0, "AEENDTC"] = "2020-05"
    raw["AE"].loc[1, "AEENDTC"] = "2020"
    ds = make_dataset(raw)
    assert ds.ok, summarize(ds.problems)
    end = ds.table("AE")["AEENDTC"]
    assert end.iloc[0] == "2020-05" and end.iloc[1] == "2020"
    t = times.to_utc(end.iloc[:2])
    assert t.tolist() == [
        pd.Timestamp("2020-05-01T12:00Z"),
        pd.Timestamp("2020-01-01T12:00Z"),
    ]
    assert times.imputed_flag(end.iloc[:2]).tolist() == ["D", "M"]
    raw["AE"].loc[2, "AEENDTC"] = "2020-13"
    assert not make_dataset(raw).ok  # month 13 is not a date


def test_never_assigned_participants_are_in_no_population(
    raw: dict[str, pd.DataFrame], lanzoni: Protocol
) -> None:
    dm = raw["DM"]
    dm.loc[0, "ARMCD"] = "SCRNFAIL"
    dm.loc[0, "ACTARMCD"] = "SCRNFAIL"
    ds = make_dataset(raw)
    adsl = derive_adsl(ds, lanzoni, checked=False).set_index("USUBJID")
    assert adsl.loc["L-001", ["ITTFL", "SAFFL"]].tolist() == ["N", "N"]
    assert (adsl.drop(index="L-001")["ITTFL"] == "Y").all()


def test_summary_counts_by_rule_with_first_rows(raw: dict[str, pd.DataFrame]) -> None:
    raw["AE"]["AETOXGR"] = "9"
    ds = make_dataset(raw)
    text = summarize(ds.problems)
    first = text.splitlines()[0]
    assert first.startswith(f"{len(ds.problems)} problem")
    assert "AE AETOXGR: " in text and "… and" in text
    assert len(text.splitlines()) < 20
    assert not math.isnan(len(text))
