"""Time to event: Kaplan–Meier per arm (survival at the horizon, median), the log-rank test,
Cox hazard ratios and, with competing events, the Aalen–Johansen cumulative incidence."""

from __future__ import annotations

import math
import warnings
from functools import partial

import numpy as np

from celltrial.analysis.descriptive import mean_sd, quartiles
from celltrial.analysis.endpoints._common import attempt, base_fields
from celltrial.analysis.results import (
    NAN_CI,
    POOLED,
    POOLED_LABEL,
    ArmDistribution,
    ArmSurvival,
    Effect,
    Missing,
    TimeToEventResult,
)
from celltrial.analysis.trial import HOURS_PER_DAY, Trial
from celltrial.protocol import Endpoint
from celltrial.stats import (
    CoxResult,
    KaplanMeierResult,
    NotEstimableWarning,
    RankTestResult,
    cox_ph,
    cumulative_incidence,
    kaplan_meier,
    logrank,
    wilcoxon_rank_sum,
)


def _at(km: KaplanMeierResult, t: float) -> tuple[float, tuple[float, float]]:
    i = int(np.searchsorted(km.time, t, side="right")) - 1
    if i < 0:
        return 1.0, (1.0, 1.0)
    return float(km.estimate[i]), (float(km.ci[i, 0]), float(km.ci[i, 1]))


def _survival(
    arm: str,
    label: str,
    t: np.ndarray,
    evtype: np.ndarray,
    horizon: float,
    ongoing: np.ndarray | None = None,
) -> ArmSurvival:
    km = kaplan_meier(t, (evtype == 1).astype(float))
    s, s_ci = _at(km, horizon)
    med = km.median
    cens = (evtype == 0) & (t < horizon)
    live = cens & ongoing if ongoing is not None else np.zeros_like(cens)
    early = int(np.sum(cens & ~live))
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
        ongoing=int(np.sum(live)),
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


def _days(arm: str, label: str, v: np.ndarray) -> ArmDistribution:
    med, q1, q3 = quartiles(v)
    m, sd = mean_sd(v)
    return ArmDistribution(arm, label, int(v.size), med, q1, q3, m, sd)


def _length_of_stay(
    t: np.ndarray,
    evtype: np.ndarray,
    g: np.ndarray,
    order: list[str],
    labels: dict[str, str],
    pairs: list[tuple[str, str]],
    notes: list[str],
    methods: list[str],
) -> tuple[tuple[ArmDistribution, ...], ArmDistribution, RankTestResult | None]:
    """Days to the event of the participants who had it (``wilcoxon_rank_sum`` on a
    time-to-event endpoint: a length of stay, as Meng 2020's admission to discharge).

    Median (IQR, R type 7) per arm and pooled, and the Wilcoxon rank-sum test of the days
    between the first comparison's arms (R: ``wilcox.test(t[trt], t[ref])``). The test
    compares observed times only: participants without the event (censored, or a competing
    event) are left out and counted in a note, since their stay is not known.
    """
    had = evtype == 1
    methods.append("days to the event (participants with it), median (IQR); Wilcoxon rank-sum test")
    if np.any(~had):
        notes.append(
            f"{int(np.sum(~had))} participant(s) without the event are left out of the days to "
            "the event and its rank-sum test (their time is not known)"
        )
    per = tuple(_days(a, labels.get(a, a), t[had & (g == a)]) for a in order)
    pooled = _days(POOLED, POOLED_LABEL, t[had])
    wx = None
    for trt, ref in pairs:
        x, y = t[had & (g == trt)], t[had & (g == ref)]
        if x.size and y.size:
            wx = attempt(notes, "Wilcoxon rank-sum test", partial(wilcoxon_rank_sum, x, y))
            break
    return per, pooled, wx


def time_to_event(ep: Endpoint, trial: Trial) -> TimeToEventResult:
    """Kaplan–Meier per arm (survival at the horizon, median), log-rank, Cox HR, CIF."""
    labels = trial.arms.labels
    pop, arm_col = trial.population(ep.population)
    rows = (
        trial.adtte[trial.adtte["PARAMCD"] == ep.id].drop_duplicates("USUBJID").set_index("USUBJID")
    )
    horizon = (ep.horizon if ep.horizon is not None else math.inf) / HOURS_PER_DAY
    ids = pop["USUBJID"].to_numpy(dtype=object)
    arm_text = pop[arm_col].astype(str).to_numpy(dtype=object)
    aval = rows["AVAL"].reindex(ids)
    has = aval.notna().to_numpy(dtype=bool)
    missing = [
        Missing(uid, arm, "no time-to-event record (ADTTE)")
        for uid, arm in zip(ids[~has].tolist(), arm_text[~has].tolist(), strict=True)
    ]
    kept = ids[has]
    t = aval.to_numpy(dtype=float)[has]
    evtype = rows["EVTYPE"].reindex(kept).to_numpy().astype(int)
    g_l = arm_text[has].tolist()
    g = np.array(g_l)
    status = trial.adsl.drop_duplicates("USUBJID").set_index("USUBJID")["EOSSTT"]
    live = (status.reindex(kept) == "ONGOING").to_numpy(dtype=bool)
    notes: list[str] = []
    order = [a for a in trial.arms.order(g_l) if np.any(g == a)]
    per_arm = tuple(
        _survival(a, labels.get(a, a), t[g == a], evtype[g == a], horizon, live[g == a])
        for a in order
    )
    pooled = _survival(POOLED, POOLED_LABEL, t, evtype, horizon, live)
    event = (evtype == 1).astype(float)
    methods = ["Kaplan–Meier (log-transformed CI, Greenwood variance)"]
    lr = None
    if "logrank" in ep.analysis:
        methods.append("log-rank test")
        if len(order) >= 2:
            lr = attempt(notes, "log-rank test", lambda: logrank(t, event, g))
    effects: list[Effect] = []
    cox = None
    if "cox_ph" in ep.analysis:
        methods.append("Cox proportional hazards, Efron ties")
        for trt, ref in trial.arms.comparisons:
            if not (np.any(g == trt) and np.any(g == ref)):
                continue
            res = attempt(
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
            cif = attempt(
                notes, "cumulative incidence", lambda: cumulative_incidence(t, evtype, group=g)
            )
            pooled_cif = attempt(
                notes, "cumulative incidence", lambda: cumulative_incidence(t, evtype)
            )
    times: tuple[ArmDistribution, ...] = ()
    times_pooled: ArmDistribution | None = None
    wx: RankTestResult | None = None
    if "wilcoxon_rank_sum" in ep.analysis and t.size:
        times, times_pooled, wx = _length_of_stay(
            t, evtype, g, order, labels, list(trial.arms.comparisons), notes, methods
        )
    return TimeToEventResult(
        **base_fields(ep, "; ".join(methods), int(t.size), missing),
        effects=tuple(effects),
        notes=tuple(notes),
        horizon=horizon,
        arms=per_arm,
        pooled=pooled,
        logrank=lr,
        cox=cox,
        cumulative_incidence=cif,
        pooled_incidence=pooled_cif,
        times=times,
        times_pooled=times_pooled,
        wilcoxon=wx,
    )
