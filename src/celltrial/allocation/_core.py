"""Shared pieces of ``celltrial.allocation``: the error type, ratios, strata and the scheme spec.

A :class:`Scheme` is the allocation section of a protocol made concrete: every field that the
protocol leaves ``unknown`` and that a scheme needs must be given by the caller, otherwise
:func:`scheme_from_protocol` raises :class:`AllocationError` naming the protocol field. Nothing
is silently invented.
"""

from __future__ import annotations

import dataclasses
import itertools
import math
import re
from collections.abc import Mapping, Sequence
from typing import Literal

import numpy as np

from celltrial.protocol import Protocol, is_unknown

Method = Literal["simple", "permuted_blocks", "stratified_blocks", "minimization"]
Imbalance = Literal["range", "variance", "sum_abs"]
METHODS: tuple[Method, ...] = ("simple", "permuted_blocks", "stratified_blocks", "minimization")
IMBALANCES: tuple[Imbalance, ...] = ("range", "variance", "sum_abs")

_SAFE = re.compile(r"^[A-Za-z0-9_.:+=;-]+$")


class AllocationError(ValueError):
    """A user mistake in allocation: the message names the field or row and the rule broken.

    Raised before anything is allocated, so no partial list or state is left behind.
    """


# --------------------------------------------------------------------------------------------
# Ratio
# --------------------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Ratio:
    """An integer allocation ratio: ``arms[j]`` gets ``weights[j]`` of every ``total``.

    Weights are reduced by their greatest common divisor (4:2 is 2:1).
    """

    arms: tuple[str, ...]
    weights: tuple[int, ...]

    def __post_init__(self) -> None:
        if len(self.arms) < 2:
            raise AllocationError(f"ratio: needs at least two arms, got {list(self.arms)}")
        if len(set(self.arms)) != len(self.arms):
            raise AllocationError(f"ratio: arm ids must be distinct, got {list(self.arms)}")
        if len(self.weights) != len(self.arms):
            raise AllocationError("ratio: one weight per arm")
        for arm, w in zip(self.arms, self.weights, strict=True):
            if isinstance(w, bool) or not isinstance(w, int) or w < 1:
                raise AllocationError(
                    f"ratio: weight of arm {arm!r} must be a positive integer, got {w!r}"
                )
            if not _SAFE.match(arm):
                raise AllocationError(
                    f"ratio: arm id {arm!r} may use only letters, digits and _.:+=;-"
                )
        g = math.gcd(*self.weights)
        if g > 1:
            object.__setattr__(self, "weights", tuple(w // g for w in self.weights))

    @property
    def total(self) -> int:
        """Sum of the weights, the smallest balanced block."""
        return sum(self.weights)

    @property
    def k(self) -> int:
        """Number of arms."""
        return len(self.arms)

    def probabilities(self) -> np.ndarray:
        """Target proportions ``w_j / W``."""
        return np.asarray(self.weights, dtype=float) / self.total

    def text(self) -> str:
        """The ratio as ``1:1`` (arm order)."""
        return ":".join(str(w) for w in self.weights)

    def as_dict(self) -> dict[str, int]:
        return dict(zip(self.arms, self.weights, strict=True))


def make_ratio(ratio: Mapping[str, int] | Ratio) -> Ratio:
    """A :class:`Ratio` from ``{arm id: weight}``."""
    if isinstance(ratio, Ratio):
        return ratio
    return Ratio(tuple(ratio), tuple(ratio.values()))


def parse_ratio(text: str, arms: Sequence[str]) -> Ratio:
    """Parse ``"2:1"`` for the given arms (in protocol order)."""
    parts = text.split(":")
    if len(parts) != len(arms) or not all(p.strip().isdigit() for p in parts):
        raise AllocationError(
            f"--ratio: {text!r} must be {len(arms)} positive integers joined by ':' "
            f"(one per arm: {', '.join(arms)}), e.g. {':'.join('1' for _ in arms)}"
        )
    return Ratio(tuple(arms), tuple(int(p) for p in parts))


def check_block_sizes(
    block_sizes: Sequence[int], ratio: Ratio, *, field: str = "block_sizes"
) -> tuple[int, ...]:
    """Validate block sizes against a ratio: each one a positive multiple of ``ratio.total``.

    Raises
    ------
    AllocationError
        When the list is empty, when no block size fits the ratio, or when one size is not a
        multiple of the ratio sum (a block must hold every arm in its exact proportion).
    """
    sizes = tuple(block_sizes)
    if not sizes:
        raise AllocationError(f"{field}: give at least one block size")
    for s in sizes:
        if isinstance(s, bool) or not isinstance(s, (int, np.integer)) or s < 1:
            raise AllocationError(f"{field}: block sizes are positive integers, got {s!r}")
    bad = [s for s in sizes if s % ratio.total]
    if len(bad) == len(sizes):
        raise AllocationError(
            f"{field}: ratio {ratio.text()} fits none of the block sizes {list(sizes)}; "
            f"a block must be a multiple of the ratio sum {ratio.total}"
        )
    if bad:
        i = sizes.index(bad[0])
        raise AllocationError(
            f"{field}[{i}] = {bad[0]} is not a multiple of the ratio sum {ratio.total} "
            f"(ratio {ratio.text()}): a block must hold every arm in its exact proportion"
        )
    return tuple(int(s) for s in sizes)


# --------------------------------------------------------------------------------------------
# Strata
# --------------------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Factor:
    """A stratification (or minimization) factor and its levels."""

    name: str
    levels: tuple[str, ...]

    def __post_init__(self) -> None:
        if len(self.levels) < 2 or len(set(self.levels)) != len(self.levels):
            raise AllocationError(f"strata: factor {self.name!r} needs two or more distinct levels")
        for value in (self.name, *self.levels):
            if not _SAFE.match(value) or "=" in value or ";" in value:
                raise AllocationError(
                    f"strata: {value!r} may use only letters, digits and _.:+- (factor {self.name!r})"
                )


def stratum_label(values: Mapping[str, str], factors: Sequence[Factor]) -> str:
    """The stratum of a participant as ``factor=level;factor=level`` (``all`` with no factors)."""
    if not factors:
        return "all"
    return ";".join(f"{f.name}={values[f.name]}" for f in factors)


def strata_cells(factors: Sequence[Factor]) -> tuple[str, ...]:
    """Every stratum label, in the order of the cartesian product of the factors' levels."""
    if not factors:
        return ("all",)
    combos = itertools.product(*(f.levels for f in factors))
    return tuple(
        stratum_label(dict(zip([f.name for f in factors], c, strict=True)), factors) for c in combos
    )


def check_factor_values(
    values: Mapping[str, str], factors: Sequence[Factor], *, participant: str = "participant"
) -> dict[str, str]:
    """The participant's level of every factor; a missing or unknown level is an error."""
    out: dict[str, str] = {}
    for f in factors:
        if f.name not in values or values[f.name] in (None, ""):
            raise AllocationError(
                f"{participant}: no value for stratification factor {f.name!r} "
                f"(levels: {', '.join(f.levels)}); every participant needs one before allocation"
            )
        level = str(values[f.name])
        if level not in f.levels:
            raise AllocationError(
                f"{participant}: {f.name} = {level!r} is not a level of the factor "
                f"(levels: {', '.join(f.levels)})"
            )
        out[f.name] = level
    return out


# --------------------------------------------------------------------------------------------
# The scheme of a protocol
# --------------------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Scheme:
    """A fully specified allocation scheme.

    Attributes
    ----------
    method : one of ``simple``, ``permuted_blocks``, ``stratified_blocks``, ``minimization``.
    ratio : the integer allocation ratio.
    factors : protocol strata (stratified blocks) or minimization factors.
    stratify_by_site : whether sites are an extra stratum / minimization factor.
    block_sizes : block sizes for the block schemes (mixed at random when several).
    factor_weights : minimization weight per factor (1 when not given).
    imbalance : minimization imbalance measure.
    p_best : minimization biased-coin probability of the arm with the least imbalance.
    """

    method: Method
    ratio: Ratio
    factors: tuple[Factor, ...] = ()
    stratify_by_site: bool = False
    block_sizes: tuple[int, ...] | None = None
    factor_weights: tuple[float, ...] | None = None
    imbalance: Imbalance = "range"
    p_best: float = 0.8

    def __post_init__(self) -> None:
        if self.method not in METHODS:
            raise AllocationError(f"method: {self.method!r} is not one of {', '.join(METHODS)}")
        if self.method in ("permuted_blocks", "stratified_blocks"):
            if self.block_sizes is None:
                raise AllocationError(f"block_sizes: the {self.method} scheme needs block sizes")
            check_block_sizes(self.block_sizes, self.ratio)
        if self.imbalance not in IMBALANCES:
            raise AllocationError(
                f"imbalance: {self.imbalance!r} is not one of {', '.join(IMBALANCES)}"
            )
        if not 0.5 <= self.p_best <= 1.0:
            raise AllocationError(f"p_best: must lie in [0.5, 1], got {self.p_best}")
        if self.factor_weights is not None and (
            len(self.factor_weights) != len(self.factors) or any(w < 0 for w in self.factor_weights)
        ):
            raise AllocationError("weights: one non-negative weight per minimization factor")


def _field(p: Protocol, name: str) -> str:
    return f"{p.id}: design.allocation.{name}"


def scheme_from_protocol(
    protocol: Protocol,
    *,
    method: str | None = None,
    ratio: str | Mapping[str, int] | None = None,
    block_sizes: Sequence[int] | None = None,
) -> Scheme:
    """The protocol's allocation section as a :class:`Scheme`; arguments override it.

    Raises
    ------
    AllocationError
        When the protocol is not randomized, or leaves ``method``, ``ratio`` or ``block_sizes``
        unknown (or absent) and the corresponding argument is not given. The message names the
        protocol field and the option that supplies it.
    """
    alloc = protocol.design.allocation
    arms = [a.id for a in protocol.arms]
    chosen = method if method is not None else alloc.method
    if chosen is None:
        why = "unknown" if is_unknown(alloc, "method") else "not given"
        raise AllocationError(
            f"{_field(protocol, 'method')} is {why}; choose one with --method ({', '.join(METHODS)})"
        )
    if chosen == "none" or alloc.method == "none" or protocol.design.assignment != "randomized":
        raise AllocationError(
            f"{_field(protocol, 'method')} is {alloc.method!r}: {protocol.id} is not randomized, so there is nothing to allocate"
        )
    if chosen not in METHODS:
        raise AllocationError(f"--method: {chosen!r} is not one of {', '.join(METHODS)}")
    if ratio is None:
        given = protocol.ratio()
        if given is None:
            why = "unknown" if is_unknown(alloc, "ratio") else "not given"
            raise AllocationError(
                f"{_field(protocol, 'ratio')} is {why}; give one with --ratio, e.g. --ratio 1:1"
            )
        the_ratio = Ratio(tuple(given), tuple(given.values()))
    elif isinstance(ratio, str):
        the_ratio = parse_ratio(ratio, arms)
    else:
        the_ratio = make_ratio(ratio)
    factors = tuple(Factor(s.factor, tuple(s.levels)) for s in alloc.strata)
    sizes: tuple[int, ...] | None = None
    if chosen in ("permuted_blocks", "stratified_blocks"):
        if block_sizes is not None:
            sizes = check_block_sizes(block_sizes, the_ratio, field="--block-sizes")
        elif alloc.block_sizes is not None:
            sizes = check_block_sizes(
                alloc.block_sizes, the_ratio, field=_field(protocol, "block_sizes")
            )
        else:
            why = "unknown" if is_unknown(alloc, "block_sizes") else "not given"
            raise AllocationError(
                f"{_field(protocol, 'block_sizes')} is {why}; give them with --block-sizes, "
                f"e.g. --block-sizes {the_ratio.total * 2},{the_ratio.total * 3}"
            )
    weights: tuple[float, ...] | None = None
    imbalance: Imbalance = "range"
    p_best = 0.8
    if chosen == "minimization":
        mini = alloc.minimization
        if mini is not None:
            known = {f.name: f for f in factors}
            missing = [name for name in mini.factors if name not in known]
            if missing:
                raise AllocationError(
                    f"{_field(protocol, 'minimization.factors')}: {missing} are not strata factors "
                    f"(design.allocation.strata lists {sorted(known)})"
                )
            factors = tuple(known[name] for name in mini.factors)
            if mini.weights is not None:
                weights = tuple(float(mini.weights.get(f.name, 1.0)) for f in factors)
            imbalance = mini.imbalance
            p_best = mini.p_best
        if not factors and not alloc.stratify_by_site:
            raise AllocationError(
                f"{_field(protocol, 'strata')}: minimization needs at least one factor to balance"
            )
    elif chosen == "permuted_blocks":
        factors = ()
    return Scheme(
        method=chosen,
        ratio=the_ratio,
        factors=factors if chosen != "simple" else (),
        stratify_by_site=alloc.stratify_by_site,
        block_sizes=sizes,
        factor_weights=weights,
        imbalance=imbalance,
        p_best=p_best,
    )


def stratum_of(
    values: Mapping[str, str], factors: Sequence[Factor], *, participant: str = "participant"
) -> str:
    """The stratum label of a participant; a missing or unknown factor level is an error."""
    return stratum_label(check_factor_values(values, factors, participant=participant), factors)
