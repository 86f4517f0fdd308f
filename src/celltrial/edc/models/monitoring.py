"""Monitoring: data queries, form locks, source-data verification and investigator signatures."""

from __future__ import annotations

from django.db import models

from celltrial.edc.models.clinical import VisitRecord
from celltrial.edc.models.participants import Participant
from celltrial.edc.models.trial import Staff, Trial


class Query(models.Model):
    """A question about one record (and field) raised by a monitor or data manager."""

    class Status(models.TextChoices):
        OPEN = "open"
        ANSWERED = "answered"
        CLOSED = "closed"

    trial = models.ForeignKey(Trial, on_delete=models.PROTECT, related_name="queries")
    participant = models.ForeignKey(
        Participant, on_delete=models.PROTECT, related_name="queries", null=True
    )
    table = models.CharField(max_length=60)
    record_id = models.CharField(max_length=40)
    field = models.CharField(max_length=60, blank=True)
    text = models.TextField()
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.OPEN)
    opened_by = models.ForeignKey(Staff, on_delete=models.PROTECT, related_name="+")
    opened_at = models.DateTimeField()
    answer = models.TextField(blank=True)
    answered_by = models.ForeignKey(Staff, on_delete=models.PROTECT, related_name="+", null=True)
    answered_at = models.DateTimeField(null=True)
    closed_by = models.ForeignKey(Staff, on_delete=models.PROTECT, related_name="+", null=True)
    closed_at = models.DateTimeField(null=True)
    close_note = models.TextField(blank=True)

    class Meta:
        indexes = [models.Index(fields=["trial", "status"])]  # noqa: RUF012


class FormLock(models.Model):
    """A lock on one record, or on all of a participant's records when ``table`` is blank.

    A locked record cannot be edited until it is unlocked (``unlocked_at`` set)."""

    participant = models.ForeignKey(Participant, on_delete=models.PROTECT, related_name="locks")
    table = models.CharField(max_length=60, blank=True)
    record_id = models.CharField(max_length=40, blank=True)
    reason = models.TextField(blank=True)
    locked_by = models.ForeignKey(Staff, on_delete=models.PROTECT, related_name="+")
    locked_at = models.DateTimeField()
    unlocked_by = models.ForeignKey(Staff, on_delete=models.PROTECT, related_name="+", null=True)
    unlocked_at = models.DateTimeField(null=True)


class Signature(models.Model):
    """An investigator's electronic signature of a visit (password re-entered).

    A later change to a record of that visit invalidates the signature (``invalidated_at``)."""

    visit = models.ForeignKey(VisitRecord, on_delete=models.PROTECT, related_name="signatures")
    staff = models.ForeignKey(Staff, on_delete=models.PROTECT, related_name="+")
    signed_at = models.DateTimeField()
    meaning = models.TextField()
    invalidated_at = models.DateTimeField(null=True)
    invalidated_reason = models.TextField(blank=True)


class SourceVerification(models.Model):
    """A monitor's source-data verification (SDV) of one record: its values were checked
    against the source documents by ``verified_by`` at ``verified_at``.

    Undone (``undone_at`` set, with the reason) when the monitor withdraws it or when the
    record's data change afterwards (``edit_record``, an SAE report): the change is then
    verified again. At most one verification is in force per record."""

    participant = models.ForeignKey(
        Participant, on_delete=models.PROTECT, related_name="verifications"
    )
    table = models.CharField(max_length=60)
    record_id = models.CharField(max_length=40)
    verified_by = models.ForeignKey(Staff, on_delete=models.PROTECT, related_name="+")
    verified_at = models.DateTimeField()
    undone_by = models.ForeignKey(Staff, on_delete=models.PROTECT, related_name="+", null=True)
    undone_at = models.DateTimeField(null=True)
    undone_reason = models.TextField(blank=True)

    class Meta:
        indexes = [models.Index(fields=["participant", "table", "record_id"])]  # noqa: RUF012
