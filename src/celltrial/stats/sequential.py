"""Group-sequential designs: efficacy boundaries and stopping probabilities (as rpact).

One-sided designs with ``K`` analyses at information rates ``0 < t_1 < ... < t_K = 1``; the
trial stops for efficacy at analysis ``k`` when ``Z_k >= c_k``. Under the canonical joint
distribution ``Z_k = S_k / sqrt(t_k)``, with ``S`` a Brownian motion with drift ``theta``
(``E[Z_K] = theta``). Boundaries:

* ``"OF"``  O'Brien-Fleming (Wang-Tsiatis, Delta = 0): ``c_k = C / sqrt(t_k)``;
* ``"P"``   Pocock: ``c_k = C``;
* ``"asOF"`` Lan-DeMets spending, O'Brien-Fleming type:
  ``alpha(t) = 2 (1 - Phi(z_{1 - alpha/2} / sqrt(t)))``;
* ``"asP"`` Lan-DeMets spending, Pocock type: ``alpha(t) = alpha log(1 + (e - 1) t)``.

``C`` (or each ``c_k`` for spending functions, stage by stage) is found so that the probability
of crossing under ``theta = 0`` is ``alpha`` (or the alpha spent). Crossing probabilities come
from the recursive numerical integration of Armitage, McPherson and Rowe (1969) as described by
Jennison and Turnbull (2000, ch. 19): the density of ``S_k`` on the continuation region is
propagated on a grid with Simpson's rule. The design characteristics are rpact's: the drift
``theta`` giving power ``1 - beta`` (``shift = theta^2``), the inflation factor
``theta^2 / (z_{1-alpha} + z_{1-beta})^2``, the stagewise rejection (stopping) probabilities and
the expected sample size (relative to the fixed design) under H0, under ``theta / 2`` and H1.

R: ``rpact::getDesignGroupSequential(kMax, alpha, beta, sided = 1, typeOfDesign,
informationRates)`` and ``rpact::getDesignCharacteristics()``.
References: Jennison C, Turnbull BW (2000). Group Sequential Methods with Applications to
Clinical Trials. Chapman & Hall. Lan KKG, DeMets DL (1983). Biometrika 70:659-663.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Literal

import numpy as np
import scipy.optimize
from numpy.typing import ArrayLike, NDArray
from scipy import stats

from celltrial.stats._checks import as_float_array, show
from celltrial.stats._result import Result

FloatArray = NDArray[np.float64]
DesignType = Literal["OF", "P", "asOF", "asP"]

__all__ = ["GroupSequentialDesign", "crossing_probabilities", "group_sequential_design"]

_GRID = 801  # Simpson points per stage (odd)
_WIDTH = 10.0  # lower truncation of the continuation region, in SDs


def _simpson_weights(m: int, h: float) -> FloatArray:
    w = np.ones(m)
    w[1:-1:2] = 4.0
    w[2:-1:2] = 2.0
    return w * h / 3.0


def crossing_probabilities(
    critical: ArrayLike, information_rates: ArrayLike, *, theta: float = 0.0
) -> FloatArray:
    """Probability of first crossing ``c_k`` at each analysis when ``E[Z_K] = theta``.

    ``critical`` may contain ``inf`` (no stopping at that analysis).
    """
    c = np.asarray(critical, dtype=np.float64)
    t = np.asarray(information_rates, dtype=np.float64)
    k = c.size
    out = np.zeros(k)
    # stage 1
    sd = math.sqrt(t[0])
    upper = c[0] * sd
    out[0] = stats.norm.sf((upper - theta * t[0]) / sd) if np.isfinite(upper) else 0.0
    if k == 1:
        return out
    lo = theta * t[0] - _WIDTH * sd
    hi = upper if np.isfinite(upper) else theta * t[0] + _WIDTH * sd
    grid = np.linspace(lo, hi, _GRID)
    dens = stats.norm.pdf(grid, theta * t[0], sd)
    for j in range(1, k):
        dt = t[j] - t[j - 1]
        sdd = math.sqrt(dt)
        wts = _simpson_weights(_GRID, grid[1] - grid[0]) * dens
        upper = c[j] * math.sqrt(t[j])
        if np.isfinite(upper):
            out[j] = float(wts @ stats.norm.sf((upper - grid - theta * dt) / sdd))
        if j == k - 1:
            break
        sdj = math.sqrt(t[j])
        lo = theta * t[j] - _WIDTH * sdj
        hi = upper if np.isfinite(upper) else theta * t[j] + _WIDTH * sdj
        new = np.linspace(lo, hi, _GRID)
        kern = stats.norm.pdf((new[:, None] - grid[None, :] - theta * dt) / sdd) / sdd
        dens = kern @ wts
        grid = new
    return out


def _spending(kind: str, alpha: float, t: FloatArray) -> FloatArray:
    if kind == "asOF":
        return np.asarray(2.0 * stats.norm.sf(stats.norm.isf(alpha / 2.0) / np.sqrt(t)))
    return np.asarray(alpha * np.log(1.0 + (math.e - 1.0) * t))


@dataclasses.dataclass(frozen=True)
class GroupSequentialDesign(Result):
    """Boundaries and characteristics of a one-sided group-sequential design (rpact's names)."""

    critical_values: FloatArray
    information_rates: FloatArray
    alpha_spent: FloatArray
    stage_levels: FloatArray
    shift: float
    inflation_factor: float
    rejection_probabilities: FloatArray
    power: FloatArray
    expected_n_h0: float
    expected_n_h01: float
    expected_n_h1: float
    alpha: float
    beta: float
    method: str
    n: int


def group_sequential_design(
    k_max: int,
    *,
    alpha: float = 0.025,
    beta: float = 0.2,
    design: DesignType = "OF",
    information_rates: ArrayLike | None = None,
) -> GroupSequentialDesign:
    """Efficacy boundaries and stopping probabilities of a one-sided group-sequential design.

    Parameters
    ----------
    k_max
        Number of analyses (``>= 1``).
    alpha, beta
        One-sided significance level and type II error (power ``1 - beta``).
    design
        ``"OF"``, ``"P"``, ``"asOF"`` or ``"asP"`` (see the module docstring).
    information_rates
        ``t_1 < ... < t_K = 1``; equally spaced by default.

    Returns
    -------
    GroupSequentialDesign
        ``critical_values`` (Z scale), cumulative ``alpha_spent``, nominal ``stage_levels``
        ``1 - Phi(c_k)``, ``shift`` (``theta^2`` for power ``1 - beta``), ``inflation_factor``,
        stagewise ``rejection_probabilities`` under H1 and cumulative ``power``, and the expected
        sample sizes relative to the fixed design under H0, ``theta/2`` and H1.

    Examples
    --------
    >>> d = group_sequential_design(3, design="OF")
    >>> [round(float(c), 4) for c in d.critical_values]
    [3.4711, 2.4544, 2.004]
    """
    if int(k_max) != k_max or k_max < 1:
        raise ValueError(f"k_max: must be a positive integer, got {show(k_max)}")
    if not 0.0 < alpha < 0.5:
        raise ValueError(f"alpha: must be in (0, 0.5), got {show(alpha)}")
    if not 0.0 < beta < 1.0 - alpha:
        raise ValueError(f"beta: must be in (0, 1 - alpha), got {show(beta)}")
    if information_rates is None:
        t = np.arange(1, k_max + 1) / k_max
    else:
        t = as_float_array("information_rates", information_rates)
        if t.size != k_max or np.any(np.diff(t) <= 0) or t[0] <= 0 or abs(t[-1] - 1.0) > 1e-12:
            raise ValueError(
                "information_rates: need k_max increasing values in (0, 1] ending at 1"
            )
    if design in ("OF", "P"):
        shape = 1.0 / np.sqrt(t) if design == "OF" else np.ones(k_max)

        def excess(cc: float) -> float:
            return float(crossing_probabilities(cc * shape, t).sum()) - alpha

        const = scipy.optimize.brentq(excess, 0.5, 20.0, xtol=1e-14, rtol=1e-14)
        crit = const * shape
    elif design in ("asOF", "asP"):
        spent = _spending(design, alpha, t)
        crit = np.full(k_max, np.inf)
        for j in range(k_max):
            target = spent[j] - (spent[j - 1] if j else 0.0)

            def stage(cc: float, j: int = j, target: float = target) -> float:
                trial = crit.copy()
                trial[j] = cc
                return float(crossing_probabilities(trial[: j + 1], t[: j + 1])[j]) - target

            crit[j] = scipy.optimize.brentq(stage, 0.0, 40.0, xtol=1e-14, rtol=1e-14)
    else:
        raise ValueError(f"design: must be 'OF', 'P', 'asOF' or 'asP', got {show(design)}")
    h0 = crossing_probabilities(crit, t)
    z_fixed = stats.norm.isf(alpha) + stats.norm.isf(beta)

    def power_gap(theta: float) -> float:
        return float(crossing_probabilities(crit, t, theta=theta).sum()) - (1.0 - beta)

    theta = scipy.optimize.brentq(power_gap, 0.0, 3.0 * z_fixed + 5.0, xtol=1e-14, rtol=1e-14)
    h1 = crossing_probabilities(crit, t, theta=theta)
    h01 = crossing_probabilities(crit, t, theta=theta / 2.0)
    infl = theta**2 / z_fixed**2

    def asn(p: FloatArray) -> float:
        stop = p.copy()
        stop[-1] = 1.0 - p[:-1].sum()
        return float(np.sum(stop * t) * infl)

    return GroupSequentialDesign(
        critical_values=crit,
        information_rates=t,
        alpha_spent=np.cumsum(h0),
        stage_levels=stats.norm.sf(crit),
        shift=theta**2,
        inflation_factor=infl,
        rejection_probabilities=h1,
        power=np.cumsum(h1),
        expected_n_h0=asn(h0),
        expected_n_h01=asn(h01),
        expected_n_h1=asn(h1),
        alpha=alpha,
        beta=beta,
        method=design,
        n=k_max,
    )
