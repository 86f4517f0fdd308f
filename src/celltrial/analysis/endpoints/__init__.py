"""Each endpoint type's pre-specified analysis, on the trial's ADaM-like tables.

One module per kind of endpoint: :mod:`.time_to_event`, :mod:`.binary`, :mod:`.continuous`
(and ordinal), :mod:`.safety`. Each takes the endpoint and the :class:`~celltrial.analysis.trial.Trial`
(protocol, arms and tables, derived once). Arrays are built from ADSL/ADTTE/ADLB/ADAE here and
handed to :mod:`celltrial.stats`; no statistic is computed in this package. Participants of the
population without a value are listed as :class:`~celltrial.analysis.results.Missing`, each
with its reason.
"""

from __future__ import annotations

from celltrial.analysis.endpoints.binary import binary
from celltrial.analysis.endpoints.continuous import continuous
from celltrial.analysis.endpoints.safety import safety_count, window_events
from celltrial.analysis.endpoints.time_to_event import time_to_event
from celltrial.analysis.results import EndpointResult
from celltrial.analysis.trial import Trial
from celltrial.protocol import Endpoint


def analyse_endpoint(ep: Endpoint, trial: Trial) -> EndpointResult:
    """The endpoint's pre-specified analysis, by its type."""
    if ep.type == "time_to_event":
        return time_to_event(ep, trial)
    if ep.type == "binary":
        return binary(ep, trial)
    if ep.type in ("continuous", "ordinal"):
        return continuous(ep, trial)
    return safety_count(ep, trial)


__all__ = [
    "analyse_endpoint",
    "binary",
    "continuous",
    "safety_count",
    "time_to_event",
    "window_events",
]
