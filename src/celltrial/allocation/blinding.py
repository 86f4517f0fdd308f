"""Blinding: kit codes that reveal nothing, the unblinded key, and the unblinding record.

A kit code is ``XXXX-XXXX-C``: eight symbols drawn uniformly and independently from a
31-symbol alphabet (digits and capitals without ``I L O U Z``, so no symbol is mistaken for
another; about 39.6 random bits), then one check symbol ``C`` chosen so that
``sum_{i=1..9} i * v_i = 0 (mod 31)``, ``v_i`` the value of symbol ``i``. As 31 is prime and
the weights 1..9 are distinct and non-zero mod 31, every single wrong symbol and every swap of
two different neighbours (check symbol included) is caught when a code is typed (the ISO 7064
idea). Codes are drawn without regard to the arm, so neither a symbol, its position, the check
symbol nor any function of them carries information about the arm (tested with a classifier
and chi-square tests).

The blinded side sees (sequence, site, stratum, kit code) only; the mapping kit code -> arm is
a separate :class:`UnblindingKey`, held by the unblinded side (pharmacy, statistician).
:func:`unblind` looks up one participant's arm and returns a frozen :class:`UnblindRecord` of
who asked, when (UTC) and why; the EDC decides who may call it.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from datetime import UTC, datetime

import numpy as np

from celltrial._result import Result
from celltrial.allocation._core import AllocationError

ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXY"
MODULUS = 31  # prime; len(ALPHABET)
PAYLOAD = 8
_VALUE = {c: i for i, c in enumerate(ALPHABET)}


def _check_symbol(values: np.ndarray) -> np.ndarray:
    """``v_9`` with ``sum_{i<=8} i v_i + 9 v_9 = 0 (mod 31)``: ``v_9 = -7 S mod 31`` (9 * 7 = 63 = 1 mod 31)."""
    weights = np.arange(1, PAYLOAD + 1)
    return np.asarray((-7 * (values * weights).sum(axis=-1)) % MODULUS)


def _format(values: np.ndarray, check: int) -> str:
    s = "".join(ALPHABET[int(v)] for v in values)
    return f"{s[:4]}-{s[4:]}-{ALPHABET[check]}"


def make_kit_codes(n: int, *, rng: np.random.Generator) -> tuple[str, ...]:
    """``n`` distinct random kit codes (see the module docstring for the format).

    Each code has 31^8 (about 2^39.6) possible values, so a repeat is rare (about
    ``n^2 / 2^40.6``); a repeat is redrawn.
    """
    if n < 0:
        raise AllocationError(f"n: number of kit codes must be >= 0, got {n}")
    codes: list[str] = []
    seen: set[str] = set()
    while len(codes) < n:
        need = n - len(codes)
        values = rng.integers(0, MODULUS, size=(need, PAYLOAD))
        checks = _check_symbol(values)
        for v, c in zip(values, checks, strict=True):
            code = _format(v, int(c))
            if code not in seen:
                seen.add(code)
                codes.append(code)
    return tuple(codes)


def kit_code_ok(code: str) -> bool:
    """Whether ``code`` has the kit-code format and a correct check symbol."""
    parts = code.split("-")
    if len(parts) != 3 or len(parts[0]) != 4 or len(parts[1]) != 4 or len(parts[2]) != 1:
        return False
    body = parts[0] + parts[1]
    if any(c not in _VALUE for c in body + parts[2]):
        return False
    values = np.array([_VALUE[c] for c in body])
    return ALPHABET[int(_check_symbol(values))] == parts[2]


def kit_code_features(code: str) -> np.ndarray:
    """Numeric features of a code (used to test that codes carry no arm information):
    the value of each of the nine symbols (the last is the check symbol), the parity of their
    sum and their plain sum mod 31."""
    body = code.replace("-", "")
    values = [_VALUE[c] for c in body]
    return np.array([*values, sum(values) % 2, sum(values) % 31])


# --------------------------------------------------------------------------------------------
# The unblinded key and unblinding
# --------------------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class UnblindRecord(Result):
    """Who asked for an unblinding, when (UTC) and why. Holds no arm: it can be shown to the
    blinded side (audit trail) without unblinding anyone else.

    Attributes
    ----------
    participant : the participant unblinded.
    kit_code : their kit code.
    requested_by : the person (user id) who asked.
    reason : why (required, e.g. "SAE: suspected anaphylaxis, treating physician needs arm").
    at : when, timezone-aware UTC.
    """

    participant: str
    kit_code: str
    requested_by: str
    reason: str
    at: datetime

    def to_dict(self) -> dict[str, object]:
        out = super().to_dict()
        out["at"] = self.at.isoformat().replace("+00:00", "Z")
        return out


@dataclasses.dataclass(frozen=True)
class Unblinding(Result):
    """Result of :func:`unblind`: the arm (for the requester only) and the record (for the audit)."""

    arm: str
    record: UnblindRecord


@dataclasses.dataclass(frozen=True)
class UnblindingKey:
    """The mapping kit code -> arm: held only by the unblinded side, never with the blinded list."""

    protocol: str
    arms: Mapping[str, str]

    def __post_init__(self) -> None:
        object.__setattr__(self, "arms", dict(self.arms))

    def __len__(self) -> int:
        return len(self.arms)

    def __repr__(self) -> str:  # never print the mapping by accident
        return f"UnblindingKey(protocol={self.protocol!r}, kits={len(self.arms)})"

    def to_csv(self) -> str:
        """``kit_code,arm`` lines (LF), sorted by kit code so the order reveals nothing."""
        rows = "".join(f"{k},{a}\n" for k, a in sorted(self.arms.items()))
        return "kit_code,arm\n" + rows

    @classmethod
    def from_csv(cls, text: str, *, protocol: str) -> UnblindingKey:
        lines = text.splitlines()
        if not lines or lines[0] != "kit_code,arm":
            raise AllocationError("unblinding key: first line must be 'kit_code,arm'")
        arms: dict[str, str] = {}
        for n, line in enumerate(lines[1:], start=2):
            parts = line.split(",")
            if len(parts) != 2 or not kit_code_ok(parts[0]):
                raise AllocationError(
                    f"unblinding key line {n}: expected 'kit_code,arm', got {line!r}"
                )
            arms[parts[0]] = parts[1]
        return cls(protocol, arms)


def unblind(
    key: UnblindingKey,
    *,
    participant: str,
    kit_code: str,
    requested_by: str,
    reason: str,
    at: datetime | None = None,
) -> Unblinding:
    """The arm of one participant, with the record of who asked, when and why.

    Parameters
    ----------
    key : the unblinded mapping.
    participant : whose arm is asked for.
    kit_code : the participant's kit code (from the blinded list).
    requested_by : who asks (non-empty).
    reason : why (non-empty; ICH E6 asks that every unblinding be documented and justified).
    at : when (timezone-aware; converted to UTC); now when not given.

    Raises
    ------
    AllocationError
        For an empty ``reason`` or ``requested_by``, a naive ``at``, or an unknown kit code.
    """
    if not reason or not reason.strip():
        raise AllocationError("reason: an unblinding needs a reason (non-empty text)")
    if not requested_by or not requested_by.strip():
        raise AllocationError("requested_by: say who asks for the unblinding")
    if not participant or not participant.strip():
        raise AllocationError("participant: say whose arm is asked for")
    if at is None:
        at = datetime.now(UTC)
    elif at.tzinfo is None or at.utcoffset() is None:
        raise AllocationError("at: give a timezone-aware time (it is recorded in UTC)")
    if kit_code not in key.arms:
        raise AllocationError(
            f"kit_code: {kit_code!r} is not in the unblinding key of {key.protocol}"
        )
    record = UnblindRecord(
        participant, kit_code, requested_by.strip(), reason.strip(), at.astimezone(UTC)
    )
    return Unblinding(key.arms[kit_code], record)
