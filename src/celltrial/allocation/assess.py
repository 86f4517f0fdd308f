"""How good is a scheme: balance, predictability and power, by vectorized simulation.

For ``runs`` simulated trials of ``n`` participants, whose strata are drawn at random (uniform
over the strata cells or with ``stratum_probs``; sites uniform), each scheme allocates every
participant and we record, in the spirit of randomizeR's ``assess`` (Uschner et al. 2018):

**Final imbalance.** With ``N_j`` participants in arm ``j`` and target share ``w_j / W``,
``|D| = 2 max_j |N_j - n w_j / W|``, which is ``|N_1 - N_2|`` for a 1:1 ratio (and counts how
far the trial ends from its target ratio, in the same units, for 2:1 or 3:2). Reported: the
distribution of ``|D|``, ``E|D|``, ``P(|D| >= 2)`` and ``P(|D| >= 4)``, and per protocol
stratum ``s`` the same for ``D_s`` computed on that stratum's participants.
Closed form for simple 1:1 randomization: ``N_1 ~ Bin(n, 1/2)``, ``P(|D| = |2m - n|)``
from the binomial.

**Predictability** (Blackwell & Hodges 1957, convergence strategy). Before each assignment an
observer who knows all earlier assignments (and, for stratified schemes, the participant's
stratum) guesses the arm with the largest shortfall against its target share of the next
position, ``argmax_j (m + 1) w_j / W - N_j(m)`` on the counts the scheme balances (overall
counts for simple and permuted blocks, the stratum's counts for stratified blocks); for
minimization the guess is the arm with the smallest imbalance score ``G`` (the arm the
biased coin favours). Ties are guessed at random, scoring ``1 / #tied`` when the arm is among
them. Reported: the expected proportion of correct guesses (0.5 is unpredictable for 1:1;
permuted blocks of 2 give 0.75, of 4 give 17/24 = 0.7083).

**Loss of power.** For the comparison of the first two arms by a two-sided z-test at level
``alpha`` with standardized effect ``delta``, the power given the achieved sizes is

    power(N_1, N_2) = Phi(delta sqrt(h) - z) + Phi(-delta sqrt(h) - z),
    h = N_1 N_2 / (N_1 + N_2),  z = Phi^{-1}(1 - alpha / 2),

(0 when an arm is empty). ``delta`` defaults to the value giving 80 % power (one tail) at the
target sizes ``n_j* = n w_j / W``. Reported: ``E[power]``, the loss ``power(n_1*, n_2*) -
E[power]`` and the efficiency loss ``E[1 - h / h*]`` (the relative variance penalty of the
achieved allocation; ``1 - h/h* = D^2 / n^2`` for 1:1).

References
----------
Blackwell D, Hodges JL. Design for the control of selection bias. *Ann Math Stat*
1957;28(2):449–460.
Uschner D, Schindler D, Hilgers R-D, Heussen N. randomizeR: an R package for the assessment
and implementation of randomization in clinical trials. *J Stat Softw* 2018;85(8).
R equivalent: ``randomizeR::assess(genSeq(pbrPar(c(4, 4, ...)), r = 1e5), imb(), cs(), ...)``.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Sequence

import numpy as np
from scipy import stats

from celltrial._result import Result
from celltrial.allocation._core import (
    AllocationError,
    Factor,
    Imbalance,
    Ratio,
    check_block_sizes,
    strata_cells,
)
from celltrial.allocation.minimization import batch_probabilities, batch_scores, choose

TOL = 1e-9


@dataclasses.dataclass(frozen=True)
class SimScheme:
    """A scheme to simulate.

    ``method`` is ``simple``, ``permuted_blocks`` (overall), ``stratified_blocks`` (per site ×
    stratum cell) or ``minimization`` (over the protocol factors, plus site with two or more
    sites).
    """

    label: str
    method: str
    block_sizes: tuple[int, ...] = ()
    imbalance: Imbalance = "range"
    p_best: float = 0.8
    factor_weights: tuple[float, ...] | None = None


@dataclasses.dataclass(frozen=True)
class StratumBalance(Result):
    """Final imbalance within one protocol stratum."""

    stratum: str
    mean_abs_imbalance: float
    p_imbalance_ge2: float
    p_imbalance_ge4: float


@dataclasses.dataclass(frozen=True)
class SchemeAssessment(Result):
    """The assessment of one scheme (see the module docstring for every formula)."""

    scheme: str
    method: str
    imbalance_distribution: dict[str, float]
    mean_abs_imbalance: float
    p_imbalance_ge2: float
    p_imbalance_ge4: float
    strata: tuple[StratumBalance, ...]
    correct_guess: float
    correct_guess_se: float
    power: float
    power_loss: float
    efficiency_loss: float


@dataclasses.dataclass(frozen=True)
class Assessment(Result):
    """All schemes assessed for one setting."""

    n: int
    runs: int
    ratio: dict[str, int]
    strata: tuple[str, ...]
    stratum_probs: tuple[float, ...]
    sites: int
    effect_size: float
    alpha: float
    power_target: float
    schemes: tuple[SchemeAssessment, ...]


def default_schemes(
    ratio: Ratio,
    *,
    has_strata: bool,
    block_sizes: Sequence[int] | None = None,
    imbalance: Imbalance = "range",
    p_best: float = 0.8,
    factor_weights: tuple[float, ...] | None = None,
) -> tuple[SimScheme, ...]:
    """Simple; permuted blocks of ``W``, ``2W``, ``3W`` and mixed ``{2W, 3W}`` (or each of
    ``block_sizes`` and their mix); the same stratified when there are strata; minimization."""
    w = ratio.total
    if block_sizes is None:
        sizes: list[tuple[int, ...]] = [(w,), (2 * w,), (3 * w,), (2 * w, 3 * w)]
    else:
        given = check_block_sizes(block_sizes, ratio)
        sizes = [(s,) for s in dict.fromkeys(given)]
        if len(set(given)) > 1:
            sizes.append(tuple(dict.fromkeys(given)))
    out = [SimScheme("simple", "simple")]
    out += [SimScheme(f"permuted blocks {_sizes(s)}", "permuted_blocks", s) for s in sizes]
    if has_strata:
        out += [SimScheme(f"stratified blocks {_sizes(s)}", "stratified_blocks", s) for s in sizes]
        out.append(
            SimScheme(
                f"minimization ({imbalance}, p={p_best:g})",
                "minimization",
                imbalance=imbalance,
                p_best=p_best,
                factor_weights=factor_weights,
            )
        )
    return tuple(out)


def _sizes(s: tuple[int, ...]) -> str:
    return str(s[0]) if len(s) == 1 else "{" + ",".join(str(x) for x in s) + "}"


def _imbalance(counts: np.ndarray, total: np.ndarray, share: np.ndarray) -> np.ndarray:
    """|D| = 2 max_j |N_j - m w_j / W| over the last axis."""
    return np.asarray(2.0 * np.abs(counts - total[..., None] * share).max(axis=-1))


def _power(n1: np.ndarray, n2: np.ndarray, delta: float, z: float) -> np.ndarray:
    n1 = np.asarray(n1, float)
    n2 = np.asarray(n2, float)
    both = (n1 > 0) & (n2 > 0)
    h = np.where(both, n1 * n2 / np.where(both, n1 + n2, 1.0), 0.0)
    s = delta * np.sqrt(h)
    return np.asarray(np.where(both, stats.norm.cdf(s - z) + stats.norm.cdf(-s - z), 0.0))


def power_at(n1: float, n2: float, *, effect_size: float, alpha: float = 0.05) -> float:
    """Power of the two-sided z-test with ``n1`` and ``n2`` per arm (see module docstring)."""
    z = float(stats.norm.ppf(1 - alpha / 2))
    return float(_power(np.asarray(n1), np.asarray(n2), effect_size, z))


def _simulate(
    spec: SimScheme,
    *,
    ratio: Ratio,
    cell: np.ndarray,
    levels: np.ndarray,
    n_levels: tuple[int, ...],
    rng: np.random.Generator,
    tick: Callable[[], None],
) -> tuple[np.ndarray, np.ndarray]:
    """Assignments (R, n) and correct-guess credit (R, n) for one scheme."""
    runs, n = cell.shape
    k = ratio.k
    w = np.asarray(ratio.weights, float)
    share = w / ratio.total
    rows = np.arange(runs)
    arms = np.empty((runs, n), dtype=np.int8)
    credit = np.empty((runs, n))
    if spec.method == "minimization":
        nf = levels.shape[2]
        fw = np.ones(nf) if spec.factor_weights is None else np.asarray(spec.factor_weights, float)
        if fw.shape != (nf,):
            raise AllocationError(
                f"weights: {len(fw)} factor weights for {nf} minimization factors"
            )
        counts = np.zeros((runs, nf, max(n_levels), k))
        fidx = np.arange(nf)[None, :]
        for i in range(n):
            lev = levels[:, i, :]
            at = counts[rows[:, None], fidx, lev]  # (R, F, K)
            g = batch_scores(at, weights=w, factor_weights=fw, measure=spec.imbalance)
            p = batch_probabilities(g, p_best=spec.p_best, target=share)
            a = choose(p, np.asarray(rng.random(runs)))
            best = g <= g.min(axis=1, keepdims=True) + TOL
            credit[:, i] = best[rows, a] / best.sum(axis=1)
            arms[:, i] = a
            counts[rows[:, None], fidx, lev, a[:, None]] += 1
            tick()
        return arms, credit
    stratified = spec.method == "stratified_blocks"
    bc = cell if stratified else np.zeros_like(cell)
    ncell = int(cell.max()) + 1 if stratified else 1
    counts = np.zeros((runs, ncell, k))
    blocks = spec.method in ("permuted_blocks", "stratified_blocks")
    if blocks:
        sizes = np.asarray(check_block_sizes(spec.block_sizes, ratio))
        per_block = sizes[:, None] * w[None, :] // ratio.total  # (S, K)
        remaining = np.zeros((runs, ncell, k))
    for i in range(n):
        c = bc[:, i]
        if blocks:
            rem = remaining[rows, c]
            empty = rem.sum(axis=1) == 0
            ne = int(empty.sum())
            if ne:
                pick = (
                    rng.integers(0, len(sizes), ne) if len(sizes) > 1 else np.zeros(ne, dtype=int)
                )
                rem[empty] = per_block[pick]
            p = rem / rem.sum(axis=1, keepdims=True)
        else:
            p = np.broadcast_to(share, (runs, k))
        a = choose(p, np.asarray(rng.random(runs)))
        cnt = counts[rows, c]
        short = (cnt.sum(axis=1, keepdims=True) + 1) * share - cnt
        best = short >= short.max(axis=1, keepdims=True) - TOL
        credit[:, i] = best[rows, a] / best.sum(axis=1)
        arms[:, i] = a
        counts[rows, c, a] += 1
        if blocks:
            rem[rows, a] -= 1
            remaining[rows, c] = rem
        tick()
    return arms, credit


def _summarize(
    spec: SimScheme,
    arms: np.ndarray,
    credit: np.ndarray,
    *,
    ratio: Ratio,
    stratum: np.ndarray,
    labels: Sequence[str],
    delta: float,
    z: float,
    power_target: float,
) -> SchemeAssessment:
    runs, n = arms.shape
    k = ratio.k
    share = ratio.probabilities()
    onehot = arms[..., None] == np.arange(k)  # (R, n, K)
    counts = onehot.sum(axis=1).astype(float)
    d = np.round(_imbalance(counts, np.full(runs, float(n)), share), 9)
    values, freq = np.unique(d, return_counts=True)
    dist = {f"{v:g}": float(f) / runs for v, f in zip(values, freq, strict=True)}
    per: list[StratumBalance] = []
    if len(labels) > 1:
        for s, label in enumerate(labels):
            in_s = (stratum == s)[..., None] & onehot
            cs = in_s.sum(axis=1).astype(float)
            ds = _imbalance(cs, cs.sum(axis=1), share)
            per.append(
                StratumBalance(
                    label,
                    float(ds.mean()),
                    float((ds >= 2 - TOL).mean()),
                    float((ds >= 4 - TOL).mean()),
                )
            )
    pw = _power(counts[:, 0], counts[:, 1], delta, z)
    h = counts[:, 0] * counts[:, 1] / np.maximum(counts[:, 0] + counts[:, 1], 1)
    t1, t2 = n * share[0], n * share[1]
    h_star = t1 * t2 / (t1 + t2)
    per_run = credit.mean(axis=1)
    return SchemeAssessment(
        scheme=spec.label,
        method=spec.method,
        imbalance_distribution=dist,
        mean_abs_imbalance=float(d.mean()),
        p_imbalance_ge2=float((d >= 2 - TOL).mean()),
        p_imbalance_ge4=float((d >= 4 - TOL).mean()),
        strata=tuple(per),
        correct_guess=float(per_run.mean()),
        correct_guess_se=float(per_run.std(ddof=1) / math.sqrt(runs)) if runs > 1 else math.nan,
        power=float(pw.mean()),
        power_loss=float(power_target - pw.mean()),
        efficiency_loss=float((1.0 - h / h_star).mean()),
    )


def assess(
    schemes: Sequence[SimScheme],
    *,
    n: int,
    runs: int,
    ratio: Ratio,
    factors: Sequence[Factor] = (),
    rng: np.random.Generator,
    stratum_probs: Sequence[float] | None = None,
    sites: int = 1,
    effect_size: float | None = None,
    alpha: float = 0.05,
    progress: Callable[[int], None] | None = None,
) -> Assessment:
    """Simulate each scheme ``runs`` times for ``n`` participants (see the module docstring).

    All schemes see the same simulated participants (common random numbers), so differences
    between rows are not Monte Carlo noise in the strata. Loops run over participants only;
    every step is vectorized across runs.

    Parameters
    ----------
    schemes : what to simulate (:func:`default_schemes`).
    n : participants per trial.
    runs : simulated trials.
    ratio : the allocation ratio.
    factors : protocol strata factors; strata cells are their cartesian product.
    rng : the random generator.
    stratum_probs : probability of each stratum cell (default uniform).
    sites : number of sites (uniform); stratified blocks use site × stratum cells.
    effect_size : standardized difference ``delta``; default gives 80 % power at target sizes.
    alpha : two-sided level of the test.
    progress : called with 1 after each participant step of each scheme (``n * len(schemes)``).

    Raises
    ------
    AllocationError
        For ``n < 2``, ``runs < 1``, bad stratum probabilities or a scheme that needs strata
        when there are none.
    """
    if n < 2:
        raise AllocationError(f"--n: needs at least 2 participants, got {n}")
    if runs < 1:
        raise AllocationError(f"--runs: needs at least 1 run, got {runs}")
    if sites < 1:
        raise AllocationError(f"--sites: needs at least 1 site, got {sites}")
    if not 0 < alpha < 1:
        raise AllocationError(f"--alpha: must lie in (0, 1), got {alpha}")
    labels = strata_cells(factors)
    if stratum_probs is None:
        probs = np.full(len(labels), 1.0 / len(labels))
    else:
        probs = np.asarray(stratum_probs, dtype=float)
        if (
            probs.shape != (len(labels),)
            or np.any(probs < 0)
            or not math.isclose(probs.sum(), 1.0, abs_tol=1e-6)
        ):
            raise AllocationError(
                f"--stratum-probs: give {len(labels)} non-negative probabilities summing to 1, "
                f"one per stratum ({', '.join(labels)})"
            )
        probs = probs / probs.sum()
    for spec in schemes:
        if spec.method in ("stratified_blocks", "minimization") and len(labels) == 1 and sites == 1:
            raise AllocationError(f"{spec.label}: needs strata factors or two or more sites")
    z = float(stats.norm.ppf(1 - alpha / 2))
    t1, t2 = n * ratio.probabilities()[:2]
    h_star = t1 * t2 / (t1 + t2)
    delta = (
        effect_size
        if effect_size is not None
        else (z + float(stats.norm.ppf(0.8))) / math.sqrt(h_star)
    )
    if delta <= 0:
        raise AllocationError(f"--effect-size: must be positive, got {delta}")
    power_target = float(_power(np.asarray(t1), np.asarray(t2), delta, z))

    stratum = rng.choice(len(labels), size=(runs, n), p=probs)
    site = (
        rng.integers(0, sites, size=(runs, n)) if sites > 1 else np.zeros((runs, n), dtype=np.int64)
    )
    cell = site * len(labels) + stratum
    n_levels = tuple(len(f.levels) for f in factors)
    lv = (
        np.stack(np.unravel_index(stratum, n_levels), axis=-1)
        if factors
        else np.zeros((runs, n, 0), dtype=np.int64)
    )
    if sites > 1:
        lv = np.concatenate([lv, site[..., None]], axis=-1)
        n_levels = (*n_levels, sites)

    def tick() -> None:
        if progress is not None:
            progress(1)

    out = []
    for spec in schemes:
        arms, credit = _simulate(
            spec, ratio=ratio, cell=cell, levels=lv, n_levels=n_levels, rng=rng, tick=tick
        )
        out.append(
            _summarize(
                spec,
                arms,
                credit,
                ratio=ratio,
                stratum=stratum,
                labels=labels,
                delta=delta,
                z=z,
                power_target=power_target,
            )
        )
    return Assessment(
        n=n,
        runs=runs,
        ratio=ratio.as_dict(),
        strata=labels,
        stratum_probs=tuple(float(p) for p in probs),
        sites=sites,
        effect_size=float(delta),
        alpha=alpha,
        power_target=power_target,
        schemes=tuple(out),
    )
