r"""Power for continuous endpoints planned with ANCOVA or an MMRM, vectorized over trials.

The planning model: two arms of fixed sizes, a baseline and ``visits`` post-baseline values per
participant, jointly normal with a common SD ``sd`` and correlation ``corr`` between any two
time points (compound symmetry; ``corr_type="ar1"`` gives ``corr^|j-k|``). The control mean is
0 at every time; the experimental arm's mean difference grows linearly to ``delta`` at the last
visit (``delta * j / visits`` at visit ``j``). Participants drop out (monotone, completely at
random) with a total probability ``dropout`` by the last visit, spread evenly over the visits.

- ANCOVA: the last visit's value on arm and baseline (participants seen at the last visit),
  two-sided t-test of the arm coefficient, ``n_obs - 3`` df — :func:`ancova_batch`.
- MMRM: every post-baseline value on ``visit * arm + baseline`` with an unstructured
  covariance across visits (REML), the arm difference at the last visit with Kenward–Roger df
  and SE, as :func:`celltrial.stats.mmrm` — :func:`mmrm_batch` fits all trials of a batch at
  once by Fisher scoring (no loop over trials).

:func:`ancova_power` is the exact power of the ANCOVA test without dropout (a one-dimensional
integral over the baseline imbalance), the check of the simulation.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable
from typing import Literal

import numpy as np
from numpy.typing import NDArray
from scipy import integrate
from scipy import stats as sps

from celltrial.simulate.power import DEFAULT_BATCH, SimulatedPower, arm_sizes, batches

FloatArray = NDArray[np.float64]
Analysis = Literal["ancova", "mmrm"]
CorrType = Literal["cs", "ar1"]

__all__ = [
    "ContinuousPlan",
    "ancova_batch",
    "ancova_power",
    "mmrm_batch",
    "simulate_continuous_power",
    "simulate_continuous_trials",
]


@dataclasses.dataclass(frozen=True)
class ContinuousPlan:
    """The planning assumptions of a continuous endpoint (see the module docstring)."""

    delta: float
    sd: float = 1.0
    corr: float = 0.5
    visits: int = 1
    dropout: float = 0.0
    corr_type: CorrType = "cs"
    ratio: tuple[int, int] = (1, 1)
    alpha: float = 0.05

    def __post_init__(self) -> None:
        if not (math.isfinite(self.delta)):
            raise ValueError(f"delta: must be finite, got {self.delta!r}")
        if not self.sd > 0:
            raise ValueError(f"sd: must be > 0, got {self.sd!r}")
        if not -1.0 < self.corr < 1.0:
            raise ValueError(f"corr: must be strictly between -1 and 1, got {self.corr!r}")
        if self.visits < 1:
            raise ValueError(f"visits: must be >= 1, got {self.visits!r}")
        if not 0.0 <= self.dropout < 1.0:
            raise ValueError(f"dropout: must be in [0, 1), got {self.dropout!r}")
        if self.corr_type not in ("cs", "ar1"):
            raise ValueError(f"corr_type: must be 'cs' or 'ar1', got {self.corr_type!r}")
        if len(self.ratio) != 2 or min(self.ratio) < 1:
            raise ValueError(f"ratio: two whole numbers >= 1, got {self.ratio!r}")
        if not 0.0 < self.alpha < 1.0:
            raise ValueError(f"alpha: must be in (0, 1), got {self.alpha!r}")

    def covariance(self) -> FloatArray:
        """Covariance of (baseline, visit 1, ..., visit V)."""
        t = np.arange(self.visits + 1)
        lag = np.abs(t[:, None] - t[None, :])
        r = self.corr**lag if self.corr_type == "ar1" else np.where(lag == 0, 1.0, self.corr)
        out: FloatArray = self.sd**2 * r.astype(np.float64)
        return out


@dataclasses.dataclass(frozen=True)
class ContinuousTrials:
    """A batch of simulated trials: ``y`` (trials, n, visits) with NaN after drop-out,
    ``baseline`` (trials, n) and ``group`` (n,) True for the experimental arm."""

    y: FloatArray
    baseline: FloatArray
    group: NDArray[np.bool_]


def simulate_continuous_trials(
    plan: ContinuousPlan, *, n: int, trials: int, rng: np.random.Generator
) -> ContinuousTrials:
    """Draw ``trials`` trials of ``n`` participants under ``plan`` (experimental arm first)."""
    n_exp, _ = arm_sizes(n, plan.ratio)
    group = np.zeros(n, dtype=bool)
    group[:n_exp] = True
    V = plan.visits
    chol = np.linalg.cholesky(plan.covariance())
    z = rng.standard_normal((trials, n, V + 1)) @ chol.T
    effect = plan.delta * np.arange(1, V + 1) / V
    y = z[:, :, 1:] + group[None, :, None] * effect[None, None, :]
    if plan.dropout > 0:
        # monotone drop-out, equal hazard per visit, total probability `dropout` by visit V
        stay = (1.0 - plan.dropout) ** (1.0 / V)
        last = (rng.random((trials, n, V)) < stay).cumprod(axis=2).astype(bool)
        y = np.where(last, y, np.nan)
    return ContinuousTrials(y=y, baseline=z[:, :, 0], group=group)


def ancova_batch(
    y: FloatArray, baseline: FloatArray, group: NDArray[np.bool_]
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """ANCOVA of each trial: ``y ~ arm + baseline`` on the non-missing ``y``.

    ``y`` and ``baseline`` are (trials, n); returns (estimate, t, two-sided p) of the arm
    coefficient (experimental minus control), ``n_obs - 3`` df; NaN where not estimable.
    R equivalent, per trial: ``summary(lm(y ~ arm + baseline))$coefficients["arm", ]``.
    """
    obs = ~np.isnan(y)
    w = obs.astype(np.float64)
    g = np.broadcast_to(group.astype(np.float64), y.shape)
    X = np.stack([w, g * w, np.where(obs, baseline, 0.0)], axis=-1)
    yy = np.where(obs, y, 0.0)
    xtx = np.einsum("tni,tnj->tij", X, X)
    xty = np.einsum("tni,tn->ti", X, yy)
    n_obs = w.sum(axis=1)
    df = n_obs - 3
    ok = (df > 0) & (np.abs(np.linalg.det(xtx)) > 1e-12)
    xtx[~ok] = np.eye(3)
    inv = np.linalg.inv(xtx)
    beta = np.einsum("tij,tj->ti", inv, xty)
    resid = yy - np.einsum("tni,ti->tn", X, beta)
    rss = (resid**2 * w).sum(axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        s2 = rss / df
        se = np.sqrt(s2 * inv[:, 1, 1])
        t = beta[:, 1] / se
        p = 2.0 * sps.t.sf(np.abs(t), df)
    est = np.where(ok, beta[:, 1], np.nan)
    return est, np.where(ok, t, np.nan), np.where(ok, p, np.nan)


def _pairs(V: int) -> tuple[FloatArray, list[tuple[int, int]]]:
    pairs = [(a, b) for a in range(V) for b in range(a, V)]
    G = np.zeros((len(pairs), V, V))
    for k, (a, b) in enumerate(pairs):
        G[k, a, b] = G[k, b, a] = 1.0
    return G, pairs


def _contract(G: FloatArray, t4: FloatArray) -> FloatArray:
    """``sum_abcd G_k[a,b] G_l[c,d] t4[t,d,a,b,c]`` = ``sum_i tr(A_i G_k B_i G_l)``."""
    out: FloatArray = np.einsum("kab,lcd,tdabc->tkl", G, G, t4, optimize=True)
    return out


@dataclasses.dataclass(frozen=True)
class MMRMBatch:
    """Per trial: the last-visit arm difference, its KR SE and df, t and p; ``converged``."""

    estimate: FloatArray
    se: FloatArray
    df: FloatArray
    statistic: FloatArray
    p_value: FloatArray
    converged: NDArray[np.bool_]


def mmrm_batch(
    y: FloatArray,
    baseline: FloatArray,
    group: NDArray[np.bool_],
    *,
    max_iter: int = 50,
    tol: float = 1e-8,
) -> MMRMBatch:
    r"""REML MMRM of every trial at once: ``visit * arm + baseline``, unstructured covariance.

    ``y`` is (trials, n, V) with NaN for missing values (any pattern), ``baseline``
    (trials, n). With ``W_i = Sigma[o_i, o_i]^{-1}`` (embedded with zeros) and ``Sigma``
    parametrized by its ``V(V+1)/2`` entries, Fisher scoring ``phi += I_E^{-1} U`` with the
    REML score ``U_k = -tr(P G_k)/2 + r'W G_k W r/2`` and expected information
    ``I_E,kl = tr(P G_k P G_l)/2`` for three steps, then Newton with the observed information
    (where positive definite) until every step is below ``tol`` of ``Sigma``; every trace is a contraction of per-trial sums of
    per-subject ``V x V`` products, so the cost is ``O(trials n V^4)`` per iteration. The
    last-visit contrast is tested with Kenward–Roger's SE and df (single contrast: ``A_1 =
    A_2``). Agrees with :func:`celltrial.stats.mmrm` (``covariates=baseline``) trial by trial.
    """
    T, n, V = y.shape
    obs = ~np.isnan(y)
    M = obs.astype(np.float64)
    yy = np.where(obs, y, 0.0)
    g = group.astype(np.float64)
    p = 2 * V + 1
    # design per subject and visit: intercept, visit 2..V, arm, baseline, visit 2..V : arm
    X = np.zeros((T, n, V, p))
    X[..., 0] = 1.0
    for j in range(1, V):
        X[:, :, j, j] = 1.0
        X[:, :, j, V + 1 + j] = g[None, :]
    X[..., V] = g[None, :, None]
    X[..., V + 1] = baseline[:, :, None]
    X *= M[..., None]
    L = np.zeros(p)
    L[V] = 1.0
    if V > 1:
        L[2 * V] = 1.0
    G, pairs = _pairs(V)
    eye = np.eye(V)

    def weights(sigma: FloatArray) -> FloatArray:
        A = M[..., :, None] * sigma[:, None] * M[..., None, :]
        A += (1.0 - M)[..., :, None] * eye
        W: FloatArray = np.linalg.inv(A) * (M[..., :, None] * M[..., None, :])
        return W

    def state(
        sigma: FloatArray,
    ) -> tuple[FloatArray, FloatArray, FloatArray, FloatArray, FloatArray, FloatArray]:
        W = weights(sigma)
        WX = np.einsum("tnab,tnbp->tnap", W, X, optimize=True)
        xtwx = np.einsum("tnap,tnaq->tpq", X, WX, optimize=True)
        phi = np.linalg.inv(xtwx)
        beta = np.einsum("tpq,tnaq,tna->tp", phi, WX, yy, optimize=True)
        r = (yy - np.einsum("tnap,tp->tna", X, beta, optimize=True)) * M
        u = np.einsum("tnab,tnb->tna", W, r, optimize=True)
        return W, WX, phi, beta, u, xtwx

    def score_info(
        W: FloatArray, WX: FloatArray, phi: FloatArray, u: FloatArray, observed: bool = False
    ) -> tuple[FloatArray, FloatArray, FloatArray]:
        S = np.einsum("tnap,tnbq->tabpq", WX, WX, optimize=True)
        P = -np.einsum("kab,tabpq->tkpq", G, S, optimize=True)
        tr_wg = np.einsum("kab,tba->tk", G, W.sum(axis=1))
        tr_phi_p = np.einsum("tpq,tkqp->tk", phi, P, optimize=True)
        uu = np.einsum("tna,tnb->tab", u, u, optimize=True)
        score = -0.5 * (tr_wg + tr_phi_p) + 0.5 * np.einsum("kab,tab->tk", G, uu, optimize=True)
        H = np.einsum("tnap,tpq,tnbq->tnab", WX, phi, WX, optimize=True)
        t_ww = np.einsum("tnda,tnbc->tdabc", W, W, optimize=True)
        t_hw = np.einsum("tnda,tnbc->tdabc", H, W, optimize=True)
        tr_pp = np.einsum("tab,tkbc,tcd,tlda->tkl", phi, P, phi, P, optimize=True)
        info = 0.5 * (_contract(G, t_ww) - 2.0 * _contract(G, t_hw) + tr_pp)
        if observed:
            # -d2 l_R = -tr(P G_k P G_l)/2 + r'W G_k P G_l W r
            uwu = np.einsum("tna,tnbc,tnd->tabcd", u, W, u, optimize=True)
            t1 = np.einsum("kab,lcd,tabcd->tkl", G, G, uwu, optimize=True)
            h = np.einsum("kab,tnap,tnb->tkp", G, WX, u, optimize=True)
            info = -info + t1 - np.einsum("tkp,tpq,tlq->tkl", h, phi, h, optimize=True)
        return score, 0.5 * (info + np.swapaxes(info, 1, 2)), P

    # start: per-visit variance of the residuals from the arm-by-visit means
    mean = np.zeros((T, 2, V))
    for a, sel in enumerate((group, ~group)):
        cnt = M[:, sel].sum(axis=1)
        mean[:, a] = yy[:, sel].sum(axis=1) / np.maximum(cnt, 1.0)
    fitted = np.where(group[None, :, None], mean[:, 0][:, None], mean[:, 1][:, None])
    var0 = (((yy - fitted) * M) ** 2).sum(axis=1) / np.maximum(M.sum(axis=1) - 2.0, 1.0)
    sigma = np.einsum("tv,vw->tvw", np.maximum(var0, 1e-8), eye)
    iu = np.array([a for a, _ in pairs]), np.array([b for _, b in pairs])
    converged = np.zeros(T, dtype=bool)
    for it in range(max_iter):
        W, WX, phi, beta, u, _ = state(sigma)
        # Fisher scoring first, then Newton (observed information) where it is positive definite
        score, info, _ = score_info(W, WX, phi, u, observed=it >= 3)
        if it >= 3:
            _, expected, _ = score_info(W, WX, phi, u)
            pd = np.linalg.eigvalsh(info)[:, 0] > 0
            info = np.where(pd[:, None, None], info, expected)
        step = np.linalg.solve(info, score[..., None])[..., 0]
        step[converged] = 0.0
        scale = np.abs(sigma[:, iu[0], iu[1]]).max(axis=1)
        done = np.abs(step).max(axis=1) < tol * scale
        # keep Sigma positive definite: halve steps that leave it
        for _h in range(30):
            new = sigma.copy()
            new[:, iu[0], iu[1]] += step
            new[:, iu[1], iu[0]] = new[:, iu[0], iu[1]]
            bad = np.linalg.eigvalsh(new)[:, 0] <= 1e-10 * scale
            if not bad.any():
                break
            step[bad] /= 2.0
        sigma = new
        converged |= done
        if converged.all():
            break
    W, WX, phi, beta, u, _ = state(sigma)
    _, info, P = score_info(W, WX, phi, u)
    w = np.linalg.inv(info)
    m = phi @ L  # (T, p)
    v = m @ L
    est = beta @ L
    # Kenward–Roger: L'Phi_A L = v + 2 m' {sum w_kl (Q_kl - P_k Phi P_l)} m
    z = np.einsum("tnap,tp->tna", WX, m, optimize=True)
    # m' Q_kl m = sum_i z_i' G_k W_i G_l z_i = sum G_k[a,b] G_l[c,d] z[a] W[b,c] z[d]
    zwz = np.einsum("tna,tnbc,tnd->tabcd", z, W, z, optimize=True)
    mqm = np.einsum("kab,lcd,tabcd->tkl", G, G, zwz, optimize=True)
    pm = np.einsum("tkpq,tq->tkp", P, m, optimize=True)
    mpphipm = np.einsum("tkp,tpq,tlq->tkl", pm, phi, pm, optimize=True)
    var_a = v + 2.0 * np.einsum("tkl,tkl->t", w, mqm - mpphipm, optimize=True)
    mpm = np.einsum("tkp,tp->tk", pm, m, optimize=True) / v[:, None]
    a_ = np.einsum("tk,tkl,tl->t", mpm, w, mpm, optimize=True)  # A1 = A2 for a single contrast
    df = _kr_df_single(a_, a_)
    se = np.sqrt(np.maximum(var_a, 0.0))
    with np.errstate(divide="ignore", invalid="ignore"):
        t = est / se
        pv = 2.0 * sps.t.sf(np.abs(t), df)
    return MMRMBatch(estimate=est, se=se, df=df, statistic=t, p_value=pv, converged=converged)


def _kr_df_single(a1: FloatArray, a2: FloatArray) -> FloatArray:
    """Kenward–Roger denominator df for q = 1 (pbkrtest's ``Lb_ddf``), vectorized."""
    q = 1.0
    b = (a1 + 6.0 * a2) / (2.0 * q)
    with np.errstate(divide="ignore", invalid="ignore"):
        g = ((q + 1.0) * a1 - (q + 4.0) * a2) / ((q + 2.0) * a2)
        den = 3.0 * q + 2.0 * (1.0 - g)
        c1, c2, c3 = g / den, (q - g) / den, (q + 2.0 - g) / den
        v0 = 1.0 + c1 * b
        v0 = np.where(np.abs(v0) < 1e-10, 0.0, v0)
        v1 = 1.0 - c2 * b
        v2 = 1.0 - c3 * b
        rho = ((1.0 - a2 / q) / v1) ** 2 * v0 / v2 / q
        out: FloatArray = 4.0 + (q + 2.0) / (q * rho - 1.0)
    return out


def ancova_power(plan: ContinuousPlan, n: int) -> float:
    r"""Exact power of the two-sided ANCOVA t-test without drop-out (last visit on baseline).

    Given the baselines, the t statistic is noncentral t on ``n - 3`` df with noncentrality
    ``delta / (sigma_e sqrt(c (1 + F / (n - 2))))``, ``sigma_e^2 = sd^2 (1 - r^2)`` (``r`` the
    baseline–last-visit correlation), ``c = 1/n_1 + 1/n_2`` and ``F ~ F(1, n - 2)`` the
    standardized baseline imbalance; the power is the expectation over ``F`` (one integral).
    Without the ``F`` term this is the usual approximation (Frison & Pocock 1992; Borm et al.
    2007), which slightly overstates power in small trials.

    R equivalent: the same integral with ``pt(crit, n - 3, ncp)`` and ``integrate``
    (``tests/reference/continuous_power/continuous_power.R``).

    Examples
    --------
    >>> round(ancova_power(ContinuousPlan(delta=0.6, corr=0.5), 60), 4)
    0.7437

    References
    ----------
    Borm GF, Fransen J, Lemmens WA (2007). A simple sample size formula for analysis of
    covariance in randomized clinical trials. J Clin Epidemiol 60:1234-1238.
    """
    n1, n2 = arm_sizes(n, plan.ratio)
    if min(n1, n2) < 1 or n < 5:
        raise ValueError(f"n: needs at least 5 participants and one per arm, got {n}")
    cov = plan.covariance()
    r = cov[0, -1] / plan.sd**2
    sigma_e = plan.sd * math.sqrt(1.0 - r * r)
    c = 1.0 / n1 + 1.0 / n2
    df = n - 3
    crit = float(sps.t.ppf(1.0 - plan.alpha / 2.0, df))

    def conditional(f: float) -> float:
        ncp = plan.delta / (sigma_e * math.sqrt(c * (1.0 + f / (n - 2))))
        return float(sps.nct.sf(crit, df, ncp) + sps.nct.cdf(-crit, df, ncp))

    # E over F(1, n-2): integrate on the quantile scale (smooth, finite interval)
    val, _ = integrate.quad(
        lambda u: conditional(float(sps.f.ppf(u, 1, n - 2))), 0.0, 1.0, limit=200
    )
    return float(val)


def simulate_continuous_power(
    plan: ContinuousPlan,
    analysis: Analysis,
    *,
    n: int,
    trials: int,
    rng: np.random.Generator,
    batch: int = DEFAULT_BATCH,
    progress: Callable[[int], None] | None = None,
) -> SimulatedPower:
    """Rejection rate of ``analysis`` over simulated trials, with its Monte Carlo SE.

    Batch ``i`` draws from the ``i``-th child of ``rng`` (as :func:`celltrial.simulate.power`),
    so the result does not depend on the batch order. Trials whose MMRM did not converge count
    as not rejected (their number is in ``method``).
    """
    if analysis not in ("ancova", "mmrm"):
        raise ValueError(f"analysis: 'ancova' or 'mmrm', got {analysis!r}")
    if analysis == "mmrm" and plan.visits < 2:
        raise ValueError("visits: an MMRM needs at least 2 post-baseline visits")
    sizes = batches(trials, batch)
    children = rng.spawn(len(sizes))
    rejected = 0
    failed = 0
    inner = 1000 if analysis == "mmrm" else batch
    for size, child in zip(sizes, children, strict=True):
        data = simulate_continuous_trials(plan, n=n, trials=size, rng=child)
        for lo in range(0, size, inner):
            sl = slice(lo, min(lo + inner, size))
            if analysis == "ancova":
                _, _, pv = ancova_batch(data.y[sl, :, -1], data.baseline[sl], data.group)
            else:
                res = mmrm_batch(data.y[sl], data.baseline[sl], data.group)
                pv = np.where(res.converged, res.p_value, np.nan)
                failed += int((~res.converged).sum())
            rejected += int((pv < plan.alpha).sum())
        if progress is not None:
            progress(size)
    p = rejected / trials
    label = (
        "ANCOVA (last visit on arm + baseline)"
        if analysis == "ancova"
        else "MMRM (unstructured, REML, Kenward-Roger; last-visit contrast)"
    )
    if failed:
        label += f"; {failed} fits not converged"
    return SimulatedPower(
        power=p,
        se=math.sqrt(p * (1 - p) / trials),
        trials=trials,
        alpha=plan.alpha,
        method=label,
    )
