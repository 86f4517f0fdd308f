"""Power for continuous endpoints planned with ANCOVA or an MMRM.

- The batch analyses are checked trial by trial: ``mmrm_batch`` against
  ``celltrial.stats.mmrm`` (itself tested against nlme::gls + pbkrtest), ``ancova_batch``
  against a least-squares fit per trial.
- ``ancova_power`` (exact, no drop-out) against the same integral written in R
  (tests/reference/continuous_power/continuous_power.R), and the simulated ANCOVA power against
  it and against R's lm() simulation.
- The simulated MMRM power against R's simulation on a small case (gls + Kenward–Roger per
  trial), within Monte Carlo error.
"""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from scipy import stats as sps
from typer.testing import CliRunner

from celltrial.commands.design import app as design_app
from celltrial.simulate.continuous_power import (
    ContinuousPlan,
    ancova_batch,
    ancova_power,
    mmrm_batch,
    simulate_continuous_power,
    simulate_continuous_trials,
)
from celltrial.stats import mmrm
from reference._load import load_json

REF = load_json("continuous_power")


def test_mmrm_batch_matches_stats_mmrm_trial_by_trial() -> None:
    plan = ContinuousPlan(delta=0.8, corr=0.5, visits=3, dropout=0.25, corr_type="ar1")
    d = simulate_continuous_trials(plan, n=30, trials=5, rng=np.random.default_rng(5))
    res = mmrm_batch(d.y, d.baseline, d.group)
    assert res.converged.all()
    for t in range(5):
        ok = ~np.isnan(d.y[t]).ravel()
        subj = np.repeat(np.arange(30), 3)[ok]
        fit = mmrm(
            d.y[t].ravel()[ok],
            np.tile([1, 2, 3], 30)[ok],
            np.where(d.group, "exp", "ctl")[subj],
            subj,
            covariates=d.baseline[t][subj],
            reference="ctl",
        )
        assert fit.df_method == "kenward-roger"
        assert math.isclose(res.estimate[t], fit.estimate, rel_tol=1e-7, abs_tol=1e-9)
        assert math.isclose(res.se[t], fit.se, rel_tol=1e-6)
        assert math.isclose(res.df[t], fit.df, rel_tol=1e-6)
        assert math.isclose(res.p_value[t], fit.p_value, rel_tol=1e-5)


def test_ancova_batch_matches_least_squares_per_trial() -> None:
    plan = ContinuousPlan(delta=0.5, corr=0.6, visits=2, dropout=0.3)
    d = simulate_continuous_trials(plan, n=25, trials=6, rng=np.random.default_rng(2))
    est, t, p = ancova_batch(d.y[:, :, -1], d.baseline, d.group)
    for k in range(6):
        ok = ~np.isnan(d.y[k, :, -1])
        X = np.column_stack([np.ones(ok.sum()), d.group[ok], d.baseline[k, ok]])
        y = d.y[k, ok, -1]
        beta, rss, *_ = np.linalg.lstsq(X, y, rcond=None)
        df = ok.sum() - 3
        se = math.sqrt(rss[0] / df * np.linalg.inv(X.T @ X)[1, 1])
        assert math.isclose(est[k], beta[1], rel_tol=1e-10)
        assert math.isclose(t[k], beta[1] / se, rel_tol=1e-10)
        assert math.isclose(p[k], 2 * sps.t.sf(abs(beta[1] / se), df), rel_tol=1e-9)


@pytest.mark.parametrize("case", range(3))
def test_ancova_exact_power_matches_r(case: int) -> None:
    r = REF["ancova_exact"][case]
    plan = ContinuousPlan(delta=r["delta"], sd=r["sd"], corr=r["rho"])
    assert math.isclose(ancova_power(plan, r["n"]), r["power"], rel_tol=1e-6)


def test_simulated_ancova_power_agrees_with_exact_and_r() -> None:
    r = REF["ancova_sim"]
    plan = ContinuousPlan(delta=r["delta"], sd=r["sd"], corr=r["rho"])
    sim = simulate_continuous_power(
        plan, "ancova", n=r["n"], trials=40_000, rng=np.random.default_rng(11)
    )
    exact = ancova_power(plan, r["n"])
    assert abs(sim.power - exact) < 4 * sim.se
    assert abs(sim.power - r["power"]) < 4 * math.hypot(sim.se, r["se"])
    null = simulate_continuous_power(
        ContinuousPlan(delta=0.0), "ancova", n=r["n"], trials=40_000, rng=np.random.default_rng(3)
    )
    assert abs(null.power - 0.05) < 4 * null.se


def test_simulated_mmrm_power_agrees_with_r_simulation() -> None:
    r = REF["mmrm_sim"]
    plan = ContinuousPlan(
        delta=r["delta"], sd=r["sd"], corr=r["rho"], visits=r["visits"], dropout=r["dropout"]
    )
    sim = simulate_continuous_power(
        plan, "mmrm", n=r["n"], trials=1000, rng=np.random.default_rng(7)
    )
    assert "not converged" not in sim.method
    assert abs(sim.power - r["power"]) < 3 * math.hypot(sim.se, r["se"])


def test_plan_checks() -> None:
    with pytest.raises(ValueError, match="corr: must be strictly between"):
        ContinuousPlan(delta=1, corr=1.0)
    with pytest.raises(ValueError, match="dropout: must be in"):
        ContinuousPlan(delta=1, dropout=1.0)
    with pytest.raises(ValueError, match="visits: an MMRM needs at least 2"):
        simulate_continuous_power(
            ContinuousPlan(delta=1), "mmrm", n=20, trials=10, rng=np.random.default_rng(1)
        )


def test_design_power_command_with_analysis(tmp_path) -> None:
    out = tmp_path / "p.json"
    res = CliRunner().invoke(
        design_app,
        [
            "power",
            "--analysis",
            "ancova",
            "--delta",
            "0.6",
            "--n",
            "40",
            "--trials",
            "2000",
            "--json",
            str(out),
        ],
    )
    assert res.exit_code == 0, res.output
    rows = json.loads(out.read_text())
    assert rows[0]["analysis"] == "ancova" and rows[0]["n"] == 40
    assert abs(rows[0]["power"] - rows[0]["exact_power"]) < 4 * rows[0]["power_se"]
    bad = CliRunner().invoke(design_app, ["power", "--analysis", "ancova", "--n", "40"])
    assert bad.exit_code == 2 and "--delta" in bad.output
    bad = CliRunner().invoke(
        design_app, ["power", "--analysis", "mmrm", "--delta", "1", "--n", "40", "--visits", "1"]
    )
    assert bad.exit_code == 2 and "at least 2 post-baseline visits" in bad.output
    bad = CliRunner().invoke(design_app, ["power", "--n", "40"])
    assert bad.exit_code == 2 and "--protocol and --scenario" in bad.output
