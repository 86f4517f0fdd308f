"""Broken copies of each seed protocol get the expected message at the expected line.

The expected line is found in the broken text itself (where the edit was made), so the test
does not depend on the loader to say where the problem is.
"""

from __future__ import annotations

import pytest

from celltrial.protocol import ProtocolError, library_text, parse_protocol


def _break(pid: str, old: str, new: str) -> tuple[str, int]:
    text = library_text(pid)
    assert old in text, f"{old!r} not in {pid}"
    index = text.index(old)
    line = text[:index].count("\n") + 1 + old[: len(old) - len(old.lstrip("\n"))].count("\n")
    return text.replace(old, new, 1), line


def _problems(text: str, pid: str) -> list[str]:
    with pytest.raises(ProtocolError) as info:
        parse_protocol(text, file=f"{pid}.yaml")
    return [str(p) for p in info.value.problems]


WRONG_UNIT = {
    "lanzoni2021": "unit: cells\n",
    "rebelatto2022": "unit: cells/kg\n",
    "fathikazerooni2022": "unit: mL\n",
    "shi2021": "unit: cells\n",
    "meng2020": "unit: cells\n",
}


@pytest.mark.parametrize("pid", sorted(WRONG_UNIT))
def test_wrong_unit(pid: str) -> None:
    text, line = _break(pid, WRONG_UNIT[pid], "unit: cell/kg\n")
    problems = _problems(text, pid)
    assert problems == [
        f"{pid}.yaml:{line} arms[0].dose.unit: 'cell/kg' is not a known unit "
        "(did you mean 'cells/kg'?); dose units are cells/kg, cells, mL, mL/kg, mg, mg/kg"
    ]


UNKNOWN_MEASUREMENT = {
    "lanzoni2021": ("measurement: il6\n", 6),
    "rebelatto2022": ("measurement: ferritin\n", 1),
    "fathikazerooni2022": ("measurement: crp\n", 3),
    "shi2021": ("measurement: lesion_volume_pct\n", 0),
    "meng2020": ("measurement: igm\n", 2),
}


@pytest.mark.parametrize("pid", sorted(UNKNOWN_MEASUREMENT))
def test_unknown_measurement(pid: str) -> None:
    old, endpoint_index = UNKNOWN_MEASUREMENT[pid]
    text, line = _break(pid, old, "measurement: tumour_size\n")
    assert _problems(text, pid) == [
        f"{pid}.yaml:{line} endpoints[{endpoint_index}].measurement: "
        "'tumour_size' is not a measurement in the catalogue"
    ]


OVERLAP = {  # (old, new, visit index, visit id, previous visit id)
    "lanzoni2021": ("at: 6d, window: [-12h, 12h]", "at: 6d, window: [-3d, 12h]", 3, "day6", "day3"),
    "rebelatto2022": (
        "at: 122d, window: [-7d, 7d]",
        "at: 122d, window: [-70d, 7d]",
        4,
        "month4",
        "month2",
    ),
    "fathikazerooni2022": (
        "at: 4d, window: [-6h, 6h]",
        "at: 4d, window: [-4d, 6h]",
        2,
        "day5",
        "day1",
    ),
    "shi2021": (
        "at: 183d, window: [-14d, 14d]",
        "at: 183d, window: [-100d, 14d]",
        4,
        "month6",
        "month3",
    ),
    "meng2020": ("at: 6d, window: [-6h, 6h]", "at: 6d, window: [-3d, 6h]", 2, "day6", "day3"),
}


@pytest.mark.parametrize("pid", sorted(OVERLAP))
def test_overlapping_windows(pid: str) -> None:
    old, new, index, visit, previous = OVERLAP[pid]
    text, line = _break(pid, old, new)
    assert _problems(text, pid) == [
        f"{pid}.yaml:{line} schedule.visits[{index}].window: "
        f"the window of visit {visit!r} overlaps the window of visit {previous!r}"
    ]


