"""ISO 8601 date and date-time text to UTC timestamps, and comparisons that respect dates.

A dataset keeps its ``--DTC`` columns as ISO 8601 text (``2020-05-01`` or
``2020-05-01T14:00Z``). Derivations need instants: :func:`to_utc` reads the text as UTC
timestamps and imputes a date without a time at 12:00 UTC (the ADaM imputation flag
``--DTMF`` is then ``H``). A partial date (``2013-07``, ``2003``: the precision that was
collected) is kept as written and imputed to the first day of the month (flag ``D``) or of
the year (flag ``M``). Comparisons between a date and a date-time (:func:`earlier`) are
made on the date alone, so that a same-day date never reads as "before" a timed event.
"""

from __future__ import annotations

import dataclasses
import functools
import re
from datetime import date, datetime
from typing import Final

import numpy as np
import pandas as pd
import pyarrow as pa

#: The ISO 8601 forms accepted: a date, or a date and time to the minute or second, with an
#: optional ``Z`` or UTC offset.
ISO_8601: Final = re.compile(
    r"^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}(:?\d{2})?)?)?$"
)
#: Partial dates (ISO 8601 reduced precision): a year and month, or a year.
PARTIAL: Final = re.compile(r"^\d{4}(-(0[1-9]|1[0-2]))?$")
#: The normalized forms: a partial date, a date, or a date-time to the minute in UTC.
_CANONICAL: Final = re.compile(r"^\d{4}(?:-\d{2}(?:-\d{2}(?:T\d{2}:\d{2}Z)?)?)?$")
IMPUTED_HOUR: Final = 12
#: The instants that 64-bit nanosecond timestamps hold (pandas' ``Timestamp.min``/``max``).
FIRST_DAY: Final = "1677-09-22"
LAST_DAY: Final = "2262-04-10"
BEYOND_RANGE: Final = (
    f"is a valid ISO 8601 date but outside the dates celltrial can compute with "
    f"({FIRST_DAY} to {LAST_DAY})"
)
HOURS_PER_DAY: Final = 24.0


_ZONED = re.compile(r"(?:Z|[+-]\d{2}(?::?\d{2})?)$")


def text_of(value: object) -> str | None:
    """One cell as stripped text; None where it is missing (None, NaN, ``pd.NA``, ``NaT``)."""
    if value is None:
        return None
    if isinstance(value, str):
        return value.strip()
    if value is pd.NA or value is pd.NaT or (isinstance(value, float) and value != value):
        return None
    return str(value).strip()


# --------------------------------------------------------------------------------------------
# The fast path: a column read as Arrow bytes, canonical values parsed with integer arithmetic
# --------------------------------------------------------------------------------------------
#
# A dataset's date columns hold the normalized forms (``2020-05-01T14:00Z``, ``2020-05-01``).
# Those are read column-wise from the UTF-8 bytes of an Arrow array: fixed positions, integer
# arithmetic, no Python object per value. Every other value (a zone offset, spaces, a partial
# date, a date out of range, text that is not a date) goes through the general path below,
# row by row as before, so a value reads the same whichever path reads it.

_WHITE_OR_WIDE = np.zeros(256, dtype=bool)
_WHITE_OR_WIDE[128:] = True  # any non-ASCII byte: Unicode spaces strip; left to Python
_WHITE_OR_WIDE[[9, 10, 11, 12, 13, 28, 29, 30, 31, 32]] = True  # what str.strip() removes
_DIGIT = np.zeros(256, dtype=bool)
_DIGIT[48:58] = True
#: (length, positions of digits, {position: separator byte}) of each fast form.
_FORMS: Final = {
    10: ((0, 1, 2, 3, 5, 6, 8, 9), {4: 45, 7: 45}),
    17: ((0, 1, 2, 3, 5, 6, 8, 9, 11, 12, 14, 15), {4: 45, 7: 45, 10: 84, 13: 58, 16: 90}),
    20: (
        (0, 1, 2, 3, 5, 6, 8, 9, 11, 12, 14, 15, 17, 18),
        {4: 45, 7: 45, 10: 84, 13: 58, 16: 58, 19: 90},
    ),
}
_NAT: Final = np.iinfo(np.int64).min
_NS_PER_HOUR: Final = 3_600_000_000_000
#: Years held whole by 64-bit nanoseconds (1677 and 2262 are partly out: the general path).
_FAST_YEARS: Final = (1678, 2261)


