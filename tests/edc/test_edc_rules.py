"""One rule set from entry to analysis (issue 15): every record the EDC refuses here is one the
dataset checks (:func:`celltrial.dataset.check_dataset`) would refuse, and each refusal is a 422
naming the form's field and the rule (:mod:`celltrial.dataset.rules`).

Each test reproduces a defect found through the API before the rules were shared: the EDC
stored the record and the DSMB's closed report then answered 409. SQLite, and PostgreSQL with
``DATABASE_URL``. Times are relative to now (the actions refuse future times).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from edc_helpers import As, randomized

from celltrial.dataset import check_dataset, errors, make_dataset
from celltrial.dataset.rules import RULES, rules_table
from celltrial.edc import actions
from celltrial.edc.export import tables

HOUR = dt.timedelta(hours=1)
MINUTE = dt.timedelta(minutes=1)


def iso(t: dt.datetime) -> str:
    return t.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def now() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(second=0, microsecond=0)


def refused(r: Any, field: str, rule: str) -> None:
    """A 422 whose problems name ``field`` and the rule ``rule``."""
    assert r.status_code == 422, r.content
    detail = r.json()["detail"]
    assert any(d["field"] == field and f"rule {rule}" in d["message"] for d in detail), detail


def dataset_errors(trial: Any) -> list[Any]:
    protocol = trial.admin.trial.active_protocol().protocol
    ds = make_dataset(tables(trial.admin.trial))
    return errors([*ds.problems, *check_dataset(ds, protocol)])


def ae(onset: dt.datetime, aware: dt.datetime | None = None, **more: Any) -> dict[str, Any]:
    body = {
        "term": "chills",
        "onset": iso(onset),
        "grade": 1,
        "relatedness": "possible",
        "outcome": "recovered",
    }
    if aware is not None:
        body["aware_at"] = iso(aware)
    return body | more


@pytest.fixture
def coord(clients: dict[str, As]) -> As:
    return clients["coord1"]


def test_death_before_randomization_is_refused(trial, coord):
    randomized_at = now() - 5 * HOUR
    p = randomized(trial, at=randomized_at)
    r = coord.call(
        "post",
        f"/participants/{p.code}/death",
        {"died_at": iso(randomized_at - MINUTE), "cause": "ARDS"},
    )
    refused(r, "died_at", "nothing_after_death")
    assert (
        coord.call(
            "post",
            f"/participants/{p.code}/death",
            {"died_at": iso(randomized_at + MINUTE), "cause": "ARDS"},
        ).status_code
        == 200
    )
    assert dataset_errors(trial) == []


def test_ae_onset_after_death_is_refused_a_late_report_is_not(trial, coord):
    p = randomized(trial, at=now() - 10 * HOUR)
    died = now() - 2 * HOUR
    coord.call("post", f"/participants/{p.code}/death", {"died_at": iso(died), "cause": "ARDS"})
    refused(
        coord.call("post", f"/participants/{p.code}/adverse-events", ae(died + HOUR)),
        "onset",
        "nothing_after_death",
    )
    # Reported after the death (awareness now), onset before it: the protocol allows it.
    r = coord.call("post", f"/participants/{p.code}/adverse-events", ae(died - HOUR))
    assert r.status_code == 200, r.content
    assert dataset_errors(trial) == []


def test_lab_value_after_death_is_refused(trial, coord):
    p = randomized(trial, at=now() - 10 * HOUR)
    died = now() - 2 * HOUR
    coord.call("post", f"/participants/{p.code}/death", {"died_at": iso(died), "cause": "ARDS"})
    late = {"code": "il6", "value": 30, "measured_at": iso(died + MINUTE)}
    refused(
        coord.call("post", f"/participants/{p.code}/measurements", late),
        "measured_at",
        "nothing_after_death",
    )
    # No time given: "now", after the death.
    refused(
        coord.call("post", f"/participants/{p.code}/measurements", {"code": "il6", "value": 30}),
        "measured_at",
        "nothing_after_death",
    )
    before = {"code": "il6", "value": 30, "measured_at": iso(died - HOUR)}
    assert coord.call("post", f"/participants/{p.code}/measurements", before).status_code == 200
    assert dataset_errors(trial) == []


def test_lab_value_after_withdrawal_is_refused(trial, coord):
    p = randomized(trial, at=now() - 10 * HOUR)
    left = now() - 2 * HOUR
    r = coord.call(
        "post", f"/participants/{p.code}/withdraw", {"reason": "no further data", "at": iso(left)}
    )
    assert r.status_code == 200, r.content
    late = {"code": "il6", "value": 30, "measured_at": iso(left + HOUR)}
    refused(
        coord.call("post", f"/participants/{p.code}/measurements", late),
        "measured_at",
        "nothing_after_end",
    )
    refused(
        coord.call("post", f"/participants/{p.code}/adverse-events", ae(left + HOUR)),
        "onset",
        "nothing_after_end",
    )
    # A death after the withdrawal is still recorded (vital status).
    r = coord.call(
        "post", f"/participants/{p.code}/death", {"died_at": iso(left + HOUR), "cause": "ARDS"}
    )
    assert r.status_code == 200, r.content
    assert dataset_errors(trial) == []


def test_withdrawal_before_a_recorded_value_is_refused(trial, coord):
    p = randomized(trial, at=now() - 10 * HOUR)
    m = {"code": "il6", "value": 30, "measured_at": iso(now() - HOUR)}
    assert coord.call("post", f"/participants/{p.code}/measurements", m).status_code == 200
    r = coord.call(
        "post", f"/participants/{p.code}/withdraw", {"reason": "moved", "at": iso(now() - 2 * HOUR)}
    )
    refused(r, "at", "nothing_after_end")
    assert dataset_errors(trial) == []


def test_ae_before_consent_is_refused_awareness_too(trial, coord):
    p = randomized(trial)  # consented on 2025-01-05
    before = dt.datetime(2025, 1, 2, 10, 0, tzinfo=dt.UTC)
    refused(
        coord.call("post", f"/participants/{p.code}/adverse-events", ae(before)),
        "onset",
        "after_consent",
    )
    # The defect that could never be fixed: awareness before consent (hence the onset too).
    r = coord.call(
        "post", f"/participants/{p.code}/adverse-events", ae(before - HOUR, aware=before)
    )
    refused(r, "onset", "after_consent")
    assert dataset_errors(trial) == []


def test_edits_are_held_to_the_same_rules(trial, coord):
    randomized_at = now() - 10 * HOUR
    p = randomized(trial, at=randomized_at)
    coord.call(
        "post", f"/participants/{p.code}/death", {"died_at": iso(now() - HOUR), "cause": "ARDS"}
    )
    from celltrial.edc.models import Consent, Death

    death = Death.objects.get(participant=p)
    r = coord.call(
        "patch",
        f"/records/death/{death.pk}",
        {"changes": {"died_at": iso(randomized_at - MINUTE)}, "reason": "typo"},
    )
    refused(r, "died_at", "nothing_after_death")
    r = coord.call("post", f"/participants/{p.code}/adverse-events", ae(now() - 3 * HOUR))
    assert r.status_code == 200, r.content
    r = coord.call(
        "patch",
        f"/records/adverse_event/{r.json()['id']}",
        {"changes": {"onset": iso(dt.datetime(2025, 1, 1, tzinfo=dt.UTC))}, "reason": "typo"},
    )
    refused(r, "onset", "after_consent")
    consent = Consent.objects.get(participant=p)
    later = (now() + dt.timedelta(days=0)).date().isoformat()
    r = coord.call(
        "patch",
        f"/records/consent/{consent.pk}",
        {"changes": {"consented_on": later}, "reason": "typo"},
    )
    # The randomization (10 h ago) may be today too: move the consent past every record.
    if (now() - 10 * HOUR).date().isoformat() < later:
        refused(r, "consented_on", "after_consent")
    assert dataset_errors(trial) == []


def test_a_dose_before_randomization_is_refused_even_with_a_deviation(trial):
    from edc_helpers import arm_of, released_lot

    p = randomized(trial, at=now() - HOUR)
    arm = arm_of(p)
    lot = released_lot(trial, arm)
    with pytest.raises(actions.ActionError) as exc:
        actions.record_infusion(
            trial["pharm"],
            p,
            lot=lot,
            started_at=now() - 2 * HOUR,
            delivered=1.0,
            deviation="given early",
        )
    assert any(
        pr.field == "started_at" and "dose_after_rand" in pr.message for pr in exc.value.problems
    )


def test_rules_table_lists_every_rule():
    text = rules_table()
    for r in RULES:
        assert f"`{r.id}`" in text


def test_docs_table_of_rules_is_current():
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    r = subprocess.run(
        [sys.executable, str(root / "scripts" / "edc_rules_table.py"), "--check"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert r.returncode == 0, r.stderr


def test_dose_checks_in_every_arm_the_blinded_flag_does_not_follow_the_arm(trial, clients):
    """Issue 16 item 3 / issue 15: an under-dose is refused in every arm (placebo included)
    unless a deviation is recorded; the deviation flag that blinded roles see is then the same
    whatever the arm (the attack: compare its distribution between arms)."""
    from edc_helpers import arm_of, released_lot

    from celltrial.protocol import calendar

    protocol = trial.admin.trial.active_protocol().protocol
    at = now() - 3 * HOUR
    people = [randomized(trial, at=at) for _ in range(8)]
    by_arm: dict[str, list[Any]] = {}
    for p in people:
        by_arm.setdefault(arm_of(p), []).append(p)
    assert set(by_arm) == {"msc", "placebo"}
    lots = {arm: released_lot(trial, arm).number for arm in by_arm}
    pharm, coord = clients["pharm"], clients["coord1"]
    seen: dict[str, list[bool]] = {}
    for arm, mine in by_arm.items():
        plan = calendar(protocol, at, weight_kg=70, arms=[arm]).administrations[0]
        assert plan.amount is not None
        for i, p in enumerate(mine):
            body = {
                "lot": lots[arm],
                "started_at": iso(at + 2 * HOUR),
                "delivered": plan.amount * 0.6,
            }
            r = pharm.call("post", f"/participants/{p.code}/infusions", body)
            assert r.status_code == 422, (arm, r.content)  # refused in every arm
            assert {d["field"] for d in r.json()["detail"]} == {"delivered"}
            if i % 2 == 0:
                body |= {"deviation": "bag partly lost"}
            else:
                body |= {"delivered": plan.amount}
            assert pharm.call("post", f"/participants/{p.code}/infusions", body).status_code == 200
            flags = coord.call("get", f"/participants/{p.code}/infusions").json()
            seen.setdefault(arm, []).append(any(f["has_deviation"] for f in flags))
    # The blinded flag is set by what happened (every other participant), not by the arm.
    for arm, flags in seen.items():
        assert flags == [i % 2 == 0 for i in range(len(flags))], (arm, flags)
    ds = make_dataset(tables(trial.admin.trial))
    ex = ds.table("EX")
    assert set(ex.loc[ex["EXDEVFL"] == "Y", "EXTRT"]) == {"msc", "placebo"}  # in the dataset
    assert dataset_errors(trial) == []


def test_refusal_is_written_for_a_person_in_the_page_time_zone() -> None:
    """A refusal a coordinator reads (issue 17): one sentence per conflicting record, the
    verb agreeing with it, times in the page's zone to the minute (not ISO 8601), the rule
    and what it says once at the end. The dataset's own wording (ISO, UTC) is unchanged."""
    from django.utils import timezone

    from celltrial.dataset.rules import Milestones, Occurrence, breaches, refusal, rule
    from celltrial.edc.actions._rules import local_time

    death = dt.datetime(2026, 12, 5, 9, 11, tzinfo=dt.UTC)
    later = death + dt.timedelta(minutes=1)
    occs = [
        Occurrence("randomization", later, "the randomization"),
        Occurrence("measurement", later, "the screening values", plural=True),
    ]
    m = Milestones(death=death)
    with timezone.override("Europe/Paris"):
        text = refusal(breaches(occs, m, local_time), "2 records already entered conflict with it")
    assert text == (
        "2 records already entered conflict with it. "
        "The randomization at 2026-12-05 10:12 CET is after death (2026-12-05 10:11 CET). "
        "The screening values at 2026-12-05 10:12 CET are after death (2026-12-05 10:11 CET). "
        f"These break rule nothing_after_death: {rule('nothing_after_death').statement}."
    )
    with timezone.override("America/Sao_Paulo"):  # a zone with no abbreviation
        assert local_time(death) == "2026-12-05 06:11 UTC-03"
    assert local_time(death) == "2026-12-05 09:11 UTC"  # the API: UTC
    assert local_time(dt.date(2026, 12, 5)) == "2026-12-05"  # a CM/MH date stays a date
    # The dataset's check words the same fact for statisticians: ISO 8601 in UTC.
    assert rule("nothing_after_death").record(occs[1], m) == (
        "the screening values at 2026-12-05T09:12Z are after death (2026-12-05T09:11Z) — rule "
        f"nothing_after_death: {rule('nothing_after_death').statement}"
    )
