"""Issue 17, a complete safety CRF through the REST API: the AE's end, ongoing, relatedness to
the product and to the procedure, expectedness, action taken, the infusion-associated question
(only inside a safety window), missing-data codes; concomitant medications and medical history;
the site's time zone. Each refusal is a 4xx naming its field; the export carries each field as
its CDISC column (``--STAT``/``--REASND`` for a form not done, ``--MISS`` for a coded field).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from edc_helpers import arm_of, randomized, released_lot

from celltrial.edc import actions


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(second=0, microsecond=0)


def _iso(t: dt.datetime) -> str:
    return t.strftime("%Y-%m-%dT%H:%MZ")


def _ae(**more: Any) -> dict[str, Any]:
    onset = _now() - dt.timedelta(days=1)
    return {
        "term": "Hypotension",
        "onset": _iso(onset),
        "grade": 3,
        "relatedness": "possible",
        "outcome": "recovered",
        "serious_criteria": ["hospitalization", "life_threatening"],
        **more,
    }


def _field(r: Any) -> set[str]:
    return {d["field"] for d in r.json()["detail"]}


def _case(trial: Any, clients: Any) -> tuple[Any, Any]:
    """A participant randomized three days ago, and the coordinator's API client. (Tests take
    only conftest's fixtures: test_edc_openapi runs them as flows.)"""
    p = randomized(trial, at=_now() - dt.timedelta(days=3))
    return p, clients["coord1"]


def test_ae_takes_every_field_of_the_safety_crf(trial: Any, clients: Any) -> None:
    p, c = _case(trial, clients)
    onset = _now() - dt.timedelta(days=1)
    r = c.call(
        "post",
        f"/participants/{p.code}/adverse-events",
        _ae(
            onset=_iso(onset),
            end_at=_iso(onset + dt.timedelta(hours=5)),
            ongoing=False,
            procedure_relatedness="not_related",
            action_taken="drug_interrupted",
            expected=False,
        ),
    )
    assert r.status_code == 200, r.content
    got = r.json()
    assert got["end_at"] == _iso(onset + dt.timedelta(hours=5)).replace("Z", ":00Z")
    assert got["procedure_relatedness"] == "not_related"
    assert got["relatedness"] == "possible"  # to the cell product, a field of its own
    assert got["action_taken"] == "drug_interrupted" and got["expected"] is False
    assert got["serious"] and got["infusion_associated"] is None and got["missing"] == {}


AE_REFUSALS: list[tuple[dict[str, Any], str]] = [
    ({"end_at": "the day after"}, "end_at"),  # not a time
    ({"procedure_relatedness": "maybe"}, "procedure_relatedness"),
    ({"action_taken": "stopped"}, "action_taken"),
    ({"ongoing": True, "outcome": "recovered"}, "ongoing"),  # recovered is not ongoing
    ({"missing": {"end_at": "dunno"}}, "missing.end_at"),
    ({"missing": {"term": "unknown"}}, "missing.term"),  # the term takes no code
    (
        {"procedure_relatedness": "possible", "missing": {"procedure_relatedness": "unknown"}},
        "procedure_relatedness",
    ),
    ({"infusion_associated": True}, "infusion_associated"),  # no infusion: no window
]


def test_ae_refusals_name_their_field(trial: Any, clients: Any) -> None:
    """One trial for all the cases (a trial costs ~1 s to set up)."""
    p, c = _case(trial, clients)
    for more, field in AE_REFUSALS:
        r = c.call("post", f"/participants/{p.code}/adverse-events", _ae(**more))
        assert r.status_code == 422, (more, r.content)
        assert field in _field(r), (more, r.json())
    assert not p.adverse_events.exists()


def test_ae_end_before_onset_breaks_the_rule_end_not_before_start(trial: Any, clients: Any) -> None:
    p, c = _case(trial, clients)
    onset = _now() - dt.timedelta(days=1)
    r = c.call(
        "post",
        f"/participants/{p.code}/adverse-events",
        _ae(onset=_iso(onset), end_at=_iso(onset - dt.timedelta(hours=1))),
    )
    assert r.status_code == 422 and _field(r) == {"end_at"}
    assert "end_not_before_start" in r.json()["detail"][0]["message"]
    r = c.call(
        "post",
        f"/participants/{p.code}/adverse-events",
        _ae(ongoing=True, outcome="not_recovered", end_at=_iso(_now())),
    )
    assert r.status_code == 422 and _field(r) == {"end_at"}  # ongoing has no end


