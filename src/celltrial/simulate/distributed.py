"""Run the batches of a power simulation (and the chunks of `design power --plan`) on a Dask cluster.

Each batch's generator is fixed (a ``SeedSequence.spawn`` child of the caller's generator)
before it is handed to a worker, so the counts, and hence power, are identical to a
single-process run with the same seed.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Any

import numpy as np

from celltrial.protocol import Endpoint, Protocol
from celltrial.simulate.power import Runner, batch_rejections
from celltrial.simulate.scenario import Scenario


@contextmanager
def dask_client(address: str, *, workers: int | None = None) -> Iterator[Any]:
    """A Dask client: ``local`` starts a local cluster of ``workers`` processes (one thread
    each), shut down when the block ends; otherwise the scheduler at ``address`` (only
    disconnected from). Raises RuntimeError naming ``--dask`` when it cannot be reached."""
    from dask.distributed import Client, LocalCluster

    cluster: Any = None
    try:
        if address == "local":
            cluster = LocalCluster(  # type: ignore[no-untyped-call]
                n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None
            )
            client: Any = Client(cluster)  # type: ignore[no-untyped-call]
        else:
            client = Client(address, timeout=30)  # type: ignore[no-untyped-call]
    except OSError as exc:
        if cluster is not None:
            cluster.close()
        raise RuntimeError(f"--dask: cannot reach the scheduler at {address!r}: {exc}") from None
    try:
        yield client
    finally:
        client.close()
        if cluster is not None:
            cluster.close()


@contextmanager
def dask_runner(address: str, *, workers: int | None = None) -> Iterator[Runner]:
    """A :data:`~celltrial.simulate.power.Runner` submitting each batch to the Dask scheduler
    at ``address`` (a :func:`dask_client`: ``local`` starts a local cluster of ``workers``
    processes, shut down when the block ends; a remote scheduler is only disconnected from)."""
    with dask_client(address, workers=workers) as client:

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

        yield run
