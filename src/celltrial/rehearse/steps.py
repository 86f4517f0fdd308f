"""The steps of a rehearsal: one method of :class:`Site` per kind of simulated event.

Each step enters one event with the EDC's action functions, as the role that would enter it,
handles a refusal as a site would, and records what it did in the run's
:class:`~celltrial.rehearse.summary.EdcRunSummary` (``entered``, ``fixes``, ``not_entered``).
This module imports the EDC's models: import it only once Django is configured.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import numpy as np

from celltrial.edc import actions
from celltrial.edc.models import AllocationSlot, Lot, Measurement, Participant, Role, Staff
from celltrial.protocol import Protocol
from celltrial.rehearse.codes import INFUSION_DEVIATION, OUTCOME, RELATEDNESS, SERIOUSNESS
from celltrial.rehearse.summary import EdcRunSummary, NotEntered, error_text
from celltrial.rehearse.timeline import Timeline
from celltrial.rehearse.today import AWARE_AFTER, SAE_REPORT_AFTER, dtc_time
from celltrial.simulate import Candidate, Scenario, TrialEvent, participant_events


@dataclasses.dataclass(frozen=True)
class SiteStaff:
    """The EDC users who enter a rehearsal's events (the first of each role)."""

    coordinator: Staff
    investigator: Staff
    pharmacist: Staff
    monitor: Staff

    @classmethod
    def from_edc(cls) -> SiteStaff:
        def first(role: str) -> Staff:
            found = Staff.objects.select_related("trial", "user").filter(role=role).first()
            if found is None:
                raise ValueError(f"the EDC has no {role}; create the trial with create_edc first")
            return found

        return cls(
            coordinator=first(Role.COORDINATOR),
            investigator=first(Role.INVESTIGATOR),
            pharmacist=first(Role.PHARMACIST),
            monitor=first(Role.MONITOR),
        )


