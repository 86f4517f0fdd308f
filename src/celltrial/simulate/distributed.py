"""Run the batches of a power simulation on a Dask cluster.

``dask[distributed]`` is an optional dependency (``pip install "dask[distributed]>=2024.8"``).
Each batch's generator is fixed (a ``SeedSequence.spawn`` child of the caller's generator)
before it is handed to a worker, so the counts, and hence power, are identical to a
single-process run with the same seed.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np

from celltrial.protocol import Endpoint, Protocol
from celltrial.simulate.power import Runner, batch_rejections
from celltrial.simulate.scenario import Scenario


def dask_runner(address: str) -> Runner:
    """A :data:`~celltrial.simulate.power.Runner` submitting each batch to the Dask scheduler
    at ``address`` (``local`` starts a local cluster)."""
    try:
        from dask.distributed import Client, LocalCluster
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise RuntimeError(
            'Dask is not installed: pip install "dask[distributed]>=2024.8"'
        ) from exc
    client: Any = Client(LocalCluster(processes=True)) if address == "local" else Client(address)

    def run(
        jobs: list[tuple[int, np.random.Generator]],
        *,
        protocol: Protocol,
        scenario: Scenario,
        pairs: list[tuple[Endpoint, str]],
        n: int,
    ) -> Iterable[list[int]]:
        futures = [
            client.submit(batch_rejections, protocol, scenario, pairs, n, size, rng, pure=False)
            for size, rng in jobs
        ]
        for future in futures:
            yield list(future.result())

    return run
