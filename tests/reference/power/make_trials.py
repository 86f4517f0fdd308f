"""Write trials.csv: simulated trials for the survdiff reference (run from this folder).

Trials 1-200: the bench design (24 participants 1:1, exponential survival, control median
12 months, HR 0.5, uniform accrual over 12 months, analysis at the 18th event), simulated by
celltrial.simulate.power.simulate_logrank_trials with seed 20260301. Trials 201-300: the same
design with times rounded to whole months, so that tied times occur. A participant not yet
enrolled at the analysis has no row.

    ../../../.venv/bin/python make_trials.py && Rscript survdiff.R
"""

import numpy as np
import pandas as pd

from celltrial.simulate.power import simulate_logrank_trials

sim = simulate_logrank_trials(
    n=24,
    hazard_ratio=0.5,
    control_median=12,
    accrual_time=12,
    events=18,
    trials=300,
    rng=np.random.default_rng(20260301),
)
time = sim.time.copy()
time[200:] = np.ceil(time[200:])
trial = np.repeat(np.arange(1, 301), 24).reshape(300, 24)
keep = ~np.isnan(time)
pd.DataFrame(
    {
        "trial": trial[keep],
        "time": [repr(float(t)) for t in time[keep]],
        "event": sim.event[keep].astype(int),
        "group": sim.group[keep],
    }
).to_csv("trials.csv", index=False)
