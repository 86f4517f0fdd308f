"""Checks of published claims: does a reported p-value or mean follow from the reported counts?

Three kinds of claims:

* **Two proportions** (``events``, ``n`` or ``percentages``, ``p_value``): the p-value is
  recomputed with every test a paper plausibly used (Fisher's exact, chi-square with and without
  Yates' correction, Barnard, Boschloo, mid-p; see :mod:`celltrial.stats._claims_tests`). A
  reported ``"P = 0.294"`` is matched by any p that rounds to it (``|p - 0.294| <= 0.0005``); a
  threshold ``"P < 0.0001"`` by any ``p < 0.0001``. When the test is named, only that test can
  make the claim consistent (the others are still reported).
* **Survival, log-rank** (``events``, ``n``, ``p_value``, ``test="logrank"``): with only event
  counts and arm sizes the data are unknown, so the log-rank p-value is computed for *every*
  ordering of the ``n1 + n2`` event and censoring times (continuous time, no ties). The
  statistic only depends on the order, through ``U = sum_j (d_1j - n_1j / n_j)`` and
  ``V = sum_j n_1j n_2j / n_j^2`` over event times, so a dynamic programme over the state
  (events and censorings left in each arm) enumerates every attainable ``(U, V)`` exactly
  (duplicates merged). When that set grows beyond ``max_states`` pairs the check falls back to
  bounds: the largest attainable ``|U|`` and the smallest attainable ``V`` are each found exactly
  by dynamic programming, so ``chi2 <= max|U|^2 / min V`` is a guaranteed *floor* for the
  p-value (a claim below it is inconsistent); orderings found by that search and by a bounded
  pairwise-swap local search give attainable p-values (a claim inside their range is
  consistent); otherwise the verdict is "not checkable".
* **Means of integer data** (GRIM, Brown & Heathers 2017): a mean of ``n`` integers (``items``
  integers each) reported to ``d`` decimals is possible only if some integer total ``T`` has
  ``T / (n items)`` rounding to it. Not checkable when ``n items >= 10^d``.

References
----------
Brown NJL, Heathers JAJ (2017). The GRIM test. Soc Psychol Personal Sci 8:363-369.
Mantel N (1966). Cancer Chemother Rep 50:163-170 (the log-rank test).
"""

from __future__ import annotations

import dataclasses
import math
import re
from decimal import Decimal, InvalidOperation
from itertools import product
from typing import Any, Literal

import numpy as np
from scipy import stats

from celltrial.stats._claims_tests import TEST_NAMES, two_by_two_p_values
from celltrial.stats._result import Result

__all__ = [
    "ClaimCheck",
    "ReportedP",
    "check_claim",
    "counts_from_percentage",
    "grim",
    "logrank_p_range",
    "normalise_test",
    "parse_p_value",
]

Verdict = Literal["consistent", "consistent if", "inconsistent", "not checkable"]

#: the follow-up a log-rank check assumes: ``"complete"``, ``"any"`` or early censorings per arm
Censoring = Literal["complete", "any"] | tuple[int, int]

#: The tests a paper's wording can stand for (normalised: lower case, no "test", no hyphens).
#: "chi-square" alone admits Pearson's statistic with and without Yates' correction (R's
#: ``chisq.test`` corrects 2x2 tables by default); "Pearson" or "uncorrected" only without.
_TEST_ALIASES: dict[str, tuple[str, ...]] = {
    "fisher": ("fisher",),
    "fisher exact": ("fisher",),
    "fisher's exact": ("fisher",),
    "fishers exact": ("fisher",),
    "exact": ("fisher",),
    "fisher freeman halton": ("fisher",),
    "freeman halton": ("fisher",),
    "chi2": ("chi2", "chi2_yates"),
    "chi square": ("chi2", "chi2_yates"),
    "chi squared": ("chi2", "chi2_yates"),
    "χ2": ("chi2", "chi2_yates"),
    "χ²": ("chi2", "chi2_yates"),
    "pearson": ("chi2",),
    "pearson chi square": ("chi2",),
    "pearson chi squared": ("chi2",),
    "pearson's chi square": ("chi2",),
    "uncorrected chi square": ("chi2",),
    "chi2 pearson": ("chi2",),
    "chi2 yates": ("chi2_yates",),
    "yates": ("chi2_yates",),
    "chi square with yates": ("chi2_yates",),
    "chi square with yates correction": ("chi2_yates",),
    "chi squared with yates correction": ("chi2_yates",),
    "yates corrected chi square": ("chi2_yates",),
    "continuity corrected chi square": ("chi2_yates",),
    "barnard": ("barnard",),
    "boschloo": ("boschloo",),
    "mid p": ("mid_p",),
    "midp": ("mid_p",),
    "fisher mid p": ("mid_p",),
    "logrank": ("logrank",),
    "log rank": ("logrank",),
    "mantel cox": ("logrank",),
    # two means (celltrial.stats.claims_kinds.check_means)
    "t": ("student", "welch"),
    "student": ("student",),
    "student t": ("student",),
    "student's t": ("student",),
    "independent t": ("student", "welch"),
    "unpaired t": ("student", "welch"),
    "welch": ("welch",),
    "welch t": ("welch",),
    "welch's t": ("welch",),
    # rank tests: named so a record can say so; not recomputable from summaries
    "mann whitney": ("rank",),
    "mann whitney u": ("rank",),
    "wilcoxon": ("rank",),
    "wilcoxon rank sum": ("rank",),
    "kruskal wallis": ("rank",),
}