def test_infusion_associated_is_asked_inside_a_safety_window(trial: Any, clients: Any) -> None:
    at = _now() - dt.timedelta(hours=10)
    p = randomized(trial, at=at)
    arm = arm_of(p)
    lot = released_lot(trial, arm)
    start = at + dt.timedelta(hours=3)
    dose = 140e6 if arm == "msc" else 70.0
    actions.record_infusion(trial["pharm"], p, lot=lot, started_at=start, delivered=dose)
    c = clients["coord1"]
    inside = _ae(onset=_iso(start + dt.timedelta(hours=2)), infusion_associated=True)
    r = c.call("post", f"/participants/{p.code}/adverse-events", inside)
    assert r.status_code == 200, r.content
    assert r.json()["infusion_associated"] is True
    assert "infusion_6h" in r.json()["safety_windows"]


def test_missing_data_codes_are_kept_and_exported_the_cdisc_way(trial: Any, clients: Any) -> None:
    from celltrial.edc.export import tables

    p, c = _case(trial, clients)
    r = c.call(
        "post",
        f"/participants/{p.code}/adverse-events",
        _ae(missing={"end_at": "unknown", "action_taken": "not_applicable"}),
    )
    assert r.status_code == 200, r.content
    assert r.json()["missing"] == {"end_at": "unknown", "action_taken": "not_applicable"}
    r = c.call(
        "post",
        f"/participants/{p.code}/medications",
        {"not_done": True, "not_done_reason": "participant sedated, family unreachable"},
    )
    assert r.status_code == 200, r.content
    t = tables(trial["coord1"].trial)
    ae = t["AE"].iloc[0]
    assert ae["AEMISS"] == "AEACN=NA;AEENDTC=UNK"
    assert ae["AESLIFE"] == "Y" and ae["AESHOSP"] == "Y" and ae["AEREL"] == "POSSIBLY RELATED"
    cm = t["CM"].iloc[0]
    assert cm["CMSTAT"] == "NOT DONE"
    assert cm["CMREASND"] == "participant sedated, family unreachable"


def test_medication_and_history_forms(trial: Any, clients: Any) -> None:
    from celltrial.edc.export import tables

    p, c = _case(trial, clients)
    r = c.call(
        "post",
        f"/participants/{p.code}/medications",
        {
            "medication": "Dexamethasone",
            "indication": "COVID-19 pneumonia",
            "dose": 6,
            "dose_unit": "mg",
            "route": "intravenous",
            "frequency": "qd",
            "start_date": "2025-01-03",
            "ongoing": True,
        },
    )
    assert r.status_code == 200, r.content
    assert r.json()["route"] == "intravenous" and r.json()["ongoing"] is True
    r = c.call(
        "post",
        f"/participants/{p.code}/medical-history",
        {"term": "Type 2 diabetes", "start_date": "2015-06-01", "ongoing": True},
    )
    assert r.status_code == 200, r.content
    r = c.call(
        "post",
        f"/participants/{p.code}/medical-history",
        {"term": "Appendectomy", "start_date": "2001-01-01", "missing": {"end_date": "unknown"}},
    )
    assert r.status_code == 200, r.content
    assert len(c.call("get", f"/participants/{p.code}/medications").json()) == 1
    assert len(c.call("get", f"/participants/{p.code}/medical-history").json()) == 2
    t = tables(trial["coord1"].trial)
    cm = t["CM"].iloc[0]
    assert (cm["CMTRT"], cm["CMROUTE"], cm["CMDOSFRQ"], cm["CMENRTPT"]) == (
        "Dexamethasone",
        "INTRAVENOUS",
        "QD",
        "ONGOING",
    )
    assert cm["CMDOSE"] == 6 and cm["CMDOSU"] == "mg" and cm["CMSTDTC"] == "2025-01-03"
    mh = t["MH"].sort_values("MHSTDTC")
    assert list(mh["MHTERM"]) == ["Appendectomy", "Type 2 diabetes"]
    assert list(mh["MHMISS"].fillna("")) == ["MHENDTC=UNK", ""]
    assert list(mh["MHENRTPT"].fillna("")) == ["", "ONGOING"]


