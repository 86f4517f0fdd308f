"""Binary endpoints: participants with the outcome per arm, Fisher's exact test, the risk
difference (and risk or odds ratio when listed)."""

from __future__ import annotations

import math
from functools import partial

import numpy as np
import pandas as pd

from celltrial.analysis.arms import Arms
from celltrial.analysis.endpoints._common import attempt, base_fields
from celltrial.analysis.results import (
    POOLED,
    POOLED_LABEL,
    ArmCount,
    BinaryResult,
    Effect,
    Missing,
)
from celltrial.analysis.trial import HOURS_PER_DAY, Trial
from celltrial.protocol import Condition, Endpoint
from celltrial.stats import FisherResult, fisher_exact, odds_ratio, risk_difference, risk_ratio


def two_by_two(counts: dict[str, tuple[int, int]], trt: str, ref: str) -> list[list[int]]:
    (e1, n1), (e2, n2) = counts[trt], counts[ref]
    return [[e1, n1 - e1], [e2, n2 - e2]]


def binary_tests(
    ep: Endpoint,
    trial: Trial,
    counts: dict[str, tuple[int, int]],
    labels: dict[str, str],
    notes: list[str],
    *,
    fisher: bool,
    effects_too: bool,
) -> tuple[FisherResult | None, list[Effect]]:
    pairs = [
        (a, b)
        for a, b in trial.arms.comparisons
        if counts.get(a, (0, 0))[1] and counts.get(b, (0, 0))[1]
    ]
    fisher_res = None
    effects: list[Effect] = []
    for trt, ref in pairs:
        table = two_by_two(counts, trt, ref)
        if fisher:
            f = attempt(notes, "Fisher's exact test", partial(fisher_exact, table))
            fisher_res = fisher_res if fisher_res is not None else f
        else:
            f = None
        if not effects_too:
            continue
        p = f.p_value if f is not None else math.nan
        rd = attempt(notes, "risk difference", partial(risk_difference, table))
        if rd is not None:
            effects.append(
                Effect(
                    "risk difference",
                    trt,
                    ref,
                    rd.estimate,
                    rd.ci,
                    p,
                    0.0,
                    False,
                    rd.method,
                    prespecified="risk_difference" in ep.analysis,
                )
            )
        if "risk_ratio" in ep.analysis:
            rr = attempt(notes, "risk ratio", partial(risk_ratio, table))
            if rr is not None:
                effects.append(
                    Effect("risk ratio", trt, ref, rr.estimate, rr.ci, p, 1.0, True, rr.method)
                )
        if "odds_ratio" in ep.analysis:
            o = attempt(notes, "odds ratio", partial(odds_ratio, table))
            if o is not None:
                effects.append(
                    Effect("odds ratio", trt, ref, o.estimate, o.ci, p, 1.0, True, o.method)
                )
    if len(pairs) > 1 and fisher:
        notes.append("Fisher's exact test shown for the first comparison only")
    return fisher_res, effects


def arm_counts(
    arms: Arms, g: np.ndarray, y: np.ndarray
) -> tuple[tuple[ArmCount, ...], ArmCount, dict[str, tuple[int, int]]]:
    """Participants with the outcome per arm (and pooled); arm -> (events, n)."""
    labels = arms.labels
    order = [a for a in arms.order(g) if np.any(g == a)]
    per = tuple(
        ArmCount(a, labels.get(a, a), int(np.sum(g == a)), int(np.sum(y[g == a]))) for a in order
    )
    pooled = ArmCount(POOLED, POOLED_LABEL, int(y.size), int(np.sum(y)))
    return per, pooled, {c.arm: (c.events, c.n) for c in per}


_NUMERIC_OPS = {"lt": np.less, "le": np.less_equal, "gt": np.greater, "ge": np.greater_equal}


def _holds(
    condition: Condition, aval: np.ndarray, avalc: np.ndarray
) -> tuple[np.ndarray, list[str | None]]:
    """Whether each result satisfies ``condition`` (1 or 0) and, where it cannot be compared,
    why: the numeric value (AVAL) when there is one, else the character result (``Y``, ``N``,
    ``TRUE``, ``FALSE`` read as booleans). Numbers against a numeric bound are compared as one
    array; anything else value by value with :meth:`Condition.holds`, once per distinct value.
    """
    n = len(aval)
    out = np.zeros(n, dtype=int)
    bad: list[str | None] = [None] * n
    num = pd.notna(aval)
    op = condition.operator
    values = aval[num].astype(float)
    if op in _NUMERIC_OPS:
        out[num] = _NUMERIC_OPS[op](values, float(getattr(condition, op)))
    elif op == "between":
        assert condition.between is not None
        lo, hi = condition.between
        out[num] = (lo <= values) & (values <= hi)
    else:
        seen: dict[float, int] = {}
        out[num] = [seen.setdefault(v, int(condition.holds(v))) for v in values.tolist()]
    for i in np.flatnonzero(~num).tolist():
        value: object = avalc[i]
        if isinstance(value, str) and value.upper() in ("TRUE", "FALSE", "Y", "N"):
            value = value.upper() in ("TRUE", "Y")
        try:
            out[i] = int(condition.holds(value))  # type: ignore[arg-type]
        except (TypeError, ValueError):
            bad[i] = f"result {value!r} cannot be compared"
    return out, bad


