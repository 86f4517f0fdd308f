"""Amounts, durations and units as protocols write them."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from celltrial.protocol.units import (
    check_dose_unit,
    check_ucum,
    format_count,
    format_duration,
    parse_count,
    parse_duration,
)


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("100e6", 1e8),
        ("1.0e8", 1e8),
        ("100 x 10^6", 1e8),
        ("5 × 10^5", 5e5),
        ("3 x 10(7)", None),
        ("4*10**7", 4e7),
        (30, 30.0),
        (2.5, 2.5),
    ],
)
def test_parse_count(text: object, value: float | None) -> None:
    if value is None:
        with pytest.raises(ValueError, match="is not an amount"):
            parse_count(text)
    else:
        assert parse_count(text) == value


@pytest.mark.parametrize("bad", [True, "-5", "lots", None, float("inf")])
def test_parse_count_refuses(bad: object) -> None:
    with pytest.raises(ValueError):
        parse_count(bad)


@pytest.mark.parametrize(
    ("text", "hours"),
    [("6h", 6), ("3d", 72), ("2w", 336), ("-12h", -12), ("+24h", 24), (5, 5), ("1.5d", 36)],
)
def test_parse_duration(text: object, hours: int) -> None:
    assert parse_duration(text) == hours


@pytest.mark.parametrize("bad", ["6 hours", "3", "0.5h", True, 1.5])
def test_parse_duration_refuses(bad: object) -> None:
    with pytest.raises(ValueError):
        parse_duration(bad)


@given(st.integers(min_value=-10_000, max_value=10_000))
def test_duration_round_trip(hours: int) -> None:
    text = format_duration(hours)
    total = sum(
        parse_duration(("-" if text.startswith("-") else "") + part.lstrip("-"))
        for part in text.split()
    )
    assert total == hours


def test_format_count() -> None:
    assert format_count(3.5e7) == "3.5 × 10^7"
    assert format_count(1e8) == "1 × 10^8"
    assert format_count(50) == "50"
    assert format_count(9.9996e7) == "1 × 10^8"


def test_unit_suggestions() -> None:
    with pytest.raises(ValueError, match=r"did you mean 'cells/kg'"):
        check_dose_unit("cell/kg")
    with pytest.raises(ValueError, match=r"did you mean 'mL'"):
        check_dose_unit("ml")
    with pytest.raises(ValueError, match=r"did you mean 'mm\[Hg\]'"):
        check_ucum("mmHg")
    assert check_ucum("pg/mL") == "pg/mL"
