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
from typing import Literal

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
    "parse_p_value",
]

Verdict = Literal["consistent", "inconsistent", "not checkable"]

_TEST_ALIASES = {
    "fisher": "fisher",
    "fisher exact": "fisher",
    "fisher's exact": "fisher",
    "chi2": "chi2",
    "chi-square": "chi2",
    "chi square": "chi2",
    "pearson": "chi2",
    "chi2_yates": "chi2_yates",
    "yates": "chi2_yates",
    "chi-square with yates": "chi2_yates",
    "barnard": "barnard",
    "boschloo": "boschloo",
    "mid_p": "mid_p",
    "mid-p": "mid_p",
    "midp": "mid_p",
    "logrank": "logrank",
    "log-rank": "logrank",
    "log rank": "logrank",
}

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
    attainable p-values (exact, or the guaranteed floor and the largest p found: see ``method``).
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


def _norm_test(test: str | None) -> str | None:
    if test is None:
        return None
    key = test.strip().lower()
    if key not in _TEST_ALIASES:
        raise ValueError(f"test: unknown test {test!r}; known: {', '.join(sorted(_TEST_ALIASES))}")
    return _TEST_ALIASES[key]


def check_claim(
    *,
    events: tuple[int, int] | None = None,
    n: tuple[int, int] | int | None = None,
    percentages: tuple[str | float, str | float] | None = None,
    p_value: str | float | None = None,
    test: str | None = None,
    mean: str | float | None = None,
    items: int = 1,
    max_states: int = 100_000,
) -> ClaimCheck:
    """Check a published claim against its own numbers.

    Parameters
    ----------
    events
        Events in each arm (e.g. deaths ``(2, 7)``).
    n
        Arm sizes ``(n1, n2)``; for a GRIM check the sample size.
    percentages
        Instead of ``events``: the reported percentages (``("45.45", "16.67")``); every count
        they can stand for is tried. Give strings to keep trailing zeros (``"50.0"``).
    p_value
        The reported p-value or threshold (``"P = 0.294"``, ``"P < 0.0001"``, ``0.015``).
    test
        The test the paper names, if any: ``"fisher"``, ``"chi2"``, ``"chi2_yates"``,
        ``"barnard"``, ``"boschloo"``, ``"mid_p"``, or ``"logrank"`` for a survival claim.
    mean
        A reported mean of integer-valued data (GRIM); ``n`` is then the sample size.
    items
        Integers per participant averaged into the mean (a multi-item scale).
    max_states
        Largest number of ``(U, V)`` pairs the exact log-rank enumeration may hold.

    Returns
    -------
    ClaimCheck
        ``verdict`` is ``"consistent"``, ``"inconsistent"`` or ``"not checkable"``.

    Examples
    --------
    >>> check_claim(events=(1, 4), n=(9, 9), p_value="0.294", test="fisher").verdict
    'consistent'
    """
    named = _norm_test(test)
    if mean is not None:
        if not isinstance(n, int):
            raise ValueError("n: for a GRIM check give the sample size as one integer")
        return grim(mean, n, items=items)
    if n is None or isinstance(n, int) or len(n) != 2:
        raise ValueError("n: give the two arm sizes (n1, n2)")
    n1, n2 = int(n[0]), int(n[1])
    if n1 < 1 or n2 < 1:
        raise ValueError(f"n: arm sizes must be >= 1, got {(n1, n2)}")
    if events is not None:
        e1, e2 = int(events[0]), int(events[1])
        for e, nn, arm in ((e1, n1, 1), (e2, n2, 2)):
            if not 0 <= e <= nn:
                raise ValueError(f"events: arm {arm} has {e} events but {nn} participants")
        candidates = [(e1, e2)]
    elif percentages is not None:
        c1 = counts_from_percentage(percentages[0], n1)
        c2 = counts_from_percentage(percentages[1], n2)
        candidates = list(product(c1, c2))
    else:
        raise ValueError("events or percentages: one of them is required")
    reported = parse_p_value(p_value) if p_value is not None else None
    if named == "logrank":
        if len(candidates) != 1:
            raise ValueError("events: a log-rank check needs the event counts themselves")
        return _check_logrank(candidates[0], (n1, n2), reported, max_states)
    p_values: dict[str, float] = {}
    for e1, e2 in candidates:
        ps = two_by_two_p_values(e1, n1, e2, n2)
        suffix = "" if len(candidates) == 1 else f"[{e1}/{n1} vs {e2}/{n2}]"
        for name in TEST_NAMES:
            p_values[name + suffix] = ps[name]
    if reported is None:
        return ClaimCheck(
            verdict="not checkable",
            reason="no p-value was reported",
            kind="two proportions",
            reported=None,
            p_values=p_values,
            matching=(),
            p_range=None,
            method="recomputed: " + ", ".join(TEST_NAMES),
            n=(n1, n2),
        )
    matching = tuple(k for k, p in p_values.items() if reported.admits(p))
    if named is not None:
        own = tuple(k for k in matching if k.split("[")[0] == named)
        if own:
            verdict: Verdict = "consistent"
            reason = f"{named} reproduces {reported.text}"
        else:
            verdict = "inconsistent"
            got = ", ".join(
                f"{k} = {p:.4g}" for k, p in p_values.items() if k.split("[")[0] == named
            )
            reason = f"{named} gives {got}, not {reported.text}"
            if matching:
                reason += f"; it matches {', '.join(matching)} instead"
    elif matching:
        verdict = "consistent"
        reason = f"{reported.text} is reproduced by {', '.join(matching)}"
    else:
        verdict = "inconsistent"
        reason = f"no plausible test gives {reported.text}"
    return ClaimCheck(
        verdict=verdict,
        reason=reason,
        kind="two proportions",
        reported=reported.text,
        p_values=p_values,
        matching=matching,
        p_range=(min(p_values.values()), max(p_values.values())),
        method="recomputed: " + ", ".join(TEST_NAMES),
        n=(n1, n2),
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


def _step(s: tuple[int, int, int, int]) -> list[tuple[tuple[int, int, int, int], float, float]]:
    """Successors of a state (events, censorings left in arm 1, in arm 2) with dU, dV."""
    e1, c1, e2, c2 = s
    r1, r2 = e1 + c1, e2 + c2
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


def _exact_pairs(start: tuple[int, int, int, int], cap: int) -> np.ndarray | None:
    layer: dict[tuple[int, int, int, int], np.ndarray] = {start: np.zeros((1, 2))}
    total = sum(start)
    for _ in range(total):
        nxt: dict[tuple[int, int, int, int], list[np.ndarray]] = {}
        for s, uv in layer.items():
            for s2, du, dv in _step(s):
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
    start: tuple[int, int, int, int], a: float, b: float
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
            r1, r2 = e1 + c1, e2 + c2
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
        for s2, ddu, ddv in _step(s):
            if abs(a * ddu + b * ddv + best[s2] - target) <= 1e-9 * (1.0 + abs(target)):
                seq.append(_code(s, s2))
                s = s2
                break
        else:  # pragma: no cover - the optimum is always reached by one of the moves
            raise RuntimeError("log-rank dynamic programme: no optimal move found")
    arr = np.array(seq, dtype=np.int64)
    u, v_ = _uv_of(arr)
    return u, v_, arr


def _code(s: tuple[int, int, int, int], s2: tuple[int, int, int, int]) -> int:
    return next(i for i in range(4) if s[i] != s2[i])


def _uv_of(seq: np.ndarray) -> tuple[float, float]:
    """(U, V) of an ordering coded 0/1/2/3 = event arm 1 / censored arm 1 / event 2 / censored 2."""
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
    start: tuple[int, int, int, int], max_calls: int = 400
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
        u, v, seq = _linear_dp(start, a, b)
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
) -> np.ndarray | None:
    """Adjacent-swap search for an ordering with chi2 in ``[lo, hi]`` (bounded by ``budget``)."""

    def dist(seq: np.ndarray) -> float:
        u, v = _uv_of(seq)
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