def normalise_test(test: str) -> tuple[str, ...]:
    """The tests a paper's wording stands for: ``"Chi-squared"`` -> ``("chi2", "chi2_yates")``.

    Raises ``ValueError`` naming the known wordings for anything else.
    """
    key = test.strip().lower().replace("’", "'").replace("-", " ").replace("_", " ")
    key = " ".join(key.split())
    for suffix in (" test", " tests"):
        key = key.removesuffix(suffix)
    key = key.removesuffix("'s").strip()
    if key in _TEST_ALIASES:
        return _TEST_ALIASES[key]
    if key + "'s" in _TEST_ALIASES:  # pragma: no cover - "fisher's" handled by removesuffix
        return _TEST_ALIASES[key + "'s"]
    raise ValueError(
        f"test: unknown test {test!r}; known: fisher (Freeman-Halton), chi-square (Pearson, "
        "with or without Yates), pearson, yates, barnard, boschloo, mid-p, log-rank, t-test, "
        "student, welch, mann-whitney, wilcoxon, kruskal-wallis"
    )


_EPS = 1e-9


@dataclasses.dataclass(frozen=True)
class ReportedP(Result):
    """A reported p-value: ``relation`` (``=``, ``<``, ``<=``, ``>``, ``>=``) and ``value``.

    For ``=`` the claim covers ``[value - half_unit, value + half_unit]`` (rounding).
    """

    relation: str
    value: float
    half_unit: float
    text: str

    def admits(self, p: float) -> bool:
        """Whether a computed p-value ``p`` is compatible with the report."""
        if math.isnan(p):
            return False
        v, tol = self.value, _EPS * max(self.value, 1e-300)
        if self.relation == "=":
            return abs(p - v) <= self.half_unit * (1 + 1e-9) + tol
        if self.relation == "<":
            return p < v
        if self.relation == "<=":
            return p <= v + tol
        if self.relation == ">":
            return p > v
        return p >= v - tol


def _half_unit(text: str) -> float:
    try:
        dec = Decimal(text)
    except InvalidOperation:
        raise ValueError(f"p_value: cannot read the number {text!r}") from None
    exponent = dec.as_tuple().exponent
    assert isinstance(exponent, int)
    return 0.5 * 10.0**exponent


def parse_p_value(reported: str | float) -> ReportedP:
    """Read ``"P = .015"``, ``"p<0.0001"``, ``"P ≤ 0.05"``, ``"0.294"`` or a float.

    A float is taken at the precision of its shortest repr (``0.294`` -> 3 decimals).
    """
    if isinstance(reported, (int, float)) and not isinstance(reported, bool):
        text = repr(float(reported))
        relation, number = "=", text
    else:
        text = str(reported).strip()
        s = text.replace("≤", "<=").replace("≥", ">=").replace("＜", "<").replace(" ", "")
        m = re.fullmatch(r"(?i)(?:p(?:-?value)?)?(<=|>=|=|<|>)?([0-9.]+(?:e-?[0-9]+)?)", s)
        if m is None:
            raise ValueError(
                f"p_value: cannot read {reported!r} (expected e.g. 'P = 0.03', 'P < 0.001')"
            )
        relation, number = m.group(1) or "=", m.group(2)
        if number.startswith("."):
            number = "0" + number
    value = float(number)
    if not 0.0 <= value <= 1.0:
        raise ValueError(f"p_value: {reported!r} is not between 0 and 1")
    return ReportedP(relation=relation, value=value, half_unit=_half_unit(number), text=text)


def counts_from_percentage(percentage: str | float, n: int) -> tuple[int, ...]:
    """Every count ``k`` in ``0..n`` whose ``100 k / n`` rounds to the reported percentage.

    Raises ``ValueError`` when no integer count over ``n`` gives it (e.g. 45% of 11).
    """
    text = repr(float(percentage)) if isinstance(percentage, float) else str(percentage).strip()
    text = text.rstrip("%").strip()
    value = float(text)
    half = _half_unit(text)
    if n < 1:
        raise ValueError(f"n: arm size must be >= 1, got {n}")
    ks = tuple(k for k in range(n + 1) if abs(100.0 * k / n - value) <= half * (1 + 1e-9) + 1e-12)
    if not ks:
        raise ValueError(
            f"percentages: {text}% is not k/{n} for any integer k (rounded to the reported digits)"
        )
    return ks


@dataclasses.dataclass(frozen=True)
class ClaimCheck(Result):
    """The verdict on one published claim, with the numbers behind it.

    ``p_values`` maps each recomputed test (for count tables: one entry per test and per
    candidate table, ``"fisher"`` or ``"fisher[3/9 vs 5/9]"``) to its p-value; ``matching``
    lists those compatible with the report. For log-rank claims ``p_range`` is the range of
    attainable p-values (exact, or the guaranteed floor and the largest p found: see ``method``)
    and ``assumption`` the follow-up assumed. ``verdict`` ``"consistent if"`` means the claim
    holds only for some values of an unknown count or denominator: ``condition`` names them
    (``"N(placebo) ∈ [29, 31]"``); :attr:`label` reads ``"consistent if N(placebo) ∈ [29, 31]"``.
    """

    verdict: Verdict
    reason: str
    kind: str
    reported: str | None
    p_values: dict[str, float]
    matching: tuple[str, ...]
    p_range: tuple[float, float] | None
    method: str
    n: tuple[int, ...]
    assumption: str | None = None
    condition: str | None = None

    @property
    def label(self) -> str:
        """The verdict as a reviewer reads it (with its condition, if any)."""
        if self.verdict == "consistent if" and self.condition:
            return f"consistent if {self.condition}"
        return self.verdict


#: an arm's count or size: a number, or the inclusive range ``(low, high)`` of an unknown
Count = int | tuple[int, int]


