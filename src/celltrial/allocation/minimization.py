"""Pocock–Simon minimization with a biased coin, and an auditable decision log.

Minimization cannot be listed in advance: each assignment depends on the factors of the
participants already allocated. Instead every decision is recorded with its random draw (the
uniform number ``u`` and the probabilities it was compared with), so that :func:`replay` can
re-derive every assignment from the log and the participants' factor values.

The rule (Pocock & Simon 1975), for a participant with level ``l_f`` of each factor ``f``:

1. ``n[f, l_f, j]`` is the number of earlier participants at that level given arm ``j``.
2. For each candidate arm ``k``, add the participant to arm ``k`` and compute, per factor,
   the imbalance ``d_f(k)`` of the adjusted counts ``x_j = (n[f, l_f, j] + [j = k]) / w_j``
   (``w_j`` the ratio weight, so 2:1 targets count as balanced):

   * ``range``: ``max_j x_j - min_j x_j``;
   * ``variance``: ``(1/K) sum_j (x_j - mean x)^2``;
   * ``sum_abs``: ``sum_{i<j} |x_i - x_j|``.

3. The total imbalance is ``G_k = sum_f v_f d_f(k)`` with factor weights ``v_f`` (default 1).
4. Biased coin: the arms with the smallest ``G`` share probability ``p_best`` equally, the
   other arms share ``1 - p_best`` equally; if all arms tie, the target proportions
   ``w_j / W`` are used.
5. One uniform ``u`` in [0, 1) is drawn; the arm is the first ``j`` with ``u < sum_{i<=j} p_i``
   (arms in ratio order).

References
----------
Pocock SJ, Simon R. Sequential treatment assignment with balancing for prognostic factors in
the controlled clinical trial. *Biometrics* 1975;31(1):103–115.
R equivalent: ``Minirand::Minirand(covmat, j, covwt, ratio, ntrt, trtseq, method =
"Range" | "Var" | "SD", result, p)``.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np

from celltrial._result import Result
from celltrial.allocation._core import (
    AllocationError,
    Factor,
    Imbalance,
    Ratio,
    Scheme,
    check_factor_values,
)

TIE_TOL = 1e-9  # scores closer than this are ties
LOG_TOL = 1e-9  # recorded scores/probabilities must match the replay within this


@dataclasses.dataclass(frozen=True)
class MinimizationDesign:
    """What the minimization balances and how: ratio, factors, weights, measure, biased coin."""

    ratio: Ratio
    factors: tuple[Factor, ...]
    weights: tuple[float, ...] | None = None
    imbalance: Imbalance = "range"
    p_best: float = 0.8

    def __post_init__(self) -> None:
        if not self.factors:
            raise AllocationError("factors: minimization needs at least one factor")
        names = [f.name for f in self.factors]
        if len(set(names)) != len(names):
            raise AllocationError(f"factors: names must be distinct, got {names}")
        if self.weights is not None and (
            len(self.weights) != len(self.factors) or any(w < 0 for w in self.weights)
        ):
            raise AllocationError("weights: one non-negative weight per factor")
        if self.imbalance not in ("range", "variance", "sum_abs"):
            raise AllocationError(
                f"imbalance: {self.imbalance!r} is not range, variance or sum_abs"
            )
        if not 0.5 <= self.p_best <= 1.0:
            raise AllocationError(f"p_best: must lie in [0.5, 1], got {self.p_best}")

    @property
    def factor_weights(self) -> np.ndarray:
        return (
            np.ones(len(self.factors)) if self.weights is None else np.asarray(self.weights, float)
        )

    @classmethod
    def from_scheme(cls, scheme: Scheme, *, sites: Sequence[str] = ()) -> MinimizationDesign:
        """The design of a minimization :class:`Scheme`; ``site`` becomes a factor when the
        scheme stratifies by site and two or more sites are given."""
        factors = scheme.factors
        weights = scheme.factor_weights
        if scheme.stratify_by_site and len(sites) > 1:
            factors = (*factors, Factor("site", tuple(sites)))
            weights = None if weights is None else (*weights, 1.0)
        return cls(scheme.ratio, factors, weights, scheme.imbalance, scheme.p_best)


# --------------------------------------------------------------------------------------------
# Vectorized core (also used by the assessment, one row per simulated trial)
# --------------------------------------------------------------------------------------------


def imbalance_of(x: np.ndarray, measure: Imbalance) -> np.ndarray:
    """Imbalance of adjusted counts along the last axis (see the module docstring)."""
    if measure == "range":
        return np.asarray(x.max(axis=-1) - x.min(axis=-1))
    if measure == "variance":
        return np.asarray(x.var(axis=-1))
    diffs = np.abs(x[..., :, None] - x[..., None, :])
    return np.asarray(diffs.sum(axis=(-2, -1)) / 2.0)


def batch_scores(
    counts: np.ndarray, *, weights: np.ndarray, factor_weights: np.ndarray, measure: Imbalance
) -> np.ndarray:
    """Total imbalance ``G`` for each candidate arm.

    Parameters
    ----------
    counts : array (R, F, K) of ``n[f, l_f, j]`` at each participant's levels.
    weights : ratio weights ``w`` (K,).
    factor_weights : ``v`` (F,).

    Returns
    -------
    array (R, K): ``G[r, k]``.
    """
    k = counts.shape[-1]
    hyp = counts[:, None, :, :] + np.eye(k)[None, :, None, :]  # (R, K_candidate, F, K)
    d = imbalance_of(hyp / weights, measure)  # (R, K_candidate, F)
    return np.asarray(d @ factor_weights)


def batch_probabilities(scores: np.ndarray, *, p_best: float, target: np.ndarray) -> np.ndarray:
    """Biased-coin probabilities (R, K) from scores (R, K): see rule 4 of the module docstring."""
    k = scores.shape[-1]
    best = scores <= scores.min(axis=-1, keepdims=True) + TIE_TOL
    nb = best.sum(axis=-1, keepdims=True)
    rest = np.maximum(k - nb, 1)
    p = np.where(best, p_best / nb, (1.0 - p_best) / rest)
    all_tie = (nb == k)[..., 0]
    p[all_tie] = target
    return np.asarray(p)


def choose(probabilities: np.ndarray, u: np.ndarray) -> np.ndarray:
    """Arm index: the first ``j`` with ``u < cumsum(p)[j]`` (rule 5)."""
    cum = np.cumsum(probabilities, axis=-1)
    j = (u[..., None] >= cum).sum(axis=-1)
    return np.asarray(np.minimum(j, probabilities.shape[-1] - 1))


# --------------------------------------------------------------------------------------------
# Sequential allocation with a log
# --------------------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Decision(Result):
    """One minimization decision, with everything needed to re-derive it.

    Attributes
    ----------
    index : 1-based position in the allocation sequence.
    participant : the participant's id.
    factors : the participant's level of each factor.
    scores : ``G_k`` per arm (ratio order).
    probabilities : biased-coin probability per arm.
    u : the uniform draw in [0, 1).
    arm : the assigned arm id.
    """

    index: int
    participant: str
    factors: dict[str, str]
    scores: tuple[float, ...]
    probabilities: tuple[float, ...]
    u: float
    arm: str

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Decision:
        """Inverse of ``to_dict()`` (for a log read back from JSON)."""
        try:
            return cls(
                index=int(data["index"]),
                participant=str(data["participant"]),
                factors={str(k): str(v) for k, v in data["factors"].items()},
                scores=tuple(float(x) for x in data["scores"]),
                probabilities=tuple(float(x) for x in data["probabilities"]),
                u=float(data["u"]),
                arm=str(data["arm"]),
            )
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise AllocationError(f"decision log: malformed entry {dict(data)!r} ({exc})") from None


class Minimizer:
    """Allocates participants one at a time by minimization and keeps the decision log.

    >>> import numpy as np
    >>> from celltrial.allocation import Factor, MinimizationDesign, Minimizer, Ratio
    >>> design = MinimizationDesign(Ratio(("a", "b"), (1, 1)), (Factor("sex", ("f", "m")),))
    >>> m = Minimizer(design)
    >>> m.decide("p1", {"sex": "f"}, u=0.3).arm
    'a'
    """

    def __init__(self, design: MinimizationDesign) -> None:
        self.design = design
        lmax = max(len(f.levels) for f in design.factors)
        self._counts = np.zeros((len(design.factors), lmax, design.ratio.k), dtype=np.int64)
        self._log: list[Decision] = []
        self._seen: set[str] = set()

    @property
    def decisions(self) -> tuple[Decision, ...]:
        """The log so far, in order."""
        return tuple(self._log)

    def counts(self) -> dict[str, dict[str, dict[str, int]]]:
        """``{factor: {level: {arm: n}}}`` so far."""
        d = self.design
        return {
            f.name: {
                level: {arm: int(self._counts[i, li, j]) for j, arm in enumerate(d.ratio.arms)}
                for li, level in enumerate(f.levels)
            }
            for i, f in enumerate(d.factors)
        }

    def evaluate(
        self, participant: str, values: Mapping[str, str]
    ) -> tuple[np.ndarray, np.ndarray]:
        """Scores and probabilities for the next participant (nothing is allocated)."""
        d = self.design
        levels = check_factor_values(values, d.factors, participant=f"participant {participant}")
        at = np.stack(
            [self._counts[i, f.levels.index(levels[f.name])] for i, f in enumerate(d.factors)]
        ).astype(float)
        scores = batch_scores(
            at[None],
            weights=np.asarray(d.ratio.weights, float),
            factor_weights=d.factor_weights,
            measure=d.imbalance,
        )
        probs = batch_probabilities(scores, p_best=d.p_best, target=d.ratio.probabilities())
        return scores[0], probs[0]

    def decide(self, participant: str, values: Mapping[str, str], *, u: float) -> Decision:
        """Allocate with a given uniform draw ``u`` (for replay and worked examples)."""
        if participant in self._seen:
            raise AllocationError(f"participant {participant}: already allocated")
        if not 0.0 <= u < 1.0:
            raise AllocationError(f"u: a uniform draw lies in [0, 1), got {u}")
        d = self.design
        scores, probs = self.evaluate(participant, values)
        j = int(choose(probs, np.asarray(u)))
        levels = check_factor_values(values, d.factors, participant=f"participant {participant}")
        for i, f in enumerate(d.factors):
            self._counts[i, f.levels.index(levels[f.name]), j] += 1
        decision = Decision(
            index=len(self._log) + 1,
            participant=participant,
            factors=levels,
            scores=tuple(float(s) for s in scores),
            probabilities=tuple(float(p) for p in probs),
            u=float(u),
            arm=d.ratio.arms[j],
        )
        self._log.append(decision)
        self._seen.add(participant)
        return decision

    def assign(
        self, participant: str, values: Mapping[str, str], *, rng: np.random.Generator
    ) -> Decision:
        """Allocate the next participant: draw ``u = rng.random()`` and record the decision."""
        self.evaluate(participant, values)  # validate before drawing: a bad input draws nothing
        return self.decide(participant, values, u=float(rng.random()))


@dataclasses.dataclass(frozen=True)
class ReplayReport(Result):
    """Outcome of :func:`replay`.

    Attributes
    ----------
    ok : True when every logged decision is re-derived exactly.
    checked : number of decisions re-derived before stopping.
    first_mismatch : 1-based index of the first decision that does not match, or None.
    message : what matched, or what differs at the first mismatch.
    """

    ok: bool
    checked: int
    first_mismatch: int | None
    message: str


def replay(design: MinimizationDesign, decisions: Iterable[Decision]) -> ReplayReport:
    """Re-derive every assignment from the log's factor values and uniform draws.

    Each decision's scores, probabilities and arm are recomputed from the participants before
    it, and compared with the log (scores and probabilities within 1e-9, the arm exactly).
    Stops at the first mismatch and says what differs.
    """
    m = Minimizer(design)
    checked = 0
    for expected_index, logged in enumerate(decisions, start=1):
        why = _mismatch(m, design, logged, expected_index)
        if why is not None:
            where = f"decision {logged.index} (participant {logged.participant})"
            return ReplayReport(False, checked, logged.index, f"{where}: {why}")
        checked += 1
    return ReplayReport(True, checked, None, f"all {checked} decisions re-derived from the log")


def _mismatch(
    m: Minimizer, design: MinimizationDesign, logged: Decision, expected_index: int
) -> str | None:
    """Re-derive one logged decision on ``m``; what differs, or None."""
    if logged.index != expected_index:
        return f"out of sequence: expected index {expected_index}"
    try:
        got = m.decide(logged.participant, logged.factors, u=logged.u)
    except AllocationError as exc:
        return str(exc)
    if len(got.scores) != len(logged.scores) or not np.allclose(
        got.scores, logged.scores, rtol=0, atol=LOG_TOL
    ):
        return f"log says scores {list(logged.scores)}, the factors give {list(got.scores)}"
    if len(got.probabilities) != len(logged.probabilities) or not np.allclose(
        got.probabilities, logged.probabilities, rtol=0, atol=LOG_TOL
    ):
        return (
            f"log says probabilities {list(logged.probabilities)}, "
            f"replay gives {list(got.probabilities)}"
        )
    if got.arm != logged.arm:
        arms = design.ratio.arms
        probs = ", ".join(f"{a} {p:g}" for a, p in zip(arms, got.probabilities, strict=True))
        return (
            f"log says arm {logged.arm}, but u = {logged.u:g} "
            f"with probabilities {probs} gives {got.arm}"
        )
    return None


def decisions_to_jsonl(decisions: Iterable[Decision]) -> str:
    """The log as JSON lines (one decision per line, keys sorted)."""
    return "".join(json.dumps(d.to_dict(), sort_keys=True) + "\n" for d in decisions)


def decisions_from_jsonl(text: str) -> tuple[Decision, ...]:
    """Read a log written by :func:`decisions_to_jsonl`."""
    out = []
    for n, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            data = json.loads(line)
        except json.JSONDecodeError as exc:
            raise AllocationError(f"decision log line {n}: not JSON ({exc.msg})") from None
        out.append(Decision.from_dict(data))
    return tuple(out)
