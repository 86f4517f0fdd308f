"""A virtual trial entered through the EDC, event by event, as site staff would enter it.

The EDC gives each participant the arm of the next row of its own sealed allocation list, so
the simulator cannot decide arms. :func:`run_through_edc` therefore simulates in two halves:

1. the pre-randomization half of every virtual person (:func:`celltrial.simulate.screen_candidates`:
   screening values, eligibility, consent, weight, strata), entered in time order with the
   coordinator's actions (``screen_participant``, ``record_consent``, ``enroll``,
   ``randomize_participant``);
2. when the EDC has randomized a participant, the driver reads the arm it gave (the simulator
   plays the unblinded system; no site user sees it), draws that participant's outcomes for
   that arm (:func:`celltrial.simulate.participant_events`) and pushes them into one global
   time-ordered queue, so that every EDC action across participants happens in time order.

Each event is entered with the action functions site staff use, as the role that would enter it:
the coordinator screens, consents, enrolls, randomizes, records visits (and visits not done),
measurements, withdrawals, completions and the protocol's clinical events (recovery …); the
pharmacist registers and releases lots and records infusions; the investigator reports AEs
(and the SAE reports) and deaths. Deviations go to the deviation log: the coordinator logs
an infusion given outside its window at once (it is also flagged on the infusion, EXDEVFL),
the monitor logs the others (found at monitoring). An entry the EDC refuses is handled as a
site would (an out-of-range value confirmed, an infusion outside its window or dose range
recorded with a deviation), and anything still not entered is counted with its reason; none is
dropped silently. Django must be configured (``celltrial.edc.setup``) and the trial created
(:func:`celltrial.commands.edc.create_edc`) before the call.
"""

from __future__ import annotations

import dataclasses
import heapq
import itertools
from collections import Counter
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from typing import Any

import numpy as np

from celltrial.protocol import Protocol
from celltrial.simulate import (
    Candidate,
    Scenario,
    TrialEvent,
    participant_events,
    screen_candidates,
)
from celltrial.simulate.virtual import EVENT_ORDER

RELATEDNESS = {
    "NOT RELATED": "not_related",
    "UNLIKELY RELATED": "unlikely",
    "POSSIBLY RELATED": "possible",
    "PROBABLY RELATED": "probable",
    "RELATED": "definite",
}
OUTCOME = {
    "RECOVERED/RESOLVED": "recovered",
    "RECOVERING/RESOLVING": "recovering",
    "NOT RECOVERED/NOT RESOLVED": "not_recovered",
    "RECOVERED/RESOLVED WITH SEQUELAE": "recovered_with_sequelae",
    "FATAL": "fatal",
}
SERIOUSNESS = {
    "AESDTH": "death",
    "AESLIFE": "life_threatening",
    "AESHOSP": "hospitalization",
    "AESDISAB": "disability",
    "AESCONG": "congenital_anomaly",
    "AESMIE": "important_medical_event",
}
#: How the simulator words an infusion given outside its window ("Administration 2 outside its
#: window"): the site logs it at once; the monitor logs the other deviations.
INFUSION_DEVIATION = "outside its window"

Progress = Callable[[int, int, str], None]


@dataclasses.dataclass(frozen=True)
class NotEntered:
    """A simulated event that is not in the EDC, and why."""

    kind: str
    time: datetime
    who: str
    reason: str


@dataclasses.dataclass
class EdcRunSummary:
    """What :func:`run_through_edc` did.

    Every simulated event (``simulated``, by kind) is either entered (``entered``) or in
    ``not_entered`` with its reason. ``fixes`` counts refusals resolved as a site would;
    ``actions`` counts the successful EDC action calls by name.
    """

    simulated: Counter[str] = dataclasses.field(default_factory=Counter)
    entered: Counter[str] = dataclasses.field(default_factory=Counter)
    not_entered: list[NotEntered] = dataclasses.field(default_factory=list)
    fixes: Counter[str] = dataclasses.field(default_factory=Counter)
    actions: Counter[str] = dataclasses.field(default_factory=Counter)
    arms: dict[str, str] = dataclasses.field(default_factory=dict)
    values_entered: int = 0

    @property
    def screened(self) -> int:
        return self.entered["screening"]

    @property
    def randomized(self) -> int:
        return len(self.arms)

    def reasons(self) -> Counter[str]:
        """Events not entered, by kind and reason."""
        return Counter(f"{n.kind}: {n.reason}" for n in self.not_entered)

    def unaccounted(self) -> dict[str, int]:
        """Kinds whose simulated count is not entered + not entered (should be empty)."""
        missing = Counter(n.kind for n in self.not_entered)
        return {
            k: v - self.entered[k] - missing[k]
            for k, v in self.simulated.items()
            if v != self.entered[k] + missing[k]
        }


