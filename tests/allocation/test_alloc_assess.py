"""Assessment numbers against closed forms, within Monte Carlo error (seeded)."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from scipy import stats

from celltrial.allocation import (
    AllocationError,
    Factor,
    Ratio,
    SchemeAssessment,
    SimScheme,
    assess,
    default_schemes,
    power_at,
)

RUNS = 20_000
N = 24
ONE_ONE = Ratio(("a", "b"), (1, 1))
ARDS = (Factor("ards", ("mild", "severe")),)


def _within(estimate: float, truth: float, se: float, k: float = 4.0) -> None:
    assert abs(estimate - truth) <= k * se + 1e-12, (estimate, truth, se)


def _one(
    spec: SimScheme, ratio: Ratio = ONE_ONE, seed: int = 7, factors: tuple[Factor, ...] = ()
) -> SchemeAssessment:
    rng = np.random.default_rng(seed)
    return assess([spec], n=N, runs=RUNS, ratio=ratio, factors=factors, rng=rng).schemes[0]


def test_simple_1to1_final_imbalance_is_binomial() -> None:
    # N_1 ~ Bin(24, 1/2), D = 2 N_1 - 24.
    res = _one(SimScheme("simple", "simple"))
    pmf = stats.binom.pmf(np.arange(N + 1), N, 0.5)
    absd = np.abs(2 * np.arange(N + 1) - N)
    p0 = pmf[12]  # C(24,12) / 2^24 = 0.16118
    assert p0 == pytest.approx(math.comb(24, 12) / 2**24)
    for value in (0, 2, 4, 6):
        truth = float(pmf[absd == value].sum())
        _within(
            res.imbalance_distribution.get(str(value), 0.0),
            truth,
            math.sqrt(truth * (1 - truth) / RUNS),
        )
    p_ge2, p_ge4 = 1 - p0, float(pmf[absd >= 4].sum())
    _within(res.p_imbalance_ge2, p_ge2, math.sqrt(p_ge2 * (1 - p_ge2) / RUNS))
    _within(res.p_imbalance_ge4, p_ge4, math.sqrt(p_ge4 * (1 - p_ge4) / RUNS))
    mean_abs = float((pmf * absd).sum())  # 3.8683
    sd_abs = math.sqrt(float((pmf * absd**2).sum()) - mean_abs**2)
    _within(res.mean_abs_imbalance, mean_abs, sd_abs / math.sqrt(RUNS))


def test_simple_predictability_is_one_half() -> None:
    res = _one(SimScheme("simple", "simple"))
    _within(res.correct_guess, 0.5, res.correct_guess_se)


def test_expected_power_of_simple_randomization_matches_the_binomial_sum() -> None:
    res = assess(
        [SimScheme("simple", "simple")], n=N, runs=RUNS, ratio=ONE_ONE, rng=np.random.default_rng(3)
    )
    delta = res.effect_size
    # delta gives 80 % power (one tail) with 12 per arm: delta = (z_.975 + z_.8) / sqrt(12*12/24).
    assert delta == pytest.approx(
        (stats.norm.ppf(0.975) + stats.norm.ppf(0.8)) / math.sqrt(6.0), rel=1e-12
    )
    assert res.power_target == pytest.approx(power_at(12, 12, effect_size=delta), rel=1e-12)
    pmf = stats.binom.pmf(np.arange(N + 1), N, 0.5)
    powers = np.array([power_at(m, N - m, effect_size=delta) for m in range(N + 1)])
    truth = float((pmf * powers).sum())
    sd = math.sqrt(float((pmf * (powers - truth) ** 2).sum()))
    a = res.schemes[0]
    _within(a.power, truth, sd / math.sqrt(RUNS))
    assert a.power_loss == pytest.approx(res.power_target - a.power)
    # Efficiency loss 1 - h/h* = D^2 / n^2 for 1:1: E = Var(D) / n^2 = n / n^2 = 1/24.
    _within(a.efficiency_loss, 1 / 24, 0.002)


def test_power_formula() -> None:
    # Phi(delta sqrt(h) - z) + Phi(-delta sqrt(h) - z), h = n1 n2 / (n1 + n2).
    z = stats.norm.ppf(0.975)
    h = 10 * 14 / 24
    truth = stats.norm.cdf(0.9 * math.sqrt(h) - z) + stats.norm.cdf(-0.9 * math.sqrt(h) - z)
    assert power_at(10, 14, effect_size=0.9) == pytest.approx(truth, rel=1e-12)
    assert power_at(0, 24, effect_size=0.9) == 0.0


@pytest.mark.parametrize(
    ("size", "truth"),
    [
        # Blocks of 2: first guess a coin toss, second always right: (1/2 + 1) / 2 = 3/4.
        (2, 0.75),
        # Blocks of 4 (Blackwell–Hodges): positions 1..4 correct w.p. 1/2, 2/3, 2/3, 1 -> 17/24.
        (4, 17 / 24),
    ],
)
def test_permuted_block_predictability(size: int, truth: float) -> None:
    res = _one(SimScheme(f"pb{size}", "permuted_blocks", (size,)))
    _within(res.correct_guess, truth, res.correct_guess_se)
    assert res.p_imbalance_ge2 == 0.0  # 24 is a multiple of the block size


def test_two_to_one_blocks_of_three() -> None:
    # Block AAB in random order, guess argmax (m+1) w_j/W - N_j:
    # position 1 guess A (right 2/3); position 2 right 2/3 (B after A: 1/2; A after B: 1);
    # position 3 always right. Per patient (2/3 + 2/3 + 1) / 3 = 7/9.
    ratio = Ratio(("a", "b"), (2, 1))
    res = _one(SimScheme("pb3", "permuted_blocks", (3,)), ratio=ratio)
    _within(res.correct_guess, 7 / 9, res.correct_guess_se)
    assert res.imbalance_distribution == {"0": 1.0}
    # Simple 2:1: N_1 ~ Bin(24, 2/3), |D| = 2 |N_1 - 16|: P(|D| >= 2) = 1 - pmf(16).
    simple = _one(SimScheme("simple", "simple"), ratio=ratio)
    p = 1 - stats.binom.pmf(16, N, 2 / 3)
    _within(simple.p_imbalance_ge2, p, math.sqrt(p * (1 - p) / RUNS))


def test_stratified_blocks_of_two_never_leave_a_stratum_off_by_more_than_one() -> None:
    res = _one(SimScheme("sb2", "stratified_blocks", (2,)), factors=ARDS)
    assert [s.p_imbalance_ge2 for s in res.strata] == [0.0, 0.0]
    assert all(s.mean_abs_imbalance <= 1.0 for s in res.strata)
    # Overall |D| is the number of strata with an odd count: 0 or 2 (never 4 with 2 strata).
    assert res.p_imbalance_ge4 == 0.0


def test_stratum_probs_and_minimization_balance() -> None:
    specs = default_schemes(ONE_ONE, has_strata=True)
    labels = [s.label for s in specs]
    assert labels[0] == "simple" and labels[-1] == "minimization (range, p=0.8)"
    result = assess(
        specs,
        n=N,
        runs=4000,
        ratio=ONE_ONE,
        factors=ARDS,
        rng=np.random.default_rng(1),
        stratum_probs=[0.25, 0.75],
    )
    by = {a.scheme: a for a in result.schemes}
    assert result.stratum_probs == (0.25, 0.75)
    assert by["minimization (range, p=0.8)"].p_imbalance_ge2 < by["simple"].p_imbalance_ge2
    assert by["minimization (range, p=0.8)"].correct_guess > 0.5
    json.dumps(result.to_dict())  # plain values only


def test_same_seed_same_assessment() -> None:
    specs = default_schemes(ONE_ONE, has_strata=True)
    one = assess(specs, n=12, runs=500, ratio=ONE_ONE, factors=ARDS, rng=np.random.default_rng(5))
    two = assess(specs, n=12, runs=500, ratio=ONE_ONE, factors=ARDS, rng=np.random.default_rng(5))
    assert one == two


def test_bad_input() -> None:
    rng = np.random.default_rng(0)
    simple = [SimScheme("simple", "simple")]
    with pytest.raises(
        AllocationError, match=r"--stratum-probs: give 2 non-negative probabilities summing to 1"
    ):
        assess(simple, n=N, runs=10, ratio=ONE_ONE, factors=ARDS, rng=rng, stratum_probs=[0.5, 0.6])
    with pytest.raises(AllocationError, match="--n: needs at least 2"):
        assess(simple, n=1, runs=10, ratio=ONE_ONE, rng=rng)
    with pytest.raises(AllocationError, match="needs strata factors or two or more sites"):
        assess([SimScheme("m", "minimization")], n=N, runs=10, ratio=ONE_ONE, rng=rng)
    with pytest.raises(AllocationError, match="fits none of the block sizes"):
        default_schemes(Ratio(("a", "b"), (3, 2)), has_strata=False, block_sizes=[4])
