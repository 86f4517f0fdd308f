"""Checks of published claims beyond two proportions and log-rank (see :mod:`.claims`).

Every reported number carries its precision: ``"0.45"`` stands for any value in
``[0.445, 0.455]``. A check recomputes what the claim's other numbers imply over that whole
rounding box and calls the claim consistent when some value in the box gives the reported one:

* **r x c tables** (:func:`check_table`): Pearson's chi-square (R ``chisq.test(correct =
  FALSE)``; with Yates' correction too for 2 x 2) and the Fisher-Freeman-Halton exact test
  (R ``fisher.test``), by enumerating every table with the observed margins.
* **Ratio and difference estimates with a CI** (:func:`check_estimate`): RR, OR, HR (log
  scale), RD and MD (linear). The estimate must lie in its CI; the p-value implied by the
  estimate and the CI's width (Altman & Bland 2011: ``SE = (u - l) / (2 z)``, ``z = est / SE``)
  must admit the reported p; with counts, the estimate must follow from them (and whether the
  Wald CI reproduces the reported one is said).
* **Two means from summary statistics** (:func:`check_means`): Student's and Welch's t-test
  from means, SDs and ns (R ``t.test`` on data with those summaries), and a reported mean
  difference and its CI.
* **GRIMMER** (:func:`grimmer`, Anaya 2016): can ``n`` integers have the reported mean *and*
  SD? A sum of squares of integers is an integer with the parity of their sum.
* **Medians and IQRs** (:func:`check_median_iqr`): order, and for integer data the only
  values a median (``k`` or ``k + 1/2``) and quartiles (multiples of 1/4) can take. A p-value
  of a rank test cannot be recomputed from medians and IQRs: said, never guessed.

References
----------
Altman DG, Bland JM (2011). How to obtain the P value from a confidence interval. BMJ 343:d2304.
Anaya J (2016). The GRIMMER test. PeerJ Preprints 4:e2400v1.
Freeman GH, Halton JH (1951). Biometrika 38:141-149.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from decimal import Decimal

import numpy as np
from scipy import special, stats

from celltrial.stats.claims import ClaimCheck, ReportedP, Verdict, parse_p_value

__all__ = [
    "check_estimate",
    "check_means",
    "check_median_iqr",
    "check_table",
    "fisher_freeman_halton",
    "grimmer",
]


def _num(x: str | float, what: str) -> tuple[float, float]:
    """A reported number and half a unit of its last digit."""
    text = repr(float(x)) if isinstance(x, float) else str(x).strip()
    text = text.replace("−", "-")
    try:
        dec = Decimal(text)
    except ArithmeticError:
        raise ValueError(f"{what}: cannot read the number {x!r}") from None
    exponent = dec.as_tuple().exponent
    assert isinstance(exponent, int)
    return float(dec), 0.5 * 10.0**exponent


def _interval(reported: ReportedP) -> tuple[float, float]:
    if reported.relation == "=":
        return reported.value - reported.half_unit, reported.value + reported.half_unit
    if reported.relation in ("<", "<="):
        return 0.0, reported.value
    return reported.value, 1.0


def _overlaps(reported: ReportedP, lo: float, hi: float) -> bool:
    a, b = _interval(reported)
    if reported.relation == "<":
        return lo < b
    if reported.relation == ">":
        return hi > a
    return lo <= b * (1 + 1e-9) + 1e-15 and hi >= a * (1 - 1e-9) - 1e-15


def _result(
    verdict: Verdict,
    reason: str,
    kind: str,
    reported: ReportedP | None,
    p_values: dict[str, float],
    matching: Sequence[str],
    p_range: tuple[float, float] | None,
    method: str,
    n: tuple[int, ...],
) -> ClaimCheck:
    return ClaimCheck(
        verdict=verdict,
        reason=reason,
        kind=kind,
        reported=reported.text if reported is not None else None,
        p_values=p_values,
        matching=tuple(matching),
        p_range=p_range,
        method=method,
        n=n,
    )


# ----- r x c tables ---------------------------------------------------------------------------


def _tables(rows: np.ndarray, cols: np.ndarray, limit: int) -> list[np.ndarray]:
    """Every table of non-negative integers with the given margins (at most ``limit``)."""
    r, c = rows.size, cols.size
    out: list[np.ndarray] = []

    def fill(i: int, cols_left: np.ndarray, acc: list[np.ndarray]) -> None:
        if len(out) > limit:
            return
        if i == r - 1:
            out.append(np.vstack([*acc, cols_left]))
            return
        total = int(rows[i])

        def row(j: int, left: int, cells: list[int]) -> None:
            if len(out) > limit:
                return
            if j == c - 1:
                if left <= cols_left[j]:
                    cells_ = np.array([*cells, left])
                    fill(i + 1, cols_left - cells_, [*acc, cells_])
                return
            rest_cap = int(cols_left[j + 1 :].sum())
            for x in range(max(0, left - rest_cap), min(left, int(cols_left[j])) + 1):
                row(j + 1, left - x, [*cells, x])

        row(0, total, [])

    fill(0, cols.astype(np.int64), [])
    return out


def fisher_freeman_halton(table: np.ndarray, *, limit: int = 2_000_000) -> float:
    """Exact p of an r x c table: the probability of tables no more likely than it.

    Conditional on both margins (multivariate hypergeometric); ties within a relative 1e-7, as
    R's ``fisher.test``. Raises ``ValueError`` when more than ``limit`` tables have the margins.
    """
    t = np.asarray(table, dtype=np.int64)
    rows, cols = t.sum(axis=1), t.sum(axis=0)
    total = int(t.sum())
    const = (
        special.gammaln(rows + 1).sum()
        + special.gammaln(cols + 1).sum()
        - special.gammaln(total + 1)
    )

    def logp(x: np.ndarray) -> float:
        return float(const - special.gammaln(x + 1).sum())

    tables = _tables(rows, cols, limit)
    if len(tables) > limit:
        raise ValueError(f"table: more than {limit} tables have these margins; not checkable")
    lp = np.array([logp(x) for x in tables])
    obs = logp(t)
    return float(min(1.0, np.exp(lp[lp <= obs + math.log1p(1e-7)]).sum()))


def check_table(
    table: Sequence[Sequence[int]], *, p_value: str | float | None, test: tuple[str, ...] | None
) -> ClaimCheck:
    """A p-value reported for an r x c table of counts (rows: arms; columns: categories).

    ``test`` is what :func:`celltrial.stats.claims.normalise_test` made of the paper's words;
    ``None`` admits Pearson's chi-square (and Yates' for 2 x 2) and Fisher-Freeman-Halton.
    R: ``chisq.test(m, correct = FALSE)``, ``fisher.test(m)``.
    """
    t = np.asarray(table, dtype=np.int64)
    if t.ndim != 2 or min(t.shape) < 2 or np.any(t < 0):
        raise ValueError("table: give at least 2 rows (arms) and 2 columns of counts >= 0")
    keep_r, keep_c = t.sum(axis=1) > 0, t.sum(axis=0) > 0
    t = t[keep_r][:, keep_c]
    reported = parse_p_value(p_value) if p_value is not None else None
    kind = f"{t.shape[0]} x {t.shape[1]} table"
    ps: dict[str, float] = {}
    if min(t.shape) >= 2:
        ps["chi2"] = float(stats.chi2_contingency(t, correction=False)[1])
        if t.shape == (2, 2):
            ps["chi2_yates"] = float(stats.chi2_contingency(t, correction=True)[1])
        ps["fisher"] = fisher_freeman_halton(t)
    else:
        ps = {"chi2": 1.0, "fisher": 1.0}
    method = "Pearson chi-square" + (", Yates" if t.shape == (2, 2) else "")
    method += ", Fisher-Freeman-Halton exact (every table with the margins)"
    if reported is None:
        return _result(
            "not checkable",
            "no p-value was reported",
            kind,
            None,
            ps,
            (),
            None,
            method,
            tuple(int(x) for x in t.sum(axis=1)),
        )
    allowed = test if test is not None else tuple(ps)
    matching = [k for k in ps if k in allowed and reported.admits(ps[k])]
    got = ", ".join(f"{k} {v:.4g}" for k, v in ps.items())
    if matching:
        verdict: Verdict = "consistent"
        reason = f"{reported.text} is reproduced by {', '.join(matching)} ({got})"
    else:
        verdict = "inconsistent"
        named = f"{' or '.join(test)} gives" if test is not None else "no test gives"
        reason = f"{named} {reported.text}: {got}"
    return _result(
        verdict,
        reason,
        kind,
        reported,
        ps,
        matching,
        (min(ps.values()), max(ps.values())),
        method,
        tuple(int(x) for x in t.sum(axis=1)),
    )


# ----- estimates with a CI --------------------------------------------------------------------

_RATIO = ("RR", "OR", "HR")
_MEASURES = ("RR", "OR", "HR", "RD", "MD")


def _from_counts(measure: str, e1: int, n1: int, e2: int, n2: int) -> tuple[float, float, bool]:
    """Estimate (log scale for ratios) and its Wald SE from a 2 x 2 table (1/2 added to each
    cell of a table with a zero cell for RR and OR, as metafor's ``escalc``)."""
    a, b, c, d = float(e1), float(n1 - e1), float(e2), float(n2 - e2)
    corrected = measure in ("RR", "OR") and min(a, b, c, d) == 0
    if corrected:
        a, b, c, d = a + 0.5, b + 0.5, c + 0.5, d + 0.5
    if measure == "RR":
        return (
            math.log((a / (a + b)) / (c / (c + d))),
            math.sqrt(1 / a - 1 / (a + b) + 1 / c - 1 / (c + d)),
            corrected,
        )
    if measure == "OR":
        return math.log(a * d / (b * c)), math.sqrt(1 / a + 1 / b + 1 / c + 1 / d), corrected
    p1, p2 = a / (a + b), c / (c + d)
    return p1 - p2, math.sqrt(p1 * (1 - p1) / (a + b) + p2 * (1 - p2) / (c + d)), corrected


def check_estimate(
    *,
    measure: str,
    estimate: str | float,
    ci: tuple[str | float, str | float],
    p_value: str | float | None = None,
    level: float = 0.95,
    counts: tuple[int, int, int, int] | None = None,
    scale: float = 1.0,
) -> ClaimCheck:
    """Are a reported estimate, its CI and its p-value consistent with each other (and counts)?

    Parameters
    ----------
    measure
        ``RR``, ``OR``, ``HR`` (ratios: log scale) or ``RD``, ``MD`` (differences).
    estimate, ci
        As reported (strings keep their digits: ``"0.40"``).
    p_value
        The reported p-value, if any.
    level
        The CI's level.
    counts
        ``(e1, n1, e2, n2)`` behind an RR, OR or RD, when reported.
    scale
        100 when an RD is reported in percentage points.

    Notes
    -----
    The p implied by estimate and CI (Altman & Bland 2011) is ``2 Phi(-|est| / SE)`` with
    ``SE = (u - l) / (2 z_{(1+level)/2})`` (log scale for ratios). Over the rounding box of
    the three numbers ``|est| / SE`` is monotone in each, so its range is attained at the box's
    corners. An asymmetric CI (e.g. exact or profile likelihood) is noted, not faulted.
    """
    m = measure.upper()
    if m not in _MEASURES:
        raise ValueError(f"measure: {measure!r} is not one of {', '.join(_MEASURES)}")
    est, he = _num(estimate, "estimate")
    (lo, hl), (hi, hh) = _num(ci[0], "ci"), _num(ci[1], "ci")
    reported = parse_p_value(p_value) if p_value is not None else None
    kind = f"{m} with {round(100 * level)}% CI"
    problems: list[str] = []
    notes: list[str] = []
    if not (lo - hl <= est + he and est - he <= hi + hh):
        problems.append(f"the estimate {estimate} lies outside its CI {ci[0]} to {ci[1]}")
    if m in _RATIO and min(lo, est) <= 0:
        problems.append(f"a {m} and its CI must be positive")
    z = float(stats.norm.isf((1 - level) / 2))
    tr = (lambda v: math.log(max(v, 1e-300))) if m in _RATIO else (lambda v: v)
    zs = []
    mids = []
    for e_, l_, u_ in itertools.product(
        (est - he, est + he), (lo - hl, lo + hl), (hi - hh, hi + hh)
    ):
        if m in _RATIO and min(e_, l_, u_) <= 0:
            continue
        if u_ <= l_:
            continue
        se = (tr(u_) - tr(l_)) / (2 * z)
        zs.append(abs(tr(e_)) / se)
        mids.append(((tr(u_) + tr(l_)) / 2, tr(e_)))
    ps: dict[str, float] = {}
    p_lo = p_hi = math.nan
    if zs and not problems:
        # |est| may pass through 0 inside the box: then p reaches 1
        crosses = (tr(est - he) <= 0 <= tr(est + he)) if m not in _RATIO or est - he > 0 else True
        z_lo, z_hi = (0.0 if crosses else min(zs)), max(zs)
        p_lo, p_hi = float(2 * stats.norm.sf(z_hi)), float(2 * stats.norm.sf(z_lo))
        ps = {"p_from_ci_min": p_lo, "p_from_ci_max": p_hi}
        centre_lo = min(c for c, _ in mids)
        centre_hi = max(c for c, _ in mids)
        if not (centre_lo - 1e-12 <= tr(est + he) and tr(est - he) <= centre_hi + 1e-12):
            notes.append(
                "the CI is not symmetric about the estimate"
                + (" on the log scale" if m in _RATIO else "")
                + " (an exact, profile-likelihood or t-based CI?)"
            )
    if counts is not None and m != "HR" and m != "MD":
        e1, n1, e2, n2 = counts
        point, se, corrected = _from_counts(m, e1, n1, e2, n2)
        shown = math.exp(point) if m in _RATIO else point * scale
        if abs(shown - est) > he * (1 + 1e-9) + 1e-12:
            problems.append(
                f"{e1}/{n1} vs {e2}/{n2} give {m} {shown:.4g}, not {estimate}"
                + (" (1/2 added to each cell)" if corrected else "")
            )
        else:
            w = (
                (math.exp(point - z * se), math.exp(point + z * se))
                if m in _RATIO
                else ((point - z * se) * scale, (point + z * se) * scale)
            )
            if abs(w[0] - lo) <= hl * (1 + 1e-9) and abs(w[1] - hi) <= hh * (1 + 1e-9):
                notes.append(
                    f"the Wald CI from the counts ({w[0]:.4g} to {w[1]:.4g}) reproduces it"
                )
            else:
                notes.append(
                    f"the Wald CI from the counts is {w[0]:.4g} to {w[1]:.4g} (another method "
                    "was used, or other counts)"
                )
    null_in = lo - hl <= (1.0 if m in _RATIO else 0.0) <= hi + hh
    method = "p from the estimate and CI (Altman & Bland 2011) over the rounding box"
    p_range = (p_lo, p_hi) if ps else None
    if problems:
        return _result(
            "inconsistent", "; ".join(problems + notes), kind, reported, ps, (), p_range, method, ()
        )
    if reported is None:
        reason = "estimate within its CI" + ("; " + "; ".join(notes) if notes else "")
        return _result(
            "consistent", reason + " (no p-value reported)", kind, None, ps, (), p_range, method, ()
        )
    # significance must agree with the CI whatever the method
    if (
        reported.relation in ("<", "<=")
        and reported.value <= 1 - level
        and null_in
        and not (
            lo - hl < (1.0 if m in _RATIO else 0.0) < lo + hl
            or hi - hh < (1.0 if m in _RATIO else 0.0) < hi + hh
        )
    ):
        return _result(
            "inconsistent",
            f"{reported.text} but the {round(100 * level)}% CI {ci[0]} to {ci[1]} includes the null",
            kind,
            reported,
            ps,
            (),
            p_range,
            method,
            (),
        )
    if _overlaps(reported, p_lo, p_hi):
        reason = (
            f"estimate and CI imply p {p_lo:.3g} to {p_hi:.3g} (normal, {'log scale' if m in _RATIO else 'linear'}), "
            f"admitting {reported.text}"
        )
        return _result(
            "consistent",
            "; ".join([reason, *notes]),
            kind,
            reported,
            ps,
            ("p_from_ci",),
            p_range,
            method,
            (),
        )
    verdict: Verdict = "inconsistent"
    reason = (
        f"estimate and CI imply p {p_lo:.3g} to {p_hi:.3g} (normal, "
        f"{'log scale' if m in _RATIO else 'linear'}), not {reported.text}"
    )
    if notes and any("not symmetric" in x for x in notes):
        # a CI not from est +- z SE: the implied p is only approximate
        verdict = "not checkable"
        reason += "; but the CI is not symmetric, so it did not come from est ± z SE"
    return _result(
        verdict,
        "; ".join([reason, *[x for x in notes if "not symmetric" not in x]]),
        kind,
        reported,
        ps,
        (),
        p_range,
        method,
        (),
    )


# ----- two means ------------------------------------------------------------------------------


def _t_p(d: float, s1: float, s2: float, n1: int, n2: int, welch: bool) -> float:
    if welch:
        v1, v2 = s1 * s1 / n1, s2 * s2 / n2
        se = math.sqrt(v1 + v2)
        df = (v1 + v2) ** 2 / (v1 * v1 / (n1 - 1) + v2 * v2 / (n2 - 1))
    else:
        df = n1 + n2 - 2
        sp2 = ((n1 - 1) * s1 * s1 + (n2 - 1) * s2 * s2) / df
        se = math.sqrt(sp2 * (1 / n1 + 1 / n2))
    if se <= 0:
        return 1.0 if d == 0 else 0.0
    return float(2 * stats.t.sf(abs(d) / se, df))


def check_means(
    *,
    means: tuple[str | float, str | float],
    sds: tuple[str | float, str | float],
    n: tuple[int, int],
    p_value: str | float | None = None,
    test: tuple[str, ...] | None = None,
    estimate: str | float | None = None,
    ci: tuple[str | float, str | float] | None = None,
    level: float = 0.95,
) -> ClaimCheck:
    """A p-value (and mean difference with CI) reported for two means with SDs and ns.

    ``test``: ``("student",)``, ``("welch",)`` or ``None`` (either). Over the rounding box of
    the means and SDs, the t-test p ranges from the largest ``|diff|`` with the smallest SDs to
    the smallest ``|diff|`` with the largest SDs (Welch's df is evaluated on a 5 x 5 grid of the
    SDs). R: ``t.test(x, y, var.equal = TRUE / FALSE)`` on data with these summaries.
    """
    (m1, h1), (m2, h2) = _num(means[0], "means"), _num(means[1], "means")
    (s1, k1), (s2, k2) = _num(sds[0], "sds"), _num(sds[1], "sds")
    n1, n2 = int(n[0]), int(n[1])
    if n1 < 2 or n2 < 2:
        raise ValueError(f"n: each group needs at least 2, got {(n1, n2)}")
    if s1 < 0 or s2 < 0:
        raise ValueError("sds: an SD cannot be negative")
    reported = parse_p_value(p_value) if p_value is not None else None
    d_lo, d_hi = (m1 - h1) - (m2 + h2), (m1 + h1) - (m2 - h2)
    d_min = 0.0 if d_lo <= 0 <= d_hi else min(abs(d_lo), abs(d_hi))
    d_max = max(abs(d_lo), abs(d_hi))
    grid1 = np.linspace(max(s1 - k1, 1e-12), s1 + k1, 5)
    grid2 = np.linspace(max(s2 - k2, 1e-12), s2 + k2, 5)
    ps: dict[str, float] = {}
    ranges: dict[str, tuple[float, float]] = {}
    for name, welch in (("student", False), ("welch", True)):
        lo = min(_t_p(d_max, a, b, n1, n2, welch) for a in grid1 for b in grid2)
        hi = max(_t_p(d_min, a, b, n1, n2, welch) for a in grid1 for b in grid2)
        ranges[name] = (lo, hi)
        ps[name] = _t_p(m1 - m2, s1, s2, n1, n2, welch)
    kind = "two means (t-test from summary statistics)"
    method = "Student and Welch t over the rounding box of the means and SDs"
    problems: list[str] = []
    notes: list[str] = []
    if estimate is not None:
        e, he = _num(estimate, "estimate")
        if not (d_lo - he - 1e-12 <= e <= d_hi + he + 1e-12):
            problems.append(f"the mean difference {estimate} is not {means[0]} - {means[1]}")
        if ci is not None:
            (lo_, hl), (hi_, hh) = _num(ci[0], "ci"), _num(ci[1], "ci")
            width = (hi_ + hh) - (lo_ - hl), (hi_ - hh) - (lo_ + hl)
            fits = []
            for name, welch in (("student", False), ("welch", True)):
                ws = []
                for a in (grid1[0], grid1[-1]):
                    for b in (grid2[0], grid2[-1]):
                        if welch:
                            v1, v2 = a * a / n1, b * b / n2
                            se = math.sqrt(v1 + v2)
                            df = (v1 + v2) ** 2 / (v1 * v1 / (n1 - 1) + v2 * v2 / (n2 - 1))
                        else:
                            df = n1 + n2 - 2
                            se = math.sqrt(
                                ((n1 - 1) * a * a + (n2 - 1) * b * b) / df * (1 / n1 + 1 / n2)
                            )
                        ws.append(2 * float(stats.t.isf((1 - level) / 2, df)) * se)
                if min(ws) <= width[0] + 1e-12 and max(ws) >= width[1] - 1e-12:
                    fits.append(name)
            if fits:
                notes.append(f"the CI's width fits {' and '.join(fits)}")
            else:
                problems.append(
                    f"the CI {ci[0]} to {ci[1]} is not the t interval of these means and SDs"
                )
    allowed = test if test is not None else ("student", "welch")
    p_range = (min(r[0] for r in ranges.values()), max(r[1] for r in ranges.values()))
    if problems:
        return _result(
            "inconsistent", "; ".join(problems), kind, reported, ps, (), p_range, method, (n1, n2)
        )
    if reported is None:
        return _result(
            "consistent" if estimate is not None else "not checkable",
            "; ".join(notes) or "no p-value was reported",
            kind,
            None,
            ps,
            (),
            p_range,
            method,
            (n1, n2),
        )
    matching = [k for k in allowed if _overlaps(reported, *ranges[k])]
    shown = ", ".join(f"{k} {ranges[k][0]:.3g} to {ranges[k][1]:.3g}" for k in ranges)
    if matching:
        return _result(
            "consistent",
            f"{reported.text} is attainable by {', '.join(matching)} ({shown})",
            kind,
            reported,
            ps,
            matching,
            p_range,
            method,
            (n1, n2),
        )
    return _result(
        "inconsistent",
        f"{' or '.join(allowed)} gives {shown}, not {reported.text}",
        kind,
        reported,
        ps,
        (),
        p_range,
        method,
        (n1, n2),
    )


# ----- GRIMMER --------------------------------------------------------------------------------


def grimmer(mean: str | float, sd: str | float, n: int, *, items: int = 1) -> ClaimCheck:
    """GRIMMER: can ``n`` integers have the reported mean and (sample, n - 1) SD?

    For each integer total ``T`` allowed by GRIM, the sum of squares ``S`` must be an integer
    with ``S = T (mod 2)`` and ``SD^2 = (S - T^2 / n) / (n - 1)`` must round to the reported SD.
    Multi-item scales (``items > 1``) are checked by GRIM only.
    """
    from celltrial.stats.claims import grim

    g = grim(mean, n, items=items)
    kind = "mean and SD of integers (GRIMMER)"
    if g.verdict == "inconsistent":
        return _result(
            "inconsistent", "GRIM: " + g.reason, kind, None, {}, (), None, "GRIM, GRIMMER", (n,)
        )
    if items != 1:
        return _result(
            "not checkable",
            "GRIMMER is implemented for single integers (items = 1); GRIM: " + g.reason,
            kind,
            None,
            {},
            (),
            None,
            "GRIM",
            (n,),
        )
    if n < 2:
        raise ValueError("n: an SD needs n >= 2")
    m, hm = _num(mean, "mean")
    s, hs = _num(sd, "sd")
    totals = range(math.ceil((m - hm) * n - 1e-9), math.floor((m + hm) * n + 1e-9) + 1)
    for t in totals:
        if abs(t / n - m) > hm * (1 + 1e-9) + 1e-12:
            continue
        s_lo = (n - 1) * max(s - hs, 0.0) ** 2 + t * t / n
        s_hi = (n - 1) * (s + hs) ** 2 + t * t / n
        for sq in range(math.ceil(s_lo - 1e-9), math.floor(s_hi + 1e-9) + 1):
            if (sq - t) % 2:
                continue
            var = (sq - t * t / n) / (n - 1)
            if var >= 0 and abs(math.sqrt(var) - s) <= hs * (1 + 1e-9) + 1e-12:
                return _result(
                    "consistent",
                    f"total {t} and sum of squares {sq} give mean {t / n:.6g}, SD {math.sqrt(var):.6g}",
                    kind,
                    None,
                    {},
                    (str(t), str(sq)),
                    None,
                    "GRIM, GRIMMER",
                    (n,),
                )
    return _result(
        "inconsistent",
        f"no {n} integers with mean {mean} have SD {sd} (no sum of squares of the right parity)",
        kind,
        None,
        {},
        (),
        None,
        "GRIM, GRIMMER",
        (n,),
    )


# ----- medians and IQRs -----------------------------------------------------------------------


def check_median_iqr(
    *,
    median: str | float,
    q1: str | float,
    q3: str | float,
    n: int | None = None,
    integer: bool = False,
    p_value: str | float | None = None,
) -> ClaimCheck:
    """A median with its quartiles: in order, and for ``n`` integers a median is a whole
    number (``n`` odd) or a half (``n`` even), whatever the quantile definition.

    Quartiles are not put on a lattice: it depends on the quantile definition (R's types 6
    and 7 give quarters, 8 and 9 other fractions). A p-value from medians and IQRs is not
    recomputed: a rank test needs the data, so such a claim is "not checkable", said so.
    """
    (md, hm), (a, ha), (b, hb) = _num(median, "median"), _num(q1, "q1"), _num(q3, "q3")
    kind = "median and IQR"
    reported = parse_p_value(p_value) if p_value is not None else None
    problems = []
    if not (a - ha <= md + hm and md - hm <= b + hb):
        problems.append(f"the median {median} lies outside its IQR {q1} to {q3}")
    if integer and n is not None:
        step = 0.5 if n % 2 == 0 else 1.0
        if not any(
            abs(k * step - md) <= hm * (1 + 1e-9)
            for k in range(math.floor((md - 1) / step), math.ceil((md + 1) / step) + 1)
        ):
            problems.append(
                f"a median of {n} integers is a whole number{' or a half' if n % 2 == 0 else ''}, not {median}"
            )
    if problems:
        return _result(
            "inconsistent",
            "; ".join(problems),
            kind,
            reported,
            {},
            (),
            None,
            "order and integer lattice",
            (n,) if n else (),
        )
    reason = "median within its IQR" + (" and on the integer lattice" if integer and n else "")
    if reported is not None:
        return _result(
            "not checkable",
            reason + f"; {reported.text} is from a rank test, which needs the data",
            kind,
            reported,
            {},
            (),
            None,
            "order",
            (n,) if n else (),
        )
    return _result(
        "consistent",
        reason,
        kind,
        None,
        {},
        (),
        None,
        "order and integer lattice",
        (n,) if n else (),
    )
