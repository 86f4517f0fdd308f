"""Visits generated from the schedule, measurements, adverse events, concomitant medications
and medical history."""

from __future__ import annotations

from django.db import models

from celltrial.edc import labels
from celltrial.edc.models.participants import Participant


class VisitRecord(models.Model):
    participant = models.ForeignKey(Participant, on_delete=models.PROTECT, related_name="visits")
    visit = models.CharField(max_length=40)
    label = models.CharField(max_length=200)
    nominal = models.DateTimeField()
    earliest = models.DateTimeField()
    latest = models.DateTimeField()
    done_at = models.DateTimeField(null=True)
    in_window = models.BooleanField(null=True)
    #: The visit did not take place (its findings are exported as NOT DONE with the reason).
    not_done = models.BooleanField(default=False)
    not_done_reason = models.TextField(blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["participant", "visit"], name="visit_once")]  # noqa: RUF012


class Measurement(models.Model):
    participant = models.ForeignKey(
        Participant, on_delete=models.PROTECT, related_name="measurements"
    )
    code = models.CharField(max_length=40)
    visit = models.CharField(max_length=40, blank=True)
    measured_at = models.DateTimeField()
    value = models.CharField(max_length=200)
    number = models.FloatField(null=True)
    unit = models.CharField(max_length=40, blank=True)
    domain = models.CharField(max_length=4, blank=True)
    out_of_range = models.BooleanField(default=False)
    confirmed = models.BooleanField(default=False)
    complete = models.BooleanField(default=True)
    #: Marked "entered in error" (with a reason, audited): kept, left out of the dataset.
    entered_in_error = models.BooleanField(default=False)

    class Meta:
        indexes = [models.Index(fields=["participant", "code"])]  # noqa: RUF012


class AdverseEvent(models.Model):
    participant = models.ForeignKey(
        Participant, on_delete=models.PROTECT, related_name="adverse_events"
    )
    term = models.CharField(max_length=200)
    decoded_term = models.CharField(max_length=200, blank=True)
    onset = models.DateTimeField()
    grade = models.PositiveSmallIntegerField()
    serious_criteria = models.JSONField(default=list)
    serious = models.BooleanField(default=False)
    relatedness = models.CharField(max_length=20)
    expected = models.BooleanField(null=True)
    outcome = models.CharField(max_length=30)
    aware_at = models.DateTimeField()
    sae_due_at = models.DateTimeField(null=True)
    sae_reported_at = models.DateTimeField(null=True)
    windows = models.JSONField(default=list)
    complete = models.BooleanField(default=True)
    #: When the event ended (null while ``ongoing``, or with a missing-data code).
    end_at = models.DateTimeField(null=True)
    ongoing = models.BooleanField(default=False)
    #: Relatedness to the infusion procedure (``relatedness`` is to the cell product).
    procedure_relatedness = models.CharField(
        max_length=20, blank=True, choices=labels.choices("relatedness")
    )
    action_taken = models.CharField(
        max_length=20, blank=True, choices=labels.choices("action_taken")
    )
    #: "Is this a pre-specified infusion-associated event?", asked when the onset falls in a
    #: protocol safety window (null: not asked).
    infusion_associated = models.BooleanField(null=True)
    #: Missing-data codes (:data:`celltrial.edc.labels.MISSING`) by field left blank.
    missing = models.JSONField(default=dict)

    #: Marked "entered in error" (with a reason, audited): kept, left out of the dataset.
    entered_in_error = models.BooleanField(default=False)


class ConcomitantMedication(models.Model):
    """A concomitant (or prior) medication: a CM row. ``not_done`` records that the medication
    history was not taken (CMSTAT = NOT DONE, with the reason)."""

    participant = models.ForeignKey(
        Participant, on_delete=models.PROTECT, related_name="medications"
    )
    medication = models.CharField(max_length=200, blank=True)
    indication = models.CharField(max_length=200, blank=True)
    dose = models.FloatField(null=True)
    dose_unit = models.CharField(max_length=40, blank=True)
    route = models.CharField(max_length=20, blank=True, choices=labels.choices("route"))
    frequency = models.CharField(max_length=20, blank=True, choices=labels.choices("frequency"))
    start_date = models.DateField(null=True)
    end_date = models.DateField(null=True)
    ongoing = models.BooleanField(default=False)
    not_done = models.BooleanField(default=False)
    not_done_reason = models.TextField(blank=True)
    missing = models.JSONField(default=dict)
    recorded_at = models.DateTimeField()
    complete = models.BooleanField(default=True)
    #: Marked "entered in error" (with a reason, audited): kept, left out of the dataset.
    entered_in_error = models.BooleanField(default=False, db_default=False)


class MedicalHistory(models.Model):
    """A condition of the participant's medical history: an MH row. ``not_done`` records that
    the history was not taken (MHSTAT = NOT DONE, with the reason)."""

    participant = models.ForeignKey(
        Participant, on_delete=models.PROTECT, related_name="medical_history"
    )
    term = models.CharField(max_length=200, blank=True)
    start_date = models.DateField(null=True)
    end_date = models.DateField(null=True)
    ongoing = models.BooleanField(default=False)
    not_done = models.BooleanField(default=False)
    not_done_reason = models.TextField(blank=True)
    missing = models.JSONField(default=dict)
    recorded_at = models.DateTimeField()
    complete = models.BooleanField(default=True)
    #: Marked "entered in error" (with a reason, audited): kept, left out of the dataset.
    entered_in_error = models.BooleanField(default=False, db_default=False)


class ClinicalEvent(models.Model):
    """One occurrence of a protocol event (recovery, intubation, discharge …): a CE row.

    ``event`` is a code of the protocol's events; ``occurred`` False records that the event was
    asked about and did not occur (CEOCCUR = N)."""

    participant = models.ForeignKey(
        Participant, on_delete=models.PROTECT, related_name="clinical_events"
    )
    event = models.CharField(max_length=40)
    term = models.CharField(max_length=200, blank=True)
    occurred_at = models.DateTimeField()
    occurred = models.BooleanField(default=True)
    recorded_at = models.DateTimeField()
    complete = models.BooleanField(default=True)
    #: Marked "entered in error" (with a reason, audited): kept, left out of the dataset.
    entered_in_error = models.BooleanField(default=False)


class Deviation(models.Model):
    """A protocol deviation (DV). A major one removes the participant from per-protocol."""

    class Category(models.TextChoices):
        MAJOR = "major"
        MINOR = "minor"

    participant = models.ForeignKey(
        Participant, on_delete=models.PROTECT, related_name="deviations"
    )
    category = models.CharField(max_length=10, choices=Category.choices)
    description = models.TextField()
    occurred_at = models.DateTimeField(null=True)
    recorded_at = models.DateTimeField()
    complete = models.BooleanField(default=True)
    #: Marked "entered in error" (with a reason, audited): kept, left out of the dataset.
    entered_in_error = models.BooleanField(default=False)
