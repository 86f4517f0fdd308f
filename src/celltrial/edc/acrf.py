"""The annotated CRF: each EDC form's fields, the dataset column each one becomes, and the SDTM
variable :func:`celltrial.cdisc.sdtm_out.to_sdtm` writes from that column.

The forms are the EDC's actions (one action per form). :data:`FORMS` names, for every
parameter of each action, the dataset column it is exported to (``None``: kept in the EDC, not
exported). The SDTM side is not written by hand: :func:`annotated_crf` runs ``to_sdtm`` on a
dataset and finds each column there — the same variable, a SUPP-- qualifier (QNAM), or another
variable of the domain holding the same values (EXDEVRS → EXADJ). ``tests/edc/test_edc_acrf.py``
checks that :data:`FORMS` names every parameter of every action and only schema columns, and
that the table in ``docs/dataset.md`` is the one :func:`markdown` writes — so the page cannot
go stale: ``python -m celltrial.edc.acrf docs/dataset.md`` rewrites it.
"""

from __future__ import annotations

import dataclasses
import inspect
from pathlib import Path
from typing import Any
from unittest import mock

import pandas as pd

#: Parameters that say who acts on what, not a field of the form.
_NOT_FIELDS = frozenset({"actor", "participant", "adverse_event", "idempotency_key"})
FINDINGS = "--"  # a findings column, in each findings domain (LB, VS, …)


@dataclasses.dataclass(frozen=True)
class Form:
    """One EDC form: its action, the role that fills it, and field -> dataset column(s)."""

    name: str
    action: str
    domain: str
    fields: dict[str, tuple[str, ...]]  # parameter -> dataset columns ("" domain prefix: --)


FORMS: tuple[Form, ...] = (
    Form(
        "Screening",
        "screen_participant",
        "SL",
        {
            "site": ("SL.SITEID", "DM.SITEID"),
            "screened_at": ("SL.SCRNDTC",),
            "values": ("DM.AGE", "DM.SEX", "DM.STRAT_<FACTOR>", "SL.ELIGFL", "SL.FAILCRIT"),
        },
    ),
    Form(
        "Consent",
        "record_consent",
        "DM",
        {"version": (), "consented_on": ("DM.RFICDTC", "DS.DSSTDTC")},
    ),
    Form("Enrolment", "enroll", "DM", {"at": ()}),
    Form(
        "Randomization",
        "randomize_participant",
        "DM",
        {"at": ("DM.RANDDTC", "DS.DSSTDTC")},
    ),
    Form(
        "Assignment (not randomized)",
        "assign_participant",
        "DM",
        {"arm": ("DM.ARMCD", "DM.ARM"), "at": ("DM.RANDDTC", "DS.DSSTDTC")},
    ),
    Form(
        "Lot registration",
        "register_lot",
        "EX",
        {"number": ("EX.EXLOT",), "arm": ("EX.EXTRT",), "site": (), "expires_at": ()},
    ),
    Form("Lot release", "release_lot", "EX", {"lot": (), "results": ()}),
    Form(
        "Infusion",
        "record_infusion",
        "EX",
        {
            "lot": ("EX.EXLOT", "EX.EXTRT", "DM.ACTARMCD"),
            "started_at": ("EX.EXSTDTC", "DM.RFSTDTC"),
            "stopped_at": ("EX.EXENDTC", "DM.RFENDTC"),
            "delivered": ("EX.EXDOSE",),
            "number": ("EX.EXNUM", "EX.EXSEQ"),
            "deviation": ("EX.EXDEVRS", "EX.EXDEVFL"),
            "volume_ml": ("EX.EXVOLML",),
            "premedication": ("EX.EXPREMED",),
            "interrupted": ("EX.EXINTFL",),
            "interruption": ("EX.EXINTRS",),
            "reaction": ("EX.EXREACT",),
            "missing": ("EX.EXMISS",),
        },
    ),
    Form("Visit", "record_visit", "LB", {"visit": (), "at": ()}),
    Form(
        "Measurement",
        "record_measurement",
        "LB",
        {
            "code": ("--TESTCD", "--TEST"),
            "value": ("--ORRES",),
            "measured_at": ("--DTC",),
            "visit": ("VISIT", "VISITNUM"),
            "unit": ("--ORRESU",),
            "confirmed": (),
            "confirm_duplicate": (),  # the answer to the duplicate warning, not data
        },
    ),
    Form(
        "Visit not done",
        "record_visit_not_done",
        "LB",
        {"visit": ("VISIT", "--STAT", "--DTC"), "reason": ("--REASND",)},
    ),
    Form(
        "Adverse event",
        "report_adverse_event",
        "AE",
        {
            "term": ("AE.AETERM",),
            "decoded_term": ("AE.AEDECOD",),
            "confirm_duplicate": (),  # the answer to the duplicate warning, not data
            "onset": ("AE.AESTDTC",),
            "grade": ("AE.AETOXGR",),
            "serious_criteria": (
                "AE.AESER",
                "AE.AESDTH",
                "AE.AESLIFE",
                "AE.AESHOSP",
                "AE.AESDISAB",
                "AE.AESCONG",
                "AE.AESMIE",
            ),
            "relatedness": ("AE.AEREL",),
            "outcome": ("AE.AEOUT",),
            "end_at": ("AE.AEENDTC",),
            "ongoing": ("AE.AEENRTPT",),
            "action_taken": ("AE.AEACN",),
            "procedure_relatedness": ("AE.AERELPR",),
            "expected": ("AE.AEEXPFL",),
            "infusion_associated": ("AE.AEINFFL",),
            "missing": ("AE.AEMISS",),
            "aware_at": (),
        },
    ),
    Form("SAE report", "report_sae", "AE", {"at": ()}),
    Form(
        "Concomitant medication",
        "record_medication",
        "CM",
        {
            "medication": ("CM.CMTRT",),
            "indication": ("CM.CMINDC",),
            "dose": ("CM.CMDOSE",),
            "dose_unit": ("CM.CMDOSU",),
            "route": ("CM.CMROUTE",),
            "frequency": ("CM.CMDOSFRQ",),
            "start_date": ("CM.CMSTDTC",),
            "end_date": ("CM.CMENDTC",),
            "ongoing": ("CM.CMENRTPT",),
            "not_done": ("CM.CMSTAT",),
            "not_done_reason": ("CM.CMREASND",),
            "missing": ("CM.CMMISS",),
        },
    ),
    Form(
        "Medical history",
        "record_medical_history",
        "MH",
        {
            "term": ("MH.MHTERM",),
            "start_date": ("MH.MHSTDTC",),
            "end_date": ("MH.MHENDTC",),
            "ongoing": ("MH.MHENRTPT",),
            "not_done": ("MH.MHSTAT",),
            "not_done_reason": ("MH.MHREASND",),
            "missing": ("MH.MHMISS",),
        },
    ),
    Form(
        "Clinical event",
        "record_clinical_event",
        "CE",
        {
            "event": ("CE.CEDECOD",),
            "term": ("CE.CETERM",),
            "occurred_at": ("CE.CESTDTC",),
            "occurred": ("CE.CEOCCUR",),
        },
    ),
    Form(
        "Deviation",
        "record_deviation",
        "DV",
        {
            "category": ("DV.DVCAT",),
            "description": ("DV.DVTERM",),
            "occurred_at": ("DV.DVSTDTC",),
        },
    ),
    Form("Withdrawal", "withdraw", "DS", {"at": ("DS.DSSTDTC",), "reason": (), "by": ()}),
    Form(
        "Lost to follow-up",
        "mark_lost_to_follow_up",
        "DS",
        {"last_contact": ("DS.DSSTDTC",), "reason": ()},
    ),
    Form(
        "Death",
        "record_death",
        "DS",
        {"died_at": ("DS.DSSTDTC", "DM.DTHDTC", "DM.DTHFL"), "cause": ()},
    ),
    Form("Completion", "complete_study", "DS", {"at": ("DS.DSSTDTC",)}),
)


