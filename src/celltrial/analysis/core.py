"""``analyze(dataset, protocol)``: every pre-specified analysis of a trial, in one object."""

from __future__ import annotations

import dataclasses

import pandas as pd

from celltrial._result import Result
from celltrial.analysis import endpoints as ep_mod
from celltrial.analysis.populations import ArmInfo, arms_of
from celltrial.analysis.results import (
    BinaryResult,
    ContinuousResult,
    DataProblem,
    EndpointResult,
    Missing,
    SafetyCountResult,
    TimeToEventResult,
)
from celltrial.analysis.summaries import (
    BaselineTable,
    Consort,
    ExposureArm,
    Listing,
    SafetySummary,
    baseline,
    consort,
    exposure,
    listings,
    safety,
)
from celltrial.dataset import (
    Dataset,
    DatasetError,
    Problem,
    check_dataset,
    derive_adae,
    derive_adlb,
    derive_adsl,
    derive_adtte,
    errors,
)
from celltrial.protocol import Endpoint, Protocol


@dataclasses.dataclass(frozen=True)
class TrialAnalysis(Result):
    """The analysis of one trial: every endpoint, CONSORT counts, baseline, exposure, safety.

    ``problems`` are the dataset's warnings (errors stop :func:`analyze`).
    """

    protocol_id: str
    title: str
    arms: tuple[ArmInfo, ...]
    endpoints: tuple[EndpointResult, ...]
    consort: Consort
    baseline: BaselineTable
    exposure: tuple[ExposureArm, ...]
    safety: SafetySummary
    listings: tuple[Listing, ...]
    problems: tuple[Problem, ...] = ()
    #: Records set aside because of errors (:func:`~celltrial.analysis.setaside.analyze_despite_problems`).
    data_problems: tuple[DataProblem, ...] = ()

    def endpoint(self, endpoint_id: str) -> EndpointResult:
        for e in self.endpoints:
            if e.endpoint == endpoint_id:
                return e
        raise KeyError(f"no endpoint {endpoint_id!r} in the analysis of {self.protocol_id}")

    @property
    def missing(self) -> tuple[tuple[str, Missing], ...]:
        """Every (endpoint id, missing participant) pair."""
        return tuple((e.endpoint, m) for e in self.endpoints for m in e.missing)


def _as_time_to_event(ep: Endpoint, protocol: Protocol) -> Endpoint:
    """A binary 'event by the horizon' endpoint read as time to event, for ADTTE."""
    horizon = ep.horizon if ep.horizon is not None else protocol.follow_up
    return ep.model_copy(update={"type": "time_to_event", "horizon": horizon})


def problems_of(dataset: Dataset, protocol: Protocol) -> list[Problem]:
    """The dataset's own problems and every mismatch with the protocol."""
    return [*dataset.problems, *check_dataset(dataset, protocol)]


def analyze(dataset: Dataset, protocol: Protocol) -> TrialAnalysis:
    """Run every endpoint of ``protocol`` with its pre-specified methods on ``dataset``.

    Parameters
    ----------
    dataset : Dataset
        From :func:`celltrial.dataset.read_dataset` or :func:`~celltrial.dataset.make_dataset`.
    protocol : Protocol

    Returns
    -------
    TrialAnalysis

    Raises
    ------
    DatasetError
        When the dataset has errors or does not fit the protocol; ``.problems`` lists every
        one of them (nothing is analysed from a dataset that does not fit).
    """
    found = problems_of(dataset, protocol)
    bad = errors(found)
    if bad:
        raise DatasetError(bad)
    arms = arms_of(protocol)
    adsl = derive_adsl(dataset, protocol)
    adtte = derive_adtte(dataset, protocol, adsl=adsl)
    adae = derive_adae(dataset, protocol, adsl=adsl)
    domains = tuple(dataset.findings_domains)
    adlb = derive_adlb(dataset, protocol, domains=domains, adsl=adsl) if domains else None
    ex = dataset.table("EX")
    binary_events = None
    binaries = [e for e in protocol.endpoints if e.type == "binary" and e.measurement is None]
    if binaries:
        as_tte = protocol.model_copy(
            update={"endpoints": [_as_time_to_event(e, protocol) for e in binaries]}
        )
        binary_events = derive_adtte(dataset, as_tte, adsl=adsl)
    results: list[EndpointResult] = []
    empty_lb = pd.DataFrame(
        columns=[
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
    )
    for ep in protocol.endpoints:
        res: EndpointResult
        if ep.type == "time_to_event":
            res = ep_mod.time_to_event(ep, protocol, adsl, adtte)
        elif ep.type == "binary":
            res = ep_mod.binary(ep, protocol, adsl, binary_events, adlb)
        elif ep.type in ("continuous", "ordinal"):
            res = ep_mod.continuous(ep, protocol, adsl, adlb if adlb is not None else empty_lb)
        else:
            res = ep_mod.safety_count(ep, protocol, adsl, adae, ex)
        results.append(res)
    window_ids = [w.id for w in protocol.safety.windows]
    win = ep_mod.window_events(protocol, window_ids, adae, adsl, ex)
    return TrialAnalysis(
        protocol_id=protocol.id,
        title=protocol.title,
        arms=arms,
        endpoints=tuple(results),
        consort=consort(dataset, protocol, adsl, arms),
        baseline=baseline(protocol, adsl, arms),
        exposure=exposure(dataset, adsl, arms),
        safety=safety(protocol, adsl, adae, win, arms),
        listings=listings(dataset, adsl, adae, arms),
        problems=tuple(found),
    )


__all__ = [
    "BinaryResult",
    "ContinuousResult",
    "SafetyCountResult",
    "TimeToEventResult",
    "TrialAnalysis",
    "analyze",
    "problems_of",
]
