"""SDTM in: any SDTM study (XPT, Dataset-JSON, Parquet or CSV) mapped into celltrial's dataset.

An SDTM study speaks its own codes: its STUDYID, arm codes, visit names, units and dispositions.
A small YAML *mapping* (``library/cdiscpilot01.mapping.yaml`` is the CDISC pilot's) says what
each one is in the study's celltrial protocol; :func:`read_sdtm_study` applies it and returns the
protocol and a checked :class:`~celltrial.dataset.Dataset`, from which ADSL, ADAE and ADTTE are
derived as for any trial. The data files are never edited. The keys of a mapping are described
in ``docs/cdisc.md``.

>>> study = read_sdtm_study("../shared/cdisc-pilot/sdtm", "cdiscpilot01")   # doctest: +SKIP
>>> derive_adtte(study.dataset, study.protocol)                            # doctest: +SKIP
"""

from __future__ import annotations

import dataclasses
from importlib import resources
from pathlib import Path

import numpy as np
import pandas as pd
import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from celltrial.cdisc.io import read_tables
from celltrial.dataset import Dataset, Problem, make_dataset, summarize
from celltrial.dataset.checks import accept
from celltrial.protocol import Protocol, load_protocol


class _M(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class Rule(_M):
    """One test of a row: ``column`` is one of ``in`` or contains one of ``contains``."""

    column: str
    in_: list[str] | None = Field(default=None, alias="in")
    contains: list[str] | None = None

    def mask(self, table: pd.DataFrame) -> pd.Series:
        if self.column not in table:
            return pd.Series(False, index=table.index)
        text = table[self.column].astype("string").str.upper().fillna("")
        out = pd.Series(False, index=table.index)
        if self.in_ is not None:
            out |= text.isin([v.upper() for v in self.in_])
        for word in self.contains or []:
            out |= text.str.contains(word.upper(), regex=False)
        return out.astype(bool)


class EventRule(_M):
    """A protocol event read from the rows of an SDTM domain that match."""

    from_: str = Field(alias="from")
    date: str
    any: list[Rule] = Field(default_factory=list)
    none: list[Rule] = Field(default_factory=list)


class Treatment(_M):
    model_config = ConfigDict(extra="allow", frozen=True)
    arm: str


class Exposure(_M):
    treatment: list[Treatment] = Field(default_factory=list)
    units: dict[str, str] = Field(default_factory=dict)


class Disposition(_M):
    keep_categories: list[str] | None = None
    decod: dict[str, str] = Field(default_factory=dict)


class Grade(_M):
    from_: str = Field(alias="from")
    map: dict[str, int]


class AdverseEvents(_M):
    grade: Grade | None = None
    relationship: dict[str, str] = Field(default_factory=dict)


class Dates(_M):
    consent: list[str] = Field(default_factory=lambda: ["RFICDTC"])
    randomization: list[str] = Field(default_factory=lambda: ["RANDDTC", "RFSTDTC"])


class UnitConversion(_M):
    """A findings test collected in ``unit`` and kept in ``to`` (``value × factor``)."""

    to: str
    factor: float


class Mapping(_M):
    """The mapping of one SDTM study into a protocol (see ``docs/cdisc.md``)."""

    protocol: str
    study: dict[str, str] = Field(default_factory=dict)
    arms: dict[str, str]
    not_assigned: list[str] = Field(default_factory=list)
    dates: Dates = Dates()
    exposure: Exposure = Exposure()
    disposition: Disposition = Disposition()
    adverse_events: AdverseEvents = AdverseEvents()
    events: dict[str, EventRule] = Field(default_factory=dict)
    visits: dict[str, str] = Field(default_factory=dict)
    #: SDTM unit (as collected) -> the UCUM code of the protocol, for --ORRESU/--STRESU
    units: dict[str, str] = Field(default_factory=dict)
    #: test code -> {unit as collected -> conversion}
    convert: dict[str, dict[str, UnitConversion]] = Field(default_factory=dict)
    #: SDTM test code -> the protocol measurement's test code
    tests: dict[str, str] = Field(default_factory=dict)
    #: Known inconsistencies of the source, accepted as warnings: ``AE AESER`` (table, column:
    #: every error of it) or ``AE AESTDTC after_consent`` (table, column, rule)
    accept: list[str] = Field(default_factory=list)


@dataclasses.dataclass(frozen=True)
class SdtmStudy:
    """An SDTM study read into celltrial: the protocol, the dataset and what was found."""

    protocol: Protocol
    dataset: Dataset
    mapping: Mapping
    source: dict[str, pd.DataFrame]
    problems: tuple[Problem, ...]

    def summary(self) -> str:
        """The problems, summarized by table and rule (never every line)."""
        return summarize(self.problems)


def library_mapping(name: str) -> Path:
    """The path of a mapping shipped with celltrial (``cdiscpilot01``)."""
    folder = resources.files("celltrial.cdisc") / "library"
    path = Path(str(folder / f"{name}.mapping.yaml"))
    if not path.exists():
        shipped = sorted(
            p.name.removesuffix(".mapping.yaml") for p in Path(str(folder)).glob("*.mapping.yaml")
        )
        raise FileNotFoundError(f"no mapping {name!r}; celltrial ships {', '.join(shipped)}")
    return path


def load_mapping(source: str | Path) -> tuple[Mapping, Path]:
    """Load a mapping YAML (a path, or the name of a shipped one); errors name the key."""
    path = Path(source)
    if not path.suffix:
        path = library_mapping(str(source))
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    try:
        return Mapping.model_validate(data), path
    except ValidationError as exc:
        lines = [
            f"{path.name} {'.'.join(str(x) for x in e['loc'])}: {e['msg']}" for e in exc.errors()
        ]
        raise ValueError("\n".join(lines)) from None


def _protocol(mapping: Mapping, where: Path) -> Protocol:
    ref = where.parent / mapping.protocol
    return load_protocol(ref if ref.exists() else mapping.protocol)


def _first(table: pd.DataFrame, columns: list[str]) -> pd.Series:
    out = pd.Series(None, index=table.index, dtype="object")
    for c in columns:
        if c in table:
            v = table[c].astype("object").where(table[c].notna() & (table[c] != ""), None)
            out = out.where(out.notna(), v)
    return out


def _text(v: pd.Series) -> pd.Series:
    return v.astype("object").where(v.notna(), None)


def _dm(
    src: pd.DataFrame, m: Mapping, p: Protocol, problems: list[Problem]
) -> tuple[pd.DataFrame, pd.DataFrame]:
    study = src["STUDYID"].map(lambda s: m.study.get(str(s), s))
    assigned = src["ARMCD"].isin(list(m.arms))
    unknown = ~assigned & ~src["ARMCD"].isin(m.not_assigned)
    for code, n in src.loc[unknown, "ARMCD"].value_counts(dropna=False).items():
        problems.append(
            Problem(
                "DM",
                f"ARMCD {code!r} ({n} rows) is neither mapped to an arm nor listed in "
                "not_assigned; those participants are left out",
                column="ARMCD",
            )
        )
    labels = {a.id: a.label for a in p.arms}
    dm = pd.DataFrame(
        {
            "STUDYID": study,
            "USUBJID": src["USUBJID"],
            "SUBJID": src.get("SUBJID", src["USUBJID"]),
            "SITEID": src.get("SITEID"),
            "AGE": src.get("AGE"),
            "SEX": src.get("SEX"),
            "ARMCD": src["ARMCD"].map(m.arms),
            "ACTARMCD": src.get("ACTARMCD", src["ARMCD"]).map(m.arms),
            "RFICDTC": _first(src, m.dates.consent),
            "RANDDTC": _first(src, m.dates.randomization),
            "RFSTDTC": src.get("RFSTDTC"),
            # celltrial's RFENDTC is the last exposure (SDTM's RFXENDTC when given)
            "RFENDTC": _first(src, ["RFXENDTC", "RFENDTC"]),
            "DTHDTC": src.get("DTHDTC"),
            "DTHFL": src.get("DTHFL", pd.Series(None, index=src.index)).map(
                lambda f: "Y" if f == "Y" else "N"
            ),
            "COUNTRY": src.get("COUNTRY"),
        }
    )
    dm["ARM"] = dm["ARMCD"].map(labels)
    dm["ACTARM"] = dm["ACTARMCD"].map(labels)
    screened = src[~assigned & ~unknown]
    sl = pd.DataFrame(
        {
            "STUDYID": study[screened.index],
            "SCRNID": screened["USUBJID"],
            "SITEID": screened.get("SITEID"),
            "SCRNDTC": _first(screened, [*m.dates.consent, "DMDTC"]),
            "ELIGFL": "N",
            "RANDFL": "N",
            "NRANDRS": "NOT ELIGIBLE",
        }
    )
    return dm[assigned].reset_index(drop=True), sl.reset_index(drop=True)


def _ex(src: pd.DataFrame, m: Mapping, problems: list[Problem]) -> pd.DataFrame:
    arm = pd.Series(None, index=src.index, dtype="object")
    for t in m.exposure.treatment:
        hit = pd.Series(True, index=src.index)
        for col, value in (t.model_extra or {}).items():
            if col not in src:
                hit &= False
            elif isinstance(value, int | float):
                hit &= pd.to_numeric(src[col], errors="coerce") == float(value)
            else:
                hit &= src[col].astype("string").str.upper() == str(value).upper()
        arm = arm.where(arm.notna() | ~hit.fillna(False).astype(bool), t.arm)
    if m.exposure.treatment:
        for key, n in (
            src.loc[arm.isna(), ["EXTRT", "EXDOSE"]].value_counts(dropna=False).items()
            if "EXDOSE" in src
            else []
        ):
            problems.append(
                Problem(
                    "EX",
                    f"EXTRT/EXDOSE {key} ({n} rows) matches no exposure.treatment of the mapping",
                    column="EXTRT",
                )
            )
    else:
        arm = src["EXTRT"]
    return pd.DataFrame(
        {
            "STUDYID": src["STUDYID"],
            "USUBJID": src["USUBJID"],
            "EXSEQ": src.get("EXSEQ"),
            "EXTRT": arm,
            "EXDOSE": src["EXDOSE"],
            "EXDOSU": src["EXDOSU"].map(lambda u: m.exposure.units.get(u, u)),
            "EXSTDTC": src["EXSTDTC"],
            "EXENDTC": src.get("EXENDTC"),
            "EXLOT": src.get("EXLOT"),
            "EXDEVFL": "N",
        }
    )


def _ds(src: pd.DataFrame, m: Mapping) -> pd.DataFrame:
    keep = src
    if m.disposition.keep_categories is not None and "DSCAT" in src:
        keep = src[src["DSCAT"].isin(m.disposition.keep_categories)]
    return pd.DataFrame(
        {
            "STUDYID": keep["STUDYID"],
            "USUBJID": keep["USUBJID"],
            "DSSEQ": keep.get("DSSEQ"),
            "DSTERM": keep.get("DSTERM"),
            "DSDECOD": keep["DSDECOD"].map(lambda d: m.disposition.decod.get(d, d)),
            "DSCAT": keep.get("DSCAT"),
            "DSSTDTC": keep["DSSTDTC"],
        }
    )


_AE_COPY = (
    "STUDYID",
    "USUBJID",
    "AESEQ",
    "AETERM",
    "AEDECOD",
    "AEBODSYS",
    "AESTDTC",
    "AEENDTC",
    "AESER",
    "AEOUT",
    "AEACN",
    "AESDTH",
    "AESLIFE",
    "AESHOSP",
    "AESDISAB",
    "AESCONG",
    "AESMIE",
    "AETOXGR",
)


def _ae(src: pd.DataFrame, m: Mapping) -> pd.DataFrame:
    ae = pd.DataFrame({c: src[c] for c in _AE_COPY if c in src})
    g = m.adverse_events.grade
    if g is not None and g.from_ in src:
        ae["AETOXGR"] = src[g.from_].map(g.map)
    if "AEREL" in src:
        ae["AEREL"] = src["AEREL"].map(lambda r: m.adverse_events.relationship.get(r, r))
    return ae


def _events(tables: dict[str, pd.DataFrame], m: Mapping) -> pd.DataFrame:
    parts = []
    for code, rule in m.events.items():
        t = tables.get(rule.from_.upper())
        if t is None:
            continue
        hit = pd.Series(not rule.any, index=t.index)
        for r in rule.any:
            hit |= r.mask(t)
        for r in rule.none:
            hit &= ~r.mask(t)
        rows = t[hit]
        parts.append(
            pd.DataFrame(
                {
                    "STUDYID": rows["STUDYID"],
                    "USUBJID": rows["USUBJID"],
                    "CETERM": rows.get(f"{rule.from_.upper()}TERM"),
                    "CEDECOD": code,
                    "CESTDTC": rows[rule.date],
                }
            )
        )
    if not parts:
        return pd.DataFrame(columns=["STUDYID", "USUBJID", "CEDECOD", "CESTDTC"])
    ce = pd.concat(parts, ignore_index=True)
    ce["CESEQ"] = ce.groupby("USUBJID").cumcount() + 1
    return ce


def _findings(code: str, src: pd.DataFrame, m: Mapping) -> pd.DataFrame:
    p = code
    out = pd.DataFrame({"STUDYID": src["STUDYID"], "USUBJID": src["USUBJID"]})
    testcd = src[f"{p}TESTCD"].map(lambda t: m.tests.get(t, t))
    out[f"{p}TESTCD"] = testcd
    out[f"{p}TEST"] = src.get(f"{p}TEST")
    unit = src.get(f"{p}ORRESU", pd.Series(None, index=src.index))
    value = pd.to_numeric(src.get(f"{p}ORRES"), errors="coerce")
    factor = pd.Series(1.0, index=src.index)
    new_unit = unit.map(lambda u: m.units.get(u, u) if isinstance(u, str) else u)
    for t, by_unit in m.convert.items():
        for u, conv in by_unit.items():
            hit = (src[f"{p}TESTCD"] == t) & (unit == u)
            factor = factor.where(~hit, conv.factor)
            new_unit = new_unit.where(~hit, conv.to)
    converted = value * factor
    out[f"{p}ORRES"] = src.get(f"{p}ORRES").where(value.isna(), converted.map(lambda v: f"{v:g}"))
    out[f"{p}ORRESU"] = new_unit
    out[f"{p}STRESN"] = converted
    out[f"{p}STRESU"] = new_unit
    out[f"{p}STAT"] = src.get(f"{p}STAT")
    out[f"{p}DTC"] = src.get(f"{p}DTC")
    visit = src.get("VISIT", pd.Series(None, index=src.index))
    out["VISIT"] = visit.map(lambda v: m.visits.get(v, "UNSCHEDULED") if isinstance(v, str) else v)
    return out


def map_study(
    tables: dict[str, pd.DataFrame], mapping: Mapping, protocol: Protocol
) -> tuple[dict[str, pd.DataFrame], list[Problem]]:
    """Map SDTM tables (domain code → table) into celltrial's raw dataset tables."""
    problems: list[Problem] = []
    out: dict[str, pd.DataFrame] = {}
    if "DM" not in tables:
        return out, [Problem("DM", "the study has no DM table")]
    dm, sl = _dm(tables["DM"], mapping, protocol, problems)
    out["DM"] = dm
    if len(sl):
        out["SL"] = sl
    ids = set(dm["USUBJID"])
    if "EX" in tables:
        out["EX"] = _ex(tables["EX"], mapping, problems)
    if "DS" in tables:
        out["DS"] = _ds(tables["DS"], mapping)
    if "AE" in tables:
        out["AE"] = _ae(tables["AE"], mapping)
    ce = _events(tables, mapping)
    if len(ce):
        out["CE"] = ce
    from celltrial.dataset.schema import FINDINGS_DOMAINS

    for code in FINDINGS_DOMAINS:
        if code in tables and f"{code}TESTCD" in tables[code]:
            out[code] = _findings(code, tables[code], mapping)
    used = {"DM", "EX", "DS", "AE", *FINDINGS_DOMAINS}
    for code in sorted(set(tables) - used):
        problems.append(
            Problem(code, f"{code} has no place in celltrial's dataset; not read", level="warning")
        )
    # Only participants of DM (screen failures' DS and EX rows belong to the screening log).
    for code, t in list(out.items()):
        if code not in ("DM", "SL") and "USUBJID" in t:
            out[code] = t[t["USUBJID"].isin(ids)].reset_index(drop=True)
    study = mapping.study
    for code, t in out.items():
        if "STUDYID" in t:
            t["STUDYID"] = t["STUDYID"].map(lambda s: study.get(str(s), s))
        for col in t.columns:
            if t[col].dtype == object:
                t[col] = t[col].where(t[col].notna(), None)
        out[code] = t.replace({np.nan: None}) if code != "DM" else t
    return out, problems


def _accepted(entry: str) -> tuple[str, str, str]:
    """``AE AESER`` or ``AE AESTDTC after_consent`` as (table, column, rule)."""
    parts = entry.split()
    if len(parts) not in (2, 3):
        raise ValueError(
            f"accept: {entry!r} is not 'TABLE COLUMN' or 'TABLE COLUMN RULE' (e.g. AE AESER)"
        )
    return (parts[0], parts[1], parts[2] if len(parts) == 3 else "")


def read_sdtm_study(folder: str | Path, mapping: str | Path) -> SdtmStudy:
    """Read an SDTM study folder with a mapping into a protocol and a checked dataset.

    Parameters
    ----------
    folder : str or Path
        The study's tables: ``dm.xpt``, ``ae.xpt``, … (XPT v5, Dataset-JSON, Parquet or CSV).
    mapping : str or Path
        A mapping YAML, or the name of one celltrial ships (``cdiscpilot01``).

    Returns
    -------
    SdtmStudy
        ``dataset.problems`` holds the schema checks' findings; ``problems`` those of reading
        and mapping as well. :meth:`SdtmStudy.summary` summarizes them.
    """
    m, where = load_mapping(mapping)
    protocol = _protocol(m, where)
    tables, read_problems = read_tables(folder)
    raw, map_problems = map_study(tables, m, protocol)
    ds = make_dataset(raw)
    accepted = frozenset(_accepted(a) for a in m.accept)
    ds = Dataset(
        tables=ds.tables, problems=tuple(accept(list(ds.problems), accepted)), accepted=accepted
    )
    return SdtmStudy(
        protocol=protocol,
        dataset=ds,
        mapping=m,
        source=tables,
        problems=(*read_problems, *map_problems, *ds.problems),
    )