def _values(x: Count, what: str) -> list[int]:
    if isinstance(x, (int, np.integer)):
        return [int(x)]
    if isinstance(x, (tuple, list)) and len(x) == 2:
        lo, hi = int(x[0]), int(x[1])
        if lo > hi:
            raise ValueError(f"{what}: range [{lo}, {hi}] is empty")
        return list(range(lo, hi + 1))
    raise ValueError(f"{what}: {x!r} is neither a whole number nor a range (low, high)")


def _intervals(values: list[int]) -> str:
    """``[29, 31]``, or ``{3, [5, 8]}`` for several runs."""
    runs: list[tuple[int, int]] = []
    for v in sorted(set(values)):
        if runs and v == runs[-1][1] + 1:
            runs[-1] = (runs[-1][0], v)
        else:
            runs.append((v, v))
    parts = [f"[{a}, {b}]" if a != b else str(a) for a, b in runs]
    if len(parts) == 1:
        return parts[0] if runs[0][0] != runs[0][1] else f"{{{parts[0]}}}"
    return "{" + ", ".join(parts) + "}"


def check_claim(
    *,
    events: tuple[Count, Count] | None = None,
    n: tuple[Count, Count] | int | None = None,
    percentages: tuple[str | float, str | float] | None = None,
    p_value: str | float | None = None,
    test: str | None = None,
    mean: str | float | None = None,
    items: int = 1,
    censoring: Censoring = "complete",
    arm_names: tuple[str, str] = ("arm 1", "arm 2"),
    max_states: int = 100_000,
) -> ClaimCheck:
    """Check a published claim against its own numbers.

    Parameters
    ----------
    events
        Events in each arm (e.g. deaths ``(2, 7)``); an unknown count as its range ``(lo, hi)``.
    n
        Arm sizes ``(n1, n2)``, an unknown one as its range (``(56, (1, 35))``: the control
        arm's n at this time point is not reported, at most the 35 randomized); for a GRIM
        check the sample size.
    percentages
        Instead of ``events``: the reported percentages (``("45.45", "16.67")``); every count
        they can stand for is tried. Give strings to keep trailing zeros (``"50.0"``).
    p_value
        The reported p-value or threshold (``"P = 0.294"``, ``"P < 0.0001"``, ``0.015``).
    test
        The test the paper names, if any (``"Fisher's exact"``, ``"chi-square"``, ``"Yates"``,
        ``"Barnard"``, ``"mid-p"``, ``"log-rank"``...: :func:`normalise_test`). Unnamed, any
        test a paper plausibly used may match, except the mid-p: only a paper that says it
        reports a mid-p is checked against one.
    mean
        A reported mean of integer-valued data (GRIM); ``n`` is then the sample size.
    items
        Integers per participant averaged into the mean (a multi-item scale).
    censoring
        For log-rank claims, the follow-up assumed: ``"complete"`` (default), ``(k1, k2)``
        early censorings as stated, or ``"any"`` (see :func:`logrank_p_range`).
    arm_names
        Names for the arms in conditions on unknowns (``"N(placebo) ∈ [29, 31]"``).
    max_states
        Largest number of ``(U, V)`` pairs the exact log-rank enumeration may hold.

    Returns
    -------
    ClaimCheck
        ``verdict`` is ``"consistent"``, ``"consistent if"`` (with ``condition``),
        ``"inconsistent"`` or ``"not checkable"``.

    Examples
    --------
    >>> check_claim(events=(1, 4), n=(9, 9), p_value="0.294", test="fisher").verdict
    'consistent'
    >>> check_claim(events=(10, 0), n=(56, (1, 35)), p_value="p = 0.013",
    ...             arm_names=("MSC", "placebo")).label
    'consistent if N(placebo) ∈ [29, 31]'
    """
    named = normalise_test(test) if test is not None else None
    if mean is not None:
        if not isinstance(n, int):
            raise ValueError("n: for a GRIM check give the sample size as one integer")
        return grim(mean, n, items=items)
    if n is None or isinstance(n, int) or len(n) != 2:
        raise ValueError("n: give the two arm sizes (n1, n2)")
    n_sets = [_values(n[i], f"n (arm {i + 1})") for i in (0, 1)]
    if min(min(v) for v in n_sets) < 1:
        raise ValueError(f"n: arm sizes must be >= 1, got {n}")
    unknown_n = [len(v) > 1 for v in n_sets]
    if events is not None:
        e_sets = [_values(events[i], f"events (arm {i + 1})") for i in (0, 1)]
        unknown_e = [len(v) > 1 for v in e_sets]
        if not any(unknown_n + unknown_e):
            for e, nn, arm in ((e_sets[0][0], n_sets[0][0], 1), (e_sets[1][0], n_sets[1][0], 2)):
                if not 0 <= e <= nn:
                    raise ValueError(f"events: arm {arm} has {e} events but {nn} participants")
    else:
        unknown_e = [False, False]
    reported = parse_p_value(p_value) if p_value is not None else None
    if any(unknown_n + unknown_e):
        if events is None:
            raise ValueError("events: a claim with an unknown n needs the event counts")
        return _check_unknowns(
            e_sets, n_sets, reported, test, censoring, arm_names, unknown_e, unknown_n, max_states
        )
    n1, n2 = n_sets[0][0], n_sets[1][0]
    if events is not None:
        candidates = [(e_sets[0][0], e_sets[1][0])]
    elif percentages is not None:
        c1 = counts_from_percentage(percentages[0], n1)
        c2 = counts_from_percentage(percentages[1], n2)
        candidates = list(product(c1, c2))
    else:
        raise ValueError("events or percentages: one of them is required")
    if named is not None and not set(named) & {*TEST_NAMES, "logrank"}:
        raise ValueError(f"test: {test!r} is not a test of two proportions or of survival")
    if named == ("logrank",):
        if len(candidates) != 1:
            raise ValueError("events: a log-rank check needs the event counts themselves")
        return _check_logrank(candidates[0], (n1, n2), reported, max_states, censoring)
    return _check_two_by_two(candidates, (n1, n2), reported, named)


