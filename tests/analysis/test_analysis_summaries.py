"""CONSORT counts, baseline table, exposure, safety summary and listings of the hand-built
dataset (numbers from its CSVs, README.md), and bad input."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from celltrial.analysis import POOLED, TrialAnalysis, analyze
from celltrial.dataset import DatasetError, make_dataset
from celltrial.protocol import Protocol

SMALL = Path(__file__).parents[1] / "dataset" / "data" / "lanzoni_small"


def test_consort(result: TrialAnalysis) -> None:
    c = result.consort
    assert (c.screened, c.ineligible, c.randomized) == (20, 3, 16)
    assert dict(c.ineligible_reasons) == {
        "Acute respiratory distress syndrome": 2,
        "COVID-19 (confirmed)": 1,
    }
    assert dict(c.not_randomized) == {"Declined": 1}
    u, k = c.arms
    assert (u.arm, u.allocated, u.received, u.lost_to_follow_up, u.discontinued) == (
        "ucmsc",
        8,
        8,
        0,
        1,
    )
    assert (k.arm, k.allocated, k.received, k.lost_to_follow_up) == ("control", 8, 6, 1)
    assert dict(k.not_received) == {"never dosed": 1, "received another arm's product": 1}
    assert dict(k.discontinued_reasons) == {"Death": 5, "Withdrawn": 1}
    # primary endpoint (infusion safety): safety population; L-008 never dosed
    assert (u.analysed, k.analysed) == (8, 7)
    assert c.pooled.allocated == 16


def test_baseline_table(result: TrialAnalysis) -> None:
    b = {r.label: r for r in result.baseline.rows}
    dm = pd.read_csv(SMALL / "dm.csv")
    for arm in ("ucmsc", "control"):
        age = dm.loc[dm["ARMCD"] == arm, "AGE"].to_numpy(dtype=float)
        mean, sd, n = b["Age, years, mean (SD)"].value(arm)
        assert (mean, n) == (pytest.approx(age.mean()), 8)
        assert sd == pytest.approx(age.std(ddof=1))
    assert b["  Female"].value("ucmsc") == (6, 8)
    assert b["  Moderate to severe"].value(POOLED) == (9, 16)
    il6 = b["Interleukin 6 (pg/mL), median (IQR)"]
    v = np.array([60, 95, 70, 110, 130, 75, 85], dtype=float)  # control day 0; L-008 missing
    assert il6.value("control") == (np.median(v), *np.percentile(v, [25, 75]), 7, 1)
    assert il6.text("control").endswith("missing 1")


def test_exposure(result: TrialAnalysis) -> None:
    e = {x.arm: x for x in result.exposure}
    assert (e["ucmsc"].planned, e["ucmsc"].given, e["ucmsc"].all_planned) == (16, 15, 7)
    assert (e["control"].given, e["control"].none_given, e["control"].deviations) == (14, 1, 2)


def test_safety_summary(result: TrialAnalysis) -> None:
    s = {a.arm: a for a in result.safety.arms}
    # as treated: L-010 (septic shock, AKI; died) counts in UC-MSC
    assert (s["ucmsc"].n, s["ucmsc"].any_sae, s["ucmsc"].deaths) == (9, 2, 1)
    assert (s["control"].n, s["control"].any_sae, s["control"].deaths) == (6, 5, 4)
    assert result.safety.pooled.ae_events == 10
    terms = {t.term: t for t in result.safety.terms}
    assert dict(terms["Cardiac arrest"].by_grade)["control"] == (0, 0, 0, 0, 1)
    sae, deaths, devs = result.listings
    assert len(sae.rows) == 8 and len(deaths.rows) == 5 and len(devs.rows) == 5
    assert ("L-012", "Control (vehicle)", "3.4", "Cardiac arrest") in deaths.rows


def test_relatedness_to_product_procedure_and_infusion(
    raw: dict[str, pd.DataFrame], lanzoni: Protocol
) -> None:
    """AEs by causality (AEREL to the product, AERELPR to the procedure) and the pre-specified
    infusion-associated events (AEINFFL), counted by hand from ae.csv (safety population as
    treated: L-010, randomized to control, received UC-MSC)."""
    ae = raw["AE"]
    chills, headache = ae["AETERM"] == "Chills", ae["AETERM"] == "Headache"  # L-015, L-001
    ae.loc[chills, "AEREL"] = "POSSIBLY RELATED"
    ae.loc[headache, "AEREL"] = "UNLIKELY RELATED"
    ae["AERELPR"] = ""
    ae.loc[chills, "AERELPR"] = "RELATED"
    ae["AEINFFL"] = ""
    ae.loc[chills, "AEINFFL"] = "Y"
    rows = analyze(make_dataset(raw), lanzoni).safety.relatedness
    got = {(r.to, r.relatedness, r.serious_only): {a: (p, k) for a, p, k in r.counts} for r in rows}
    u, c, all_ = "ucmsc", "control", POOLED
    assert got[("product", "ANY RELATED", False)] == {u: (1, 1), c: (0, 0), all_: (1, 1)}
    assert got[("product", "POSSIBLY RELATED", False)][u] == (1, 1)
    assert got[("product", "UNLIKELY RELATED", False)][u] == (1, 1)
    # L-003 hypotension, L-010 kidney injury and septic shock; control: five participants
    assert got[("product", "NOT RELATED", False)] == {u: (2, 3), c: (5, 5), all_: (7, 8)}
    assert got[("product", "ANY RELATED", True)] == {u: (0, 0), c: (0, 0), all_: (0, 0)}
    assert got[("procedure", "ANY RELATED", False)][u] == (1, 1)
    assert got[("procedure", "NOT ASSESSED", False)] == {u: (3, 4), c: (5, 5), all_: (8, 9)}
    assert got[("infusion", "INFUSION-ASSOCIATED", False)] == {u: (1, 1), c: (0, 0), all_: (1, 1)}
    assert got[("infusion", "INFUSION-ASSOCIATED", True)][all_] == (0, 0)


def test_bad_input_is_a_problem_list(raw: dict[str, pd.DataFrame], lanzoni: Protocol) -> None:
    raw["DM"].loc[2, "ARMCD"] = "placebo"  # not an arm of the protocol
    raw["LB"].loc[0, "LBTESTCD"] = "XYZ"  # not in the measurement catalogue
    with pytest.raises(DatasetError) as err:
        analyze(make_dataset(raw), lanzoni)
    text = "\n".join(str(p) for p in err.value.problems)
    assert "placebo" in text and "XYZ" in text


def test_no_measurements_at_all(raw: dict[str, pd.DataFrame], lanzoni: Protocol) -> None:
    """Randomized participants but not one measurement yet (an early DSMB look): continuous
    endpoints have no values and say why, instead of failing."""
    del raw["LB"], raw["VS"]
    # the value at a visit (no baseline): the reason is then looked up among the results
    ep = lanzoni.endpoint("il6_change_d6").model_copy(update={"baseline_visit": None})
    protocol = lanzoni.model_copy(update={"endpoints": [ep]})
    result = analyze(make_dataset(raw), protocol)
    (il6,) = result.endpoints
    assert il6.missing and {m.reason for m in il6.missing} <= {
        f"no result at {ep.visit}",
        f"died before {ep.visit}",
    }


@pytest.fixture
def raw() -> dict[str, pd.DataFrame]:
    return {
        p.stem.upper(): pd.read_csv(p, dtype=str, keep_default_na=False)
        for p in sorted(SMALL.glob("*.csv"))
    }


def test_competing_risks_and_binary(small: object, lanzoni: Protocol) -> None:
    """Death as a competing event for recovery (cumulative incidence), and recovery by day
    14 as a binary endpoint (Fisher, risk difference) -- the same data, other protocols."""
    rec = lanzoni.endpoint("time_to_recovery")
    comp = rec.model_copy(
        update={
            "id": "recovery_cif",
            "censoring": rec.censoring.model_copy(update={"death": "competing"}),  # type: ignore[union-attr]
            "analysis": ["kaplan_meier", "cumulative_incidence"],
        }
    )
    by14 = rec.model_copy(
        update={
            "id": "recovery_d14",
            "type": "binary",
            "horizon": 14 * 24,
            "analysis": ["fisher_exact", "risk_difference"],
        }
    )
    p = lanzoni.model_copy(update={"endpoints": [*lanzoni.endpoints, comp, by14]})
    r = analyze(small, p)  # type: ignore[arg-type]
    cif = r.endpoint("recovery_cif")
    assert cif.cumulative_incidence is not None  # type: ignore[attr-defined]
    assert "Aalen–Johansen" in cif.method
    # deaths before recovery: L-004, L-010, L-012, L-016 (control, as randomized)
    assert {a.arm: a.competing for a in cif.arms} == {"ucmsc": 0, "control": 4}  # type: ignore[attr-defined]
    b = r.endpoint("recovery_d14")
    # recovered by day 14: UC-MSC L-001 (10), L-009 (8), L-013 (6), L-015 (12);
    # control L-014 (14). Missing: L-005 (UC-MSC, left day 12), L-006, L-008 (control)
    assert {m.usubjid for m in b.missing} == {"L-005", "L-006", "L-008"}
    counts = {a.arm: (a.events, a.n) for a in b.arms}  # type: ignore[attr-defined]
    assert counts == {"ucmsc": (4, 7), "control": (1, 6)}
    from celltrial.stats import fisher_exact, risk_difference

    assert b.p_value == pytest.approx(fisher_exact([[4, 3], [1, 5]]).p_value)
    (rd,) = b.effects
    assert rd.estimate == pytest.approx(risk_difference([[4, 3], [1, 5]]).estimate)
    assert rd.ci == pytest.approx(risk_difference([[4, 3], [1, 5]]).ci)


def test_live_trial_keeps_participants_in_follow_up(lanzoni: Protocol) -> None:
    """Issue 15: with a trial still running (no end-of-study disposition yet for some), CONSORT
    puts them in an "ongoing" box of their own (every allocated participant is accounted
    for), the KM tables do not call them drop-outs, and the report says so."""
    from celltrial.dataset import read_dataset
    from celltrial.report import render_html

    full = read_dataset(SMALL)
    tables = {k: v.copy() for k, v in full.tables.items()}
    ds = tables["DS"]
    still = ["L-001", "L-002"]  # both completed in the hand-built dataset; now still followed
    tables["DS"] = ds[~(ds["USUBJID"].isin(still) & (ds["DSDECOD"] == "COMPLETED"))]
    live = analyze(make_dataset(tables), lanzoni)
    done = analyze(full, lanzoni)
    for col in (*live.consort.arms, live.consort.pooled):
        accounted = col.lost_to_follow_up + col.discontinued + col.completed + col.ongoing
        assert accounted == col.allocated, col
    assert live.consort.pooled.ongoing == 2 and done.consort.pooled.ongoing == 0
    assert live.consort.pooled.completed == done.consort.pooled.completed - 2
    # deaths: CONSORT (as randomized) and the safety table (as treated) both shown
    assert live.consort.pooled.deaths == int((full.dm["DTHFL"] == "Y").sum())
    surv = next(e for e in live.endpoints if e.endpoint == "survival_d31")
    before = next(e for e in done.endpoints if e.endpoint == "survival_d31")
    assert surv.pooled.censored_early + surv.pooled.ongoing >= before.pooled.censored_early
    assert surv.pooled.censored_early == before.pooled.censored_early
    html = render_html(live, closed=True)
    assert "Still in follow-up, ongoing (n=" in html
    assert "(drop-out)" not in html


def test_live_trial_names_participants_not_dosed_yet(lanzoni: Protocol) -> None:
    """A participant randomized and not dosed is "never dosed" in CONSORT once out of the
    study, but "not dosed yet" while still in follow-up (a live trial: the dose may come).
    L-008 (control, never dosed, withdrawn the next day) with the withdrawal taken away."""
    from celltrial.dataset import read_dataset

    full = read_dataset(SMALL)
    tables = {k: v.copy() for k, v in full.tables.items()}
    ds = tables["DS"]
    tables["DS"] = ds[~((ds["USUBJID"] == "L-008") & (ds["DSDECOD"] == "WITHDRAWN"))]
    live = {a.arm: a for a in analyze(make_dataset(tables), lanzoni).consort.arms}["control"]
    done = {a.arm: a for a in analyze(full, lanzoni).consort.arms}["control"]
    assert dict(done.not_received) == {"never dosed": 1, "received another arm's product": 1}
    assert dict(live.not_received) == {
        "not dosed yet (still in follow-up)": 1,
        "received another arm's product": 1,
    }
    assert (live.ongoing, live.discontinued) == (done.ongoing + 1, done.discontinued - 1)
