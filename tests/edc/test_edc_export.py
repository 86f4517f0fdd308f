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
    assert ds.tables["LB"]["LBTESTCD"].tolist() == ["IL6"]
    sl = ds.tables["SL"]
    assert len(sl) == 3 and (sl["ELIGFL"] == "N").sum() == 1
    assert "WITHDRAWN" in ds.tables["DS"]["DSDECOD"].tolist()
