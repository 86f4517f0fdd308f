"""SDTM in, on a small made-up study in the study's own codes (Dataset-JSON and CSV files):
study id, arm codes, screen failures, visit names, units converted, dispositions."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
import yaml

from celltrial.cdisc import read_sdtm_study, write_dataset_json
from celltrial.dataset import derive_adsl

MAPPING = {
    "protocol": "meng2020",
    "study": {"XYZ-01": "meng2020"},
    "arms": {"A": "ucmsc", "B": "control"},
    "not_assigned": ["SCRNFAIL"],
    "exposure": {
        "treatment": [{"EXTRT": "UC-MSC", "arm": "ucmsc"}],
        "units": {"10^6 cells": "cells"},
    },
    "disposition": {"decod": {"WITHDRAWAL BY SUBJECT": "WITHDRAWN"}},
    "visits": {"DAY 3": "day3", "BASELINE": "baseline"},
    "units": {"ng/L": "pg/mL"},
    "convert": {"WEIGHT": {"LB": {"to": "kg", "factor": 0.45359237}}},
}


def _study(folder: Path) -> None:
    dm = pd.DataFrame(
        {
            "STUDYID": "XYZ-01",
            "DOMAIN": "DM",
            "USUBJID": ["X-1", "X-2", "X-3"],
            "SUBJID": ["1", "2", "3"],
            "SITEID": "01",
            "AGE": [50.0, 61.0, 70.0],
            "SEX": ["F", "M", "M"],
            "ARMCD": ["A", "B", "SCRNFAIL"],
            "ACTARMCD": ["A", "B", "SCRNFAIL"],
            "RFICDTC": ["2020-03-01", "2020-03-02", "2020-03-03"],
            "RFSTDTC": ["2020-03-02T10:00", "2020-03-03T09:00", None],
            "DMDTC": ["2020-03-01", "2020-03-02", "2020-03-03"],
        }
    )
    write_dataset_json(dm, folder / "dm.json", name="DM")
    pd.DataFrame(
        {
            "STUDYID": "XYZ-01",
            "USUBJID": ["X-1"] * 3,
            "EXTRT": "UC-MSC",
            "EXDOSE": [30, 30, 30],
            "EXDOSU": "10^6 cells",
            "EXSTDTC": ["2020-03-02T10:00", "2020-03-05T10:00", "2020-03-08T10:00"],
        }
    ).to_csv(folder / "ex.csv", index=False)
    pd.DataFrame(
        {
            "STUDYID": "XYZ-01",
            "USUBJID": ["X-1", "X-2", "X-3"],
            "DSDECOD": ["COMPLETED", "WITHDRAWAL BY SUBJECT", "SCREEN FAILURE"],
            "DSSTDTC": ["2020-03-30", "2020-03-10", "2020-03-03"],
        }
    ).to_csv(folder / "ds.csv", index=False)
    pd.DataFrame(
        {
            "STUDYID": "XYZ-01",
            "USUBJID": ["X-1", "X-1", "X-2"],
            "LBTESTCD": ["IL6", "WEIGHT", "IL6"],
            "LBTEST": ["Interleukin 6", "Weight", "Interleukin 6"],
            "LBORRES": ["12.5", "154", "8"],
            "LBORRESU": ["ng/L", "LB", "ng/L"],
            "LBDTC": ["2020-03-05T08:00", "2020-03-02T08:00", "2020-03"],
            "VISIT": ["DAY 3", "BASELINE", "WEEK 9"],
        }
    ).to_csv(folder / "lb.csv", index=False)


def test_a_study_in_its_own_codes(tmp_path: Path) -> None:
    _study(tmp_path)
    mapping = tmp_path / "xyz.mapping.yaml"
    mapping.write_text(yaml.safe_dump(MAPPING), encoding="utf-8")
    study = read_sdtm_study(tmp_path, mapping)
    assert study.dataset.ok, study.summary()
    ds = study.dataset
    assert set(ds.dm["STUDYID"]) == {"meng2020"}
    assert ds.dm["ARMCD"].tolist() == ["ucmsc", "control"]
    assert ds.table("SL")["SCRNID"].tolist() == ["X-3"]  # the screen failure
    assert set(ds.table("EX")["EXDOSU"]) == {"cells"}
    assert "WITHDRAWN" in set(ds.table("DS")["DSDECOD"])
    lb = ds.table("LB")
    assert lb["LBORRESU"].tolist() == ["pg/mL", "kg", "pg/mL"]
    assert lb["LBSTRESN"].tolist()[:2] == pytest.approx([12.5, 154 * 0.45359237])
    assert lb["VISIT"].tolist() == ["day3", "baseline", "UNSCHEDULED"]
    assert lb["LBDTC"].tolist()[2] == "2020-03"  # partial date kept
    adsl = derive_adsl(ds, study.protocol)
    assert adsl["ITTFL"].tolist() == ["Y", "Y"]
    # the control arm (standard care) plans no administration: safety population as treated
    assert adsl["SAFFL"].tolist() == ["Y", "Y"]


def test_a_bad_mapping_names_its_key(tmp_path: Path) -> None:
    bad = tmp_path / "bad.mapping.yaml"
    bad.write_text(yaml.safe_dump({"protocol": "meng2020", "armz": {}}), encoding="utf-8")
    with pytest.raises(ValueError, match=r"bad.mapping.yaml arms: Field required"):
        read_sdtm_study(tmp_path, bad)


def test_accepted_inconsistencies_are_warnings_and_the_report_lists_them(tmp_path: Path) -> None:
    """An AE that began before consent (a pre-study condition the sponsor collected as an AE:
    SDTM keeps it, TRTEMFL N) breaks celltrial's ``after_consent`` rule; a mapping that accepts
    it (``AE AESTDTC after_consent``) turns the error into a warning, and ``celltrial analyze``
    / ``celltrial report`` on the SDTM folder with ``--mapping`` analyse the study and list it.
    """
    from typer.testing import CliRunner

    from celltrial.cli import app
    from celltrial.dataset import check_dataset, errors

    _study(tmp_path)
    (tmp_path / "lb.csv").unlink()  # its WEIGHT is not an LB test of meng2020: not this test
    pd.DataFrame(
        {
            "STUDYID": "XYZ-01",
            "USUBJID": ["X-1", "X-1"],
            "AESEQ": [1, 2],
            "AETERM": ["Hypertension", "Headache"],
            "AEDECOD": ["Hypertension", "Headache"],
            "AESTDTC": ["2019-06", "2020-03-04"],
            "AETOXGR": ["1", "2"],
            "AESER": ["N", "N"],
        }
    ).to_csv(tmp_path / "ae.csv", index=False)
    strict = tmp_path / "strict.mapping.yaml"
    strict.write_text(yaml.safe_dump(MAPPING), encoding="utf-8")
    study = read_sdtm_study(tmp_path, strict)
    fit = check_dataset(study.dataset, study.protocol)
    assert [p.message for p in errors(fit)] == [
        "AESTDTC 2019-06 is before consent (RFICDTC 2020-03-01) [rule after_consent]"
    ]
    lenient = tmp_path / "xyz.mapping.yaml"
    lenient.write_text(
        yaml.safe_dump({**MAPPING, "accept": ["AE AESTDTC after_consent"]}), encoding="utf-8"
    )
    study = read_sdtm_study(tmp_path, lenient)
    fit = check_dataset(study.dataset, study.protocol)
    assert errors(fit) == []
    assert [p.message for p in fit if p.domain == "AE"] == [
        "AESTDTC 2019-06 is before consent (RFICDTC 2020-03-01) [rule after_consent] "
        "(accepted by the mapping)"
    ]
    runner = CliRunner()
    r = runner.invoke(app, ["analyze", str(tmp_path), "--mapping", str(lenient)])
    assert r.exit_code == 0, r.output
    assert "data warning(s)" in r.output
    out = tmp_path / "report.html"
    r = runner.invoke(app, ["report", str(tmp_path), "-m", str(lenient), "--out", str(out)])
    assert r.exit_code == 0, r.output
    html = out.read_text(encoding="utf-8")
    assert "Data warnings" in html and "is before consent" in html
    # Without the acceptance the report still renders: the AE is set aside and listed.
    r = runner.invoke(app, ["report", str(tmp_path), "-m", str(strict), "--out", str(out)])
    assert r.exit_code == 0, r.output
    html = out.read_text(encoding="utf-8")
    assert "Data problems (1)" in html and "is before consent" in html
    r = runner.invoke(app, ["analyze", str(tmp_path), "-m", str(lenient), "-p", "meng2020"])
    assert r.exit_code == 2 and "--mapping" in r.output