CRF_REFUSALS: list[tuple[str, dict[str, Any], str]] = [
    ("medications", {}, "medication"),
    ("medications", {"medication": "X", "route": "nasal"}, "route"),
    ("medications", {"medication": "X", "frequency": "weekly"}, "frequency"),
    ("medications", {"medication": "X", "dose": -1, "dose_unit": "mg"}, "dose"),
    ("medications", {"medication": "X", "dose": 5}, "dose_unit"),
    (
        "medications",
        {"medication": "X", "start_date": "2025-02-10", "end_date": "2025-02-01"},
        "end_date",
    ),
    ("medications", {"medication": "X", "start_date": "2999-01-01"}, "start_date"),
    ("medications", {"medication": "X", "ongoing": True, "end_date": "2025-02-01"}, "end_date"),
    ("medications", {"not_done": True}, "not_done_reason"),
    ("medications", {"not_done": True, "not_done_reason": "r", "medication": "X"}, "not_done"),
    ("medications", {"medication": "X", "missing": {"route": "ASKU"}}, "missing.route"),
    ("medications", {"medication": "X", "start_date": "03/01/2025"}, "start_date"),
    ("medical-history", {}, "term"),
    # started after consent (2025-01-05): an adverse event, not history
    ("medical-history", {"term": "Rash", "start_date": "2025-01-20"}, "start_date"),
    (
        "medical-history",
        {"term": "Rash", "start_date": "2020-01-20", "end_date": "2019-01-01"},
        "end_date",
    ),
    ("medical-history", {"term": "Rash", "missing": {"term": "unknown"}}, "missing.term"),
]


def test_medication_and_history_refusals_name_their_field(trial: Any, clients: Any) -> None:
    p, c = _case(trial, clients)
    for path, body, field in CRF_REFUSALS:
        r = c.call("post", f"/participants/{p.code}/{path}", body)
        assert r.status_code == 422, (body, r.content)
        assert field in _field(r), (body, r.json())
    assert not p.medications.exists() and not p.medical_history.exists()
    r = c.call(
        "post",
        f"/participants/{p.code}/medical-history",
        {"term": "Rash", "start_date": "2025-01-20"},
    )
    text = r.json()["detail"][0]["message"]
    assert "at 2025-01-20 is after consent (2025-01-05)" in text  # a date, named as a date
    assert "history_before_consent" in text


def test_history_rule_is_in_the_rule_set_and_the_dataset_check() -> None:
    """The rules the forms apply are the dataset's: a CM ending before it starts and an MH
    starting after consent are problems of an imported dataset too."""
    import pandas as pd
    from edc_helpers import PROTOCOL_FILE

    from celltrial.dataset import check_dataset, make_dataset, rules
    from celltrial.protocol import load_protocol

    assert {"history_before_consent", "end_not_before_start"} <= {r.id for r in rules.ALL_RULES}
    assert "history_before_consent" in rules.rules_table()
    ids = {"STUDYID": "S", "USUBJID": "P1"}
    dm = {
        **ids,
        "SUBJID": "1",
        "SITEID": "s1",
        "ARMCD": "msc",
        "RFICDTC": "2025-01-05",
        "RANDDTC": "2025-01-06T10:00Z",
    }
    cm = {**ids, "CMSEQ": 1, "CMTRT": "X", "CMSTDTC": "2025-01-10", "CMENDTC": "2025-01-08"}
    mh = {**ids, "MHSEQ": 1, "MHTERM": "Rash", "MHSTDTC": "2025-01-20"}
    ds = make_dataset(
        {"DM": pd.DataFrame([dm]), "CM": pd.DataFrame([cm]), "MH": pd.DataFrame([mh])}
    )
    found = [*ds.problems, *check_dataset(ds, load_protocol(PROTOCOL_FILE))]
    text = [f"{p.domain} {p.column}: {p.message}" for p in found]
    assert any(t.startswith("CM CMENDTC") and "before CMSTDTC" in t for t in text), text
    assert any(t.startswith("MH MHSTDTC") and "history_before_consent" in t for t in text), text


def test_a_medication_after_death_is_refused(trial: Any, clients: Any) -> None:
    p, c = _case(trial, clients)
    actions.record_death(trial["coord1"], p, died_at=_now() - dt.timedelta(days=2), cause="x")
    r = c.call(
        "post",
        f"/participants/{p.code}/medications",
        {"medication": "Heparin", "start_date": _now().date().isoformat()},
    )
    assert r.status_code in (409, 422) and "start_date" in _field(r) | {"participant"}