def _error_text(exc: Exception) -> str:
    problems = getattr(exc, "problems", None)
    if problems:
        return "; ".join(f"{p.field}: {p.message}" for p in problems)
    return str(exc)


def run_through_edc(
    protocol: Protocol,
    scenario: Scenario,
    *,
    n: int,
    sites: Sequence[str],
    rng: np.random.Generator,
    progress: Progress | None = None,
) -> EdcRunSummary:
    """Run a virtual trial of ``n`` randomized participants through the configured EDC.

    Parameters
    ----------
    protocol, scenario
        The trial's protocol (as loaded in the EDC) and the scenario of the virtual trial.
    n : int
        Participants the simulator means to randomize (more are screened).
    sites : sequence of str
        EDC site codes; the virtual participants are spread over them.
    rng : numpy.random.Generator
    progress : callable, optional
        ``progress(done, known, description)`` after each event; ``known`` grows as the
        outcomes of newly randomized participants are drawn.
    """
    from celltrial.edc import actions
    from celltrial.edc.models import Lot, Role, Staff

    if not sites:
        raise ValueError("sites: give at least one EDC site code")
    scenario = scenario.model_copy(
        update={"accrual": scenario.accrual.model_copy(update={"sites": list(sites)})}
    )

    def staff(role: str) -> Any:
        found = Staff.objects.select_related("trial", "user").filter(role=role).first()
        if found is None:
            raise ValueError(f"the EDC has no {role}; create the trial with create_edc first")
        return found

    coordinator = staff(Role.COORDINATOR)
    investigator = staff(Role.INVESTIGATOR)
    pharmacist = staff(Role.PHARMACIST)
    monitor = staff(Role.MONITOR)
    summary = EdcRunSummary()
    queue: list[tuple[datetime, int, int, TrialEvent]] = []
    counter = itertools.count()

    def push(event: TrialEvent) -> None:
        summary.simulated[event.kind] += 1
        heapq.heappush(queue, (event.time, EVENT_ORDER[event.kind], next(counter), event))

    def call(name: str, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        result = fn(*args, **kwargs)
        summary.actions[name] += 1
        return result

    def refuse(event: TrialEvent, reason: str) -> None:
        who = event.usubjid or event.screening_id
        summary.not_entered.append(NotEntered(event.kind, event.time, who, reason))

    candidates = screen_candidates(protocol, scenario, n=n, rng=rng)
    by_id: dict[str, Candidate] = {c.screening_id: c for c in candidates}
    for c in candidates:
        push(TrialEvent(c.consent_at, "consent", c.screening_id, None, c.site, {}))
        push(
            TrialEvent(
                c.screened_at,
                "screening",
                c.screening_id,
                None,
                c.site,
                {"values": dict(c.values), "eligible": c.eligible},
            )
        )
        if c.randomized:
            push(TrialEvent(c.randomize_at, "randomization", c.screening_id, None, c.site, {}))

    code_of: dict[str, str] = {}  # screening id -> EDC participant code
    fatal_term: dict[str, str] = {}
    lots: set[str] = set()
    done = 0

    def screening(event: TrialEvent) -> None:
        c = by_id[event.screening_id]
        values = dict(c.values)
        try:
            p = call(
                "screen_participant",
                actions.screen_participant,
                coordinator,
                c.site,
                values,
                screened_at=c.screened_at,
            )
        except actions.ActionError as exc:
            # A site does not enter an implausible value: it leaves it blank and re-measures.
            bad = {pr.field.removeprefix("values.") for pr in exc.problems}
            kept = {k: v for k, v in values.items() if k not in bad}
            if not bad or len(kept) == len(values):
                refuse(event, _error_text(exc))
                refuse(dataclasses.replace(event, kind="consent"), "not screened in the EDC")
                return
            p = call(
                "screen_participant",
                actions.screen_participant,
                coordinator,
                c.site,
                kept,
                screened_at=c.screened_at,
            )
            summary.fixes["implausible screening value left blank"] += len(bad)
        code_of[c.screening_id] = p.code
        summary.entered["screening"] += 1
        # Consent was signed before the screening procedures; the form is filed with them.
        try:
            call(
                "record_consent",
                actions.record_consent,
                coordinator,
                p.code,
                str(protocol.version),
                c.consent_at.date(),
            )
            summary.entered["consent"] += 1
        except actions.ActionError as exc:
            refuse(dataclasses.replace(event, kind="consent"), _error_text(exc))

    def randomization(event: TrialEvent) -> None:
        c = by_id[event.screening_id]
        code = code_of.get(c.screening_id)
        if code is None:
            refuse(event, "not screened in the EDC")
            return
        try:
            call("enroll", actions.enroll, coordinator, code, at=event.time)
            r = call(
                "randomize_participant",
                actions.randomize_participant,
                coordinator,
                code,
                at=event.time,
            )
        except actions.ActionError as exc:
            refuse(event, _error_text(exc))
            return
        summary.entered["randomization"] += 1
        # The simulator is the unblinded system here: it reads the arm the EDC gave.
        arm = str(r.slot.arm)
        summary.arms[code] = arm
        for e in participant_events(protocol, scenario, c, arm, usubjid=code, rng=rng):
            push(e)

    def infusion(event: TrialEvent) -> None:
        code = str(event.usubjid)
        arm = summary.arms[code]
        lot = str(event.data["lot"])
        if lot not in lots:
            if not Lot.objects.filter(number=lot).exists():
                call("register_lot", actions.register_lot, pharmacist, lot, arm)
                # release: unknown in the protocol -> released on the pharmacist's record.
                call("release_lot", actions.release_lot, pharmacist, lot, {})
            lots.add(lot)
        number = int(event.data["number"])
        deviation = f"Administration {number} outside its window" if event.data["deviation"] else ""
        kwargs: dict[str, Any] = {
            "lot": lot,
            "started_at": event.time,
            "stopped_at": event.time + timedelta(hours=1),
            "delivered": float(event.data["amount"]),
            "number": number,
        }
        try:
            call(
                "record_infusion",
                actions.record_infusion,
                pharmacist,
                code,
                deviation=deviation,
                **kwargs,
            )
        except actions.ActionError as exc:
            fixable = {"started_at", "delivered"}
            if deviation or not {p.field for p in exc.problems} <= fixable:
                refuse(event, _error_text(exc))
                return
            text = "Given outside the protocol's window or dose range: " + _error_text(exc)
            try:
                call(
                    "record_infusion",
                    actions.record_infusion,
                    pharmacist,
                    code,
                    deviation=text[:500],
                    **kwargs,
                )
            except actions.ActionError as exc2:
                refuse(event, _error_text(exc2))
                return
            summary.fixes["infusion recorded with a deviation"] += 1
        summary.entered["infusion"] += 1

    def measurement(event: TrialEvent) -> None:
        code = str(event.usubjid)
        visit = str(event.data["visit"])
        if event.data.get("missed"):
            # Nothing measured: the visit is marked not done (its findings export as NOT DONE).
            try:
                call(
                    "record_visit_not_done",
                    actions.record_visit_not_done,
                    coordinator,
                    code,
                    visit,
                    reason="Visit missed",
                )
            except actions.ActionError as exc:
                refuse(event, _error_text(exc))
                return
            summary.entered["measurement"] += 1
            return
        try:
            call("record_visit", actions.record_visit, coordinator, code, visit, at=event.time)
        except actions.NotFound:
            pass  # the screening visit is not in the EDC's post-randomization visit list
        except actions.Conflict:
            pass  # recorded already
        failed: list[str] = []
        for m, value in event.data["values"].items():
            if value is None:
                continue
            kw = {"measured_at": event.time, "visit": visit}
            try:
                call(
                    "record_measurement",
                    actions.record_measurement,
                    coordinator,
                    code,
                    m,
                    value,
                    **kw,
                )
            except actions.ActionError as exc:
                if {p.field for p in exc.problems} != {"value"}:
                    failed.append(f"{m}: {_error_text(exc)}")
                    continue
                try:
                    call(
                        "record_measurement",
                        actions.record_measurement,
                        coordinator,
                        code,
                        m,
                        value,
                        confirmed=True,
                        **kw,
                    )
                except actions.ActionError as exc2:
                    failed.append(f"{m}: {_error_text(exc2)}")
                    continue
                summary.fixes["out-of-range value confirmed"] += 1
            summary.values_entered += 1
        if failed and len(failed) == len(event.data["values"]):
            refuse(event, "; ".join(failed))
            return
        if failed:
            summary.fixes[f"values refused at an entered visit: {'; '.join(failed)}"] += 1
        summary.entered["measurement"] += 1

    def adverse_event(event: TrialEvent) -> None:
        code = str(event.usubjid)
        d = event.data
        criteria = [c for col, c in SERIOUSNESS.items() if d.get(col) == "Y"]
        if d.get("AESER") == "Y" and not criteria:
            criteria = ["important_medical_event"]
        aware = event.time + timedelta(hours=1)
        try:
            ae = call(
                "report_adverse_event",
                actions.report_adverse_event,
                investigator,
                code,
                term=str(d["AETERM"]),
                decoded_term=str(d.get("AEDECOD") or ""),
                onset=event.time,
                grade=int(d["AETOXGR"]),
                relatedness=RELATEDNESS.get(str(d.get("AEREL")), "not_related"),
                outcome=OUTCOME.get(str(d.get("AEOUT")), "unknown"),
                serious_criteria=criteria,
                aware_at=aware,
            )
        except actions.ActionError as exc:
            refuse(event, _error_text(exc))
            return
        summary.entered["adverse_event"] += 1
        if ae.serious:
            if int(d["AETOXGR"]) == 5:
                fatal_term[code] = str(d["AETERM"])
            call(
                "report_sae", actions.report_sae, investigator, ae.pk, at=aware + timedelta(hours=6)
            )

    def death(event: TrialEvent) -> None:
        code = str(event.usubjid)
        try:
            call(
                "record_death",
                actions.record_death,
                investigator,
                code,
                died_at=event.time,
                cause=fatal_term.get(code, "unknown"),
            )
        except actions.ActionError as exc:
            refuse(event, _error_text(exc))
            return
        summary.entered["death"] += 1

    def withdrawal(event: TrialEvent) -> None:
        try:
            call(
                "withdraw",
                actions.withdraw,
                coordinator,
                str(event.usubjid),
                reason=str(event.data.get("reason") or "Withdrew consent"),
                by="participant",
                at=event.time,
            )
        except actions.ActionError as exc:
            refuse(event, _error_text(exc))
            return
        summary.entered["withdrawal"] += 1

    def deviation(event: TrialEvent) -> None:
        term = str(event.data.get("term", ""))
        # An infusion outside its window is flagged on the infusion (EXDEVFL = Y) and logged by
        # the site at once; other deviations are found and logged by the monitor.
        who = coordinator if term.endswith(INFUSION_DEVIATION) else monitor
        try:
            call(
                "record_deviation",
                actions.record_deviation,
                who,
                str(event.usubjid),
                category=str(event.data.get("category", "minor")).lower(),
                description=term or "Protocol deviation",
                occurred_at=event.time,
            )
        except actions.ActionError as exc:
            refuse(event, _error_text(exc))
            return
        summary.entered["deviation"] += 1

    def clinical_event(event: TrialEvent) -> None:
        try:
            call(
                "record_clinical_event",
                actions.record_clinical_event,
                coordinator,
                str(event.usubjid),
                event=str(event.data["event"]),
                occurred_at=event.time,
                term=str(event.data.get("label") or ""),
            )
        except actions.ActionError as exc:
            refuse(event, _error_text(exc))
            return
        summary.entered["clinical_event"] += 1

    def completion(event: TrialEvent) -> None:
        try:
            call(
                "complete_study",
                actions.complete_study,
                coordinator,
                str(event.usubjid),
                at=event.time,
            )
        except actions.ActionError as exc:
            refuse(event, _error_text(exc))
            return
        summary.entered["completion"] += 1

    handlers: dict[str, Callable[[TrialEvent], None]] = {
        "consent": lambda e: None,  # filed with the screening form (see screening)
        "screening": screening,
        "randomization": randomization,
        "infusion": infusion,
        "measurement": measurement,
        "adverse_event": adverse_event,
        "death": death,
        "withdrawal": withdrawal,
        "deviation": deviation,
        "clinical_event": clinical_event,
        "completion": completion,
    }
    while queue:
        _, _, _, event = heapq.heappop(queue)
        handler = handlers.get(event.kind)
        if handler is None:
            refuse(event, f"the EDC has no form for a {event.kind}")
        else:
            handler(event)
        done += 1
        if progress is not None:
            progress(done, done + len(queue), event.kind)
    return summary