@dataclasses.dataclass(frozen=True)
class _Bytes:
    """A text column as Arrow holds it: per row, present or not, and its UTF-8 bytes."""

    present: np.ndarray  # bool
    starts: np.ndarray  # int64 offsets into data
    lengths: np.ndarray  # int64, in bytes
    data: np.ndarray  # uint8

    def clean(self) -> np.ndarray:
        """True where the value is present, ASCII and without a byte ``str.strip`` removes
        at either end (so its stripped length is its length in bytes)."""
        filled = self.lengths > 0
        last = np.where(filled, self.starts + self.lengths - 1, 0)
        first = np.where(filled, self.starts, 0)
        if not self.data.size:
            return self.present.copy()
        ends_ok = ~filled | (~_WHITE_OR_WIDE[self.data[first]] & ~_WHITE_OR_WIDE[self.data[last]])
        if (self.data >= 128).any():  # a non-ASCII byte somewhere: find the rows holding one
            cum = np.concatenate(([0], np.cumsum(self.data >= 128, dtype=np.int64)))
            ends_ok &= (cum[self.starts + self.lengths] - cum[self.starts]) == 0
        out: np.ndarray = self.present & ends_ok
        return out

    def digits(self, rows: np.ndarray, length: int) -> tuple[np.ndarray, np.ndarray] | None:
        """For ``rows`` of byte length ``length`` of a fast form: (rows that match the form,
        their digits, one column per digit)."""
        if not rows.size:
            return None
        positions, seps = _FORMS[length]
        at = self.starts[rows]
        ok = np.ones(rows.size, dtype=bool)
        for pos, byte in seps.items():
            ok &= self.data[at + pos] == byte
        cols = [self.data[at + pos] for pos in positions]
        for c in cols:
            ok &= _DIGIT[c]
        return rows[ok], np.stack([c[ok] for c in cols], axis=1).astype(np.int64) - 48


def _as_bytes(text: pd.Series) -> _Bytes | None:
    """``text`` as UTF-8 bytes, or None when a value is neither text nor missing."""
    values = text.to_numpy(dtype=object)
    try:
        arr = pa.array(values, type=pa.string(), from_pandas=True)
    except (pa.ArrowInvalid, pa.ArrowTypeError, TypeError, ValueError):
        return None
    n = len(arr)
    _, offsets_buf, data_buf = arr.buffers()
    offsets = (
        np.frombuffer(offsets_buf, dtype=np.int32)[arr.offset : arr.offset + n + 1]
        if (offsets_buf is not None)
        else np.zeros(n + 1, dtype=np.int32)
    )
    data = (
        np.frombuffer(data_buf, dtype=np.uint8)
        if data_buf is not None
        else np.zeros(0, dtype=np.uint8)
    )
    starts = offsets[:-1].astype(np.int64)
    lengths = np.diff(offsets).astype(np.int64)
    present = ~arr.is_null().to_numpy(zero_copy_only=False)
    return _Bytes(present, starts, lengths, data)


def _days_from_civil(y: np.ndarray, m: np.ndarray, d: np.ndarray) -> np.ndarray:
    """Days since 1970-01-01 of proleptic Gregorian dates (H. Hinnant's algorithm)."""
    y = y - (m <= 2)
    era = np.floor_divide(y, 400)
    yoe = y - era * 400
    mp = (m + 9) % 12
    doy = (153 * mp + 2) // 5 + d - 1
    doe = yoe * 365 + yoe // 4 - yoe // 100 + doy
    out: np.ndarray = era * 146097 + doe - 719468
    return out


_MONTH_DAYS = np.array([0, 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31], dtype=np.int64)


