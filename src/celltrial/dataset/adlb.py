"""ADLB (and the same for any findings domain): analysis visits, baseline, change."""

from __future__ import annotations

import numpy as np
import pandas as pd

from celltrial.dataset import times
from celltrial.dataset.adsl import derive_adsl
from celltrial.dataset.problems import Problem
from celltrial.dataset.tables import Dataset
from celltrial.dataset.visits import anchors, baseline_rows, findings, visit_columns
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
    if not f["DOMAIN"].isin(domains).all():
        f = f[f["DOMAIN"].isin(domains)].reset_index(drop=True)
    vis = visit_columns(f, protocol, anc)
    # The columns are computed one by one and the table is built once at the end.
    light = pd.DataFrame(
        {
            "USUBJID": f["USUBJID"],
            "MEASURE": f["MEASURE"],
            "AVAL": f["AVAL"],
            "AVALC": f["AVALC"],
            "VISIT": f["VISIT"],
            "ADTM": f["ADTM"],
            "AVISITN": vis["AVISITN"],
        }
    )
    ablfl = times.marked(baseline_rows(light, protocol, anc))
    is_base = ablfl == "Y"
    base = pd.Series(
        f["AVAL"].to_numpy()[is_base],
        index=pd.MultiIndex.from_arrays(
            [f["USUBJID"].to_numpy()[is_base], f["MEASURE"].to_numpy()[is_base]]
        ),
    )
    key = pd.MultiIndex.from_arrays([f["USUBJID"], f["MEASURE"]])
    base_v = base.reindex(key).to_numpy(dtype="float64")
    chg = f["AVAL"].to_numpy(dtype="float64") - base_v
    with np.errstate(divide="ignore", invalid="ignore"):
        pchg = 100.0 * chg / base_v
    pchg = np.where(base_v != 0, pchg, np.nan)
    fadm = f["USUBJID"].map(anc.set_index("USUBJID")["FADMDTM"])
    atpth = times.hours_between(pd.to_datetime(fadm, utc=True), f["ADTM"])
    has = vis["AVISIT"].notna() & (f["AVAL"].notna() | f["AVALC"].notna())
    order = pd.DataFrame(
        {
            "_D": vis["AWTDIFF"].abs(),
            "ADTM": f["ADTM"],
            "USUBJID": f["USUBJID"],
            "TESTCD": f["TESTCD"],
            "AVISIT": vis["AVISIT"],
        }
    )[has]
    pick = (
        order.sort_values(["_D", "ADTM"], kind="stable")
        .groupby(["USUBJID", "TESTCD", "AVISIT"], sort=False)
        .head(1)
        .index
    )
    anl = np.full(len(f), None, dtype=object)
    anl[f.index.get_indexer(pick)] = "Y"
    keep = adsl.set_index("USUBJID")[list(ADLB_KEEP)].reindex(f["USUBJID"])
    labels = {m.code: m.label for m in protocol.measurements}
    param = pd.Series(_label(f["MEASURE"], labels), index=f.index)
    columns = {
        "STUDYID": keep["STUDYID"].to_numpy(),
        "USUBJID": f["USUBJID"],
        **{c: keep[c].to_numpy() for c in ADLB_KEEP[1:]},
        "DOMAIN": f["DOMAIN"],
        "SRCROW": f["SRCROW"],
        "PARAMCD": f["TESTCD"],
        "PARAM": param.where(f["MEASURE"].notna(), f["TEST"]),
        "MEASURE": f["MEASURE"],
        "AVAL": f["AVAL"],
        "AVALC": f["AVALC"],
        "AVALU": f["UNIT"],
        "STAT": f["STAT"],
        "ADTM": f["ADTM"],
        "ADTMF": f["ADTMF"],
        "ATPTH": atpth,
        "VISIT": f["VISIT"],
        "VISITNUM": f["VISITNUM"],
        "AVISIT": vis["AVISIT"],
        "AVISITN": vis["AVISITN"],
        "AWTDIFF": vis["AWTDIFF"],
        "AWOUTFL": vis["AWOUTFL"],
        "ABLFL": ablfl,
        "BASE": base_v,
        "CHG": chg,
        "PCHG": pchg,
        "ANL01FL": anl,
    }
    return pd.DataFrame(
        {c: v.array if isinstance(v, pd.Series) else v for c, v in columns.items()},
        index=f.index,
    )


def _label(measure: pd.Series, labels: dict[str, str]) -> np.ndarray:
    """The label of each row's measurement (NaN where it has none), asked once per code."""
    codes, uniques = pd.factorize(measure.to_numpy(dtype=object))
    answers = np.array([labels.get(u, np.nan) for u in uniques] + [np.nan], dtype=object)
    out: np.ndarray = answers[codes]
    return out


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
