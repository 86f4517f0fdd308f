"""20 concurrent randomizations, each thread on its own connection: no slot twice, none skipped."""

from __future__ import annotations

import datetime as dt
import threading
from typing import Any

import pytest
from django.db import connection
from edc_helpers import ELIGIBLE, make_trial

from celltrial.edc import actions
from celltrial.edc.audit import verify_audit
from celltrial.edc.models import AllocationSlot, AuditEntry, Measurement, Randomization

N = 20


def _in_threads(fn: Any, items: list[Any]) -> list[BaseException]:
    errors: list[BaseException] = []
    barrier = threading.Barrier(len(items))

    def run(item: Any) -> None:
        try:
            barrier.wait()
            fn(item)
        except BaseException as exc:
            errors.append(exc)
        finally:
            connection.close()  # each thread has its own connection

    threads = [threading.Thread(target=run, args=(i,)) for i in items]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    return errors


@pytest.mark.django_db(transaction=True)
def test_twenty_concurrent_randomizations():
    t = make_trial()
    c = t["coord1"]
    people = []
    for _ in range(N):
        p = actions.screen_participant(c, "site1", ELIGIBLE)
        actions.record_consent(c, p, "2.1", dt.date(2025, 1, 1))
        actions.enroll(c, p)
        people.append(p.code)
    errors = _in_threads(lambda code: actions.randomize_participant(c, code), people)
    assert errors == []
    taken = list(Randomization.objects.order_by("sequence").values_list("sequence", flat=True))
    assert len(taken) == N == len(set(taken))
    cell = list(
        AllocationSlot.objects.filter(site_code="site1", stratum="ards_severity=2")
        .order_by("sequence")
        .values_list("sequence", flat=True)[:N]
    )
    assert taken == cell  # the first N rows of the cell: none skipped
    assert verify_audit().ok


@pytest.mark.django_db(transaction=True)
def test_concurrent_writes_keep_one_audit_chain():
    t = make_trial()
    c = t["coord1"]
    p = actions.screen_participant(c, "site1", ELIGIBLE)
    actions.record_consent(c, p, "2.1", dt.date(2025, 1, 1))
    before = AuditEntry.objects.count()
    errors = _in_threads(
        lambda i: actions.record_measurement(c, p.code, "il6", i, idempotency_key=f"k{i % 10}"),
        list(range(N)),
    )
    assert errors == []
    assert Measurement.objects.count() == 10  # 20 submissions, 10 distinct keys
    assert AuditEntry.objects.count() == before + 10
    assert verify_audit().ok
