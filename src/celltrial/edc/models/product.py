"""Product lots, their release results, infusions."""

from __future__ import annotations

from django.db import models

from celltrial.edc.models.participants import Participant
from celltrial.edc.models.trial import Site, Trial


class Lot(models.Model):
    class Status(models.TextChoices):
        QUARANTINE = "quarantine"
        RELEASED = "released"
        REJECTED = "rejected"

    trial = models.ForeignKey(Trial, on_delete=models.PROTECT, related_name="lots")
    site = models.ForeignKey(Site, on_delete=models.PROTECT, null=True, related_name="lots")
    number = models.CharField(max_length=60)
    arm = models.CharField(max_length=40)
    product = models.CharField(max_length=200)
    expires_at = models.DateTimeField(null=True)
    status = models.CharField(max_length=12, choices=Status.choices)
    released_at = models.DateTimeField(null=True)
    created_at = models.DateTimeField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["trial", "number"], name="lot_number_once")]  # noqa: RUF012


class ReleaseResult(models.Model):
    """One release test of a lot: the result against the protocol's limit at the time."""

    lot = models.ForeignKey(Lot, on_delete=models.PROTECT, related_name="results")
    criterion = models.CharField(max_length=40)
    value = models.CharField(max_length=100)
    passed = models.BooleanField()
    #: The criterion's label, unit and limit as the protocol stated them when the result was
    #: recorded ("Viability", "%", "≥ 70"): the record stands if the protocol changes later.
    label = models.CharField(max_length=200, blank=True, default="", db_default="")
    unit = models.CharField(max_length=40, blank=True, default="", db_default="")
    limit = models.CharField(max_length=200, blank=True, default="", db_default="")


class Infusion(models.Model):
    participant = models.ForeignKey(Participant, on_delete=models.PROTECT, related_name="infusions")
    number = models.PositiveIntegerField()
    lot = models.ForeignKey(Lot, on_delete=models.PROTECT, related_name="infusions")
    started_at = models.DateTimeField()
    stopped_at = models.DateTimeField(null=True)
    intended = models.FloatField(null=True)
    low = models.FloatField(null=True)
    high = models.FloatField(null=True)
    delivered = models.FloatField()
    unit = models.CharField(max_length=8)  # cells or mL
    capped = models.BooleanField(default=False)
    in_window = models.BooleanField(default=True)
    deviation = models.TextField(blank=True)
    complete = models.BooleanField(default=True)
    #: Infusion details: pre-medication given, volume infused (mL; hidden from blinded roles),
    #: interruptions and infusion reactions.
    premedication = models.TextField(blank=True)
    volume_ml = models.FloatField(null=True)
    interrupted = models.BooleanField(default=False)
    interruption = models.TextField(blank=True)
    reaction = models.TextField(blank=True)
    missing = models.JSONField(default=dict)
    #: Marked "entered in error" (with a reason, audited; unblinded roles only): kept, left out
    #: of the dataset, the order rules and the counts; its number may be recorded again.
    entered_in_error = models.BooleanField(default=False)

    class Meta:
        constraints = [  # noqa: RUF012
            models.UniqueConstraint(
                fields=["participant", "number"],
                condition=models.Q(entered_in_error=False),
                name="infusion_number_once",
            )
        ]
