"""Effect measures for two arms with binary outcomes: risk difference, risk ratio, odds ratio.

Tables are ``[[a, b], [c, d]]``: rows are the arms, columns (event, no event); arm 1 is
compared with arm 2 (``p1 = a / (a + b)``, ``p2 = c / (c + d)``).
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any

import numpy as np
from numpy.typing import ArrayLike
from scipy import special

from celltrial.stats._checks import check_choice, check_level, check_table_2x2
from celltrial.stats._result import Result
from celltrial.stats.binary import fisher_exact


@dataclasses.dataclass(frozen=True)
class EffectResult(Result):
    """An effect measure with its CI (``se`` is on the scale the CI is built on)."""

    estimate: float
    ci: tuple[float, float]
    se: float
    level: float
    n: int
    method: str


def _z(level: float) -> float:
    return float(special.ndtri(1.0 - (1.0 - level) / 2.0))


def _arms(table: Any) -> tuple[float, float, float, float]:
    tab = check_table_2x2("table", table)
    if np.any(tab.sum(axis=1) == 0):
        raise ValueError("table: each row (arm) must have at least one observation")
    a, b, c, d = (float(v) for v in tab.ravel())
    return a, b, c, d


def wilson_interval(x: float, n: float, level: float = 0.95) -> tuple[float, float]:
    r"""Wilson score interval for a binomial proportion (R's ``prop.test(x, n, correct=FALSE)``).

    ``(p + z^2/2n -+ z sqrt(p(1-p)/n + z^2/4n^2)) / (1 + z^2/n)``.
    """
    z = _z(level)
    p = x / n
    centre = p + z * z / (2 * n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    den = 1 + z * z / n
    return (max(0.0, (centre - half) / den), min(1.0, (centre + half) / den))


def risk_difference(
    table: ArrayLike, *, method: str = "newcombe", level: float = 0.95
) -> EffectResult:
    r"""Risk difference ``p1 - p2`` with a Wald or Newcombe (hybrid Wilson score) CI.

    Wald: ``RD -+ z sqrt(p1 q1 / n1 + p2 q2 / n2)``, clipped to [-1, 1]. Newcombe (method 10):
    ``[RD - sqrt((p1 - l1)^2 + (u2 - p2)^2), RD + sqrt((u1 - p1)^2 + (p2 - l2)^2)]`` with
    ``(l_i, u_i)`` the Wilson intervals of each arm.

    Notes
    -----
    R equivalent: Wald = ``prop.test(c(a, c), c(n1, n2), correct = FALSE)$conf.int``; the
    Wilson limits are ``prop.test(x, n, correct = FALSE)$conf.int``.

    References
    ----------
    Newcombe RG (1998). Stat Med 17:873–890.
    """
    check_choice("method", method, ("newcombe", "wald"))
    level = check_level(level)
    a, b, c, d = _arms(table)
    n1, n2 = a + b, c + d
    p1, p2 = a / n1, c / n2
    rd = p1 - p2
    se = math.sqrt(p1 * (1 - p1) / n1 + p2 * (1 - p2) / n2)
    z = _z(level)
    if method == "wald":
        ci = (max(-1.0, rd - z * se), min(1.0, rd + z * se))
        name = "risk difference (Wald CI)"
    else:
        l1, u1 = wilson_interval(a, n1, level)
        l2, u2 = wilson_interval(c, n2, level)
        ci = (
            rd - math.sqrt((p1 - l1) ** 2 + (u2 - p2) ** 2),
            rd + math.sqrt((u1 - p1) ** 2 + (p2 - l2) ** 2),
        )
        name = "risk difference (Newcombe hybrid score CI)"
    return EffectResult(estimate=rd, ci=ci, se=se, level=level, n=int(n1 + n2), method=name)


def _log_ci(est: float, se: float, z: float) -> tuple[float, float]:
    """``exp(log(est) -+ z se)`` with IEEE semantics (a zero cell gives NaN/inf as in R)."""
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        le = np.log(np.float64(est))
        lo = float(np.exp(le - z * se))
        hi = float(np.exp(le + z * se))
    return lo, hi


def _div(x: float, y: float) -> float:
    with np.errstate(divide="ignore", invalid="ignore"):
        return float(np.float64(x) / np.float64(y))


def risk_ratio(table: ArrayLike, *, level: float = 0.95) -> EffectResult:
    r"""Risk ratio ``p1 / p2`` with the Katz log CI.

    ``exp(log RR -+ z sqrt(1/a - 1/n1 + 1/c - 1/n2))``.

    Notes
    -----
    R equivalent: the formula in base R (``epitools::riskratio(method = "wald")``). With
    ``c = 0`` the estimate is ``inf`` and the CI ``(nan, inf)`` — IEEE arithmetic, as R gives;
    add 0.5 to each cell first if a finite interval is wanted.

    References
    ----------
    Katz D, Baptista J, Azen SP, Pike MC (1978). Biometrics 34:469–474.
    """
    level = check_level(level)
    a, b, c, d = _arms(table)
    n1, n2 = a + b, c + d
    rr = _div(a / n1, c / n2)
    se = math.sqrt(_div(1, a) - 1 / n1 + _div(1, c) - 1 / n2)
    return EffectResult(
        estimate=rr,
        ci=_log_ci(rr, se, _z(level)),
        se=se,
        level=level,
        n=int(n1 + n2),
        method="risk ratio (Katz log CI)",
    )


def odds_ratio(table: ArrayLike, *, method: str = "wald", level: float = 0.95) -> EffectResult:
    r"""Odds ratio ``ad / bc`` with the Woolf (Wald, log) CI, or the exact conditional one.

    ``wald``: ``exp(log OR -+ z sqrt(1/a + 1/b + 1/c + 1/d))`` (zero cells give NaN/inf as in
    R's arithmetic). ``exact``: the conditional MLE and exact CI of ``fisher.test`` (``se`` is
    NaN).

    References
    ----------
    Woolf B (1955). Ann Hum Genet 19:251–253.
    """
    check_choice("method", method, ("wald", "exact"))
    level = check_level(level)
    a, b, c, d = _arms(table)
    n = int(a + b + c + d)
    if method == "exact":
        f = fisher_exact([[a, b], [c, d]], level=level)
        return EffectResult(
            estimate=f.estimate,
            ci=f.ci,
            se=math.nan,
            level=level,
            n=n,
            method="odds ratio (conditional MLE, exact CI)",
        )
    orr = _div(a * d, b * c)
    se = math.sqrt(_div(1, a) + _div(1, b) + _div(1, c) + _div(1, d))
    return EffectResult(
        estimate=orr,
        ci=_log_ci(orr, se, _z(level)),
        se=se,
        level=level,
        n=n,
        method="odds ratio (Woolf log CI)",
    )
