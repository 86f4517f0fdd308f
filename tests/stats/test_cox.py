"""Cox regression and cox.zph against R (tests/reference/cox/cox.R)."""

from __future__ import annotations

import numpy as np
import pytest

from celltrial.stats import NotEstimableWarning, concordance, cox_ph
from reference._load import ITERATIVE_RTOL, assert_close, load_csv, load_json

REF = load_json("cox")


def _names(case: dict) -> list[str]:
    x = case["x"]
    return [x] if isinstance(x, str) else list(x)


def _fit(case: dict):
    data = load_csv("cox", case["data"])
    X = np.column_stack([data[v] for v in _names(case)])
    return cox_ph(
        X,
        data["time"],
        data["event"],
        ties=case["ties"],
        strata=data[case["strata"]] if "strata" in case else None,
        entry=data[case["entry"]] if "entry" in case else None,
        weights=data[case["weights"]] if "weights" in case else None,
        cluster=data[case["cluster"]] if "cluster" in case else None,
        robust=bool(case.get("robust", False)),
        names=_names(case),
    )


@pytest.mark.parametrize("name", sorted(REF["cases"]))
def test_fit_matches_coxph(name: str) -> None:
    case = REF["cases"][name]
    fit = _fit(case)
    rtol = ITERATIVE_RTOL
    assert_close(fit.estimate, case["coef"], rtol, what="coef")
    assert_close(fit.variance, case["var"], rtol, what="var")
    if not isinstance(case["naive_var"], float):
        assert_close(fit.naive_variance, case["naive_var"], rtol, what="naive.var")
    assert_close(fit.loglik, case["loglik"], rtol, what="loglik")
    assert_close(fit.score_test.statistic, case["sctest"], rtol, what="score test")
    assert_close(fit.wald_test.statistic, case["wald"], rtol, what="wald test")
    assert_close(fit.lr_test.statistic, case["logtest"], rtol, what="LR test")
    assert_close(fit.ci[:, 0], case["hr_lower"], rtol, what="HR lower")
    assert_close(fit.ci[:, 1], case["hr_upper"], rtol, what="HR upper")
    assert fit.n == case["n"]
    assert fit.n_event == case["nevent"]


@pytest.mark.parametrize("name", sorted(REF["cases"]))
def test_zph_matches_cox_zph(name: str) -> None:
    case = REF["cases"][name]
    fit = _fit(case)
    for z in case["zph"]:
        res = fit.zph(z["transform"])
        chisq = np.atleast_1d(z["chisq"])
        assert_close(res.statistic, chisq, ITERATIVE_RTOL, what=f"zph {z['transform']} chisq")
        assert_close(res.p_value, np.atleast_1d(z["p"]), ITERATIVE_RTOL, what="zph p")
        np.testing.assert_array_equal(res.df, np.atleast_1d(z["df"]))


# --- infinite and not estimable coefficients (tests/reference/cox/cox_infinite.R) -------------

INF = load_json("cox", "cox_infinite")


def _fit_warned(case: dict):
    X = np.asarray(case["X"], dtype=float)
    with pytest.warns(NotEstimableWarning) as rec:
        fit = cox_ph(X, case["time"], case["event"], ties=case["ties"])
    return fit, [str(r.message) for r in rec]


@pytest.mark.parametrize(
    "name",
    [
        "no_events_in_arm",
        "no_events_in_arm_plus_covariate",
        "no_events_in_arm_breslow",
        "trial_12_vs_12",
    ],
)
def test_infinite_coefficient_is_flagged_and_tests_match_coxph(name: str) -> None:
    case = INF["cases"][name]
    fit, messages = _fit_warned(case)
    assert any("infinite" in m for m in messages)
    assert fit.infinite.tolist()[0] is True
    assert not np.any(fit.aliased)
    # the limits R approaches: log-likelihoods, LR and score tests, finite coefficients
    assert_close(fit.loglik, case["loglik"], ITERATIVE_RTOL, what="loglik")
    assert_close(fit.lr_test.statistic, case["logtest"], ITERATIVE_RTOL, what="LR test")
    assert_close(fit.score_test.statistic, case["sctest"], ITERATIVE_RTOL, what="score test")
    assert fit.lr_test.df == case["df"]
    coef = np.atleast_1d(case["coef"])
    var = np.atleast_2d(case["var"])
    assert np.sign(fit.estimate[0]) == np.sign(coef[0])
    assert abs(fit.estimate[0]) > 15
    if coef.size > 1:
        assert_close(fit.estimate[1:], coef[1:], ITERATIVE_RTOL, what="finite coef")
        assert_close(fit.variance[1:, 1:], var[1:, 1:], 1e-5, what="finite coef var")
        assert not fit.infinite[1]
    assert "infinite" in fit.summary()


