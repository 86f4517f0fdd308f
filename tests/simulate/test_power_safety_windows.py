"""The vectorized power counts a safety endpoint as the analysis does: deaths inside a window
that lists death (Lanzoni's ``cardiac_arrest_death``: 24 h after each infusion) as well as
infusion-associated AEs. Before the fix only the AEs were drawn, so ``power()`` disagreed with
``design power --plan`` (the report's analysis) on Lanzoni's primary endpoint."""

from __future__ import annotations

import numpy as np

from celltrial.protocol import load_protocol
from celltrial.simulate import load_scenario
from celltrial.simulate.power import _safety


def test_deaths_inside_a_death_window_count_and_others_do_not() -> None:
    p = load_protocol("lanzoni2021")
    s = load_scenario("lanzoni2021", p)
    quiet = {
        a: arm.model_copy(
            update={
                "adverse_events": arm.adverse_events.model_copy(update={"per_administration": 0.0})
            }
        )
        for a, arm in s.arms.items()
    }
    s = s.model_copy(update={"arms": quiet})
    endpoint = next(e for e in p.endpoints if e.id == "infusion_safety")
    arms = tuple(a.id for a in p.arms)
    # Infusions on days 0 and 3 (both arms); the death window is 24 h after each one.
    # By hand: day 0.5 -> inside the first; 2.0 -> between; 3.5 -> inside the second (given:
    # the participant was alive on day 3); 4.5 -> after; 1.0 -> on the first window's edge
    # (24 h, counted: 0 <= hours <= duration); never -> no.
    death = np.array([[0.5, 2.0, 3.5, 4.5, 1.0, np.inf]])
    end = np.minimum(death, 50.0)
    for a in (0, 1):
        arm = np.full(death.shape, a, dtype=np.int64)
        yes = _safety(endpoint, p, s, end, arm, arms, np.random.default_rng(1), death=death)  # type: ignore[arg-type]
        assert yes.tolist() == [[True, False, True, False, True, False]]