BAD_RATIO = {  # (old, new, expected message)
    "lanzoni2021": (
        "ratio: {ucmsc: 1, control: 1}",
        "ratio: {ucmsc: 1, control: 0}",
        "every part of the ratio must be a positive integer, got [1, 0]",
    ),
    "rebelatto2022": (
        "ratio: unknown ",
        "ratio: '2:1:1' ",
        "'2:1:1' has 3 parts but the protocol has 2 arms",
    ),
    "fathikazerooni2022": (
        'ratio: "1:1"',
        'ratio: "1:x"',
        "'1:x' is not a ratio such as '1:1' or '2:1'",
    ),
    "shi2021": (
        "ratio: {ucmsc: 2, placebo: 1}",
        "ratio: {ucmsc: 2, plaecbo: 1}",
        "names arms ['plaecbo', 'ucmsc'] but the arms are ['placebo', 'ucmsc']",
    ),
    "meng2020": (
        "ratio: unknown ",
        "ratio: '1:1:1' ",
        "'1:1:1' has 3 parts but the protocol has 2 arms",
    ),
}


@pytest.mark.parametrize("pid", sorted(BAD_RATIO))
def test_bad_ratio(pid: str) -> None:
    old, new, message = BAD_RATIO[pid]
    text, line = _break(pid, old, new)
    assert _problems(text, pid) == [f"{pid}.yaml:{line} design.allocation.ratio: {message}"]


def test_every_problem_is_reported_at_once() -> None:
    text, unit_line = _break("lanzoni2021", "unit: cells\n", "unit: cell/kg\n")
    text = text.replace("  blinding: double", "  blinded: double", 1)
    problems = _problems(text, "lanzoni2021")
    assert len(problems) == 3
    assert any(
        "design.blinded: 'blinded' is not a field here (did you mean 'blinding'?)" in p
        for p in problems
    )
    assert any("design.blinding: required, but missing" in p for p in problems)
    assert any(p.startswith(f"lanzoni2021.yaml:{unit_line} arms[0].dose.unit") for p in problems)


def test_block_size_must_fit_the_ratio() -> None:
    text, line = _break("shi2021", "block_sizes: unknown", "block_sizes: [3, 4]")
    assert _problems(text, "shi2021") == [
        f"shi2021.yaml:{line} design.allocation.block_sizes[1]: "
        "block size 4 is not a multiple of the ratio's sum 3"
    ]


def test_non_integer_ratio_part() -> None:
    text, line = _break(
        "shi2021", "ratio: {ucmsc: 2, placebo: 1}", "ratio: {ucmsc: 2, placebo: 1.5}"
    )
    (problem,) = _problems(text, "shi2021")
    assert problem.startswith(f"shi2021.yaml:{line} design.allocation.ratio.placebo: 1.5: ")
    assert "valid integer" in problem


def test_dose_unit_must_fit_the_product() -> None:
    text, line = _break("fathikazerooni2022", "unit: mL\n", "unit: cells\n")
    assert _problems(text, "fathikazerooni2022") == [
        f"fathikazerooni2022.yaml:{line} arms[0].dose.unit: 'cells' does not fit a secretome product; use mL or mL/kg"
    ]


def test_strata_must_match_the_catalogue() -> None:
    text, line = _break(
        "lanzoni2021", "levels: [mild_moderate, moderate_severe]", "levels: [mild, severe]"
    )
    problems = _problems(text, "lanzoni2021")
    assert problems[0] == (
        f"lanzoni2021.yaml:{line} design.allocation.strata[0].levels[0]: "
        "'mild' is not a level of measurement 'ards_severity' (mild_moderate, moderate_severe)"
    )
    assert len(problems) == 2


def test_visits_out_of_order() -> None:
    text, line = _break("meng2020", "at: 6d, window: [-6h, 6h]", "at: 2d, window: [-6h, 6h]")
    assert _problems(text, "meng2020") == [
        f"meng2020.yaml:{line} schedule.visits[2].at: visit 'day6' is not after visit 'day3'; list visits in time order"
    ]


