"""ADTTE: one row per participant and time-to-event endpoint, following the censoring rules.

For each time-to-event endpoint of the protocol and each participant of ADSL:

1. **Origin** (``STARTDTM``): randomization, or the first administration when the endpoint's
   ``anchor`` is ``first_administration`` (for a participant never dosed, the planned first
   administration; ``STARTSRC`` says which).
2. **Occurrences** of the protocol's events (:func:`event_occurrences`): CE rows (CEDECOD);
   ``death`` also from DM.DTHDTC; ``sae`` also from serious AEs (AESER = Y, at AESTDTC).
   Occurrences before the origin do not count; an occurrence after a death is ignored.
3. **The first of**: an endpoint event (``EVTYPE`` 1), a competing event (``EVTYPE`` 2:
   the endpoint's ``competing`` events, and death when ``censoring.death`` is ``competing``),
   or death, by the endpoint's rule for death:

   - ``event``: death is an event (``CNSR`` 0), whether or not it is listed in ``events``;
   - ``censor_at_death``: censored at the time of death;
   - ``censor_at_horizon``: censored at the horizon, kept in the risk set (Lanzoni's time to
     recovery);
   - ``competing``: censored (``CNSR`` 1) with ``EVTYPE`` 2 at the time of death;
   - ``not_applicable``: censored at the time of death.

4. **Otherwise**, by the endpoint's ``censoring.at``:

   - ``last_assessment`` (the default, as ADaM does): censored at the end-of-study date of the
     disposition (DS, ``EOSDTM``) when there is one, else at the last contact (``LSTCNDTM``),
     never after the horizon;
   - ``horizon``: censored at the horizon (administrative) when the participant completed the
     study or was in contact at or after the horizon; else censored at the last contact
     (drop-out: WITHDRAWN, LOST TO FOLLOW-UP, or still ongoing).

An event after the horizon is censored at the horizon. ``AVAL`` counts elapsed days by default;
an endpoint with ``days_from: 1`` counts ADaM study days on dates, ``AVAL = ADT − STARTDT + 1``
(no day 0: an event on the day of the origin has AVAL 1). A participant without a readable
randomization time gets a row with ``AVAL`` missing and ``EVNTDESC`` saying so. ``AVAL`` is in days (``AVALU`` DAYS),
``AVALH`` in hours; both ≥ 0 and ≤ the horizon. ``CNSR`` follows CDISC: 1 = censored,
0 = event.
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pandas as pd

from celltrial.dataset import times
from celltrial.dataset.adsl import derive_adsl
from celltrial.dataset.schema import DEATH_EVENT, SAE_EVENT
from celltrial.dataset.tables import Dataset
from celltrial.dataset.visits import planned_start_hours
from celltrial.protocol import Endpoint, Protocol

#: EVNTDESC of a participant whose time origin is unknown (AVAL is then missing).
NO_ORIGIN = "No time origin: the randomization time is missing or unreadable"
ADTTE_KEEP = ("STUDYID", "USUBJID", "ARMCD", "TRT01P", "TRT01A", "ITTFL", "SAFFL", "PPROTFL")


def event_occurrences(dataset: Dataset) -> pd.DataFrame:
    """Every occurrence of a protocol event: ``USUBJID``, ``EVENT``, ``ADTM``, ``SOURCE``.

    From CE (rows with CEOCCUR = N excluded), DM.DTHDTC (event ``death``) and serious AEs
    (event ``sae``, at onset). The same event at the same time from two sources is kept once.
    """
    ce = dataset.table("CE")
    ce = ce[ce["CEOCCUR"] != "N"]
    dm = dataset.dm
    ae = dataset.table("AE")
    sae = ae[ae["AESER"] == "Y"]
    parts = [
        pd.DataFrame(
            {
                "USUBJID": ce["USUBJID"],
                "EVENT": ce["CEDECOD"],
                "ADTM": times.to_utc(ce["CESTDTC"]),
                "SOURCE": "CE",
            }
        ),
        pd.DataFrame(
            {
                "USUBJID": dm["USUBJID"],
                "EVENT": DEATH_EVENT,
                "ADTM": times.to_utc(dm["DTHDTC"]),
                "SOURCE": "DM",
            }
        ),
        pd.DataFrame(
            {
                "USUBJID": sae["USUBJID"],
                "EVENT": SAE_EVENT,
                "ADTM": times.to_utc(sae["AESTDTC"]),
                "SOURCE": "AE",
            }
        ),
    ]
    out = pd.concat(parts, ignore_index=True)
    out = out[out["ADTM"].notna() & out["EVENT"].notna()]
    out = out.drop_duplicates(["USUBJID", "EVENT", "ADTM"]).sort_values(["USUBJID", "ADTM"])
    return out.reset_index(drop=True)


@dataclasses.dataclass(frozen=True)
class Outcome:
    """How one participant's follow-up ends for one endpoint (hours from the origin)."""

    hours: float
    cnsr: int
    evtype: int
    description: str
    censor_reason: str | None


