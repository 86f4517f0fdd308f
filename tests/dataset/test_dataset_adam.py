"""ADSL, ADAE and ADLB on the hand-built dataset (see data/lanzoni_small/README.md)."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from celltrial.dataset import (
    Dataset,
    DatasetError,
    derive_adae,
    derive_adlb,
    derive_adsl,
    window_problems,
    worst_grades,
)
from celltrial.protocol import Protocol


@pytest.fixture(scope="module")
def adsl(small: Dataset, lanzoni: Protocol) -> pd.DataFrame:
    return derive_adsl(small, lanzoni).set_index("USUBJID")


def test_adsl_one_row_per_participant(adsl: pd.DataFrame) -> None:
    assert len(adsl) == 16 and adsl.index.is_unique
    assert (adsl["ITTFL"] == "Y").all()


def test_adsl_arms_as_randomized_and_as_treated(adsl: pd.DataFrame) -> None:
    assert adsl.loc["L-010", "TRT01P"] == "Control (vehicle)"  # randomized to control ...
    assert adsl.loc["L-010", "TRT01A"] == "UC-MSC"  # ... given UC-MSC by mistake
    assert adsl.loc["L-008", "ACTARMCD"] == "NOTTRT"
    assert adsl.loc["L-001", "STRAT_ARDS_SEVERITY"] == "mild_moderate"


def test_adsl_populations(adsl: pd.DataFrame) -> None:
    # Safety: every participant but L-008 (never infused).
    assert list(adsl.index[adsl["SAFFL"] == "N"]) == ["L-008"]
    # Per protocol: not L-008 (no dose), L-009 (1 of 2 doses), L-010 (wrong product),
    # L-011 (dose deviation), L-013 (MAJOR deviation). L-015's deviation is MINOR.
    assert sorted(adsl.index[adsl["PPROTFL"] == "N"]) == [
        "L-008",
        "L-009",
        "L-010",
        "L-011",
        "L-013",
    ]
    assert adsl.loc["L-009", "NDOSE"] == 1 and adsl.loc["L-009", "NDOSEPL"] == 2


def test_adsl_dates_and_disposition(adsl: pd.DataFrame) -> None:
    assert adsl.loc["L-001", "RANDDTM"] == pd.Timestamp("2020-05-01T10:00Z")
    assert adsl.loc["L-001", "TRTSDTM"] == pd.Timestamp("2020-05-01T14:00Z")
    assert adsl.loc["L-001", "TRTEDTM"] == pd.Timestamp("2020-05-04T15:00Z")  # end of infusion 2
    assert pd.isna(adsl.loc["L-008", "TRTSDTM"])
    assert adsl.loc["L-004", "DTHFL"] == "Y"
    assert adsl.loc["L-004", "DTHDTM"] == pd.Timestamp("2020-05-13T14:00Z")  # F + 216 h
    assert adsl.loc["L-001", "EOSSTT"] == "COMPLETED"
    assert (adsl.loc["L-006", "EOSSTT"], adsl.loc["L-006", "DCSREAS"]) == (
        "DISCONTINUED",
        "LOST TO FOLLOW-UP",
    )
    # L-005 withdrew at F + 290 h = 2020-05-05T14:00Z + 12 d 2 h; nothing later is recorded.
    assert adsl.loc["L-005", "LSTCNDTM"] == pd.Timestamp("2020-05-17T16:00Z")


def test_adsl_baselines(adsl: pd.DataFrame) -> None:
    # Day-0 cytokines (the baseline visit), screening values for what day 0 does not measure.
    assert adsl.loc["L-003", "BL_IL6"] == 120.0
    assert adsl.loc["L-003", "BL_TNFA"] == 41.0
    assert adsl.loc["L-003", "BL_WEIGHT"] == 63.0  # 60 + 3, at screening
    assert adsl.loc["L-003", "BL_PAO2_FIO2"] == 115.0  # 100 + 5 × 3
    # L-008's day-0 samples were taken 3 h after the planned first infusion (never given):
    # outside the day-0 window [-12 h, 0 h], so no baseline.
    assert math.isnan(adsl.loc["L-008", "BL_IL6"])


@pytest.fixture(scope="module")
def adae(small: Dataset, lanzoni: Protocol) -> pd.DataFrame:
    return derive_adae(small, lanzoni)


def test_adae_infusion_windows(adae: pd.DataFrame) -> None:
    a = adae.set_index("AETERM")
    # Chills 3 h after infusion 1: inside the 6 h and the 24 h windows.
    assert a.loc["Chills", ["WIN_INFUSION_ASSOCIATED", "WIN_CARDIAC_ARREST_DEATH"]].tolist() == [
        "Y",
        "Y",
    ]
    assert (a.loc["Chills", "ADMNUM"], a.loc["Chills", "HRSLAST"]) == (1, 3.0)
    # Hypotension 2 h after infusion 2 (74 h).
    assert (a.loc["Hypotension", "ADMNUM"], a.loc["Hypotension", "HRSLAST"]) == (2, 2.0)
    assert a.loc["Hypotension", "WIN_INFUSION_ASSOCIATED"] == "Y"
    # Cardiac arrest 8 h after infusion 2: the 24 h window only.
    assert a.loc["Cardiac arrest", "WIN_INFUSION_ASSOCIATED"] == "N"
    assert a.loc["Cardiac arrest", "WIN_CARDIAC_ARREST_DEATH"] == "Y"
    # Headache 30 h after infusion 1 (42 h before infusion 2): in neither.
    assert a.loc["Headache", ["WIN_INFUSION_ASSOCIATED", "WIN_CARDIAC_ARREST_DEATH"]].tolist() == [
        "N",
        "N",
    ]
    assert a.loc["Headache", "ASTDY"] == 1.25  # 30 h


def test_adae_emergence_and_worst_grade(
    adae: pd.DataFrame, small: Dataset, lanzoni: Protocol
) -> None:
    assert (adae["TRTEMFL"] == "Y").all()
    l010 = adae[adae["USUBJID"] == "L-010"].set_index("AETERM")
    assert (l010["WORSTGR"] == 5).all()
    assert l010.loc["Septic shock", "WORSTFL"] == "Y"
    assert l010.loc["Acute kidney injury", "WORSTFL"] is None
    w = worst_grades(adae, derive_adsl(small, lanzoni)).set_index("USUBJID")["WORSTGR"]
    assert w.to_dict() == {
        "L-001": 1, "L-002": 4, "L-003": 3, "L-004": 5, "L-005": 0, "L-006": 0, "L-007": 0,
        "L-008": 0, "L-009": 0, "L-010": 5, "L-011": 0, "L-012": 5, "L-013": 0, "L-014": 5,
        "L-015": 2, "L-016": 5,
    }  # fmt: skip


def test_adae_onset_before_first_dose_is_not_emergent(small: Dataset, lanzoni: Protocol) -> None:
    ae = small.table("AE").copy()
    ae.loc[0, "AESTDTC"] = "2020-05-01T12:00Z"  # L-001, 2 h before the first infusion
    ds = Dataset(tables={**small.tables, "AE": ae})
    a = derive_adae(ds, lanzoni)
    assert a.loc[0, "TRTEMFL"] == "N"
    assert pd.isna(a.loc[0, "ADMNUM"])
    assert a.loc[0, "WIN_INFUSION_ASSOCIATED"] == "N"


@pytest.fixture(scope="module")
def adlb(small: Dataset, lanzoni: Protocol) -> pd.DataFrame:
    return derive_adlb(small, lanzoni)


def test_adlb_change_from_day0_to_day6(adlb: pd.DataFrame) -> None:
    il6 = adlb[(adlb["PARAMCD"] == "IL6") & (adlb["AVISIT"] == "day6")].set_index("USUBJID")
    # L-001: IL-6 80 at day 0, 20 at day 6 -> CHG -60, PCHG -75 %.
    assert il6.loc["L-001", ["BASE", "AVAL", "CHG", "PCHG"]].tolist() == [80.0, 20.0, -60.0, -75.0]
    # L-004: 95 -> 150: +55, +57.89 %.
    assert il6.loc["L-004", "CHG"] == 55.0
    assert il6.loc["L-004", "PCHG"] == pytest.approx(100 * 55 / 95)
    assert il6.loc["L-001", "AWTDIFF"] == 1.0  # taken at F + 145 h, nominal F + 144 h
    assert (il6["ANL01FL"] == "Y").all()


def test_adlb_out_of_window_is_kept_and_reported(adlb: pd.DataFrame) -> None:
    l009 = adlb[(adlb["USUBJID"] == "L-009") & (adlb["VISIT"] == "day6")]
    assert len(l009) == 2  # IL6 and TNFA, kept
    assert l009["AVISIT"].isna().all() and (l009["AWOUTFL"] == "Y").all()
    assert l009["ANL01FL"].isna().all()
    out = [str(p) for p in window_problems(adlb)]
    assert out[2] == (
        "LB row 42 (USUBJID L-009): warning: IL6 at 2020-05-17T14:00Z (day 8.0 after the first "
        "administration, collected as day6) is outside every visit window; it has no analysis visit"
    )
    assert len(out) == 4  # L-009's two day-6 samples, L-008's two day-0 samples


def test_adlb_not_done_is_kept_without_value(adlb: pd.DataFrame) -> None:
    row = adlb[
        (adlb["USUBJID"] == "L-005") & (adlb["PARAMCD"] == "TNFA") & (adlb["VISIT"] == "day6")
    ]
    assert row["STAT"].tolist() == ["NOT DONE"]
    assert row["AVAL"].isna().all() and row["CHG"].isna().all()
    assert row["ANL01FL"].isna().all()


def test_adlb_baseline_flags(adlb: pd.DataFrame) -> None:
    base = adlb[adlb["ABLFL"] == "Y"]
    # one baseline per participant and parameter; L-008 has none for IL6/TNFA (out of window)
    assert not base.duplicated(["USUBJID", "PARAMCD"]).any()
    assert len(base) == 16 * 3 - 2
    assert set(base["AVISIT"]) == {"screening", "day0"}


def test_advs_from_the_same_derivation(small: Dataset, lanzoni: Protocol) -> None:
    advs = derive_adlb(small, lanzoni, domains=("VS",))
    assert set(advs["PARAMCD"]) == {"WEIGHT", "OXYSAT", "RESP"}
    assert (advs["ABLFL"] == "Y").all() and (advs["CHG"] == 0).all()


def test_derivations_survive_a_spoiled_dataset(
    raw: dict[str, pd.DataFrame], lanzoni: Protocol
) -> None:
    from celltrial.dataset import derive_adtte, make_dataset

    raw["DM"].loc[1, "USUBJID"] = "L-001"  # listed twice
    raw["DM"].loc[7, "RANDDTC"] = "soon"  # L-008 (never dosed): unreadable randomization
    raw["AE"].loc[0, "AESTDTC"] = ""  # missing onset
    raw["EX"].loc[0, "EXSTDTC"] = "2020-13-01"
    raw["LB"] = raw["LB"].drop(columns=["VISIT"])
    raw["CE"].loc[0, "USUBJID"] = "L-099"  # not in DM
    ds = make_dataset(raw)
    assert not ds.ok
    with pytest.raises(DatasetError):  # the API does not derive after failed checks ...
        derive_adsl(ds, lanzoni)
    adsl = derive_adsl(ds, lanzoni, checked=False)  # ... unless asked to
    assert len(adsl) == 15  # the duplicate row is reported at load and used once
    adtte = derive_adtte(ds, lanzoni, adsl=adsl)
    assert len(adtte) == 15 * 3
    l008 = adtte[adtte["USUBJID"] == "L-008"]
    assert l008["AVAL"].isna().all()  # no time origin: reported, not invented
    assert l008["EVNTDESC"].str.startswith("No time origin").all()
    adae = derive_adae(ds, lanzoni, adsl=adsl)
    assert len(adae) == len(raw["AE"])
    assert adae.loc[0, "WIN_INFUSION_ASSOCIATED"] is None  # unknown onset: no flag
    assert len(derive_adlb(ds, lanzoni, adsl=adsl)) == len(raw["LB"])