class Site:
    """The site staff entering a virtual trial's events into the EDC, one step per kind.

    :meth:`enter` dispatches an event to its step; :meth:`randomize` puts the outcomes of each
    newly randomized participant on the ``timeline``.
    """

    def __init__(
        self,
        protocol: Protocol,
        scenario: Scenario,
        candidates: list[Candidate],
        *,
        staff: SiteStaff,
        timeline: Timeline,
        summary: EdcRunSummary,
        rng: np.random.Generator,
    ) -> None:
        self.protocol = protocol
        self.scenario = scenario
        self.staff = staff
        self.timeline = timeline
        self.summary = summary
        self.rng = rng
        self.candidates = {c.screening_id: c for c in candidates}
        self.code_of: dict[str, str] = {}  # screening id -> EDC participant code
        #: What the screening form stored (participant code -> the values' codes): the EDC
        #: exports them as the screening visit's findings, so they are not typed again as
        #: measurements of that visit (no double entry, issue 15).
        self.on_screening_form: dict[str, set[str]] = {}
        self.screening_visits = {v.id for v in protocol.schedule.visits if v.kind == "screening"}
        self.fatal_term: dict[str, str] = {}  # participant code -> term of the fatal SAE
        self.lots: set[str] = set()
        #: Each randomized candidate's events after randomization, drawn by :meth:`plan` for
        #: the arm the sealed list will give (screening id -> (arm, events)).
        self.planned: dict[str, tuple[str, list[TrialEvent]]] = {}
        #: Today, when the trial is in progress: nothing after it is entered.
        self.until: datetime | None = None
        self.steps: dict[str, Callable[[TrialEvent], None]] = {
            "consent": lambda e: None,  # filed with the screening form (see screen)
            "screening": self.screen,
            "randomization": self.randomize,
            "infusion": self.infuse,
            "measurement": self.measure,
            "adverse_event": self.report_adverse_event,
            "death": self.record_death,
            "withdrawal": self.withdraw,
            "deviation": self.log_deviation,
            "clinical_event": self.record_clinical_event,
            "completion": self.complete,
        }

    # -- bookkeeping -------------------------------------------------------------------------

    def enter(self, event: TrialEvent) -> None:
        """Enter one event with its step (or count it as not entered: no form for it)."""
        step = self.steps.get(event.kind)
        if step is None:
            self.refuse(event, f"the EDC has no form for a {event.kind}")
        else:
            step(event)

    def call(self, name: str, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        """Call an EDC action; count it when it succeeds."""
        result = fn(*args, **kwargs)
        self.summary.actions[name] += 1
        return result

    def refuse(self, event: TrialEvent, reason: str) -> None:
        """Count an event as not entered, with its reason."""
        who = event.usubjid or event.screening_id
        self.summary.not_entered.append(NotEntered(event.kind, event.time, who, reason))

    # -- the plan: every participant's events, before anything is entered ----------------------

    def plan(self, candidates: list[Candidate]) -> dict[str, list[TrialEvent]]:
        """Draw each randomized candidate's events after randomization now, in order of
        randomization, for the arm the EDC will give (:meth:`expected_arms`), so that a run
        can choose where to stop before it enters anything (:mod:`celltrial.rehearse.today`).

        The generator is used in the same order as when each participant's events are drawn
        at their randomization, so a run to the end enters the same trial either way. Should
        the EDC give another arm (a refused entry took another row), :meth:`randomize` draws
        that participant's events again.
        """
        order = sorted(
            (c for c in candidates if c.randomized),
            key=lambda c: c.randomize_at,  # stable: ties in order of screening, as the timeline
        )
        arms = self.expected_arms(order)
        self.planned = {}
        for c in order:
            arm = arms.get(c.screening_id)
            if arm is None:
                break  # the EDC decides (no list to read): later ones are drawn at randomization
            events = participant_events(
                self.protocol, self.scenario, c, arm, usubjid="", rng=self.rng
            )
            self.planned[c.screening_id] = (arm, events)
        return {sid: events for sid, (_, events) in self.planned.items()}

    def expected_arms(self, order: list[Candidate]) -> dict[str, str]:
        """The arm each candidate will get, randomized in ``order``: the next free row of the
        sealed list for their site and stratum (as ``randomize_participant`` takes it), or in
        a trial without randomization the arms in turn by the ratio (as :meth:`assign`)."""
        from celltrial.allocation import Factor, stratum_of

        protocol = self.protocol
        if protocol.design.assignment != "randomized":
            ratio = protocol.ratio() or {a.id: 1 for a in protocol.arms}
            cycle = [a for a, k in ratio.items() for _ in range(int(k))]
            return {c.screening_id: cycle[k % len(cycle)] for k, c in enumerate(order)}
        trial = self.staff.coordinator.trial_id
        free: dict[tuple[str, str], list[str]] = {}
        rows = AllocationSlot.objects.filter(trial_id=trial, taken_by__isnull=True).order_by(
            "sequence"
        )
        for site, stratum, arm in rows.values_list("site_code", "stratum", "arm"):
            free.setdefault((site, stratum), []).append(arm)
        factors = [Factor(s.factor, tuple(s.levels)) for s in protocol.design.allocation.strata]
        unstratified = any(stratum == "all" for _, stratum in free)
        out: dict[str, str] = {}
        for c in order:
            values = {k: str(v) for k, v in c.values.items()}
            stratum = "all" if unstratified else stratum_of(values, factors)
            cell = free.get((c.site, stratum), [])
            if not cell:
                break  # the list is exhausted: the EDC refuses, and says why
            out[c.screening_id] = cell.pop(0)
        return out

    # -- before randomization: the coordinator -------------------------------------------------

    def screen(self, event: TrialEvent) -> None:
        """Screening (``screen_participant``) and the consent form filed with it."""
        c = self.candidates[event.screening_id]
        values = {**self.screening_visit_values(c.screening_id), **c.values}
        coordinator = self.staff.coordinator
        stored = values
        try:
            p = self.call(
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
                self.refuse(event, error_text(exc))
                self.refuse(dataclasses.replace(event, kind="consent"), "not screened in the EDC")
                return
            p = self.call(
                "screen_participant",
                actions.screen_participant,
                coordinator,
                c.site,
                kept,
                screened_at=c.screened_at,
            )
            stored = kept
            self.summary.fixes["implausible screening value left blank"] += len(bad)
        self.code_of[c.screening_id] = p.code
        self.on_screening_form[p.code] = set(stored)
        self.summary.entered["screening"] += 1
        # Consent was signed before the screening procedures; the form is filed with them.
        try:
            self.call(
                "record_consent",
                actions.record_consent,
                coordinator,
                p.code,
                str(self.protocol.version),
                c.consent_at.date(),
            )
            self.summary.entered["consent"] += 1
        except actions.ActionError as exc:
            self.refuse(dataclasses.replace(event, kind="consent"), error_text(exc))

    def screening_visit_values(self, screening_id: str) -> dict[str, Any]:
        """The values the plan measures at the screening visit (SpO2, respiratory rate …
        besides the eligibility values): typed on the screening form, as on the web, which
        shows the screening visit's measurements. Empty when the participant's events are not
        drawn yet (the EDC decides the arm) or the visit is missed."""
        _, events = self.planned.get(screening_id, ("", []))
        for e in events:
            if e.kind == "measurement" and e.data.get("visit") in self.screening_visits:
                if e.data.get("missed"):
                    return {}
                return {k: v for k, v in e.data["values"].items() if v is not None}
        return {}

    def randomize(self, event: TrialEvent) -> None:
        """Enrol and randomize; then draw the participant's outcomes for the arm the EDC gave."""
        c = self.candidates[event.screening_id]
        code = self.code_of.get(c.screening_id)
        if code is None:
            self.refuse(event, "not screened in the EDC")
            return
        coordinator = self.staff.coordinator
        try:
            self.call("enroll", actions.enroll, coordinator, code, at=event.time)
            if self.protocol.design.assignment == "randomized":
                r = self.call(
                    "randomize_participant",
                    actions.randomize_participant,
                    coordinator,
                    code,
                    at=event.time,
                )
            else:
                r = self.assign(code, event)
        except actions.ActionError as exc:
            self.refuse(event, error_text(exc))
            return
        self.summary.entered["randomization"] += 1
        # The rehearsal is the unblinded system here: it reads the arm the EDC gave.
        arm = str(r.slot.arm)
        self.summary.arms[code] = arm
        planned_arm, events = self.planned.pop(c.screening_id, ("", []))
        if planned_arm != arm:  # not as planned (a refusal took another row): drawn now
            if planned_arm:
                self.summary.fixes["outcomes drawn again: the EDC gave another arm"] += 1
            events = participant_events(
                self.protocol, self.scenario, c, arm, usubjid=code, rng=self.rng
            )
        for e in events:
            self.timeline.add(dataclasses.replace(e, usubjid=code))

    def assign(self, code: str, event: TrialEvent) -> Any:
        """A non-randomized trial: the investigator assigns the arm (in turn, by the ratio,
        so that the arms fill as planned), or the EDC gives the next by enrolment order."""
        investigator = self.staff.investigator
        arm: str | None = None
        if self.protocol.design.allocation.method == "investigator":
            ratio = self.protocol.ratio() or {a.id: 1 for a in self.protocol.arms}
            cycle = [a for a, k in ratio.items() for _ in range(int(k))]
            arm = cycle[len(self.summary.arms) % len(cycle)]
        return self.call(
            "assign_participant",
            actions.assign_participant,
            investigator,
            code,
            arm=arm,
            at=event.time,
        )

    # -- after randomization ----------------------------------------------------------------

    def infuse(self, event: TrialEvent) -> None:
        """The pharmacist's infusion (registering and releasing its lot the first time)."""
        pharmacist = self.staff.pharmacist
        code = str(event.usubjid)
        arm = self.summary.arms[code]
        lot = str(event.data["lot"])
        if lot not in self.lots:
            if not Lot.objects.filter(number=lot).exists():
                self.call("register_lot", actions.register_lot, pharmacist, lot, arm)
                # release: unknown in the protocol -> released on the pharmacist's record.
                self.call("release_lot", actions.release_lot, pharmacist, lot, {})
            self.lots.add(lot)
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
            self.call(
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
                self.refuse(event, error_text(exc))
                return
            text = "Given outside the protocol's window or dose range: " + error_text(exc)
            try:
                self.call(
                    "record_infusion",
                    actions.record_infusion,
                    pharmacist,
                    code,
                    deviation=text[:500],
                    **kwargs,
                )
            except actions.ActionError as exc2:
                self.refuse(event, error_text(exc2))
                return
            self.summary.fixes["infusion recorded with a deviation"] += 1
        self.summary.entered["infusion"] += 1

    def measure(self, event: TrialEvent) -> None:
        """A visit and its measurements (or the visit marked not done when it was missed)."""
        coordinator = self.staff.coordinator
        code = str(event.usubjid)
        visit = str(event.data["visit"])
        if event.data.get("missed"):
            # Nothing measured: the visit is marked not done (its findings export as NOT DONE).
            try:
                self.call(
                    "record_visit_not_done",
                    actions.record_visit_not_done,
                    coordinator,
                    code,
                    visit,
                    reason="Visit missed",
                )
            except actions.ActionError as exc:
                self.refuse(event, error_text(exc))
                return
            self.summary.entered["measurement"] += 1
            return
        try:
            self.call("record_visit", actions.record_visit, coordinator, code, visit, at=event.time)
        except actions.NotFound:
            pass  # the screening visit is not in the EDC's post-randomization visit list
        except actions.Conflict:
            pass  # recorded already
        failed: list[str] = []
        # The screening visit's values the screening form stored are data already (exported
        # as that visit's findings): typed once, as a site would.
        typed = self.on_screening_form.get(code, set()) if visit in self.screening_visits else set()
        for m, value in event.data["values"].items():
            if value is None or m in typed:
                continue
            if self._record_value(code, visit, m, value, event, failed):
                self.summary.values_entered += 1
        if failed and len(failed) == len(event.data["values"]):
            self.refuse(event, "; ".join(failed))
            return
        if failed:
            self.summary.fixes[f"values refused at an entered visit: {'; '.join(failed)}"] += 1
        self.summary.entered["measurement"] += 1

    def _record_value(
        self, code: str, visit: str, m: str, value: Any, event: TrialEvent, failed: list[str]
    ) -> bool:
        """One measurement; an out-of-range value is confirmed. False (and noted) if refused."""
        coordinator = self.staff.coordinator
        kw = {"measured_at": event.time, "visit": visit}
        try:
            self.call(
                "record_measurement", actions.record_measurement, coordinator, code, m, value, **kw
            )
        except actions.ActionError as exc:
            if {p.field for p in exc.problems} != {"value"}:
                failed.append(f"{m}: {error_text(exc)}")
                return False
            try:
                self.call(
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
                failed.append(f"{m}: {error_text(exc2)}")
                return False
            self.summary.fixes["out-of-range value confirmed"] += 1
        return True

    def report_adverse_event(self, event: TrialEvent) -> None:
        """The investigator's AE report (and the SAE report, 6 hours after awareness)."""
        investigator = self.staff.investigator
        code = str(event.usubjid)
        d = event.data
        criteria = [c for col, c in SERIOUSNESS.items() if d.get(col) == "Y"]
        if d.get("AESER") == "Y" and not criteria:
            criteria = ["important_medical_event"]
        aware = event.time + AWARE_AFTER
        outcome = OUTCOME.get(str(d.get("AEOUT")), "unknown")
        ends = str(d.get("AEENDTC") or "")
        if self.until is not None and ends and outcome != "fatal" and dtc_time(ends) > self.until:
            outcome = "not_recovered"  # it ends after today: ongoing as far as anyone knows
        try:
            ae = self.call(
                "report_adverse_event",
                actions.report_adverse_event,
                investigator,
                code,
                term=str(d["AETERM"]),
                decoded_term=str(d.get("AEDECOD") or ""),
                onset=event.time,
                grade=int(d["AETOXGR"]),
                relatedness=RELATEDNESS.get(str(d.get("AEREL")), "not_related"),
                outcome=outcome,
                serious_criteria=criteria,
                aware_at=aware,
            )
        except actions.ActionError as exc:
            self.refuse(event, error_text(exc))
            return
        self.summary.entered["adverse_event"] += 1
        if ae.serious:
            if int(d["AETOXGR"]) == 5:
                self.fatal_term[code] = str(d["AETERM"])
            report_at = aware + SAE_REPORT_AFTER
            if self.until is not None and report_at > self.until:
                self.summary.sae_clocks += 1  # not filed yet: its 24 h clock runs today
                return
            self.call("report_sae", actions.report_sae, investigator, ae.pk, at=report_at)

    def record_death(self, event: TrialEvent) -> None:
        """The investigator's death record (cause: the term of the fatal SAE, if any)."""
        code = str(event.usubjid)
        self._entered_if_accepted(
            event,
            "record_death",
            actions.record_death,
            self.staff.investigator,
            code,
            died_at=event.time,
            cause=self.fatal_term.get(code, "unknown"),
        )

    def withdraw(self, event: TrialEvent) -> None:
        """The coordinator records the participant's withdrawal."""
        self._entered_if_accepted(
            event,
            "withdraw",
            actions.withdraw,
            self.staff.coordinator,
            str(event.usubjid),
            reason=str(event.data.get("reason") or "Withdrew consent"),
            by="participant",
            at=event.time,
        )

    def log_deviation(self, event: TrialEvent) -> None:
        """A deviation in the log: by the site at once for an infusion outside its window
        (also flagged on the infusion, EXDEVFL = Y), else by the monitor at monitoring."""
        term = str(event.data.get("term", ""))
        who = self.staff.coordinator if term.endswith(INFUSION_DEVIATION) else self.staff.monitor
        self._entered_if_accepted(
            event,
            "record_deviation",
            actions.record_deviation,
            who,
            str(event.usubjid),
            category=str(event.data.get("category", "minor")).lower(),
            description=term or "Protocol deviation",
            occurred_at=event.time,
        )

    def record_clinical_event(self, event: TrialEvent) -> None:
        """The coordinator records one of the protocol's clinical events (recovery …)."""
        self._entered_if_accepted(
            event,
            "record_clinical_event",
            actions.record_clinical_event,
            self.staff.coordinator,
            str(event.usubjid),
            event=str(event.data["event"]),
            occurred_at=event.time,
            term=str(event.data.get("label") or ""),
        )

    def complete(self, event: TrialEvent) -> None:
        """The coordinator records that the participant completed the study."""
        self._entered_if_accepted(
            event,
            "complete_study",
            actions.complete_study,
            self.staff.coordinator,
            str(event.usubjid),
            at=event.time,
        )

    def _entered_if_accepted(
        self,
        simulated: TrialEvent,
        name: str,
        fn: Callable[..., Any],
        /,
        *args: Any,
        **kwargs: Any,
    ) -> None:
        """One action for the event: counted as entered, or as not entered with the refusal."""
        try:
            self.call(name, fn, *args, **kwargs)
        except actions.ActionError as exc:
            self.refuse(simulated, error_text(exc))
            return
        self.summary.entered[simulated.kind] += 1

    # -- today, in a trial in progress: the monitor ------------------------------------------

    def query_latest_value(self) -> None:
        """The monitor, checking this week's entries against the source, queries the latest
        value recorded for a participant in follow-up (a query is monitoring's daily work;
        the simulator draws none)."""
        m = (
            Measurement.objects.filter(
                participant__status=Participant.Status.RANDOMIZED, number__isnull=False
            )
            .select_related("participant")
            .order_by("-measured_at", "-id")
            .first()
        )
        if m is None:
            return
        label = self.protocol.measurement(m.code).label
        unit = f" {m.unit}" if m.unit else ""
        visits = {v.id: v.label for v in self.protocol.schedule.visits}
        at = visits.get(m.visit, m.visit) or "an unscheduled time"
        text = (
            f"{label} {m.value}{unit} at {at}: the source "
            "document could not be found in the binder. Please check the value against it and "
            "confirm or correct."
        )
        self.call(
            "open_query",
            actions.open_query,
            self.staff.monitor,
            "measurement",
            m.pk,
            text,
            field="value",
        )
        self.summary.queries += 1