@pytest.mark.parametrize(
    "name", ["no_variation_in_risk_sets", "constant_covariate", "duplicated_covariate"]
)
def test_not_estimable_coefficient_is_na_as_in_coxph(name: str) -> None:
    case = INF["cases"][name]
    fit, messages = _fit_warned(case)
    assert any("not estimable" in m for m in messages)
    coef = np.atleast_1d(case["coef"])
    na = np.isnan(coef)
    np.testing.assert_array_equal(fit.aliased, na)
    assert np.all(np.isnan(fit.estimate[na])) and np.all(np.isnan(fit.se[na]))
    ok = ~na
    assert_close(fit.estimate[ok], coef[ok], ITERATIVE_RTOL, what="coef")
    assert_close(fit.variance[np.ix_(ok, ok)], np.atleast_2d(case["var"])[np.ix_(ok, ok)], 1e-6)
    assert_close(fit.loglik, case["loglik"], ITERATIVE_RTOL, what="loglik")
    assert fit.lr_test.df == case["df"]
    assert_close(fit.lr_test.statistic, case["logtest"], ITERATIVE_RTOL, atol=1e-12)
    assert_close(fit.score_test.statistic, case["sctest"], ITERATIVE_RTOL, atol=1e-12)
    if case["df"] == 0:
        assert fit.lr_test.p_value == 1.0


def test_one_row_gives_na_not_a_crash() -> None:
    # R's coxph errors here (in its concordance); by hand: one risk set of one, loglik 0.
    with pytest.warns(NotEstimableWarning):
        fit = cox_ph([1.0], [3.0], [1])
    assert fit.aliased.tolist() == [True]
    assert fit.loglik == (0.0, 0.0)
    assert fit.lr_test.df == 0 and fit.lr_test.p_value == 1.0


def test_simulated_30_vs_30_with_no_deaths_in_one_arm_never_crash() -> None:
    rng = np.random.default_rng(21)
    for _ in range(200):
        t = np.ceil(rng.exponential(20.0, 60))
        x = np.repeat([1.0, 0.0], 30)
        e = np.where(x == 1, 0, rng.random(60) < 0.5).astype(float)
        if not e.any():
            continue
        with pytest.warns(NotEstimableWarning):
            fit = cox_ph(x, t, e)
        assert fit.infinite[0] or fit.aliased[0]
        assert fit.infinite[0] == (fit.estimate[0] < -15)
        assert np.isfinite(fit.lr_test.statistic) and fit.lr_test.statistic >= 0
        assert np.isfinite(fit.score_test.p_value)


def test_step_not_halved_on_rounding_noise_of_a_large_loglik() -> None:
    # tests/reference/cox/cox_large.R: 2e5 rows, log-likelihood ~1.6e6. An absolute 1e-12
    # test of its decrease halved the step on rounding noise and stopped 2e-6 (relative) off.
    ref = load_json("cox", "cox_large")
    i = np.arange(1, ref["n"] + 1, dtype=np.float64)
    arm = i % 2
    x = ((i * 13) % 101) / 100 - 0.5
    u = (i * 0.6180339887498949) % 1
    v = (i * 0.7548776662466927) % 1
    te = -np.log(u) / np.exp(-0.4 * arm + 0.3 * x)
    tc = -2.8 * np.log(v)
    fit = cox_ph(np.column_stack((arm, x)), np.minimum(te, tc), (te <= tc).astype(float))
    assert_close(fit.estimate, ref["coef"], 1e-7, what="coef")
    assert_close(fit.variance, ref["var"], 1e-7, what="var")
    assert_close(fit.loglik, ref["loglik"], 1e-9, what="loglik")  # R sums naively
    assert fit.iterations == ref["iter"]


