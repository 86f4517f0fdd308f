"""Schema checks on load: types, required columns and values, controlled terms, ISO 8601 dates.

:func:`coerce_table` turns a raw table (text from CSV, or typed columns from Parquet) into the
typed table of its domain and a list of problems, one per bad cell or bad row. A bad value is
reported and read as missing; the row is kept. Nothing is raised.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import numpy as np
import pandas as pd

from celltrial.dataset import times
from celltrial.dataset.problems import Problem
from celltrial.dataset.schema import (
    AE_SERIOUSNESS,
    INTERVALS,
    NOT_DONE,
    STRATUM_PREFIX,
    Column,
    Domain,
)


def _missing(s: pd.Series) -> pd.Series:
    """True where a raw value is missing: NaN, None or blank text."""
    out = [v is None or v == "" for v in map(times.text_of, s.to_numpy(dtype=object))]
    return pd.Series(out, index=s.index, dtype=bool)


def _show(value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


class _Table:
    """A table being checked: its domain, rows and the problems found so far."""

    def __init__(self, dom: Domain, raw: pd.DataFrame) -> None:
        self.dom = dom
        self.df = raw.reset_index(drop=True).copy()
        self.df.columns = [str(c).strip().upper() for c in self.df.columns]
        self.problems: list[Problem] = []
        key = "SCRNID" if dom.code == "SL" else "USUBJID"
        self.ids = (
            self.df[key].where(~_missing(self.df[key]), None)
            if key in self.df
            else pd.Series([None] * len(self.df), dtype="object")
        )

    def report(
        self, rows: np.ndarray | pd.Series, message: Callable[[int], str], column: str | None
    ) -> None:
        for i in np.flatnonzero(np.asarray(rows, dtype=bool)):
            uid = self.ids.iloc[i]
            self.problems.append(
                Problem(
                    self.dom.code,
                    message(int(i)),
                    row=int(i) + 1,
                    usubjid=None if uid is None else _show(uid),
                    column=column,
                )
            )

    def warn_table(self, message: str, column: str | None = None) -> None:
        self.problems.append(Problem(self.dom.code, message, column=column, level="warning"))

    def error_table(self, message: str, column: str | None = None) -> None:
        self.problems.append(Problem(self.dom.code, message, column=column))


def _coerce_text(t: _Table, col: Column, raw: pd.Series, *, absent: bool) -> None:
    """A text column held as text: one Python pass (stripped, blank read as missing, terms
    checked); the same result as the general path of :func:`_coerce_column`, without a
    dozen pandas operations per column."""
    given = [s if (s := times.text_of(v)) else None for v in raw.to_numpy(dtype=object)]
    vals = given
    if col.terms is not None:
        allowed = set(col.terms)
        off = np.fromiter((v is not None and v not in allowed for v in given), bool, len(given))
        if off.any():
            shown = _Shown(raw)
            terms = col.terms_text or "one of " + ", ".join(col.terms)
            t.report(off, lambda i: f"{col.name} '{shown.iloc[i]}' is not {terms}", col.name)
            vals = [None if o else v for v, o in zip(given, off, strict=True)]
    if col.need == "req" and not absent:
        miss = np.fromiter((v is None for v in given), bool, len(given))
        t.report(miss, lambda i: f"{col.name} is missing (required)", col.name)
    t.df[col.name] = pd.Series(vals, index=raw.index, dtype="object")


def _coerce_column(t: _Table, col: Column, *, absent: bool = False) -> None:
    raw = t.df[col.name]
    if col.type == "text" and (raw.dtype == object or pd.api.types.is_string_dtype(raw)):
        _coerce_text(t, col, raw, absent=absent)
        return
    miss = _missing(raw)
    shown = _Shown(raw)
    bad = pd.Series(False, index=raw.index)
    what = ""
    if col.type == "text":
        if raw.dtype == object or pd.api.types.is_string_dtype(raw):
            value = raw.astype("string").str.strip().astype("object").where(~miss, None)
        else:
            value = raw.map(_show).astype("object").where(~miss, None)
    elif col.type in ("integer", "number"):
        num = pd.to_numeric(raw.where(~miss, None).map(_num_text), errors="coerce")
        bad = ~miss & (num.isna() | ~np.isfinite(num.fillna(0.0)))
        what = "a number"
        if col.type == "integer":
            frac = ~miss & ~bad & (num.fillna(0.0) % 1 != 0)
            t.report(
                frac, lambda i: f"{col.name} '{shown.iloc[i]}' is not a whole number", col.name
            )
            bad = bad | frac
            value = num.where(~bad).round().astype("Int64")
        else:
            value = num.where(~bad).astype("float64")
    elif col.type == "datetime":
        text = raw.where(~miss, None)
        if pd.api.types.is_datetime64_any_dtype(raw):
            text = raw.dt.strftime("%Y-%m-%dT%H:%M:%S%z").where(raw.notna(), None)
        value, bad = times.normalize(text)
        far = times.beyond_range(text) if bad.any() else pd.Series(False, index=text.index)
        if far.any():  # valid ISO, beyond 64-bit nanoseconds: its own message, not "not ISO"
            t.report(far, lambda i: f"{col.name} '{shown.iloc[i]}' {times.BEYOND_RANGE}", col.name)
            bad = bad & ~far
        what = "an ISO 8601 date or date-time (e.g. 2020-05-01 or 2020-05-01T14:00Z)"
    else:  # flag
        up = raw.map(_flag_text)
        bad = ~miss & ~up.isin(["Y", "N"])
        value = up.where(~miss & ~bad, None)
        what = "Y or N"
    if what and col.type != "integer":
        t.report(bad, lambda i: f"{col.name} '{shown.iloc[i]}' is not {what}", col.name)
    elif col.type == "integer":
        nonnum = (
            ~miss & pd.to_numeric(raw.where(~miss, None).map(_num_text), errors="coerce").isna()
        )
        t.report(nonnum, lambda i: f"{col.name} '{shown.iloc[i]}' is not a number", col.name)
    if col.terms is not None:
        text_value = value.map(lambda v: None if v is None or v is pd.NA or v != v else _show(v))
        off = text_value.notna() & ~text_value.isin(col.terms)
        terms = col.terms_text or "one of " + ", ".join(col.terms)
        t.report(off, lambda i: f"{col.name} '{shown.iloc[i]}' is not {terms}", col.name)
        value = value.where(~off, None) if col.type != "integer" else value.mask(off)
        bad = bad | off
    if col.need == "req" and not absent:
        t.report(miss, lambda i: f"{col.name} is missing (required)", col.name)
    if value.dtype == object:
        value = value.where(value.notna(), None)
    t.df[col.name] = value


class _Shown:
    """A raw value as a message shows it, computed only for the rows reported."""

    def __init__(self, raw: pd.Series) -> None:
        self.raw = raw

    @property
    def iloc(self) -> _Shown:
        return self

    def __getitem__(self, i: int) -> str:
        v = self.raw.iloc[i]
        return _show(v) if v is not None and v == v else ""


def _num_text(v: Any) -> Any:
    if isinstance(v, str):
        return v.strip()
    if isinstance(v, bool):
        return None
    return v


def _flag_text(v: Any) -> Any:
    if isinstance(v, bool | np.bool_):
        return "Y" if v else "N"
    if v is None or (isinstance(v, float) and v != v):
        return None
    return str(v).strip().upper()


def coerce_table(dom: Domain, raw: pd.DataFrame) -> tuple[pd.DataFrame, list[Problem]]:
    """Check a raw table against its domain and return the typed table and its problems.

    Parameters
    ----------
    dom : Domain
        The domain definition (see :mod:`celltrial.dataset.schema`).
    raw : pandas.DataFrame
        The table as read: text (CSV) or typed columns (Parquet).

    Returns
    -------
    table : pandas.DataFrame
        Every row of ``raw``, the domain's columns first (typed), then any extra columns as
        text. A bad value is read as missing.
    problems : list of Problem
        One per bad value or row; a missing required column is one problem for the table.
    """
    t = _Table(dom, raw)
    for col in dom.columns:
        absent = col.name not in t.df
        if absent:
            if col.need == "req":
                t.error_table(f"required column {col.name} is missing", col.name)
            elif col.need == "exp":
                t.warn_table(f"expected column {col.name} is missing; read as empty", col.name)
            t.df[col.name] = pd.Series([None] * len(t.df), dtype="object")
        _coerce_column(t, col, absent=absent)
    extra = [c for c in t.df.columns if c not in dom.names]
    for name in extra:
        if not (dom.code == "DM" and name.startswith(STRATUM_PREFIX)):
            t.warn_table(f"column {name} is not in the {dom.code} schema; kept as text", name)
        _coerce_column(t, Column(name, "text", "perm", name))
    for rule in _RULES.get("FINDINGS" if dom.findings else dom.code, ()):
        rule(t)
    return t.df[[*dom.names, *extra]], t.problems


# --------------------------------------------------------------------------------------------
# Row rules of one table
# --------------------------------------------------------------------------------------------


def _dm_rules(t: _Table) -> None:
    df = t.df
    ids = df["USUBJID"]
    dup = ids.notna() & ids.duplicated(keep="first")
    first = {u: i for i, u in reversed(list(enumerate(ids))) if u is not None}
    t.report(
        dup,
        lambda i: f"USUBJID {ids.iloc[i]} is listed twice (first on row {first[ids.iloc[i]] + 1})",
        "USUBJID",
    )
    died = df["DTHDTC"].notna()
    t.report((df["DTHFL"] == "Y") & ~died, lambda i: "DTHFL is Y but DTHDTC is missing", "DTHDTC")
    t.report(died & (df["DTHFL"] != "Y"), lambda i: "DTHDTC is given but DTHFL is not Y", "DTHFL")
    before = times.earlier(df["RANDDTC"], df["RFICDTC"])
    t.report(
        before,
        lambda i: (
            f"RANDDTC {df['RANDDTC'].iloc[i]} is before consent (RFICDTC {df['RFICDTC'].iloc[i]})"
        ),
        "RANDDTC",
    )


def _intervals(t: _Table) -> None:
    """The rule ``end_not_before_start`` of :mod:`celltrial.dataset.rules` on a whole table."""
    for code, start, end, _kind in INTERVALS:
        if code == t.dom.code:
            _end_before_start(t, start, end)


def _ae_rules(t: _Table) -> None:
    df = t.df
    crit = np.column_stack([(df[c] == "Y").to_numpy(dtype=bool) for c in AE_SERIOUSNESS])
    any_crit = crit.any(axis=1)
    serious = (df["AESER"] == "Y").to_numpy(dtype=bool)
    t.report(
        ~serious & any_crit & (df["AESER"] == "N").to_numpy(dtype=bool),
        lambda i: (
            "AESER is N but a seriousness criterion ("
            + ", ".join(c for c, on in zip(AE_SERIOUSNESS, crit[i], strict=True) if on)
            + ") is Y"
        ),
        "AESER",
    )
    for i in np.flatnonzero(serious & ~any_crit):
        uid = t.ids.iloc[i]
        t.problems.append(
            Problem(
                "AE",
                "AESER is Y but no seriousness criterion (AESDTH, AESLIFE, …) is Y",
                row=int(i) + 1,
                usubjid=None if uid is None else str(uid),
                column="AESER",
                level="warning",
            )
        )
    fatal_grade = (df["AETOXGR"] == 5).fillna(False).to_numpy(dtype=bool)
    outcome = df["AEOUT"]
    for i in np.flatnonzero(fatal_grade & outcome.notna().to_numpy() & (outcome != "FATAL")):
        uid = t.ids.iloc[i]
        t.problems.append(
            Problem(
                "AE",
                f"AETOXGR 5 (death) but AEOUT is {outcome.iloc[i]!r}, not FATAL",
                row=int(i) + 1,
                usubjid=None if uid is None else str(uid),
                column="AEOUT",
                level="warning",
            )
        )


def _ex_rules(t: _Table) -> None:
    _end_before_start(t, "EXSTDTC", "EXENDTC")
    neg = (t.df["EXDOSE"] < 0).fillna(False)
    t.report(neg, lambda i: f"EXDOSE {t.df['EXDOSE'].iloc[i]:g} is negative", "EXDOSE")


def _sl_rules(t: _Table) -> None:
    df = t.df
    t.report(
        (df["RANDFL"] == "Y") & df["USUBJID"].isna(),
        lambda i: "RANDFL is Y but USUBJID is missing",
        "USUBJID",
    )
    t.report(
        (df["RANDFL"] == "Y") & (df["ELIGFL"] == "N"),
        lambda i: "randomized (RANDFL Y) but not eligible (ELIGFL N)",
        "ELIGFL",
    )


def _findings_rules(t: _Table) -> None:
    p = t.dom.code
    df = t.df
    orres, stat = df[f"{p}ORRES"], df[f"{p}STAT"]
    t.report(
        orres.isna() & (stat != NOT_DONE),
        lambda i: f"{p}ORRES is missing; write {p}STAT NOT DONE for a test not done",
        f"{p}ORRES",
    )
    t.report(
        orres.notna() & (stat == NOT_DONE),
        lambda i: f"{p}STAT is NOT DONE but {p}ORRES has a result",
        f"{p}STAT",
    )
    stresn = df[f"{p}STRESN"]
    from_orres = pd.to_numeric(orres, errors="coerce")
    df[f"{p}STRESN"] = stresn.where(stresn.notna(), from_orres).astype("float64")
    stresc = df[f"{p}STRESC"]
    df[f"{p}STRESC"] = stresc.where(stresc.notna(), orres)


def _end_before_start(t: _Table, start: str, end: str) -> None:
    df = t.df
    bad = times.earlier(df[end], df[start])
    t.report(bad, lambda i: f"{end} {df[end].iloc[i]} is before {start} {df[start].iloc[i]}", end)


_RULES: dict[str, tuple[Callable[[_Table], None], ...]] = {
    "DM": (_dm_rules,),
    "AE": (_intervals, _ae_rules),
    "CM": (_intervals,),
    "MH": (_intervals,),
    "EX": (_ex_rules,),
    "SL": (_sl_rules,),
    "FINDINGS": (_findings_rules,),
}


def check_subjects(tables: dict[str, pd.DataFrame]) -> Iterator[Problem]:
    """Rows whose USUBJID is not in DM (each one a problem)."""
    if "DM" not in tables:
        return
    known = set(tables["DM"]["USUBJID"].dropna())
    for code, df in tables.items():
        if code == "DM" or "USUBJID" not in df:
            continue
        ids = df["USUBJID"]
        for i in np.flatnonzero((ids.notna() & ~ids.isin(known)).to_numpy(dtype=bool)):
            yield Problem(
                code,
                f"USUBJID {ids.iloc[i]} is not in DM",
                row=int(i) + 1,
                usubjid=str(ids.iloc[i]),
                column="USUBJID",
            )