def logrank_p_range(
    events: tuple[int, int], n: tuple[int, int], *, max_states: int = 100_000
) -> LogrankRange:
    """Log-rank chi-square statistics attainable over all orderings of events and censorings.

    See the module docstring for the method. ``chi2`` holds every attainable statistic when
    ``exact``; otherwise the statistics of the convex-hull vertices of the attainable
    ``(U, V)`` set, whose largest is the exact maximum (``U^2 / V`` is convex, so its maximum
    over a finite set lies at a hull vertex). ``p_range`` is (smallest attainable p, largest
    p known to be attainable).
    """
    e1, e2 = int(events[0]), int(events[1])
    n1, n2 = int(n[0]), int(n[1])
    start = (e1, n1 - e1, e2, n2 - e2)
    if min(start) < 0:
        raise ValueError("events: more events than participants in an arm")
    if e1 + e2 == 0:
        raise ValueError("events: a log-rank test needs at least one event")
    pairs = _exact_pairs(start, max_states)
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
            method="exact: every attainable (U, V) enumerated by dynamic programming",
            seeds=(),
        )
    n_states = (start[0] + 1) * (start[1] + 1) * (start[2] + 1) * (start[3] + 1)
    if n_states > _MAX_DP_STATES:
        raise ValueError(
            f"n: {n_states} states exceed the {_MAX_DP_STATES} this check handles; "
            "the claim is not checkable this way"
        )
    best, bound, seeds = _max_chi2(start)
    found = [_uv_of(seq) for seq in seeds]
    chi2 = np.unique(np.array([_chi2_point(u, v) for u, v in found] + [best]))
    return LogrankRange(
        chi2=chi2,
        exact=False,
        chi2_bound=bound,
        p_range=(float(stats.chi2.sf(bound, 1)), float(stats.chi2.sf(chi2.min(), 1))),
        method=(
            "smallest p from the largest statistic (branch and bound over the convex hull of "
            "the attainable (U, V), exact dynamic-programming oracle); other values by a "
            "bounded adjacent-swap search for a witness ordering"
        ),
        seeds=tuple(seeds),
    )


