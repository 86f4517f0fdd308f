"""The CDISC pilot study's SDTM read from its XPT files, and ADaM derived from it, compared with
the official ADaM and with R survival run on the official ADTTE.

Data: ``../shared/cdisc-pilot`` (PHUSE phuse-scripts, cdiscpilot01, updated 2013), read with
no edits. Mapping: ``src/celltrial/cdisc/library/cdiscpilot01.mapping.yaml``.
Reference: ``tests/reference/cdisc_pilot/ttde.R`` (R 4.2.2, survival 3.5.3) wrote ttde.json.
The study is read once per module (about 10 s on a busy machine).
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from celltrial.cdisc import SdtmStudy, read_sdtm_study, read_xpt
from celltrial.cdisc.adam_out import to_adam
from celltrial.cdisc.export import write_tables
from celltrial.cdisc.sdtm_out import to_sdtm
from celltrial.dataset import derive_adae, derive_adsl, derive_adtte
from celltrial.stats import kaplan_meier, logrank
from reference._load import CLOSED_FORM_RTOL, load_json

PILOT = Path(
    os.environ.get(
        "CELLTRIAL_CDISC_PILOT", Path(__file__).resolve().parents[3] / "shared" / "cdisc-pilot"
    )
)
HAVE_PILOT = (PILOT / "sdtm" / "dm.xpt").exists()
#: Arm labels of the official ADaM (TRT01P / TRTA) by our arm id.
ARMS = {"placebo": "Placebo", "xan_low": "Xanomeline Low Dose", "xan_high": "Xanomeline High Dose"}
#: The one participant whose TTDE differs, by a documented rule (docs/cdisc.md): died on
#: 2013-08-02; the pilot censors at RFENDT 2013-08-03 (AVAL 13), celltrial at death (AVAL 12).
DIED_BEFORE_RFENDT = "01-710-1083"


@pytest.fixture(scope="module")
def study() -> SdtmStudy:
    if not HAVE_PILOT:
        pytest.skip("the CDISC pilot data are not here (../shared/cdisc-pilot)")
    return read_sdtm_study(PILOT / "sdtm", "cdiscpilot01")


@pytest.fixture(scope="module")
def pilot(study: SdtmStudy) -> dict[str, pd.DataFrame]:
    assert study.dataset.ok, study.summary()
    adsl = derive_adsl(study.dataset, study.protocol)
    return {
        "adsl": adsl,
        "adae": derive_adae(study.dataset, study.protocol, adsl=adsl),
        "adtte": derive_adtte(study.dataset, study.protocol, adsl=adsl),
        "o_adsl": read_xpt(PILOT / "adam" / "adsl.xpt")[0],
        "o_adae": read_xpt(PILOT / "adam" / "adae.xpt")[0],
        "o_adtte": read_xpt(PILOT / "adam" / "adtte.xpt")[0],
        "summary": pd.DataFrame({"text": [study.summary()]}),
    }


def test_the_summary_names_what_was_left_out(pilot: dict[str, pd.DataFrame]) -> None:
    text = pilot["summary"]["text"].iloc[0]
    assert text.splitlines()[0].endswith("rules:")
    assert "define.xml is Define-XML metadata" in text
    assert "accepted by the mapping" in text  # the pilot's 33 AESER = N rows with a criterion
    assert len(text.splitlines()) < 80


def test_population_flags_and_counts_by_arm(pilot: dict[str, pd.DataFrame]) -> None:
    ours, official = pilot["adsl"], pilot["o_adsl"]
    assert len(ours) == len(official) == 254  # the 52 screen failures are in SL, not ADSL
    for flag in ("ITTFL", "SAFFL"):
        mine = (
            ours.assign(A=ours["ARMCD"].map(ARMS))
            .groupby("A")[flag]
            .apply(lambda s: int((s == "Y").sum()))
        )
        theirs = official.groupby("TRT01P")[flag].apply(lambda s: int((s == "Y").sum()))
        assert mine.to_dict() == theirs.to_dict()
    assert ours.groupby("ARMCD")["ITTFL"].size().to_dict() == {
        "placebo": 86,
        "xan_high": 84,
        "xan_low": 84,
    }
    both = ours.merge(official, on="USUBJID", suffixes=("", "_o"))
    assert len(both) == 254
    assert (both["ITTFL"] == both["ITTFL_o"]).all()
    assert (both["SAFFL"] == both["SAFFL_o"]).all()
    assert (both["ARMCD"].map(ARMS) == both["TRT01P_o"]).all()


def test_treatment_emergent_flags(pilot: dict[str, pd.DataFrame]) -> None:
    key = ["USUBJID", "AESEQ"]
    ours = pilot["adae"][[*key, "TRTEMFL"]].astype({"AESEQ": "float64"})
    theirs = pilot["o_adae"][[*key, "TRTEMFL"]]
    both = ours.merge(theirs, on=key, suffixes=("", "_o"))
    assert len(both) == len(theirs) == 1191
    official = both["TRTEMFL_o"].fillna("N")
    assert (both["TRTEMFL"] == official).all()
    assert int((both["TRTEMFL"] == "Y").sum()) == 1126


def _ttde(pilot: dict[str, pd.DataFrame]) -> pd.DataFrame:
    ours = pilot["adtte"]
    ours = ours[ours["PARAMCD"] == "ttde"]
    return ours.merge(pilot["o_adtte"], on="USUBJID", suffixes=("", "_o"))


def test_ttde_every_subjects_aval_and_cnsr(pilot: dict[str, pd.DataFrame]) -> None:
    both = _ttde(pilot)
    assert len(both) == 254
    assert (both["CNSR"] == both["CNSR_o"]).all()
    differ = both.loc[both["AVAL"] != both["AVAL_o"], ["USUBJID", "AVAL", "AVAL_o"]]
    assert differ["USUBJID"].tolist() == [DIED_BEFORE_RFENDT]
    assert differ[["AVAL", "AVAL_o"]].iloc[0].tolist() == [12.0, 13.0]
    events = both[both["CNSR"] == 0]
    assert len(events) == 152
    # an event's ADT is the official ADT (study day counted from 1, no day 0)
    adt = events["ADTM"].dt.strftime("%Y-%m-%d")
    assert (adt == events["ADT"].astype(str)).all()


def _surv_at(times: np.ndarray, est: np.ndarray, at: list[float]) -> np.ndarray:
    idx = np.searchsorted(times, np.asarray(at, dtype=float), side="right") - 1
    return np.where(idx >= 0, est[np.clip(idx, 0, None)], 1.0)


@pytest.mark.parametrize("official_rule", [False, True])
def test_km_and_logrank_against_r(pilot: dict[str, pd.DataFrame], official_rule: bool) -> None:
    """With the pilot's own rule for the one death (official_rule), every number equals R's to
    1e-10; with celltrial's rule (censored at death) the placebo curve moves after day 12."""
    ref = load_json("cdisc_pilot", "ttde")
    both = _ttde(pilot).copy()
    if official_rule:
        both.loc[both["USUBJID"] == DIED_BEFORE_RFENDT, "AVAL"] = 13.0
    group = both["ARMCD"].map({"placebo": 0, "xan_high": 1, "xan_low": 2}).to_numpy()
    time = both["AVAL"].to_numpy(dtype=float)
    event = (both["CNSR"] == 0).to_numpy()
    for arm, label in ARMS.items():
        sel = (both["ARMCD"] == arm).to_numpy()
        km = kaplan_meier(time[sel], event[sel])
        r = ref["arms"][label]
        ours = _surv_at(km.time, km.estimate, r["time"])
        if official_rule or arm != "placebo":
            np.testing.assert_allclose(ours, r["surv"], rtol=CLOSED_FORM_RTOL)
            np.testing.assert_allclose(
                _surv_at(km.time, km.estimate, r["at"]["times"]),
                r["at"]["surv"],
                rtol=CLOSED_FORM_RTOL,
            )
        else:
            assert np.max(np.abs(ours - np.asarray(r["surv"]))) < 0.01
    lr = logrank(time, event, group)
    if official_rule:
        assert lr.statistic == pytest.approx(ref["logrank"]["chisq"], rel=CLOSED_FORM_RTOL)
        assert lr.p_value == pytest.approx(ref["logrank"]["p_value"], rel=1e-8)
    else:
        assert lr.p_value == pytest.approx(ref["logrank"]["p_value"], rel=0.05)


