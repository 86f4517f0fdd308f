"""Property: whatever a site does through the EDC — valid and invalid actions, edits included,
in any order and at any time — the dataset it exports has no check errors (issue 15).

Each example is a random sequence of site actions on one or two participants (screened,
consented and enrolled first), run through the EDC's actions; refused actions (an
:class:`~celltrial.edc.actions.ActionError`, 4xx) are part of the sequence. Anything else
raised is a failure, and so is any error of :func:`celltrial.dataset.check_dataset` (or of the
dataset's own load checks) on the export. Each example runs in a savepoint rolled back at its
end. Derandomized and bounded: ``CELLTRIAL_PROPERTY_EXAMPLES`` sequences (default 200).
SQLite, and PostgreSQL with ``DATABASE_URL`` (``scripts/with-postgres.sh``).
"""

from __future__ import annotations

import datetime as dt
import os
from typing import Any

from django.db import transaction
from edc_helpers import ELIGIBLE, released_lot
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from celltrial.dataset import check_dataset, errors, make_dataset
from celltrial.edc import actions
from celltrial.edc.actions import ActionError
from celltrial.edc.actions.edit import IN_ERROR
from celltrial.edc.export import tables
from celltrial.edc.models import AdverseEvent, Consent, Death, Measurement, Randomization

EXAMPLES = int(os.environ.get("CELLTRIAL_PROPERTY_EXAMPLES", "200"))
HOURS = 24 * 40  # the sequences' times span 40 days before now (and a little after)

VISITS = ("baseline", "day7", "day28", "day90")
hours = st.integers(min_value=0, max_value=HOURS + 48)  # past the end: in the future
who = st.integers(min_value=0, max_value=1)

step = st.one_of(
    st.tuples(st.just("randomize"), who, hours),
    st.tuples(st.just("infusion"), who, hours, st.booleans()),
    st.tuples(
        st.just("measurement"),
        who,
        hours,
        st.sampled_from([30, 1e9, "abc", 5]),
    ),
    st.tuples(st.just("ae"), who, hours, st.integers(min_value=-48, max_value=48)),
    st.tuples(st.just("event"), who, hours),
    st.tuples(st.just("deviation"), who, hours),
    st.tuples(st.just("visit"), who, st.sampled_from(VISITS), hours),
    st.tuples(st.sampled_from(["withdraw", "lost", "death", "complete"]), who, hours),
    st.tuples(
        st.sampled_from(["edit_measurement", "edit_ae", "edit_death"]),
        who,
        hours,
    ),
    st.tuples(st.just("edit_consent"), who, st.integers(min_value=-5, max_value=45)),
    # "entered in error" (issue 15): the participant's first record of the kind
    st.tuples(
        st.sampled_from(["in_error_infusion", "in_error_visit", "in_error_disposition"]), who
    ),
)
sequences = st.tuples(
    st.lists(st.integers(min_value=0, max_value=6), min_size=2, max_size=2),  # consent days
    st.lists(step, min_size=1, max_size=14),
)


class _Rollback(Exception):
    """Ends an example's savepoint."""