def _check_two_by_two(
    candidates: list[tuple[int, int]],
    n: tuple[int, int],
    reported: ReportedP | None,
    named: tuple[str, ...] | None,
) -> ClaimCheck:
    n1, n2 = n
    p_values: dict[str, float] = {}
    for e1, e2 in candidates:
        ps = two_by_two_p_values(e1, n1, e2, n2)
        suffix = "" if len(candidates) == 1 else f"[{e1}/{n1} vs {e2}/{n2}]"
        for name in TEST_NAMES:
            p_values[name + suffix] = ps[name]
    method = "recomputed: " + ", ".join(TEST_NAMES)
    if reported is None:
        return ClaimCheck(
            verdict="not checkable",
            reason="no p-value was reported",
            kind="two proportions",
            reported=None,
            p_values=p_values,
            matching=(),
            p_range=None,
            method=method,
            n=(n1, n2),
        )
    # the tests that may make the claim consistent: those the paper names; unnamed, every
    # plausible test but the mid-p (a mid-p is checked only when the paper says it reports one)
    allowed = named if named is not None else tuple(t for t in TEST_NAMES if t != "mid_p")
    admitted = tuple(k for k, p in p_values.items() if reported.admits(p))
    matching = tuple(k for k in admitted if k.split("[")[0] in allowed)
    others = tuple(k for k in admitted if k not in matching)
    verdict: Verdict
    if matching:
        verdict = "consistent"
        reason = f"{reported.text} is reproduced by {', '.join(matching)}"
    elif named is not None:
        verdict = "inconsistent"
        got = ", ".join(f"{k} = {p:.4g}" for k, p in p_values.items() if k.split("[")[0] in named)
        reason = f"{' or '.join(named)} gives {got}, not {reported.text}"
        if others:
            reason += f"; only {', '.join(others)} (not the test named) would match"
    else:
        verdict = "inconsistent"
        reason = f"no plausible test gives {reported.text}"
        if others:
            reason += (
                f"; only {', '.join(others)} would, and the paper does not say it reports a mid-p"
            )
    return ClaimCheck(
        verdict=verdict,
        reason=reason,
        kind="two proportions",
        reported=reported.text,
        p_values=p_values,
        matching=matching,
        p_range=(min(p_values.values()), max(p_values.values())),
        method=method,
        n=(n1, n2),
    )


def _check_unknowns(
    e_sets: list[list[int]],
    n_sets: list[list[int]],
    reported: ReportedP | None,
    test: str | None,
    censoring: Censoring,
    arm_names: tuple[str, str],
    unknown_e: list[bool],
    unknown_n: list[bool],
    max_states: int,
) -> ClaimCheck:
    """Check every combination of the unknowns; the verdict names those under which it holds."""
    names = [
        f"{what}({arm_names[i]})"
        for what, unknown in (("events", unknown_e), ("N", unknown_n))
        for i in (0, 1)
        if unknown[i]
    ]
    combos = list(product(e_sets[0], e_sets[1], n_sets[0], n_sets[1]))
    if len(combos) > 2000:
        raise ValueError(f"events, n: {len(combos)} combinations of unknowns; narrow the ranges")
    holds: list[tuple[int, ...]] = []
    tried = 0
    last: ClaimCheck | None = None
    for e1, e2, n1, n2 in combos:
        if not (0 <= e1 <= n1 and 0 <= e2 <= n2):
            continue
        try:
            check = check_claim(
                events=(e1, e2),
                n=(n1, n2),
                p_value=reported.text if reported is not None else None,
                test=test,
                censoring=censoring,
                max_states=max_states,
            )
        except ValueError:
            continue
        tried += 1
        last = check
        if check.verdict == "consistent":
            full = {"e1": e1, "e2": e2, "n1": n1, "n2": n2}
            keys = [
                k
                for k, u in zip(("e1", "e2", "n1", "n2"), unknown_e + unknown_n, strict=False)
                if u
            ]
            holds.append(tuple(full[k] for k in keys))
    unknown_sets = [v for v, u in zip(e_sets + n_sets, unknown_e + unknown_n, strict=False) if u]
    ranges = ", ".join(
        f"{nm} ∈ [{min(vals)}, {max(vals)}]" for nm, vals in zip(names, unknown_sets, strict=False)
    )
    base: dict[str, Any] = dict(
        kind=last.kind if last is not None else "two proportions",
        reported=reported.text if reported is not None else None,
        p_values={},
        matching=(),
        p_range=None,
        method=(last.method if last is not None else "") + f"; for every {ranges}",
        n=tuple(max(v) for v in n_sets),
        assumption=last.assumption if last is not None else None,
    )
    if reported is None or tried == 0:
        why = "no p-value was reported" if reported is None else "no possible combination"
        return ClaimCheck(verdict="not checkable", reason=why, **base)
    if len(holds) == tried:
        return ClaimCheck(
            verdict="consistent",
            reason=f"{reported.text} holds for every {ranges}",
            **base,
        )
    if not holds:
        return ClaimCheck(
            verdict="inconsistent",
            reason=f"no test gives {reported.text} for any {ranges}",
            **base,
        )
    if len(names) == 1:
        condition = f"{names[0]} ∈ {_intervals([h[0] for h in holds])}"
    else:
        shown = ", ".join("(" + ", ".join(map(str, h)) + ")" for h in holds[:8])
        more = f", … ({len(holds)} in all)" if len(holds) > 8 else ""
        condition = f"({', '.join(names)}) ∈ {{{shown}{more}}}"
    return ClaimCheck(
        verdict="consistent if",
        reason=(
            f"{reported.text} holds only if {condition} (of {ranges}); "
            "the paper does not report this number"
        ),
        condition=condition,
        **base,
    )


