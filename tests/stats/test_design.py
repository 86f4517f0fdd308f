"""Trial design against rpact 3.3.4.

Reference values: tests/reference/rpact/rpact.json, written by rpact.R in the same folder.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from celltrial.stats.design import (
    power_survival,
    sample_size_means,
    sample_size_proportions,
    sample_size_survival,
)
from celltrial.stats.sequential import crossing_probabilities, group_sequential_design

R: dict[str, Any] = json.loads(
    (Path(__file__).parents[1] / "reference" / "rpact" / "rpact.json").read_text()
)

#: closed forms
CLOSED = 1e-10
#: iterative / numerically integrated (root finding, recursive integration)
ITER = 1e-6
#: rpact solves the t-test sample size equation with tolerance 1e-4 in n2
RPACT_T_ROOT = 1e-4


def close(actual: Any, expected: Any, rtol: float) -> None:
    np.testing.assert_allclose(np.asarray(actual, float), np.asarray(expected, float), rtol=rtol)


@pytest.mark.parametrize("key", sorted(R["group_sequential"]))
def test_group_sequential(key: str) -> None:
    r = R["group_sequential"][key]
    d = group_sequential_design(
        r["kMax"],
        alpha=r["alpha"],
        beta=r["beta"],
        design=r["type"],
        information_rates=r["informationRates"],
    )
    close(d.critical_values, r["criticalValues"], ITER)
    close(d.alpha_spent, r["alphaSpent"], ITER)
    close(d.stage_levels, r["stageLevels"], ITER)
    close(d.shift, r["shift"], ITER)
    close(d.inflation_factor, r["inflationFactor"], ITER)
    close(d.rejection_probabilities, r["rejectionProbabilities"], ITER)
    close(d.power, r["power"], ITER)
    close(d.expected_n_h0, r["ASN_H0"], ITER)
    close(d.expected_n_h01, r["ASN_H01"], ITER)
    close(d.expected_n_h1, r["ASN_H1"], ITER)


def test_single_stage_is_the_fixed_design() -> None:
    d = group_sequential_design(1, alpha=0.025)
    assert d.critical_values[0] == pytest.approx(1.959963984540054, rel=1e-9)
    assert d.inflation_factor == pytest.approx(1.0, rel=1e-9)
    p = crossing_probabilities([np.inf, 1.96], [0.5, 1.0])
    assert p[0] == 0.0
    assert p[1] == pytest.approx(0.0249979, rel=1e-5)


@pytest.mark.parametrize("i", range(3))
def test_sample_size_rates(i: int) -> None:
    r = R["rates"][i]
    s = sample_size_proportions(r["pi1"], r["pi2"], allocation_ratio=r["ratio"])
    close([s.n, s.n1, s.n2], [r["nFixed"], r["nFixed1"], r["nFixed2"]], CLOSED)


@pytest.mark.parametrize("i", range(4))
def test_sample_size_means(i: int) -> None:
    r = R["means"][i]
    s = sample_size_means(
        r["alternative"], r["stDev"], allocation_ratio=r["ratio"], normal_approximation=r["normal"]
    )
    tol = CLOSED if r["normal"] else RPACT_T_ROOT
    close([s.n, s.n1, s.n2], [r["nFixed"], r["nFixed1"], r["nFixed2"]], tol)


@pytest.mark.parametrize("i", range(4))
def test_sample_size_survival(i: int) -> None:
    r = R["survival"][i]
    s = sample_size_survival(
        r["hazardRatio"],
        lambda2=r["lambda2"],
        accrual_time=r["accrualTime"],
        follow_up_time=r["followUpTime"],
        allocation_ratio=r["ratio"],
        method=r["method"].lower(),
    )
    close(s.events, r["eventsFixed"], CLOSED)
    close([s.n, s.n1, s.n2], [r["nFixed"], r["nFixed1"], r["nFixed2"]], CLOSED)


def test_power_survival() -> None:
    r = R["power_survival"]
    got = [power_survival(hr, r["maxNumberOfEvents"]).power for hr in r["hazardRatio"]]
    close(got, r["overallReject"], CLOSED)


def test_bad_input() -> None:
    with pytest.raises(ValueError, match="alpha"):
        sample_size_proportions(0.5, 0.3, alpha=0.7)
    with pytest.raises(ValueError, match="p1"):
        sample_size_proportions(1.2, 0.3)
    with pytest.raises(ValueError, match="hazard_ratio"):
        sample_size_survival(1.0, lambda2=0.1, accrual_time=12, follow_up_time=12)
    with pytest.raises(ValueError, match="information_rates"):
        group_sequential_design(3, information_rates=[0.5, 0.4, 1.0])
    with pytest.raises(ValueError, match="design"):
        group_sequential_design(2, design="XX")  # type: ignore[arg-type]
