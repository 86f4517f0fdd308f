"""Power on a local Dask cluster equals the single-process run for the same seed."""

from __future__ import annotations

import numpy as np

from celltrial.protocol import load_protocol
from celltrial.simulate.distributed import dask_runner
from celltrial.simulate.power import power
from celltrial.simulate.scenario import load_scenario


def test_local_cluster_gives_identical_results() -> None:
    protocol = load_protocol("lanzoni2021")
    scenario = load_scenario("lanzoni2021", protocol)
    single = power(protocol, scenario, n=24, trials=600, rng=np.random.default_rng(11), batch=200)
    with dask_runner("local", workers=2) as runner:
        spread = power(
            protocol,
            scenario,
            n=24,
            trials=600,
            rng=np.random.default_rng(11),
            batch=200,
            run_batches=runner,
        )
    assert [r.to_dict() for r in spread] == [r.to_dict() for r in single]
    # the run did simulate something: the primary endpoint's rejections are counted
    assert all(r.power.trials == 600 for r in single)
