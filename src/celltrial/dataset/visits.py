"""Findings in one long table, analysis visits from the protocol's windows, and baselines.

Each participant has two anchors: randomization (``RANDDTC``) and first administration (the
first ``EXSTDTC``; for a participant never dosed, the planned first administration,
randomization plus the arms' earliest ``start``). A visit's window is its nominal time from its
anchor plus ``[-before, +after]``. A result's **analysis visit** is the visit it was collected
at when its time lies in that visit's window, else the visit whose window holds it (the
nearest nominal time when windows overlap), else none: it is then reported as outside every
window and kept.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from celltrial.dataset import times
from celltrial.dataset.schema import catalogue
from celltrial.dataset.tables import Dataset
from celltrial.protocol import Protocol, Visit


def planned_start_hours(protocol: Protocol) -> int:
    """Hours from randomization to the planned first administration (the arms' earliest)."""
    starts = [a.administrations.start for a in protocol.arms if a.administrations is not None]
    return min(starts) if starts else 0


def anchors(dataset: Dataset, protocol: Protocol) -> pd.DataFrame:
    """Per participant: ``RANDDTM``, ``TRTSDTM`` (first dose, NaT if none) and ``FADMDTM``.

    ``FADMDTM`` is the first administration used as an anchor: ``TRTSDTM`` when dosed, else
    the planned one (``RANDDTM`` + the arms' earliest start).
    """
    dm = dataset.dm.drop_duplicates("USUBJID").dropna(subset=["USUBJID"])
    out = pd.DataFrame({"USUBJID": dm["USUBJID"].to_numpy()})
    out["RANDDTM"] = times.to_utc(dm["RANDDTC"]).array
    ex = dataset.table("EX")
    first = (
        pd.DataFrame({"USUBJID": ex["USUBJID"], "T": times.to_utc(ex["EXSTDTC"])})
        .groupby("USUBJID")["T"]
        .min()
    )
    rfst = pd.Series(times.to_utc(dm["RFSTDTC"]).array, index=dm["USUBJID"].to_numpy())
    trts = out["USUBJID"].map(first)
    trts = trts.where(trts.notna(), out["USUBJID"].map(rfst))
    out["TRTSDTM"] = pd.to_datetime(trts, utc=True)
    planned = out["RANDDTM"] + pd.Timedelta(hours=planned_start_hours(protocol))
    out["FADMDTM"] = out["TRTSDTM"].where(out["TRTSDTM"].notna(), planned)
    return out


def findings(dataset: Dataset, protocol: Protocol) -> pd.DataFrame:
    """Every findings result of every findings domain, one row each, in one long table.

    Columns: ``DOMAIN``, ``SRCROW`` (1-based row in its table), ``USUBJID``, ``TESTCD``,
    ``TEST``, ``MEASURE`` (the protocol measurement code, None when not in the catalogue),
    ``AVAL`` (numeric result), ``AVALC`` (character result), ``UNIT``, ``STAT``, ``DTC``,
    ``ADTM`` (UTC), ``ADTMF``, ``VISIT``, ``VISITNUM``.
    """
    cat = catalogue(protocol)
    names = ["DOMAIN", "SRCROW", "USUBJID", "TESTCD", "TEST", "AVAL", "AVALC", "UNIT"]
    names += ["STAT", "DTC", "VISIT", "VISITNUM", "MEASURE"]
    columns: dict[str, list[np.ndarray]] = {c: [] for c in names}
    for code in dataset.findings_domains:
        t = dataset.table(code)
        p = code
        part = {
            "DOMAIN": np.full(len(t), code, dtype=object),
            "SRCROW": np.arange(1, len(t) + 1),
            "USUBJID": t["USUBJID"].to_numpy(dtype=object),
            "TESTCD": t[f"{p}TESTCD"].to_numpy(dtype=object),
            "TEST": t[f"{p}TEST"].to_numpy(dtype=object),
            "AVAL": t[f"{p}STRESN"].to_numpy(dtype="float64"),
            "AVALC": t[f"{p}STRESC"].to_numpy(dtype=object),
            "UNIT": t[f"{p}ORRESU"].to_numpy(dtype=object),
            "STAT": t[f"{p}STAT"].to_numpy(dtype=object),
            "DTC": t[f"{p}DTC"].to_numpy(dtype=object),
            "VISIT": t["VISIT"].to_numpy(dtype=object),
            "VISITNUM": t["VISITNUM"].to_numpy(dtype="float64"),
        }
        codes = {tc: m.code for (d, tc), m in cat.items() if d == code}
        part["MEASURE"] = _lookup(t[f"{p}TESTCD"], codes)
        for c in names:
            columns[c].append(part[c])
    if not dataset.findings_domains:
        out = pd.DataFrame({c: pd.Series([], dtype="object") for c in names})
    else:
        out = pd.DataFrame({c: np.concatenate(v) for c, v in columns.items()})
    out["ADTM"] = times.to_utc(out["DTC"])
    out["ADTMF"] = times.imputed_flag(out["DTC"])
    return out


def visit_bounds(
    protocol: Protocol, anchor: pd.DataFrame, usubjid: pd.Series
) -> list[tuple[Visit, pd.Series, pd.Series, pd.Series]]:
    """For each visit: its (nominal, earliest, latest) times for the participants ``usubjid``."""
    by_id = anchor.set_index("USUBJID")
    rand = usubjid.map(by_id["RANDDTM"])
    fadm = usubjid.map(by_id["FADMDTM"])
    out = []
    for v in protocol.schedule.visits:
        origin = rand if protocol.schedule.anchor_of(v) == "randomization" else fadm
        nominal = origin + pd.Timedelta(hours=v.at)
        out.append(
            (
                v,
                nominal,
                nominal + pd.Timedelta(hours=v.window[0]),
                nominal + pd.Timedelta(hours=v.window[1]),
            )
        )
    return out


def assign_visits(rows: pd.DataFrame, protocol: Protocol, anchor: pd.DataFrame) -> pd.DataFrame:
    """Add ``AVISIT``, ``AVISITN`` (1-based schedule order), ``AWTDIFF`` (hours from the
    nominal time) and ``AWOUTFL`` (Y when outside every window) to ``rows``.

    ``rows`` needs ``USUBJID``, ``ADTM`` and ``VISIT`` (the visit as collected).
    """
    return rows.assign(**visit_columns(rows, protocol, anchor))


def _ns(values: pd.Series) -> np.ndarray:
    """UTC instants as int64 nanoseconds since 1970 (NaT: int64 min)."""
    out: np.ndarray = (
        pd.to_datetime(values, utc=True).to_numpy(dtype="datetime64[ns]").view(np.int64)
    )
    return out


_NAT = np.iinfo(np.int64).min


def visit_columns(
    rows: pd.DataFrame, protocol: Protocol, anchor: pd.DataFrame
) -> dict[str, pd.Series]:
    """The columns :func:`assign_visits` adds (``AVISIT``, ``AVISITN``, ``AWTDIFF``,
    ``AWOUTFL``), each indexed like ``rows``; the arithmetic on int64 nanoseconds.

    ``hours_between`` and the window comparisons of each visit, as :func:`visit_bounds` has
    them, on the whole column at once: ``(t − nominal)`` in nanoseconds, then seconds, then
    hours, as :meth:`pandas.Series.dt.total_seconds` divides."""
    by_id = anchor.drop_duplicates("USUBJID").set_index("USUBJID")
    where = by_id.index.get_indexer(rows["USUBJID"].to_numpy(dtype=object))
    known = where >= 0

    def per_row(col: str) -> np.ndarray:
        v = _ns(by_id[col])
        out = np.full(len(rows), _NAT, dtype=np.int64)
        out[known] = v[where[known]]
        return out

    rand, fadm = per_row("RANDDTM"), per_row("FADMDTM")
    t = _ns(rows["ADTM"])
    t_ok = t != _NAT
    visits = protocol.schedule.visits
    n, k = len(rows), len(visits)
    inside = np.zeros((n, k), dtype=bool)
    dist = np.full((n, k), np.inf)
    diff = np.full((n, k), np.nan)
    for j, v in enumerate(visits):
        origin = rand if protocol.schedule.anchor_of(v) == "randomization" else fadm
        ok_o = origin != _NAT
        nominal = origin + pd.Timedelta(hours=v.at).value
        lo = nominal + pd.Timedelta(hours=v.window[0]).value
        hi = nominal + pd.Timedelta(hours=v.window[1]).value
        both = ok_o & t_ok
        with np.errstate(invalid="ignore"):
            hrs = np.where(both, (t - np.where(both, nominal, 0)) / 1_000_000_000, np.nan) / 3600.0
        ok = both & (t >= lo) & (t <= hi)
        inside[:, j] = ok
        dist[:, j] = np.where(ok, np.abs(hrs), np.inf)
        diff[:, j] = hrs
    ids = [v.id for v in visits]
    collected = _position(rows["VISIT"], ids)
    keep = (collected >= 0) & inside[np.arange(n), np.maximum(collected, 0)]
    nearest = np.argmin(dist, axis=1) if k else np.zeros(n, dtype=int)
    chosen = np.where(keep, collected, nearest)
    found = np.asarray(inside.any(axis=1), dtype=bool)
    index = rows.index
    return {
        "AVISIT": pd.Series(
            _pick(found, np.array(ids, dtype=object), chosen), index=index, dtype="object"
        ),
        "AVISITN": pd.Series(np.where(found, chosen + 1.0, np.nan), index=index),
        "AWTDIFF": pd.Series(
            np.where(found, diff[np.arange(n), chosen] if k else np.nan, np.nan), index=index
        ),
        "AWOUTFL": pd.Series(times.marked(t_ok & ~found), index=index, dtype="object"),
    }


def baseline_visit(protocol: Protocol, measure: str) -> str | None:
    """The visit whose value is a measurement's baseline.

    The ``baseline_visit`` of the first endpoint on the measurement that names one, else the
    first visit of kind ``baseline``, else the last visit at or before time 0.
    """
    for e in protocol.endpoints:
        if e.measurement == measure and e.baseline_visit:
            return e.baseline_visit
    visits = protocol.schedule.visits
    for v in visits:
        if v.kind == "baseline":
            return v.id
    before = [v for v in visits if v.at <= 0]
    return before[-1].id if before else None


def baseline_rows(
    rows: pd.DataFrame, protocol: Protocol, anchor: pd.DataFrame | None = None
) -> pd.Series:
    """True on the record that is each participant's baseline of each measurement.

    The baseline is the latest result with a value whose analysis visit is the measurement's
    baseline visit or an earlier visit of the schedule (so a value taken only at screening
    serves when the baseline visit has none). With ``anchor`` (:func:`anchors`), a result
    outside every window that was collected at one of those visits and taken no later than the
    first administration (``FADMDTM``) is a candidate too: a screening value taken a day
    before a Day 0 whose window is the hours before the infusion is still the participant's
    last value before treatment (CDISC ADaMIG 1.3 §3.3.3, "last non-missing value before
    the first dose"). ``rows`` needs ``AVISITN`` from :func:`assign_visits`.

    R equivalent: ``dplyr::slice_max(filter(rows, AVISITN <= limit), ADTM, by = c(USUBJID,
    MEASURE))``.
    """
    order = {v.id: i + 1 for i, v in enumerate(protocol.schedule.visits)}
    limits = {
        m.code: order.get(baseline_visit(protocol, m.code) or "", 0) for m in protocol.measurements
    }
    limit = pd.Series(
        _lookup(rows["MEASURE"], limits, 0).astype("int64"), index=rows.index, copy=False
    )
    has_value = rows["AVAL"].notna() | rows["AVALC"].notna()
    in_visit = rows["AVISITN"] <= limit
    if anchor is not None and len(rows):
        collected = pd.Series(
            _lookup(rows["VISIT"], order, np.nan).astype("float64"), index=rows.index, copy=False
        )
        fadm = pd.to_datetime(rows["USUBJID"].map(anchor.set_index("USUBJID")["FADMDTM"]), utc=True)
        early = rows["AVISITN"].isna() & (collected <= limit) & (rows["ADTM"] <= fadm)
        in_visit = in_visit | early.fillna(False).astype(bool)
    cand = rows["MEASURE"].notna() & has_value & in_visit
    flag = pd.Series(False, index=rows.index)
    if cand.any():
        c = rows.loc[cand, ["USUBJID", "MEASURE", "ADTM", "AVISITN"]].sort_values(
            ["ADTM", "AVISITN"]
        )
        last = c.groupby(["USUBJID", "MEASURE"], sort=False).tail(1).index
        flag[last] = True
    return flag


def _pick(found: np.ndarray, ids: np.ndarray, chosen: np.ndarray) -> np.ndarray:
    out = np.full(len(found), None, dtype=object)
    if len(ids):
        out[found] = ids[chosen[found]]
    return out


def _lookup(values: pd.Series, table: Mapping[Any, object], default: object = None) -> np.ndarray:
    """``table[v]`` for each value (``default`` where ``v`` is not a key, or is missing), as
    an object array: the dictionary is asked once per distinct value, not once per row."""
    codes, uniques = pd.factorize(values.to_numpy(dtype=object))
    answers = np.array([table.get(u, default) for u in uniques] + [default], dtype=object)
    out: np.ndarray = answers[codes]  # code -1 (missing) takes the last: default
    return out


def _position(values: pd.Series, ids: list[str]) -> np.ndarray:
    """The index of each value in ``ids`` (its first, -1 where it is not one of them)."""
    first = {v: i for i, v in reversed(list(enumerate(ids)))}
    out: np.ndarray = _lookup(values, first, -1).astype(np.int64)
    return out
