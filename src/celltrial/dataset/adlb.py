"""ADLB (and the same for any findings domain): analysis visits, baseline, change."""

from __future__ import annotations

import numpy as np
import pandas as pd

from celltrial.dataset import times
from celltrial.dataset.adsl import derive_adsl
from celltrial.dataset.problems import Problem
from celltrial.dataset.tables import Dataset
from celltrial.dataset.visits import anchors, assign_visits, baseline_rows, findings
from celltrial.protocol import Protocol

ADLB_KEEP = ("STUDYID", "ARMCD", "TRT01P", "TRT01A", "ITTFL", "SAFFL", "PPROTFL")


def derive_adlb(
    dataset: Dataset,
    protocol: Protocol,
    *,
    domains: tuple[str, ...] = ("LB",),
    adsl: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Derive ADLB: every result of the findings ``domains``, with analysis visits and change.

    Parameters
    ----------
    dataset : Dataset
    protocol : Protocol
        The schedule (visit windows) and the endpoints' ``baseline_visit``.
    domains : tuple of str
        Findings domains to include (default ``("LB",)``; ``("VS",)`` gives ADVS, etc.).
    adsl : pandas.DataFrame, optional
        ADSL (derived when not given).

    Returns
    -------
    pandas.DataFrame
        One row per result (none dropped), with ADSL's keys and flags and:

        - ``DOMAIN SRCROW`` (where the row came from), ``PARAMCD`` (test code), ``PARAM``,
          ``MEASURE`` (protocol code; None when not in the catalogue)
        - ``AVAL`` (numeric result), ``AVALC``, ``AVALU``, ``ADTM``, ``ADTMF``
        - ``ATPTH``: hours from the first administration (planned one when never dosed)
        - ``VISIT`` (as collected), ``AVISIT``, ``AVISITN``, ``AWTDIFF`` (hours from the
          visit's nominal time), ``AWOUTFL`` = Y for a result outside every visit window
          (it has no analysis visit and is kept)
        - ``ABLFL`` (Y on the baseline record), ``BASE``, ``CHG`` = AVAL − BASE,
          ``PCHG`` = 100 × CHG / BASE (missing when BASE is 0)
        - ``ANL01FL``: Y on the one record per participant, parameter and analysis visit that
          is analysed (nearest the nominal time; the earliest on a tie)
    """
    if adsl is None:
        adsl = derive_adsl(dataset, protocol)
    anc = anchors(dataset, protocol)
    f = findings(dataset, protocol)
    f = f[f["DOMAIN"].isin(domains)].reset_index(drop=True)
    f = assign_visits(f, protocol, anc)
    f["ABLFL"] = times.marked(baseline_rows(f, protocol, anc))
    base = f[f["ABLFL"] == "Y"].set_index(["USUBJID", "MEASURE"])["AVAL"]
    key = pd.MultiIndex.from_arrays([f["USUBJID"], f["MEASURE"]])
    f["BASE"] = base.reindex(key).to_numpy(dtype="float64")
    f["CHG"] = f["AVAL"] - f["BASE"]
    with np.errstate(divide="ignore", invalid="ignore"):
        pchg = 100.0 * f["CHG"] / f["BASE"]
    f["PCHG"] = pchg.where(f["BASE"] != 0)
    fadm = f["USUBJID"].map(anc.set_index("USUBJID")["FADMDTM"])
    f["ATPTH"] = times.hours_between(pd.to_datetime(fadm, utc=True), f["ADTM"])
    has = f["AVISIT"].notna() & (f["AVAL"].notna() | f["AVALC"].notna())
    f["_D"] = f["AWTDIFF"].abs()
    pick = (
        f[has]
        .sort_values(["_D", "ADTM"], kind="stable")
        .groupby(["USUBJID", "TESTCD", "AVISIT"], sort=False)
        .head(1)
        .index
    )
    f["ANL01FL"] = None
    f.loc[pick, "ANL01FL"] = "Y"
    keep = adsl.set_index("USUBJID")
    for col in ADLB_KEEP:
        f[col] = f["USUBJID"].map(keep[col])
    labels = {m.code: m.label for m in protocol.measurements}
    f["PARAM"] = f["MEASURE"].map(labels).where(f["MEASURE"].notna(), f["TEST"])
    f = f.rename(columns={"TESTCD": "PARAMCD", "UNIT": "AVALU"})
    cols = [
        "STUDYID",
        "USUBJID",
        *ADLB_KEEP[1:],
        "DOMAIN",
        "SRCROW",
        "PARAMCD",
        "PARAM",
        "MEASURE",
        "AVAL",
        "AVALC",
        "AVALU",
        "STAT",
        "ADTM",
        "ADTMF",
        "ATPTH",
        "VISIT",
        "VISITNUM",
        "AVISIT",
        "AVISITN",
        "AWTDIFF",
        "AWOUTFL",
        "ABLFL",
        "BASE",
        "CHG",
        "PCHG",
        "ANL01FL",
    ]
    return f[cols]


def window_problems(adlb: pd.DataFrame) -> list[Problem]:
    """A warning for each result outside every visit window (kept, but with no analysis visit).

    Parameters
    ----------
    adlb : pandas.DataFrame
        From :func:`derive_adlb`.
    """
    out = []
    for r in adlb[adlb["AWOUTFL"] == "Y"].itertuples(index=False):
        day = r.ATPTH / times.HOURS_PER_DAY
        out.append(
            Problem(
                str(r.DOMAIN),
                f"{r.PARAMCD} at {r.ADTM:%Y-%m-%dT%H:%MZ} (day {day:.1f} after the first "
                f"administration, collected as {r.VISIT}) is outside every visit window; "
                "it has no analysis visit",
                row=int(r.SRCROW),
                usubjid=str(r.USUBJID),
                level="warning",
            )
        )
    return out