def test_site_time_zone_is_an_iana_name(trial: Any, clients: Any) -> None:
    admin = clients["admin"]
    r = admin.call("post", "/sites/site1/time-zone", {"time_zone": "Europe/Paris"})
    assert r.status_code == 200 and r.json()["time_zone"] == "Europe/Paris"
    for bad in ("Mars/Olympus", "CET+1", "../../etc/passwd", ""):
        r = admin.call("post", "/sites/site1/time-zone", {"time_zone": bad})
        assert r.status_code == 422 and _field(r) == {"time_zone"}, (bad, r.json())
    r = clients["coord1"].call("post", "/sites/site1/time-zone", {"time_zone": "UTC"})
    assert r.status_code == 403
    assert admin.call("post", "/sites/nosuch/time-zone", {"time_zone": "UTC"}).status_code == 404


def test_sdtm_cm_mh_and_suppae_from_the_edc(trial: Any, clients: Any) -> None:
    """The EDC's export goes on to SDTM: CM and MH with CDISC terms, --STAT/--REASND for a
    history not taken, AEENRTPT for an ongoing AE, the non-standard AE fields in SUPPAE."""
    from celltrial.cdisc.sdtm_out import to_sdtm
    from celltrial.dataset import make_dataset
    from celltrial.edc.export import tables

    p, c = _case(trial, clients)
    r = c.call(
        "post",
        f"/participants/{p.code}/adverse-events",
        _ae(
            ongoing=True,
            outcome="not_recovered",
            procedure_relatedness="unlikely",
            expected=True,
            missing={"action_taken": "asked_unknown"},
        ),
    )
    assert r.status_code == 200, r.content
    body = {
        "medication": "Tocilizumab",
        "route": "intravenous",
        "frequency": "once",
        "dose": 8,
        "dose_unit": "mg/kg",
        "start_date": "2025-01-06",
    }
    assert c.call("post", f"/participants/{p.code}/medications", body).status_code == 200
    body = {"not_done": True, "not_done_reason": "no informant"}
    assert c.call("post", f"/participants/{p.code}/medical-history", body).status_code == 200
    ds = make_dataset(tables(trial["coord1"].trial))
    assert not [x for x in ds.problems if x.level == "error"], ds.problems
    sdtm = to_sdtm(ds, trial["coord1"].trial.active_protocol().protocol)
    ae = sdtm.tables["AE"].iloc[0]
    assert (ae["AEENRTPT"], ae["AEENTPT"], ae["AESER"]) == ("ONGOING", "END OF STUDY", "Y")
    assert "AERELPR" not in sdtm.tables["AE"]  # not a standard variable: SUPPAE
    supp = sdtm.tables["SUPPAE"]
    got = dict(zip(supp["QNAM"], supp["QVAL"], strict=True))
    assert got == {"AERELPR": "UNLIKELY RELATED", "AEEXPFL": "Y", "AEMISS": "AEACN=ASKU"}
    assert set(supp["IDVAR"]) == {"AESEQ"}
    cm = sdtm.tables["CM"].iloc[0]
    assert (cm["DOMAIN"], cm["CMTRT"], cm["CMROUTE"], cm["CMDOSFRQ"]) == (
        "CM",
        "Tocilizumab",
        "INTRAVENOUS",
        "ONCE",
    )
    assert cm["CMSEQ"] == 1 and cm["CMSTDTC"] == "2025-01-06"
    mh = sdtm.tables["MH"].iloc[0]
    assert (mh["MHSTAT"], mh["MHREASND"]) == ("NOT DONE", "no informant")
    assert mh["MHTERM"] is None
    assert sdtm.domain_label("CM") == "Concomitant/Prior Medications"
    assert all(len(v) <= 40 for v in sdtm.labels("CM").values())


