"""ADAE: adverse events with treatment-emergence, infusion-window flags and worst grade."""

from __future__ import annotations

import numpy as np
import pandas as pd

from celltrial.dataset import times
from celltrial.dataset.adsl import derive_adsl
from celltrial.dataset.tables import Dataset
from celltrial.protocol import Protocol

ADAE_KEEP = ("ARMCD", "TRT01P", "TRT01A", "SAFFL", "TRTSDTM")


def window_flag(window_id: str) -> str:
    """The ADAE flag column of a protocol safety window: ``infusion_associated`` →
    ``WIN_INFUSION_ASSOCIATED``."""
    return "WIN_" + window_id.upper()


def derive_adae(
    dataset: Dataset, protocol: Protocol, *, adsl: pd.DataFrame | None = None
) -> pd.DataFrame:
    """Derive ADAE: every AE row, with analysis flags.

    Parameters
    ----------
    dataset : Dataset
    protocol : Protocol
        Its ``safety.windows`` (each opens at every administration and lasts ``duration``)
        and ``safety.collection_period``.
    adsl : pandas.DataFrame, optional
        ADSL (derived when not given).

    Returns
    -------
    pandas.DataFrame
        The AE columns, ``ARMCD TRT01P TRT01A SAFFL TRTSDTM`` from ADSL, and:

        - ``ASTDTM AENDTM`` (UTC; a date alone imputed at 12:00, ``ASTDTMF`` = H),
          ``ATOXGR`` (grade as a number)
        - ``ASTDY``: days from the first administration (0 = the day of it, fractional)
        - ``TRTEMFL``: Y when onset is at or after the first administration (and within the
          protocol's collection period after the last one, when the protocol gives one)
        - ``ADMNUM``: the number of the last administration before onset;
          ``HRSLAST``: hours since it
        - ``WIN_<WINDOW>``: Y when onset is within the window's duration after any
          administration (0 ≤ hours since that administration ≤ duration)
        - ``WORSTGR``: the participant's worst grade (over all their AEs);
          ``WORSTFL``: Y on the participant's first AE with that grade
    """
    if adsl is None:
        adsl = derive_adsl(dataset, protocol)
    ae = dataset.table("AE").reset_index(drop=True).copy()
    keep = adsl.set_index("USUBJID")
    for col in ADAE_KEEP:
        ae[col] = ae["USUBJID"].map(keep[col])
    ae["TRTSDTM"] = pd.to_datetime(ae["TRTSDTM"], utc=True)
    ae["ASTDTM"] = times.to_utc(ae["AESTDTC"])
    ae["ASTDTMF"] = times.imputed_flag(ae["AESTDTC"])
    ae["AENDTM"] = times.to_utc(ae["AEENDTC"])
    ae["ATOXGR"] = ae["AETOXGR"].astype("float64")
    ae["ASTDY"] = times.hours_between(ae["TRTSDTM"], ae["ASTDTM"]) / times.HOURS_PER_DAY

    ex = dataset.table("EX")
    doses = pd.DataFrame({"USUBJID": ex["USUBJID"], "S": times.to_utc(ex["EXSTDTC"])}).dropna()
    n = len(ae)
    onset = ae["ASTDTM"].dt.tz_convert("UTC").dt.tz_localize(None).to_numpy()
    given = doses["S"].dt.tz_localize(None).to_numpy()
    count, last_before, last_dose = _doses_before(
        ae["USUBJID"].to_numpy(dtype=object), onset, doses["USUBJID"].to_numpy(dtype=object), given
    )
    dosed = count > 0
    admnum = np.where(dosed, count, np.nan).astype(float)
    hrslast = np.full(n, np.nan)
    hrslast[dosed] = (onset[dosed] - last_before[dosed]) / np.timedelta64(1, "h")
    windows = protocol.safety.windows
    flags = {w.id: np.full(n, "N", dtype=object) for w in windows}
    for w in windows:
        # SafetyWindow.contains over the hours since each administration before the onset
        # (all >= 0): it holds when it holds for the nearest one, HRSLAST.
        flags[w.id][dosed & (hrslast >= 0) & (hrslast <= w.duration)] = "Y"
        flags[w.id][np.isnat(onset)] = None
    ae["ADMNUM"] = pd.Series(admnum, dtype="float64").astype("Int64")
    ae["HRSLAST"] = hrslast
    for w in windows:
        ae[window_flag(w.id)] = flags[w.id]
    emergent = ae["ASTDTM"].notna() & ae["TRTSDTM"].notna() & (ae["ASTDTM"] >= ae["TRTSDTM"])
    period = protocol.safety.collection_period
    if period is not None:
        last = pd.Series(last_dose).dt.tz_localize("UTC")
        emergent &= ~(ae["ASTDTM"] > last + pd.Timedelta(hours=period)).fillna(False)
    ae["TRTEMFL"] = np.where(emergent, "Y", "N")
    worst = ae.groupby("USUBJID")["ATOXGR"].transform("max")
    ae["WORSTGR"] = worst
    is_worst = ae["ATOXGR"].notna() & (ae["ATOXGR"] == worst)
    first_worst = ae[is_worst].sort_values(["USUBJID", "ASTDTM"]).groupby("USUBJID").head(1).index
    ae["WORSTFL"] = None
    ae.loc[first_worst, "WORSTFL"] = "Y"
    return ae