# --- concordance (tests/reference/cox/cox_concordance.R) -------------------------------------

CONC = load_json("cox", "cox_concordance")


@pytest.mark.parametrize("name", sorted(CONC["score"]))
def test_concordance_matches_survival(name: str) -> None:
    ref = CONC["score"][name]
    d = load_csv("cox", "ties.csv")
    res = concordance(
        d["time"],
        d["event"],
        d["x"],
        strata=d["s"] if name == "strata" else None,
        weights=d["w"] if name == "weights" else None,
        reverse=name != "not_reversed",
    )
    assert_close(res.estimate, ref["concordance"], 1e-12)
    assert_close(res.se, ref["std"], 1e-10)
    counts = [res.concordant, res.discordant, res.tied_x, res.tied_y, res.tied_xy]
    assert_close(counts, ref["count"], 1e-12, atol=1e-9)


@pytest.mark.parametrize("name", sorted(CONC["cox"]))
def test_cox_concordance_matches_coxph(name: str) -> None:
    ref = CONC["cox"][name]
    d = load_csv("cox", ref["data"])
    X = np.column_stack([d[v] for v in ref["x"]])
    fit = cox_ph(
        X,
        d["time"],
        d["event"],
        strata=d[ref["strata"]] if "strata" in ref else None,
        weights=d[ref["weights"]] if "weights" in ref else None,
    )
    res = fit.concordance()
    assert_close(res.estimate, ref["concordance"], ITERATIVE_RTOL)
    assert_close(res.se, ref["std"], ITERATIVE_RTOL)
    counts = [res.concordant, res.discordant, res.tied_x, res.tied_y, res.tied_xy]
    assert_close(counts, ref["count"], 1e-12, atol=1e-9)


def test_concordance_of_a_large_sample_is_vectorised() -> None:
    rng = np.random.default_rng(3)
    n = 50_000
    t = np.ceil(rng.exponential(100, n))
    e = (rng.random(n) < 0.7).astype(float)
    x = np.round(rng.standard_normal(n), 2)
    res = concordance(t, e, x)
    assert 0.45 < res.estimate < 0.55 and 0 < res.se < 0.01


# --- ties = "exact" (tests/reference/cox/cox_exact.R) -----------------------------------------

EXACT = load_json("cox", "cox_exact")


@pytest.mark.parametrize("name", sorted(EXACT["cases"]))
def test_exact_ties_match_coxph(name: str) -> None:
    case = EXACT["cases"][name]
    d = load_csv("cox", case["data"])
    xs = _names(case)
    time_ = np.ceil(d["time"] / 30) if case["time"] == "day30" else d["time"]
    fit = cox_ph(
        np.column_stack([d[v] for v in xs]),
        time_,
        d["event"],
        ties="exact",
        strata=d[case["strata"]] if "strata" in case else None,
        names=xs,
    )
    assert_close(fit.estimate, case["coef"], ITERATIVE_RTOL, what="coef")
    assert_close(fit.variance, case["var"], ITERATIVE_RTOL, what="var")
    assert_close(fit.loglik, case["loglik"], 1e-10, what="loglik")
    assert_close(fit.lr_test.statistic, case["logtest"], ITERATIVE_RTOL)
    assert_close(fit.score_test.statistic, case["sctest"], ITERATIVE_RTOL)
    assert_close(fit.wald_test.statistic, case["waldtest"], ITERATIVE_RTOL)
    assert fit.n == case["n"] and fit.n_event == case["nevent"]


def test_exact_ties_refuse_what_they_do_not_implement() -> None:
    with pytest.raises(ValueError, match='"exact" is implemented without weights'):
        cox_ph([0.0, 1.0, 0.0], [1.0, 2.0, 3.0], [1, 1, 0], ties="exact", weights=[1, 2, 1])