def outcome(
    endpoint: Endpoint,
    *,
    occurrences: dict[str, float],
    death: float | None,
    last_contact: float | None,
    completed: bool,
    labels: dict[str, str] | None = None,
    end_of_study: float | None = None,
) -> Outcome:
    """Apply an endpoint's censoring rules to one participant (times in hours from origin).

    Parameters
    ----------
    endpoint : Endpoint
        A time-to-event endpoint (``horizon`` and ``censoring`` set).
    occurrences : dict of str to float
        The first occurrence of each event code, at or after the origin.
    death : float, optional
        Time of death, if the participant died.
    last_contact : float, optional
        Time of the last contact (the latest date of any record).
    completed : bool
        Whether the participant completed the study (DS COMPLETED).
    labels : dict of str to str, optional
        Event labels for the description (default: the codes).
    end_of_study : float, optional
        Time of the end-of-study disposition, where the censoring is ``last_assessment``.

    Returns
    -------
    Outcome
    """
    labels = labels or {}
    horizon = float(endpoint.horizon) if endpoint.horizon is not None else math.inf
    rule = endpoint.censoring.death if endpoint.censoring is not None else "censor_at_death"
    cands: list[tuple[float, int, int, str]] = []  # time, priority, evtype, code
    for i, code in enumerate(endpoint.events):
        if code in occurrences and code != DEATH_EVENT:
            cands.append((occurrences[code], i, 1, code))
    for i, code in enumerate(endpoint.competing):
        if code in occurrences and code != DEATH_EVENT:
            cands.append((occurrences[code], 100 + i, 2, code))
    if death is not None:
        cands = [c for c in cands if c[0] <= death]
        if rule == "event":
            order = endpoint.events.index(DEATH_EVENT) if DEATH_EVENT in endpoint.events else 99
            cands.append((death, order, 1, DEATH_EVENT))
        elif rule == "competing":
            cands.append((death, 200, 2, DEATH_EVENT))
    if cands:
        t, _, evtype, code = min(cands)
        if t <= horizon:
            what = labels.get(code, code)
            if evtype == 1:
                return Outcome(t, 0, 1, what, None)
            return Outcome(t, 1, 2, f"Competing event: {what}", f"competing event ({what})")
    days = f"{horizon / 24:g}" if math.isfinite(horizon) else "end"
    if death is not None and death <= horizon:
        if rule == "censor_at_horizon":
            return Outcome(
                horizon,
                1,
                0,
                f"Censored at day {days}: death (kept in the risk set to the horizon)",
                "death, censored at horizon",
            )
        if rule in ("censor_at_death", "not_applicable"):
            return Outcome(death, 1, 0, "Censored at death", "death")
    at = endpoint.censoring.at if endpoint.censoring is not None else "last_assessment"
    if at == "last_assessment":
        last = end_of_study if end_of_study is not None else last_contact
        if last is not None and last >= horizon:
            return Outcome(
                horizon, 1, 0, f"Censored at day {days}: end of follow-up", "end of follow-up"
            )
        t = max(0.0, last if last is not None else 0.0)
        if completed:
            return Outcome(t, 1, 0, "Censored at the end of study", "end of study")
        return Outcome(t, 1, 0, "Censored at last contact", "last contact (drop-out)")
    if (
        completed
        or (last_contact is not None and last_contact >= horizon)
        or (death is not None and death > horizon)
    ):
        return Outcome(
            horizon, 1, 0, f"Censored at day {days}: end of follow-up", "end of follow-up"
        )
    t = max(0.0, min(last_contact if last_contact is not None else 0.0, horizon))
    return Outcome(t, 1, 0, "Censored at last contact", "last contact (drop-out)")