def _fast_instants(b: _Bytes) -> tuple[np.ndarray, np.ndarray]:
    """(nanoseconds since 1970 UTC, rows read) of the values in a fast form, valid and within
    the years 1678-2261; a date alone at 12:00 UTC. Rows not read hold NaT."""
    out = np.full(b.present.size, _NAT, dtype=np.int64)
    done = np.zeros(b.present.size, dtype=bool)
    for length in _FORMS:
        got = b.digits(np.flatnonzero(b.present & (b.lengths == length)), length)
        if got is None:
            continue
        rows, dg = got
        y = dg[:, 0] * 1000 + dg[:, 1] * 100 + dg[:, 2] * 10 + dg[:, 3]
        mo = dg[:, 4] * 10 + dg[:, 5]
        d = dg[:, 6] * 10 + dg[:, 7]
        if length == 10:
            h = np.full(rows.size, IMPUTED_HOUR, dtype=np.int64)
            mi = s = np.zeros(rows.size, dtype=np.int64)
        else:
            h, mi = dg[:, 8] * 10 + dg[:, 9], dg[:, 10] * 10 + dg[:, 11]
            s = dg[:, 12] * 10 + dg[:, 13] if length == 20 else np.zeros(rows.size, np.int64)
        leap = ((y % 4 == 0) & (y % 100 != 0)) | (y % 400 == 0)
        mlen = _MONTH_DAYS[np.clip(mo, 0, 12)] + ((mo == 2) & leap)
        ok = (mo >= 1) & (mo <= 12) & (d >= 1) & (d <= mlen) & (h <= 23) & (mi <= 59) & (s <= 59)
        ok &= (y >= _FAST_YEARS[0]) & (y <= _FAST_YEARS[1])
        rows = rows[ok]
        secs = ((_days_from_civil(y[ok], mo[ok], d[ok]) * 24 + h[ok]) * 60 + mi[ok]) * 60 + s[ok]
        out[rows] = secs * 1_000_000_000
        done[rows] = True
    return out, done


def _utc_series(ns: np.ndarray, index: pd.Index) -> pd.Series:
    """Nanoseconds since 1970 (NaT as int64 min) as a ``datetime64[ns, UTC]`` Series."""
    return pd.Series(
        pd.DatetimeIndex(ns.view("datetime64[ns]")).tz_localize("UTC"), index=index, copy=False
    )


def _lengths(text: pd.Series) -> np.ndarray:
    """The stripped length of each value; -1 where the value is missing."""
    b = _as_bytes(text)
    if b is None:
        return _lengths_slow(text.to_numpy(dtype=object))
    out = np.where(b.present, b.lengths, -1)
    rest = np.flatnonzero(b.present & ~b.clean())
    if rest.size:
        out[rest] = _lengths_slow(text.to_numpy(dtype=object)[rest])
    return out


def _lengths_slow(values: np.ndarray) -> np.ndarray:
    out = np.fromiter(
        (-1 if (t := text_of(v)) is None else len(t) for v in values),
        dtype=np.int64,
        count=len(values),
    )
    return out


@functools.lru_cache(maxsize=65536)
def _zone_one(raw: str) -> str:
    """One stripped value with a zone: a partial date made whole (``2013-07`` →
    ``2013-07-01``, ``2003`` → ``2003-01-01``), a date given ``T00:00Z``, a time without an
    offset given ``Z`` (pandas would otherwise give it the offset of another value)."""
    n = len(raw)
    if n == 7:
        raw, n = raw + "-01", 10
    elif n == 4:
        raw, n = raw + "-01-01", 10
    if n == 10:
        return raw + "T00:00Z"
    return raw if _ZONED.search(raw) else raw + "Z"


def _zoned(text: pd.Series) -> pd.Series:
    """Text every value of which carries a zone (see :func:`_zone_one`); None where missing.

    A Python pass over the values: on the small tables of a trial, pandas' string methods
    cost far more in per-call overhead than the work, and on 10^5 rows this is as fast."""
    vals = [
        None if (t := text_of(v)) is None else _zone_one(t) for v in text.to_numpy(dtype=object)
    ]
    return pd.Series(vals, index=text.index, dtype="object")


