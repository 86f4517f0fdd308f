"""Randomization schemes that can be listed in advance: simple, permuted and stratified blocks.

Every function takes ``rng: numpy.random.Generator`` (keyword) and never touches global state.
Arms are returned as arm ids, in the order they are to be given.

References
----------
Rosenberger WF, Lachin JM. *Randomization in Clinical Trials: Theory and Practice*, 2nd ed.
Wiley 2016, chapters 3 (complete randomization) and 3.5 (permuted blocks).
Uschner D, Schindler D, Hilgers R-D, Heussen N. randomizeR: an R package for the assessment
and implementation of randomization in clinical trials. *J Stat Softw* 2018;85(8).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence

import numpy as np

from celltrial._result import Result
from celltrial.allocation._core import (
    AllocationError,
    Ratio,
    check_block_sizes,
    make_ratio,
)


@dataclasses.dataclass(frozen=True)
class AllocationSequence(Result):
    """A list of assignments in order.

    Attributes
    ----------
    arms : arm id of each position, in order.
    block_sizes : sizes of the consecutive blocks (empty for simple randomization); their sum
        is ``len(arms)`` because lists hold whole blocks only.
    ratio : the allocation ratio as ``{arm id: weight}``.
    """

    arms: tuple[str, ...]
    block_sizes: tuple[int, ...]
    ratio: dict[str, int]

    def __len__(self) -> int:
        return len(self.arms)

    def block_ends(self) -> tuple[int, ...]:
        """Positions (1-based counts) at which a block ends."""
        return tuple(int(x) for x in np.cumsum(self.block_sizes))


def _draw_arms(n: int, ratio: Ratio, rng: np.random.Generator) -> np.ndarray:
    # Inverse CDF on one uniform per participant: arm j when cum[j-1] <= u < cum[j].
    cum = np.cumsum(ratio.weights) / ratio.total
    return np.searchsorted(cum, rng.random(n), side="right")


def simple_randomization(
    n: int, *, ratio: Mapping[str, int] | Ratio, rng: np.random.Generator
) -> AllocationSequence:
    """Simple (complete) randomization: each participant independently.

    ``P(arm j) = w_j / W`` with ``W = sum w``; the number in arm ``j`` is binomial
    ``Bin(n, w_j / W)`` (multinomial over arms), so the final imbalance
    ``D = N_1 - N_2`` of a 1:1 trial has ``P(D = 2m - n) = C(n, m) / 2^n``.

    R equivalent: ``randomizeR::crPar(N)`` then ``genSeq``; or ``sample(arms, n, TRUE, w)``.

    Parameters
    ----------
    n : number of participants (>= 1).
    ratio : ``{arm id: integer weight}``.
    rng : the random generator.
    """
    r = make_ratio(ratio)
    if n < 1:
        raise AllocationError(f"n: needs at least one participant, got {n}")
    idx = _draw_arms(n, r, rng)
    return AllocationSequence(tuple(r.arms[i] for i in idx), (), r.as_dict())


def block_contents(size: int, ratio: Ratio) -> np.ndarray:
    """Arm indices of one unshuffled block: ``size * w_j / W`` copies of each arm ``j``."""
    check_block_sizes([size], ratio)
    return np.repeat(np.arange(ratio.k), [size * w // ratio.total for w in ratio.weights])


def _block_probs(sizes: tuple[int, ...], block_probs: Sequence[float] | None) -> np.ndarray:
    if block_probs is None:
        return np.full(len(sizes), 1.0 / len(sizes))
    p = np.asarray(block_probs, dtype=float)
    if p.shape != (len(sizes),) or np.any(p < 0) or not np.isclose(p.sum(), 1.0):
        raise AllocationError(
            f"block_probs: one probability per block size ({len(sizes)}), non-negative, summing to 1"
        )
    return np.asarray(p / p.sum())


def permuted_blocks(
    n: int,
    *,
    ratio: Mapping[str, int] | Ratio,
    block_sizes: Sequence[int],
    rng: np.random.Generator,
    block_probs: Sequence[float] | None = None,
) -> AllocationSequence:
    """Permuted-block randomization, with a fixed block size or randomly mixed sizes.

    Each block of size ``b`` (a multiple of ``W = sum w``) holds ``b w_j / W`` assignments to
    arm ``j`` in a uniformly random order (all ``b! / prod (b w_j / W)!`` orders equally likely).
    With several block sizes, each block's size is drawn independently (uniformly, or with
    ``block_probs``), which hides the block ends from a site that counts assignments.
    Blocks are appended until at least ``n`` positions exist, and the last block is kept whole
    (as R's ``blockrand`` does), so the list may be longer than ``n`` by less than one block and
    the arms are exactly balanced at every block end.

    R equivalent: ``randomizeR::pbrPar(bc)`` / ``rpbrPar(N, rb)``; ``blockrand::blockrand``.

    Parameters
    ----------
    n : the least number of positions (>= 1).
    ratio : ``{arm id: integer weight}``.
    block_sizes : block sizes, each a multiple of the ratio sum.
    rng : the random generator.
    block_probs : probability of each block size (default uniform).

    Raises
    ------
    AllocationError
        When no block size fits the ratio or one is not a multiple of the ratio sum.
    """
    r = make_ratio(ratio)
    sizes = check_block_sizes(block_sizes, r)
    p = _block_probs(sizes, block_probs)
    if n < 1:
        raise AllocationError(f"n: needs at least one participant, got {n}")
    templates = {s: block_contents(s, r) for s in sizes}
    out: list[np.ndarray] = []
    chosen: list[int] = []
    total = 0
    while total < n:
        size = sizes[int(rng.choice(len(sizes), p=p))] if len(sizes) > 1 else sizes[0]
        out.append(rng.permutation(templates[size]))
        chosen.append(size)
        total += size
    idx = np.concatenate(out)
    return AllocationSequence(tuple(r.arms[i] for i in idx), tuple(chosen), r.as_dict())


def stratified_blocks(
    per_stratum: int,
    *,
    strata: Sequence[str],
    ratio: Mapping[str, int] | Ratio,
    block_sizes: Sequence[int],
    rng: np.random.Generator,
    block_probs: Sequence[float] | None = None,
) -> dict[str, AllocationSequence]:
    """Stratified permuted blocks: an independent permuted-block list in every stratum.

    Strata are typically site × the protocol's strata factors (see
    :func:`celltrial.allocation.strata_cells`). Lists are drawn in the order of ``strata``, so
    the result is a deterministic function of the generator's state.

    R equivalent: ``blockrand::blockrand(n, stratum = ...)`` once per stratum.

    Raises
    ------
    AllocationError
        For an empty or repeated stratum name, and as :func:`permuted_blocks`.
    """
    names = list(strata)
    if not names:
        raise AllocationError("strata: give at least one stratum")
    if len(set(names)) != len(names):
        raise AllocationError(f"strata: stratum names must be distinct, got {names}")
    r = make_ratio(ratio)
    check_block_sizes(block_sizes, r)
    return {
        s: permuted_blocks(
            per_stratum, ratio=r, block_sizes=block_sizes, rng=rng, block_probs=block_probs
        )
        for s in names
    }