def form_problems() -> list[str]:
    """What :data:`FORMS` gets wrong about the code: a parameter of an action it does not name
    (or names but the action lacks), a column the dataset schema does not have."""
    from celltrial.dataset import schema
    from celltrial.edc import actions

    out: list[str] = []
    for f in FORMS:
        params = set(inspect.signature(getattr(actions, f.action)).parameters) - _NOT_FIELDS
        for p in sorted(params - set(f.fields)):
            out.append(f"{f.action}: parameter {p!r} is not in FORMS")
        for p in sorted(set(f.fields) - params):
            out.append(f"{f.action}: FORMS names {p!r}, which the action does not take")
        for cols in f.fields.values():
            for col in cols:
                code, name = _split(col, "LB")
                if "<" in name:
                    continue
                try:
                    schema.domain(code).column(name)
                except KeyError:
                    out.append(f"{f.action}: {col} is not a column of the dataset schema")
    return out


def _split(col: str, findings: str) -> tuple[str, str]:
    if col.startswith(FINDINGS):
        return findings, findings + col[2:]
    if "." in col:
        code, name = col.split(".", 1)
        return code, name
    return findings, col


def sdtm_targets(dataset_dir: str | Path | None = None) -> dict[tuple[str, str], str]:
    """Where ``to_sdtm`` writes each dataset column, found by running it.

    On ``dataset_dir`` (default: the small Lanzoni dataset of the tests, with the lanzoni2021
    protocol): a column is the SDTM variable of its name, or a SUPP-- QNAM of its name, or the
    variable of its domain holding its values (EXDEVRS → EXADJ); else it is not written."""
    from celltrial.cdisc import sdtm_out
    from celltrial.dataset import Dataset, read_dataset, schema
    from celltrial.protocol import load_protocol

    here = Path(__file__).resolve().parents[3] / "tests" / "dataset" / "data" / "lanzoni_small"
    read = read_dataset(dataset_dir or here)
    # Every domain of the schema, empty where the dataset has none: what to_sdtm writes of it.
    ds = Dataset(
        tables={c: read.table(c) for c in schema.ALL_DOMAINS if c != "SL" or c in read.tables},
        problems=read.problems,
    )
    # The columns to_sdtm moves to SUPP-- (whether or not this dataset has values in them).
    moved: dict[str, set[str]] = {}
    split = sdtm_out._split_supp

    def spy(frame: pd.DataFrame, prefix: str, study: str, qnams: Any) -> Any:
        moved.setdefault(prefix, set()).update(qnams)
        return split(frame, prefix, study, qnams)

    with mock.patch.object(sdtm_out, "_split_supp", spy):
        sdtm = sdtm_out.to_sdtm(ds, load_protocol("lanzoni2021"))
    out: dict[tuple[str, str], str] = {}
    for code, table in ds.tables.items():
        target = sdtm.tables.get(code)
        supp = sdtm.tables.get(f"SUPP{code}")
        qnams = (set(supp["QNAM"]) if supp is not None else set()) | moved.get(code, set())
        for col in table.columns:
            if target is not None and col in target.columns:
                out[code, col] = f"{code}.{col}"
            elif col in qnams:
                out[code, col] = f"SUPP{code} QNAM {col}"
            elif col.startswith("STRAT_") and "STRAT1" in qnams:
                out[code, col] = f"SUPP{code} QNAM STRATn"
            else:
                out[code, col] = _same_values(code, col, table, target)
    return out


