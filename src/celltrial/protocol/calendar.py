"""A participant's calendar: every administration and visit, in time-zone-aware datetimes.

From a protocol, the time of randomization and the participant's weight, :func:`calendar`
lists each administration (nominal time, window, amount in cells or mL) and each visit
(nominal time and window), to the hour.
"""

from __future__ import annotations

import dataclasses
import math
from datetime import UTC, datetime, timedelta

from celltrial.protocol.models import Arm, Protocol
from celltrial.protocol.units import format_count


class CalendarError(ValueError):
    """The calendar cannot be made from what was given (a message names the argument)."""


@dataclasses.dataclass(frozen=True)
class ScheduledAdministration:
    arm: str
    number: int
    nominal: datetime
    earliest: datetime
    latest: datetime
    hours_from_first: int
    amount: float | None
    counted_in: str | None
    amount_low: float | None
    amount_high: float | None
    product: str
    capped: bool
    written: str | None = None

    @property
    def day(self) -> float:
        return self.hours_from_first / 24

    def amount_text(self) -> str:
        """``100 × 10^6 cells`` (as the protocol wrote it) or ``3.5 × 10^7 cells`` (computed)."""
        if self.amount is None or self.counted_in is None:
            return "unknown"
        return f"{self.written or format_count(self.amount)} {self.counted_in}"

    def range_text(self) -> str:
        """``80 × 10^6 – 120 × 10^6 cells`` when the dose has a tolerance, else an empty string."""
        if self.amount_low is None or self.amount_high is None or self.counted_in is None:
            return ""
        return (
            f"{format_count(self.amount_low)} – {format_count(self.amount_high)} {self.counted_in}"
        )


@dataclasses.dataclass(frozen=True)
class ScheduledVisit:
    visit: str
    label: str
    nominal: datetime
    earliest: datetime
    latest: datetime
    hours_from_randomization: int
    measurements: tuple[str, ...]


@dataclasses.dataclass(frozen=True)
class Calendar:
    protocol: str
    randomized: datetime
    weight_kg: float | None
    first_administration: datetime
    administrations: tuple[ScheduledAdministration, ...]
    visits: tuple[ScheduledVisit, ...]


def _after(origin: datetime, hours: int) -> datetime:
    """``hours`` of elapsed time after ``origin``, in ``origin``'s zone.

    Python adds timedeltas to zone-aware datetimes on the wall clock; across a daylight-saving
    change that is an hour off, so the sum is done in UTC.
    """
    return (origin.astimezone(UTC) + timedelta(hours=hours)).astimezone(origin.tzinfo)


def _check_time(randomized: datetime) -> datetime:
    if not isinstance(randomized, datetime):
        raise CalendarError(f"randomized: expected a datetime, got {randomized!r}")
    if randomized.tzinfo is None or randomized.utcoffset() is None:
        raise CalendarError(
            "randomized: give a time-zone-aware time (e.g. 2026-03-01T10:00Z or +01:00)"
        )
    return randomized.replace(second=0, microsecond=0)


