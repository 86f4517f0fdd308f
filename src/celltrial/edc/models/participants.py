"""Participants and their path: screening, consent, randomization, disposition, unblinding."""

from __future__ import annotations

from django.db import models

from celltrial.edc.models.trial import Site, Staff, Trial


class Participant(models.Model):
    class Status(models.TextChoices):
        SCREENED = "screened"
        INELIGIBLE = "ineligible"
        CONSENTED = "consented"
        ENROLLED = "enrolled"
        RANDOMIZED = "randomized"
        COMPLETED = "completed"
        WITHDRAWN = "withdrawn"
        LOST = "lost_to_follow_up"
        DEAD = "dead"

    trial = models.ForeignKey(Trial, on_delete=models.PROTECT, related_name="participants")
    site = models.ForeignKey(Site, on_delete=models.PROTECT, related_name="participants")
    code = models.CharField(max_length=40)
    status = models.CharField(max_length=20, choices=Status.choices)
    weight_kg = models.FloatField(null=True)
    enrolled_at = models.DateTimeField(null=True)

    class Meta:
        constraints = [  # noqa: RUF012
            models.UniqueConstraint(fields=["trial", "code"], name="participant_code_once")
        ]

    def __str__(self) -> str:
        return self.code


class ScreeningRecord(models.Model):
    participant = models.OneToOneField(
        Participant, on_delete=models.PROTECT, related_name="screening"
    )
    screened_at = models.DateTimeField()
    values = models.JSONField(default=dict)
    eligible = models.BooleanField(null=True)
    failed = models.JSONField(default=list)
    missing = models.JSONField(default=list)
    complete = models.BooleanField(default=True)


class Consent(models.Model):
    participant = models.ForeignKey(Participant, on_delete=models.PROTECT, related_name="consents")
    version = models.CharField(max_length=40)
    consented_on = models.DateField()
    complete = models.BooleanField(default=True)


class AllocationSlot(models.Model):
    """One row of the sealed list. ``arm`` is read only for roles allowed to see it."""

    trial = models.ForeignKey(Trial, on_delete=models.PROTECT, related_name="slots")
    sequence = models.PositiveIntegerField()
    site_code = models.CharField(max_length=40)
    stratum = models.CharField(max_length=200)
    kit_code = models.CharField(max_length=40)
    arm = models.CharField(max_length=40)
    commitment = models.CharField(max_length=64)

    class Meta:
        constraints = [  # noqa: RUF012
            models.UniqueConstraint(fields=["trial", "sequence"], name="slot_sequence_once"),
            models.UniqueConstraint(fields=["trial", "kit_code"], name="slot_kit_once"),
        ]
        indexes = [models.Index(fields=["trial", "site_code", "stratum", "sequence"])]  # noqa: RUF012


class Randomization(models.Model):
    participant = models.OneToOneField(
        Participant, on_delete=models.PROTECT, related_name="randomization"
    )
    slot = models.OneToOneField(AllocationSlot, on_delete=models.PROTECT, related_name="taken_by")
    stratum = models.CharField(max_length=200)
    sequence = models.PositiveIntegerField()
    kit_code = models.CharField(max_length=40)
    randomized_at = models.DateTimeField()


class Disposition(models.Model):
    class Kind(models.TextChoices):
        COMPLETED = "completed"
        WITHDRAWN = "withdrawn"
        LOST = "lost_to_follow_up"
        DEATH = "death"

    participant = models.ForeignKey(
        Participant, on_delete=models.PROTECT, related_name="dispositions"
    )
    kind = models.CharField(max_length=20, choices=Kind.choices)
    at = models.DateTimeField()
    reason = models.TextField(blank=True)
    by = models.CharField(max_length=40, blank=True)  # participant, investigator, sponsor ...
    #: Marked "entered in error" (with a reason, audited): kept, left out of the dataset, the
    #: order rules and the counts; the participant's status returns to what it was.
    entered_in_error = models.BooleanField(default=False)


class Death(models.Model):
    participant = models.OneToOneField(Participant, on_delete=models.PROTECT, related_name="death")
    died_at = models.DateTimeField()
    cause = models.TextField()
    complete = models.BooleanField(default=True)


class Unblinding(models.Model):
    """A ledger of unblindings: who, when, why. Holds no arm."""

    participant = models.ForeignKey(
        Participant, on_delete=models.PROTECT, related_name="unblindings"
    )
    staff = models.ForeignKey(Staff, on_delete=models.PROTECT)
    reason = models.TextField()
    at = models.DateTimeField()