def test_endpoint_method_must_fit_its_type() -> None:
    text, line = _break("meng2020", "analysis: [fisher_exact]", "analysis: [logrank]")
    assert _problems(text, "meng2020") == [
        f"meng2020.yaml:{line} endpoints[1].analysis[0]: 'logrank' does not analyse a binary endpoint"
    ]


def test_yaml_syntax_error_has_a_line() -> None:
    text, line = _break("meng2020", "  blinding: open", "  blinding: [open")
    (problem,) = _problems(text, "meng2020")
    # PyYAML notices the unclosed bracket on the next line
    assert problem.startswith(f"meng2020.yaml:{line + 1}: not valid YAML")


def test_duplicate_key_is_reported() -> None:
    text, line = _break("meng2020", "  blinding: open", "  blinding: open\n  blinding: double")
    problems = _problems(text, "meng2020")
    assert (
        f"meng2020.yaml:{line + 1} design.blinding: this key appears twice in the same mapping"
        in problems
    )


def test_not_a_mapping() -> None:
    assert _problems("- a\n- b\n", "x") == ["x.yaml:1: a protocol file is a YAML mapping"]


def test_unknown_protocol_id_suggests() -> None:
    from celltrial.protocol import load_protocol

    with pytest.raises(FileNotFoundError, match=r"did you mean 'lanzoni2021'"):
        load_protocol("lanzoni2020")


def test_death_as_event_must_be_among_the_events() -> None:
    text, line = _break("lanzoni2021", "    events: [sae, death]\n", "    events: [sae]\n")
    # the endpoint's censoring line follows three lines below its events line
    problems = _problems(text, "lanzoni2021")
    assert len(problems) == 1
    assert problems[0].startswith(
        f"lanzoni2021.yaml:{line + 3} endpoints[2].censoring.death: 'event' counts a death"
    )


def test_double_blind_arms_on_different_schedules_are_refused() -> None:
    """Issue 16, item 4: rebelatto2022 is double-blind; a placebo given twice where the cells
    are given three times would show blinded staff who is on which arm ("Infusion #3"). The
    protocol is refused unless it declares the double-dummy that hides the difference."""
    pid = "rebelatto2022"
    old = "      every: 48h\n      count: 3\n\nmeasurements:"
    text, _ = _break(pid, old, "      every: 48h\n      count: 2\n\nmeasurements:")
    problems = _problems(text, pid)
    assert len(problems) == 1 and "arms[1].administrations" in problems[0]
    assert "double-blind" in problems[0] and "double_dummy" in problems[0]
    declared = text.replace("  blinding: double", "  double_dummy: true\n  blinding: double", 1)
    assert parse_protocol(declared, file=f"{pid}.yaml").design.double_dummy is True
    # An open-label copy may differ: nobody is blinded.
    assert parse_protocol(text.replace("blinding: double", "blinding: open", 1), file="x.yaml")


def test_double_blind_arms_in_different_volumes_are_refused() -> None:
    """A 5 mL secretome against a 10 mL placebo shows in the syringe."""
    pid = "fathikazerooni2022"
    text = library_text(pid)
    i = text.index("placebo", text.index("arms:"))
    changed = text[:i] + text[i:].replace("amount: 5 ", "amount: 10 ", 1)
    assert changed != text
    problems = _problems(changed, pid)
    assert len(problems) == 1 and "arms[1].dose" in problems[0] and "volume" in problems[0]


def test_event_count_without_horizon_needs_one_when_follow_up_is_unknown() -> None:
    """Issue 18: Meng's follow-up is unknown (to discharge); an 'event by the horizon'
    endpoint without a horizon of its own had an infinite horizon (OverflowError in the
    report) while `protocol validate` said ok. Now validation names the endpoint."""
    text, _ = _break("meng2020", "    horizon: 50d\n", "")
    problems = _problems(text, "meng2020")
    assert len(problems) == 1
    assert problems[0].startswith("meng2020.yaml:")
    assert "endpoints[1].horizon: endpoint 'mechanical_ventilation'" in problems[0]
    assert "follow_up is unknown" in problems[0]


