"""The five seed trials as protocols: every one validates, and the values that matter match
the sources (expected values are read off shared/seeds by hand, quoted beside each assert)."""

from __future__ import annotations

from pathlib import Path

import pytest

from celltrial.protocol import is_unknown, library_ids, load_protocol

SEED_IDS = ["fathikazerooni2022", "lanzoni2021", "meng2020", "rebelatto2022", "shi2021"]
EXAMPLE = Path(__file__).parents[2] / "docs" / "examples" / "mytrial2027.yaml"


def test_library_holds_the_five_seed_trials() -> None:
    assert library_ids() == SEED_IDS


@pytest.mark.parametrize("pid", SEED_IDS)
def test_seed_protocol_validates(pid: str) -> None:
    p = load_protocol(pid)
    assert p.id == pid
    assert p.sources and p.sources[0].seed, "each seed protocol names its seed file"


def test_lanzoni_design_matches_the_abstract() -> None:
    p = load_protocol("lanzoni2021")
    # "randomized 1:1 ... stratification by ARDS severity ... double-blind"
    assert p.design.assignment == "randomized"
    assert p.design.blinding == "double"
    assert p.ratio() == {"ucmsc": 1, "control": 1}
    assert [s.factor for s in p.design.allocation.strata] == ["ards_severity"]
    assert is_unknown(p.design.allocation, "block_sizes")
    # "two intravenous infusions (at day 0 and 3) of 100 ± 20 × 10^6 UC-MSCs"
    arm = p.arm("ucmsc")
    assert arm.dose is not None and arm.dose.amount == 100e6 and arm.dose.tolerance == 20e6
    assert arm.dose.unit == "cells"
    assert arm.administrations is not None and arm.administrations.offsets_hours() == [0, 72]
    # "within 6 hours; cardiac arrest or death within 24 hours postinfusion"
    assert [w.duration for w in p.safety.windows] == [6, 24]
    # time to recovery: deaths censored at the end of observation, kept in the risk set
    assert p.endpoint("time_to_recovery").censoring is not None
    assert p.endpoint("time_to_recovery").censoring.death == "censor_at_horizon"  # type: ignore[union-attr]
    assert p.endpoint("survival_d31").horizon == 31 * 24


def test_rebelatto_unknowns_stay_unknown() -> None:
    p = load_protocol("rebelatto2022")
    assert p.ratio() is None and is_unknown(p.design.allocation, "ratio")
    assert p.design.allocation.method is None and is_unknown(p.design.allocation, "method")
    assert is_unknown(p.arm("placebo"), "dose")
    assert is_unknown(p, "follow_up")
    # "three doses of 5 × 10^5 cells/kg UC-MSCs, with a dosing interval of 48 h"
    dose = p.arm("ucmsc").dose
    assert dose is not None and dose.amount == 5e5 and dose.per_kg
    plan = p.arm("ucmsc").administrations
    assert plan is not None and plan.offsets_hours() == [0, 48, 96]


def test_fathikazerooni_eligibility_rules() -> None:
    p = load_protocol("fathikazerooni2022")
    assert p.ratio() == {"secretome": 1, "placebo": 1}
    base = {
        "rt_pcr_positive": True,
        "resp_rate": 32,
        "spo2": 88,
        "pao2_fio2": 250,
        "ct_involvement": 60,
        "age": 50,
        "crcl": 80,
        "child_pugh": 6,
        **{
            c: False
            for c in (
                "drug_allergy",
                "other_pneumonia",
                "airway_obstruction",
                "carcinoid",
                "epilepsy",
                "immunosuppressants",
                "home_oxygen",
                "dialysis",
                "dvt_pe",
                "ecmo_hfov",
            )
        },
    }
    assert p.eligibility(base).eligible is True
    # SpO2 of 92 % breaks "resting SpO2 <= 90 %"; age 80 breaks 25-75
    result = p.eligibility({**base, "spo2": 92, "age": 80})
    assert result.eligible is False and set(result.failed) == {"spo2", "age"}
    # an exclusion answered yes excludes
    assert p.eligibility({**base, "dialysis": True}).failed == ("dialysis",)
    # boundaries are inclusive where the source says <= / between
    assert p.eligibility({**base, "spo2": 90, "age": 25, "pao2_fio2": 300}).eligible is True
    # RR > 30 is strict
    assert p.eligibility({**base, "resp_rate": 30}).failed == ("resp_rate",)
    # an unanswered criterion leaves eligibility open, never silently true
    partial = {k: v for k, v in base.items() if k != "crcl"}
    assert p.eligibility(partial).eligible is None
    assert p.eligibility(partial).missing == ("crcl",)


def test_shi_is_two_to_one_with_three_doses() -> None:
    p = load_protocol("shi2021")
    assert p.ratio() == {"ucmsc": 2, "placebo": 1}
    dose = p.arm("ucmsc").dose
    assert dose is not None and dose.amount == 4e7
    assert p.arm("ucmsc").administrations.days == [0, 3, 6]  # type: ignore[union-attr]
    assert p.design.centres == 2
    assert p.population.eligibility is None and is_unknown(p.population, "eligibility")
    primary = [e.id for e in p.endpoints if e.primary]
    assert primary == ["lesion_change_d28"], "the pre-specified primary is day 28, not day 10"


def test_meng_is_not_randomized() -> None:
    p = load_protocol("meng2020")
    assert p.design.assignment == "non_randomized"
    assert p.design.allocation.method == "investigator"  # an assumption, commented
    assert p.design.blinding == "open"
    control = p.arm("control")
    assert control.product.kind == "standard_care" and control.dose is None
    assert p.arm("ucmsc").dose.amount == 3e7  # type: ignore[union-attr]


def test_a_sixth_trial_needs_no_code() -> None:
    p = load_protocol(EXAMPLE)
    assert p.id == "mytrial2027"
    assert p.design.allocation.method == "minimization"
    release = p.arm("msc").product.release
    assert release is not None and [r.id for r in release][:2] == ["viable_cells", "viability"]
    assert release[1].holds(75) and not release[1].holds(65)
    assert release[2].holds("negative") and not release[2].holds("positive")
    assert p.arm("msc").dose.amount == 2e6  # type: ignore[union-attr]  # "2 x 10^6"
