"""celltrial.rehearse: a protocol's virtual trial driven through the EDC's own actions.

The rehearsal sits above :mod:`celltrial.simulate` (which makes the virtual participants and
their events) and :mod:`celltrial.edc` (which runs the trial), and below the commands
(``celltrial demo``). It enters the simulated events one by one, in time order across
participants, with the action functions site staff use, as the role that would enter each.

The EDC gives each participant the arm of the next row of its own sealed allocation list, so
the simulator cannot decide arms; :func:`run_through_edc` therefore simulates in two halves:

1. the pre-randomization half of every virtual person (:func:`celltrial.simulate.screen_candidates`:
   screening values, eligibility, consent, weight, strata) goes on the :class:`Timeline`, and
   the coordinator enters it (``screen_participant``, ``record_consent``, ``enroll``,
   ``randomize_participant``; in a non-randomized trial the investigator's
   ``assign_participant``, arms in turn by the ratio);
2. each randomized candidate's outcomes (:func:`celltrial.simulate.participant_events`) are
   drawn before anything is entered, for the arm the EDC's sealed list will give (the
   rehearsal plays the unblinded system; no site user sees it); when the EDC has randomized a
   participant, the rehearsal reads the arm it gave and puts that participant's events on the
   same timeline, so that every EDC action across participants happens in time order.

With ``today`` the trial is left in progress (:mod:`celltrial.rehearse.today`): the moment at
which every role has work is moved to today's hour and only what happened by then is entered.

The steps, one per kind of event, are the methods of ``celltrial.rehearse.steps.Site``: the
coordinator screens, consents, enrolls, randomizes, records visits (and visits not done),
measurements, withdrawals, completions and the protocol's clinical events (recovery …); the
pharmacist registers and releases lots and records infusions; the investigator reports AEs
(and the SAE reports) and deaths. Deviations go to the deviation log: the coordinator logs an
infusion given outside its window at once (it is also flagged on the infusion, EXDEVFL), the
monitor logs the others (found at monitoring). An entry the EDC refuses is handled as a site
would (an out-of-range value confirmed, an infusion outside its window or dose range recorded
with a deviation), and anything still not entered is counted with its reason
(:class:`EdcRunSummary`); none is dropped silently.

Django must be configured (``celltrial.edc.setup``) and the trial created
(:func:`celltrial.commands.edc.create_edc`) before :func:`run_through_edc` is called; the EDC is
imported only then (``steps.py``), so importing this package needs no Django.
"""

from celltrial.rehearse.codes import INFUSION_DEVIATION, OUTCOME, RELATEDNESS, SERIOUSNESS
from celltrial.rehearse.run import Progress, run_through_edc
from celltrial.rehearse.summary import EdcRunSummary, NotEntered
from celltrial.rehearse.timeline import Timeline

__all__ = [
    "INFUSION_DEVIATION",
    "OUTCOME",
    "RELATEDNESS",
    "SERIOUSNESS",
    "EdcRunSummary",
    "NotEntered",
    "Progress",
    "Timeline",
    "run_through_edc",
]
