"""The audit trail: append-only rows chained by SHA-256, and the head of the chain."""

from __future__ import annotations

from typing import Any

from django.db import models


class AppendOnlyQuerySet(models.QuerySet["AuditEntry"]):
    """Bulk ``update()`` and ``delete()`` are refused, as ``save()`` of a stored row and
    ``delete()`` of one are: the ORM offers no way to change the audit trail (raw SQL still
    can; :func:`celltrial.edc.audit.verify_audit` then names the row)."""

    def update(self, **kwargs: Any) -> int:
        raise RuntimeError("the audit trail is append-only: rows cannot be updated")

    def delete(self) -> tuple[int, dict[str, int]]:
        raise RuntimeError("the audit trail is append-only: rows cannot be deleted")

    def bulk_update(self, *args: Any, **kwargs: Any) -> int:
        raise RuntimeError("the audit trail is append-only: rows cannot be updated")


class AuditEntry(models.Model):
    """One change. ``hash`` = SHA-256(prev_hash + canonical JSON of the row's content)."""

    objects = AppendOnlyQuerySet.as_manager()

    seq = models.BigIntegerField(unique=True)
    at = models.DateTimeField()
    actor = models.CharField(max_length=150)
    role = models.CharField(max_length=20)
    action = models.CharField(max_length=60)
    table = models.CharField(max_length=60)
    record_id = models.CharField(max_length=40)
    old = models.TextField()
    new = models.TextField()
    reason = models.TextField(blank=True)
    blinded_safe = models.BooleanField(default=True)
    #: A secret random salt (128 bits, hex) hashed with the row and never served: without it a
    #: blinded reader cannot test a guessed content (an arm) against the row's or the next
    #: row's hash. Empty in rows written before it existed (then left out of the hash).
    nonce = models.CharField(max_length=32, blank=True, default="", db_default="")
    prev_hash = models.CharField(max_length=64)
    hash = models.CharField(max_length=64)

    def save(self, *args: Any, **kwargs: Any) -> None:
        if self.pk is not None or not self._state.adding:
            raise RuntimeError("the audit trail is append-only: a row cannot be changed")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("the audit trail is append-only: a row cannot be deleted")


class AuditHead(models.Model):
    """The last sequence number and hash: locked by each writer, so the chain never forks."""

    seq = models.BigIntegerField(default=0)
    hash = models.CharField(max_length=64)
    #: The hash before the last move: lets one UPDATE … RETURNING give a new row its prev_hash.
    prev_hash = models.CharField(max_length=64, blank=True)


class Attempt(models.Model):
    """One attempt of a throttled kind (``login``) by one person, counted before it is checked
    (:class:`celltrial.edc.throttle.CountedThrottle`): parallel attempts cannot all pass."""

    kind = models.CharField(max_length=20)
    who = models.CharField(max_length=150)
    at = models.FloatField()

    class Meta:
        indexes = [models.Index(fields=["kind", "who", "at"])]  # noqa: RUF012