def _epoch_hours(ts: pd.Series) -> np.ndarray:
    """UTC timestamps as hours since 1970 (NaN for NaT)."""
    t = pd.to_datetime(ts, utc=True)
    hours = (t - pd.Timestamp(0, tz="UTC")).dt.total_seconds() / 3600.0
    out: np.ndarray = hours.to_numpy(dtype="float64")
    return out


@dataclasses.dataclass(frozen=True)
class Outcomes:
    """:class:`Outcome` of every participant for one endpoint, as columns."""

    hours: np.ndarray
    cnsr: np.ndarray
    evtype: np.ndarray
    description: np.ndarray
    censor_reason: np.ndarray


def outcomes(
    endpoint: Endpoint,
    *,
    occurrences: dict[str, np.ndarray],
    death: np.ndarray,
    last_contact: np.ndarray,
    completed: np.ndarray,
    labels: dict[str, str] | None = None,
    end_of_study: np.ndarray | None = None,
) -> Outcomes:
    """:func:`outcome` for many participants at once: every argument a column (NaN where
    :func:`outcome` takes None), the same rules in the same order, row by row.

    ``occurrences`` maps an event code to the hours of its first occurrence at or after the
    origin (NaN where it did not occur).
    """
    labels = labels or {}
    n = len(death)
    horizon = float(endpoint.horizon) if endpoint.horizon is not None else math.inf
    rule = endpoint.censoring.death if endpoint.censoring is not None else "censor_at_death"
    nan = np.full(n, math.nan)
    died = ~np.isnan(death)
    # Candidates (time, priority, evtype, code), in ascending priority: the first minimal time
    # is the tuple minimum of :func:`outcome`.
    cands: list[tuple[np.ndarray, int, int, str]] = []
    for i, code in enumerate(endpoint.events):
        if code != DEATH_EVENT:
            cands.append((occurrences.get(code, nan), i, 1, code))
    for i, code in enumerate(endpoint.competing):
        if code != DEATH_EVENT:
            cands.append((occurrences.get(code, nan), 100 + i, 2, code))
    # A candidate after the death does not count.
    cands = [(np.where(died & (t > death), math.nan, t), p, k, c) for t, p, k, c in cands]
    if rule == "event":
        order = endpoint.events.index(DEATH_EVENT) if DEATH_EVENT in endpoint.events else 99
        cands.append((death, order, 1, DEATH_EVENT))
    elif rule == "competing":
        cands.append((death, 200, 2, DEATH_EVENT))
    cands.sort(key=lambda c: (c[1], c[2], c[3]))
    hours = np.full(n, math.nan)
    cnsr = np.ones(n, dtype=np.int64)
    evtype = np.zeros(n, dtype=np.int64)
    desc = np.full(n, None, dtype=object)
    reason = np.full(n, None, dtype=object)
    done = np.zeros(n, dtype=bool)
    if cands:
        times_ = np.column_stack([np.where(np.isnan(c[0]), np.inf, c[0]) for c in cands])
        first = np.argmin(times_, axis=1)
        t = times_[np.arange(n), first]
        hit = np.isfinite(t) & (t <= horizon)
        for k, (_, _, kind, code) in enumerate(cands):
            rows = hit & (first == k)
            what = labels.get(code, code)
            hours[rows] = t[rows]
            if kind == 1:
                cnsr[rows], evtype[rows], desc[rows] = 0, 1, what
            else:
                evtype[rows], desc[rows] = 2, f"Competing event: {what}"
                reason[rows] = f"competing event ({what})"
        done |= hit
    days = f"{horizon / 24:g}" if math.isfinite(horizon) else "end"

    def put(rows: np.ndarray, h: np.ndarray | float, d: str, r: str) -> None:
        rows = rows & ~done
        hours[rows] = h[rows] if isinstance(h, np.ndarray) else h
        desc[rows], reason[rows] = d, r
        done[rows] = True

    dead_by = died & (death <= horizon)
    if rule == "censor_at_horizon":
        put(
            dead_by,
            horizon,
            f"Censored at day {days}: death (kept in the risk set to the horizon)",
            "death, censored at horizon",
        )
    elif rule in ("censor_at_death", "not_applicable"):
        put(dead_by, death, "Censored at death", "death")
    at = endpoint.censoring.at if endpoint.censoring is not None else "last_assessment"
    end_follow = (f"Censored at day {days}: end of follow-up", "end of follow-up")
    if at == "last_assessment":
        eos = end_of_study if end_of_study is not None else nan
        last = np.where(np.isnan(eos), last_contact, eos)
        put(~np.isnan(last) & (last >= horizon), horizon, *end_follow)
        t_last = np.maximum(0.0, np.where(np.isnan(last), 0.0, last))
        put(completed, t_last, "Censored at the end of study", "end of study")
        put(~completed, t_last, "Censored at last contact", "last contact (drop-out)")
    else:
        later = (~np.isnan(last_contact) & (last_contact >= horizon)) | (died & (death > horizon))
        put(completed | later, horizon, *end_follow)
        t_last = np.maximum(
            0.0, np.minimum(np.where(np.isnan(last_contact), 0.0, last_contact), horizon)
        )
        put(np.ones(n, dtype=bool), t_last, "Censored at last contact", "last contact (drop-out)")
    return Outcomes(hours, cnsr, evtype, desc, reason)