def _hours_between(a: datetime, b: datetime) -> int:
    return int((b.astimezone(UTC) - a.astimezone(UTC)).total_seconds() // 3600)


def dose_amount(arm: Arm, weight_kg: float | None) -> tuple[float | None, bool]:
    """The amount per administration in cells or mL, and whether the cap applied."""
    dose = arm.dose
    if dose is None or dose.amount is None:
        return None, False
    if not dose.per_kg:
        return dose.amount, False
    if weight_kg is None:
        raise CalendarError(
            f"weight: arm {arm.id!r} is dosed in {dose.unit}; give the participant's weight in kg"
        )
    amount = dose.amount * weight_kg
    if dose.cap is not None and amount > dose.cap:
        return dose.cap, True
    return amount, False


#: The dose tolerance (percent of the intended amount) of an arm whose protocol states none and
#: whose trial states none for any arm.
DEFAULT_TOLERANCE_PCT = 10.0


def trial_tolerance_pct(protocol: Protocol) -> float:
    """The tolerance (percent) of an arm that states none: the widest relative tolerance any arm
    states, else :data:`DEFAULT_TOLERANCE_PCT`.

    Every arm is checked (placebo and vehicle included): in a blinded trial a dose check in the
    active arm only would make the deviation flag, which blinded roles see, follow the arm."""
    stated: list[float] = []
    for a in protocol.arms:
        d = a.dose
        if d is None:
            continue
        if d.tolerance_pct is not None:
            stated.append(d.tolerance_pct)
        elif d.tolerance is not None and d.amount:
            stated.append(100.0 * d.tolerance / d.amount)
    return max(stated, default=DEFAULT_TOLERANCE_PCT)


def _bounds(
    arm: Arm, amount: float | None, default_pct: float = DEFAULT_TOLERANCE_PCT
) -> tuple[float | None, float | None]:
    dose = arm.dose
    if amount is None or dose is None:
        return None, None
    if dose.tolerance is not None:
        tol = dose.tolerance * (amount / dose.amount if dose.per_kg and dose.amount else 1.0)
        return amount - tol, amount + tol
    pct = dose.tolerance_pct if dose.tolerance_pct is not None else default_pct
    return amount * (1 - pct / 100), amount * (1 + pct / 100)


def calendar(
    protocol: Protocol,
    randomized: datetime,
    *,
    weight_kg: float | None = None,
    arms: list[str] | None = None,
    first_given: datetime | None = None,
) -> Calendar:
    """Every administration and visit for one participant.

    Parameters
    ----------
    protocol : Protocol
    randomized : datetime
        Time of randomization, time-zone aware. Kept to the minute; results keep its zone.
    weight_kg : float, optional
        Needed when an arm is dosed per kg; must be within 1–500 kg.
    arms : list of str, optional
        Arm ids to list administrations for (default: every arm, as a blinded
        calendar would show the same times for all).
    first_given : datetime, optional
        When the first administration was actually given: the visits the schedule anchors on
        the first administration are then placed from it (the analysis anchors them the same
        way, :func:`celltrial.dataset.anchors`); without it, from the planned one.
    """
    randomized = _check_time(randomized)
    if weight_kg is not None and (not math.isfinite(weight_kg) or not 1 <= weight_kg <= 500):
        raise CalendarError(f"weight: {weight_kg!r} kg is outside 1–500 kg")
    chosen = [protocol.arm(a) for a in arms] if arms else list(protocol.arms)
    administrations: list[ScheduledAdministration] = []
    starts = [a.administrations.start for a in protocol.arms if a.administrations is not None]
    first = _after(randomized, min(starts) if starts else 0)
    for arm in chosen:
        plan = arm.administrations
        if plan is None:
            continue
        amount, capped = dose_amount(arm, weight_kg)
        low, high = _bounds(arm, amount, trial_tolerance_pct(protocol))
        arm_first = _after(randomized, plan.start)
        for number, offset in enumerate(plan.offsets_hours(), start=1):
            nominal = _after(arm_first, offset)
            if number == 1 and plan.start_window is not None:
                earliest, latest = nominal, _after(nominal, plan.start_window)
            else:
                earliest, latest = (
                    _after(nominal, -(plan.window or 0)),
                    _after(nominal, plan.window or 0),
                )
            administrations.append(
                ScheduledAdministration(
                    arm=arm.id,
                    number=number,
                    nominal=nominal,
                    earliest=earliest,
                    latest=latest,
                    hours_from_first=offset,
                    amount=amount,
                    counted_in=arm.dose.counted_in if arm.dose is not None else None,
                    amount_low=low,
                    amount_high=high,
                    product=arm.product.name,
                    capped=capped,
                    written=(
                        arm.dose.written if arm.dose is not None and not arm.dose.per_kg else None
                    ),
                )
            )
    visits: list[ScheduledVisit] = []
    fadm = _check_time(first_given) if first_given is not None else first
    for v in protocol.schedule.visits:
        origin = randomized if protocol.schedule.anchor_of(v) == "randomization" else fadm
        nominal = _after(origin, v.at)
        visits.append(
            ScheduledVisit(
                visit=v.id,
                label=v.label,
                nominal=nominal,
                earliest=_after(nominal, v.window[0]),
                latest=_after(nominal, v.window[1]),
                hours_from_randomization=_hours_between(randomized, nominal),
                measurements=tuple(v.measurements),
            )
        )
    return Calendar(
        protocol=protocol.id,
        randomized=randomized,
        weight_kg=weight_kg,
        first_administration=first,
        administrations=tuple(administrations),
        visits=tuple(visits),
    )
