"""The sort-key Kaplan–Meier counts and log-rank terms equal the former implementations.

The former code (two value sorts and binary searches) is kept here verbatim as the reference;
the new code must give every number identically (asserted to 1e-12, in practice bit for bit)
on random continuous, tied, stratified and k-group data.
"""

from __future__ import annotations

import numpy as np
import pytest

from celltrial.stats.kaplan_meier import _km_counts, kaplan_meier
from celltrial.stats.logrank import _packed_keys, _stratum_terms, logrank


def _old_km_counts(t, e):
    ts = np.sort(t)
    first = np.flatnonzero(np.concatenate(([True], ts[1:] != ts[:-1])))
    te = np.sort(t[e])
    ut0 = ts[first]
    wd = (np.searchsorted(te, ut0, side="right") - np.searchsorted(te, ut0, side="left")).astype(
        np.float64
    )
    wall = np.diff(np.append(first, t.size)).astype(np.float64)
    n_risk = (t.size - first).astype(np.float64)
    return ut0, n_risk, wd, wall - wd


def _old_stratum_terms(t, e, g, k, rho, gamma):
    te_all = np.sort(t[e])
    event_times = te_all[np.concatenate(([True], te_all[1:] != te_all[:-1]))]
    m = event_times.size
    n_risk_k = np.empty((m, k))
    deaths = np.empty((m, k))
    for j in range(k):
        in_j = g == j
        tj = np.sort(t[in_j])
        tej = np.sort(t[in_j & e])
        n_risk_k[:, j] = tj.size - np.searchsorted(tj, event_times, side="left")
        deaths[:, j] = np.searchsorted(tej, event_times, side="right") - np.searchsorted(
            tej, event_times, side="left"
        )
    d = deaths.sum(axis=1)
    n = n_risk_k.sum(axis=1)
    if rho == 0.0 and gamma == 0.0:
        w = np.ones_like(d)
    else:
        s_left = np.concatenate(([1.0], np.cumprod(1.0 - d / n)[:-1]))
        w = s_left**rho * (1.0 - s_left) ** gamma
    frac = n_risk_k / n[:, None]
    observed = (w[:, None] * deaths).sum(axis=0)
    expected = ((w * d)[:, None] * frac).sum(axis=0)
    nm1 = np.where(n > 1, n - 1, 1.0)
    c = np.where(n > 1, w**2 * d * (n - d) / nm1, 0.0)
    variance = np.diag((c[:, None] * frac).sum(axis=0)) - (frac * c[:, None]).T @ frac
    return observed, expected, variance


def _data(seed: int, n: int, tied: bool, k: int = 2, zeros: bool = True):
    rng = np.random.default_rng(seed)
    t = rng.exponential(10.0, n)
    if tied:
        t = np.ceil(t)
    if zeros:  # zeros, and a negative zero, must sort with the rest (the general path)
        t[: n // 50] = 0.0
        t[0] = -0.0
    e = rng.random(n) < 0.6
    g = rng.integers(0, k, n).astype(np.intp)
    return t, e, g


@pytest.mark.parametrize("tied", [False, True])
@pytest.mark.parametrize("seed", [1, 2, 3])
def test_km_counts_identical(seed: int, tied: bool) -> None:
    t, e, _ = _data(seed, 5000, tied)
    new = _km_counts(t, e, np.ones(t.size), None, weighted=False)
    old = _old_km_counts(t, e)
    for a, b in zip(new, old, strict=True):
        np.testing.assert_array_equal(a, b)
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=0)


@pytest.mark.parametrize("zeros", [False, True])  # packed one-sort keys / per-group merge
@pytest.mark.parametrize("tied", [False, True])
@pytest.mark.parametrize("k", [2, 3, 5])
@pytest.mark.parametrize("rho_gamma", [(0.0, 0.0), (1.0, 0.0), (0.5, 1.0)])
def test_logrank_terms_identical(
    tied: bool, k: int, rho_gamma: tuple[float, float], zeros: bool
) -> None:
    t, e, g = _data(7 + k, 4000, tied, k, zeros)
    if k > 2:
        g[g == k - 1] = 0  # one group empty in this stratum
    assert (_packed_keys(t, e, g, k) is None) == zeros
    new = _stratum_terms(t, e, g, k, *rho_gamma)
    old = _old_stratum_terms(t, e, g, k, *rho_gamma)
    for a, b in zip(new, old, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-12)


