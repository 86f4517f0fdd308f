"""Product lots, release against the protocol's criteria, infusions with dose checks."""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Mapping
from typing import Any

from django.db import connection

from celltrial.dataset.rules import Occurrence
from celltrial.edc import audit
from celltrial.edc.actions._base import (
    ActionError,
    Conflict,
    NotFound,
    Problem,
    action,
    aware,
    now,
    participant_for,
    site_for,
)
from celltrial.edc.actions._rules import enforce
from celltrial.edc.actions.safety import refresh_windows
from celltrial.edc.models import Infusion, Lot, Participant, ReleaseResult, Role, Site, Staff
from celltrial.protocol import CalendarError, calendar
from celltrial.protocol.models import ReleaseCriterion
from celltrial.protocol.units import format_count

PHARMACY = [Role.PHARMACIST]


def lot_for(actor: Staff, lot: Lot | str, *, lock: bool = False) -> Lot:
    number = lot.number if isinstance(lot, Lot) else lot
    qs = Lot.objects.filter(trial_id=actor.trial_id, number=number)
    found = (qs.select_for_update() if lock else qs).first()
    if found is None:
        raise NotFound("lot", f"no lot {number!r} in this trial")
    return found


@action("register_lot", PHARMACY)
def register_lot(
    actor: Staff,
    number: str,
    arm: str,
    *,
    site: Site | str | None = None,
    expires_at: dt.datetime | None = None,
) -> Lot:
    """A lot of one arm's product, in quarantine until released."""
    protocol = actor.trial.active_protocol().protocol
    try:
        arm_def = protocol.arm(arm)
    except KeyError:
        raise ActionError("arm", f"{arm!r} is not an arm of {protocol.id}") from None
    if not number or not number.strip():
        raise ActionError("number", "the lot number is required")
    if Lot.objects.filter(trial_id=actor.trial_id, number=number).exists():
        raise Conflict("number", f"lot {number!r} exists already")
    lot = Lot.objects.create(
        trial_id=actor.trial_id,
        site=site_for(actor, site) if site is not None else None,
        number=number.strip(),
        arm=arm,
        product=arm_def.product.name,
        expires_at=aware(expires_at, "expires_at") if expires_at is not None else None,
        status=Lot.Status.QUARANTINE,
        created_at=now(),
    )
    audit.write(actor, "register_lot", lot, old=None, new=audit.snapshot(lot), blinded_safe=False)
    return lot


def _parse_result(raw: Any) -> Any:
    if isinstance(raw, (bool, int, float)):
        return raw
    text = str(raw).strip()
    try:
        return float(text)
    except ValueError:
        return text


def limit_text(c: ReleaseCriterion) -> str:
    """The criterion's limit as the pages show it: ``≥ 70``, ``= negative``, a cell count
    as ``≥ 1 × 10^8``."""
    op = c.operator
    bound = getattr(c, op) if op not in ("between", "in") else None
    if isinstance(bound, (int, float)) and not isinstance(bound, bool) and abs(bound) >= 1e5:
        symbol = {"lt": "<", "le": "≤", "gt": ">", "ge": "≥", "eq": "=", "ne": "≠"}[op]
        return f"{symbol} {format_count(float(bound))}"
    return c.describe()


@action("release_lot", PHARMACY)
def release_lot(actor: Staff, lot: Lot | str, results: Mapping[str, Any]) -> Lot:
    """Record each release criterion's result against the protocol's limit; release the lot
    when every one holds.

    A result missing, not a criterion of the product or not comparable is an
    :class:`ActionError` naming it (``results.<criterion>``), and nothing is written. A result
    outside its limit is an :class:`ActionError` (422) naming each failed criterion with its
    value and limit: the lot **cannot be released**. The results are still recorded and the
    lot is rejected (never infused), in a transaction of its own after the refusal (an
    out-of-specification result is kept, as GMP requires). A protocol that gives no criteria
    (``release: unknown``) releases on the pharmacist's record alone, and the audit row says
    so.
    """
    the_lot = lot_for(actor, lot, lock=True)
    if the_lot.status != Lot.Status.QUARANTINE:
        raise Conflict("lot", f"lot {the_lot.number} is {the_lot.status} already")
    protocol = actor.trial.active_protocol().protocol
    criteria = protocol.arm(the_lot.arm).product.release or []
    if not isinstance(results, Mapping):
        raise ActionError("results", f"an object of criterion: result, got {results!r}")
    known = {c.id for c in criteria}
    problems = [
        Problem(
            f"results.{k}",
            f"not a release criterion of this product ({', '.join(sorted(known)) or 'none'})",
        )
        for k in results
        if k not in known
    ]
    problems += [
        Problem(f"results.{c.id}", f"required: {c.label} {limit_text(c)}")
        for c in criteria
        if results.get(c.id) is None or str(results.get(c.id)).strip() == ""
    ]
    if problems:
        raise ActionError(problems=problems)
    rows: list[ReleaseResult] = []
    failed: list[Problem] = []
    for c in criteria:
        value = _parse_result(results[c.id])
        try:
            ok = c.holds(value)
        except (TypeError, ValueError):
            raise ActionError(
                f"results.{c.id}", f"{value!r} cannot be compared: {c.label} must be {c.describe()}"
            ) from None
        unit = c.unit or ""
        shown = f"{str(results[c.id]).strip()}{' ' + unit if unit else ''}"
        rows.append(
            ReleaseResult(
                criterion=c.id,
                value=str(results[c.id]).strip()[:100],
                passed=ok,
                label=c.label,
                unit=unit,
                limit=limit_text(c),
            )
        )
        if not ok:
            failed.append(
                Problem(
                    f"results.{c.id}",
                    f"{c.label} {shown} fails the release limit {limit_text(c)}"
                    f"{' ' + unit if unit else ''}: lot {the_lot.number} cannot be released "
                    "(it is rejected, with its results)",
                )
            )
    if failed:
        exc = ActionError(problems=failed)

        def reject() -> None:
            _record_release(actor, the_lot.pk, rows, results, True)

        exc.after_rollback = reject
        raise exc
    return _record_release(actor, the_lot.pk, rows, results, False)