def _run(trial: Any, lots: dict[str, Any], start: dt.datetime, seq: Any) -> list[str]:
    consent_days, steps = seq
    c, pharm = trial["coord1"], trial["pharm"]
    people = []
    for days in consent_days:
        p = actions.screen_participant(c, "site1", dict(ELIGIBLE))
        actions.record_consent(c, p, "2.1", (start + dt.timedelta(days=days)).date())
        actions.enroll(c, p)
        people.append(p)
    log: list[str] = []

    def at(h: int) -> dt.datetime:
        return start + dt.timedelta(hours=h)

    for s in steps:
        kind, p = s[0], people[s[1]]
        try:
            if kind == "randomize":
                actions.randomize_participant(c, p, at=at(s[2]))
            elif kind == "infusion":
                r = Randomization.objects.select_related("slot").filter(participant=p).first()
                arm = r.slot.arm if r is not None else "msc"
                actions.record_infusion(
                    pharm,
                    p,
                    lot=lots[arm],
                    started_at=at(s[2]),
                    delivered=1.0 if s[3] else 7e7,
                    deviation="given outside the plan" if s[3] else "",
                )
            elif kind == "measurement":
                actions.record_measurement(c, p, "il6", s[3], measured_at=at(s[2]))
            elif kind == "ae":
                actions.report_adverse_event(
                    c,
                    p,
                    term="chills",
                    onset=at(s[2]),
                    aware_at=at(s[2] + s[3]),
                    grade=1,
                    relatedness="possible",
                    outcome="recovered",
                )
            elif kind == "event":
                actions.record_clinical_event(c, p, event="extubation", occurred_at=at(s[2]))
            elif kind == "deviation":
                actions.record_deviation(
                    c, p, category="minor", description="late sample", occurred_at=at(s[2])
                )
            elif kind == "visit":
                actions.record_visit(c, p, s[2], at=at(s[3]))
            elif kind == "withdraw":
                actions.withdraw(c, p, reason="moved away", at=at(s[2]))
            elif kind == "lost":
                actions.mark_lost_to_follow_up(c, p, last_contact=at(s[2]))
            elif kind == "death":
                actions.record_death(c, p, died_at=at(s[2]), cause="ARDS")
            elif kind == "complete":
                actions.complete_study(c, p, at=at(s[2]))
            elif kind == "edit_measurement":
                m = Measurement.objects.filter(participant=p).order_by("id").first()
                if m is not None:
                    actions.edit_record(
                        c, "measurement", m.pk, {"measured_at": at(s[2])}, reason="typo"
                    )
            elif kind == "edit_ae":
                a = AdverseEvent.objects.filter(participant=p).order_by("id").first()
                if a is not None:
                    actions.edit_record(
                        c, "adverse_event", a.pk, {"onset": at(s[2])}, reason="typo"
                    )
            elif kind == "edit_death":
                d = Death.objects.filter(participant=p).first()
                if d is not None:
                    actions.edit_record(c, "death", d.pk, {"died_at": at(s[2])}, reason="typo")
            elif kind.startswith("in_error_"):
                table = kind.removeprefix("in_error_")
                model = IN_ERROR[table]._default_manager
                first = model.filter(participant=p).order_by("id").first()
                if first is not None:
                    actions.mark_entered_in_error(
                        pharm if table == "infusion" else c, table, first.pk, reason="typo"
                    )
            elif kind == "edit_consent":
                k = Consent.objects.filter(participant=p).first()
                assert k is not None
                day = (start + dt.timedelta(days=s[2])).date()
                actions.edit_record(c, "consent", k.pk, {"consented_on": day}, reason="typo")
            log.append(f"{s}: done")
        except ActionError as exc:
            log.append(f"{s}: {type(exc).__name__} {exc}")
    return log


def test_any_sequence_of_site_actions_exports_a_dataset_without_errors(trial):
    lots = {arm: released_lot(trial, arm) for arm in ("msc", "placebo")}
    protocol = trial.admin.trial.active_protocol().protocol
    now = dt.datetime.now(dt.UTC).replace(second=0, microsecond=0)
    start = now - dt.timedelta(hours=HOURS)

    @settings(
        max_examples=EXAMPLES,
        derandomize=True,
        deadline=None,
        database=None,
        phases=[Phase.explicit, Phase.generate],  # no shrinking: the log shows the sequence
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )
    @given(sequences)
    def check(seq: Any) -> None:
        try:
            with transaction.atomic():
                log = _run(trial, lots, start, seq)
                raw = tables(trial.admin.trial)
                if raw["DM"].empty:  # nobody randomized: no dataset to analyse (and none made)
                    raise _Rollback
                ds = make_dataset(raw)
                bad = errors([*ds.problems, *check_dataset(ds, protocol)])
                assert not bad, "\n".join([*map(str, bad), "-- the sequence:", *log])
                raise _Rollback
        except _Rollback:
            pass

    check()
