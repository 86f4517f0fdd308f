"""The 2x2-table tests that :func:`celltrial.stats.claims.check_claim` recomputes.

A small adapter over :mod:`celltrial.stats.binary` (statistics core I), so that the claim
checker depends on one function, ``two_by_two_p_values``:

* Fisher's exact test, two-sided by R's rule (``fisher.test``), and its mid-p (Lancaster: the
  tables less likely than the observed one plus half the equally likely ones);
* Pearson's chi-square without and with Yates' correction (``chisq.test(correct=)``);
* Barnard's and Boschloo's unconditional exact tests (scipy underneath).
"""

from __future__ import annotations

import numpy as np

from celltrial.stats.binary import barnard_exact, boschloo_exact, chi_square, fisher_exact

__all__ = ["TEST_NAMES", "two_by_two_p_values"]

#: The tests, by the names :func:`check_claim` accepts.
TEST_NAMES = ("fisher", "chi2", "chi2_yates", "barnard", "boschloo", "mid_p")


def two_by_two_p_values(events1: int, n1: int, events2: int, n2: int) -> dict[str, float]:
    """Two-sided p-values of every test in :data:`TEST_NAMES` for ``events1/n1 vs events2/n2``."""
    t = np.array([[events1, n1 - events1], [events2, n2 - events2]], dtype=np.int64)
    fisher = fisher_exact(t)
    out = {
        "fisher": fisher.p_value,
        "chi2": chi_square(t, correction=False).p_value,
        "chi2_yates": chi_square(t, correction=True).p_value,
        "mid_p": fisher.mid_p,
    }
    if np.any(t.sum(axis=0) == 0):
        # no events, or no non-events, at all: the unconditional tests have p = 1
        out["barnard"] = out["boschloo"] = 1.0
    else:
        out["barnard"] = barnard_exact(t).p_value
        out["boschloo"] = boschloo_exact(t).p_value
    return out