def is_date_only(text: pd.Series) -> pd.Series:
    """True where the text is a date (or a partial date) without a time."""
    n = _lengths(text)
    return pd.Series((n >= 0) & (n <= 10), index=text.index)


def to_utc(text: pd.Series) -> pd.Series:
    """ISO 8601 text to ``datetime64[ns, UTC]``; a date alone is imputed at 12:00 UTC.

    Missing or unreadable values are ``NaT``. The normalized forms (``2020-05-01T14:00Z``,
    ``2020-05-01T14:00:30Z``, ``2020-05-01``) are read column-wise from their bytes; any other
    value goes through pandas' ISO 8601 parser, as it always did (the same instant either way).
    """
    return _utc_series(_read(text)[0], text.index)


def _read(text: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """(nanoseconds since 1970 UTC as :func:`to_utc` reads them, NaT as int64 min; stripped
    lengths as :func:`_lengths` gives them), from one pass over the column's bytes."""
    b = _as_bytes(text) if len(text) else None
    if b is None:
        slow = _to_utc_slow(text)
        ns_all: np.ndarray = slow.to_numpy(dtype="datetime64[ns]").view(np.int64).copy()
        return ns_all, _lengths_slow(text.to_numpy(dtype=object))
    ns, done = _fast_instants(b)
    rest = np.flatnonzero(b.present & ~done)
    if rest.size:
        slow = _to_utc_slow(text.iloc[rest])
        ns[rest] = slow.to_numpy(dtype="datetime64[ns]").view(np.int64)
    lengths = np.where(b.present, b.lengths, -1)
    odd = np.flatnonzero(b.present & ~b.clean())
    if odd.size:
        lengths[odd] = _lengths_slow(text.to_numpy(dtype=object)[odd])
    return ns, lengths


def _to_utc_slow(text: pd.Series) -> pd.Series:
    """:func:`to_utc` by pandas' parser, value by value (any ISO 8601 form)."""
    ts = pd.to_datetime(_zoned(text), format="ISO8601", utc=True, errors="coerce")
    ts = pd.Series(ts, index=text.index)
    n = _lengths_slow(text.to_numpy(dtype=object))
    dateonly = (n >= 0) & (n <= 10)
    if dateonly.any():
        ts[dateonly] = ts[dateonly] + pd.Timedelta(hours=IMPUTED_HOUR)
    return ts


def beyond_range(text: pd.Series) -> pd.Series:
    """True where the text is valid ISO 8601 but outside the nanosecond range of pandas.

    Such a date (e.g. ``2263-01-01``) is a real calendar date, so it must not be called "not
    ISO 8601"; it cannot be held as a 64-bit nanosecond timestamp. Only the values that
    pandas could not read are re-read, one by one, with :meth:`datetime.fromisoformat`.
    """
    out = np.zeros(len(text), dtype=bool)
    present = text.notna()
    raw = text.astype("string").str.strip()
    shaped = (raw.str.match(ISO_8601) | raw.str.match(PARTIAL)).fillna(False).astype(bool)
    cand = (present & shaped).to_numpy(dtype=bool)
    if cand.any():
        zoned = _zoned(raw.where(cand, None).astype("object").where(cand, None))
        ts = pd.to_datetime(zoned, format="ISO8601", utc=True, errors="coerce")
        unread = cand & pd.isna(np.asarray(ts))
        for i in np.flatnonzero(unread):
            value = str(zoned.iloc[i])
            try:
                when = datetime.fromisoformat(value).date()
            except ValueError:
                continue
            out[i] = not (date.fromisoformat(FIRST_DAY) <= when <= date.fromisoformat(LAST_DAY))
    return pd.Series(out, index=text.index)


def imputed_flag(text: pd.Series) -> pd.Series:
    """The ADaM ``--DTMF`` imputation flag: the highest component imputed.

    ``M`` for a year alone, ``D`` for a year and month, ``H`` for a date without a time;
    None where nothing was imputed.
    """
    n = _lengths(text)
    out = np.full(len(text), None, dtype=object)
    for length, flag in ((10, "H"), (7, "D"), (4, "M")):
        out[n == length] = flag
    return pd.Series(out, index=text.index, dtype="object")


def marked(mask: object, value: str = "Y") -> np.ndarray:
    """An object array holding ``value`` where ``mask`` is true and None elsewhere."""
    m = np.asarray(mask, dtype=bool)
    out = np.full(m.shape, None, dtype=object)
    out[m] = value
    return out


_NS_PER_DAY: Final = 86_400_000_000_000


def earlier(a: pd.Series, b: pd.Series) -> pd.Series:
    """True where ``a`` is strictly before ``b``; compared on dates when either is a date.

    Missing values compare False. The instants are compared as int64 nanoseconds (a day is
    the floor of the instant to a multiple of 24 h, as ``Series.dt.floor("D")`` in UTC).
    """
    ta, na = _read(a)
    tb, nb = _read(b)
    ok = (ta != _NAT) & (tb != _NAT)
    by_date = ((na >= 0) & (na <= 10)) | ((nb >= 0) & (nb <= 10))
    strict = ta < tb
    on_day = np.floor_divide(ta, _NS_PER_DAY) < np.floor_divide(tb, _NS_PER_DAY)
    out = np.where(by_date, on_day, strict)
    # A partial date compares at its precision: 2020-05 is not before 2020-05-02.
    na, nb = np.where(na < 0, 99, na), np.where(nb < 0, 99, nb)
    for length, unit in ((7, "M"), (4, "Y")):
        coarse = (np.minimum(na, nb) == length) & ok
        if coarse.any():
            pa = _utc_series(ta, a.index).dt.tz_localize(None).dt.to_period(unit)
            pb = _utc_series(tb, b.index).dt.tz_localize(None).dt.to_period(unit)
            out = np.where(coarse, (pa < pb).to_numpy(dtype=bool), out)
    return pd.Series(out & ok, index=a.index)


def ok_both(ta: pd.Series, tb: pd.Series) -> np.ndarray:
    """True where both timestamps are present."""
    out: np.ndarray = (ta.notna() & tb.notna()).to_numpy(dtype=bool)
    return out


def hours_between(start: pd.Series, end: pd.Series) -> pd.Series:
    """Elapsed hours from ``start`` to ``end`` (UTC timestamps), as floats."""
    return (end - start).dt.total_seconds() / 3600.0


def normalize(text: pd.Series) -> tuple[pd.Series, pd.Series]:
    """Read ISO 8601 text; return (normalized text in UTC, mask of values that are not ISO).

    A date stays a date (``2020-05-01``), a partial date stays partial (``2013-07``); a date-time becomes ``2020-05-01T14:00Z`` (seconds
    kept when not zero), converted to UTC when an offset is given.
    """
    vals = [text_of(v) for v in text.to_numpy(dtype=object)]
    present = pd.Series([v is not None for v in vals], index=text.index, dtype=bool)
    shaped_list = [v is not None and bool(ISO_8601.match(v) or PARTIAL.match(v)) for v in vals]
    shaped = pd.Series(shaped_list, index=text.index, dtype=bool)
    parsed = pd.to_datetime(
        pd.Series(
            [_zone_one(v) if ok else None for v, ok in zip(vals, shaped_list, strict=True)],
            index=text.index,
            dtype="object",
        ),
        format="ISO8601",
        utc=True,
        errors="coerce",
    )
    parsed = pd.Series(parsed, index=text.index)
    bad = present & (~shaped | parsed.isna())
    canonical = pd.Series(
        [v is not None and bool(_CANONICAL.match(v)) for v in vals], index=text.index, dtype=bool
    )
    out = pd.Series(vals, index=text.index, dtype="object")
    redo = (present & ~bad & ~canonical).to_numpy(dtype=bool)
    if redo.any():
        p = parsed[redo]
        minute = p.dt.strftime("%Y-%m-%dT%H:%MZ")
        second = p.dt.strftime("%Y-%m-%dT%H:%M:%SZ")
        has_seconds = ((p.dt.second != 0) | (p.dt.microsecond != 0)).astype(bool)
        out[redo] = minute.where(~has_seconds, second).to_numpy()
    out = out.where(present & ~bad, None)
    return out, bad