# ----- GRIM -----------------------------------------------------------------------------------


def grim(mean: str | float, n: int, *, items: int = 1) -> ClaimCheck:
    """GRIM: can ``n`` integer values (``items`` each) have the reported mean?

    Consistent when some integer total ``T`` gives ``|T / (n items) - mean| <= half a unit of
    the last reported decimal``. R: no base equivalent (the ``scrutiny`` package's ``grim()``).
    """
    if n < 1 or items < 1:
        raise ValueError(f"n: sample size and items must be >= 1, got n={n}, items={items}")
    text = repr(float(mean)) if isinstance(mean, float) else str(mean).strip()
    value = float(text)
    half = _half_unit(text)
    m = n * items
    if 2 * half * m >= 1.0:
        return ClaimCheck(
            verdict="not checkable",
            reason=f"with n x items = {m} every mean at this precision is possible",
            kind="mean of integers (GRIM)",
            reported=text,
            p_values={},
            matching=(),
            p_range=None,
            method="GRIM",
            n=(n,),
        )
    lo = math.ceil((value - half) * m - 1e-9)
    hi = math.floor((value + half) * m + 1e-9)
    totals = [t for t in range(lo, hi + 1) if abs(t / m - value) <= half * (1 + 1e-9) + 1e-12]
    if totals:
        verdict: Verdict = "consistent"
        reason = f"total {totals[0]} / {m} = {totals[0] / m:.6g} rounds to {text}"
    else:
        near = [lo - 1, lo, hi, hi + 1]
        reason = (
            f"no integer total over {m} rounds to {text} (nearest: "
            + ", ".join(f"{t}/{m} = {t / m:.6g}" for t in sorted(set(near)))
            + ")"
        )
        verdict = "inconsistent"
    return ClaimCheck(
        verdict=verdict,
        reason=reason,
        kind="mean of integers (GRIM)",
        reported=text,
        p_values={},
        matching=tuple(str(t) for t in totals),
        p_range=None,
        method="GRIM",
        n=(n,),
    )


# ----- log-rank over all orderings ------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class LogrankRange(Result):
    """Attainable log-rank chi-square statistics for given event counts and arm sizes."""

    chi2: np.ndarray
    exact: bool
    chi2_bound: float
    p_range: tuple[float, float]
    method: str
    seeds: tuple[np.ndarray, ...] = ()
    assumption: str = ""
    horizon: tuple[int, int] = (0, 0)


def _step(
    s: tuple[int, int, int, int], h: tuple[int, int] = (0, 0)
) -> list[tuple[tuple[int, int, int, int], float, float]]:
    """Successors of a state (events, early censorings left in arm 1, in arm 2) with dU, dV.

    ``h`` are the participants of each arm censored at the horizon, after every event: they
    stay at risk throughout.
    """
    e1, c1, e2, c2 = s
    r1, r2 = e1 + c1 + h[0], e2 + c2 + h[1]
    r = r1 + r2
    out = []
    v = r1 * r2 / (r * r) if r1 and r2 else 0.0
    if e1:
        out.append(((e1 - 1, c1, e2, c2), (1.0 - r1 / r) if r2 else 0.0, v))
    if c1:
        out.append(((e1, c1 - 1, e2, c2), 0.0, 0.0))
    if e2:
        out.append(((e1, c1, e2 - 1, c2), (-r1 / r) if r1 else 0.0, v))
    if c2:
        out.append(((e1, c1, e2, c2 - 1), 0.0, 0.0))
    return out


def _exact_pairs(
    start: tuple[int, int, int, int], cap: int, h: tuple[int, int] = (0, 0)
) -> np.ndarray | None:
    layer: dict[tuple[int, int, int, int], np.ndarray] = {start: np.zeros((1, 2))}
    total = sum(start)
    for _ in range(total):
        nxt: dict[tuple[int, int, int, int], list[np.ndarray]] = {}
        for s, uv in layer.items():
            for s2, du, dv in _step(s, h):
                nxt.setdefault(s2, []).append(uv + np.array([du, dv]))
        layer = {}
        size = 0
        for s2, parts in nxt.items():
            arr = np.concatenate(parts)
            key = np.round(arr, 10)
            _, idx = np.unique(key, axis=0, return_index=True)
            layer[s2] = arr[idx]
            size += idx.size
        if size > cap:
            return None
    return layer[(0, 0, 0, 0)]


_MAX_DP_STATES = 400_000


