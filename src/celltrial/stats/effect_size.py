"""Effect sizes and their sampling variances for meta-analysis (metafor's ``escalc``).

Two-by-two tables (``ai`` events / ``bi`` non-events in the treatment arm, ``ci`` / ``di`` in
the control arm; or ``ai``, ``n1i``, ``ci``, ``n2i``):

* ``"RR"``: ``y = log(a/n1) - log(c/n2)``, ``v = 1/a - 1/n1 + 1/c - 1/n2``
* ``"OR"``: ``y = log(a d / (b c))``, ``v = 1/a + 1/b + 1/c + 1/d``
* ``"RD"``: ``y = a/n1 - c/n2``, ``v = p1 (1 - p1) / n1 + p2 (1 - p2) / n2``

A study with a zero cell gets ``add`` (default 1/2) added to all four cells first (metafor's
``add = 1/2, to = "only0"``; ``to="all"`` adds to every study, ``to="none"`` never).

Means (``m1i, sd1i, n1i, m2i, sd2i, n2i``):

* ``"MD"``: ``y = m1 - m2``, ``v = sd1^2/n1 + sd2^2/n2``
* ``"SMD"`` (Hedges' g): ``y = J(m) (m1 - m2) / s_p`` with the pooled SD ``s_p`` on
  ``m = n1 + n2 - 2`` df and the exact correction ``J(m) = Gamma(m/2) / (sqrt(m/2)
  Gamma((m-1)/2))``; ``v = 1/n1 + 1/n2 + y^2 / (2 (n1 + n2))`` (metafor's ``vtype="LS"``).

Ratio reported with a confidence interval (``estimate``, ``ci_lower``, ``ci_upper``; e.g. a
hazard ratio): ``y = log(estimate)``, ``v = ((log(upper) - log(lower)) / (2 z_{1-a/2}))^2``.

R: ``metafor::escalc(measure, ...)``. Reference: Borenstein M et al (2009). Introduction to
Meta-Analysis, chapters 4-5; Hedges LV (1981). J Educ Stat 6:107-128.
"""

from __future__ import annotations

import dataclasses
from typing import Any, Literal

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy import special, stats

from celltrial.stats._checks import as_float_array, check_level, show
from celltrial.stats._result import Result

FloatArray = NDArray[np.float64]
Measure = Literal["RR", "OR", "RD", "MD", "SMD", "logHR"]

__all__ = ["EffectSizes", "effect_size", "table_cells"]


@dataclasses.dataclass(frozen=True)
class EffectSizes(Result):
    """Per-study effect sizes ``yi`` with sampling variances ``vi`` (ready for meta_analysis)."""

    yi: FloatArray
    vi: FloatArray
    measure: str
    corrected: NDArray[np.bool_]
    n: int

    @property
    def se(self) -> FloatArray:
        """Standard errors ``sqrt(vi)``."""
        return np.sqrt(self.vi)


def _counts(name: str, values: Any) -> FloatArray:
    arr = as_float_array(name, values)
    if np.any(arr < 0):
        raise ValueError(f"{name}: counts must be >= 0")
    return arr


def table_cells(
    ai: ArrayLike,
    bi: ArrayLike | None = None,
    ci: ArrayLike | None = None,
    di: ArrayLike | None = None,
    *,
    n1i: ArrayLike | None = None,
    n2i: ArrayLike | None = None,
) -> tuple[FloatArray, FloatArray, FloatArray, FloatArray]:
    """The four cells ``a, b, c, d`` from either the cells or events and arm sizes."""
    a = _counts("ai", ai)
    if ci is None:
        raise ValueError("ci: control-arm events are required")
    c = _counts("ci", ci)
    if bi is None:
        if n1i is None:
            raise ValueError("bi or n1i: give the treatment-arm non-events or arm size")
        b = _counts("n1i", n1i) - a
    else:
        b = _counts("bi", bi)
    if di is None:
        if n2i is None:
            raise ValueError("di or n2i: give the control-arm non-events or arm size")
        d = _counts("n2i", n2i) - c
    else:
        d = _counts("di", di)
    k = a.size
    for name, arr in (("bi/n1i", b), ("ci", c), ("di/n2i", d)):
        if arr.size != k:
            raise ValueError(f"{name}: length {arr.size} differs from ai's length {k}")
        if np.any(arr < 0):
            raise ValueError(f"{name}: events exceed the arm size in some study")
    return a, b, c, d


