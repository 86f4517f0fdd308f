"""Safety endpoints: participants with events inside the protocol's safety windows (or any
treatment-emergent AE) per arm, events per window, Fisher's exact test."""

from __future__ import annotations

import numpy as np
import pandas as pd

from celltrial.analysis.endpoints._common import base_fields
from celltrial.analysis.endpoints.binary import arm_counts, binary_tests
from celltrial.analysis.results import POOLED, SafetyCountResult, WindowCount
from celltrial.analysis.trial import Trial
from celltrial.dataset import times, window_flag
from celltrial.protocol import Endpoint
from celltrial.protocol.models import SafetyWindow


def _named(w: SafetyWindow, hit: pd.DataFrame) -> np.ndarray:
    """:meth:`SafetyWindow.counts` of each AE row (reported, decoded term), asked once per
    distinct pair of terms."""
    seen: dict[tuple[object, object], bool] = {}
    out = np.fromiter(
        (
            seen[k] if (k := (a, b)) in seen else seen.setdefault(k, w.counts(a, b))
            for a, b in zip(hit["AETERM"].tolist(), hit["AEDECOD"].tolist(), strict=True)
        ),
        dtype=bool,
        count=len(hit),
    )
    return out


def window_events(trial: Trial, window_ids: list[str]) -> pd.DataFrame:
    """Events inside each safety window: AEs with onset inside it (ADAE's ``WIN_`` flag) that
    are one of the window's named events (:meth:`celltrial.protocol.models.SafetyWindow.counts`:
    other AEs in the window are not counted), and deaths inside it when the window lists death
    among its events. Columns USUBJID, WINDOW, WHAT, HOURS."""
    adae, adsl, ex = trial.adae, trial.adsl, trial.ex
    parts: list[pd.DataFrame] = []
    for w in trial.protocol.safety.windows:
        if w.id not in window_ids:
            continue
        flag = window_flag(w.id)
        if flag in adae:
            hit = adae[adae[flag] == "Y"]
            # A boolean mask of the frame's length, also when no AE is in the window (a trial
            # with no AE at all): indexing by an empty non-boolean list would select no
            # *columns* and lose USUBJID (the KeyError of issue 15).
            named = _named(w, hit)
            hit = hit.loc[named]
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


def safety_count(ep: Endpoint, trial: Trial) -> SafetyCountResult:
    """Participants with events (within the endpoint's safety windows, or any
    treatment-emergent AE) per arm, events per window, Fisher's exact test."""
    labels = trial.arms.labels
    adae = trial.adae
    pop, arm_col = trial.population(ep.population)
    arm_of = dict(zip(pop["USUBJID"], pop[arm_col].astype(str), strict=True))
    ids = list(ep.safety_windows)
    if ids:
        ev = window_events(trial, ids)
        what = "events within " + ", ".join(ids)
    else:
        te = adae[adae["TRTEMFL"] == "Y"]
        ev = pd.DataFrame({"USUBJID": te["USUBJID"], "WINDOW": "any", "WHAT": te["AEDECOD"]})
        what = "treatment-emergent adverse events"
    ev = ev[ev["USUBJID"].isin(arm_of)]
    with_ev = set(ev["USUBJID"])
    g = np.array([arm_of[u] for u in pop["USUBJID"].tolist()])
    y = pop["USUBJID"].isin(with_ev).to_numpy(dtype=int)
    per, pooled, counts = arm_counts(trial.arms, g, y)
    windows: list[WindowCount] = []
    wlabels = {w.id: w.label for w in trial.protocol.safety.windows}
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
    fisher_res, _ = binary_tests(
        ep, trial, counts, labels, notes, fisher=fisher_wanted, effects_too=False
    )
    return SafetyCountResult(
        **base_fields(ep, "; ".join(methods), int(y.size), []),
        notes=tuple(notes),
        arms=per,
        pooled=pooled,
        windows=tuple(windows),
        fisher=fisher_res,
    )
