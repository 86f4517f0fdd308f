"""Fixed-effect meta-analysis of 2x2 tables: Mantel-Haenszel and Peto (metafor's ``rma.mh``,
``rma.peto``).

Mantel-Haenszel, with ``N_i = a_i + b_i + c_i + d_i``:

* odds ratio ``OR = sum(a d / N) / sum(b c / N)``, variance of ``log OR`` by Robins, Breslow and
  Greenland (1986);
* risk ratio ``RR = sum(a n2 / N) / sum(c n1 / N)``, variance by Greenland and Robins (1985);
* risk difference ``RD = sum(a n2/N - c n1/N) / sum(n1 n2 / N)`` with the Sato/Greenland-Robins
  variance.

The Cochran-Mantel-Haenszel test (``measure="OR"``) is
``(|sum a - sum n1 m1 / N| - 1/2)^2 / sum(n1 n2 m1 m0 / (N^2 (N - 1)))``.

Peto: ``O - E = a - n1 m1 / N``, ``V = n1 n2 m1 m0 / (N^2 (N - 1))``,
``log OR = sum(O - E) / sum(V)``, ``se = 1 / sqrt(sum V)``.

Heterogeneity (both): ``Q = sum w_i (y_i - estimate)^2`` with the per-study ``y_i``, ``v_i`` of
:func:`effect_size` (1/2 added to tables with a zero cell, ``w_i = 1 / v_i``),
``I2 = 100 max(0, (Q - df)/Q)``, ``H2 = Q / df``.

References
----------
Mantel N, Haenszel W (1959). J Natl Cancer Inst 22:719-748.
Robins J, Breslow N, Greenland S (1986). Biometrics 42:311-323.
Yusuf S, Peto R et al (1985). Prog Cardiovasc Dis 27:335-371.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any, Literal

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy import stats

from celltrial.stats._checks import check_level, show
from celltrial.stats._result import Result
from celltrial.stats.effect_size import table_cells

FloatArray = NDArray[np.float64]

__all__ = ["MetaTableResult", "meta_mantel_haenszel", "meta_peto"]


@dataclasses.dataclass(frozen=True)
class MetaTableResult(Result):
    """A pooled fixed-effect estimate from 2x2 tables (log scale for OR and RR)."""

    estimate: float
    se: float
    ci: tuple[float, float]
    statistic: float
    p_value: float
    q: float
    q_df: int
    q_p_value: float
    i2: float
    h2: float
    cmh_statistic: float | None
    cmh_p_value: float | None
    measure: str
    method: str
    n: int
    breslow_day: float | None = None
    breslow_day_p_value: float | None = None
    tarone: float | None = None
    tarone_p_value: float | None = None
    homogeneity_df: int | None = None


def _heterogeneity(
    a: FloatArray, b: FloatArray, c: FloatArray, d: FloatArray, measure: str, est: float
) -> tuple[float, int, float, float, float]:
    corr = (a == 0) | (b == 0) | (c == 0) | (d == 0)
    inc = np.where(corr, 0.5, 0.0)
    a, b, c, d = a + inc, b + inc, c + inc, d + inc
    n1, n2 = a + b, c + d
    with np.errstate(divide="ignore", invalid="ignore"):
        if measure == "OR":
            y = np.log(a * d / (b * c))
            v = 1 / a + 1 / b + 1 / c + 1 / d
        elif measure == "RR":
            y = np.log(a / n1) - np.log(c / n2)
            v = 1 / a - 1 / n1 + 1 / c - 1 / n2
        elif measure == "RD":
            p1, p2 = a / n1, c / n2
            y = p1 - p2
            v = p1 * (1 - p1) / n1 + p2 * (1 - p2) / n2
        else:  # PETO
            nn = n1 + n2
            m1 = a + c
            oe = a - n1 * m1 / nn
            var = n1 * n2 * m1 * (nn - m1) / (nn**2 * (nn - 1))
            y = oe / var
            v = 1 / var
    ok = np.isfinite(y) & np.isfinite(v) & (v > 0)
    k = int(ok.sum())
    if k <= 1:
        return 0.0, 0, 1.0, 0.0, 1.0
    q = max(0.0, float(np.sum((y[ok] - est) ** 2 / v[ok])))
    df = k - 1
    i2 = max(0.0, 100.0 * (q - df) / q) if q > 0 else 0.0
    return q, df, float(stats.chi2.sf(q, df)), i2, q / df


def meta_mantel_haenszel(
    ai: ArrayLike,
    bi: ArrayLike | None = None,
    ci: ArrayLike | None = None,
    di: ArrayLike | None = None,
    *,
    n1i: ArrayLike | None = None,
    n2i: ArrayLike | None = None,
    measure: Literal["OR", "RR", "RD"] = "OR",
    correct: bool = True,
    level: float = 0.95,
) -> MetaTableResult:
    """Mantel-Haenszel fixed-effect meta-analysis (``metafor::rma.mh``).

    Returns the pooled log OR / log RR / RD with its SE, Wald CI and test, Cochran's Q over the
    per-study estimates, and for ``measure="OR"`` the CMH test (``correct``: with 1/2 continuity
    correction) and the Breslow–Day and Tarone tests of a common odds ratio (``breslow_day``,
    ``tarone``, on ``homogeneity_df`` df; metafor's ``BD``, ``TA``; see :func:`_breslow_day`). No correction is applied to the counts for the pooled estimate itself.
    """
    a, b, c, d = table_cells(ai, bi, ci, di, n1i=n1i, n2i=n2i)
    level = check_level(level)
    n1, n2 = a + b, c + d
    nn = n1 + n2
    if np.any(n1 <= 0) or np.any(n2 <= 0):
        raise ValueError("n1i/n2i: every arm needs at least one participant")
    cmh = cmh_p = None
    if measure == "OR":
        pi, qi = (a + d) / nn, (b + c) / nn
        ri, si = a * d / nn, b * c / nn
        r, s = float(ri.sum()), float(si.sum())
        if r == 0 or s == 0:
            raise ValueError("ai/ci: the Mantel-Haenszel odds ratio is 0 or infinite")
        est = math.log(r / s)
        se = math.sqrt(
            0.5
            * (
                np.sum(pi * ri) / r**2
                + np.sum(pi * si + qi * ri) / (r * s)
                + np.sum(qi * si) / s**2
            )
        )
        xt, yt = a + c, b + d
        num = (abs(float(np.sum(a - n1 / nn * xt))) - (0.5 if correct else 0.0)) ** 2
        cmh = num / float(np.sum(n1 / nn * (n2 / nn) * (xt * (yt / (nn - 1)))))
        cmh_p = float(stats.chi2.sf(cmh, 1))
    elif measure == "RR":
        r = float(np.sum(a * n2 / nn))
        s = float(np.sum(c * n1 / nn))
        if r == 0 or s == 0:
            raise ValueError("ai/ci: the Mantel-Haenszel risk ratio is 0 or infinite")
        est = math.log(r / s)
        se = math.sqrt(float(np.sum(n1 / nn * (n2 / nn) * (a + c) - a / nn * c)) / (r * s))
    elif measure == "RD":
        den = float(np.sum(n1 * (n2 / nn)))
        est = float(np.sum(a * (n2 / nn) - c * (n1 / nn))) / den
        num = (
            est
            * float(
                np.sum(
                    c * (n1 / nn) ** 2 - a * (n2 / nn) ** 2 + n1 / nn * (n2 / nn) * (n2 - n1) / 2
                )
            )
            + float(np.sum(a * (n2 - c) / nn + c * (n1 - a) / nn)) / 2
        )
        se = math.sqrt(num / den**2)
    else:
        raise ValueError(f"measure: must be 'OR', 'RR' or 'RD', got {show(measure)}")
    res = _result(a, b, c, d, est, se, measure, "Mantel-Haenszel", level, cmh, cmh_p)
    if measure != "OR":
        return res
    return dataclasses.replace(res, **_breslow_day(a, b, c, d, math.exp(est)))


def _breslow_day(
    a: FloatArray, b: FloatArray, c: FloatArray, d: FloatArray, psi: float
) -> dict[str, Any]:
    r"""Breslow–Day test of a common odds ratio and Tarone's correction (``rma.mh``'s BD, TA).

    Under the Mantel–Haenszel odds ratio ``psi``, the expected ``A_i`` solves ``A (N - n1 - m1
    + A) = psi (n1 - A)(m1 - A)`` (the root in the table's range), and with ``V_i = (1/A + 1/(n1
    - A) + 1/(m1 - A) + 1/(N - n1 - m1 + A))^-1``:

    .. math:: BD = \sum_i (a_i - A_i)^2 / V_i, \qquad
        T = BD - \bigl(\sum_i (a_i - A_i)\bigr)^2 / \sum_i V_i,

    both on ``K - 1`` df, over the tables with ``A_i > 0`` and both an event and a non-event.
    """
    n1, m1, nn = a + b, a + c, a + b + c + d
    m0 = b + d
    if psi == 1.0:
        e11 = n1 / nn * m1
    else:
        aa = psi * (n1 + m1) + (c + d - m1)
        bb = np.sqrt(aa * aa - 4.0 * n1 * m1 * psi * (psi - 1.0))
        e11 = (aa - bb) / (2.0 * (psi - 1.0))
    pos = (e11 > 0) & (m1 > 0) & (m0 > 0)
    k_pos = int(np.sum(pos))
    e = e11[pos]
    v = 1.0 / (
        1.0 / e
        + 1.0 / (n1[pos] - e)
        + 1.0 / (m1[pos] - e)
        + 1.0 / (nn[pos] - n1[pos] - m1[pos] + e)
    )
    dev = a[pos] - e
    bd = max(0.0, float(np.sum(dev * dev / v)))
    ta = max(0.0, bd - float(np.sum(dev)) ** 2 / float(np.sum(v)))
    df = k_pos - 1
    ok = df > 0
    return {
        "breslow_day": bd,
        "breslow_day_p_value": float(stats.chi2.sf(bd, df)) if ok else math.nan,
        "tarone": ta,
        "tarone_p_value": float(stats.chi2.sf(ta, df)) if ok else math.nan,
        "homogeneity_df": df,
    }


def meta_peto(
    ai: ArrayLike,
    bi: ArrayLike | None = None,
    ci: ArrayLike | None = None,
    di: ArrayLike | None = None,
    *,
    n1i: ArrayLike | None = None,
    n2i: ArrayLike | None = None,
    level: float = 0.95,
) -> MetaTableResult:
    """Peto's one-step pooled log odds ratio (``metafor::rma.peto``)."""
    a, b, c, d = table_cells(ai, bi, ci, di, n1i=n1i, n2i=n2i)
    level = check_level(level)
    n1, n2 = a + b, c + d
    nn = n1 + n2
    m1 = a + c
    oe = a - n1 * m1 / nn
    with np.errstate(divide="ignore", invalid="ignore"):
        var = np.where(nn > 1, n1 * n2 * m1 * (nn - m1) / (nn**2 * (nn - 1)), 0.0)
    sv = float(np.sum(var))
    if sv <= 0:
        raise ValueError("ai/ci: no table carries information (all variances are 0)")
    est = float(np.sum(oe)) / sv
    se = 1.0 / math.sqrt(sv)
    return _result(a, b, c, d, est, se, "PETO", "Peto", level, None, None)


def _result(
    a: FloatArray,
    b: FloatArray,
    c: FloatArray,
    d: FloatArray,
    est: float,
    se: float,
    measure: str,
    method: str,
    level: float,
    cmh: float | None,
    cmh_p: float | None,
) -> MetaTableResult:
    z = est / se
    crit = float(stats.norm.isf((1.0 - level) / 2.0))
    q, df, qp, i2, h2 = _heterogeneity(a, b, c, d, measure, est)
    return MetaTableResult(
        estimate=est,
        se=se,
        ci=(est - crit * se, est + crit * se),
        statistic=z,
        p_value=float(2.0 * stats.norm.sf(abs(z))),
        q=q,
        q_df=df,
        q_p_value=qp,
        i2=i2,
        h2=h2,
        cmh_statistic=cmh,
        cmh_p_value=cmh_p,
        measure="OR" if measure == "PETO" else measure,
        method=method,
        n=int(a.size),
    )