def effect_size(
    measure: Measure,
    *,
    ai: ArrayLike | None = None,
    bi: ArrayLike | None = None,
    ci: ArrayLike | None = None,
    di: ArrayLike | None = None,
    n1i: ArrayLike | None = None,
    n2i: ArrayLike | None = None,
    m1i: ArrayLike | None = None,
    sd1i: ArrayLike | None = None,
    m2i: ArrayLike | None = None,
    sd2i: ArrayLike | None = None,
    estimate: ArrayLike | None = None,
    ci_lower: ArrayLike | None = None,
    ci_upper: ArrayLike | None = None,
    add: float = 0.5,
    to: Literal["only0", "all", "none"] = "only0",
    level: float = 0.95,
) -> EffectSizes:
    """Effect sizes and sampling variances, as ``metafor::escalc``.

    Parameters
    ----------
    measure
        ``"RR"`` (log risk ratio), ``"OR"`` (log odds ratio), ``"RD"`` (risk difference),
        ``"MD"`` (mean difference), ``"SMD"`` (Hedges' g) or ``"logHR"`` (log of a ratio given
        with its confidence interval).
    ai, bi, ci, di, n1i, n2i
        Cells of the 2x2 tables (``bi``/``di`` may be replaced by arm sizes ``n1i``/``n2i``).
    m1i, sd1i, m2i, sd2i, n1i, n2i
        Arm means, SDs and sizes for ``"MD"`` and ``"SMD"``.
    estimate, ci_lower, ci_upper, level
        A ratio (hazard, odds or risk) with its ``level`` confidence interval, for ``"logHR"``.
    add, to
        Continuity correction for tables with a zero cell (metafor's defaults).

    Examples
    --------
    >>> es = effect_size("OR", ai=[1], n1i=[9], ci=[4], n2i=[9])
    >>> round(float(es.yi[0]), 4)
    -1.674
    """
    if measure in ("RR", "OR", "RD"):
        if ai is None:
            raise ValueError(f"ai: treatment-arm events are required for {measure}")
        a, b, c, d = table_cells(ai, bi, ci, di, n1i=n1i, n2i=n2i)
        if to == "only0":
            corr = (a == 0) | (b == 0) | (c == 0) | (d == 0)
        elif to == "all":
            corr = np.ones(a.size, dtype=bool)
        elif to == "none":
            corr = np.zeros(a.size, dtype=bool)
        else:
            raise ValueError(f"to: must be 'only0', 'all' or 'none', got {show(to)}")
        inc = np.where(corr, float(add), 0.0)
        a, b, c, d = a + inc, b + inc, c + inc, d + inc
        n1, n2 = a + b, c + d
        if np.any(n1 <= 0) or np.any(n2 <= 0):
            raise ValueError("n1i/n2i: every arm needs at least one participant")
        p1, p2 = a / n1, c / n2
        with np.errstate(divide="ignore"):
            if measure == "RR":
                y = np.log(p1) - np.log(p2)
                v = 1.0 / a - 1.0 / n1 + 1.0 / c - 1.0 / n2
            elif measure == "OR":
                y = np.log(a * d / (b * c))
                v = 1.0 / a + 1.0 / b + 1.0 / c + 1.0 / d
            else:
                y = p1 - p2
                v = p1 * (1.0 - p1) / n1 + p2 * (1.0 - p2) / n2
        return EffectSizes(yi=y, vi=v, measure=measure, corrected=corr, n=int(y.size))
    if measure in ("MD", "SMD"):
        if any(x is None for x in (m1i, sd1i, n1i, m2i, sd2i, n2i)):
            raise ValueError(f"{measure}: needs m1i, sd1i, n1i, m2i, sd2i and n2i")
        m1, s1, n1 = (
            as_float_array("m1i", m1i),
            as_float_array("sd1i", sd1i),
            as_float_array("n1i", n1i),
        )
        m2, s2, n2 = (
            as_float_array("m2i", m2i),
            as_float_array("sd2i", sd2i),
            as_float_array("n2i", n2i),
        )
        k = m1.size
        for name, arr in (("sd1i", s1), ("n1i", n1), ("m2i", m2), ("sd2i", s2), ("n2i", n2)):
            if arr.size != k:
                raise ValueError(f"{name}: length {arr.size} differs from m1i's length {k}")
        if np.any(s1 < 0) or np.any(s2 < 0):
            raise ValueError("sd1i/sd2i: standard deviations must be >= 0")
        if np.any(n1 < 1) or np.any(n2 < 1):
            raise ValueError("n1i/n2i: arm sizes must be >= 1")
        if measure == "MD":
            y = m1 - m2
            v = s1**2 / n1 + s2**2 / n2
        else:
            mi = n1 + n2 - 2.0
            if np.any(mi <= 1):
                raise ValueError("n1i/n2i: SMD needs n1i + n2i >= 4")
            sp = np.sqrt(((n1 - 1.0) * s1**2 + (n2 - 1.0) * s2**2) / mi)
            cm = np.exp(
                special.gammaln(mi / 2.0)
                - np.log(np.sqrt(mi / 2.0))
                - special.gammaln((mi - 1.0) / 2.0)
            )
            y = cm * (m1 - m2) / sp
            v = 1.0 / n1 + 1.0 / n2 + y**2 / (2.0 * (n1 + n2))
        return EffectSizes(yi=y, vi=v, measure=measure, corrected=np.zeros(k, dtype=bool), n=k)
    if measure == "logHR":
        if estimate is None or ci_lower is None or ci_upper is None:
            raise ValueError("logHR: needs estimate, ci_lower and ci_upper")
        est = as_float_array("estimate", estimate)
        lo = as_float_array("ci_lower", ci_lower)
        hi = as_float_array("ci_upper", ci_upper)
        if not (est.size == lo.size == hi.size):
            raise ValueError("ci_lower/ci_upper: lengths differ from estimate's")
        if np.any(lo <= 0) or np.any(est <= 0) or np.any(hi <= 0):
            raise ValueError("estimate/ci_lower/ci_upper: ratios must be > 0")
        if np.any(lo >= hi) or np.any(est < lo) or np.any(est > hi):
            raise ValueError("ci_lower/ci_upper: need ci_lower < estimate < ci_upper")
        z = float(stats.norm.isf((1.0 - check_level(level)) / 2.0))
        se = (np.log(hi) - np.log(lo)) / (2.0 * z)
        return EffectSizes(
            yi=np.log(est),
            vi=se**2,
            measure=measure,
            corrected=np.zeros(est.size, dtype=bool),
            n=int(est.size),
        )
    raise ValueError(f"measure: must be one of RR, OR, RD, MD, SMD, logHR; got {show(measure)}")
