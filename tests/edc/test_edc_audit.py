"""The audit trail: who, when, what, old/new, why; hash chain; tampering with raw SQL shows."""

from __future__ import annotations

import datetime as dt
import itertools

import pytest
from django.db import connection
from edc_helpers import randomized

from celltrial.edc import actions
from celltrial.edc.audit import verify_audit
from celltrial.edc.models import AuditEntry


def _sql(statement: str, params: list[object]) -> None:
    table = connection.ops.quote_name(AuditEntry._meta.db_table)
    with connection.cursor() as cur:
        cur.execute(statement.format(table=table), params)


@pytest.fixture
def filled(trial):
    p = randomized(trial)
    for v in (1, 2, 3):
        actions.record_measurement(trial["coord1"], p, "il6", v)
    return trial


def test_rows_record_who_what_and_chain(filled):
    rows = list(AuditEntry.objects.order_by("seq"))
    assert [r.seq for r in rows] == list(range(1, len(rows) + 1))
    assert all(b.prev_hash == a.hash for a, b in itertools.pairwise(rows))
    m = rows[-1]
    assert (m.actor, m.role, m.action, m.table) == (
        "coord1",
        "coordinator",
        "record_measurement",
        "measurement",
    )
    assert m.old == "" and '"value":"3"' in m.new and m.at.tzinfo is not None
    report = verify_audit()
    assert report.ok and report.rows == len(rows) and report.first_bad is None


def test_rows_are_append_only_through_the_orm(filled):
    row = AuditEntry.objects.order_by("seq").first()
    row.reason = "x"
    with pytest.raises(RuntimeError, match="append-only"):
        row.save()
    with pytest.raises(RuntimeError, match="append-only"):
        row.delete()
    # Bulk operations too (issue 23): the ORM has no way to change the trail.
    with pytest.raises(RuntimeError, match="append-only"):
        AuditEntry.objects.filter(seq=1).update(reason="x")
    with pytest.raises(RuntimeError, match="append-only"):
        AuditEntry.objects.all().delete()
    with pytest.raises(RuntimeError, match="append-only"):
        AuditEntry.objects.bulk_update([row], ["reason"])
    assert AuditEntry.objects.get(seq=1).reason == "" and verify_audit().ok


def test_edited_row_is_named(filled):
    _sql("UPDATE {table} SET new = %s WHERE seq = %s", ['{"value":"999"}', 5])
    report = verify_audit()
    assert not report.ok and report.first_bad == 5 and "edited" in report.message


def test_edited_row_with_recomputed_hash_breaks_the_next(filled):
    from celltrial.edc.audit import row_hash

    row = AuditEntry.objects.get(seq=4)
    row.reason = "forged"
    forged = row_hash(row.prev_hash, row)
    _sql("UPDATE {table} SET reason = %s, hash = %s WHERE seq = %s", ["forged", forged, 4])
    report = verify_audit()
    assert not report.ok and report.first_bad == 5


def test_deleted_row_is_named(filled):
    _sql("DELETE FROM {table} WHERE seq = %s", [6])
    report = verify_audit()
    assert not report.ok and report.first_bad == 7 and "deleted" in report.message


def test_deleted_last_rows_are_found(filled):
    last = AuditEntry.objects.order_by("-seq").first().seq
    _sql("DELETE FROM {table} WHERE seq >= %s", [last - 1])
    report = verify_audit()
    assert not report.ok and report.first_bad == last - 1


def test_inserted_row_is_named(filled):
    """A forged row appended with a self-consistent hash still does not match the chain's head."""
    from celltrial.edc.audit import row_hash

    last = AuditEntry.objects.order_by("-seq").first()
    fake = AuditEntry(
        seq=last.seq + 1,
        at=last.at,
        actor="mallory",
        role="admin",
        action="record_measurement",
        table="measurement",
        record_id="1",
        old="",
        new="{}",
        reason="",
        blinded_safe=True,
        prev_hash=last.hash,
    )
    fake.hash = row_hash(last.hash, fake)
    _sql(
        'INSERT INTO {table} (seq, at, actor, role, action, "table", record_id, old, new, reason, '
        "blinded_safe, prev_hash, hash) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
        [
            fake.seq,
            fake.at,
            fake.actor,
            fake.role,
            fake.action,
            fake.table,
            fake.record_id,
            fake.old,
            fake.new,
            fake.reason,
            True,
            fake.prev_hash,
            fake.hash,
        ],
    )
    report = verify_audit()
    assert not report.ok and report.first_bad == last.seq + 1


def test_inserted_row_in_the_middle_is_named(filled):
    # renumber rows 5.. up by one and slip a copy of row 4 in as row 5
    _sql("UPDATE {table} SET seq = seq + 100000 WHERE seq >= %s", [5])
    _sql("UPDATE {table} SET seq = seq - 99999 WHERE seq >= %s", [100000])
    _sql(
        'INSERT INTO {table} (seq, at, actor, role, action, "table", record_id, old, new, reason, '
        'blinded_safe, prev_hash, hash) SELECT 5, at, actor, role, action, "table", record_id, '
        "old, new, reason, blinded_safe, prev_hash, hash FROM {table} WHERE seq = %s",
        [4],
    )
    report = verify_audit()
    assert not report.ok and report.first_bad == 5


def test_reason_and_old_value_kept(trial):
    p = randomized(trial)
    m = actions.record_measurement(trial["coord1"], p, "il6", 7)
    actions.edit_record(trial["coord1"], "measurement", m.id, {"value": 8}, reason="lab corrected")
    row = AuditEntry.objects.filter(action="edit_record").get()
    assert row.reason == "lab corrected" and '"value":"7"' in row.old and '"value":"8"' in row.new
    assert verify_audit().ok


def test_hash_of_every_row_is_sha256_of_prev_and_canonical_content(trial):
    """The chain is computed by the database on PostgreSQL and here on SQLite: both must give
    SHA-256(prev_hash + canonical JSON) as written out by hand here, non-ASCII text included."""
    import hashlib
    import json

    p = randomized(trial)
    m = actions.record_measurement(trial["coord1"], p, "il6", 7)
    reason = 'Änderung – 5 µg/L "re-assay" \\ ok; emoji 🧪'
    actions.edit_record(trial["coord1"], "measurement", m.id, {"value": 9}, reason=reason)
    rows = list(AuditEntry.objects.order_by("seq"))
    prev = "0" * 64
    for r in rows:
        content = {
            "action": r.action,
            "actor": r.actor,
            "at": r.at.astimezone(dt.UTC).isoformat().replace("+00:00", "Z"),
            "blinded_safe": r.blinded_safe,
            "new": r.new,
            "old": r.old,
            "reason": r.reason,
            "record_id": r.record_id,
            "role": r.role,
            "seq": r.seq,
            "table": r.table,
        }
        if r.nonce:  # the row's secret salt (rows written before it existed hash without it)
            content["nonce"] = r.nonce
        text = json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        assert r.prev_hash == prev
        assert r.hash == hashlib.sha256((prev + text).encode("utf-8")).hexdigest(), r.seq
        prev = r.hash
    assert rows[-1].reason == reason
    assert verify_audit().ok