@pytest.mark.skipif(not HAVE_PILOT, reason="the CDISC pilot data are not here")
def test_cdisc_load_command(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from celltrial.cli import app

    r = CliRunner().invoke(
        app,
        ["cdisc", "load", str(PILOT / "sdtm"), "--mapping", "cdiscpilot01", "--out", str(tmp_path)],
    )
    assert r.exit_code == 0, r.output
    assert "Xanomeline High Dose" in r.output and "ttde: 152 events in 254 rows" in r.output
    assert (tmp_path / "adam" / "adtte.xpt").exists() and (tmp_path / "dataset" / "dm.csv").exists()
    r = CliRunner().invoke(app, ["cdisc", "load", str(PILOT / "sdtm"), "--mapping", "nosuch"])
    assert r.exit_code == 2 and "no mapping 'nosuch'" in r.output


def test_dermatologic_events_are_the_official_cq01(
    study: SdtmStudy, pilot: dict[str, pd.DataFrame]
) -> None:
    """The mapping's event rule gives exactly the AEs the official ADAE flags CQ01NAM."""
    ce = study.dataset.table("CE")
    official = pilot["o_adae"]
    cq01 = official[official["CQ01NAM"] == "DERMATOLOGIC EVENTS"]
    assert len(ce) == len(cq01) == 493
    mine = sorted(zip(ce["USUBJID"], ce["CESTDTC"].astype(str), strict=True))
    ae = study.source["AE"].set_index(["USUBJID", "AESEQ"])["AESTDTC"]
    theirs = sorted(
        (u, str(ae[(u, q)])) for u, q in zip(cq01["USUBJID"], cq01["AESEQ"], strict=True)
    )
    assert mine == theirs


def test_the_pilot_written_back_as_sdtm_and_adam(
    study: SdtmStudy, pilot: dict[str, pd.DataFrame], tmp_path: Path
) -> None:
    sdtm = to_sdtm(study.dataset, study.protocol)
    assert sdtm.study == "CDISCPILOT01"
    ex = sdtm.tables["EX"]
    assert set(ex["EXROUTE"]) == {"TRANSDERMAL"} and set(ex["EXDOSU"]) == {"mg"}
    assert set(ex["EXDOSFRM"]) == {"PATCH"}
    ae = sdtm.tables["AE"]
    assert (ae["AESTDTC"].str.len() < 10).sum() == 26  # partial dates as collected
    adam = to_adam(study.dataset, study.protocol, sdtm=sdtm)
    tte = adam.tables["ADTTE"].merge(pilot["o_adtte"], on="USUBJID", suffixes=("", "_o"))
    assert (tte["PARAMCD"] == "TTDE").all() and (tte["CNSR"] == tte["CNSR_o"]).all()
    assert int((tte["AVAL"] != tte["AVAL_o"]).sum()) == 1
    write_tables(sdtm, tmp_path / "sdtm", study=sdtm.study)
    write_tables(adam, tmp_path / "adam", study=sdtm.study, standard="ADaMIG", version="1.3")
    back = read_xpt(tmp_path / "adam" / "adtte.xpt")[0]
    assert back["AVAL"].tolist() == adam.tables["ADTTE"]["AVAL"].tolist()


def test_km_and_logrank_on_the_official_adtte_without_the_pilot_folder() -> None:
    """celltrial.stats on the official ADTTE as R read it (adtte_official.csv, written by
    ttde.R): every KM step and the log-rank test equal R's; runs where the pilot is absent."""
    ref = load_json("cdisc_pilot", "ttde")
    csv = Path(__file__).resolve().parents[1] / "reference" / "cdisc_pilot" / "adtte_official.csv"
    t = pd.read_csv(csv)
    time = t["AVAL"].to_numpy(dtype=float)
    event = (t["CNSR"] == 0).to_numpy()
    for label in ARMS.values():
        sel = (t["TRTA"] == label).to_numpy()
        km = kaplan_meier(time[sel], event[sel])
        r = ref["arms"][label]
        np.testing.assert_allclose(
            _surv_at(km.time, km.estimate, r["time"]), r["surv"], rtol=CLOSED_FORM_RTOL
        )
    lr = logrank(time, event, t["TRTA"].to_numpy())
    assert lr.statistic == pytest.approx(ref["logrank"]["chisq"], rel=CLOSED_FORM_RTOL)
    assert lr.p_value == pytest.approx(ref["logrank"]["p_value"], rel=1e-8)


def test_the_pilots_onsets_before_consent_are_accepted_warnings(study: SdtmStudy) -> None:
    """The pilot's AEs and dermatologic events dated before its consent date (DMDTC: the pilot
    has no RFICDTC) or before the first dose are pre-treatment records SDTM keeps; the mapping
    accepts them, so they are warnings (listed in the report), and the study is analysed."""
    from collections import Counter

    from celltrial.dataset import check_dataset, errors

    fit = check_dataset(study.dataset, study.protocol)
    assert errors(fit) == []
    rules = Counter(
        (p.domain, p.message.split("[rule ")[1].split("]")[0]) for p in fit if "[rule " in p.message
    )
    assert rules == {
        ("AE", "after_consent"): 28,
        ("CE", "after_consent"): 4,
        ("CE", "event_after_rand"): 17,
    }
    assert all(
        p.message.endswith("(accepted by the mapping)") for p in fit if "[rule " in p.message
    )
