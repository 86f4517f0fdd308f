"""Virtual trials: the dataset fits its protocol, a seed fixes the trial, events are in order."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from celltrial.dataset import check_dataset, derive_adae, errors, window_flag
from celltrial.protocol import load_protocol
from celltrial.simulate import (
    ScenarioError,
    load_scenario,
    parse_scenario,
    simulate_events,
    simulate_trial,
)
from celltrial.simulate.scenario import scenario_ids

SIZES = {
    "lanzoni2021": 24,
    "fathikazerooni2022": 29,
    "shi2021": 100,
    "meng2020": 18,
    "rebelatto2022": 17,
}


def test_every_seed_trial_has_a_scenario() -> None:
    assert set(SIZES) <= set(scenario_ids())


@pytest.mark.parametrize("pid", sorted(SIZES))
def test_dataset_passes_schema_and_protocol_checks(pid: str) -> None:
    p = load_protocol(pid)
    ds = simulate_trial(p, load_scenario(pid, p), n=SIZES[pid], rng=np.random.default_rng(11))
    problems = [*ds.problems, *check_dataset(ds, p)]
    assert errors(problems) == [], [str(x) for x in problems[:5]]
    assert len(ds.dm) == SIZES[pid]
    sl = ds.table("SL")
    assert (sl["RANDFL"] == "Y").sum() == SIZES[pid]
    assert set(ds.dm["ARMCD"]) == {a.id for a in p.arms}


def test_lanzoni_dataset_has_what_the_issue_asks_for() -> None:
    p = load_protocol("lanzoni2021")
    s = load_scenario("lanzoni2021", p)
    ds = simulate_trial(p, s, n=120, rng=np.random.default_rng(5))
    sl = ds.table("SL")
    assert (sl["ELIGFL"] == "N").any()
    assert sl.loc[sl["ELIGFL"] == "N", "FAILCRIT"].notna().all()
    dm = ds.dm
    assert dm["STRAT_ARDS_SEVERITY"].isin(["mild_moderate", "moderate_severe"]).all()
    # Both infusions for those alive, 100e6 cells vs 50 mL.
    ex = ds.table("EX")
    assert set(ex.loc[ex["EXTRT"] == "ucmsc", "EXDOSU"]) == {"cells"}
    assert set(ex.loc[ex["EXTRT"] == "control", "EXDOSE"]) == {50.0}
    # Deaths more frequent in control; AEs graded; some inside the 6-h windows.
    dead = dm.groupby("ARMCD")["DTHFL"].apply(lambda s: (s == "Y").mean())
    assert dead["control"] > dead["ucmsc"]
    ae = ds.table("AE")
    assert set(ae["AETOXGR"].dropna().astype(int)) <= {1, 2, 3, 4, 5}
    adae = derive_adae(ds, p)
    flag = window_flag("infusion_associated")
    assert (adae[flag] == "Y").any()
    # Measurements at scheduled visits, some missed (NOT DONE).
    lb = ds.table("LB")
    assert {"screening", "day0", "day6"} <= set(lb["VISIT"])
    assert (lb["LBSTAT"] == "NOT DONE").any()


def test_same_seed_same_trial() -> None:
    p = load_protocol("lanzoni2021")
    s = load_scenario("lanzoni2021", p)
    a = simulate_trial(p, s, n=24, rng=np.random.default_rng(3))
    b = simulate_trial(p, s, n=24, rng=np.random.default_rng(3))
    c = simulate_trial(p, s, n=24, rng=np.random.default_rng(4))
    for code in a.tables:
        pd.testing.assert_frame_equal(a.tables[code], b.tables[code])
    assert not a.dm.equals(c.dm)


def test_events_are_in_time_order_and_match_the_dataset() -> None:
    p = load_protocol("lanzoni2021")
    s = load_scenario("lanzoni2021", p)
    events = list(simulate_events(p, s, n=24, rng=np.random.default_rng(3)))
    ds = simulate_trial(p, s, n=24, rng=np.random.default_rng(3))
    times = [e.time for e in events]
    assert times == sorted(times)
    kinds = [e.kind for e in events]
    assert kinds.count("randomization") == 24
    assert kinds.count("death") == int((ds.dm["DTHFL"] == "Y").sum())
    assert kinds.count("infusion") == len(ds.table("EX"))
    assert kinds.count("adverse_event") == len(ds.table("AE"))
    first = {}
    for e in events:
        first.setdefault((e.screening_id, e.kind), e.time)
    for e in events:
        if e.kind == "randomization":
            assert first[(e.screening_id, "consent")] < e.time
            assert first[(e.screening_id, "screening")] < e.time


def test_scenario_errors_name_the_field() -> None:
    with pytest.raises(ScenarioError) as exc:
        parse_scenario(
            "id: x\nprotocol: lanzoni2021\narms:\n  ucmsc:\n    hazards:\n      death: {rate: -1}\n",
            name="bad.yaml",
        )
    assert "bad.yaml: arms.ucmsc.hazards.death.rate:" in str(exc.value)
    with pytest.raises(ScenarioError, match=r"hazards\.death: give either rate"):
        parse_scenario("id: x\nprotocol: p\narms:\n  a:\n    hazards:\n      death: {}\n")
    with pytest.raises(ScenarioError, match="must sum to 1"):
        parse_scenario("id: x\nprotocol: p\nstrata: {f: {a: 0.3}}\narms: {}\n")
    with pytest.raises(ScenarioError, match="unknown_field"):
        parse_scenario("id: x\nprotocol: p\narms: {}\nunknown_field: 1\n")


def test_scenario_checked_against_its_protocol() -> None:
    p = load_protocol("lanzoni2021")
    text = (
        "id: x\nprotocol: lanzoni2021\narms:\n  ucmsc:\n    hazards:\n      intubation: {rate: 0.1}\n"
        "  placebo: {}\nbiomarkers:\n  crp: {median: 5}\n"
    )
    from celltrial.simulate import check_scenario

    problems = check_scenario(parse_scenario(text), p)
    text_all = "\n".join(problems)
    assert "arms.placebo: not an arm of lanzoni2021" in text_all
    assert "arms: arm 'control' of lanzoni2021 has no scenario" in text_all
    assert "arms.ucmsc.hazards.intubation: not an event" in text_all
    assert "biomarkers.crp: not a measurement" in text_all
    with pytest.raises(FileNotFoundError, match="no scenario"):
        load_scenario("nosuchtrial")


def test_piecewise_hazard() -> None:
    from celltrial.simulate import Hazard

    h = Hazard(breaks=[0, 7], rates=[0.1, 0.01])
    assert h.cumulative(10) == pytest.approx(0.73)
    x = h.sample((200_000,), np.random.default_rng(1))
    assert np.mean(x <= 10) == pytest.approx(1 - np.exp(-0.73), abs=0.005)
    with pytest.raises(ValueError, match="first break is day 0"):
        Hazard(breaks=[1], rates=[0.1])


def test_rebelatto_ratio_comes_from_the_scenario() -> None:
    # rebelatto2022 leaves the allocation ratio unknown (11 vs 6 suggests 2:1): the scenario
    # supplies it as an assumption; without it the virtual trial is refused naming the field.
    from celltrial.allocation import AllocationError

    p = load_protocol("rebelatto2022")
    s = load_scenario("rebelatto2022", p)
    assert p.ratio() is None and s.allocation.ratio == "2:1"
    ds = simulate_trial(p, s, n=300, rng=np.random.default_rng(11))
    counts = ds.dm["ARMCD"].value_counts().to_dict()
    # permuted blocks of 3 and 6 at 2:1: at most one block (3 of one arm) from exact 200:100
    assert abs(counts["ucmsc"] - 200) <= 4 and counts["ucmsc"] + counts["placebo"] == 300
    no_ratio = s.model_copy(update={"allocation": s.allocation.model_copy(update={"ratio": None})})
    with pytest.raises(AllocationError, match=r"design\.allocation\.ratio is unknown"):
        simulate_trial(p, no_ratio, n=17, rng=np.random.default_rng(11))
