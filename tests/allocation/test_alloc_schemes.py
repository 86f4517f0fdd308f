"""Schemes: exact balance at every block end, bad input, and the protocol's allocation section."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from celltrial.allocation import (
    AllocationError,
    Factor,
    Ratio,
    check_block_sizes,
    parse_ratio,
    permuted_blocks,
    scheme_from_protocol,
    simple_randomization,
    strata_cells,
    stratified_blocks,
    stratum_of,
)
from celltrial.protocol import load_protocol

RATIOS = [{"a": 1, "b": 1}, {"a": 2, "b": 1}, {"a": 3, "b": 2}, {"a": 1, "b": 1, "c": 2}]


def _assert_balanced_at_block_ends(
    arms: tuple[str, ...], ends: tuple[int, ...], ratio: dict[str, int]
) -> None:
    total = sum(ratio.values())
    for end in ends:
        head = arms[:end]
        for arm, w in ratio.items():
            # At a block end, arm j has exactly end * w_j / W participants.
            assert head.count(arm) * total == end * w, (end, arm)


@pytest.mark.parametrize("ratio", RATIOS)
@pytest.mark.parametrize("mixed", [False, True])
def test_block_schemes_balanced_at_every_block_end_over_many_seeds(
    ratio: dict[str, int], mixed: bool
) -> None:
    w = sum(ratio.values())
    sizes = [w, 2 * w, 3 * w] if mixed else [2 * w]
    for seed in range(300):
        seq = permuted_blocks(37, ratio=ratio, block_sizes=sizes, rng=np.random.default_rng(seed))
        assert len(seq) >= 37
        assert sum(seq.block_sizes) == len(seq)  # whole blocks only
        assert all(b in sizes for b in seq.block_sizes)
        _assert_balanced_at_block_ends(seq.arms, seq.block_ends(), ratio)


def test_mixed_block_sizes_are_really_mixed_and_orders_vary() -> None:
    seq = permuted_blocks(
        400, ratio={"a": 1, "b": 1}, block_sizes=[4, 6], rng=np.random.default_rng(3)
    )
    assert set(seq.block_sizes) == {4, 6}
    firsts = {
        seq.arms[e - 4 : e]
        for e, b in zip(seq.block_ends(), seq.block_sizes, strict=True)
        if b == 4
    }
    assert len(firsts) == 6  # all C(4, 2) orders of a 4-block appear


def test_block_orders_are_uniform() -> None:
    # Each of the 6 orders of a 1:1 block of 4 should appear with probability 1/6.
    seq = permuted_blocks(
        24_000, ratio={"a": 1, "b": 1}, block_sizes=[4], rng=np.random.default_rng(11)
    )
    blocks = [seq.arms[i : i + 4] for i in range(0, len(seq), 4)]
    counts = np.array([blocks.count(o) for o in sorted(set(blocks))])
    from scipy.stats import chisquare

    assert len(counts) == 6
    assert chisquare(counts).pvalue > 0.001


def test_stratified_blocks_balanced_per_stratum() -> None:
    cells = strata_cells([Factor("ards", ("mild", "severe")), Factor("sex", ("f", "m"))])
    assert cells == ("ards=mild;sex=f", "ards=mild;sex=m", "ards=severe;sex=f", "ards=severe;sex=m")
    for seed in range(50):
        lists = stratified_blocks(
            10,
            strata=cells,
            ratio={"a": 2, "b": 1},
            block_sizes=[3, 6],
            rng=np.random.default_rng(seed),
        )
        assert list(lists) == list(cells)
        for seq in lists.values():
            _assert_balanced_at_block_ends(seq.arms, seq.block_ends(), {"a": 2, "b": 1})


def test_simple_randomization_proportions() -> None:
    seq = simple_randomization(60_000, ratio={"a": 2, "b": 1}, rng=np.random.default_rng(5))
    share = seq.arms.count("a") / len(seq)
    se = (2 / 3 * 1 / 3 / len(seq)) ** 0.5
    assert abs(share - 2 / 3) < 4 * se
    assert seq.block_sizes == ()


def test_same_seed_same_sequence() -> None:
    one = permuted_blocks(
        50, ratio={"a": 1, "b": 1}, block_sizes=[2, 4], rng=np.random.default_rng(9)
    )
    two = permuted_blocks(
        50, ratio={"a": 1, "b": 1}, block_sizes=[2, 4], rng=np.random.default_rng(9)
    )
    assert one == two


@given(
    w1=st.integers(1, 5), w2=st.integers(1, 5), mult=st.integers(1, 4), seed=st.integers(0, 2**32)
)
@settings(max_examples=60, deadline=None)
def test_property_any_integer_ratio_balances(w1: int, w2: int, mult: int, seed: int) -> None:
    ratio = Ratio(("a", "b"), (w1, w2))
    size = ratio.total * mult
    seq = permuted_blocks(
        3 * size, ratio=ratio, block_sizes=[size], rng=np.random.default_rng(seed)
    )
    _assert_balanced_at_block_ends(seq.arms, seq.block_ends(), ratio.as_dict())


# ---------------------------------------------------------------------------------------------
# Bad input: a clear AllocationError (a ValueError) naming the field and the rule
# ---------------------------------------------------------------------------------------------


def test_ratio_that_no_block_size_fits() -> None:
    with pytest.raises(
        AllocationError,
        match=r"ratio 3:2 fits none of the block sizes \[4, 6\].*multiple of the ratio sum 5",
    ):
        permuted_blocks(
            10, ratio={"a": 3, "b": 2}, block_sizes=[4, 6], rng=np.random.default_rng(0)
        )


def test_block_size_not_a_multiple_of_ratio_sum() -> None:
    with pytest.raises(
        AllocationError, match=r"block_sizes\[1\] = 4 is not a multiple of the ratio sum 3"
    ):
        check_block_sizes([6, 4], Ratio(("a", "b"), (2, 1)))
    assert issubclass(AllocationError, ValueError)


def test_bad_ratio_and_strata_values() -> None:
    with pytest.raises(AllocationError, match="weight of arm 'b' must be a positive integer"):
        Ratio(("a", "b"), (1, 0))
    with pytest.raises(AllocationError, match="--ratio: '2:x'"):
        parse_ratio("2:x", ["a", "b"])
    assert parse_ratio("4:2", ["a", "b"]).weights == (2, 1)  # reduced
    with pytest.raises(AllocationError, match="two or more distinct levels"):
        Factor("sex", ("f",))


def test_missing_or_unknown_stratum_of_a_participant() -> None:
    factors = [Factor("ards", ("mild", "severe"))]
    assert stratum_of({"ards": "mild"}, factors) == "ards=mild"
    with pytest.raises(AllocationError, match="P-007: no value for stratification factor 'ards'"):
        stratum_of({}, factors, participant="P-007")
    with pytest.raises(AllocationError, match="'moderate' is not a level"):
        stratum_of({"ards": "moderate"}, factors, participant="P-007")


# ---------------------------------------------------------------------------------------------
# The protocol's allocation section
# ---------------------------------------------------------------------------------------------


def test_lanzoni_needs_block_sizes_and_names_the_field() -> None:
    p = load_protocol("lanzoni2021")
    with pytest.raises(
        AllocationError,
        match=r"lanzoni2021: design\.allocation\.block_sizes is unknown; give them with --block-sizes",
    ):
        scheme_from_protocol(p)
    s = scheme_from_protocol(p, block_sizes=[2, 4])
    assert s.method == "stratified_blocks"
    assert s.ratio.as_dict() == {"ucmsc": 1, "control": 1}
    assert s.factors == (Factor("ards_severity", ("mild_moderate", "moderate_severe")),)


def test_unknown_method_and_ratio_are_not_invented() -> None:
    with pytest.raises(
        AllocationError, match=r"design\.allocation\.method is unknown; choose one with --method"
    ):
        scheme_from_protocol(load_protocol("shi2021"))
    shi = scheme_from_protocol(
        load_protocol("shi2021"), method="permuted_blocks", block_sizes=[3, 6]
    )
    assert shi.ratio.as_dict() == {"ucmsc": 2, "placebo": 1}
    with pytest.raises(
        AllocationError, match=r"design\.allocation\.ratio is unknown; give one with --ratio"
    ):
        scheme_from_protocol(load_protocol("rebelatto2022"), method="simple")
    reb = scheme_from_protocol(load_protocol("rebelatto2022"), method="simple", ratio="2:1")
    assert reb.ratio.weights == (2, 1)
    with pytest.raises(AllocationError, match="not randomized"):
        scheme_from_protocol(load_protocol("meng2020"), method="simple", ratio="1:1")
    with pytest.raises(AllocationError, match=r"--block-sizes: ratio 2:1 fits none"):
        scheme_from_protocol(load_protocol("shi2021"), method="permuted_blocks", block_sizes=[4])
