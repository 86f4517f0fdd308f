"""Batched log-rank against R's survdiff, and simulated power against rpact and Schoenfeld.

References: tests/reference/power/ — trials.csv (make_trials.py), survdiff.json (survdiff.R,
survival 3.5.3, R 4.2.2), rpact_power.json (rpact_power.R, rpact 3.3.4).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from celltrial.simulate.logrank_batch import _result, logrank_batch
from celltrial.simulate.power import (
    _CHUNK,
    _FusedLogrank,
    _reject,
    _reject_oev,
    arm_sizes,
    batches,
    fisher_batch,
    simulate_logrank_power,
    simulate_logrank_trials,
)
from celltrial.stats import logrank, power_survival

REF = Path(__file__).resolve().parents[1] / "reference" / "power"
CLOSED_FORM = 1e-10


def _padded() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    d = pd.read_csv(REF / "trials.csv")
    d["pos"] = d.groupby("trial").cumcount()
    shape = (int(d["trial"].max()), int(d["pos"].max()) + 1)
    time = np.full(shape, np.nan)
    event = np.zeros(shape, dtype=bool)
    group = np.zeros(shape, dtype=int)
    rows, cols = d["trial"].to_numpy() - 1, d["pos"].to_numpy()
    time[rows, cols] = d["time"].to_numpy()
    event[rows, cols] = d["event"].to_numpy() == 1
    group[rows, cols] = d["group"].to_numpy()
    return time, event, group


def test_logrank_batch_matches_survdiff() -> None:
    ref = json.loads((REF / "survdiff.json").read_text())
    time, event, group = _padded()
    res = logrank_batch(time, event, group)
    want_p = np.array([t["p"] for t in ref["trials"]])
    want_chisq = np.array([t["chisq"] for t in ref["trials"]])
    want_e = np.array([t["expected1"] for t in ref["trials"]])
    np.testing.assert_allclose(res.p_value, want_p, rtol=0, atol=CLOSED_FORM)
    np.testing.assert_allclose(res.statistic, want_chisq, rtol=CLOSED_FORM, atol=CLOSED_FORM)
    np.testing.assert_allclose(res.expected, want_e, rtol=0, atol=CLOSED_FORM)
    # The second half has tied times (whole months): the tie path was exercised.
    assert (np.diff(np.sort(time[200:], axis=1), axis=1) == 0).any()


def test_logrank_batch_matches_stats_logrank_with_ties_and_missing() -> None:
    rng = np.random.default_rng(5)
    t = np.round(rng.exponential(1, (60, 20)), 1)
    e = rng.random((60, 20)) < 0.7
    g = rng.integers(0, 2, (60, 20))
    t[:10, -4:] = np.nan
    res = logrank_batch(t, e, g)
    for i in range(60):
        ok = ~np.isnan(t[i])
        one = logrank(t[i][ok], e[i][ok], group=g[i][ok])
        assert res.p_value[i] == pytest.approx(one.p_value, abs=CLOSED_FORM)


def test_logrank_batch_swapping_groups_keeps_p() -> None:
    rng = np.random.default_rng(6)
    t = rng.exponential(1, (50, 16))
    e = rng.random((50, 16)) < 0.8
    g = rng.integers(0, 2, (50, 16))
    a = logrank_batch(t, e, g)
    b = logrank_batch(t, e, 1 - g)
    np.testing.assert_allclose(a.p_value, b.p_value, atol=CLOSED_FORM)


def test_logrank_batch_shapes_must_agree() -> None:
    with pytest.raises(ValueError, match="shapes differ"):
        logrank_batch(np.ones((2, 3)), np.ones((2, 3)), np.ones((2, 4)))


def test_simulated_trials_stop_at_the_planned_event() -> None:
    sim = simulate_logrank_trials(
        n=24,
        hazard_ratio=0.5,
        control_median=12,
        accrual_time=12,
        events=18,
        trials=500,
        rng=np.random.default_rng(1),
    )
    assert (sim.event.sum(axis=1) == 18).all()


@pytest.mark.parametrize("design", [0, 1])
def test_power_agrees_with_rpact_simulation_and_schoenfeld(design: int) -> None:
    ref = json.loads((REF / "rpact_power.json").read_text())["designs"][design]
    trials = 40_000
    res = simulate_logrank_power(
        n=ref["n"],
        hazard_ratio=ref["hr"],
        control_median=ref["median"],
        accrual_time=ref["accrual"],
        events=ref["events"],
        trials=trials,
        rng=np.random.default_rng(11),
        alpha=0.025,
        sided=1,
        accrual="equal-intervals",  # rpact's accrual model: like for like
    )
    # Monte Carlo error of both simulations together (rpact ran 100,000 iterations).
    p = ref["simulated_power"]
    se = np.sqrt(p * (1 - p) / ref["iterations"] + res.se**2)
    assert abs(res.power - p) < 4 * se
    # Schoenfeld's approximation (celltrial.stats and rpact's getPowerSurvival agree on it).
    analytic = power_survival(ref["hr"], ref["events"], alpha=0.025).power
    assert analytic == pytest.approx(ref["analytic_power"], abs=1e-6)
    assert abs(res.power - analytic) < 4 * res.se + 0.01


def test_equal_intervals_enter_as_rpact_with_alternating_arms() -> None:
    sim = simulate_logrank_trials(
        n=6, hazard_ratio=0.5, control_median=12, accrual_time=12, events=6, trials=3,
        rng=np.random.default_rng(1), accrual="equal-intervals", allocation=(2, 1),
    )  # fmt: skip
    # rpact: entries at k * 12 / 6, arms in blocks of the allocation (treatment first)
    assert sim.group[0].tolist() == [1, 1, 0, 1, 1, 0]
    # everyone had the event (events = n): follow-up = calendar time of the event - entry
    assert sim.event.all() and np.isfinite(sim.time).all()
    with pytest.raises(ValueError, match="accrual: one of 'uniform', 'equal-intervals'"):
        simulate_logrank_power(
            n=6, hazard_ratio=0.5, control_median=12, accrual_time=12, events=6, trials=3,
            rng=np.random.default_rng(1), accrual="fixed",
        )  # fmt: skip


@pytest.mark.parametrize("accrual", ["uniform", "equal-intervals"])
@pytest.mark.parametrize(
    "design",
    [
        dict(n=24, hazard_ratio=0.5, control_median=12.0, accrual_time=12.0, events=18),
        dict(n=61, hazard_ratio=1.4, control_median=5.0, accrual_time=30.0, events=61),
        dict(n=9, hazard_ratio=0.7, control_median=2.0, accrual_time=0.5, events=2),
    ],
)
def test_fused_logrank_is_logrank_batch_bit_for_bit(design: dict, accrual: str) -> None:
    """Old vs new: simulate_logrank_power's fused cut-off and test (one packed sort, one
    cumulative sum) gives logrank_batch's O, E, V, z and p on simulate_logrank_trials' data,
    bit for bit (the same draws: entry times, then survival times)."""
    trials = 3 * _CHUNK // 2
    sim = simulate_logrank_trials(**design, trials=trials, rng=np.random.default_rng(5),
                                  accrual=accrual)  # fmt: skip
    ref = logrank_batch(sim.time, sim.event, sim.group)
    rng = np.random.default_rng(5)
    n, acc = design["n"], design["accrual_time"]
    if accrual == "uniform":
        entry = rng.random((trials, n)) * acc
    else:
        entry = np.broadcast_to(np.arange(1, n + 1) * (acc / n), (trials, n))
    rate = np.log(2) / design["control_median"] * np.where(sim.group[0] == 1,
                                                           design["hazard_ratio"], 1.0)  # fmt: skip
    survival = rng.standard_exponential((trials, n)) / rate
    fused = _FusedLogrank(sim.group[0], design["events"])
    for lo in (0, _CHUNK):
        oev = fused(entry[lo : lo + _CHUNK], survival[lo : lo + _CHUNK])
        assert oev is not None
        got = _result(*oev)
        for f in ("observed", "expected", "variance", "statistic", "p_value", "z"):
            a, b = getattr(got, f), getattr(ref, f)[lo : lo + _CHUNK]
            assert np.array_equal(a, b, equal_nan=True), f
        for sided in (1, 2):
            for hr in (0.5, 2.0):
                new = _reject_oev(*oev, 0.05, sided, hr)
                old = _reject(ref.z, ref.p_value, 0.05, sided, hr)[lo : lo + _CHUNK]
                assert np.array_equal(new, old)
    # tied follow-up (everyone enters at 0 and the censored share the cut-off) is refused, and
    # simulate_logrank_power then runs logrank_batch
    tied = _FusedLogrank(sim.group[0], design["events"])(np.zeros((4, n)), survival[:4])
    assert tied is None or design["events"] == n


def test_power_is_the_same_for_any_batch_size_that_splits_alike() -> None:
    kw = dict(n=24, hazard_ratio=0.5, control_median=12, accrual_time=12, events=18, trials=3000)
    a = simulate_logrank_power(**kw, rng=np.random.default_rng(3), batch=1000)
    b = simulate_logrank_power(**kw, rng=np.random.default_rng(3), batch=1000)
    c = simulate_logrank_power(**kw, rng=np.random.default_rng(4), batch=1000)
    assert a == b
    assert a.power != c.power


def test_type_one_error_under_the_null() -> None:
    res = simulate_logrank_power(
        n=40,
        hazard_ratio=1.0,
        control_median=12,
        accrual_time=12,
        events=30,
        trials=20_000,
        rng=np.random.default_rng(8),
    )
    assert abs(res.power - 0.05) < 4 * np.sqrt(0.05 * 0.95 / 20_000) + 0.005


def test_fisher_batch_matches_scipy() -> None:
    from scipy.stats import fisher_exact

    rng = np.random.default_rng(3)
    m1 = rng.integers(1, 15, 200)
    m2 = rng.integers(1, 15, 200)
    x1 = rng.binomial(m1, 0.3)
    x2 = rng.binomial(m2, 0.6)
    p = fisher_batch(x1, m1, x2, m2)
    for i in range(200):
        want = fisher_exact([[x1[i], m1[i] - x1[i]], [x2[i], m2[i] - x2[i]]])[1]
        assert p[i] == pytest.approx(want, abs=1e-12)


def test_helpers() -> None:
    assert batches(25, 10) == [10, 10, 5]
    assert arm_sizes(100, [2, 1]) == [67, 33]
    assert arm_sizes(24, [1, 1]) == [12, 12]
    with pytest.raises(ValueError):
        batches(0, 10)


def test_docs_seed_power_table_has_the_planned_rows() -> None:
    """docs/simulate.md's power table of the seed protocols has one row per test
    ``plan()`` gives (protocol, endpoint, test), so an endpoint added to a seed protocol
    cannot be missing from it. The numbers are written by scripts/seed_power_table.py (the
    same computation as ``celltrial design power``; about 20 s, not run here)."""
    import importlib.util

    root = Path(__file__).resolve().parents[2]
    spec = importlib.util.spec_from_file_location(
        "seed_power_table", root / "scripts" / "seed_power_table.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    text = module.DOC.read_text(encoding="utf-8")
    assert module.table_rows(text) == module.planned_rows()
    assert len(module.planned_rows()) >= 30
