"""Run a virtual trial through the EDC: the rehearsal from start to end."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime

import numpy as np

from celltrial.protocol import Protocol
from celltrial.rehearse.summary import EdcRunSummary
from celltrial.rehearse.timeline import Timeline
from celltrial.rehearse.today import choose_stop, shift_candidate, shift_event, this_hour
from celltrial.simulate import Candidate, Scenario, TrialEvent, screen_candidates

#: ``progress(done, known, kind)`` after each event entered.
Progress = Callable[[int, int, str], None]


def run_through_edc(
    protocol: Protocol,
    scenario: Scenario,
    *,
    n: int,
    sites: Sequence[str],
    rng: np.random.Generator,
    progress: Progress | None = None,
    today: datetime | None = None,
) -> EdcRunSummary:
    """Run a virtual trial of ``n`` randomized participants through the configured EDC.

    The steps: (1) spread the virtual participants over the EDC's ``sites``; (2) find the
    site staff; (3) draw the candidates' pre-randomization half, then each randomized one's
    events after randomization for the arm the sealed list will give
    (:meth:`~celltrial.rehearse.steps.Site.plan`); (4) with ``today``, choose the moment of
    the trial that is today (:func:`celltrial.rehearse.today.choose_stop`) and move every
    time so that it falls on today's hour; (5) put the consents, screenings and
    randomizations on the timeline; (6) take the earliest event off the timeline and enter it
    (:class:`celltrial.rehearse.steps.Site`), until none is left or the next is after today;
    a randomization adds that participant's events to the timeline; (7) with ``today``, the
    monitor queries the latest value (:meth:`~celltrial.rehearse.steps.Site.query_latest_value`).

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
        ``progress(done, known, kind)`` after each event; ``known`` grows as the outcomes of
        newly randomized participants are put on the timeline.
    today : datetime, optional
        Run a trial in progress up to this time (time-zone aware; not in the future: the EDC
        refuses future times). Without it, the whole trial, at the scenario's dates.
    """
    from celltrial.rehearse.steps import Site, SiteStaff  # the EDC: Django is configured now

    if not sites:
        raise ValueError("sites: give at least one EDC site code")
    scenario = scenario.model_copy(
        update={"accrual": scenario.accrual.model_copy(update={"sites": list(sites)})}
    )
    staff = SiteStaff.from_edc()
    summary = EdcRunSummary()
    timeline = Timeline(summary.simulated)
    candidates = screen_candidates(protocol, scenario, n=n, rng=rng)
    site = Site(
        protocol,
        scenario,
        candidates,
        staff=staff,
        timeline=timeline,
        summary=summary,
        rng=rng,
    )
    planned = site.plan(candidates)
    if today is not None:
        now = this_hour(today)
        stop = choose_stop(candidates, planned)
        shift = now - stop.at
        candidates = [shift_candidate(c, shift) for c in candidates]
        site.candidates = {c.screening_id: c for c in candidates}
        site.planned = {
            sid: (arm, [shift_event(e, shift) for e in events])
            for sid, (arm, events) in site.planned.items()
        }
        site.until = summary.today = now
        summary.stop_why = stop.why
    for c in candidates:
        for event in before_randomization(c):
            timeline.add(event)
    done = 0
    while timeline:
        event = timeline.next()
        if site.until is not None and event.time > site.until:
            summary.future[event.kind] += 1  # after today: it has not happened yet
            continue
        site.enter(event)
        done += 1
        if progress is not None:
            progress(done, done + len(timeline), event.kind)
    if site.until is not None:
        site.query_latest_value()
    return summary


def before_randomization(c: Candidate) -> list[TrialEvent]:
    """A candidate's consent, screening and (if the simulator randomizes them) randomization."""
    events = [
        TrialEvent(c.consent_at, "consent", c.screening_id, None, c.site, {}),
        TrialEvent(
            c.screened_at,
            "screening",
            c.screening_id,
            None,
            c.site,
            {"values": dict(c.values), "eligible": c.eligible},
        ),
    ]
    if c.randomized:
        events.append(TrialEvent(c.randomize_at, "randomization", c.screening_id, None, c.site, {}))
    return events