def _linear_dp(
    start: tuple[int, int, int, int], a: float, b: float, h: tuple[int, int] = (0, 0)
) -> tuple[float, float, np.ndarray]:
    """The ordering maximising ``a U + b V`` (exact dynamic programme over the states).

    Censorings add nothing to ``U`` or ``V``, so for fixed events left ``(e1, e2)`` the best
    value over the censorings left ``(c1, c2)`` is a 2-d running maximum of the best value after
    the next event: ``O(states)`` work, vectorised over ``(c1, c2)``.
    """
    e1m, c1m, e2m, c2m = start
    best = np.full((e1m + 1, c1m + 1, e2m + 1, c2m + 1), -np.inf)
    c1 = np.arange(c1m + 1, dtype=float)[:, None]
    c2 = np.arange(c2m + 1, dtype=float)[None, :]
    for e1 in range(e1m + 1):
        for e2 in range(e2m + 1):
            r1, r2 = e1 + c1 + h[0], e2 + c2 + h[1]
            r = r1 + r2
            with np.errstate(invalid="ignore", divide="ignore"):
                v = np.where((r1 > 0) & (r2 > 0), r1 * r2 / (r * r), 0.0)
                frac = np.where(r > 0, r1 / r, 0.0)
            base = np.full((c1m + 1, c2m + 1), -np.inf)
            if e1 == 0 and e2 == 0:
                base[0, 0] = 0.0
            if e1 > 0:
                du = np.where(r2 > 0, 1.0 - frac, 0.0)
                base = np.maximum(base, a * du + b * v + best[e1 - 1, :, e2, :])
            if e2 > 0:
                du = np.where(r1 > 0, -frac, 0.0)
                base = np.maximum(base, a * du + b * v + best[e1, :, e2 - 1, :])
            base = np.maximum.accumulate(np.maximum.accumulate(base, axis=0), axis=1)
            best[e1, :, e2, :] = base
    # follow the optimal moves from the start
    seq = []
    s = start
    while sum(s) > 0:
        target = best[s]
        for s2, ddu, ddv in _step(s, h):
            if abs(a * ddu + b * ddv + best[s2] - target) <= 1e-9 * (1.0 + abs(target)):
                seq.append(_code(s, s2))
                s = s2
                break
        else:  # pragma: no cover - the optimum is always reached by one of the moves
            raise RuntimeError("log-rank dynamic programme: no optimal move found")
    arr = np.array(seq, dtype=np.int64)
    u, v_ = _uv_of(arr, h)
    return u, v_, arr


def _code(s: tuple[int, int, int, int], s2: tuple[int, int, int, int]) -> int:
    return next(i for i in range(4) if s[i] != s2[i])


def _uv_of(seq: np.ndarray, h: tuple[int, int] = (0, 0)) -> tuple[float, float]:
    """(U, V) of an ordering coded 0/1/2/3 = event arm 1 / censored arm 1 / event 2 / censored 2.

    ``h`` participants per arm are censored at the horizon, after the whole ordering.
    """
    seq = np.concatenate([seq, np.full(h[0], 1, np.int64), np.full(h[1], 3, np.int64)])
    g1 = (seq <= 1).astype(float)
    ev = (seq % 2 == 0).astype(float)
    r1 = g1[::-1].cumsum()[::-1]
    r = np.arange(seq.size, 0, -1, dtype=float)
    r2 = r - r1
    u = float(np.sum(ev * (g1 - r1 / r)))
    v = float(np.sum(ev * r1 * r2 / r**2))
    return u, v


def _chi2_point(u: float, v: float) -> float:
    if v > 0:
        return u * u / v
    return math.inf if u != 0 else 0.0


def _max_chi2(
    start: tuple[int, int, int, int], h: tuple[int, int] = (0, 0), max_calls: int = 400
) -> tuple[float, float, list[np.ndarray]]:
    """Largest attainable ``U^2 / V``: branch and bound over the convex hull of (U, V).

    ``U^2 / V`` is convex, so its maximum over the (finite) attainable set lies at a vertex of
    the set's convex hull. Hull vertices are found by quickhull with an exact linear oracle
    (:func:`_linear_dp`); an edge ``p q`` whose outer triangle (bounded by the supporting lines
    at ``p`` and ``q``) cannot exceed the best value found is not refined. Returns the best value
    attained, a guaranteed upper bound (equal to it when the search finished within
    ``max_calls`` oracle calls) and the orderings visited.
    """
    calls = 0
    seqs: list[np.ndarray] = []

    def oracle(a: float, b: float) -> tuple[float, float]:
        nonlocal calls
        calls += 1
        u, v, seq = _linear_dp(start, a, b, h)
        seqs.append(seq)
        return u, v

    dirs = [(1.0, 0.0), (0.0, -1.0), (-1.0, 0.0), (0.0, 1.0)]
    pts = [oracle(*d) for d in dirs]
    best = max(_chi2_point(*pt) for pt in pts)
    # stack of edges (p, dp, q, dq), counter-clockwise
    stack = [(pts[i], dirs[i], pts[(i + 1) % 4], dirs[(i + 1) % 4]) for i in range(4)]
    open_bound = 0.0
    while stack:
        p, dp, q, dq = stack.pop()
        if p == q:
            continue
        det = dp[0] * dq[1] - dp[1] * dq[0]
        if abs(det) < 1e-15:
            bound = max(_chi2_point(*p), _chi2_point(*q))
        else:
            cp = dp[0] * p[0] + dp[1] * p[1]
            cq = dq[0] * q[0] + dq[1] * q[1]
            xu = (cp * dq[1] - dp[1] * cq) / det
            xv = (dp[0] * cq - cp * dq[0]) / det
            bound = max(_chi2_point(*p), _chi2_point(*q), _chi2_point(xu, xv))
        if bound <= best * (1 + 1e-12):
            continue
        if calls >= max_calls:
            open_bound = max(open_bound, bound)
            continue
        # outward normal of p -> q (counter-clockwise hull: interior on the left)
        d = (q[1] - p[1], -(q[0] - p[0]))
        r = oracle(*d)
        best = max(best, _chi2_point(*r))
        if d[0] * r[0] + d[1] * r[1] > d[0] * p[0] + d[1] * p[1] + 1e-12:
            stack.append((p, dp, r, d))
            stack.append((r, d, q, dq))
    return best, max(best, open_bound), seqs


