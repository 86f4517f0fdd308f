"""Power of Lanzoni's whole analysis plan (``celltrial design power --plan``): virtual trials of
24 participants, each simulated and analysed by the report's own per-endpoint analysis.

Issue 22's goal: all of Lanzoni's endpoints (31 pre-specified tests), 1,000 virtual trials of
24 participants, in under 60 s on 2 cores. Runs the trials on a local Dask cluster of
``--workers`` processes (the cluster's start timed apart), prints trials/s, wall and CPU time,
and, with ``--per-stage``, the CPU time per trial of each stage (simulate_trial, Trial.derive,
the endpoint analyses) on a few trials in this process.

    PYTHONPATH=src .venv/bin/python bench/plan_power.py [--trials 1000] [--workers 2] [--per-stage]

No peer: R has no tool that runs a protocol's own analysis plan on simulated trials; the
like-for-like check is against celltrial's own vectorized per-endpoint power (``power()``),
printed for the endpoints both compute.
"""

from __future__ import annotations

import argparse
import math
import os
import time
import warnings

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import numpy as np

from celltrial.analysis.endpoints import analyse_endpoint
from celltrial.analysis.trial import Trial
from celltrial.protocol import load_protocol
from celltrial.simulate import load_scenario, simulate_trial
from celltrial.simulate.distributed import dask_client
from celltrial.simulate.plan_power import plan_power, planned_tests
from celltrial.simulate.power import power

GOAL_TRIALS, GOAL_SECONDS = 1000, 60.0


def per_stage(trials: int) -> None:
    p = load_protocol("lanzoni2021")
    s = load_scenario("lanzoni2021", p)
    spent = {"simulate_trial": 0.0, "Trial.derive": 0.0, "endpoint analyses": 0.0}
    for i in range(trials):
        t = time.process_time()
        ds = simulate_trial(p, s, n=24, rng=np.random.default_rng(i))
        spent["simulate_trial"] += time.process_time() - t
        t = time.process_time()
        trial = Trial.derive(ds, p)
        spent["Trial.derive"] += time.process_time() - t
        t = time.process_time()
        for e in p.endpoints:
            analyse_endpoint(e, trial)
        spent["endpoint analyses"] += time.process_time() - t
    total = sum(spent.values())
    print(f"CPU per trial, mean of {trials} (this process):")
    for k, v in spent.items():
        print(f"  {k:20s} {v / trials * 1000:7.1f} ms  {v / total:5.1%}")
    print(f"  {'total':20s} {total / trials * 1000:7.1f} ms")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--trials", type=int, default=GOAL_TRIALS)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--chunk", type=int, default=25)
    ap.add_argument("--per-stage", action="store_true")
    a = ap.parse_args()
    warnings.simplefilter("ignore")  # a Cox fit with an infinite HR says so in its result
    p = load_protocol("lanzoni2021")
    s = load_scenario("lanzoni2021", p)
    tests = planned_tests(p)[0]
    if a.per_stage:
        per_stage(10)
    t0 = time.perf_counter()
    with dask_client("local", workers=a.workers) as client:
        client.run(lambda: __import__("celltrial.simulate.plan_power"))  # warm the workers
        start = time.perf_counter() - t0
        cpu0 = sum(client.run(time.process_time).values())
        t1, c1 = time.perf_counter(), time.process_time()
        rows = plan_power(
            p,
            s,
            n=24,
            trials=a.trials,
            rng=np.random.default_rng(1),
            client=client,
            chunk=a.chunk,
        )
        wall = time.perf_counter() - t1
        workers_cpu = sum(client.run(time.process_time).values()) - cpu0
    print(
        f"plan power, lanzoni2021, n = 24, {len(tests)} tests of 16 endpoints, {a.trials} trials, "
        f"{a.workers} Dask workers (chunk {a.chunk}):"
    )
    print(f"  cluster start      {start:7.2f} s (not counted)")
    print(f"  wall               {wall:7.2f} s   {a.trials / wall:6.1f} trials/s")
    print(f"  load average       {os.getloadavg()[0]:7.2f} (a busy machine inflates the wall)")
    print(
        f"  CPU of the workers {workers_cpu:7.2f} s   {workers_cpu / a.trials * 1000:6.0f} ms a trial"
    )
    print(f"  CPU here           {time.process_time() - c1:7.2f} s")
    scaled = wall * GOAL_TRIALS / a.trials
    verdict = "met" if scaled < GOAL_SECONDS else "NOT met"
    print(
        f"goal: {GOAL_TRIALS} trials in < {GOAL_SECONDS:.0f} s on 2 cores: "
        f"{scaled:.1f} s{' (scaled)' if a.trials != GOAL_TRIALS else ''} -> {verdict}"
    )
    vec = {
        r.endpoint: r.power.power
        for r in power(p, s, n=24, trials=20_000, rng=np.random.default_rng(1), null=False)
    }
    print("agreement with the vectorized per-endpoint power (20,000 trials):")
    for r in rows:
        if r.test.method in ("logrank", "fisher_exact", "wilcoxon_rank_sum") and r.test.arm is None:
            v = vec[r.test.endpoint]
            z = (r.power - v) / math.sqrt(max(v * (1 - v), 1e-4) / r.trials)
            print(
                f"  {r.test.endpoint:18s} {r.test.label:18s} plan {r.power:.3f} ± {r.se:.3f}"
                f"   vectorized {v:.3f}   z {z:+.1f}"
            )


if __name__ == "__main__":
    main()
