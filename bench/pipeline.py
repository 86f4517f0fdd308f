"""The data path of one virtual trial, stage by stage, at growing sizes: time, memory, slope.

The Lanzoni protocol's virtual trial goes through ``simulate -> dataset checks -> ADSL, ADTTE,
ADAE, ADLB -> analyze -> HTML``. Each stage is timed once (``perf_counter``) in one pass; a
second, untimed pass under ``tracemalloc`` gives each stage's peak extra memory (``--no-memory``
skips it). The last table gives, per stage, the slope of log(time) against log(n) between
consecutive sizes (1 = linear; the goal is <= 1.1).

    python bench/pipeline.py                        # n = 1,000 and 10,000
    python bench/pipeline.py --sizes 1000 10000 100000 --per-week 50
    python bench/pipeline.py --sizes 1000 --no-memory

``--per-week`` overrides the scenario's accrual (Lanzoni: 1 a week). At 1 a week 100,000
participants would enter until ~3900, past the dates celltrial can compute with (2262), and the
simulator refuses it (a ``ScenarioError`` naming ``accrual.per_week``): give ``--per-week 50``
(2,000 weeks of accrual) for 100,000.
"""

from __future__ import annotations

import argparse
import math
import sys
import time
import tracemalloc
from collections.abc import Callable
from typing import Any

import numpy as np

from celltrial.analysis import analyze
from celltrial.dataset import (
    check_dataset,
    derive_adae,
    derive_adlb,
    derive_adsl,
    derive_adtte,
)
from celltrial.protocol import load_protocol
from celltrial.report.html import render_html
from celltrial.simulate import load_scenario, simulate_trial

STAGES = ("simulate", "checks", "ADSL", "ADTTE", "ADAE", "ADLB", "analyze", "HTML")


def _stages(n: int, per_week: float | None, seed: int) -> list[tuple[str, Callable[[Any], Any]]]:
    p = load_protocol("lanzoni2021")
    s = load_scenario("lanzoni2021", p)
    if per_week is not None:
        s = s.model_copy(update={"accrual": s.accrual.model_copy(update={"per_week": per_week})})
    return [
        ("simulate", lambda _: simulate_trial(p, s, n=n, rng=np.random.default_rng(seed))),
        ("checks", lambda ds: check_dataset(ds, p)),
        ("ADSL", lambda ds: derive_adsl(ds, p)),
        ("ADTTE", lambda ds: derive_adtte(ds, p)),
        ("ADAE", lambda ds: derive_adae(ds, p)),
        ("ADLB", lambda ds: derive_adlb(ds, p)),
        ("analyze", lambda ds: analyze(ds, p)),
        ("HTML", lambda a: render_html(a)),
    ]


def _run(n: int, per_week: float | None, seed: int, memory: bool) -> dict[str, float]:
    """Seconds (or, with ``memory``, peak MB) of each stage."""
    out: dict[str, float] = {}
    ds: Any = None
    analysis: Any = None
    for name, fn in _stages(n, per_week, seed):
        arg = analysis if name == "HTML" else ds
        if memory:
            tracemalloc.start()
        t0 = time.perf_counter()
        value = fn(arg)
        elapsed = time.perf_counter() - t0
        if memory:
            _, peak = tracemalloc.get_traced_memory()
            tracemalloc.stop()
            out[name] = peak / 2**20
        else:
            out[name] = elapsed
        if name == "simulate":
            ds = value
        elif name == "analyze":
            analysis = value
        print(
            f"  n={n:,} {name:<8} {'peak MB' if memory else 's'} {out[name]:.2f}", file=sys.stderr
        )
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--sizes", type=int, nargs="+", default=[1_000, 10_000])
    ap.add_argument("--per-week", type=float, default=None, help="accrual override (a week)")
    ap.add_argument("--seed", type=int, default=20261207)
    ap.add_argument("--no-memory", action="store_true", help="skip the tracemalloc pass")
    args = ap.parse_args(argv)
    secs = {n: _run(n, args.per_week, args.seed, memory=False) for n in args.sizes}
    mem = {} if args.no_memory else {n: _run(n, args.per_week, args.seed, True) for n in args.sizes}
    print(
        f"{'participants':>12} "
        + " ".join(f"{s:>9}" for s in STAGES)
        + f" {'total':>9} {'peak MB':>8}"
    )
    for n in args.sizes:
        row = " ".join(f"{secs[n][s]:>8.2f}s" for s in STAGES)
        peak = f"{max(mem[n].values()):>8.0f}" if n in mem else f"{'-':>8}"
        print(f"{n:>12,} {row} {sum(secs[n].values()):>8.2f}s {peak}")
        if n in mem:
            print(f"{'(peak MB)':>12} " + " ".join(f"{mem[n][s]:>9.0f}" for s in STAGES))
    for a, b in zip(args.sizes, args.sizes[1:], strict=False):
        slopes = [
            math.log(secs[b][s] / secs[a][s]) / math.log(b / a) if secs[a][s] > 0 else math.nan
            for s in STAGES
        ]
        print(f"{'slope ' + f'{a:g}->{b:g}':>12} " + " ".join(f"{v:>9.2f}" for v in slopes))
    print("slope: d log(time) / d log(n) between the two sizes (1 = linear; goal <= 1.1).")
    print("peak MB: tracemalloc peak of the stage (Python allocations, numpy included).")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
