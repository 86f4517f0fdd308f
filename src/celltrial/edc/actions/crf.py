"""Concomitant medications (CM), medical history (MH) and the site's time zone.

- :func:`record_medication`: a prior or concomitant medication (a CM row), or — with
  ``not_done`` — that the medication history was not taken (CMSTAT = NOT DONE, CMREASND);
- :func:`record_medical_history`: a condition of the medical history (an MH row), or that the
  history was not taken (MHSTAT = NOT DONE);
- :func:`set_site_time_zone`: the IANA time zone the site's pages read and show times in.

Each is an action (role check, one transaction, audit row, idempotency key). A field may be
left blank with a missing-data code (:data:`celltrial.edc.labels.MISSING`); dates are checked by
the rules of :mod:`celltrial.dataset.rules` (``nothing_after_death``, ``history_before_consent``,
``end_not_before_start``), applied by :func:`celltrial.edc.actions._rules.enforce`.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Mapping
from typing import Any

from celltrial.dataset.rules import Occurrence
from celltrial.edc import audit, labels
from celltrial.edc.actions._base import (
    ActionError,
    Conflict,
    NotFound,
    Problem,
    action,
    now,
    participant_for,
)
from celltrial.edc.actions._rules import enforce
from celltrial.edc.actions.safety import check_missing
from celltrial.edc.models import (
    ConcomitantMedication,
    MedicalHistory,
    Participant,
    Role,
    Site,
    Staff,
)
from celltrial.edc.roles import CLINICAL_WRITERS

#: CM fields a missing-data code may stand for.
CM_MAY_BE_MISSING = (
    "indication",
    "dose",
    "dose_unit",
    "route",
    "frequency",
    "start_date",
    "end_date",
)
#: MH fields a missing-data code may stand for.
MH_MAY_BE_MISSING = ("start_date", "end_date")


def _midnight(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(), tzinfo=dt.UTC)


def _date(value: Any, field: str, problems: list[Problem]) -> dt.date | None:
    if value is None or value == "":
        return None
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value))
    except ValueError:
        problems.append(Problem(field, f"a date, e.g. 2026-03-01, got {value!r}"))
        return None


def _text(value: Any, field: str, problems: list[Problem], limit: int = 200) -> str:
    text = "" if value is None else str(value).strip()
    if len(text) > limit:
        problems.append(Problem(field, f"at most {limit} characters"))
    return text


def _dates(
    start: dt.date | None, end: dt.date | None, ongoing: bool, problems: list[Problem]
) -> None:
    """The date rules of a CM or MH row (the order rules are enforced after these)."""
    today = now().date()
    if start is not None and start > today:
        problems.append(Problem("start_date", "in the future"))
    if end is not None and end > today:
        problems.append(Problem("end_date", "in the future: leave it blank and tick ongoing"))
    if ongoing and end is not None:
        problems.append(Problem("end_date", "an ongoing one has no end date: leave it blank"))


def _enforce_dates(
    p: Participant, kind: str, label: str, start: dt.date | None, end: dt.date | None
) -> None:
    if start is not None:
        enforce(p, Occurrence(kind, _midnight(start), f"the start of {label}"), "start_date")
    if end is not None:
        if kind == "medication":  # a condition of the history may end after consent
            enforce(p, Occurrence(kind, _midnight(end), f"the end of {label}"), "end_date")
        if start is not None:
            enforce(
                p,
                Occurrence(kind, _midnight(start), label, end=_midnight(end)),
                "end_date",
            )


def _consented(p: Participant, what: str) -> None:
    if p.status in (Participant.Status.SCREENED, Participant.Status.INELIGIBLE):
        raise Conflict("participant", f"{p.code} has not consented; {what} is taken after consent")


def medication_values(
    p: Participant,
    *,
    medication: Any = "",
    indication: Any = "",
    dose: Any = None,
    dose_unit: Any = "",
    route: Any = "",
    frequency: Any = "",
    start_date: Any = None,
    end_date: Any = None,
    ongoing: Any = False,
    not_done: Any = False,
    not_done_reason: Any = "",
    missing: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """The fields of a CM row checked by the medication form's rules (those of
    :func:`record_medication`, on entry and on a correction by ``edit_record``): the values
    to store, with ``missing`` the codes; an ActionError naming each field otherwise."""
    problems: list[Problem] = []
    name = _text(medication, "medication", problems)
    reason = _text(not_done_reason, "not_done_reason", problems, 1000)
    if not isinstance(not_done, bool) or not isinstance(ongoing, bool):
        raise ActionError(
            "not_done" if not isinstance(not_done, bool) else "ongoing", "true or false"
        )
    values: dict[str, Any] = {
        "medication": name,
        "indication": _text(indication, "indication", problems),
        "dose": dose,
        "dose_unit": _text(dose_unit, "dose_unit", problems, 40),
        "route": _text(route, "route", problems, 20),
        "frequency": _text(frequency, "frequency", problems, 20),
        "start_date": _date(start_date, "start_date", problems),
        "end_date": _date(end_date, "end_date", problems),
    }
    if not_done:
        given = [k for k, v in values.items() if v not in (None, "")]
        if given or ongoing or missing:
            problems.append(
                Problem(
                    "not_done",
                    f"not done: give no medication details ({', '.join(given)})"
                    if given
                    else "not done: give no medication details",
                )
            )
        if not reason:
            problems.append(Problem("not_done_reason", "why the medication history was not taken"))
        codes: dict[str, str] = {}
    else:
        if reason:
            problems.append(Problem("not_done_reason", "a reason is given only when not done"))
        if not name:
            problems.append(Problem("medication", "the medication's name is required"))
        if dose is not None:
            if (
                isinstance(dose, bool)
                or not isinstance(dose, (int, float))
                or not math.isfinite(dose)
                or dose <= 0
            ):
                problems.append(Problem("dose", f"a positive number, got {dose!r}"))
            elif not values["dose_unit"]:
                problems.append(Problem("dose_unit", "the unit of the dose"))
        if values["route"] not in ("", *labels.codes("route")):
            problems.append(Problem("route", f"one of {', '.join(labels.codes('route'))}"))
        if values["frequency"] not in ("", *labels.codes("frequency")):
            problems.append(Problem("frequency", f"one of {', '.join(labels.codes('frequency'))}"))
        codes, found = check_missing(missing, CM_MAY_BE_MISSING, values)
        problems += found
        _dates(values["start_date"], values["end_date"], ongoing, problems)
    if problems:
        raise ActionError(problems=problems)
    label = f"medication {name!r}"
    _enforce_dates(p, "medication", label, values["start_date"], values["end_date"])
    return {
        **values,
        "ongoing": ongoing,
        "not_done": not_done,
        "not_done_reason": reason,
        "missing": codes,
    }


@action("record_medication", CLINICAL_WRITERS)
def record_medication(
    actor: Staff,
    participant: Participant | str,
    *,
    medication: str = "",
    indication: str = "",
    dose: float | None = None,
    dose_unit: str = "",
    route: str = "",
    frequency: str = "",
    start_date: dt.date | str | None = None,
    end_date: dt.date | str | None = None,
    ongoing: bool = False,
    not_done: bool = False,
    not_done_reason: str = "",
    missing: Mapping[str, str] | None = None,
) -> ConcomitantMedication:
    """A prior or concomitant medication (a CM row).

    Parameters
    ----------
    actor : Staff
        An investigator or coordinator of the participant's site.
    participant : Participant or str
        A participant who has consented.
    medication : str
        The name as reported (CMTRT); required unless ``not_done``.
    indication, dose, dose_unit, route, frequency : optional
        CMINDC, CMDOSE, CMDOSU, CMROUTE (a code of :data:`celltrial.edc.labels.ROUTE`),
        CMDOSFRQ (a code of :data:`celltrial.edc.labels.FREQUENCY`).
    start_date, end_date : date, optional
        Dates (a medication may start before consent); not in the future, not after death,
        the end not before the start.
    ongoing : bool
        Still taken (CMENRTPT = ONGOING); then no end date.
    not_done, not_done_reason : bool, str
        The medication history was not taken: CMSTAT = NOT DONE, CMREASND the reason
        (required); no other field is given.
    missing : mapping, optional
        Field -> missing-data code for a field of :data:`CM_MAY_BE_MISSING` left blank.
    """
    p = participant_for(actor, participant, lock=True)
    _consented(p, "the medication history")
    values = medication_values(
        p,
        medication=medication,
        indication=indication,
        dose=dose,
        dose_unit=dose_unit,
        route=route,
        frequency=frequency,
        start_date=start_date,
        end_date=end_date,
        ongoing=ongoing,
        not_done=not_done,
        not_done_reason=not_done_reason,
        missing=missing,
    )
    row = ConcomitantMedication.objects.create(participant=p, **values, recorded_at=now())
    audit.write(actor, "record_medication", row, old=None, new=audit.snapshot(row))
    return row


def history_values(
    p: Participant,
    *,
    term: Any = "",
    start_date: Any = None,
    end_date: Any = None,
    ongoing: Any = False,
    not_done: Any = False,
    not_done_reason: Any = "",
    missing: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """The fields of an MH row checked by the medical-history form's rules (those of
    :func:`record_medical_history`, on entry and on a correction by ``edit_record``)."""
    problems: list[Problem] = []
    name = _text(term, "term", problems)
    reason = _text(not_done_reason, "not_done_reason", problems, 1000)
    if not isinstance(not_done, bool) or not isinstance(ongoing, bool):
        raise ActionError(
            "not_done" if not isinstance(not_done, bool) else "ongoing", "true or false"
        )
    start = _date(start_date, "start_date", problems)
    end = _date(end_date, "end_date", problems)
    values = {"term": name, "start_date": start, "end_date": end}
    codes: dict[str, str] = {}
    if not_done:
        if name or start or end or ongoing or missing:
            problems.append(Problem("not_done", "not done: give no condition"))
        if not reason:
            problems.append(Problem("not_done_reason", "why the medical history was not taken"))
    else:
        if reason:
            problems.append(Problem("not_done_reason", "a reason is given only when not done"))
        if not name:
            problems.append(Problem("term", "the condition is required"))
        codes, found = check_missing(missing, MH_MAY_BE_MISSING, values)
        problems += found
        _dates(start, end, ongoing, problems)
    if problems:
        raise ActionError(problems=problems)
    _enforce_dates(p, "history", f"condition {name!r}", start, end)
    return {
        **values,
        "ongoing": ongoing,
        "not_done": not_done,
        "not_done_reason": reason,
        "missing": codes,
    }


@action("record_medical_history", CLINICAL_WRITERS)
def record_medical_history(
    actor: Staff,
    participant: Participant | str,
    *,
    term: str = "",
    start_date: dt.date | str | None = None,
    end_date: dt.date | str | None = None,
    ongoing: bool = False,
    not_done: bool = False,
    not_done_reason: str = "",
    missing: Mapping[str, str] | None = None,
) -> MedicalHistory:
    """A condition of the medical history (an MH row).

    Parameters
    ----------
    actor : Staff
        An investigator or coordinator of the participant's site.
    participant : Participant or str
        A participant who has consented.
    term : str
        The condition as reported (MHTERM); required unless ``not_done``.
    start_date, end_date : date, optional
        The start is on or before the consent date (a condition that starts later is an
        adverse event: rule ``history_before_consent``); the end not before the start.
    ongoing : bool
        Still present (MHENRTPT = ONGOING); then no end date.
    not_done, not_done_reason : bool, str
        The history was not taken: MHSTAT = NOT DONE, MHREASND the reason.
    missing : mapping, optional
        Field -> missing-data code for ``start_date`` or ``end_date`` left blank.
    """
    p = participant_for(actor, participant, lock=True)
    _consented(p, "the medical history")
    values = history_values(
        p,
        term=term,
        start_date=start_date,
        end_date=end_date,
        ongoing=ongoing,
        not_done=not_done,
        not_done_reason=not_done_reason,
        missing=missing,
    )
    row = MedicalHistory.objects.create(participant=p, **values, recorded_at=now())
    audit.write(actor, "record_medical_history", row, old=None, new=audit.snapshot(row))
    return row


@action("set_site_time_zone", {Role.ADMIN})
def set_site_time_zone(actor: Staff, site: Site | str, time_zone: str) -> Site:
    """The IANA time zone of ``site`` (``Europe/Paris``): its forms read typed times in it and
    its pages show times in it; the database keeps UTC."""
    s = (
        site
        if isinstance(site, Site)
        else Site.objects.filter(trial_id=actor.trial_id, code=site).first()
    )
    if s is None or s.trial_id != actor.trial_id:
        raise NotFound("site", f"no site {site!r}")
    try:
        zone = labels.check_time_zone(time_zone)
    except ValueError as exc:
        raise ActionError("time_zone", str(exc)) from None
    old = audit.snapshot(s)
    s.time_zone = zone
    s.save(update_fields=["time_zone"])
    audit.write(actor, "set_site_time_zone", s, old=old, new=audit.snapshot(s))
    return s
