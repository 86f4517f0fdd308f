"""``analyze(dataset, protocol)``: every pre-specified analysis of a trial, in one object."""

from __future__ import annotations

import dataclasses

from celltrial._result import Result
from celltrial.analysis.arms import ArmInfo
from celltrial.analysis.endpoints import analyse_endpoint, window_events
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
from celltrial.analysis.trial import Trial
from celltrial.dataset import Dataset, DatasetError, Problem, check_dataset, errors
from celltrial.protocol import Protocol


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
    #: False for a non-randomized design (``design.assignment``): the report says "assigned".
    randomized: bool = True

    def endpoint(self, endpoint_id: str) -> EndpointResult:
        for e in self.endpoints:
            if e.endpoint == endpoint_id:
                return e
        raise KeyError(f"no endpoint {endpoint_id!r} in the analysis of {self.protocol_id}")

    @property
    def missing(self) -> tuple[tuple[str, Missing], ...]:
        """Every (endpoint id, missing participant) pair."""
        return tuple((e.endpoint, m) for e in self.endpoints for m in e.missing)


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
    trial = Trial.derive(dataset, protocol)
    results = tuple(analyse_endpoint(ep, trial) for ep in protocol.endpoints)
    win = window_events(trial, [w.id for w in protocol.safety.windows])
    return TrialAnalysis(
        protocol_id=protocol.id,
        title=protocol.title,
        arms=trial.arms.arms,
        endpoints=results,
        consort=consort(trial),
        baseline=baseline(trial),
        exposure=exposure(trial),
        safety=safety(trial, win),
        listings=listings(trial),
        problems=tuple(found),
        randomized=protocol.design.assignment == "randomized",
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
