"""Each endpoint type's pre-specified analysis, on the ADaM-like tables.

Arrays are built from ADSL/ADTTE/ADLB/ADAE here and handed to :mod:`celltrial.stats`; no
statistic is computed in this module. Participants of the population without a value are
listed as :class:`~celltrial.analysis.results.Missing`, each with its reason.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable
from functools import partial
from typing import Any

import numpy as np
import pandas as pd

from celltrial.analysis.populations import (
    ArmInfo,
    comparisons,
    describe,
    mean_sd,
    population,
    quartiles,
)
from celltrial.analysis.results import (
    NAN_CI,
    POOLED,
    POOLED_LABEL,
    ArmCount,
    ArmDistribution,
    ArmSurvival,
    BinaryResult,
    ContinuousResult,
    Effect,
    Missing,
    SafetyCountResult,
    TimeToEventResult,
    TrajectoryPoint,
    WindowCount,
)
from celltrial.dataset import times, window_flag
from celltrial.protocol import Endpoint, Protocol
from celltrial.stats import (
    CoxResult,
    FisherResult,
    KaplanMeierResult,
    NotEstimableWarning,
    cox_ph,
    cumulative_incidence,
    fisher_exact,
    hodges_lehmann,
    kaplan_meier,
    logrank,
    odds_ratio,
    risk_difference,
    risk_ratio,
    t_test,
    wilcoxon_rank_sum,
)

HOURS_PER_DAY = 24.0


def _try(notes: list[str], what: str, fn: Callable[[], Any]) -> Any:
    """Run a statistic; a ValueError (not estimable) becomes a note instead of a crash."""
    try:
        return fn()
    except (ValueError, ZeroDivisionError, np.linalg.LinAlgError) as exc:
        notes.append(f"{what} not estimable: {exc}")
        return None


def _labels(arms: tuple[ArmInfo, ...]) -> dict[str, str]:
    return {a.id: a.label for a in arms}


def _base(ep: Endpoint, method: str, n: int, missing: list[Missing]) -> dict[str, Any]:
    return {
        "endpoint": ep.id,
        "label": ep.label,
        "type": ep.type,
        "primary": ep.primary,
        "population": ep.population,
        "method": method,
        "n": n,
        "missing": tuple(missing),
    }


def _arm_order(arms: tuple[ArmInfo, ...], present: pd.Series) -> list[str]:
    known = [a.id for a in arms]
    extra = sorted(set(present.dropna()) - set(known))
    return known + extra


# --- time to event --------------------------------------------------------------------------


def _at(km: KaplanMeierResult, t: float) -> tuple[float, tuple[float, float]]:
    i = int(np.searchsorted(km.time, t, side="right")) - 1
    if i < 0:
        return 1.0, (1.0, 1.0)
    return float(km.estimate[i]), (float(km.ci[i, 0]), float(km.ci[i, 1]))


def _survival(
    arm: str, label: str, t: np.ndarray, evtype: np.ndarray, horizon: float
) -> ArmSurvival:
    km = kaplan_meier(t, (evtype == 1).astype(float))
    s, s_ci = _at(km, horizon)
    med = km.median
    early = int(np.sum((evtype == 0) & (t < horizon)))
    return ArmSurvival(
        arm=arm,
        label=label,
        n=int(t.size),
        events=int(np.sum(evtype == 1)),
        competing=int(np.sum(evtype == 2)),
        censored_early=early,
        survival=s,
        survival_ci=s_ci,
        median=med.estimate,
        median_ci=med.ci,
        km=km,
    )


def _hazard_ratio(
    trt: str, ref: str, labels: dict[str, str], t: np.ndarray, e: np.ndarray, g: np.ndarray
) -> tuple[Effect, CoxResult | None]:
    keep = (g == trt) | (g == ref)
    x = (g[keep] == trt).astype(float)
    ev = e[keep]
    method = "Cox proportional hazards, Efron ties (Wald CI)"
    empty = [a for a, sel in ((trt, x == 1), (ref, x == 0)) if not np.any(ev[sel] == 1)]
    if empty and np.any(ev == 1):
        # Monotone likelihood: the HR is 0 or infinite, but the LR and score tests are valid.
        which = ", ".join(labels.get(a, a) for a in empty)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", NotEstimableWarning)
            fit = cox_ph(x, t[keep], ev, ties="efron", names=[f"{trt} vs {ref}"])
        lr, sc = fit.lr_test, fit.score_test
        note = (
            f"not estimable (no events in arm {which}); likelihood-ratio test "
            f"chi2 = {lr.statistic:.3f}, p = {lr.p_value:.3g}; score (log-rank) test "
            f"chi2 = {sc.statistic:.3f}, p = {sc.p_value:.3g}"
        )
        method += "; likelihood-ratio test (infinite estimate)"
        eff = Effect(
            "hazard ratio", trt, ref, math.nan, NAN_CI, lr.p_value, 1.0, True, method, note
        )
        return eff, fit
    fit = cox_ph(x, t[keep], ev, ties="efron", names=[f"{trt} vs {ref}"])
    eff = Effect(
        "hazard ratio",
        trt,
        ref,
        float(fit.hazard_ratio[0]),
        (float(fit.ci[0, 0]), float(fit.ci[0, 1])),
        float(fit.p_value[0]),
        1.0,
        True,
        method,
    )
    return eff, fit


def time_to_event(
    ep: Endpoint, protocol: Protocol, adsl: pd.DataFrame, adtte: pd.DataFrame
) -> TimeToEventResult:
    """Kaplan–Meier per arm (survival at the horizon, median), log-rank, Cox HR, CIF."""
    arms = tuple(ArmInfo(a.id, a.label, a.role) for a in protocol.arms)
    labels = _labels(arms)
    pop, arm_col = population(adsl, ep.population)
    rows = adtte[adtte["PARAMCD"] == ep.id].drop_duplicates("USUBJID").set_index("USUBJID")
    horizon = (ep.horizon if ep.horizon is not None else math.inf) / HOURS_PER_DAY
    missing: list[Missing] = []
    t_l: list[float] = []
    ev_l: list[int] = []
    g_l: list[str] = []
    for uid, arm in zip(pop["USUBJID"], pop[arm_col], strict=True):
        if uid not in rows.index or pd.isna(rows.at[uid, "AVAL"]):
            missing.append(Missing(uid, str(arm), "no time-to-event record (ADTTE)"))
            continue
        t_l.append(float(rows.at[uid, "AVAL"]))
        ev_l.append(int(rows.at[uid, "EVTYPE"]))
        g_l.append(str(arm))
    t, evtype, g = np.array(t_l, dtype=float), np.array(ev_l, dtype=int), np.array(g_l)
    notes: list[str] = []
    order = [a for a in _arm_order(arms, pd.Series(g_l, dtype=object)) if np.any(g == a)]
    per_arm = tuple(
        _survival(a, labels.get(a, a), t[g == a], evtype[g == a], horizon) for a in order
    )
    pooled = _survival(POOLED, POOLED_LABEL, t, evtype, horizon)
    event = (evtype == 1).astype(float)
    methods = ["Kaplan–Meier (log-transformed CI, Greenwood variance)"]
    lr = None
    if "logrank" in ep.analysis:
        methods.append("log-rank test")
        if len(order) >= 2:
            lr = _try(notes, "log-rank test", lambda: logrank(t, event, g))
    effects: list[Effect] = []
    cox = None
    if "cox_ph" in ep.analysis:
        methods.append("Cox proportional hazards, Efron ties")
        for trt, ref in comparisons(protocol):
            if not (np.any(g == trt) and np.any(g == ref)):
                continue
            res = _try(
                notes,
                f"hazard ratio {trt} vs {ref}",
                partial(_hazard_ratio, trt, ref, labels, t, event, g),
            )
            if res is not None:
                effects.append(res[0])
                cox = cox if cox is not None else res[1]
    cif = pooled_cif = None
    competing = bool(ep.competing) or (
        ep.censoring is not None and ep.censoring.death == "competing"
    )
    if "cumulative_incidence" in ep.analysis or competing:
        methods.append("Aalen–Johansen cumulative incidence (competing risks)")
        if len(order) >= 1 and t.size:
            cif = _try(
                notes, "cumulative incidence", lambda: cumulative_incidence(t, evtype, group=g)
            )
            pooled_cif = _try(
                notes, "cumulative incidence", lambda: cumulative_incidence(t, evtype)
            )
    return TimeToEventResult(
        **_base(ep, "; ".join(methods), int(t.size), missing),
        effects=tuple(effects),
        notes=tuple(notes),
        horizon=horizon,
        arms=per_arm,
        pooled=pooled,
        logrank=lr,
        cox=cox,
        cumulative_incidence=cif,
        pooled_incidence=pooled_cif,
    )


# --- binary ---------------------------------------------------------------------------------


def _table(counts: dict[str, tuple[int, int]], trt: str, ref: str) -> list[list[int]]:
    (e1, n1), (e2, n2) = counts[trt], counts[ref]
    return [[e1, n1 - e1], [e2, n2 - e2]]


def _binary_tests(
    ep: Endpoint,
    protocol: Protocol,
    counts: dict[str, tuple[int, int]],
    labels: dict[str, str],
    notes: list[str],
    *,
    fisher: bool,
    effects_too: bool,
) -> tuple[FisherResult | None, list[Effect]]:
    pairs = [
        (a, b)
        for a, b in comparisons(protocol)
        if counts.get(a, (0, 0))[1] and counts.get(b, (0, 0))[1]
    ]
    fisher_res = None
    effects: list[Effect] = []
    for trt, ref in pairs:
        table = _table(counts, trt, ref)
        if fisher:
            f = _try(notes, "Fisher's exact test", partial(fisher_exact, table))
            fisher_res = fisher_res if fisher_res is not None else f
        else:
            f = None
        if not effects_too:
            continue
        p = f.p_value if f is not None else math.nan
        rd = _try(notes, "risk difference", partial(risk_difference, table))
        if rd is not None:
            effects.append(
                Effect("risk difference", trt, ref, rd.estimate, rd.ci, p, 0.0, False, rd.method)
            )
        if "risk_ratio" in ep.analysis:
            rr = _try(notes, "risk ratio", partial(risk_ratio, table))
            if rr is not None:
                effects.append(
                    Effect("risk ratio", trt, ref, rr.estimate, rr.ci, p, 1.0, True, rr.method)
                )
        if "odds_ratio" in ep.analysis:
            o = _try(notes, "odds ratio", partial(odds_ratio, table))
            if o is not None:
                effects.append(
                    Effect("odds ratio", trt, ref, o.estimate, o.ci, p, 1.0, True, o.method)
                )
    if len(pairs) > 1 and fisher:
        notes.append("Fisher's exact test shown for the first comparison only")
    return fisher_res, effects


def _counts(
    arms: tuple[ArmInfo, ...], g: np.ndarray, y: np.ndarray
) -> tuple[tuple[ArmCount, ...], ArmCount, dict[str, tuple[int, int]]]:
    labels = _labels(arms)
    order = [a for a in _arm_order(arms, pd.Series(g, dtype=object)) if np.any(g == a)]
    per = tuple(
        ArmCount(a, labels.get(a, a), int(np.sum(g == a)), int(np.sum(y[g == a]))) for a in order
    )
    pooled = ArmCount(POOLED, POOLED_LABEL, int(y.size), int(np.sum(y)))
    return per, pooled, {c.arm: (c.events, c.n) for c in per}


def binary(
    ep: Endpoint,
    protocol: Protocol,
    adsl: pd.DataFrame,
    events: pd.DataFrame | None,
    findings: pd.DataFrame | None,
) -> BinaryResult:
    """Participants with the outcome per arm; Fisher's exact test; risk difference (Newcombe).

    ``events`` is ADTTE derived for this endpoint as if it were time to event (an event by
    the horizon); ``findings`` the analysis rows of the findings domains (for a condition on
    a measurement at a visit).
    """
    arms = tuple(ArmInfo(a.id, a.label, a.role) for a in protocol.arms)
    labels = _labels(arms)
    pop, arm_col = population(adsl, ep.population)
    missing: list[Missing] = []
    y_l: list[int] = []
    g_l: list[str] = []
    if ep.measurement is not None and ep.condition is not None:
        f = findings if findings is not None else pd.DataFrame(columns=["USUBJID"])
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
        horizon_h = float(ep.horizon or protocol.follow_up or 0)
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
    per, pooled, counts = _counts(arms, g, y)
    notes: list[str] = []
    methods = [f"Participants with {what}, n/N"]
    fisher_wanted = "fisher_exact" in ep.analysis
    if fisher_wanted:
        methods.append("Fisher's exact test")
    methods.append("risk difference with Newcombe hybrid score CI")
    fisher_res, effects = _binary_tests(
        ep, protocol, counts, labels, notes, fisher=fisher_wanted, effects_too=True
    )
    return BinaryResult(
        **_base(ep, "; ".join(methods), int(y.size), missing),
        effects=tuple(effects),
        notes=tuple(notes),
        arms=per,
        pooled=pooled,
        fisher=fisher_res,
    )


# --- continuous -----------------------------------------------------------------------------


def _distribution(arm: str, label: str, v: np.ndarray) -> ArmDistribution:
    med, q1, q3 = quartiles(v)
    m, sd = mean_sd(v)
    return ArmDistribution(arm, label, int(v.size), med, q1, q3, m, sd)


def _why_missing(
    uid: str, rows: pd.DataFrame, visit: str | None, baseline: str | None, died: Any
) -> str:
    mine = rows[rows["USUBJID"] == uid]
    at = mine[mine["AVISIT"] == visit]
    if baseline is not None and not (mine["ABLFL"] == "Y").any():
        return "no baseline value"
    if len(at) and (at["STAT"] == "NOT DONE").any():
        return f"not done at {visit}"
    if (mine["AWOUTFL"] == "Y").any():
        return f"measured outside the {visit} visit window"
    if died:
        return f"died before {visit}"
    return f"no result at {visit}"


def _trajectory(
    rows: pd.DataFrame, protocol: Protocol, arms: tuple[ArmInfo, ...], arm_of: dict[str, str]
) -> tuple[TrajectoryPoint, ...]:
    days = {v.id: v.at / HOURS_PER_DAY for v in protocol.schedule.visits}
    r = rows[(rows["ANL01FL"] == "Y") & rows["AVAL"].notna() & rows["USUBJID"].isin(arm_of)]
    r = r.assign(_ARM=r["USUBJID"].map(arm_of))
    out: list[TrajectoryPoint] = []
    for visit in sorted(set(r["AVISIT"].dropna()), key=lambda v: days.get(v, math.inf)):
        at = r[r["AVISIT"] == visit]
        groups = [(a.id, at[at["_ARM"] == a.id]) for a in arms] + [(POOLED, at)]
        for arm, sub in groups:
            v = sub["AVAL"].to_numpy(dtype=float)
            if not v.size:
                continue
            med, q1, q3 = quartiles(v)
            out.append(
                TrajectoryPoint(arm, visit, days.get(visit, math.nan), int(v.size), med, q1, q3)
            )
    return tuple(out)


def continuous(
    ep: Endpoint, protocol: Protocol, adsl: pd.DataFrame, adlb: pd.DataFrame
) -> ContinuousResult:
    """Median (IQR) of the change from baseline (or of the value) per arm; Wilcoxon
    rank-sum test; Hodges–Lehmann shift with its CI (and Welch's t-test when listed)."""
    arms = tuple(ArmInfo(a.id, a.label, a.role) for a in protocol.arms)
    labels = _labels(arms)
    pop, arm_col = population(adsl, ep.population)
    m = protocol.measurement(ep.measurement) if ep.measurement else None
    rows = adlb[adlb["MEASURE"] == ep.measurement]
    change = ep.baseline_visit is not None
    col = "CHG" if change else "AVAL"
    at = rows[(rows["AVISIT"] == ep.visit) & (rows["ANL01FL"] == "Y") & rows[col].notna()]
    at = at.drop_duplicates("USUBJID").set_index("USUBJID")
    died = adsl.set_index("USUBJID")["DTHFL"].eq("Y")
    missing: list[Missing] = []
    v_l: list[float] = []
    g_l: list[str] = []
    for uid, arm in zip(pop["USUBJID"], pop[arm_col], strict=True):
        if uid in at.index:
            v_l.append(float(at.at[uid, col]))
            g_l.append(str(arm))
        else:
            why = _why_missing(uid, rows, ep.visit, ep.baseline_visit, bool(died.get(uid, False)))
            missing.append(Missing(uid, str(arm), why))
    v, g = np.array(v_l, dtype=float), np.array(g_l)
    order = [a for a in _arm_order(arms, pd.Series(g_l, dtype=object)) if np.any(g == a)]
    per = tuple(_distribution(a, labels.get(a, a), v[g == a]) for a in order)
    pooled = _distribution(POOLED, POOLED_LABEL, v)
    notes: list[str] = []
    vis = {x.id: x.label for x in protocol.schedule.visits}
    if change:
        methods = [
            f"Change from baseline ({vis.get(ep.baseline_visit or '', ep.baseline_visit)} to "
            f"{vis.get(ep.visit or '', ep.visit)}), median (IQR)"
        ]
    else:
        methods = [f"Value at {vis.get(ep.visit or '', ep.visit)}, median (IQR)"]
    wx = hl = tt = None
    effects: list[Effect] = []
    pairs = [(a, b) for a, b in comparisons(protocol) if np.any(g == a) and np.any(g == b)]
    for i, (trt, ref) in enumerate(pairs):
        x, y = v[g == trt], v[g == ref]
        w = _try(notes, "Wilcoxon rank-sum test", partial(wilcoxon_rank_sum, x, y))
        h = _try(notes, "Hodges–Lehmann shift", partial(hodges_lehmann, x, y))
        if "t_test" in ep.analysis:
            tt_i = _try(notes, "t-test", partial(t_test, x, y))
            tt = tt if tt is not None else tt_i
        if i == 0:
            wx, hl = w, h
        if h is not None:
            p = w.p_value if w is not None else math.nan
            effects.append(
                Effect(
                    "Hodges–Lehmann shift" + (" in change" if change else ""),
                    trt,
                    ref,
                    h.estimate,
                    h.ci,
                    p,
                    0.0,
                    False,
                    h.method,
                )
            )
    if "wilcoxon_rank_sum" in ep.analysis or wx is not None:
        kind = (
            "exact"
            if wx is not None and wx.exact
            else "normal approximation with continuity correction"
        )
        methods.append(f"Wilcoxon rank-sum test ({kind})")
    methods.append("Hodges–Lehmann shift with CI")
    if "t_test" in ep.analysis:
        methods.append("Welch two-sample t-test")
    arm_of = dict(zip(pop["USUBJID"], pop[arm_col].astype(str), strict=True))
    return ContinuousResult(
        **_base(ep, "; ".join(methods), int(v.size), missing),
        effects=tuple(effects),
        notes=tuple(notes),
        measurement=ep.measurement or "",
        unit=m.unit if m is not None else None,
        change=change,
        arms=per,
        pooled=pooled,
        wilcoxon=wx,
        hodges_lehmann=hl,
        t_test=tt,
        trajectory=_trajectory(rows, protocol, arms, arm_of),
    )


# --- safety counts --------------------------------------------------------------------------


def _term_list(events: list[str]) -> list[str] | None:
    """A window's events as AE terms to match, when they are short terms (``cardiac arrest``,
    ``death``); None when the window lists none or describes them in sentences, in which case
    every AE with onset inside the window counts."""
    if not events or any(len(e.split()) > 4 for e in events):
        return None
    return [e.lower() for e in events if e.lower() != "death"]


def window_events(
    protocol: Protocol,
    window_ids: list[str],
    adae: pd.DataFrame,
    adsl: pd.DataFrame,
    ex: pd.DataFrame,
) -> pd.DataFrame:
    """Events inside each safety window: AEs with onset inside it (ADAE's ``WIN_`` flag; only
    the listed terms when the window lists short event terms), and deaths inside it when the
    window lists death among its events. Columns USUBJID, WINDOW, WHAT, HOURS."""
    parts: list[pd.DataFrame] = []
    for w in protocol.safety.windows:
        if w.id not in window_ids:
            continue
        flag = window_flag(w.id)
        if flag in adae:
            hit = adae[adae[flag] == "Y"]
            terms = _term_list(w.events)
            if terms is not None:
                name = hit["AEDECOD"].fillna(hit["AETERM"]).fillna("").str.lower()
                hit = hit[name.map(lambda n, terms=terms: any(t in n or n in t for t in terms))]
            parts.append(
                pd.DataFrame(
                    {
                        "USUBJID": hit["USUBJID"],
                        "WINDOW": w.id,
                        "WHAT": hit["AEDECOD"].fillna(hit["AETERM"]),
                        "HOURS": hit["HRSLAST"],
                    }
                )
            )
        if any("death" in e.lower() for e in w.events):
            deaths = adsl[adsl["DTHDTM"].notna()][["USUBJID", "DTHDTM"]]
            doses = pd.DataFrame(
                {"USUBJID": ex["USUBJID"], "S": times.to_utc(ex["EXSTDTC"])}
            ).merge(deaths, on="USUBJID")
            h = (doses["DTHDTM"] - doses["S"]).dt.total_seconds() / 3600
            inside = doses[(h >= 0) & (h <= w.duration)].assign(H=h)
            inside = inside.sort_values("H").drop_duplicates("USUBJID")
            parts.append(
                pd.DataFrame(
                    {
                        "USUBJID": inside["USUBJID"],
                        "WINDOW": w.id,
                        "WHAT": "Death",
                        "HOURS": inside["H"],
                    }
                )
            )
    if not parts:
        return pd.DataFrame(columns=["USUBJID", "WINDOW", "WHAT", "HOURS"])
    return pd.concat(parts, ignore_index=True)


def safety_count(
    ep: Endpoint,
    protocol: Protocol,
    adsl: pd.DataFrame,
    adae: pd.DataFrame,
    ex: pd.DataFrame,
) -> SafetyCountResult:
    """Participants with events (within the endpoint's safety windows, or any
    treatment-emergent AE) per arm, events per window, Fisher's exact test."""
    arms = tuple(ArmInfo(a.id, a.label, a.role) for a in protocol.arms)
    labels = _labels(arms)
    pop, arm_col = population(adsl, ep.population)
    arm_of = dict(zip(pop["USUBJID"], pop[arm_col].astype(str), strict=True))
    ids = list(ep.safety_windows)
    if ids:
        ev = window_events(protocol, ids, adae, adsl, ex)
        what = "events within " + ", ".join(ids)
    else:
        te = adae[adae["TRTEMFL"] == "Y"]
        ev = pd.DataFrame({"USUBJID": te["USUBJID"], "WINDOW": "any", "WHAT": te["AEDECOD"]})
        what = "treatment-emergent adverse events"
    ev = ev[ev["USUBJID"].isin(arm_of)]
    with_ev = set(ev["USUBJID"])
    g = np.array([arm_of[u] for u in pop["USUBJID"]])
    y = np.array([int(u in with_ev) for u in pop["USUBJID"]])
    per, pooled, counts = _counts(arms, g, y)
    windows: list[WindowCount] = []
    wlabels = {w.id: w.label for w in protocol.safety.windows}
    for wid in ids or ["any"]:
        sub = ev[ev["WINDOW"] == wid]
        sub_arm = sub["USUBJID"].map(arm_of)
        for a in [c.arm for c in per]:
            s = sub[sub_arm == a]
            windows.append(
                WindowCount(wid, wlabels.get(wid, wid), a, int(s["USUBJID"].nunique()), len(s))
            )
        windows.append(
            WindowCount(wid, wlabels.get(wid, wid), POOLED, int(sub["USUBJID"].nunique()), len(sub))
        )
    notes: list[str] = []
    methods = [f"Participants with {what}, n/N (events counted per window)"]
    fisher_wanted = "fisher_exact" in ep.analysis
    if fisher_wanted:
        methods.append("Fisher's exact test")
    fisher_res, _ = _binary_tests(
        ep, protocol, counts, labels, notes, fisher=fisher_wanted, effects_too=False
    )
    return SafetyCountResult(
        **_base(ep, "; ".join(methods), int(y.size), []),
        notes=tuple(notes),
        arms=per,
        pooled=pooled,
        windows=tuple(windows),
        fisher=fisher_res,
    )


__all__ = ["binary", "continuous", "describe", "safety_count", "time_to_event", "window_events"]
