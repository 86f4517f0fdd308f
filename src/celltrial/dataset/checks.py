"""Does a dataset fit its protocol? Every mismatch is one problem, per row.

Checked: the study id; arms (as randomized, as treated, products given); strata and their
levels; test codes against the measurement catalogue, units against the catalogue's, values
against the plausible range (a warning) and the levels; visits against the schedule; clinical
events against the events catalogue; failed screening criteria against the eligibility rules;
and the order of every participant's records (:mod:`celltrial.dataset.rules`, the rules the
EDC applies when a record is written): nothing before consent, no dose or clinical event
before randomization, nothing after death or the end of follow-up.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator

import numpy as np
import pandas as pd

from celltrial.dataset.problems import Level, Problem
from celltrial.dataset.rules import check_rules
from celltrial.dataset.schema import (
    NOT_TREATED,
    catalogue,
    stratum_column,
    testcd_of,
)
from celltrial.dataset.tables import Dataset
from celltrial.dataset.times import BEYOND_RANGE
from celltrial.protocol import Protocol

UNSCHEDULED = "UNSCHEDULED"
_TRUE = {"Y", "TRUE", "1", "YES"}
_FALSE = {"N", "FALSE", "0", "NO"}


def _rows(
    code: str,
    table: pd.DataFrame,
    mask: pd.Series | np.ndarray,
    template: str,
    column: str | None = None,
    level: Level = "error",
    **values: object,
) -> Iterator[Problem]:
    """One problem per row where ``mask`` holds; ``template`` is formatted with ``values``
    (a Series gives that row's value, anything else is used as is)."""
    ids = table["USUBJID"] if "USUBJID" in table else pd.Series([None] * len(table))
    for i in np.flatnonzero(np.asarray(mask, dtype=bool)):
        uid = ids.iloc[i]
        fields = {k: v.iloc[i] if isinstance(v, pd.Series) else v for k, v in values.items()}
        yield Problem(
            code,
            template.format(**fields),
            row=int(i) + 1,
            usubjid=None if uid is None else str(uid),
            column=column,
            level=level,
        )


def check_dataset(dataset: Dataset, protocol: Protocol) -> list[Problem]:
    """Check that a dataset fits its protocol.

    Parameters
    ----------
    dataset : Dataset
        A dataset that passed (or mostly passed) the schema checks.
    protocol : Protocol

    Returns
    -------
    list of Problem
        Errors for what does not fit (unknown arm, measurement missing from the catalogue,
        unit different from the catalogue's, dates before consent, records after death, …);
        warnings for values outside the plausible range. Empty when the dataset fits.
    """
    out: list[Problem] = []
    out += _study(dataset, protocol)
    out += _arms(dataset, protocol)
    for code in dataset.findings_domains:
        out += _findings(dataset, protocol, code)
    out += _events(dataset, protocol)
    out += _screening(dataset, protocol)
    out += check_rules(dataset)
    # dates the loader could not hold (valid ISO beyond 2262): nothing after them is sound
    out += [p for p in dataset.problems if BEYOND_RANGE in p.message]
    return accept(out, dataset.accepted)


def accept(problems: list[Problem], accepted: frozenset[tuple[str, str, str]]) -> list[Problem]:
    """Errors whose ``(domain, column, rule)`` a mapping accepts, reported as warnings.

    ``rule`` is the rule id a fit-to-protocol error names (``[rule after_consent]``), or
    ``""`` for every error of the column."""
    if not accepted:
        return problems
    out: list[Problem] = []
    for p in problems:
        rule = p.message.rsplit("[rule ", 1)[1].rstrip("]") if "[rule " in p.message else ""
        col = p.column or ""
        if p.level == "error" and (
            (p.domain, col, rule) in accepted or (p.domain, col, "") in accepted
        ):
            p = dataclasses.replace(
                p, level="warning", message=p.message + " (accepted by the mapping)"
            )
        out.append(p)
    return out


def _study(dataset: Dataset, protocol: Protocol) -> Iterator[Problem]:
    for code, table in dataset.tables.items():
        if "STUDYID" in table:
            s = table["STUDYID"]
            yield from _rows(
                code,
                table,
                s.notna() & (s != protocol.id),
                "STUDYID '{v}' is not the protocol's id '{study}'",
                "STUDYID",
                v=s,
                study=protocol.id,
            )


def _arms(dataset: Dataset, protocol: Protocol) -> Iterator[Problem]:
    arms = [a.id for a in protocol.arms]
    known = ", ".join(arms)
    dm = dataset.dm
    for col, allowed in (("ARMCD", arms), ("ACTARMCD", [*arms, NOT_TREATED])):
        v = dm[col]
        yield from _rows(
            "DM",
            dm,
            v.notna() & ~v.isin(allowed),
            "{col} '{v}' is not an arm of protocol {study} (arms: {known})",
            col,
            col=col,
            v=v,
            study=protocol.id,
            known=known,
        )
    for s in protocol.design.allocation.strata:
        col = stratum_column(s.factor)
        if col not in dm:
            yield Problem("DM", f"stratum column {col} (factor {s.factor}) is missing", column=col)
            continue
        v = dm[col]
        yield from _rows(
            "DM", dm, v.isna(), "{col} is missing (the stratum as randomized)", col, col=col
        )
        yield from _rows(
            "DM",
            dm,
            v.notna() & ~v.isin(s.levels),
            "{col} '{v}' is not a level of {factor} ({levels})",
            col,
            col=col,
            v=v,
            factor=s.factor,
            levels=", ".join(s.levels),
        )
    age = next((m for m in protocol.measurements if m.code == "age" and m.range), None)
    if age is not None and age.range is not None:
        lo, hi = age.range
        a = dm["AGE"]
        yield from _rows(
            "DM",
            dm,
            a.notna() & ((a < lo) | (a > hi)),
            "AGE {v:g} is outside the plausible range {lo:g}–{hi:g}",
            "AGE",
            "warning",
            v=a,
            lo=lo,
            hi=hi,
        )
    ex = dataset.table("EX")
    trt = ex["EXTRT"]
    yield from _rows(
        "EX",
        ex,
        trt.notna() & ~trt.isin(arms),
        "EXTRT '{v}' is not an arm of protocol {study} (arms: {known})",
        "EXTRT",
        v=trt,
        study=protocol.id,
        known=known,
    )
    unit = {a.id: a.dose.counted_in for a in protocol.arms if a.dose is not None}
    expected = trt.map(unit)
    yield from _rows(
        "EX",
        ex,
        expected.notna() & ex["EXDOSU"].notna() & (ex["EXDOSU"] != expected),
        "EXDOSU '{v}' is not the unit {trt} is dosed in ('{unit}')",
        "EXDOSU",
        v=ex["EXDOSU"],
        trt=trt,
        unit=expected,
    )


def _findings(dataset: Dataset, protocol: Protocol, code: str) -> Iterator[Problem]:
    cat = catalogue(protocol)
    where = {testcd_of(m): d for (d, _), m in cat.items()}
    visits = {v.id for v in protocol.schedule.visits} | {UNSCHEDULED}
    t = dataset.table(code)
    p = code
    tc = t[f"{p}TESTCD"]
    measures = tc.map(lambda x: cat.get((code, x)))
    hint = tc.map(lambda x: f" (it is in {where[x]})" if x in where else "")
    yield from _rows(
        code,
        t,
        tc.notna() & measures.isna(),
        "{p}TESTCD '{v}' is not a measurement of protocol {study} in {p}{hint}",
        f"{p}TESTCD",
        p=p,
        v=tc,
        study=protocol.id,
        hint=hint,
    )
    unit = measures.map(lambda m: m.unit if m is not None else None)
    got = t[f"{p}ORRESU"]
    yield from _rows(
        code,
        t,
        unit.notna() & got.notna() & (got != unit),
        "{p}ORRESU '{v}' differs from the catalogue's unit '{unit}' for {tc}",
        f"{p}ORRESU",
        p=p,
        v=got,
        unit=unit,
        tc=tc,
    )
    yield from _rows(
        code,
        t,
        unit.notna() & got.isna() & t[f"{p}ORRES"].notna(),
        "{p}ORRESU is missing (the catalogue's unit is '{unit}')",
        f"{p}ORRESU",
        p=p,
        unit=unit,
    )
    value = t[f"{p}STRESN"]
    result = t[f"{p}STRESC"]
    lo = measures.map(lambda m: m.range[0] if m is not None and m.range else np.nan)
    hi = measures.map(lambda m: m.range[1] if m is not None and m.range else np.nan)
    yield from _rows(
        code,
        t,
        value.notna() & ((value < lo) | (value > hi)),
        "{tc} {v:g} is outside the plausible range {lo:g}–{hi:g}",
        f"{p}STRESN",
        "warning",
        tc=tc,
        v=value,
        lo=lo,
        hi=hi,
    )
    numeric = measures.map(lambda m: m is not None and m.kind in ("number", "integer"))
    yield from _rows(
        code,
        t,
        numeric & result.notna() & value.isna(),
        "{tc} result '{v}' is not a number",
        f"{p}ORRES",
        tc=tc,
        v=result,
    )
    levels = measures.map(lambda m: m.level_codes if m is not None and m.levels else None)
    bad_level = [
        lv is not None and r is not None and str(r) not in lv
        for lv, r in zip(levels, result, strict=True)
    ]
    yield from _rows(
        code,
        t,
        np.array(bad_level, dtype=bool),
        "{tc} '{v}' is not one of its levels ({levels})",
        f"{p}ORRES",
        tc=tc,
        v=result,
        levels=levels.map(lambda lv: ", ".join(lv) if lv else ""),
    )
    boolean = measures.map(lambda m: m is not None and m.kind == "boolean")
    up = result.map(lambda r: str(r).upper() if r is not None else None)
    yield from _rows(
        code,
        t,
        boolean & up.notna() & ~up.isin(_TRUE | _FALSE),
        "{tc} '{v}' is not Y or N",
        f"{p}ORRES",
        tc=tc,
        v=result,
    )
    visit = t["VISIT"]
    yield from _rows(
        code,
        t,
        visit.notna() & ~visit.isin(visits),
        "VISIT '{v}' is not a visit of the schedule (or {u})",
        "VISIT",
        v=visit,
        u=UNSCHEDULED,
    )


def _events(dataset: Dataset, protocol: Protocol) -> Iterator[Problem]:
    ce = dataset.table("CE")
    known = [e.code for e in protocol.events]
    d = ce["CEDECOD"]
    yield from _rows(
        "CE",
        ce,
        d.notna() & ~d.isin(known),
        "CEDECOD '{v}' is not an event of protocol {study} ({known})",
        "CEDECOD",
        v=d,
        study=protocol.id,
        known=", ".join(known),
    )


def _screening(dataset: Dataset, protocol: Protocol) -> Iterator[Problem]:
    if "SL" not in dataset.tables:
        return
    sl = dataset.table("SL")
    criteria = {c.id for c in protocol.population.eligibility or []}
    for i, text in enumerate(sl["FAILCRIT"]):
        if text is None:
            continue
        for cid in (c.strip() for c in str(text).split(";")):
            if cid and cid not in criteria:
                yield Problem(
                    "SL",
                    f"FAILCRIT '{cid}' is not an eligibility criterion of protocol {protocol.id}",
                    row=i + 1,
                    usubjid=sl["SCRNID"].iloc[i],
                    column="FAILCRIT",
                )
