"""Continuous (and ordinal) endpoints: the change from baseline (or the value) per arm, the
Wilcoxon rank-sum test, the Hodges–Lehmann shift (and Welch's t-test when listed)."""

from __future__ import annotations

import math
from functools import partial

import numpy as np
import pandas as pd

from celltrial.analysis.descriptive import mean_sd, quartiles
from celltrial.analysis.endpoints._common import attempt, base_fields
from celltrial.analysis.results import (
    NAN_CI,
    POOLED,
    POOLED_LABEL,
    ArmDistribution,
    ByOutcome,
    ContinuousResult,
    Effect,
    Missing,
    TrajectoryPoint,
    WithinArm,
)
from celltrial.analysis.trial import Trial
from celltrial.protocol import Endpoint
from celltrial.stats import hodges_lehmann, t_test, wilcoxon_rank_sum, wilcoxon_signed_rank


def _distribution(arm: str, label: str, v: np.ndarray) -> ArmDistribution:
    med, q1, q3 = quartiles(v)
    m, sd = mean_sd(v)
    return ArmDistribution(arm, label, int(v.size), med, q1, q3, m, sd)


def _why_missing(
    uids: np.ndarray, rows: pd.DataFrame, visit: str | None, baseline: str | None, died: np.ndarray
) -> list[str]:
    """Why each participant of ``uids`` has no value: the first that applies of no baseline
    value, not done at the visit, measured outside the visit window, died, no result.

    ``rows`` are the measurement's ADLB rows; one pass over them, not one per participant."""
    ids = rows["USUBJID"]
    who = pd.Series(uids, dtype=object)

    def among(mask: pd.Series) -> np.ndarray:
        out: np.ndarray = who.isin(ids[mask]).to_numpy(dtype=bool)
        return out

    none = np.zeros(len(uids), dtype=bool)
    no_base = ~among(rows["ABLFL"] == "Y") if baseline is not None else none
    not_done = among((rows["AVISIT"] == visit) & (rows["STAT"] == "NOT DONE"))
    outside = among(rows["AWOUTFL"] == "Y")
    reasons = [
        "no baseline value",
        f"not done at {visit}",
        f"measured outside the {visit} visit window",
        f"died before {visit}",
    ]
    pick = np.select([no_base, not_done, outside, died], [0, 1, 2, 3], default=4).tolist()
    words = [*reasons, f"no result at {visit}"]
    return [words[k] for k in pick]


def _trajectory(
    rows: pd.DataFrame, trial: Trial, arm_of: dict[str, str]
) -> tuple[TrajectoryPoint, ...]:
    days = trial.visit_days
    arms = trial.arms.arms
    r = rows[(rows["ANL01FL"] == "Y") & rows["AVAL"].notna() & rows["USUBJID"].isin(arm_of)]
    arm = r["USUBJID"].map(arm_of).to_numpy(dtype=object)
    aval = r["AVAL"].to_numpy(dtype=float)
    where = r.groupby("AVISIT", sort=False).indices
    out: list[TrajectoryPoint] = []
    for visit in sorted(set(r["AVISIT"].dropna()), key=lambda v: days.get(v, math.inf)):
        at = where[visit]
        groups = [(a.id, at[arm[at] == a.id]) for a in arms] + [(POOLED, at)]
        for arm_id, sub in groups:
            v = aval[sub]
            if not v.size:
                continue
            med, q1, q3 = quartiles(v)
            out.append(
                TrajectoryPoint(arm_id, visit, days.get(visit, math.nan), int(v.size), med, q1, q3)
            )
    return tuple(out)


