"""Virtual participants and trials; power by simulation, batched.

>>> import numpy as np
>>> from celltrial.protocol import load_protocol
>>> from celltrial.simulate import load_scenario, simulate_trial
>>> p = load_protocol("lanzoni2021")
>>> ds = simulate_trial(p, load_scenario("lanzoni2021", p), n=24, rng=np.random.default_rng(7))
>>> sorted(ds.dm["ARMCD"].unique())
['control', 'ucmsc']

See ``docs/simulate.md``.
"""

from celltrial.simulate.logrank_batch import BatchLogrank, logrank_batch
from celltrial.simulate.outcomes import Outcomes, draw_outcomes, occurred, time_to_event
from celltrial.simulate.power import (
    EndpointPower,
    SimulatedPower,
    fisher_batch,
    power,
    simulate_logrank_power,
    simulate_logrank_trials,
    testable,
)
from celltrial.simulate.scenario import (
    Hazard,
    Scenario,
    ScenarioError,
    check_scenario,
    load_scenario,
    parse_scenario,
    scenario_ids,
)
from celltrial.simulate.virtual import (
    Candidate,
    TrialEvent,
    participant_events,
    screen_candidates,
    simulate_events,
    simulate_trial,
)

__all__ = [
    "BatchLogrank",
    "Candidate",
    "EndpointPower",
    "Hazard",
    "Outcomes",
    "Scenario",
    "ScenarioError",
    "SimulatedPower",
    "TrialEvent",
    "check_scenario",
    "draw_outcomes",
    "fisher_batch",
    "load_scenario",
    "logrank_batch",
    "occurred",
    "parse_scenario",
    "participant_events",
    "power",
    "scenario_ids",
    "screen_candidates",
    "simulate_events",
    "simulate_logrank_power",
    "simulate_logrank_trials",
    "simulate_trial",
    "testable",
    "time_to_event",
]
