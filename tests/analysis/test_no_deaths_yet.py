"""A trial in which nobody has died yet (any live trial early on) is analysed.

Before the fix, ADSL's death time lost its time zone when every value was missing, and the
safety windows' death check failed with "Cannot subtract tz-naive and tz-aware".
"""

from __future__ import annotations

import numpy as np

from celltrial.analysis import analyze
from celltrial.dataset import derive_adsl
from celltrial.protocol import load_protocol
from celltrial.simulate import load_scenario, simulate_trial


def test_a_trial_without_deaths_is_analysed() -> None:
    p = load_protocol("lanzoni2021")
    ds = simulate_trial(p, load_scenario("lanzoni2021", p), n=4, rng=np.random.default_rng(5))
    # seed 5: no death among the 4 under the columnar simulator (seed 3 drew one)
    assert ds.table("DM")["DTHDTC"].isna().all()  # the case: no death recorded
    adsl = derive_adsl(ds, p)
    assert str(adsl["DTHDTM"].dtype) == "datetime64[ns, UTC]"
    result = analyze(ds, p)
    assert result.to_dict()  # renders to a dict without error