def test_infusion_details_and_their_blinding(trial: Any, clients: Any) -> None:
    """Pre-medication, stop time, volume, interruptions and reactions on the infusion; the
    volume and the rest are answered to unblinded roles only (a volume may differ by arm)."""
    from celltrial.edc.export import tables

    at = _now() - dt.timedelta(hours=10)
    p = randomized(trial, at=at)
    arm = arm_of(p)
    lot = released_lot(trial, arm)
    start = at + dt.timedelta(hours=3)
    base = {
        "lot": lot.number,
        "started_at": _iso(start),
        "delivered": 140e6 if arm == "msc" else 70.0,
    }
    pharm = clients["pharm"]
    for more, field in (
        ({"volume_ml": -5}, "volume_ml"),
        ({"interrupted": True}, "interruption"),
        ({"interruption": "paused 10 min"}, "interrupted"),
        ({"volume_ml": 50, "missing": {"volume_ml": "unknown"}}, "volume_ml"),
        ({"missing": {"lot": "unknown"}}, "missing.lot"),
    ):
        r = pharm.call("post", f"/participants/{p.code}/infusions", {**base, **more})
        assert r.status_code == 422 and field in _field(r), (more, r.json())
    body = {
        **base,
        "stopped_at": _iso(start + dt.timedelta(minutes=45)),
        "volume_ml": 50,
        "premedication": "paracetamol 1 g PO 30 min before",
        "interrupted": True,
        "interruption": "paused 10 min for chills",
        "reaction": "chills, grade 1",
    }
    r = pharm.call("post", f"/participants/{p.code}/infusions", body)
    assert r.status_code == 200, r.content
    assert r.json()["volume_ml"] == 50 and r.json()["interrupted"] is True
    seen = clients["coord1"].call("get", f"/participants/{p.code}/infusions").json()[0]
    assert seen["stopped_at"] is not None
    for hidden in ("volume_ml", "premedication", "reaction", "interruption", "delivered"):
        assert hidden not in seen, hidden
    ex = tables(trial["coord1"].trial)["EX"].iloc[0]
    assert ex["EXVOLML"] == 50 and ex["EXINTFL"] == "Y" and ex["EXREACT"] == "chills, grade 1"
    assert ex["EXPREMED"].startswith("paracetamol")


def test_label_registry() -> None:
    """One registry: codes, the words on the pages, the CDISC terms of the export."""
    from celltrial.edc import labels

    assert labels.label("seriousness", "life_threatening") == "Life-threatening"
    assert labels.label("relatedness", "not_related") == "Not related"
    assert labels.cdisc("relatedness", "definite") == "RELATED"
    assert labels.cdisc("action_taken", "drug_withdrawn") == "DRUG WITHDRAWN"
    assert labels.cdisc("missing", "asked_unknown") == "ASKU"
    assert labels.label("outcome", "no_such_code") == "no_such_code"  # shown as it is
    with pytest.raises(KeyError):
        labels.cdisc("route", "nasal")
    units = {
        "mm[Hg]": "mmHg",
        "10*9/L": "× 10^9/L",
        "ug/mL{FEU}": "µg/mL FEU",
        "cells/uL": "cells/µL",
        "{score}": "score",
        "kg": "kg",
        "%": "%",
        "pg/mL": "pg/mL",
    }
    for code, text in units.items():
        assert labels.unit(code) == text, code
    assert labels.amount(1e6, "cells") == "1 × 10^6 cells"
    assert labels.amount(50.0, "mL") == "50 mL"
    assert labels.check_time_zone("Europe/Paris") == "Europe/Paris"
    for bad in ("Europe/Atlantis", "", "../etc/passwd", "/usr/share/zoneinfo/UTC"):
        with pytest.raises(ValueError, match="IANA"):
            labels.check_time_zone(bad)


def test_edit_of_the_ae_new_fields_keeps_the_rules(trial: Any, clients: Any) -> None:
    """Correcting an AE (PATCH /records/adverse_event/{id}) checks the same rules as entry:
    the end not before the onset, an ongoing event has no end, codes from the registry; a
    value given replaces its missing-data code."""
    p, c = _case(trial, clients)
    onset = _now() - dt.timedelta(days=1)
    body = _ae(onset=_iso(onset), missing={"end_at": "unknown"})
    ae = c.call("post", f"/participants/{p.code}/adverse-events", body).json()
    url = f"/records/adverse_event/{ae['id']}"
    for changes, field in (
        ({"end_at": _iso(onset - dt.timedelta(hours=2))}, "end_at"),
        ({"procedure_relatedness": "maybe"}, "procedure_relatedness"),
        ({"action_taken": "stopped"}, "action_taken"),
        ({"ongoing": True}, "ongoing"),  # outcome recovered says it ended
    ):
        r = c.call("patch", url, {"changes": changes, "reason": "correction"})
        assert r.status_code == 422, (changes, r.content)
        assert any(f.endswith(field) for f in _field(r)), (changes, r.json())
    end = _iso(onset + dt.timedelta(hours=3))
    r = c.call("patch", url, {"changes": {"end_at": end}, "reason": "end found in notes"})
    assert r.status_code == 200, r.content
    assert r.json()["end_at"] is not None and r.json()["missing"] == {}