def _within(
    listed: set[str],
    change: bool,
    groups: list[tuple[str, str, np.ndarray]],
    notes: list[str],
    methods: list[str],
) -> tuple[WithinArm, ...]:
    """The within-arm paired tests the protocol lists, on each arm's changes from baseline.

    A test on the changes ``d = value − baseline`` is the paired test of the values against
    the baseline values: ``wilcox.test(value, baseline, paired = TRUE)`` equals
    ``wilcox.test(d)`` and ``t.test(value, baseline, paired = TRUE)`` equals ``t.test(d)``.
    """
    if not change:
        return ()
    out: list[WithinArm] = []
    if "wilcoxon_signed_rank" in listed:
        methods.append("within each arm: Wilcoxon signed-rank test of the change (paired)")
        for arm, label, d in groups:
            what = f"Wilcoxon signed-rank test ({label})"
            w = attempt(notes, what, partial(wilcoxon_signed_rank, d))
            if w is None:
                continue
            h = attempt(notes, f"pseudomedian ({label})", partial(hodges_lehmann, d))
            est, ci = (h.estimate, h.ci) if h is not None else (math.nan, NAN_CI)
            out.append(
                WithinArm(arm, label, "wilcoxon_signed_rank", int(d.size), w.statistic,
                          w.p_value, est, ci, w.method, w.exact)
            )  # fmt: skip
    if "paired_t_test" in listed:
        methods.append("within each arm: paired t-test of the change")
        for arm, label, d in groups:
            t = attempt(notes, f"paired t-test ({label})", partial(t_test, d))
            if t is None:
                continue
            out.append(
                WithinArm(arm, label, "paired_t_test", int(d.size), t.statistic, t.p_value,
                          t.estimate, t.ci, "Paired t-test (one-sample t-test of the change)")
            )  # fmt: skip
    return tuple(out)


def _by_survival(
    groups: list[tuple[str, str, np.ndarray]],
    died: np.ndarray,
    g: np.ndarray,
    notes: list[str],
    methods: list[str],
) -> tuple[ByOutcome, ...]:
    """Participants who died during the study against the survivors (``survivors_vs_deaths``),
    within each arm and pooled: Welch's two-sample t-test of the analysed values.

    ``t = (mean_died − mean_survived) / sqrt(s_d²/n_d + s_s²/n_s)``, Satterthwaite df; R:
    ``t.test(v[died], v[!died])``. Death is ADSL ``DTHFL = "Y"`` (a death at any time in the
    study), so the groups are defined by the outcome, not by the arm.
    """
    methods.append(
        "participants who died during the study vs survivors: Welch two-sample t-test "
        "(within each arm and pooled)"
    )
    out: list[ByOutcome] = []
    for arm, label, v in groups:
        d = died if arm == POOLED else died[g == arm]
        x, y = v[d], v[~d]
        what = f"survivors vs deaths ({label})"
        t = attempt(notes, what, partial(t_test, x, y))
        if t is None:
            continue
        out.append(
            ByOutcome(arm, label, int(y.size), int(x.size), float(np.mean(y)), float(np.mean(x)),
                      t.estimate, t.ci, t.statistic, t.df, t.p_value, t.method)
        )  # fmt: skip
    return tuple(out)


