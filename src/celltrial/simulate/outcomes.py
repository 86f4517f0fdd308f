"""Clinical outcomes of virtual participants, drawn for many trials at once.

:func:`draw_outcomes` draws, for an array of arm assignments of shape ``(trials, n)``, each
participant's latent time (days from the first administration) of every clinical event of the
scenario, of the first non-fatal serious AE and of dropout, and applies the rules: death ends
everything; an event with ``only_before`` cannot happen after those events; dropout and the end
of follow-up censor. The virtual trial (one row) and power by simulation (many rows) share it,
so a calibrated scenario means the same in both.

Draws are made event by event in a fixed order (sorted event codes), each for the whole array,
so that the outcomes are a deterministic function of the generator and the assignments.
"""

from __future__ import annotations

import dataclasses

import numpy as np
from numpy.typing import NDArray

from celltrial.protocol import Endpoint, Protocol
from celltrial.simulate.scenario import DROPOUT, Scenario, follow_up_days

DEATH = "death"
SAE = "sae"
Array = NDArray[np.float64]


@dataclasses.dataclass(frozen=True)
class Outcomes:
    """Per participant (arrays of shape ``(trials, n)``, days from the first administration).

    ``latent``: the time each event would happen if nothing intervened (``inf`` for never).
    ``observed``: the time it is observed (``inf`` when it is not: after death, after an
    ``only_before`` event, after dropout or after the end of follow-up). ``end``: the end of
    follow-up (death, dropout or the planned end). ``serious``: first non-fatal serious AE.
    """

    arms: tuple[str, ...]
    arm: NDArray[np.int64]
    follow_up: float
    latent: dict[str, Array]
    observed: dict[str, Array]
    serious: Array
    end: Array
    dropout: NDArray[np.bool_]

    @property
    def death(self) -> Array:
        return self.observed.get(DEATH, np.full(self.arm.shape, np.inf))


def _codes(scenario: Scenario) -> list[str]:
    codes = {c for arm in scenario.arms.values() for c in arm.hazards}
    return sorted(codes | {DEATH, DROPOUT})


def draw_outcomes(
    protocol: Protocol,
    scenario: Scenario,
    arm: NDArray[np.int64],
    *,
    arms: tuple[str, ...],
    rng: np.random.Generator,
) -> Outcomes:
    """Draw every participant's clinical events.

    Parameters
    ----------
    protocol, scenario
    arm : int array, shape (trials, n)
        Index into ``arms`` of each participant's arm.
    arms : tuple of str
        Arm ids.
    rng : numpy.random.Generator
    """
    arm = np.asarray(arm, dtype=np.int64)
    horizon = follow_up_days(scenario, protocol)
    latent: dict[str, Array] = {}
    for code in [*_codes(scenario), "_serious"]:
        e = rng.standard_exponential(arm.shape)
        t = np.full(arm.shape, np.inf)
        for k, arm_id in enumerate(arms):
            spec = scenario.arms[arm_id]
            hazard = spec.adverse_events.serious if code == "_serious" else spec.hazards.get(code)
            if hazard is None:
                continue
            mask = arm == k
            t[mask] = hazard.invert(e[mask])
        latent[code] = t
    serious_latent = latent.pop("_serious")
    death = latent[DEATH]
    drop = latent[DROPOUT]
    stop = np.minimum(drop, horizon)
    death_obs = np.where(death <= stop, death, np.inf)
    end = np.minimum(np.minimum(death, drop), horizon)
    dropped = (drop < death) & (drop < horizon)
    observed: dict[str, Array] = {DEATH: death_obs}
    for code, t in latent.items():
        if code in (DEATH, DROPOUT):
            continue
        ok = (t < death) & (t < drop) & (t <= horizon)
        for k, arm_id in enumerate(arms):
            rule = scenario.arms[arm_id].hazards.get(code)
            for other in rule.only_before if rule is not None else []:
                ok &= ~((arm == k) & (latent.get(other, np.inf) <= t))
        observed[code] = np.where(ok, t, np.inf)
    serious = np.where(
        (serious_latent < death) & (serious_latent < drop) & (serious_latent <= horizon),
        serious_latent,
        np.inf,
    )
    return Outcomes(
        arms=arms,
        arm=arm,
        follow_up=horizon,
        latent=latent,
        observed=observed,
        serious=serious,
        end=end,
        dropout=dropped,
    )


def _fatal_sae(scenario: Scenario, outcomes: Outcomes) -> NDArray[np.bool_]:
    flags = np.array([scenario.arms[a].adverse_events.fatal_at_death for a in outcomes.arms])
    return flags[outcomes.arm]


def event_time(scenario: Scenario, outcomes: Outcomes, code: str) -> Array:
    """Observed time of event ``code`` (``sae``: the first serious AE, a fatal one included
    when the arm reports deaths as fatal SAEs)."""
    if code == SAE:
        fatal = np.where(_fatal_sae(scenario, outcomes), outcomes.death, np.inf)
        return np.minimum(outcomes.serious, fatal)
    return outcomes.observed.get(code, np.full(outcomes.arm.shape, np.inf))


def time_to_event(
    endpoint: Endpoint, scenario: Scenario, outcomes: Outcomes
) -> tuple[Array, NDArray[np.bool_]]:
    """(time in days, event) of a time-to-event endpoint, by its censoring rule for death.

    Competing events (and death when ``competing``) are censored: the log-rank on them tests
    the cause-specific hazard.
    """
    horizon = endpoint.horizon / 24.0 if endpoint.horizon is not None else outcomes.follow_up
    horizon = min(horizon, outcomes.follow_up)
    rule = endpoint.censoring.death if endpoint.censoring is not None else "censor_at_death"
    first = np.full(outcomes.arm.shape, np.inf)
    for code in endpoint.events:
        if code != DEATH:
            first = np.minimum(first, event_time(scenario, outcomes, code))
    death = outcomes.death
    if rule == "event" or DEATH in endpoint.events:
        first = np.minimum(first, death)
        death = np.full_like(death, np.inf)
    event = first <= horizon
    died_first = death < first
    censor = np.minimum(outcomes.end, horizon)
    if rule == "censor_at_horizon":
        # Kept in the risk set to the end of follow-up (Lanzoni's time to recovery).
        censor = np.where(died_first & ~outcomes.dropout, horizon, censor)
    event &= ~died_first
    time = np.where(event, first, censor)
    return time, event


def occurred(endpoint: Endpoint, scenario: Scenario, outcomes: Outcomes) -> NDArray[np.bool_]:
    """Whether any of a binary endpoint's events happened by its horizon."""
    horizon = endpoint.horizon / 24.0 if endpoint.horizon is not None else outcomes.follow_up
    first = np.full(outcomes.arm.shape, np.inf)
    for code in endpoint.events:
        first = np.minimum(first, event_time(scenario, outcomes, code))
    return first <= horizon