def test_cm_and_mh_are_corrected_and_marked_in_error_by_the_same_paths(
    trial: Any, clients: Any
) -> None:
    """A CM or MH row is corrected through ``PATCH /records/{table}/{id}`` (the entry form's
    rules on the merged row, a reason once complete, audited old → new) and marked entered in
    error through ``POST /records/{table}/{id}/entered-in-error`` (kept, audited, out of the
    dataset and the order rules); then it can no longer be edited."""
    import json

    from celltrial.edc.audit import verify_audit, verify_data
    from celltrial.edc.export import tables
    from celltrial.edc.models import AuditEntry

    p, c = _case(trial, clients)
    cm = c.call(
        "post",
        f"/participants/{p.code}/medications",
        {"medication": "Dexamethasone", "route": "oral", "start_date": "2025-01-03"},
    ).json()
    mh = c.call(
        "post",
        f"/participants/{p.code}/medical-history",
        {"term": "Asthma", "start_date": "2010-01-01", "missing": {"end_date": "unknown"}},
    ).json()
    cm_url, mh_url = f"/records/medication/{cm['id']}", f"/records/medical_history/{mh['id']}"
    # The entry rules, on the merged row; the field named as on entry.
    for url, changes, field in (
        (cm_url, {"route": "nasal"}, "route"),
        (cm_url, {"dose": 5}, "dose_unit"),  # a dose needs its unit
        (cm_url, {"dose": "five"}, "changes.dose"),
        (cm_url, {"medication": ""}, "medication"),
        (cm_url, {"end_date": "2025-01-01"}, "end_date"),  # before the start
        (cm_url, {"missing": {"route": "unknown"}}, "route"),  # a value and a code
        (mh_url, {"start_date": "2025-01-20"}, "start_date"),  # after consent: an AE
        (mh_url, {"missing": {"term": "unknown"}}, "missing.term"),
        (mh_url, {"severity": "high"}, "changes.severity"),
    ):
        r = c.call("patch", url, {"changes": changes, "reason": "source"})
        assert r.status_code == 422 and field in _field(r), (changes, r.content)
    r = c.call("patch", cm_url, {"changes": {"dose": 6, "dose_unit": "mg"}})
    assert r.status_code == 422 and _field(r) == {"reason"}  # complete: a reason
    r = c.call(
        "patch",
        cm_url,
        {"changes": {"dose": 6, "dose_unit": "mg", "route": "intravenous"}, "reason": "chart"},
    )
    assert r.status_code == 200, r.content
    # A value given replaces its code; a code may be given for a blank field.
    r = c.call(
        "patch",
        mh_url,
        {"changes": {"end_date": "2020-05-01", "missing": {}}, "reason": "patient recalled"},
    )
    assert r.status_code == 200, r.content
    got = {x["id"]: x for x in c.call("get", f"/participants/{p.code}/medical-history").json()}
    assert got[mh["id"]]["end_date"] == "2020-05-01" and got[mh["id"]]["missing"] == {}
    edit = AuditEntry.objects.filter(action="edit_record", table="concomitantmedication").get()
    assert edit.reason == "chart"
    assert json.loads(edit.old)["route"] == "oral" and json.loads(edit.new)["route"] == (
        "intravenous"
    )
    t = tables(p.trial)
    assert t["CM"].iloc[0]["CMROUTE"] == "INTRAVENOUS" and t["CM"].iloc[0]["CMDOSE"] == 6
    # Entered in error: a reason; kept and flagged; out of the dataset; no longer editable.
    r = c.call("post", f"{cm_url}/entered-in-error", {})
    assert r.status_code == 422 and _field(r) == {"reason"}
    for url in (cm_url, mh_url):
        r = c.call("post", f"{url}/entered-in-error", {"reason": "wrong participant"})
        assert r.status_code == 200, r.content
    meds = c.call("get", f"/participants/{p.code}/medications").json()
    assert [m["entered_in_error"] for m in meds] == [True]
    t = tables(p.trial)
    assert "CM" not in t or t["CM"].empty
    assert "MH" not in t or t["MH"].empty
    r = c.call("patch", cm_url, {"changes": {"dose": 7}, "reason": "x"})
    assert r.status_code == 422 and "entered in error" in r.json()["detail"][0]["message"]
    r = c.call("post", f"{mh_url}/entered-in-error", {"reason": "again"})
    assert r.status_code == 422
    # A medication entered in error no longer holds a later milestone back.
    assert verify_audit().ok and verify_data() == []