def test_event_count_without_horizon_is_fine_with_a_follow_up() -> None:
    text, _ = _break("meng2020", "    horizon: 50d\n", "")
    text = text.replace("follow_up: unknown", "follow_up: 28d")
    assert parse_protocol(text, file="meng2020.yaml").endpoints[1].horizon is None


@pytest.mark.parametrize("pid", sorted(OVERLAP))
def test_type_error_and_cross_field_problem_in_one_pass(pid: str) -> None:
    """A wrong unit (a type error) does not hide an overlapping window (a cross-field rule):
    both are reported at once, each at its line (the README's example)."""
    old, new, index, visit, previous = OVERLAP[pid]
    text, window_line = _break(pid, old, new)
    assert WRONG_UNIT[pid] in text
    unit_line = text[: text.index(WRONG_UNIT[pid])].count("\n") + 1
    text = text.replace(WRONG_UNIT[pid], "unit: cell/kg\n", 1)
    assert _problems(text, pid) == [
        f"{pid}.yaml:{unit_line} arms[0].dose.unit: 'cell/kg' is not a known unit "
        "(did you mean 'cells/kg'?); dose units are cells/kg, cells, mL, mL/kg, mg, mg/kg",
        f"{pid}.yaml:{window_line} schedule.visits[{index}].window: "
        f"the window of visit {visit!r} overlaps the window of visit {previous!r}",
    ]


def test_a_check_reading_a_broken_part_is_skipped() -> None:
    """A check that would read the part with a type error is not run on a guess: a wrong unit
    in arm 0 reports the unit only (no rule about arm 0's dose is judged)."""
    text, _ = _break("lanzoni2021", WRONG_UNIT["lanzoni2021"], "unit: 12\n")
    problems = _problems(text, "lanzoni2021")
    assert len(problems) == 1 and "arms[0].dose.unit" in problems[0]


def test_the_readme_example_is_what_the_loader_says() -> None:
    """README.md shows the messages for lanzoni2021 with a wrong unit and an overlapping
    window; they are what the loader reports, in one pass."""
    from pathlib import Path

    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
    shown = readme.split("gets one message per problem:\n\n```text\n", 1)[1].split("```")[0]
    old, new = OVERLAP["lanzoni2021"][:2]
    text, _ = _break("lanzoni2021", old, new)
    text = text.replace(WRONG_UNIT["lanzoni2021"], "unit: cell/kg\n", 1)
    assert _problems(text, "lanzoni2021") == shown.strip().splitlines()


def test_yaml_bombs_are_refused_quickly() -> None:
    """Issue 16: nested aliases ("billion laughs", 10^9 values from a few hundred bytes), deep
    nesting and a huge file are refused before they are expanded: the refusal's peak memory is
    a few MB (the expanded bomb took 4.7 GB). Measured in memory, not time, so it cannot flake."""
    import tracemalloc

    lol = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for i in range(1, 10):
        prev = chr(ord("a") + i - 1)
        cur = chr(ord("a") + i)
        lol.append(f"{cur}: &{cur} [{', '.join(['*' + prev] * 9)}]")
    cases = {
        "\n".join(lol) + "\n": "aliases",
        "x: " + "[" * 200 + "]" * 200 + "\n": "deeper",
        "x: " + "[" * 1000 + "]" * 1000 + "\n": "deeper",
        "x: " + "y" * 1_000_001 + "\n": "characters",
    }
    for text, words in cases.items():
        tracemalloc.start()
        try:
            with pytest.raises(ProtocolError) as info:
                parse_protocol(text, file="bomb.yaml")
            peak = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
        assert peak < 100_000_000, (words, peak)  # expanded, the aliases alone are 10^9 values
        assert words in str(info.value.problems[0]), info.value.problems
    # A library protocol (anchors or not) is untouched by the limits.
    assert parse_protocol(library_text("lanzoni2021"), file="lanzoni2021.yaml")