def _witness(
    start: tuple[int, int, int, int],
    seeds: list[np.ndarray],
    lo: float,
    hi: float,
    budget: int = 20_000,
    h: tuple[int, int] = (0, 0),
) -> np.ndarray | None:
    """Adjacent-swap search for an ordering with chi2 in ``[lo, hi]`` (bounded by ``budget``)."""

    def dist(seq: np.ndarray) -> float:
        u, v = _uv_of(seq, h)
        c = u * u / v if v > 0 else 0.0
        return 0.0 if lo <= c <= hi else min(abs(c - lo), abs(c - hi))

    evals = 0
    for s0 in seeds:
        seq = s0.copy()
        cur = dist(seq)
        improved = True
        while cur > 0 and improved and evals < budget:
            improved = False
            for i in range(seq.size - 1):
                if seq[i] == seq[i + 1]:
                    continue
                seq[i], seq[i + 1] = seq[i + 1], seq[i]
                d = dist(seq)
                evals += 1
                if d < cur:
                    cur, improved = d, True
                    if cur == 0:
                        break
                else:
                    seq[i], seq[i + 1] = seq[i + 1], seq[i]
                if evals >= budget:
                    break
        if cur == 0:
            return seq
    return None


def _censoring(
    censoring: Censoring, events: tuple[int, int], n: tuple[int, int]
) -> tuple[tuple[int, int], str]:
    """Early censorings per arm, and the words naming the follow-up assumption."""
    survivors = (n[0] - events[0], n[1] - events[1])
    if censoring == "complete":
        return (0, 0), (
            "complete follow-up to a fixed horizon (deaths at distinct times, "
            "every survivor censored at the horizon)"
        )
    if censoring == "any":
        return survivors, (
            "any censoring (each survivor censored at any time, the weakest assumption)"
        )
    if isinstance(censoring, str) or len(censoring) != 2:
        raise ValueError(
            f"censoring: {censoring!r} is not 'complete', 'any' or two counts (arm 1, arm 2)"
        )
    k = (int(censoring[0]), int(censoring[1]))
    for arm in (0, 1):
        if not 0 <= k[arm] <= survivors[arm]:
            raise ValueError(
                f"censoring: arm {arm + 1} has {survivors[arm]} survivors, "
                f"so {k[arm]} cannot be censored early"
            )
    return k, (
        f"censoring only as stated ({k[0]} and {k[1]} participants censored before the "
        "horizon, at unknown times; everyone else followed to the horizon)"
    )


def logrank_p_range(
    events: tuple[int, int],
    n: tuple[int, int],
    *,
    censoring: Censoring = "complete",
    max_states: int = 100_000,
) -> LogrankRange:
    """Log-rank chi-square statistics attainable over the orderings a follow-up design allows.

    Parameters
    ----------
    events, n
        Events (deaths) and participants per arm.
    censoring
        The follow-up assumption. ``"complete"`` (default): a fixed-horizon trial, every death
        at its own time and every survivor censored at the horizon, so only the order of the
        ``e1 + e2`` deaths between the arms varies (``C(e1 + e2, e1)`` orderings). ``(k1, k2)``:
        ``k1`` and ``k2`` participants (as the paper states: lost to follow-up, withdrawn) are
        censored before the horizon at unknown times, every other survivor at the horizon.
        ``"any"``: every survivor may be censored at any time (the weakest assumption; almost
        any p is then attainable, so say so when a verdict rests on it).

    Returns
    -------
    LogrankRange
        ``chi2`` holds every attainable statistic when ``exact``; otherwise the statistics of
        the convex-hull vertices of the attainable ``(U, V)`` set, whose largest is the exact
        maximum (``U^2 / V`` is convex, so its maximum over a finite set lies at a hull vertex).
        ``p_range`` is (smallest attainable p, largest p known to be attainable); ``method``
        names the assumption.

    Notes
    -----
    ``U = sum_j (d_1j - n_1j d_j / n_j)``, ``V = sum_j n_1j n_2j d_j (n_j - d_j) / (n_j^2
    (n_j - 1))`` (one death per time: ``n_1j n_2j / n_j^2``), ``chi2 = U^2 / V`` on 1 df. R:
    ``survival::survdiff(Surv(time, status) ~ arm)`` for each ordering, as
    ``tests/reference/claims/claims.R`` does by brute force.
    """
    e1, e2 = int(events[0]), int(events[1])
    n1, n2 = int(n[0]), int(n[1])
    if min(e1, e2, n1 - e1, n2 - e2) < 0:
        raise ValueError("events: more events than participants in an arm")
    if e1 + e2 == 0:
        raise ValueError("events: a log-rank test needs at least one event")
    (k1, k2), assumption = _censoring(censoring, (e1, e2), (n1, n2))
    start = (e1, k1, e2, k2)
    h = (n1 - e1 - k1, n2 - e2 - k2)
    pairs = _exact_pairs(start, max_states, h)
    if pairs is not None:
        # with V = 0 (no one at risk in one arm at every event) the statistic is 0, as survdiff
        pos = pairs[:, 1] > 1e-12
        chi2 = np.zeros(pairs.shape[0])
        chi2[pos] = pairs[pos, 0] ** 2 / pairs[pos, 1]
        chi2 = np.unique(np.round(chi2, 12))
        return LogrankRange(
            chi2=chi2,
            exact=True,
            chi2_bound=float(chi2.max()),
            p_range=(float(stats.chi2.sf(chi2.max(), 1)), float(stats.chi2.sf(chi2.min(), 1))),
            method=f"{assumption}; exact: every attainable (U, V) enumerated",
            seeds=(),
            assumption=assumption,
            horizon=h,
        )
    n_states = (start[0] + 1) * (start[1] + 1) * (start[2] + 1) * (start[3] + 1)
    if n_states > _MAX_DP_STATES:
        raise ValueError(
            f"n: {n_states} states exceed the {_MAX_DP_STATES} this check handles; "
            "the claim is not checkable this way"
        )
    best, bound, seeds = _max_chi2(start, h)
    found = [_uv_of(seq, h) for seq in seeds]
    chi2 = np.unique(np.array([_chi2_point(u, v) for u, v in found] + [best]))
    return LogrankRange(
        chi2=chi2,
        exact=False,
        chi2_bound=bound,
        p_range=(float(stats.chi2.sf(bound, 1)), float(stats.chi2.sf(chi2.min(), 1))),
        method=(
            f"{assumption}; smallest p from the largest statistic (branch and bound over the "
            "convex hull of the attainable (U, V), exact dynamic-programming oracle); other "
            "values by a bounded adjacent-swap search for a witness ordering"
        ),
        seeds=tuple(seeds),
        assumption=assumption,
        horizon=h,
    )


