"""Power by simulation for continuous endpoints (and the binary ones' denominators).

The batch tests (celltrial.simulate.batch_tests, fisher_batch) are checked row by row against
the scalar functions of celltrial.stats, which are themselves tested against R
(tests/stats/test_continuous.py, test_binary.py); power against closed forms (the noncentral t,
tied to celltrial.stats.sample_size_means = rpact; an exact enumeration over binomial outcomes
for Fisher; the exact size of the Wilcoxon test under the null).
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
from scipy import stats as sps
from typer.testing import CliRunner

from celltrial.commands.design import app as design_app
from celltrial.protocol import Endpoint, Protocol, load_protocol
from celltrial.simulate.batch_tests import average_ranks, t_test_batch, wilcoxon_batch
from celltrial.simulate.power import (
    arm_sizes,
    batch_rejections,
    fisher_batch,
    plan,
    power,
    simulate_batch,
)
from celltrial.simulate.scenario import Scenario, load_scenario
from celltrial.stats import fisher_exact, sample_size_means, t_test, wilcoxon_rank_sum

CLOSED_FORM = 1e-10


def _with_t_test(protocol: Protocol) -> Protocol:
    """The protocol with ``t_test`` added to every continuous endpoint's analysis."""
    eps = [
        e.model_copy(update={"analysis": [*e.analysis, "t_test"]}) if e.type == "continuous" else e
        for e in protocol.endpoints
    ]
    return protocol.model_copy(update={"endpoints": eps})


def _only(protocol: Protocol, endpoint_id: str, **update: object) -> Protocol:
    e = next(e for e in protocol.endpoints if e.id == endpoint_id)
    return protocol.model_copy(update={"endpoints": [e.model_copy(update=update)]})


def _scalar(fn: object, *args: object, **kw: object) -> tuple[float, float]:
    """(statistic, p) of a celltrial.stats function, NaN where it raises ValueError."""
    try:
        r = fn(*args, **kw)  # type: ignore[operator]
    except ValueError:
        return math.nan, math.nan
    return r.statistic, r.p_value


# --- the batch statistics equal the scalar ones -----------------------------------------------


def test_average_ranks_equal_rankdata_with_ties_and_missing() -> None:
    rng = np.random.default_rng(1)
    v = np.round(rng.normal(size=(200, 15)), 1)
    v[rng.random(v.shape) < 0.2] = np.nan
    ranks, ties = average_ranks(v)
    for i in range(200):
        ok = ~np.isnan(v[i])
        want = sps.rankdata(v[i][ok])
        np.testing.assert_array_equal(ranks[i][ok], want)
        assert np.isnan(ranks[i][~ok]).all()
        _, t = np.unique(v[i][ok], return_counts=True)
        assert ties[i] == float(np.sum(t**3 - t))
    assert (ties > 0).any()


