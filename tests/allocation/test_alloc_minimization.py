"""Pocock–Simon minimization against a hand-worked example, and replay of the decision log."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from celltrial.allocation import (
    AllocationError,
    Decision,
    Factor,
    MinimizationDesign,
    Minimizer,
    Ratio,
    decisions_from_jsonl,
    decisions_to_jsonl,
    replay,
)
from celltrial.allocation.minimization import imbalance_of

SEX = Factor("sex", ("M", "F"))
AGE = Factor("age", ("young", "old"))
DESIGN = MinimizationDesign(Ratio(("A", "B"), (1, 1)), (SEX, AGE), imbalance="range", p_best=0.8)

# Hand-worked example: 2 arms A, B (1:1); factors sex (M/F) and age (young/old), weight 1 each;
# range measure; biased coin p_best = 0.8. n[f, l, j] counts earlier participants at level l
# of factor f in arm j. For candidate arm k, add 1 to arm k at the participant's levels, take
# the range per factor, sum over factors: G_k. Arm with the smaller G gets 0.8, the other 0.2;
# a tie gives 0.5 / 0.5. The arm is A when u < p_A, else B.
WORKED = [
    # participant, factors, u, G, probabilities, arm
    # 1. M, young. All counts 0.
    #    G_A: sex M (1,0) range 1 + age young (1,0) range 1 = 2; G_B likewise = 2. Tie -> .5/.5.
    #    u = 0.30 < 0.5 -> A.
    ("p1", {"sex": "M", "age": "young"}, 0.30, (2.0, 2.0), (0.5, 0.5), "A"),
    # 2. F, young. Counts: F (A0,B0), young (A1,B0).
    #    G_A: F (1,0) -> 1, young (2,0) -> 2; G_A = 3.  G_B: F (0,1) -> 1, young (1,1) -> 0; G_B = 1.
    #    B is best -> p = (0.2, 0.8). u = 0.10 < 0.2 -> A (the coin picks the worse arm).
    ("p2", {"sex": "F", "age": "young"}, 0.10, (3.0, 1.0), (0.2, 0.8), "A"),
    # 3. M, old. Counts: M (A1,B0), old (A0,B0).
    #    G_A: M (2,0) -> 2, old (1,0) -> 1; G_A = 3.  G_B: M (1,1) -> 0, old (0,1) -> 1; G_B = 1.
    #    p = (0.2, 0.8); u = 0.50 >= 0.2 -> B.
    ("p3", {"sex": "M", "age": "old"}, 0.50, (3.0, 1.0), (0.2, 0.8), "B"),
    # 4. F, old. Counts: F (A1,B0), old (A0,B1).
    #    G_A: F (2,0) -> 2, old (1,1) -> 0; G_A = 2.  G_B: F (1,1) -> 0, old (0,2) -> 2; G_B = 2.
    #    Tie -> (0.5, 0.5); u = 0.70 -> B.
    ("p4", {"sex": "F", "age": "old"}, 0.70, (2.0, 2.0), (0.5, 0.5), "B"),
    # 5. M, young. Counts: M (A1,B1), young (A2,B0).
    #    G_A: M (2,1) -> 1, young (3,0) -> 3; G_A = 4.  G_B: M (1,2) -> 1, young (2,1) -> 1; G_B = 2.
    #    p = (0.2, 0.8); u = 0.95 -> B.
    ("p5", {"sex": "M", "age": "young"}, 0.95, (4.0, 2.0), (0.2, 0.8), "B"),
    # 6. F, young. Counts: F (A1,B1), young (A2,B1).
    #    G_A: F (2,1) -> 1, young (3,1) -> 2; G_A = 3.  G_B: F (1,2) -> 1, young (2,2) -> 0; G_B = 1.
    #    p = (0.2, 0.8); u = 0.15 -> A.
    ("p6", {"sex": "F", "age": "young"}, 0.15, (3.0, 1.0), (0.2, 0.8), "A"),
]


def test_matches_hand_worked_example_step_by_step() -> None:
    m = Minimizer(DESIGN)
    for participant, factors, u, scores, probs, arm in WORKED:
        d = m.decide(participant, factors, u=u)
        assert d.scores == pytest.approx(scores, abs=1e-12), participant
        assert d.probabilities == pytest.approx(probs, abs=1e-12), participant
        assert d.arm == arm, participant
        assert d.u == u
    # Final counts: A = p1, p2, p6; B = p3, p4, p5.
    assert m.counts() == {
        "sex": {"M": {"A": 1, "B": 2}, "F": {"A": 2, "B": 1}},
        "age": {"young": {"A": 3, "B": 1}, "old": {"A": 0, "B": 2}},
    }


def test_factor_weights() -> None:
    # Same step 2 as above with weights sex 2, age 1: G_A = 2*1 + 1*2 = 4, G_B = 2*1 + 1*0 = 2.
    design = dataclasses.replace(DESIGN, weights=(2.0, 1.0))
    m = Minimizer(design)
    m.decide("p1", {"sex": "M", "age": "young"}, u=0.3)
    d = m.decide("p2", {"sex": "F", "age": "young"}, u=0.9)
    assert d.scores == pytest.approx((4.0, 2.0))
    assert d.arm == "B"


def test_imbalance_measures_three_arms() -> None:
    x = np.array([3.0, 1.0, 2.0])
    assert imbalance_of(x, "range") == pytest.approx(2.0)  # 3 - 1
    assert imbalance_of(x, "variance") == pytest.approx(2.0 / 3.0)  # ((1)^2 + (-1)^2 + 0) / 3
    assert imbalance_of(x, "sum_abs") == pytest.approx(4.0)  # |3-1| + |3-2| + |1-2|


def test_unequal_ratio_counts_are_scaled_by_weight() -> None:
    # 2:1, one factor. After A, A, B at level x, counts/weights = (2/2, 1/1) = balanced.
    design = MinimizationDesign(Ratio(("A", "B"), (2, 1)), (Factor("f", ("x", "y")),), p_best=0.9)
    m = Minimizer(design)
    first = m.decide("p1", {"f": "x"}, u=0.5)
    # Candidate A: (1/2, 0) range 0.5; candidate B: (0, 1) range 1 -> A best: p = (0.9, 0.1).
    assert first.scores == pytest.approx((0.5, 1.0))
    assert first.probabilities == pytest.approx((0.9, 0.1))
    m.decide("p2", {"f": "x"}, u=0.0)  # A
    third = m.decide("p3", {"f": "x"}, u=0.95)
    # Counts A2 B0. Candidate A: (3/2, 0) -> 1.5; candidate B: (1, 1) -> 0. B best: p = (0.1, 0.9).
    assert third.scores == pytest.approx((1.5, 0.0))
    assert third.arm == "B"


def test_all_tied_uses_target_proportions() -> None:
    # 3 arms 1:1:1, nobody allocated: each candidate gives counts with range 1 -> all tie, so
    # p = (1/3, 1/3, 1/3); u = 0.5 falls in [1/3, 2/3) -> B.
    three = MinimizationDesign(Ratio(("A", "B", "C"), (1, 1, 1)), (Factor("f", ("x", "y")),))
    d = Minimizer(three).decide("p1", {"f": "x"}, u=0.5)
    assert d.probabilities == pytest.approx((1 / 3, 1 / 3, 1 / 3))
    assert d.arm == "B"
    # 2:1 with the variance measure: candidate A gives (1/2, 0), variance 1/16; candidate B
    # gives (0, 1), variance 1/4 -> A best, p = (0.8, 0.2); u = 0.5 -> A.
    two = MinimizationDesign(
        Ratio(("A", "B"), (2, 1)), (Factor("f", ("x", "y")),), imbalance="variance"
    )
    first = Minimizer(two).decide("p1", {"f": "x"}, u=0.5)
    assert first.scores == pytest.approx((1 / 16, 1 / 4))
    assert first.probabilities == pytest.approx((0.8, 0.2))
    assert first.arm == "A"


def test_replay_rederives_every_decision_and_finds_the_first_mismatch() -> None:
    rng = np.random.default_rng(2024)
    m = Minimizer(DESIGN)
    for i in range(40):
        m.assign(f"p{i}", {"sex": "MF"[i % 2], "age": ("young", "old")[(i // 3) % 2]}, rng=rng)
    log = m.decisions
    report = replay(DESIGN, log)
    assert report.ok and report.checked == 40 and report.first_mismatch is None

    # Round trip through JSON lines.
    assert decisions_from_jsonl(decisions_to_jsonl(log)) == log

    # Changed arm at decision 17.
    bad = list(log)
    other = "A" if bad[16].arm == "B" else "B"
    bad[16] = dataclasses.replace(bad[16], arm=other)
    report = replay(DESIGN, bad)
    assert not report.ok and report.first_mismatch == 17 and report.checked == 16
    assert f"log says arm {other}" in report.message

    # Changed factor value at decision 5: the scores no longer match.
    bad = list(log)
    flipped = {"sex": "F" if bad[4].factors["sex"] == "M" else "M", "age": bad[4].factors["age"]}
    bad[4] = dataclasses.replace(bad[4], factors=flipped)
    report = replay(DESIGN, bad)
    assert not report.ok and report.first_mismatch is not None and report.first_mismatch <= 5 + 1

    # A removed decision.
    report = replay(DESIGN, log[:3] + log[4:])
    assert not report.ok and report.first_mismatch == 5 and "out of sequence" in report.message


def test_replay_detects_a_changed_uniform_draw() -> None:
    m = Minimizer(DESIGN)
    for participant, factors, u, *_ in WORKED:
        m.decide(participant, factors, u=u)
    bad = list(m.decisions)
    bad[1] = dataclasses.replace(bad[1], u=0.5)  # step 2: u = 0.5 would give B, log says A
    report = replay(DESIGN, bad)
    assert report.first_mismatch == 2
    assert "u = 0.5" in report.message and "gives B" in report.message


def test_missing_factor_allocates_nothing_and_draws_nothing() -> None:
    m = Minimizer(DESIGN)
    rng = np.random.default_rng(1)
    state = rng.bit_generator.state
    with pytest.raises(
        AllocationError, match="participant p1: no value for stratification factor 'age'"
    ):
        m.assign("p1", {"sex": "M"}, rng=rng)
    assert m.decisions == () and rng.bit_generator.state == state
    m.assign("p1", {"sex": "M", "age": "old"}, rng=rng)
    with pytest.raises(AllocationError, match="already allocated"):
        m.assign("p1", {"sex": "M", "age": "old"}, rng=rng)
    with pytest.raises(AllocationError, match="malformed entry"):
        Decision.from_dict({"index": 1})


def test_bad_design() -> None:
    with pytest.raises(AllocationError, match="p_best"):
        MinimizationDesign(Ratio(("A", "B"), (1, 1)), (SEX,), p_best=0.4)
    with pytest.raises(AllocationError, match="at least one factor"):
        MinimizationDesign(Ratio(("A", "B"), (1, 1)), ())
