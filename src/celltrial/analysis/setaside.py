"""The analysis of a dataset with problems: the records in error are set aside, listed, and the
rest is analysed, so a report always renders (issue 15: the DSMB never gets a 409).

:func:`analyze` refuses a dataset with any error; :func:`analyze_despite_problems` is for the
reports (the EDC's closed report, ``celltrial report``). Each error is handled at the level it
names:

* a row of a domain other than DM (an AE whose onset is after the death, a value of a
  measurement the catalogue does not know, …): that row is left out of every analysis;
* a DM row, or a participant without a row (a randomization before consent, an unknown
  arm …): the participant is left out of every analysis (all their rows);
* an error of a whole table (a missing column): nothing can be set aside, and
  :class:`~celltrial.dataset.DatasetError` is raised as by :func:`analyze`.

The checks are run again on what is left (until no error remains, at most a few rounds), and
every record set aside is a :class:`DataProblem` of the result (record, participant, site,
what is wrong, what was left out), shown by the reports in a "Data problems" section.

No statistical method: the records set aside are simply absent (no imputation); the analyses
are those of :func:`analyze` on the rest. R equivalent: ``analyse(subset(df, !bad))``.
"""

from __future__ import annotations

import dataclasses

import pandas as pd

from celltrial.analysis.core import TrialAnalysis, analyze, problems_of
from celltrial.analysis.results import DataProblem
from celltrial.dataset import Dataset, DatasetError, Problem, errors
from celltrial.protocol import Protocol

#: Rounds of checking and setting aside before giving up.
ROUNDS = 4

#: What leaving out a row of each domain costs the analyses.
LEFT_OUT = {
    "AE": "this adverse event is left out of the safety tables and safety windows",
    "CE": "this clinical event is left out of the event endpoints",
    "DS": "this disposition is left out of CONSORT and the time-to-event endpoints",
    "EX": "this administration is left out of exposure and the safety population",
    "DV": "this deviation is left out of the per-protocol population",
    "SL": "this screening record is left out of the screening counts",
}
#: Domains whose text may name an arm: in the blinded report their problems are not detailed.
ARM_DOMAINS = frozenset({"EX"})


def _seq(table: pd.DataFrame, domain: str, pos: int) -> str:
    col = f"{domain}SEQ"
    if col in table and 0 <= pos < len(table):
        v = table[col].iloc[pos]
        if v is not None and not pd.isna(v):
            return f"{domain} {col} {int(v)}"
    return f"{domain} row {pos + 1}"


def _sites(dataset: Dataset) -> dict[str, str]:
    out: dict[str, str] = {}
    for code, key in (("SL", "SCRNID"), ("DM", "USUBJID")):
        t = dataset.table(code)
        if key in t and "SITEID" in t:
            for k, s in zip(t[key], t["SITEID"], strict=True):
                if k is not None and s is not None and not pd.isna(s):
                    out[str(k)] = str(s)
    return out


def set_aside(
    dataset: Dataset, bad: list[Problem]
) -> tuple[Dataset, list[DataProblem], list[Problem]]:
    """``dataset`` without the rows (or participants) that ``bad`` names.

    Returns the smaller dataset (its load problems reduced to the warnings), one
    :class:`DataProblem` per error set aside, and the errors that could not be set aside (a
    whole table's)."""
    sites = _sites(dataset)
    drop_rows: dict[str, set[int]] = {}
    drop_people: dict[str, str] = {}
    notes: list[DataProblem] = []
    stuck: list[Problem] = []
    for p in bad:
        if p.domain != "DM" and p.row is not None and p.domain in dataset.tables:
            t = dataset.tables[p.domain]
            drop_rows.setdefault(p.domain, set()).add(p.row - 1)
            notes.append(
                DataProblem(
                    record=_seq(t, p.domain, p.row - 1),
                    usubjid=p.usubjid,
                    site=sites.get(p.usubjid or ""),
                    what=p.message,
                    left_out=LEFT_OUT.get(
                        p.domain, f"this {p.domain} result is left out of every analysis"
                    ),
                    blinded_safe=p.domain not in ARM_DOMAINS,
                )
            )
        elif p.usubjid:
            drop_people.setdefault(p.usubjid, p.message)
            notes.append(
                DataProblem(
                    record=f"{p.domain} (participant {p.usubjid})",
                    usubjid=p.usubjid,
                    site=sites.get(p.usubjid),
                    what=p.message,
                    left_out=f"participant {p.usubjid} is left out of every analysis",
                    blinded_safe="ARM" not in (p.column or ""),
                )
            )
        else:
            stuck.append(p)
    tables: dict[str, pd.DataFrame] = {}
    for code, t in dataset.tables.items():
        keep = pd.Series(True, index=t.index)
        rows = drop_rows.get(code)
        if rows:
            keep &= pd.Series([i not in rows for i in range(len(t))], index=t.index)
        if drop_people and "USUBJID" in t and code != "SL":
            keep &= ~t["USUBJID"].isin(list(drop_people))
        tables[code] = t[keep.to_numpy(dtype=bool)].reset_index(drop=True)
    warnings = tuple(p for p in dataset.problems if p.level == "warning")
    return Dataset(tables=tables, problems=warnings, accepted=dataset.accepted), notes, stuck


def analyze_despite_problems(dataset: Dataset, protocol: Protocol) -> TrialAnalysis:
    """:func:`~celltrial.analysis.analyze` of what can be analysed: the records in error are
    set aside and listed in ``data_problems``.

    Parameters
    ----------
    dataset : Dataset
    protocol : Protocol

    Returns
    -------
    TrialAnalysis
        As :func:`analyze` gives it on the dataset less the records set aside, with
        ``data_problems`` listing each (empty when the dataset had no error).

    Raises
    ------
    DatasetError
        When an error names no row and no participant (a table-level problem, such as a
        missing required column): nothing can be set aside.
    """
    notes: list[DataProblem] = []
    current = dataset
    for _ in range(ROUNDS):
        bad = errors(problems_of(current, protocol))
        if not bad:
            break
        current, more, stuck = set_aside(current, bad)
        notes += more
        if stuck:
            raise DatasetError(stuck)
    else:
        bad = errors(problems_of(current, protocol))
        if bad:
            raise DatasetError(bad)
    result = analyze(current, protocol)
    return dataclasses.replace(result, data_problems=tuple(notes))