def _doses_before(
    ids: np.ndarray, onset: np.ndarray, dose_ids: np.ndarray, dose_at: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per event (participant ``ids``, time ``onset``): how many of the participant's
    administrations were at or before it, the last of those, and the participant's last
    administration of all (``NaT`` where none; a ``NaT`` onset counts none).

    All events at once: participants and times are replaced by integer ranks, so one sorted
    key (participant, time) answers every event with two binary searches.
    """
    n = len(ids)
    count = np.zeros(n, dtype=np.int64)
    last_before = np.full(n, np.datetime64("NaT"), dtype="datetime64[ns]")
    last_dose = np.full(n, np.datetime64("NaT"), dtype="datetime64[ns]")
    if not n or not len(dose_ids):
        return count, last_before, last_dose
    codes, _ = pd.factorize(np.concatenate([ids, dose_ids]))
    who, dose_who = codes[:n], codes[n:]
    stamp = np.concatenate([onset, dose_at]).view(np.int64)
    ranks = np.unique(stamp, return_inverse=True)[1].reshape(-1) + 1
    t_rank, dose_rank = ranks[:n], ranks[n:]
    width = int(ranks.max()) + 1
    keys = dose_who.astype(np.int64) * width + dose_rank
    order = np.argsort(keys, kind="stable")
    keys, sorted_at = keys[order], dose_at[order]
    group_start = np.searchsorted(keys, who.astype(np.int64) * width, side="left")
    group_end = np.searchsorted(keys, who.astype(np.int64) * width + width, side="left")
    upto = np.searchsorted(keys, who.astype(np.int64) * width + t_rank, side="right")
    timed = ~np.isnat(onset)
    count = np.where(timed, upto - group_start, 0)
    has = count > 0
    last_before[has] = sorted_at[upto[has] - 1]
    any_dose = group_end > group_start
    last_dose[any_dose & timed] = sorted_at[group_end[any_dose & timed] - 1]
    return count, last_before, last_dose


def worst_grades(adae: pd.DataFrame, adsl: pd.DataFrame) -> pd.DataFrame:
    """One row per participant of ADSL: ``USUBJID``, ``ARMCD``, ``WORSTGR`` (0 = no AE).

    Parameters
    ----------
    adae, adsl : pandas.DataFrame
        From :func:`derive_adae` and :func:`celltrial.dataset.derive_adsl`.
    """
    worst = adae.groupby("USUBJID")["ATOXGR"].max()
    out = adsl[["USUBJID", "ARMCD", "TRT01A", "SAFFL"]].copy()
    out["WORSTGR"] = out["USUBJID"].map(worst).fillna(0).astype("int64")
    return out.reset_index(drop=True)
