"""Binary endpoints: participants with the outcome per arm, Fisher's exact test, the risk
difference (and risk or odds ratio when listed)."""

from __future__ import annotations

import math
from functools import partial

import numpy as np
import pandas as pd

from celltrial.analysis.arms import Arms
from celltrial.analysis.endpoints._common import attempt, base_fields
from celltrial.analysis.populations import population
from celltrial.analysis.results import (
    POOLED,
    POOLED_LABEL,
    ArmCount,
    BinaryResult,
    Effect,
    Missing,
)
from celltrial.analysis.trial import HOURS_PER_DAY, Trial
from celltrial.protocol import Endpoint
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


def binary(ep: Endpoint, trial: Trial) -> BinaryResult:
    """Participants with the outcome per arm; Fisher's exact test; risk difference (Newcombe).

    The outcome is a condition on a measurement at a visit (ADLB), or an event by the horizon
    (``trial.binary_events``: ADTTE derived for this endpoint as if it were time to event).
    """
    labels = trial.arms.labels
    pop, arm_col = population(trial.adsl, ep.population)
    events, findings = trial.binary_events, trial.adlb
    missing: list[Missing] = []
    y_l: list[int] = []
    g_l: list[str] = []
    if ep.measurement is not None and ep.condition is not None:
        f = findings
        f = f[(f["MEASURE"] == ep.measurement) & (f["AVISIT"] == ep.visit)]
        f = f[f["ANL01FL"] == "Y"].set_index("USUBJID")
        what = f"{ep.measurement} {ep.condition.describe()} at {ep.visit}"
        for uid, arm in zip(pop["USUBJID"], pop[arm_col], strict=True):
            if uid not in f.index:
                missing.append(Missing(uid, str(arm), f"no {ep.measurement} result at {ep.visit}"))
                continue
            r = f.loc[uid]
            r = r.iloc[0] if isinstance(r, pd.DataFrame) else r
            value = r["AVAL"] if pd.notna(r["AVAL"]) else r["AVALC"]
            if isinstance(value, str) and value.upper() in ("TRUE", "FALSE", "Y", "N"):
                value = value.upper() in ("TRUE", "Y")
            try:
                y_l.append(int(ep.condition.holds(value)))
            except (TypeError, ValueError):
                missing.append(Missing(uid, str(arm), f"result {value!r} cannot be compared"))
                continue
            g_l.append(str(arm))
    else:
        rows = events if events is not None else pd.DataFrame(columns=["PARAMCD", "USUBJID"])
        rows = rows[rows["PARAMCD"] == ep.id].set_index("USUBJID")
        horizon_h = float(ep.horizon or trial.protocol.follow_up or 0)
        what = f"{' or '.join(ep.events)} by day {horizon_h / HOURS_PER_DAY:g}"
        for uid, arm in zip(pop["USUBJID"], pop[arm_col], strict=True):
            if uid not in rows.index:
                missing.append(Missing(uid, str(arm), "no follow-up record"))
                continue
            r = rows.loc[uid]
            if int(r["EVTYPE"]) == 1:
                y_l.append(1)
            elif float(r["AVALH"]) >= horizon_h or int(r["EVTYPE"]) == 2:
                y_l.append(0)
            else:
                missing.append(
                    Missing(
                        uid,
                        str(arm),
                        f"followed to day {float(r['AVAL']):.1f} only, without the event "
                        f"({r['CNSDTDSC']})",
                    )
                )
                continue
            g_l.append(str(arm))
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