def _record_release(
    actor: Staff, lot_id: int, rows: list[ReleaseResult], results: Mapping[str, Any], failed: bool
) -> Lot:
    """Write the results and release (or reject) the lot, with the audit row."""
    qs = Lot.objects.filter(pk=lot_id)
    the_lot = (qs.select_for_update() if connection.features.has_select_for_update else qs).get()
    if the_lot.status != Lot.Status.QUARANTINE:  # another release got there first
        raise Conflict("lot", f"lot {the_lot.number} is {the_lot.status} already")
    old = audit.snapshot(the_lot)
    for row in rows:
        row.lot = the_lot
        row.save(force_insert=True)
    the_lot.status = Lot.Status.REJECTED if failed else Lot.Status.RELEASED
    the_lot.released_at = None if failed else now()
    the_lot.save(update_fields=["status", "released_at"])
    new = audit.snapshot(the_lot) | {
        "results": {k: str(v) for k, v in results.items()},
        "limits": {r.criterion: r.limit for r in rows},
        "failed": [r.criterion for r in rows if not r.passed],
        "criteria": "protocol" if rows else "none in protocol (release: unknown)",
    }
    audit.write(actor, "release_lot", the_lot, old=old, new=new, blinded_safe=False)
    return the_lot


#: Infusion fields a missing-data code may stand for.
INFUSION_MAY_BE_MISSING = ("stopped_at", "volume_ml", "premedication", "reaction")


def infusion_details(
    *,
    premedication: str,
    volume_ml: float | None,
    interrupted: bool,
    interruption: str,
    reaction: str,
    stopped_at: dt.datetime | None,
    missing: Mapping[str, str] | None,
) -> dict[str, Any]:
    """The infusion-detail fields, checked (problems name their field)."""
    from celltrial.edc.actions.safety import check_missing

    problems: list[Problem] = []
    texts = {"premedication": premedication, "interruption": interruption, "reaction": reaction}
    clean: dict[str, Any] = {}
    for name, value in texts.items():
        text = "" if value is None else str(value).strip()
        if len(text) > 1000:
            problems.append(Problem(name, "at most 1000 characters"))
        clean[name] = text
    if volume_ml is not None and (
        isinstance(volume_ml, bool)
        or not isinstance(volume_ml, (int, float))
        or not math.isfinite(volume_ml)
        or volume_ml <= 0
    ):
        problems.append(Problem("volume_ml", f"a positive volume in mL, got {volume_ml!r}"))
    if not isinstance(interrupted, bool):
        problems.append(Problem("interrupted", f"true or false, got {interrupted!r}"))
    elif interrupted and not clean["interruption"]:
        problems.append(Problem("interruption", "say when, how long and why it was interrupted"))
    elif not interrupted and clean["interruption"]:
        problems.append(Problem("interrupted", "an interruption is described: tick interrupted"))
    values = {**clean, "volume_ml": volume_ml, "stopped_at": stopped_at}
    codes, found = check_missing(missing, INFUSION_MAY_BE_MISSING, values)
    problems += found
    if problems:
        raise ActionError(problems=problems)
    return {
        **clean,
        "volume_ml": None if volume_ml is None else float(volume_ml),
        "interrupted": interrupted,
        "missing": codes,
    }