def derive_adtte(
    dataset: Dataset, protocol: Protocol, *, adsl: pd.DataFrame | None = None
) -> pd.DataFrame:
    """Derive ADTTE for every time-to-event endpoint of the protocol.

    Parameters
    ----------
    dataset : Dataset
    protocol : Protocol
    adsl : pandas.DataFrame, optional
        ADSL from :func:`celltrial.dataset.derive_adsl` (derived when not given).

    Returns
    -------
    pandas.DataFrame
        One row per participant × endpoint: the ADSL keys and population flags, strata,
        ``PARAMCD`` (endpoint id), ``PARAM`` (label), ``STARTDTM``, ``STARTSRC``, ``ADTM``,
        ``AVAL`` (days), ``AVALU``, ``AVALH`` (hours), ``CNSR`` (1 censored, 0 event),
        ``EVTYPE`` (0 censored, 1 event, 2 competing event), ``EVNTDESC``, ``CNSDTDSC``.

    Examples
    --------
    Lanzoni's time to recovery: a participant who died on day 9 without recovering is
    censored at day 31 (``AVAL`` 31, ``CNSR`` 1), kept in the risk set to the horizon.
    """
    if adsl is None:
        adsl = derive_adsl(dataset, protocol)
    endpoints = [e for e in protocol.endpoints if e.type == "time_to_event"]
    labels = {e.code: e.label for e in protocol.events}
    occ = event_occurrences(dataset)
    strata = [c for c in adsl.columns if c.startswith("STRAT_")]
    planned = float(planned_start_hours(protocol))
    order = {e.id: i + 1 for i, e in enumerate(endpoints)}
    # Everything in hours since the epoch, one column per time, one pass per endpoint.
    uids = adsl["USUBJID"].to_numpy(dtype=object)
    n = len(uids)
    where = pd.Index(uids).get_indexer(occ["USUBJID"].to_numpy(dtype=object))
    occ_at = _epoch_hours(occ["ADTM"])
    occ_code = occ["EVENT"].to_numpy(dtype=object)
    mine = where >= 0
    where, occ_at, occ_code = where[mine], occ_at[mine], occ_code[mine]
    rand_h = _epoch_hours(adsl["RANDDTM"])
    trts_h = _epoch_hours(adsl["TRTSDTM"])
    death_h = _epoch_hours(adsl["DTHDTM"])
    last_h = _epoch_hours(adsl["LSTCNDTM"])
    eos_h = _epoch_hours(adsl["EOSDTM"])
    completed = (adsl["EOSSTT"] == "COMPLETED").to_numpy(dtype=bool)
    # DM's death time, else the first death recorded as a clinical event.
    recorded = _first(where, occ_at, occ_code == DEATH_EVENT, n)
    death_h = np.where(np.isnan(death_h), recorded, death_h)
    base = adsl[list(ADTTE_KEEP) + strata].reset_index(drop=True)
    parts: list[pd.DataFrame] = []
    for e in endpoints:
        if e.anchor == "first_administration":
            dosed = ~np.isnan(trts_h)
            origin = np.where(dosed, trts_h, rand_h + planned)
            src = np.where(
                dosed, "FIRST ADMINISTRATION", "PLANNED FIRST ADMINISTRATION (NOT DOSED)"
            ).astype(object)
        else:
            origin = rand_h
            src = np.full(n, "RANDOMIZATION", dtype=object)
        after = occ_at >= origin[where]
        first = {
            code: _first(where, occ_at, after & (occ_code == code), n) - origin
            for code in {*e.events, *e.competing}
        }
        o = outcomes(
            e,
            occurrences=first,
            death=np.maximum(0.0, death_h - origin),
            last_contact=last_h - origin,
            completed=completed,
            labels=labels,
            end_of_study=eos_h - origin,
        )
        no_origin = np.isnan(origin)
        hours = np.where(no_origin, math.nan, o.hours)
        part = base.copy()
        part["PARAMN"] = order[e.id]
        part["PARAMCD"] = e.id
        part["PARAM"] = e.label
        part["STARTH"] = origin
        part["STARTSRC"] = src
        part["AVAL"] = hours / times.HOURS_PER_DAY
        part["AVALU"] = "DAYS"
        part["AVALH"] = hours
        part["CNSR"] = np.where(no_origin, 1, o.cnsr)
        part["EVTYPE"] = np.where(no_origin, 0, o.evtype)
        part["EVNTDESC"] = np.where(no_origin, NO_ORIGIN, o.description)
        reason = o.censor_reason.copy()
        reason[no_origin] = None
        part["CNSDTDSC"] = reason
        parts.append(part)
    cols = [*ADTTE_KEEP, *strata, "PARAMN", "PARAMCD", "PARAM", "STARTH", "STARTSRC"]
    cols += ["AVAL", "AVALU", "AVALH", "CNSR", "EVTYPE", "EVNTDESC", "CNSDTDSC"]
    out = pd.concat(parts, ignore_index=True)[cols] if parts else pd.DataFrame(columns=cols)
    epoch = pd.Timestamp(0, tz="UTC")
    out.insert(
        out.columns.get_loc("STARTH"),
        "STARTDTM",
        epoch + pd.to_timedelta(out["STARTH"].astype("float64"), unit="h"),
    )
    out.insert(
        out.columns.get_loc("STARTSRC") + 1,
        "ADTM",
        out["STARTDTM"] + pd.to_timedelta(out["AVALH"].astype("float64"), unit="h"),
    )
    out = out.drop(columns=["STARTH"])
    # ADaM study days on dates (no day 0) for the endpoints that count so.
    study_day = out["PARAMCD"].map({e.id: e.days_from == 1 for e in endpoints}).astype(bool)
    if study_day.any():
        day = out["ADTM"].dt.floor("D") - out["STARTDTM"].dt.floor("D")
        counted = day.dt.days.astype("float64") + 1.0
        out["AVAL"] = out["AVAL"].where(~study_day, counted)
    out["CNSR"] = out["CNSR"].astype("int64")
    out["EVTYPE"] = out["EVTYPE"].astype("int64")
    out["AVAL"] = out["AVAL"].astype("float64")
    out["AVALH"] = out["AVALH"].astype("float64")
    return out.sort_values(["PARAMN", "USUBJID"], kind="stable", ignore_index=True)


def _first(where: np.ndarray, at: np.ndarray, keep: np.ndarray, n: int) -> np.ndarray:
    """Per participant (0 … n-1): the earliest of ``at`` over the rows ``keep`` that
    ``where`` assigns to that participant; NaN where there is none."""
    out = np.full(n, np.inf)
    np.minimum.at(out, where[keep], at[keep])
    out[np.isinf(out)] = math.nan
    return out
