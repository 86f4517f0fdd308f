"""What a trial is: typed protocol models, YAML loading with clear errors, and the calendar.

>>> from celltrial.protocol import load_protocol
>>> p = load_protocol("lanzoni2021")
>>> [a.id for a in p.arms]
['ucmsc', 'control']
"""

from celltrial.protocol.calendar import (
    Calendar,
    CalendarError,
    ScheduledAdministration,
    ScheduledVisit,
    calendar,
    dose_amount,
)
from celltrial.protocol.loader import (
    Problem,
    ProtocolError,
    library_ids,
    library_path,
    library_text,
    load_protocol,
    parse_protocol,
)
from celltrial.protocol.models import (
    UNKNOWN,
    Allocation,
    Arm,
    ClinicalEvent,
    Condition,
    Criterion,
    Design,
    Dose,
    Eligibility,
    Endpoint,
    Measurement,
    Protocol,
    Schedule,
    Visit,
    is_unknown,
)

__all__ = [
    "UNKNOWN",
    "Allocation",
    "Arm",
    "Calendar",
    "CalendarError",
    "ClinicalEvent",
    "Condition",
    "Criterion",
    "Design",
    "Dose",
    "Eligibility",
    "Endpoint",
    "Measurement",
    "Problem",
    "Protocol",
    "ProtocolError",
    "Schedule",
    "ScheduledAdministration",
    "ScheduledVisit",
    "Visit",
    "calendar",
    "dose_amount",
    "is_unknown",
    "library_ids",
    "library_path",
    "library_text",
    "load_protocol",
    "parse_protocol",
]
