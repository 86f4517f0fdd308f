"""The trial's arms as the analysis names them, and which arm is compared with which."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable

from celltrial.protocol import Protocol


@dataclasses.dataclass(frozen=True)
class ArmInfo:
    """An arm of the protocol as the analysis names it."""

    id: str
    label: str
    role: str


@dataclasses.dataclass(frozen=True)
class Arms:
    """The protocol's arms, in its order, and the pre-specified comparisons.

    ``comparisons`` are (treatment, reference) pairs: every other arm against the first control
    arm (the last arm when none is a control); none with a single arm.
    """

    arms: tuple[ArmInfo, ...]
    comparisons: tuple[tuple[str, str], ...]

    @classmethod
    def of(cls, protocol: Protocol) -> Arms:
        arms = tuple(ArmInfo(a.id, a.label, a.role) for a in protocol.arms)
        ids = [a.id for a in arms]
        controls = [a.id for a in arms if a.role == "control"]
        pairs: tuple[tuple[str, str], ...] = ()
        if len(ids) >= 2:
            ref = controls[0] if controls else ids[-1]
            pairs = tuple((a, ref) for a in ids if a != ref)
        return cls(arms, pairs)

    @property
    def labels(self) -> dict[str, str]:
        """Arm id -> label."""
        return {a.id: a.label for a in self.arms}

    def label(self, arm: str) -> str:
        """An arm's label (the id itself for an arm the protocol does not name)."""
        return self.labels.get(arm, arm)

    def order(self, present: Iterable[object]) -> list[str]:
        """The arms in the protocol's order, then any other arm found in the data (sorted)."""
        known = [a.id for a in self.arms]
        extra = sorted({str(p) for p in present if p == p and p is not None} - set(known))
        return known + extra
