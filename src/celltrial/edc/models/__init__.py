"""The EDC's tables, split by area. Every write goes through :mod:`celltrial.edc.actions`."""

from celltrial.edc.models.audit import Attempt, AuditEntry, AuditHead
from celltrial.edc.models.clinical import (
    AdverseEvent,
    ClinicalEvent,
    ConcomitantMedication,
    Deviation,
    Measurement,
    MedicalHistory,
    VisitRecord,
)
from celltrial.edc.models.monitoring import FormLock, Query, Signature, SourceVerification
from celltrial.edc.models.participants import (
    AllocationSlot,
    Consent,
    Death,
    Disposition,
    Participant,
    Randomization,
    ScreeningRecord,
    Unblinding,
)
from celltrial.edc.models.product import Infusion, Lot, ReleaseResult
from celltrial.edc.models.trial import (
    ApiToken,
    IdempotencyKey,
    ProtocolVersion,
    Role,
    Site,
    Staff,
    Trial,
)

__all__ = [
    "AdverseEvent",
    "AllocationSlot",
    "ApiToken",
    "Attempt",
    "AuditEntry",
    "AuditHead",
    "ClinicalEvent",
    "ConcomitantMedication",
    "Consent",
    "Death",
    "Deviation",
    "Disposition",
    "FormLock",
    "IdempotencyKey",
    "Infusion",
    "Lot",
    "Measurement",
    "MedicalHistory",
    "Participant",
    "ProtocolVersion",
    "Query",
    "Randomization",
    "ReleaseResult",
    "Role",
    "ScreeningRecord",
    "Signature",
    "Site",
    "SourceVerification",
    "Staff",
    "Trial",
    "Unblinding",
    "VisitRecord",
]
