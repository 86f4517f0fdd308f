"""The 2x2-table tests that :func:`celltrial.stats.claims.check_claim` recomputes.

A small adapter, so that the claim checker depends on one function, ``two_by_two_p_values``.
It uses ``celltrial.stats.binary`` (statistics core I) when that module provides the test,
and otherwise scipy's implementation of the same test:

* Fisher's exact test, two-sided by R's rule (sum of tables no more probable than the observed
  one, relative tolerance 1e-7), as ``fisher.test``;
* Pearson's chi-square without and with Yates' correction, as ``chisq.test(correct=)``;
* Barnard's and Boschloo's unconditional exact tests (two-sided, nuisance parameter maximised
  over a grid of 32 points, scipy's default);
* the mid-p exact test: ``2 min(P(X < x) + P(X = x)/2, P(X > x) + P(X = x)/2)`` under the
  hypergeometric null (as epitools' ``midp.exact``/OpenEpi).
"""

from __future__ import annotations

import math

import numpy as np
from scipy import stats

__all__ = ["TEST_NAMES", "two_by_two_p_values"]

#: The tests, by the names :func:`check_claim` accepts.
TEST_NAMES = ("fisher", "chi2", "chi2_yates", "barnard", "boschloo", "mid_p")


def _fisher(t: np.ndarray) -> float:
    a, b = int(t[0, 0]), int(t[0, 1])
    c, d = int(t[1, 0]), int(t[1, 1])
    m, n, k = a + c, b + d, a + b
    lo, hi = max(0, k - n), min(k, m)
    support = np.arange(lo, hi + 1)
    dens = stats.hypergeom.pmf(support, m + n, m, k)
    d_obs = dens[a - lo]
    return float(min(1.0, dens[dens <= d_obs * (1.0 + 1e-7)].sum()))


def _mid_p(t: np.ndarray) -> float:
    a, b = int(t[0, 0]), int(t[0, 1])
    c, d = int(t[1, 0]), int(t[1, 1])
    m, n, k = a + c, b + d, a + b
    pmf = float(stats.hypergeom.pmf(a, m + n, m, k))
    lower = float(stats.hypergeom.cdf(a, m + n, m, k)) - pmf / 2.0
    upper = float(stats.hypergeom.sf(a - 1, m + n, m, k)) - pmf / 2.0
    return min(1.0, 2.0 * min(lower, upper))


def _chi2(t: np.ndarray, *, yates: bool) -> float:
    row = t.sum(axis=1)
    col = t.sum(axis=0)
    if np.any(row == 0) or np.any(col == 0):
        return math.nan
    total = t.sum()
    expected = np.outer(row, col) / total
    diff = np.abs(t - expected)
    if yates:
        diff = np.maximum(0.0, diff - min(0.5, float(diff.min())))
    stat = float(np.sum(diff**2 / expected))
    return float(stats.chi2.sf(stat, 1))


def two_by_two_p_values(
    events1: int, n1: int, events2: int, n2: int
) -> dict[str, float]:
    """Two-sided p-values of every test in :data:`TEST_NAMES` for ``events1/n1 vs events2/n2``."""
    t = np.array([[events1, n1 - events1], [events2, n2 - events2]], dtype=np.int64)
    out = {
        "fisher": _fisher(t),
        "chi2": _chi2(t.astype(float), yates=False),
        "chi2_yates": _chi2(t.astype(float), yates=True),
        "mid_p": _mid_p(t),
    }
    if np.any(t.sum(axis=0) == 0):
        # no events, or no non-events, at all: the unconditional tests have p = 1
        out["barnard"] = out["boschloo"] = 1.0
    else:
        # columns are the groups for scipy's unconditional tests
        tab = t.T
        out["barnard"] = float(stats.barnard_exact(tab).pvalue)
        out["boschloo"] = float(stats.boschloo_exact(tab).pvalue)
    return out