def _same_values(code: str, col: str, table: pd.DataFrame, target: pd.DataFrame | None) -> str:
    values = table[col].dropna().astype(str).tolist()
    if target is None or not values or len(target) != len(table):
        return "—"
    for other in target.columns:
        if target[other].dropna().astype(str).tolist() == values:
            return f"{code}.{other}"
    return "—"


def annotated_crf(dataset_dir: str | Path | None = None) -> list[tuple[str, str, str, str]]:
    """Rows (form (action), field, dataset column, SDTM variable), one per column of a field."""
    from celltrial.edc import actions

    targets = sdtm_targets(dataset_dir)
    rows: list[tuple[str, str, str, str]] = []
    for f in FORMS:
        roles = sorted(str(r) for r in getattr(actions, f.action).roles)
        form = f"{f.name} (`{f.action}`; {', '.join(roles)})"
        for field, cols in f.fields.items():
            if not cols:
                rows.append((form, field, "— (kept in the EDC)", "—"))
                continue
            for col in cols:
                code, name = _split(col, "LB")
                shown = col
                if "<" in name:
                    sdtm = targets.get((code, "STRAT_"), "SUPPDM QNAM STRATn")
                else:
                    sdtm = targets.get((code, name), "—")
                    if col.startswith(FINDINGS) or "." not in col:  # as LB shows it
                        sdtm = sdtm.replace("LB.LB", "--").replace("LB.", "")
                rows.append((form, field, shown, sdtm))
    return rows


START = "<!-- annotated-crf: generated by `python -m celltrial.edc.acrf docs/dataset.md` -->"
END = "<!-- annotated-crf end -->"


def markdown(dataset_dir: str | Path | None = None) -> str:
    """The table of :func:`annotated_crf` in Markdown, between the markers of docs/dataset.md."""
    lines = [
        START,
        "",
        "| EDC form (action; roles) | field | dataset column | SDTM variable (`to_sdtm`) |",
        # findings columns: -- is the domain (LB, VS, …), VISIT is in every findings domain
        "|---|---|---|---|",
    ]
    last = ""
    for form, field, col, sdtm in annotated_crf(dataset_dir):
        lines.append(f"| {form if form != last else ''} | {field} | {col} | {sdtm} |")
        last = form
    lines += ["", END]
    return "\n".join(lines)


def rewrite(path: str | Path) -> bool:
    """Replace the generated table in ``path`` (docs/dataset.md); True if it changed."""
    path = Path(path)
    text = path.read_text(encoding="utf-8")
    if START not in text or END not in text:
        raise ValueError(f"{path}: no annotated-CRF markers ({START} … {END})")
    head, rest = text.split(START, 1)
    _, tail = rest.split(END, 1)
    new = head + markdown() + tail
    if new != text:
        path.write_text(new, encoding="utf-8")
    return new != text


if __name__ == "__main__":  # pragma: no cover - the docs' generator
    import os
    import sys

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "celltrial.edc.settings_for_tests")
    import django

    django.setup()
    for p in sys.argv[1:]:
        print(f"{p}: {'rewritten' if rewrite(p) else 'up to date'}")