def _mixed_rows(rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """400 trials of 120 participants (first 60 in x): small samples without ties (exact),
    with ties (rounded), large samples (>= 50 each), samples left empty or tiny, constant."""
    v = rng.normal(size=(400, 120)) + np.where(np.arange(120) < 60, 0.6, 0.0)
    group = np.arange(120) < 60
    keep = np.ones(v.shape, dtype=bool)
    # rows 0-149: small random samples (mostly exact)
    for i in range(150):
        nx, ny = rng.integers(1, 30), rng.integers(1, 30)
        keep[i] = False
        keep[i, :nx] = True
        keep[i, 60 : 60 + ny] = True
    v[100:150] = np.round(v[100:150], 0)  # small with ties
    v[150:200] = np.round(v[150:200], 1)  # large with ties
    keep[200:250, 49:60] = False  # 49 in x
    keep[200:225, 109:] = False  # and 49 in y: exact (no ties)
    keep[225:250, 110:] = False  # and 50 in y: normal approximation
    keep[250:260, :60] = False  # x empty
    keep[260:270, :59] = False  # one in x
    keep[265:270, 61:] = False  # and one in y
    v[270:280] = 3.0  # all tied
    v[280:290, :60] = 1.0  # each sample constant
    v[280:290, 60:] = 2.0
    v[~keep] = np.nan
    return v, group


def test_wilcoxon_batch_equals_stats_wilcoxon_rank_sum() -> None:
    v, group = _mixed_rows(np.random.default_rng(2))
    res = wilcoxon_batch(v, group)
    exact_rows = 0
    for i in range(v.shape[0]):
        x = v[i][group & ~np.isnan(v[i])]
        y = v[i][~group & ~np.isnan(v[i])]
        stat, p = _scalar(wilcoxon_rank_sum, x, y)
        if math.isnan(p):
            assert math.isnan(res.p_value[i])
            continue
        assert res.statistic[i] == pytest.approx(stat, abs=CLOSED_FORM)
        assert res.p_value[i] == pytest.approx(p, abs=CLOSED_FORM), i
        assert bool(res.exact[i]) == wilcoxon_rank_sum(x, y).exact
        assert (res.n_x[i], res.n_y[i]) == (x.size, y.size)
        exact_rows += bool(res.exact[i])
    assert 50 < exact_rows < 250  # both paths were exercised
    assert np.isnan(res.p_value[250:260]).all()  # an empty sample: no test
    assert np.isnan(res.p_value[270:280]).all()  # all tied: no test


@pytest.mark.parametrize("equal_var", [False, True])
def test_t_test_batch_equals_stats_t_test(equal_var: bool) -> None:
    v, group = _mixed_rows(np.random.default_rng(3))
    v = v * np.where(group, 1.0, 2.5)  # unequal variances
    res = t_test_batch(v, group, equal_var=equal_var)
    for i in range(v.shape[0]):
        x = v[i][group & ~np.isnan(v[i])]
        y = v[i][~group & ~np.isnan(v[i])]
        stat, p = _scalar(t_test, x, y, equal_var=equal_var)
        if math.isnan(p):
            assert math.isnan(res.p_value[i]), i
            continue
        one = t_test(x, y, equal_var=equal_var)
        assert res.statistic[i] == pytest.approx(stat, rel=CLOSED_FORM, abs=CLOSED_FORM)
        assert res.df[i] == pytest.approx(one.df, rel=CLOSED_FORM)
        assert res.p_value[i] == pytest.approx(p, abs=CLOSED_FORM), i
    # Welch needs two values in each sample, Student two in all
    assert np.isnan(res.p_value[260:265]).all() != equal_var
    assert np.isnan(res.p_value[265:270]).all()


def test_fisher_batch_equals_stats_fisher_exact() -> None:
    rng = np.random.default_rng(4)
    m1, m2 = rng.integers(0, 25, 300), rng.integers(1, 25, 300)
    x1, x2 = rng.binomial(m1, 0.2), rng.binomial(m2, 0.5)
    p = fisher_batch(x1, m1, x2, m2)
    for i in range(300):
        want = fisher_exact([[x1[i], m1[i] - x1[i]], [x2[i], m2[i] - x2[i]]]).p_value
        assert p[i] == pytest.approx(want, abs=CLOSED_FORM)


@pytest.mark.parametrize(("pid", "n"), [("shi2021", 100), ("lanzoni2021", 24)])
def test_protocol_batches_equal_per_trial_tests(pid: str, n: int) -> None:
    """On data simulated for a seed protocol (Shi: normal approximation, ties from rounding;
    Lanzoni: small arms, mostly the exact test), each trial's p-value equals the scalar test's,
    and the rejection counts are those of the per-trial tests."""
    p = _with_t_test(load_protocol(pid))
    s = load_scenario(pid, p)
    pairs = plan(p)[0]
    data = simulate_batch(p, s, pairs, n=n, trials=300, rng=np.random.default_rng(5))
    counts = batch_rejections(p, s, pairs, n, 300, np.random.default_rng(5))
    tests = {"wilcoxon": wilcoxon_rank_sum, "welch_t": t_test}
    checked = 0
    for d, count in zip(data, counts, strict=True):
        got = d.p_values()
        want = np.full(300, np.nan)
        for i in range(300):
            g = d.group[i]
            if d.test in tests:
                assert d.values is not None
                ok = ~np.isnan(d.values[i])
                x, y = d.values[i][ok & g], d.values[i][ok & ~g]
                want[i] = _scalar(tests[d.test], x, y)[1]
            elif d.test == "fisher_exact":
                assert d.yes is not None and d.measured is not None
                y1 = int((d.yes[i] & d.measured[i] & g).sum())
                y2 = int((d.yes[i] & d.measured[i] & ~g).sum())
                m1, m2 = int((d.measured[i] & g).sum()), int((d.measured[i] & ~g).sum())
                want[i] = fisher_exact([[y1, m1 - y1], [y2, m2 - y2]]).p_value
            else:
                continue
        if d.test == "logrank":
            continue
        np.testing.assert_allclose(got, want, rtol=0, atol=CLOSED_FORM)
        assert count == int((want < d.endpoint.alpha).sum())
        checked += 1
    assert checked >= 3


# --- power against closed forms ---------------------------------------------------------------


def _t_power(n1: int, n2: int, es: float, alpha: float = 0.05) -> float:
    """Two-sided Student t-test power: P(|T| > t_{1-a/2, df}), T noncentral t."""
    df = n1 + n2 - 2
    ncp = es / math.sqrt(1 / n1 + 1 / n2)
    q = sps.t.ppf(1 - alpha / 2, df)
    return float(sps.nct.sf(q, df, ncp) + sps.nct.cdf(-q, df, ncp))


def test_t_test_power_matches_the_noncentral_t() -> None:
    delta, sd = 1.0, 1.5
    # The formula is rpact's (celltrial.stats.sample_size_means, tested vs rpact): at its n2
    # the one-sided 0.025 power is 0.8.
    ss = sample_size_means(delta, sd, alpha=0.025, beta=0.2)
    df = ss.n - 2
    ncp = delta / sd / math.sqrt(1 / ss.n1 + 1 / ss.n2)
    assert float(sps.nct.sf(sps.t.ppf(0.975, df), df, ncp)) == pytest.approx(0.8, abs=1e-8)
    n1 = n2 = math.ceil(ss.n2)
    analytic = _t_power(n1, n2, delta / sd)
    trials = 20_000
    rng = np.random.default_rng(6)
    v = rng.normal(0.0, sd, (trials, n1 + n2))
    group = np.arange(n1 + n2) < n1
    v[:, group] += delta
    for equal_var in (True, False):
        rate = float((t_test_batch(v, group, equal_var=equal_var).p_value < 0.05).mean())
        se = math.sqrt(analytic * (1 - analytic) / trials)
        assert abs(rate - analytic) < 4 * se, (equal_var, rate, analytic)


def _shi_binary(p_exp: float, p_ctrl: float) -> tuple[Protocol, Scenario]:
    """Shi's normal CT at month 12 with no drop-out and no missed visit (everyone measured)."""
    protocol = _only(load_protocol("shi2021"), "normal_ct_m12")
    s = load_scenario("shi2021", load_protocol("shi2021"))
    arms = {a: arm.model_copy(update={"hazards": {}}) for a, arm in s.arms.items()}
    ct = s.booleans["ct_normal"].model_copy(
        update={"probability": {"ucmsc": p_exp, "placebo": p_ctrl}}
    )
    scenario = s.model_copy(
        update={"arms": arms, "booleans": {"ct_normal": ct}, "missed_visits": 0.0}
    )
    return protocol, scenario


def test_fisher_power_matches_enumeration_over_binomial_outcomes() -> None:
    protocol, scenario = _shi_binary(0.4, 0.05)
    n = 30
    n1, n2 = arm_sizes(n, [2, 1])  # 20 UC-MSC, 10 placebo
    b1, b2 = sps.binom.pmf(np.arange(n1 + 1), n1, 0.4), sps.binom.pmf(np.arange(n2 + 1), n2, 0.05)
    b1_0, b2_0 = sps.binom.pmf(np.arange(n1 + 1), n1, 0.05), b2
    want = want0 = 0.0
    for x1 in range(n1 + 1):
        for x2 in range(n2 + 1):
            if fisher_exact([[x1, n1 - x1], [x2, n2 - x2]]).p_value < 0.05:
                want += b1[x1] * b2[x2]
                want0 += b1_0[x1] * b2_0[x2]
    trials = 20_000
    (res,) = power(protocol, scenario, n=n, trials=trials, rng=np.random.default_rng(7))
    assert res.test == "Fisher exact"
    assert abs(res.power.power - want) < 4 * math.sqrt(want * (1 - want) / trials)
    assert res.type1 is not None
    assert abs(res.type1.power - want0) < 4 * math.sqrt(want0 * (1 - want0) / trials) + 1e-4
    assert want0 < 0.05  # Fisher is conservative


def _wilcoxon_exact_size(m: int, n: int, alpha: float) -> float:
    """P(two-sided exact p < alpha) under H0, from the null distribution of U counted by the
    recursion c(u; m, n) = c(u - n; m - 1, n) + c(u; m, n - 1)."""
    count = np.zeros((m + 1, n + 1, m * n + 1))
    count[0, :, 0] = 1
    count[:, 0, 0] = 1
    for i in range(1, m + 1):
        for j in range(1, n + 1):
            count[i, j] = count[i, j - 1]
            count[i, j, j:] += count[i - 1, j, : m * n + 1 - j]
    c = count[m, n]
    pmf = c / c.sum()
    cdf = np.cumsum(pmf)
    sf = np.cumsum(pmf[::-1])[::-1]
    u = np.arange(m * n + 1)
    p = np.minimum(2 * np.where(u > m * n / 2, sf, cdf), 1.0)
    return float(pmf[p < alpha].sum())


def test_type_one_error_of_the_exact_wilcoxon_at_the_null() -> None:
    """Lanzoni's IL-6 at day 6 with everyone measured and no ties: under the null scenario the
    rejection rate is the exact test's size (below alpha by its discreteness)."""
    base = load_protocol("lanzoni2021")
    protocol = _only(base, "il6_d6")
    s = load_scenario("lanzoni2021", base)
    il6 = s.biomarkers["il6"].model_copy(update={"decimals": 6})
    arms = {a: arm.model_copy(update={"hazards": {}}) for a, arm in s.arms.items()}
    scenario = s.model_copy(update={"arms": arms, "biomarkers": {"il6": il6}, "missed_visits": 0.0})
    trials = 20_000
    (res,) = power(protocol, scenario, n=24, trials=trials, rng=np.random.default_rng(8))
    size = _wilcoxon_exact_size(12, 12, 0.05)
    assert 0.04 < size < 0.05
    assert res.type1 is not None
    assert abs(res.type1.power - size) < 4 * math.sqrt(size * (1 - size) / trials)
    # the scenario's IL-6 fall with UC-MSC is detected far more often than under the null
    # (values at day 6 carry the between-participant spread, so less often than changes)
    assert res.power.power > 0.3


def test_type_one_error_at_the_null_for_shi() -> None:
    """Shi's continuous endpoints under the null scenario (normal approximation with ties,
    missing values; Welch as well): within Monte Carlo error of alpha."""
    base = _with_t_test(load_protocol("shi2021"))
    # The three endpoints with missing values and ties (the later ones add no new case).
    keep = ("lesion_change_d28", "lesion_change_d10", "walk_6min_m12")
    p = base.model_copy(update={"endpoints": [e for e in base.endpoints if e.id in keep]})
    s = load_scenario("shi2021", p)
    trials = 10_000
    res = power(p, s, n=100, trials=trials, rng=np.random.default_rng(9))
    continuous = [r for r in res if r.test in ("Wilcoxon rank-sum", "Welch t-test")]
    assert len(continuous) == 6  # three endpoints, each by rank-sum and by Welch
    se = math.sqrt(0.05 * 0.95 / trials)
    for r in continuous:
        assert r.type1 is not None
        assert abs(r.type1.power - 0.05) < 4 * se, (r.endpoint, r.test, r.type1.power)


# --- what is simulated, and how the binary denominators follow the analysis ----------------


def test_plan_of_the_seed_protocols() -> None:
    def tests(pid: str) -> list[tuple[str, str]]:
        return [(e.id, t) for e, t in plan(load_protocol(pid))[0]]

    assert tests("shi2021") == [
        ("lesion_change_d28", "wilcoxon"),
        ("lesion_change_d10", "wilcoxon"),
        ("normal_ct_m12", "fisher_exact"),
        ("walk_6min_m12", "wilcoxon"),
        ("solid_change_d28", "wilcoxon"),
        ("solid_change_m12", "wilcoxon"),
        ("walk_6min_d28", "wilcoxon"),
        ("symptoms_m3", "fisher_exact"),
        ("symptoms_m6", "fisher_exact"),
        ("symptoms_m9", "fisher_exact"),
        ("symptoms_m12", "fisher_exact"),
        ("tumour_markers_m12", "fisher_exact"),
    ]
    # Lanzoni's cytokines: the groups compared at day 6 (rank-sum); the day-0-to-6 changes are
    # within-arm analyses, with no between-arm test to simulate.
    lanzoni = tests("lanzoni2021")
    assert ("il6_d6", "wilcoxon") in lanzoni
    assert not [e for e, _ in lanzoni if e.endswith("_change_d6")]
    no_test = "no between-arm test in its analysis (within-arm or descriptive only)"
    assert dict(plan(load_protocol("fathikazerooni2022"))[1])["crp_change"] == no_test
    assert tests("rebelatto2022") == []
    skipped = dict(plan(load_protocol("rebelatto2022"))[1])
    assert skipped["ferritin_change_d14"] == no_test
    skipped = dict(plan(load_protocol("meng2020"))[1])
    assert list(skipped) == ["adverse_events", "time_to_discharge"]
    assert "Fisher" in skipped["adverse_events"]
    assert [
        t for e, t in plan(_with_t_test(load_protocol("meng2020")))[0] if e.id == "igm_discharge"
    ] == [
        "wilcoxon",
        "welch_t",
    ]


def _intubation(rule: str | None) -> tuple[Protocol, Scenario, Endpoint]:
    base = load_protocol("fathikazerooni2022")
    update: dict[str, object] = {} if rule is None else {"censoring": {"death": rule}}
    e = next(e for e in base.endpoints if e.id == "intubation_d28")
    e = Endpoint.model_validate({**e.model_dump(by_alias=True), **update})
    return base.model_copy(update={"endpoints": [e]}), load_scenario("fathikazerooni2022", base), e


def test_binary_event_denominators_follow_the_censoring_rule() -> None:
    """Intubation by day 28 with death competing is the crude proportion the scenario is
    calibrated to (50% vs 80%); with the default rule (censored at death) a death before
    intubation leaves the participant out, as the analysis does."""
    trials = 4000
    p, s, e = _intubation("competing")
    (d,) = simulate_batch(
        p, s, [(e, "fisher_exact")], n=30, trials=trials, rng=np.random.default_rng(10)
    )
    assert d.yes is not None and d.measured is not None
    g = d.group
    assert d.measured.mean() > 0.95  # only drop-outs before day 28 are left out
    for mask, target in ((g, 0.5), (~g, 0.8)):
        rate = (d.yes & mask).sum() / (d.measured & mask).sum()
        assert abs(rate - target) < 4 * math.sqrt(target * (1 - target) / (d.measured & mask).sum())
    p0, s0, e0 = _intubation("censor_at_death")
    (d0,) = simulate_batch(
        p0, s0, [(e0, "fisher_exact")], n=30, trials=trials, rng=np.random.default_rng(10)
    )
    assert d0.yes is not None and d0.measured is not None
    np.testing.assert_array_equal(d0.yes, d.yes)  # same draws, same events
    dropped = d.measured & ~d0.measured
    assert dropped.any() and not (d0.measured & ~d.measured).any()
    assert not (dropped & d.yes).any()  # only participants without the event are left out


def test_power_draws_agree_with_the_virtual_trial_and_its_analysis() -> None:
    """Shi's day-28 lesion change: the participants with a value and the distribution of the
    change per arm are those of the virtual trial analysed by celltrial.analysis."""
    from celltrial.analysis import analyze
    from celltrial.simulate import simulate_trial

    p = load_protocol("shi2021")
    s = load_scenario("shi2021", p)
    n = 600
    ds = simulate_trial(p, s, n=n, rng=np.random.default_rng(11))
    adlb = analyze(ds, p)
    res = next(r for r in adlb.endpoints if r.endpoint == "lesion_change_d28")
    e = next(e for e in p.endpoints if e.id == "lesion_change_d28")
    (d,) = simulate_batch(p, s, [(e, "wilcoxon")], n=n, trials=20, rng=np.random.default_rng(12))
    assert d.values is not None
    measured = (~np.isnan(d.values)).mean()
    assert abs(res.n / n - measured) < 4 * math.sqrt(measured * (1 - measured) / n)
    virtual = dict(zip([a.arm for a in res.arms], [a for a in res.arms], strict=True))
    for arm, mask in (("ucmsc", d.group[0]), ("placebo", ~d.group[0])):
        sim = d.values[:, mask]
        sim = sim[~np.isnan(sim)]
        # medians within 4 SE of the virtual trial's (SE of a median from the sample's IQR)
        arm_res = virtual[arm]
        se = 1.253 * (arm_res.q3 - arm_res.q1) / 1.349 / math.sqrt(arm_res.n)
        assert abs(np.median(sim) - arm_res.median) < 4 * se, (arm, np.median(sim), arm_res)


# --- Dask and the command line ----------------------------------------------------------------


def test_dask_run_equals_the_single_process_run() -> None:
    from celltrial.simulate.distributed import dask_runner

    p = _with_t_test(load_protocol("shi2021"))
    s = load_scenario("shi2021", p)
    single = power(p, s, n=60, trials=600, rng=np.random.default_rng(13), batch=200)
    with dask_runner("local", workers=2) as runner:
        spread = power(
            p, s, n=60, trials=600, rng=np.random.default_rng(13), batch=200, run_batches=runner
        )
    assert [r.to_dict() for r in spread] == [r.to_dict() for r in single]
    assert {r.test for r in single} == {"Wilcoxon rank-sum", "Welch t-test", "Fisher exact"}
    assert single[0].power.power > 0  # something was rejected


def test_design_power_command_shows_continuous_and_skipped_endpoints(tmp_path: Path) -> None:
    import typer

    app = typer.Typer()
    app.add_typer(design_app, name="design")
    out = tmp_path / "power.json"
    args = ["design", "power", "--protocol", "shi2021", "--scenario"]
    args += ["shi2021", "--trials", "500", "--n", "30,60", "--json", str(out)]
    r = CliRunner().invoke(app, args, env={"COLUMNS": "200"})
    assert r.exit_code == 0, r.output
    assert "lesion_change_d28" in r.output and "Wilcoxon rank-sum" in r.output
    # listed as not simulated, with why: a within-arm analysis only
    assert "nab_inhibition_m12" in r.output and "no between-arm test" in r.output
    rows = [row for row in json.loads(out.read_text()) if row["endpoint"] == "lesion_change_d28"]
    assert [row["n"] for row in rows] == [30, 60]
    assert rows[1]["power"] > rows[0]["power"]
