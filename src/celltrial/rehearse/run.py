"""Run a virtual trial through the EDC: the rehearsal from start to end."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from celltrial.protocol import Protocol
from celltrial.rehearse.summary import EdcRunSummary
from celltrial.rehearse.timeline import Timeline
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
) -> EdcRunSummary:
    """Run a virtual trial of ``n`` randomized participants through the configured EDC.

    The steps: (1) spread the virtual participants over the EDC's ``sites``; (2) find the
    site staff; (3) draw the candidates' pre-randomization half and put their consent,
    screening and randomization on the timeline; (4) take the earliest event off the timeline
    and enter it (:class:`celltrial.rehearse.steps.Site`), until none is left; a
    randomization adds that participant's outcomes to the timeline.

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
        newly randomized participants are drawn.
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
    for c in candidates:
        for event in before_randomization(c):
            timeline.add(event)
    site = Site(
        protocol,
        scenario,
        candidates,
        staff=staff,
        timeline=timeline,
        summary=summary,
        rng=rng,
    )
    done = 0
    while timeline:
        event = timeline.next()
        site.enter(event)
        done += 1
        if progress is not None:
            progress(done, done + len(timeline), event.kind)
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
