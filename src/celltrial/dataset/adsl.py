"""ADSL: one row per randomized participant, with arms, strata, populations and baselines."""

from __future__ import annotations

import numpy as np
import pandas as pd

from celltrial.dataset import times
from celltrial.dataset.problems import DatasetError, errors
from celltrial.dataset.schema import (
    DS_END_TERMS,
    NOT_TREATED,
    STRATUM_PREFIX,
    stratum_column,
)
from celltrial.dataset.tables import Dataset
from celltrial.dataset.visits import anchors, baseline_rows, findings, visit_columns
from celltrial.protocol import Protocol

#: Prefix of ADSL's baseline columns: ``BL_IL6`` is the baseline of measurement ``il6``.
BASELINE_PREFIX = "BL_"


def baseline_column(measure: str) -> str:
    """The ADSL column of a measurement's baseline: ``il6`` → ``BL_IL6``."""
    return BASELINE_PREFIX + measure.upper()


def _dated(dataset: Dataset) -> pd.DataFrame:
    """Every date of every participant's records (USUBJID, T), for the last contact."""
    cols = {
        "DM": ("RANDDTC", "RFICDTC", "RFSTDTC", "RFENDTC", "DTHDTC"),
        "DS": ("DSSTDTC",),
        "EX": ("EXSTDTC", "EXENDTC"),
        "AE": ("AESTDTC", "AEENDTC"),
        "CE": ("CESTDTC",),
        "DV": ("DVSTDTC",),
    }
    for code in dataset.findings_domains:
        cols[code] = (f"{code}DTC",)
    parts = []
    for code, names in cols.items():
        t = dataset.table(code)
        for name in names:
            parts.append(pd.DataFrame({"USUBJID": t["USUBJID"], "T": times.to_utc(t[name])}))
    return pd.concat(parts, ignore_index=True).dropna()


def _planned_doses(protocol: Protocol, arm: str | None) -> int:
    if arm is None:
        return 0
    try:
        plan = protocol.arm(arm).administrations
    except KeyError:
        return 0
    return len(plan.offsets_hours()) if plan is not None else 0