def continuous(ep: Endpoint, trial: Trial) -> ContinuousResult:
    """Median (IQR) of the change from baseline (or of the value) per arm; Wilcoxon
    rank-sum test; Hodges–Lehmann shift with its CI (and Welch's t-test when listed)."""
    labels = trial.arms.labels
    adsl, adlb = trial.adsl, trial.adlb
    pop, arm_col = trial.population(ep.population)
    m = trial.protocol.measurement(ep.measurement) if ep.measurement else None
    rows = adlb[adlb["MEASURE"] == ep.measurement]
    change = ep.baseline_visit is not None
    col = "CHG" if change else "AVAL"
    at = rows[(rows["AVISIT"] == ep.visit) & (rows["ANL01FL"] == "Y") & rows[col].notna()]
    at = at.drop_duplicates("USUBJID").set_index("USUBJID")
    died = adsl.set_index("USUBJID")["DTHFL"].eq("Y")
    ids = pop["USUBJID"].to_numpy(dtype=object)
    arm_text = pop[arm_col].astype(str).to_numpy(dtype=object)
    has = pd.Series(ids).isin(at.index).to_numpy(dtype=bool)
    uids = ids[has].tolist()
    v = at[col].reindex(uids).to_numpy(dtype=float)
    g_l = arm_text[has].tolist()
    gone = ~has
    gone_ids = ids[gone]
    dead = died.reindex(gone_ids, fill_value=False).to_numpy(dtype=bool)
    why = _why_missing(gone_ids, rows, ep.visit, ep.baseline_visit, dead)
    missing = [
        Missing(uid, arm, reason)
        for uid, arm, reason in zip(gone_ids.tolist(), arm_text[gone].tolist(), why, strict=True)
    ]
    g = np.array(g_l)
    order = [a for a in trial.arms.order(g_l) if np.any(g == a)]
    per = tuple(_distribution(a, labels.get(a, a), v[g == a]) for a in order)
    pooled = _distribution(POOLED, POOLED_LABEL, v)
    notes: list[str] = []
    vis = trial.visit_labels
    if change:
        methods = [
            f"Change from baseline ({vis.get(ep.baseline_visit or '', ep.baseline_visit)} to "
            f"{vis.get(ep.visit or '', ep.visit)}), median (IQR)"
        ]
    else:
        methods = [f"Value at {vis.get(ep.visit or '', ep.visit)}, median (IQR)"]
    listed: set[str] = set(ep.analysis)
    exploratory: list[str] = []
    wx = hl = tt = None
    effects: list[Effect] = []
    pairs = [(a, b) for a, b in trial.arms.comparisons if np.any(g == a) and np.any(g == b)]
    # Every continuous endpoint gets the Wilcoxon rank-sum test and the Hodges–Lehmann shift;
    # when the protocol does not list them they are exploratory (the report keeps them apart).
    wx_pre = "wilcoxon_rank_sum" in listed
    hl_pre = "hodges_lehmann" in listed or "wilcoxon_rank_sum" in listed
    for i, (trt, ref) in enumerate(pairs):
        x, y = v[g == trt], v[g == ref]
        w = attempt(notes, "Wilcoxon rank-sum test", partial(wilcoxon_rank_sum, x, y))
        h = attempt(notes, "Hodges–Lehmann shift", partial(hodges_lehmann, x, y))
        if "t_test" in listed:
            tt_i = attempt(notes, "t-test", partial(t_test, x, y))
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
                    prespecified=hl_pre,
                )
            )
    if pairs:
        if not wx_pre:
            exploratory.append("wilcoxon_rank_sum")
        if not hl_pre:
            exploratory.append("hodges_lehmann")
    if wx_pre:
        kind = (
            "exact"
            if wx is not None and wx.exact
            else "normal approximation with continuity correction"
        )
        methods.append(f"Wilcoxon rank-sum test ({kind})")
    if hl_pre:
        methods.append("Hodges–Lehmann shift with CI")
    if "t_test" in listed:
        methods.append("Welch two-sample t-test")
    groups = [(a.arm, a.label, v[g == a.arm]) for a in per] + [(POOLED, POOLED_LABEL, v)]
    within = _within(listed, change, groups, notes, methods)
    percent: tuple[ArmDistribution, ...] = ()
    percent_pooled = None
    if "percent_change" in listed and change:
        pc = at["PCHG"].reindex(uids).to_numpy(dtype=float) if uids else np.zeros(0)
        if np.any(np.isnan(pc)):
            notes.append(
                f"percent change not defined for {int(np.sum(np.isnan(pc)))} participant(s) "
                "with a baseline value of 0"
            )
        ok = ~np.isnan(pc)
        percent = tuple(_distribution(a.arm, a.label, pc[ok & (g == a.arm)]) for a in per)
        percent_pooled = _distribution(POOLED, POOLED_LABEL, pc[ok])
        methods.append("percent change from baseline, 100 × (value − baseline) / baseline")
    by_survival: tuple[ByOutcome, ...] = ()
    if "survivors_vs_deaths" in listed:
        dead = died.reindex(uids, fill_value=False).to_numpy(dtype=bool)
        by_survival = _by_survival(groups, dead, g, notes, methods)
    arm_of = dict(zip(pop["USUBJID"], pop[arm_col].astype(str), strict=True))
    return ContinuousResult(
        **base_fields(ep, "; ".join(methods), int(v.size), missing),
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
        trajectory=_trajectory(rows, trial, arm_of),
        within=within,
        percent=percent,
        percent_pooled=percent_pooled,
        by_survival=by_survival,
        exploratory=tuple(exploratory),
    )
