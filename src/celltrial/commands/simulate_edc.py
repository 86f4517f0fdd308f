"""The virtual trial through the EDC now lives in :mod:`celltrial.rehearse`; these names stay
importable from here for code written against the earlier place."""

from celltrial.rehearse import (
    INFUSION_DEVIATION,
    OUTCOME,
    RELATEDNESS,
    SERIOUSNESS,
    EdcRunSummary,
    NotEntered,
    Progress,
    run_through_edc,
)

__all__ = [
    "INFUSION_DEVIATION",
    "OUTCOME",
    "RELATEDNESS",
    "SERIOUSNESS",
    "EdcRunSummary",
    "NotEntered",
    "Progress",
    "run_through_edc",
]