def derive_adsl(dataset: Dataset, protocol: Protocol, *, checked: bool = True) -> pd.DataFrame:
    """Derive ADSL, one row per participant in DM.

    Raises :class:`~celltrial.dataset.DatasetError` when the dataset's load checks found
    errors (``dataset.problems``): derivations on rows that failed the schema give wrong flags
    (a screen failure read as randomized). ``checked=False`` derives anyway.

    Parameters
    ----------
    dataset : Dataset
        The trial dataset (DM is needed; DS, EX, DV and the findings domains are used when
        present).
    protocol : Protocol
        The trial's protocol: arms, planned administrations, strata, schedule.

    Returns
    -------
    pandas.DataFrame
        Columns (ADaM names where one exists):

        - ``STUDYID USUBJID SUBJID SITEID AGE SEX``
        - ``ARMCD ARM TRT01P`` (as randomized), ``ACTARMCD TRT01A`` (as treated)
        - ``STRAT_<FACTOR>`` (stratum as randomized, one per protocol factor)
        - ``RANDDTM TRTSDTM TRTEDTM`` (UTC timestamps), ``NDOSE`` (administrations started),
          ``NDOSEPL`` (planned in the randomized arm)
        - ``ITTFL`` (randomized: Y when ARMCD is an arm of the protocol; N for SCRNFAIL,
          NOTASSGN or any code that is not an arm), ``SAFFL`` (ITTFL = Y and received any
          dose, or treated in an arm of the protocol that plans none), ``PPROTFL`` (all planned doses of the randomized arm's product, treated
          as randomized, no EX deviation, no MAJOR deviation in DV)
        - ``DTHFL DTHDTM``, ``EOSSTT`` (COMPLETED, DISCONTINUED or ONGOING), ``DCSREAS``,
          ``EOSDTM``, ``LSTCNDTM`` (last contact: the latest date of any record)
        - ``BL_<MEASURE>`` for every catalogue measurement with results (see
          :func:`celltrial.dataset.visits.baseline_rows`).

    Examples
    --------
    >>> adsl = derive_adsl(ds, load_protocol("lanzoni2021"))       # doctest: +SKIP
    >>> adsl.loc[adsl.USUBJID == "L-008", ["ITTFL", "SAFFL"]]      # doctest: +SKIP
    """
    if checked and errors(dataset.problems):
        raise DatasetError(errors(dataset.problems))
    # A USUBJID listed twice is a load problem already; the first row is used.
    dm = dataset.dm.drop_duplicates("USUBJID").dropna(subset=["USUBJID"]).reset_index(drop=True)
    labels = {a.id: a.label for a in protocol.arms}
    out = pd.DataFrame(
        {
            c: dm[c].to_numpy()
            for c in ("STUDYID", "USUBJID", "SUBJID", "SITEID", "AGE", "SEX", "ARMCD")
        }
    )
    out["ARM"] = dm["ARM"].where(dm["ARM"].notna(), dm["ARMCD"].map(labels)).to_numpy()
    out["TRT01P"] = out["ARM"]
    act = dm["ACTARMCD"]
    out["ACTARMCD"] = act.to_numpy()
    out["TRT01A"] = dm["ACTARM"].where(dm["ACTARM"].notna(), act.map(labels)).to_numpy()
    for s in protocol.design.allocation.strata:
        col = stratum_column(s.factor)
        out[col] = dm[col].to_numpy() if col in dm else None
    for col in dm.columns:
        if col.startswith(STRATUM_PREFIX) and col not in out:
            out[col] = dm[col].to_numpy()

    anc = anchors(dataset, protocol)
    out["RANDDTM"] = anc["RANDDTM"].array  # datetime64[ns, UTC], not Timestamp objects
    out["TRTSDTM"] = anc["TRTSDTM"].array
    ex = dataset.table("EX")
    ex_t = pd.DataFrame(
        {
            "USUBJID": ex["USUBJID"],
            "S": times.to_utc(ex["EXSTDTC"]),
            "E": times.to_utc(ex["EXENDTC"]),
            "DEV": ex["EXDEVFL"] == "Y",
            "TRT": ex["EXTRT"],
        }
    )
    ex_t["E"] = ex_t["E"].where(ex_t["E"].notna(), ex_t["S"])
    g = ex_t.groupby("USUBJID")
    ids = out["USUBJID"]
    out["TRTEDTM"] = pd.to_datetime(ids.map(g["E"].max()), utc=True)
    out["NDOSE"] = ids.map(g.size()).fillna(0).astype("int64")
    planned = {a.id: _planned_doses(protocol, a.id) for a in protocol.arms}
    out["NDOSEPL"] = out["ARMCD"].map(planned).fillna(0).astype("int64")

    dv = dataset.table("DV")
    major = set(dv.loc[dv["DVCAT"] == "MAJOR", "USUBJID"])
    ex_dev = set(ex_t.loc[ex_t["DEV"], "USUBJID"])
    other_product = set(
        ex_t.loc[ex_t["TRT"] != ex_t["USUBJID"].map(dm.set_index("USUBJID")["ARMCD"]), "USUBJID"]
    )
    arm_ids = {a.id for a in protocol.arms}
    plans_none = out["ACTARMCD"].isin([a for a in arm_ids if a != NOT_TREATED and planned[a] == 0])
    randomized = out["ARMCD"].isin(arm_ids).to_numpy(dtype=bool)
    out["ITTFL"] = np.where(randomized, "Y", "N")
    out["SAFFL"] = np.where(randomized & ((out["NDOSE"] > 0) | plans_none), "Y", "N")
    pp = (
        (out["SAFFL"] == "Y")
        & (out["NDOSE"] >= out["NDOSEPL"])
        & (out["ACTARMCD"] == out["ARMCD"])
        & ~ids.isin(major | ex_dev | other_product)
    )
    out["PPROTFL"] = np.where(pp, "Y", "N")

    out["DTHFL"] = times.marked(dm["DTHDTC"].notna())
    out["DTHDTM"] = times.to_utc(dm["DTHDTC"]).array  # keeps UTC when all are missing
    ds = dataset.table("DS")
    ends = ds[ds["DSDECOD"].isin(DS_END_TERMS)].assign(T=times.to_utc(ds["DSSTDTC"]))
    last_end = ends.sort_values("T").groupby("USUBJID").tail(1).set_index("USUBJID")
    term = ids.map(last_end["DSDECOD"])
    out["EOSSTT"] = np.where(
        term.isna(), "ONGOING", np.where(term == "COMPLETED", "COMPLETED", "DISCONTINUED")
    )
    out["DCSREAS"] = term.where(term.notna() & (term != "COMPLETED"), None).to_numpy()
    out["EOSDTM"] = pd.to_datetime(ids.map(last_end["T"]), utc=True)
    dated = _dated(dataset)
    out["LSTCNDTM"] = pd.to_datetime(ids.map(dated.groupby("USUBJID")["T"].max()), utc=True)

    f = findings(dataset, protocol)
    if len(f):
        f = f[["USUBJID", "MEASURE", "AVAL", "AVALC", "VISIT", "ADTM"]]
        f = f.assign(AVISITN=visit_columns(f, protocol, anc)["AVISITN"])
        base = f[baseline_rows(f, protocol, anc)]
        measured = set(f["MEASURE"].dropna())
        by_measure = dict(list(base.groupby("MEASURE", sort=False)))
        for m in protocol.measurements:
            rows = by_measure.get(m.code, base.iloc[:0]).set_index("USUBJID")
            if not len(rows) and m.code not in measured:
                continue
            numeric = m.kind in ("number", "integer")
            values = rows["AVAL"] if numeric else rows["AVALC"]
            col = ids.map(values)
            out[baseline_column(m.code)] = col.astype("float64") if numeric else col.to_numpy()
    return out
