"""Sample size and power of fixed two-arm designs, with rpact's normal-approximation formulas.

Notation: one-sided level ``alpha`` (rpact's ``sided = 1``), power ``1 - beta``,
``z_a = Phi^-1(1 - alpha)``, ``z_b = Phi^-1(1 - beta)``, allocation ratio ``r = n1 / n2``.

* Two proportions (rpact ``getSampleSizeRates``, ``normalApproximation = TRUE``, H0: equal
  rates): with the pooled rate ``p = (r p1 + p2) / (1 + r)``
  ``n1* = (z_a sqrt(p (1-p) (1 + r)) + z_b sqrt(p1 (1-p1) + r p2 (1-p2)))^2 / (p1 - p2)^2`` and
  ``N = n1* (1 + r) / r``.
* Two means (``getSampleSizeMeans``): normal approximation
  ``N = (1 + r)^2 / r (z_a + z_b)^2 sigma^2 / delta^2``; or (default, as rpact) the exact t-test
  power ``1 - F_t(t_{1-alpha, N-2}; N-2, ncp)``, ``ncp = delta/sigma sqrt(n2 r / (1 + r))``,
  solved for continuous ``n2``.
* Time to event (``getSampleSizeSurvival``): events by Schoenfeld
  ``D = (1 + r)^2 / r (z_a + z_b)^2 / log(HR)^2`` or Freedman
  ``D = (1 + r HR)^2 / (r (1 - HR)^2) (z_a + z_b)^2``; patients ``N = D / P(event)`` for
  exponential survival (hazards ``lambda_1 = HR lambda_2``), uniform accrual over ``a`` and
  follow-up ``f`` after the end of accrual:
  ``P_i = 1 - (exp(-lambda_i f) - exp(-lambda_i (a + f))) / (lambda_i a)``,
  ``P(event) = (r P_1 + P_2) / (1 + r)``.
* Power for a given number of events (``getPowerSurvival``, Schoenfeld):
  ``Phi(sqrt(D r) / (1 + r) |log HR| - z_a)``.

Group-sequential designs multiply these by the inflation factor of
:func:`celltrial.stats.sequential.group_sequential_design`.

References: Chow SC, Shao J, Wang H (2008). Sample Size Calculations in Clinical Research.
Schoenfeld D (1981). Biometrika 68:316-319. Freedman LS (1982). Stat Med 1:121-129.
Lachin JM, Foulkes MA (1986). Biometrics 42:507-519.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Literal

import scipy.optimize
from scipy import stats

from celltrial.stats._checks import show
from celltrial.stats._result import Result

__all__ = [
    "SampleSize",
    "power_survival",
    "sample_size_means",
    "sample_size_proportions",
    "sample_size_survival",
]


@dataclasses.dataclass(frozen=True)
class SampleSize(Result):
    """Required sizes (continuous, not rounded, as rpact's ``nFixed``; round up to use them)."""

    n: float
    n1: float
    n2: float
    events: float | None
    alpha: float
    beta: float
    allocation_ratio: float
    method: str


def _check(alpha: float, beta: float, ratio: float) -> tuple[float, float]:
    if not 0.0 < alpha < 0.5:
        raise ValueError(f"alpha: one-sided level must be in (0, 0.5), got {show(alpha)}")
    if not 0.0 < beta < 1.0 - alpha:
        raise ValueError(f"beta: must be in (0, 1 - alpha), got {show(beta)}")
    if not ratio > 0:
        raise ValueError(f"allocation_ratio: must be > 0, got {show(ratio)}")
    return float(stats.norm.isf(alpha)), float(stats.norm.isf(beta))


def sample_size_proportions(
    p1: float, p2: float, *, alpha: float = 0.025, beta: float = 0.2, allocation_ratio: float = 1.0
) -> SampleSize:
    """Sample size to detect ``p1`` vs ``p2`` (one-sided ``alpha``), as rpact's
    ``getSampleSizeRates(pi1, pi2, alpha, beta, sided = 1, allocationRatioPlanned)``.

    >>> round(sample_size_proportions(0.5, 0.3).n, 3)
    185.998
    """
    za, zb = _check(alpha, beta, allocation_ratio)
    for name, p in (("p1", p1), ("p2", p2)):
        if not 0.0 < p < 1.0:
            raise ValueError(f"{name}: must be in (0, 1), got {show(p)}")
    if p1 == p2:
        raise ValueError("p1, p2: must differ")
    r = allocation_ratio
    pbar = (r * p1 + p2) / (1.0 + r)
    n1_star = (
        za * math.sqrt(pbar * (1 - pbar) * (1 + r))
        + zb * math.sqrt(p1 * (1 - p1) + r * p2 * (1 - p2))
    ) ** 2 / (p1 - p2) ** 2
    n = n1_star * (1 + r) / r
    return SampleSize(
        n=n,
        n1=n * r / (1 + r),
        n2=n / (1 + r),
        events=None,
        alpha=alpha,
        beta=beta,
        allocation_ratio=r,
        method="normal approximation, pooled variance under H0",
    )


def sample_size_means(
    delta: float,
    sd: float,
    *,
    alpha: float = 0.025,
    beta: float = 0.2,
    allocation_ratio: float = 1.0,
    normal_approximation: bool = False,
) -> SampleSize:
    """Sample size to detect a mean difference ``delta`` with common SD ``sd``, as rpact's
    ``getSampleSizeMeans(alternative = delta, stDev = sd, normalApproximation)``.

    rpact solves the t-test equation with a root tolerance of 1e-4 in ``n2``; here it is solved
    to machine precision.
    """
    za, zb = _check(alpha, beta, allocation_ratio)
    if not sd > 0:
        raise ValueError(f"sd: must be > 0, got {show(sd)}")
    if delta == 0:
        raise ValueError("delta: must be non-zero")
    r = allocation_ratio
    es = abs(delta) / sd
    if normal_approximation:
        n = (1 + r) ** 2 / r * (za + zb) ** 2 / es**2
        method = "normal approximation"
    else:

        def gap(n2: float) -> float:
            df = max(0.001, n2 * (1 + r) - 2)
            ncp = math.sqrt(n2) * math.sqrt(r / (1 + r)) * es
            return float(stats.nct.cdf(stats.t.ppf(1 - alpha, df), df, ncp)) - beta

        up = 2.0
        while gap(up) > 0:
            up *= 2.0
        n2 = scipy.optimize.brentq(gap, 0.001, up, xtol=1e-12, rtol=1e-14)
        n = n2 * (1 + r)
        method = "t-test (noncentral t power)"
    return SampleSize(
        n=n,
        n1=n * r / (1 + r),
        n2=n / (1 + r),
        events=None,
        alpha=alpha,
        beta=beta,
        allocation_ratio=r,
        method=method,
    )


def _events(hr: float, za: float, zb: float, r: float, method: str) -> float:
    if method == "schoenfeld":
        return (1 + r) ** 2 / r * (za + zb) ** 2 / math.log(hr) ** 2
    if method == "freedman":
        return (1 + r * hr) ** 2 / (r * (1 - hr) ** 2) * (za + zb) ** 2
    raise ValueError(f"method: must be 'schoenfeld' or 'freedman', got {show(method)}")


def _p_event(lam: float, accrual: float, follow_up: float) -> float:
    if accrual == 0:
        return 1.0 - math.exp(-lam * follow_up)
    return 1.0 - (math.exp(-lam * follow_up) - math.exp(-lam * (accrual + follow_up))) / (
        lam * accrual
    )


def sample_size_survival(
    hazard_ratio: float,
    *,
    lambda2: float,
    accrual_time: float,
    follow_up_time: float,
    alpha: float = 0.025,
    beta: float = 0.2,
    allocation_ratio: float = 1.0,
    method: Literal["schoenfeld", "freedman"] = "schoenfeld",
) -> SampleSize:
    """Events (Schoenfeld or Freedman) and patients for a log-rank comparison, as rpact's
    ``getSampleSizeSurvival(lambda2, hazardRatio, accrualTime = c(0, a), followUpTime = f,
    typeOfComputation)`` with exponential survival and no dropout.

    ``lambda2`` is the control hazard (``log(2) / median``); times in any one unit.
    """
    za, zb = _check(alpha, beta, allocation_ratio)
    if not 0 < hazard_ratio != 1:
        raise ValueError(f"hazard_ratio: must be > 0 and != 1, got {show(hazard_ratio)}")
    if not lambda2 > 0:
        raise ValueError(f"lambda2: must be > 0, got {show(lambda2)}")
    if accrual_time < 0 or follow_up_time < 0 or accrual_time + follow_up_time <= 0:
        raise ValueError("accrual_time, follow_up_time: must be >= 0 with a positive sum")
    r = allocation_ratio
    d = _events(hazard_ratio, za, zb, r, method.lower())
    p1 = _p_event(hazard_ratio * lambda2, accrual_time, follow_up_time)
    p2 = _p_event(lambda2, accrual_time, follow_up_time)
    n = d / ((r * p1 + p2) / (1 + r))
    return SampleSize(
        n=n,
        n1=n * r / (1 + r),
        n2=n / (1 + r),
        events=d,
        alpha=alpha,
        beta=beta,
        allocation_ratio=r,
        method=f"{method.lower()} events; exponential survival, uniform accrual",
    )


@dataclasses.dataclass(frozen=True)
class SurvivalPower(Result):
    """Power of the log-rank test for a given number of events (Schoenfeld)."""

    power: float
    events: float
    hazard_ratio: float
    alpha: float
    method: str


def power_survival(
    hazard_ratio: float, events: float, *, alpha: float = 0.025, allocation_ratio: float = 1.0
) -> SurvivalPower:
    """Power ``Phi(sqrt(D r) / (1 + r) |log HR| - z_a)``, as rpact's ``getPowerSurvival``
    (``overallReject`` of a fixed design, Schoenfeld)."""
    za, _ = _check(alpha, 0.5 - alpha / 2, allocation_ratio)
    if not events > 0:
        raise ValueError(f"events: must be > 0, got {show(events)}")
    if not hazard_ratio > 0:
        raise ValueError(f"hazard_ratio: must be > 0, got {show(hazard_ratio)}")
    r = allocation_ratio
    power = float(
        stats.norm.cdf(math.sqrt(events * r) / (1 + r) * abs(math.log(hazard_ratio)) - za)
    )
    return SurvivalPower(
        power=power, events=events, hazard_ratio=hazard_ratio, alpha=alpha, method="Schoenfeld"
    )
