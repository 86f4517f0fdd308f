"""Export: the database as the trial dataset's CSV tables, readable without Django."""

from __future__ import annotations

import datetime as dt

from edc_helpers import arm_of, randomized, released_lot

from celltrial.edc import actions
from celltrial.edc.export import export_dataset


def test_export_writes_the_dataset_tables(trial, tmp_path):
    from celltrial.dataset import read_dataset

    at = dt.datetime.now(dt.UTC) - dt.timedelta(hours=10)
    p = randomized(trial, at=at)
    arm = arm_of(p)
    lot = released_lot(trial, arm)
    start = at.replace(second=0, microsecond=0) + dt.timedelta(hours=3)
    actions.record_infusion(
        trial["pharm"], p, lot=lot, started_at=start, delivered=140e6 if arm == "msc" else 70.0
    )
    actions.record_measurement(trial["coord1"], p, "il6", 12, visit="baseline")
    actions.record_measurement(trial["coord1"], p, "who_scale", "4", visit="baseline")
    actions.report_adverse_event(
        trial["coord1"],
        p,
        term="Fever",
        onset=start + dt.timedelta(hours=1),
        grade=2,
        relatedness="possible",
        outcome="recovered",
    )
    actions.screen_participant(trial["coord1"], "site1", {"age": 95})
    q = randomized(trial)
    actions.withdraw(trial["coord1"], q, reason="moved")
    files, problems = export_dataset(tmp_path)
    assert {f.name for f in files} >= {
        "dm.csv",
        "ds.csv",
        "ex.csv",
        "ae.csv",
        "lb.csv",
        "qs.csv",
        "sl.csv",
    }
    assert [x for x in problems if getattr(x, "level", "error") == "error"] == []
    ds = read_dataset(tmp_path)
    dm = ds.tables["DM"].set_index("USUBJID")
    assert dm.loc[p.code, "ARMCD"] == arm and dm.loc[p.code, "STRAT_ARDS_SEVERITY"] == "2"
    assert ds.tables["EX"]["EXDOSU"].tolist() == ["cells" if arm == "msc" else "mL"]
    assert ds.tables["AE"]["AEREL"].tolist() == ["POSSIBLY RELATED"]
    assert ds.tables["LB"]["LBTESTCD"].tolist().count("IL6") == 1
    sl = ds.tables["SL"]
    assert len(sl) == 3 and (sl["ELIGFL"] == "N").sum() == 1
    assert "WITHDRAWN" in ds.tables["DS"]["DSDECOD"].tolist()


def test_screening_values_are_baseline_measurements(trial, clients, tmp_path):
    """Issue 15: weight and PaO2/FiO2 typed on the screening form (API) reach the export as
    findings of the screening visit and are the participants' baselines in ADSL; a value the
    site also recorded as a screening measurement is exported once."""
    from edc_helpers import ELIGIBLE, PROTOCOL_FILE

    from celltrial.dataset import derive_adsl, read_dataset
    from celltrial.protocol import load_protocol

    coord = clients["coord1"]
    body = {"site": "site1", "values": {**ELIGIBLE, "weight": 81.5, "pao2_fio2": 140}}
    r = coord.call("post", "/screenings", body)
    assert r.status_code == 200, r.content
    code = r.json()["code"]
    today = dt.datetime.now(dt.UTC).date().isoformat()
    assert (
        coord.call(
            "post", f"/participants/{code}/consents", {"version": "2.1", "consented_on": today}
        ).status_code
        == 200
    )
    assert coord.call("post", f"/participants/{code}/enroll").status_code == 200
    assert coord.call("post", f"/participants/{code}/randomize").status_code == 200
    twice = randomized(trial, weight=60)  # weight also entered as a screening measurement
    actions.record_measurement(trial["coord1"], twice, "weight", 60, visit="screening")

    _, problems = export_dataset(tmp_path)
    assert [x for x in problems if getattr(x, "level", "error") == "error"] == []
    ds = read_dataset(tmp_path)
    vs = ds.tables["VS"]
    mine = vs[vs["USUBJID"] == code]
    assert mine[["VSTESTCD", "VSORRES", "VISIT"]].values.tolist() == [
        ["WEIGHT", "81.5", "screening"]
    ]
    assert (vs["USUBJID"] == twice.code).sum() == 1
    lb = ds.tables["LB"]
    assert lb.loc[lb["USUBJID"] == code, "LBORRES"].tolist() == ["140"]
    adsl = derive_adsl(ds, load_protocol(PROTOCOL_FILE)).set_index("USUBJID")
    assert adsl.loc[code, "BL_WEIGHT"] == 81.5 and adsl.loc[code, "BL_PAO2_FIO2"] == 140
    assert adsl.loc[twice.code, "BL_WEIGHT"] == 60


def test_consent_after_the_screening_date_is_refused(trial):
    """The screening values are dated at screening: a first consent dated after it would put
    them before consent (rule after_consent), so the EDC refuses it."""
    import pytest
    from edc_helpers import ELIGIBLE, fields

    c = trial["coord1"]
    p = actions.screen_participant(
        c, "site1", dict(ELIGIBLE), screened_at=dt.datetime.now(dt.UTC) - dt.timedelta(days=3)
    )
    with pytest.raises(actions.ActionError) as exc:
        actions.record_consent(c, p, "2.1", dt.datetime.now(dt.UTC).date())
    assert fields(exc) == {"consented_on"} and "after_consent" in str(exc.value.problems)