def test_packed_keys_refuse_a_wide_span() -> None:
    """Times from 1e-300 to 1e300 do not fit beside the group bits: the merge path is taken,
    with the same result."""
    t, e, g = _data(5, 2000, False, 2, zeros=False)
    t[:10] = 1e-300
    t[10:20] = 1e300
    assert _packed_keys(t, e, g, 2) is None
    new = _stratum_terms(t, e, g, 2, 0.0, 0.0)
    old = _old_stratum_terms(t, e, g, 2, 0.0, 0.0)
    for a, b in zip(new, old, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-12)


def test_public_results_unchanged_on_random_data() -> None:
    t, e, g = _data(11, 3000, False, 3)
    fit = kaplan_meier(t, e)
    ut, n_risk, d, _ = _old_km_counts(t, e)
    np.testing.assert_array_equal(fit.time, ut)
    np.testing.assert_array_equal(fit.estimate, np.cumprod(1.0 - d / n_risk))
    strata = np.arange(t.size) % 2
    res = logrank(t, e, g, strata=strata)
    o = np.zeros(3)
    ex = np.zeros(3)
    for s in range(2):
        oo, ee, _ = _old_stratum_terms(t[strata == s], e[strata == s], g[strata == s], 3, 0.0, 0.0)
        o += oo
        ex += ee
    np.testing.assert_allclose(res.observed, o, rtol=1e-12, atol=0)
    np.testing.assert_allclose(res.expected, ex, rtol=1e-12, atol=0)


def test_km_se_and_ci_on_first_access_are_fields() -> None:
    """``se`` and ``ci`` are computed when first read, then kept; they remain dataclass fields
    (to_dict, summary, equality, copies and pickles carry them) with the former values."""
    import copy
    import dataclasses
    import pickle

    from celltrial.stats.kaplan_meier import _confint, _z

    t, e, _ = _data(3, 500, True)
    fit = kaplan_meier(t, e, ci="log-log", level=0.9)
    assert "ci" not in vars(fit) and "se" not in vars(fit)
    names = [f.name for f in dataclasses.fields(fit)]
    assert names.index("se") < names.index("se_log") < names.index("ci") < names.index("level")
    back = pickle.loads(pickle.dumps(fit))  # pickled before the first access
    twin = copy.deepcopy(fit)
    with np.errstate(invalid="ignore"):
        np.testing.assert_array_equal(fit.se, fit.estimate * fit.se_log)
    np.testing.assert_array_equal(fit.ci, _confint(fit.estimate, fit.se_log, _z(0.9), "log-log"))
    assert fit.ci is fit.ci  # kept
    d = fit.to_dict()
    assert len(d["ci"]) == fit.time.size and len(d["se"]) == fit.time.size
    assert "ci: array" in fit.summary()
    np.testing.assert_array_equal(back.ci, fit.ci)
    np.testing.assert_array_equal(twin.se, fit.se)
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        _ = fit.nope