@action("record_infusion", PHARMACY)
def record_infusion(
    actor: Staff,
    participant: Participant | str,
    *,
    lot: Lot | str,
    started_at: dt.datetime,
    delivered: float,
    number: int | None = None,
    stopped_at: dt.datetime | None = None,
    deviation: str = "",
    premedication: str = "",
    volume_ml: float | None = None,
    interrupted: bool = False,
    interruption: str = "",
    reaction: str = "",
    missing: Mapping[str, str] | None = None,
) -> Infusion:
    """An administration of a released lot of the participant's arm.

    Infusion details (all optional): ``premedication`` given before it, ``volume_ml`` infused
    (shown to unblinded roles only, like the dose), ``interrupted`` with what happened
    (``interruption``), infusion ``reaction``s; ``missing`` gives a missing-data code for a
    field of :data:`INFUSION_MAY_BE_MISSING` left blank.

    Refused when the lot is not released or expired, is another arm's product, or the dose
    delivered is outside the protocol's tolerance around the intended dose (from the weight) or
    the time outside the administration's window — unless ``deviation`` describes it.
    """
    p = participant_for(actor, participant, lock=True)
    r = getattr(p, "randomization", None)
    if r is None:
        raise Conflict("participant", f"{p.code} is not randomized")
    if p.status in (Participant.Status.DEAD,):
        raise Conflict("participant", f"{p.code} is dead")
    the_lot = lot_for(actor, lot)
    arm = r.slot.arm
    if the_lot.arm != arm:
        raise ActionError(
            "lot", f"lot {the_lot.number} is not the product of this participant's arm"
        )
    if the_lot.status != Lot.Status.RELEASED:
        raise ActionError("lot", f"lot {the_lot.number} is {the_lot.status}, not released")
    start = aware(started_at, "started_at")
    stop = aware(stopped_at, "stopped_at") if stopped_at is not None else None
    if stop is not None and stop < start:
        raise ActionError("stopped_at", "the infusion stops before it starts")
    details = infusion_details(
        premedication=premedication,
        volume_ml=volume_ml,
        interrupted=interrupted,
        interruption=interruption,
        reaction=reaction,
        stopped_at=stop,
        missing=missing,
    )
    enforce(p, Occurrence("dose", start, "the infusion"), "started_at")
    if the_lot.expires_at is not None and start > the_lot.expires_at:
        raise ActionError(
            "lot", f"lot {the_lot.number} expired at {the_lot.expires_at.isoformat()}"
        )
    done = p.infusions.filter(entered_in_error=False).count()
    n = number if number is not None else done + 1
    protocol = actor.trial.active_protocol().protocol
    try:
        cal = calendar(protocol, r.randomized_at, weight_kg=p.weight_kg, arms=[arm])
    except CalendarError as exc:
        raise ActionError("weight", str(exc)) from None
    if not 1 <= n <= len(cal.administrations):
        raise ActionError(
            "number", f"the protocol plans {len(cal.administrations)} administration(s), not #{n}"
        )
    if p.infusions.filter(number=n, entered_in_error=False).exists():
        raise Conflict("number", f"administration #{n} of {p.code} is recorded already")
    plan = cal.administrations[n - 1]
    # Where the protocol's dose is unknown the amount is still counted in something: cells for
    # a cell product, mL otherwise (a placebo or vehicle), as the simulator records it.
    product = protocol.arm(arm).product
    unit = plan.counted_in or ("cells" if product.kind == "living_cells" else "mL")
    if not isinstance(delivered, (int, float)) or isinstance(delivered, bool) or delivered <= 0:
        raise ActionError("delivered", f"a positive amount in {unit}")
    deviation = deviation.strip()
    problems: list[Problem] = []
    if plan.amount_low is not None and plan.amount_high is not None:
        if not plan.amount_low <= delivered <= plan.amount_high:
            problems.append(
                Problem(
                    "delivered",
                    f"{format_count(delivered)} {plan.counted_in} is outside the allowed "
                    f"{plan.range_text()}; record a deviation to give it",
                )
            )
    elif plan.amount is not None and delivered > plan.amount * 1.0000001 and plan.capped:
        problems.append(Problem("delivered", f"above the capped dose {plan.amount_text()}"))
    in_window = plan.earliest <= start <= plan.latest
    if not in_window:
        problems.append(
            Problem(
                "started_at",
                f"administration #{n} is due {plan.earliest.isoformat()} to {plan.latest.isoformat()}; "
                "record a deviation to give it outside its window",
            )
        )
    if problems and not deviation:
        raise ActionError(problems=problems)
    infusion = Infusion.objects.create(
        participant=p,
        number=n,
        lot=the_lot,
        started_at=start,
        stopped_at=stop,
        intended=plan.amount,
        low=plan.amount_low,
        high=plan.amount_high,
        delivered=float(delivered),
        unit=unit,
        capped=plan.capped,
        in_window=in_window,
        deviation=deviation,
        **details,
    )
    if n == 1:
        from celltrial.edc.actions.randomization import reanchor_visits

        reanchor_visits(actor, p, start)  # Day 0 and the visits after it count from this infusion
    # The AEs' safety-window flags follow the infusion times (an AE entered before this infusion
    # is flagged as if entered after it): recomputed here, in this transaction, audited.
    refresh_windows(actor, p, reason=f"infusion #{n} recorded")
    audit.write(
        actor,
        "record_infusion",
        infusion,
        old=None,
        new=audit.snapshot(infusion),
        blinded_safe=False,
    )
    return infusion