def _check_logrank(
    events: tuple[int, int], n: tuple[int, int], reported: ReportedP | None, max_states: int
) -> ClaimCheck:
    rng = logrank_p_range(events, n, max_states=max_states)
    ps = stats.chi2.sf(rng.chi2, 1)
    p_min = rng.p_range[0]
    p_values = {"logrank_min": p_min, "logrank_max": rng.p_range[1]}
    kind = "survival (log-rank over all orderings)"
    if reported is None:
        return ClaimCheck(
            verdict="not checkable",
            reason="no p-value was reported",
            kind=kind,
            reported=None,
            p_values=p_values,
            matching=(),
            p_range=rng.p_range,
            method=rng.method,
            n=n,
        )
    hits = [float(p) for p in ps if reported.admits(float(p))]
    verdict: Verdict
    # the p-values the report admits, as an interval
    if reported.relation == "=":
        p_lo, p_hi = reported.value - reported.half_unit, reported.value + reported.half_unit
    elif reported.relation in ("<", "<="):
        p_lo, p_hi = 0.0, reported.value
    else:
        p_lo, p_hi = reported.value, 1.0
    if not hits and not rng.exact and p_hi >= p_min:
        c_lo = float(stats.chi2.isf(min(1.0, p_hi), 1))
        c_hi = float(stats.chi2.isf(max(p_lo, 1e-300), 1))
        seq = _witness(
            (events[0], n[0] - events[0], events[1], n[1] - events[1]),
            list(rng.seeds),
            c_lo,
            min(c_hi, rng.chi2_bound),
        )
        if seq is not None:
            u, v = _uv_of(seq)
            p = float(stats.chi2.sf(u * u / v, 1))
            if reported.admits(p):
                hits = [p]
    if hits:
        verdict = "consistent"
        reason = (
            f"some ordering of events and censorings gives p = {hits[0]:.4g}, "
            f"matching {reported.text}"
        )
    elif rng.exact or p_hi < p_min:
        verdict = "inconsistent"
        reason = (
            f"no ordering of {events[0]}/{n[0]} vs {events[1]}/{n[1]} events gives "
            f"{reported.text}; the smallest attainable p is {p_min:.4g}"
        )
    else:
        verdict = "not checkable"
        reason = (
            f"{reported.text} is above the smallest attainable p ({p_min:.4g}) but the bounded "
            "search found no ordering that gives it"
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
    )