def binary(ep: Endpoint, trial: Trial) -> BinaryResult:
    """Participants with the outcome per arm; Fisher's exact test; risk difference (Newcombe).

    The outcome is a condition on a measurement at a visit (ADLB), or an event by the horizon
    (``trial.binary_events``: ADTTE derived for this endpoint as if it were time to event).
    """
    labels = trial.arms.labels
    pop, arm_col = trial.population(ep.population)
    events, findings = trial.binary_events, trial.adlb
    ids = pop["USUBJID"].to_numpy(dtype=object)
    arm_text = pop[arm_col].astype(str).to_numpy(dtype=object)
    # Per participant of the population: the outcome (1 or 0), or why there is none.
    y_all = np.zeros(len(ids), dtype=int)
    why: list[str | None] = [None] * len(ids)
    if ep.measurement is not None and ep.condition is not None:
        f = findings
        f = f[(f["MEASURE"] == ep.measurement) & (f["AVISIT"] == ep.visit)]
        f = f[f["ANL01FL"] == "Y"].set_index("USUBJID")
        f = f[~f.index.duplicated(keep="first")]
        what = f"{ep.measurement} {ep.condition.describe()} at {ep.visit}"
        found = pd.Series(ids, dtype=object).isin(f.index).to_numpy(dtype=bool)
        for i in np.flatnonzero(~found).tolist():
            why[i] = f"no {ep.measurement} result at {ep.visit}"
        if found.any():
            at = f.reindex(ids[found])
            held, bad = _holds(ep.condition, at["AVAL"].to_numpy(), at["AVALC"].to_numpy())
            y_all[found] = held
            for i, b in zip(np.flatnonzero(found).tolist(), bad, strict=True):
                why[i] = b
    else:
        rows = events if events is not None else pd.DataFrame(columns=["PARAMCD", "USUBJID"])
        rows = rows[rows["PARAMCD"] == ep.id].set_index("USUBJID")
        horizon_h = float(ep.horizon or trial.protocol.follow_up or 0)
        what = f"{' or '.join(ep.events)} by day {horizon_h / HOURS_PER_DAY:g}"
        found = pd.Series(ids, dtype=object).isin(rows.index).to_numpy(dtype=bool)
        for i in np.flatnonzero(~found).tolist():
            why[i] = "no follow-up record"
        if found.any():
            r = rows.reindex(ids[found])
            evtype = r["EVTYPE"].to_numpy(dtype=float)
            event = evtype == 1
            known = event | (r["AVALH"].to_numpy(dtype=float) >= horizon_h) | (evtype == 2)
            y_all[found] = event.astype(int)
            short = ~known
            for i, a, c in zip(
                np.flatnonzero(found)[short].tolist(),
                r["AVAL"].to_numpy()[short].tolist(),
                r["CNSDTDSC"].to_numpy()[short].tolist(),
                strict=True,
            ):
                why[i] = f"followed to day {float(a):.1f} only, without the event ({c})"
    ok = np.array([w is None for w in why], dtype=bool)
    missing = [
        Missing(uid, arm, w)
        for uid, arm, w in zip(ids.tolist(), arm_text.tolist(), why, strict=True)
        if w is not None
    ]
    y_l = y_all[ok].tolist()
    g_l = arm_text[ok].tolist()
    y, g = np.array(y_l, dtype=int), np.array(g_l)
    per, pooled, counts = arm_counts(trial.arms, g, y)
    notes: list[str] = []
    methods = [f"Participants with {what}, n/N"]
    fisher_wanted = "fisher_exact" in ep.analysis
    if fisher_wanted:
        methods.append("Fisher's exact test")
    if "risk_difference" in ep.analysis:
        methods.append("risk difference with Newcombe hybrid score CI")
    fisher_res, effects = binary_tests(
        ep, trial, counts, labels, notes, fisher=fisher_wanted, effects_too=True
    )
    # The risk difference is always computed; unlisted, it is exploratory.
    exploratory = ("risk_difference",) if effects and "risk_difference" not in ep.analysis else ()
    return BinaryResult(
        **base_fields(ep, "; ".join(methods), int(y.size), missing),
        effects=tuple(effects),
        notes=tuple(notes),
        arms=per,
        pooled=pooled,
        fisher=fisher_res,
        exploratory=exploratory,
    )