def test_cox_rows_in_bin_order_same_fit_and_no_scratch_kept(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Rows kept in bin order (forced here at a small size) give the same fit, bit for bit, as
    rows in their original order, robust variance and zph included; the result keeps no
    scratch arrays."""
    from celltrial.stats import cox, cox_ph

    rng = np.random.default_rng(4)
    n = 3000
    X = rng.standard_normal((n, 2))
    t = np.round(rng.exponential(5.0, n), 1)  # ties: Efron's correction in play
    e = rng.random(n) < 0.7
    strata = rng.integers(0, 2, n)
    fits = []
    for limit in (1 << 40, 0):  # never / always sort the rows
        monkeypatch.setattr(cox, "_SORT_ROWS_ABOVE", limit)
        fits.append(cox_ph(X, t, e, strata=strata, robust=True))
    a, b = fits
    for name in ("estimate", "se", "variance", "loglik"):
        np.testing.assert_array_equal(np.asarray(getattr(a, name)), np.asarray(getattr(b, name)))
    assert a.score_test.statistic == b.score_test.statistic
    np.testing.assert_array_equal(a.zph().statistic, b.zph().statistic)
    assert b._fit.strata[0].rows is not None
    assert all(not s.work for s in b._fit.strata)


def _prev_stratum_terms(t, e, g, k, rho, gamma):
    """The log-rank terms as before the (times x groups) layout and integer counts (issue 22,
    ae57b77): (groups x times) arrays, float cumulative counts, the variance's product on
    transposed copies. The new code must give the same bits."""

    def sums(rows):
        return np.zeros(rows.shape[0]) if rows.shape[1] == 0 else np.array(
            [np.cumsum(r)[-1] for r in rows]
        )  # fmt: skip

    def variance(cf, frac):
        cfm = np.ascontiguousarray(cf.T)
        return np.diag(sums(cf)) - cfm.T @ np.ascontiguousarray(frac.T)

    sizes = np.bincount(g, minlength=k)
    keys, gbits = _packed_keys(t, e, g, k)
    tag = (keys & np.uint64((2 << gbits) - 1)).astype(np.uint8)
    np.right_shift(keys, np.uint64(gbits + 1), out=keys)
    new = keys[1:] != keys[:-1]
    distinct = bool(new.all())
    if distinct:
        at = np.flatnonzero(tag & 1)
        first = hit = at
        d_all = None
    else:
        first = np.flatnonzero(np.concatenate(([True], new)))
        d_all = np.add.reduceat((tag & 1).astype(np.int64), first)
        hit = np.flatnonzero(d_all)
        at = first[hit]
    m = at.size
    n = np.subtract(float(t.size), at)
    n_risk = np.empty((k, m))
    deaths = np.empty((k, m))
    for j in range(k - 1):
        before = np.cumsum((tag >> 1 == j).astype(np.float64))
        n_risk[j] = sizes[j] - (before[at] - (tag[at] >> 1 == j))
        if distinct:
            deaths[j] = tag[at] == 2 * j + 1
        else:
            deaths[j] = np.add.reduceat((tag == 2 * j + 1).astype(np.int64), first)[hit]
    rest_n = n_risk[0] if k == 2 else n_risk[: k - 1].sum(axis=0)
    rest_d = deaths[0] if k == 2 else deaths[: k - 1].sum(axis=0)
    n_risk[k - 1] = n - rest_n
    frac = n_risk / n
    if distinct and rho == 0.0 and gamma == 0.0:
        deaths[k - 1] = 1.0 - rest_d
        cf = frac.copy()
        if m and n[-1] <= 1:
            cf[:, -1] = 0.0
        return deaths.sum(axis=1), sums(frac), variance(cf, frac)
    d = np.ones(m) if d_all is None else d_all[hit].astype(np.float64)
    deaths[k - 1] = d - rest_d
    nm1 = np.where(n > 1, n - 1, 1.0)
    if rho == 0.0 and gamma == 0.0:
        observed, wd = deaths.sum(axis=1), d
        c = np.where(n > 1, d * (n - d) / nm1, 0.0)
    else:
        s_left = np.concatenate(([1.0], np.cumprod(1.0 - d / n)[:-1]))
        w = s_left**rho * (1.0 - s_left) ** gamma
        observed, wd = sums(w * deaths), w * d
        c = np.where(n > 1, w**2 * d * (n - d) / nm1, 0.0)
    return observed, sums(wd * frac), variance(c * frac, frac)


@pytest.mark.parametrize("last_event", [False, True])  # the last time's row zeroed in cf
@pytest.mark.parametrize("tied", [False, True])
@pytest.mark.parametrize("k", [2, 3])
@pytest.mark.parametrize("rho_gamma", [(0.0, 0.0), (1.0, 0.0), (0.5, 1.0)])
def test_logrank_terms_bit_for_bit_as_before_the_layout_change(
    tied: bool, k: int, rho_gamma: tuple[float, float], last_event: bool
) -> None:
    """Old vs new (issue 22): (times x groups) arrays, int32 counts, one cumulative sum per
    group for E and the variance's diagonal: every number the same bits (20,000 rows, so the
    matrix product runs through BLAS as at a million)."""
    t, e, g = _data(21 + k, 20_000, tied, k, zeros=False)
    e[np.argmax(t)] = last_event
    new = _stratum_terms(t, e, g, k, *rho_gamma)
    old = _prev_stratum_terms(t, e, g, k, *rho_gamma)
    for a, b in zip(new, old, strict=True):
        assert np.array_equal(a, b)
    res = logrank(t, e, g.astype(float) * 2.5, rho=rho_gamma[0], gamma=rho_gamma[1])
    assert np.array_equal(res.variance, old[2])  # (float labels: the linear label coding)
    assert res.n.tolist() == np.bincount(g).tolist()
