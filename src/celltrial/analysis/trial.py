"""The trial as the analysis reads it: the protocol, its arms and the ADaM-like tables, once.

:func:`celltrial.analysis.analyze` builds one :class:`Trial` and hands it to every endpoint's
analysis and every summary table, so the protocol is read in one place and each derivation
(ADSL, ADTTE, ADAE, ADLB) is made once.
"""

from __future__ import annotations

import dataclasses

import pandas as pd

from celltrial.analysis.arms import Arms
from celltrial.analysis.populations import population
from celltrial.dataset import Dataset, derive_adae, derive_adlb, derive_adsl, derive_adtte
from celltrial.protocol import Endpoint, Protocol

#: The ADLB columns the analysis reads, for a trial with no findings domain.
_ADLB_COLUMNS = [
    "USUBJID",
    "MEASURE",
    "AVISIT",
    "ANL01FL",
    "AVAL",
    "CHG",
    "ABLFL",
    "STAT",
    "AWOUTFL",
]


@dataclasses.dataclass(frozen=True)
class Trial:
    """A protocol with its dataset, derived for analysis.

    ``binary_events`` is ADTTE derived for the binary endpoints without a measurement, read as
    "event by the horizon" (None when there is none); ``adlb`` is empty (with its columns) when
    the dataset has no findings domain.
    """

    protocol: Protocol
    dataset: Dataset
    arms: Arms
    adsl: pd.DataFrame
    adtte: pd.DataFrame
    adae: pd.DataFrame
    adlb: pd.DataFrame
    ex: pd.DataFrame
    binary_events: pd.DataFrame | None
    has_findings: bool
    #: Analysis populations already selected (name -> rows, arm column): read-only frames.
    _populations: dict[str, tuple[pd.DataFrame, str]] = dataclasses.field(
        default_factory=dict, init=False, repr=False, compare=False
    )

    def population(self, name: str) -> tuple[pd.DataFrame, str]:
        """:func:`celltrial.analysis.populations.population` of ADSL, selected once per trial
        (every endpoint and summary reads it; none may change the frame)."""
        if name not in self._populations:
            self._populations[name] = population(self.adsl, name)
        return self._populations[name]

    @classmethod
    def derive(cls, dataset: Dataset, protocol: Protocol) -> Trial:
        adsl = derive_adsl(dataset, protocol)
        domains = tuple(dataset.findings_domains)
        adlb = (
            derive_adlb(dataset, protocol, domains=domains, adsl=adsl)
            if domains
            else pd.DataFrame(columns=_ADLB_COLUMNS)
        )
        binaries = [e for e in protocol.endpoints if e.type == "binary" and e.measurement is None]
        binary_events = None
        if binaries:
            as_tte = protocol.model_copy(
                update={"endpoints": [_as_time_to_event(e, protocol) for e in binaries]}
            )
            binary_events = derive_adtte(dataset, as_tte, adsl=adsl)
        return cls(
            protocol=protocol,
            dataset=dataset,
            arms=Arms.of(protocol),
            adsl=adsl,
            adtte=derive_adtte(dataset, protocol, adsl=adsl),
            adae=derive_adae(dataset, protocol, adsl=adsl),
            adlb=adlb,
            ex=dataset.table("EX"),
            binary_events=binary_events,
            has_findings=bool(domains),
        )

    @property
    def visit_days(self) -> dict[str, float]:
        """Visit id -> nominal day."""
        return {v.id: v.at / HOURS_PER_DAY for v in self.protocol.schedule.visits}

    @property
    def visit_labels(self) -> dict[str, str]:
        """Visit id -> label."""
        return {v.id: v.label for v in self.protocol.schedule.visits}


HOURS_PER_DAY = 24.0


def _as_time_to_event(ep: Endpoint, protocol: Protocol) -> Endpoint:
    """A binary 'event by the horizon' endpoint read as time to event, for ADTTE."""
    horizon = ep.horizon if ep.horizon is not None else protocol.follow_up
    return ep.model_copy(update={"type": "time_to_event", "horizon": horizon})