def test_required_ae_fields_take_the_codes_that_mean_something(trial: Any, clients: Any) -> None:
    """Relatedness and outcome are required, but "unknown" is an answer: a relatedness not
    assessed, unknown or asked but unknown is exported with AEREL null (no CDISC codelist for
    causality; the code in AEMISS, SUPPAE); an outcome unknown is AEOUT = UNKNOWN (CDISC OUT);
    an action taken unknown is AEACN = UNKNOWN (CDISC ACN). The term, grade and onset take no
    code; a code that says nothing of the field (an outcome "not applicable") is refused."""
    from celltrial.cdisc.sdtm_out import to_sdtm
    from celltrial.dataset import make_dataset
    from celltrial.edc.export import tables

    p, c = _case(trial, clients)
    url = f"/participants/{p.code}/adverse-events"
    base = _ae(serious_criteria=[], relatedness="", outcome="")
    for missing, extra, field in (
        ({}, {}, "relatedness"),  # required without a code
        ({"relatedness": "unknown", "outcome": "not_applicable"}, {}, "missing.outcome"),
        ({"relatedness": "not_applicable", "outcome": "unknown"}, {}, "missing.relatedness"),
        (
            {"relatedness": "unknown"},
            {"relatedness": "possible", "outcome": "recovered"},
            "relatedness",
        ),
        ({"relatedness": "unknown", "outcome": "unknown"}, {"outcome": "fatal"}, "outcome"),
        ({"relatedness": "unknown", "outcome": "unknown", "onset": "unknown"}, {}, "missing.onset"),
        ({"relatedness": "unknown", "outcome": "unknown", "term": "unknown"}, {}, "missing.term"),
    ):
        r = c.call("post", url, {**base, **extra, "missing": missing})
        assert r.status_code == 422 and field in _field(r), (missing, extra, r.content)
    body = {
        **base,
        "missing": {
            "relatedness": "unknown",
            "outcome": "asked_unknown",
            "action_taken": "unknown",
        },
    }
    r = c.call("post", url, body)
    assert r.status_code == 200, r.content
    ae = r.json()
    assert (ae["relatedness"], ae["outcome"]) == ("", "unknown")
    assert ae["missing"] == {
        "relatedness": "unknown",
        "outcome": "asked_unknown",
        "action_taken": "unknown",
    }
    t = tables(p.trial)
    row = t["AE"].iloc[0]
    assert row["AEREL"] is None or row["AEREL"] != row["AEREL"]  # null
    assert (row["AEOUT"], row["AEACN"]) == ("UNKNOWN", "UNKNOWN")
    assert row["AEMISS"] == "AEACN=UNK;AEOUT=ASKU;AEREL=UNK"
    dataset = make_dataset(t)
    assert not [x for x in dataset.problems if x.level == "error"], dataset.problems
    sdtm = to_sdtm(dataset, p.trial.active_protocol().protocol)
    supp = sdtm.tables["SUPPAE"]
    assert "AEREL=UNK" in ";".join(supp["QVAL"].astype(str))
    # A correction with the value replaces the code; the outcome known replaces UNKNOWN.
    r = c.call(
        "patch",
        f"/records/adverse_event/{ae['id']}",
        {"changes": {"relatedness": "possible", "outcome": "recovering"}, "reason": "assessed"},
    )
    assert r.status_code == 200, r.content
    assert r.json()["missing"] == {"action_taken": "unknown"}
    row = tables(p.trial)["AE"].iloc[0]
    assert (row["AEREL"], row["AEOUT"]) == ("POSSIBLY RELATED", "RECOVERING/RESOLVING")
    # ... and a code may be given again on a correction (blank value, meaningful code).
    r = c.call(
        "patch",
        f"/records/adverse_event/{ae['id']}",
        {
            "changes": {"relatedness": "", "missing": {"relatedness": "not_done"}},
            "reason": "assessment withdrawn",
        },
    )
    assert r.status_code == 200, r.content
    assert tables(p.trial)["AE"].iloc[0]["AEMISS"] == "AEREL=NOT DONE"
