"""ADTTE on the hand-built dataset, every censoring rule, and properties of any follow-up.

Times are in hours after the first infusion F (see data/lanzoni_small/README.md); the horizon
of all three Lanzoni endpoints is 31 days = 744 h.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from celltrial.dataset import Dataset, derive_adtte, outcome
from celltrial.dataset.adtte import outcomes
from celltrial.protocol import Endpoint, Protocol

D = 1 / 24  # one hour in days


def rows(adtte: pd.DataFrame, paramcd: str) -> dict[str, tuple[float, int]]:
    a = adtte[adtte["PARAMCD"] == paramcd]
    return {u: (round(v, 6), c) for u, v, c in zip(a["USUBJID"], a["AVAL"], a["CNSR"], strict=True)}


@pytest.fixture(scope="module")
def adtte(small: Dataset, lanzoni: Protocol) -> pd.DataFrame:
    return derive_adtte(small, lanzoni)


def test_one_row_per_participant_and_endpoint(adtte: pd.DataFrame) -> None:
    assert len(adtte) == 16 * 3
    assert list(adtte["PARAMCD"].unique()) == [
        "survival_d31",
        "sae_free_survival",
        "time_to_recovery",
    ]
    assert set(adtte["AVALU"]) == {"DAYS"}
    assert (adtte["AVALH"] == adtte["AVAL"] * 24).all()


def test_survival_d31_death_is_the_event(adtte: pd.DataFrame) -> None:
    expected = {
        "L-001": (31, 1),  # completed: administrative censoring at 31 d
        "L-002": (31, 1),
        "L-003": (31, 1),
        "L-004": (9, 0),  # died at 216 h = 9 d
        "L-005": (round(290 / 24, 6), 1),  # withdrew, last contact 290 h = 12.083 d
        "L-006": (7, 1),  # lost to follow-up, last contact 168 h = 7 d
        "L-007": (31, 1),
        # never infused: origin is the planned first infusion (R + 0 h in Lanzoni), last contact
        # 20 h after randomization = 0.833 d
        "L-008": (round(20 / 24, 6), 1),
        "L-009": (31, 1),
        "L-010": (25, 0),  # died at 600 h = 25 d
        "L-011": (31, 1),
        "L-012": (round(82 / 24, 6), 0),  # died at 82 h = 3.417 d
        "L-013": (31, 1),
        "L-014": (20, 0),  # died at 480 h = 20 d
        "L-015": (31, 1),
        "L-016": (29.5, 0),  # died at 708 h = 29.5 d
    }
    assert rows(adtte, "survival_d31") == expected


def test_sae_free_survival_first_of_sae_or_death(adtte: pd.DataFrame) -> None:
    got = rows(adtte, "sae_free_survival")
    assert got["L-002"] == (5, 0)  # SAE pneumonia at 120 h
    assert got["L-003"] == (round(74 / 24, 6), 0)  # SAE 2 h after the second infusion (74 h)
    assert got["L-004"] == (8, 0)  # SAE at 192 h comes before death at 216 h
    assert got["L-010"] == (15, 0)  # SAE AKI at 360 h, death later at 600 h
    assert got["L-012"] == (round(80 / 24, 6), 0)  # cardiac arrest (serious) at 80 h, death 82 h
    assert got["L-014"] == (20, 0)  # fatal PE and death both at 480 h
    assert got["L-016"] == (27, 0)  # SAE at 648 h, death at 708 h
    assert got["L-001"] == (31, 1)  # grade-1 headache is not serious
    assert got["L-015"] == (31, 1)  # grade-2 chills is not serious
    desc = adtte.set_index(["PARAMCD", "USUBJID"])["EVNTDESC"]
    assert desc["sae_free_survival", "L-014"] == "Serious adverse event"  # tie: first listed


def test_time_to_recovery_deaths_censored_at_the_horizon(adtte: pd.DataFrame) -> None:
    expected = {
        "L-001": (10, 0),  # recovered at 240 h
        "L-002": (22, 0),
        "L-003": (20, 0),
        "L-004": (31, 1),  # died on day 9 -> censored at 31 d, kept in the risk set
        "L-005": (round(290 / 24, 6), 1),  # drop-out: censored at last contact
        "L-006": (7, 1),
        "L-007": (31, 1),  # recovered at 31.5 d, after the horizon: censored at 31 d
        "L-008": (round(20 / 24, 6), 1),
        "L-009": (8, 0),
        "L-010": (31, 1),  # died on day 25 -> 31 d censored
        "L-011": (31, 1),
        "L-012": (31, 1),  # died on day 3.4 -> 31 d censored
        "L-013": (6, 0),
        "L-014": (14, 0),  # recovered on day 14, died later on day 20: the recovery counts
        "L-015": (12, 0),
        "L-016": (31, 1),  # died on day 29.5 -> 31 d censored
    }
    assert rows(adtte, "time_to_recovery") == expected
    a = adtte.set_index(["PARAMCD", "USUBJID"])
    assert a.loc[("time_to_recovery", "L-004"), "CNSDTDSC"] == "death, censored at horizon"
    assert a.loc[("time_to_recovery", "L-005"), "CNSDTDSC"] == "last contact (drop-out)"
    assert a.loc[("time_to_recovery", "L-008"), "STARTSRC"].startswith("PLANNED")


def _with(protocol: Protocol, **changes: object) -> Protocol:
    base = protocol.endpoint("time_to_recovery").model_dump(exclude={"unknowns"})
    base.update(changes)
    return protocol.model_copy(update={"endpoints": [Endpoint(**base)]})


def test_censor_at_death(small: Dataset, lanzoni: Protocol) -> None:
    p = _with(lanzoni, censoring={"death": "censor_at_death"})
    got = rows(derive_adtte(small, p), "time_to_recovery")
    assert got["L-004"] == (9, 1)  # censored at death, 216 h
    assert got["L-012"] == (round(82 / 24, 6), 1)
    assert got["L-014"] == (14, 0)  # recovered before dying
    assert got["L-016"] == (29.5, 1)


def test_competing(small: Dataset, lanzoni: Protocol) -> None:
    p = _with(lanzoni, censoring={"death": "competing"}, competing=["death"])
    a = derive_adtte(small, p).set_index("USUBJID")
    assert (a.loc["L-004", "AVAL"], a.loc["L-004", "CNSR"], a.loc["L-004", "EVTYPE"]) == (9, 1, 2)
    assert a.loc["L-004", "EVNTDESC"] == "Competing event: Death"
    assert (a.loc["L-014", "AVAL"], a.loc["L-014", "EVTYPE"]) == (14, 1)  # recovery first
    assert (a.loc["L-011", "AVAL"], a.loc["L-011", "EVTYPE"]) == (31, 0)
    assert sorted(a.index[a["EVTYPE"] == 2]) == ["L-004", "L-010", "L-012", "L-016"]


def test_death_as_event_even_when_not_listed(small: Dataset, lanzoni: Protocol) -> None:
    p = _with(lanzoni, censoring={"death": "event"})  # events: [recovery] only
    got = rows(derive_adtte(small, p), "time_to_recovery")
    assert got["L-004"] == (9, 0)  # "recovery or death", whichever first
    assert got["L-014"] == (14, 0)


def test_anchor_randomization_adds_the_four_hours(small: Dataset, lanzoni: Protocol) -> None:
    p = _with(lanzoni, anchor="randomization")
    got = rows(derive_adtte(small, p), "time_to_recovery")
    assert got["L-001"] == (round(244 / 24, 6), 0)  # recovery at F + 240 h = R + 244 h
    assert got["L-008"] == (round(20 / 24, 6), 1)  # withdrew at R + 20 h
    assert got["L-004"] == (31, 1)  # still censored at the 31-day horizon


def test_short_horizon_censors_later_events(small: Dataset, lanzoni: Protocol) -> None:
    p = _with(lanzoni, horizon="7d")
    got = rows(derive_adtte(small, p), "time_to_recovery")
    assert got["L-013"] == (6, 0)
    assert got["L-001"] == (7, 1)  # recovery on day 10 is after the 7-day horizon
    assert got["L-006"] == (7, 1)  # last contact exactly at the horizon
    assert got["L-012"] == (7, 1)  # died on day 3.4: censored at the (7-day) horizon


RULES = ["event", "censor_at_death", "censor_at_horizon", "competing", "not_applicable"]
hours = st.floats(min_value=0, max_value=2000, allow_nan=False)


@settings(max_examples=300, deadline=None)
@given(
    rule=st.sampled_from(RULES),
    horizon=st.integers(min_value=1, max_value=1500),
    event=st.none() | hours,
    other=st.none() | hours,
    death=st.none() | hours,
    last=st.none() | hours,
    completed=st.booleans(),
)
def test_properties_of_any_follow_up(
    rule: str,
    horizon: int,
    event: float | None,
    other: float | None,
    death: float | None,
    last: float | None,
    completed: bool,
) -> None:
    e = Endpoint(
        id="x",
        label="x",
        type="time_to_event",
        events=["recovery"],
        competing=["intubation"],
        horizon=horizon,
        censoring={"death": rule},
        analysis=["kaplan_meier"],
    )
    occ = {k: v for k, v in (("recovery", event), ("intubation", other)) if v is not None}
    o = outcome(e, occurrences=occ, death=death, last_contact=last, completed=completed)
    assert 0 <= o.hours <= horizon
    assert o.cnsr in (0, 1) and o.evtype in (0, 1, 2)
    assert (o.cnsr == 0) == (o.evtype == 1)
    if o.evtype == 1 and event is not None and (death is None or event <= death):
        assert o.hours <= event
    if o.evtype == 2:
        assert rule == "competing" or o.hours == other
    if death is not None and death <= horizon and rule != "censor_at_horizon":
        assert o.hours <= death  # nothing is observed after death
    if death is not None and death <= horizon and rule == "censor_at_horizon" and o.evtype == 0:
        assert o.hours == horizon  # a death is kept in the risk set to the horizon


@pytest.mark.parametrize("at", ["last_assessment", "horizon"])
@pytest.mark.parametrize(
    "rule", ["event", "censor_at_death", "censor_at_horizon", "competing", "not_applicable"]
)
def test_outcomes_by_column_are_outcome_row_by_row(rule: str, at: str) -> None:
    """``outcomes`` (all participants at once, as derive_adtte uses it) gives, row by row,
    what ``outcome`` gives each participant: 400 random follow-ups per rule, ties included
    (times drawn on a coarse grid), death listed among the events or not."""
    rng = np.random.default_rng(7)
    n, horizon = 400, 96
    events = ["recovery", "death"] if rule == "event" else ["recovery"]
    e = Endpoint(
        id="x",
        label="x",
        type="time_to_event",
        events=events,
        competing=["intubation", "ecmo"],
        horizon=horizon,
        censoring={"death": rule, "at": at},
        analysis=["kaplan_meier"],
    )

    def draw() -> np.ndarray:
        t = rng.integers(0, 16, n) * 12.0
        return np.where(rng.random(n) < 0.4, np.nan, t)

    occ = {"recovery": draw(), "intubation": draw(), "ecmo": draw()}
    death, last, eos = draw(), draw(), draw()
    completed = rng.random(n) < 0.5
    labels = {"recovery": "Recovery", "intubation": "Intubation"}
    got = outcomes(
        e,
        occurrences=occ,
        death=death,
        last_contact=last,
        completed=completed,
        labels=labels,
        end_of_study=eos,
    )

    def opt(v: float) -> float | None:
        return None if np.isnan(v) else float(v)

    for i in range(n):
        want = outcome(
            e,
            occurrences={k: float(v[i]) for k, v in occ.items() if not np.isnan(v[i])},
            death=opt(death[i]),
            last_contact=opt(last[i]),
            completed=bool(completed[i]),
            labels=labels,
            end_of_study=opt(eos[i]),
        )
        assert (
            got.hours[i],
            got.cnsr[i],
            got.evtype[i],
            got.description[i],
            got.censor_reason[i],
        ) == (want.hours, want.cnsr, want.evtype, want.description, want.censor_reason), i