def _report_interval(reported: ReportedP) -> tuple[float, float]:
    """The p-values a report admits, as an interval."""
    if reported.relation == "=":
        return reported.value - reported.half_unit, reported.value + reported.half_unit
    if reported.relation in ("<", "<="):
        return 0.0, reported.value
    return reported.value, 1.0


def _logrank_hits(
    events: tuple[int, int], n: tuple[int, int], reported: ReportedP, rng: LogrankRange
) -> list[float]:
    ps = stats.chi2.sf(rng.chi2, 1)
    hits = [float(p) for p in ps if reported.admits(float(p))]
    p_lo, p_hi = _report_interval(reported)
    if not hits and not rng.exact and p_hi >= rng.p_range[0]:
        c_lo = float(stats.chi2.isf(min(1.0, p_hi), 1))
        c_hi = float(stats.chi2.isf(max(p_lo, 1e-300), 1))
        k = (rng.horizon[0], rng.horizon[1])
        seq = _witness(
            (events[0], n[0] - events[0] - k[0], events[1], n[1] - events[1] - k[1]),
            list(rng.seeds),
            c_lo,
            min(c_hi, rng.chi2_bound),
            h=k,
        )
        if seq is not None:
            u, v = _uv_of(seq, k)
            p = float(stats.chi2.sf(u * u / v, 1))
            if reported.admits(p):
                hits = [p]
    return hits


def _logrank_neighbours(
    events: tuple[int, int], n: tuple[int, int], reported: ReportedP, censoring: Censoring
) -> list[str]:
    """Event counts one away from the reported ones under which the claim would hold."""
    out = []
    for d1, d2 in ((-1, 0), (1, 0), (0, -1), (0, 1)):
        e = (events[0] + d1, events[1] + d2)
        if not (0 <= e[0] <= n[0] and 0 <= e[1] <= n[1]) or sum(e) == 0:
            continue
        if censoring != "complete" and censoring != "any":
            continue
        try:
            rng = logrank_p_range(e, n, censoring=censoring, max_states=20_000)
        except ValueError:
            continue
        if rng.exact and _logrank_hits(e, n, reported, rng):
            out.append(f"{e[0]}/{n[0]} vs {e[1]}/{n[1]}")
    return out


def _check_logrank(
    events: tuple[int, int],
    n: tuple[int, int],
    reported: ReportedP | None,
    max_states: int,
    censoring: Censoring = "complete",
) -> ClaimCheck:
    rng = logrank_p_range(events, n, censoring=censoring, max_states=max_states)
    p_min = rng.p_range[0]
    p_values = {"logrank_min": p_min, "logrank_max": rng.p_range[1]}
    kind = "survival (log-rank)"
    if reported is None:
        return ClaimCheck(
            verdict="not checkable",
            reason=f"no p-value was reported (assuming {rng.assumption})",
            kind=kind,
            reported=None,
            p_values=p_values,
            matching=(),
            p_range=rng.p_range,
            method=rng.method,
            n=n,
            assumption=rng.assumption,
        )
    hits = _logrank_hits(events, n, reported, rng)
    _, p_hi = _report_interval(reported)
    attainable = (
        f"attainable p {rng.p_range[0]:.2g} to {rng.p_range[1]:.2g}"
        if rng.exact
        else f"attainable p from {rng.p_range[0]:.2g} to at least {rng.p_range[1]:.2g}"
    )
    verdict: Verdict
    if hits:
        verdict = "consistent"
        reason = (
            f"assuming {rng.assumption}: some ordering of the deaths gives p = {hits[0]:.4g}, "
            f"matching {reported.text} ({attainable})"
        )
    elif rng.exact or p_hi < p_min:
        verdict = "inconsistent"
        reason = (
            f"assuming {rng.assumption}: no ordering of {events[0]}/{n[0]} vs "
            f"{events[1]}/{n[1]} events gives {reported.text} ({attainable}"
            + (")" if rng.exact else "; the smallest p is exact)")
        )
        near = _logrank_neighbours(events, n, reported, censoring)
        if near:
            reason += f"; it would hold with {' or '.join(near)}"
    else:
        verdict = "not checkable"
        reason = (
            f"assuming {rng.assumption}: {reported.text} is above the smallest attainable p "
            f"({p_min:.4g}) but the bounded search found no ordering that gives it"
        )
    return ClaimCheck(
        verdict=verdict,
        reason=reason,
        kind=kind,
        reported=reported.text,
        p_values=p_values,
        matching=tuple(f"logrank p = {h:.4g}" for h in hits[:5]),
        p_range=rng.p_range,
        method=rng.method,
        n=n,
        assumption=rng.assumption,
    )
