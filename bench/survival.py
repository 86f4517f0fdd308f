"""Speed and memory of celltrial's Kaplan–Meier, log-rank and Cox fits beside lifelines and R.

Simulated data: two arms, one continuous covariate, exponential event times (times rounded to
1e-3, so there are ties), about 30 % censored. The same data go to every tool (R reads a CSV
written here and times each call with ``system.time``). Python peak memory is measured with
``tracemalloc`` in a separate, untimed run.

    python bench/survival.py                      # n = 1e4, 1e5, 1e6
    python bench/survival.py --sizes 10000 100000
    python bench/survival.py --lifelines-cox-1e6  # also lifelines' Cox at 1e6 (~80 s)
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
import time
import tracemalloc
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from celltrial.stats import cox_ph, kaplan_meier, logrank

R_SCRIPT = r"""
suppressPackageStartupMessages(library(survival))
d <- read.csv(commandArgs(TRUE)[1])
t_km <- system.time(survfit(Surv(time, event) ~ 1, data = d))[["elapsed"]]
t_lr <- system.time(survdiff(Surv(time, event) ~ arm, data = d))[["elapsed"]]
t_cox <- system.time(coxph(Surv(time, event) ~ arm + x, data = d))[["elapsed"]]
cat(sprintf("RESULT %.6f %.6f %.6f\n", t_km, t_lr, t_cox))
"""


def simulate(n: int, rng: np.random.Generator) -> dict[str, np.ndarray]:
    """Two arms, one N(0, 1) covariate, hazard exp(-0.4 arm + 0.3 x), ~30 % censored."""
    arm = rng.integers(0, 2, n).astype(np.float64)
    x = rng.standard_normal(n)
    t_event = rng.exponential(1.0 / np.exp(-0.4 * arm + 0.3 * x))
    t_cens = rng.exponential(2.8, n)
    time_ = np.round(np.minimum(t_event, t_cens), 3) + 0.001
    event = (t_event <= t_cens).astype(np.float64)
    return {"time": time_, "event": event, "arm": arm, "x": x}


def _timed(fn: Callable[[], Any], repeat: int = 1) -> float:
    best = float("inf")
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def _peak_mb(fn: Callable[[], Any]) -> float:
    tracemalloc.start()
    fn()
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return peak / 2**20


def _lifelines(d: dict[str, np.ndarray], with_cox: bool) -> dict[str, float]:
    try:
        import pandas as pd
        from lifelines import CoxPHFitter, KaplanMeierFitter
        from lifelines.statistics import logrank_test
    except ImportError:
        return {}
    out: dict[str, float] = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        out["km"] = _timed(lambda: KaplanMeierFitter().fit(d["time"], d["event"]))
        a = d["arm"] == 1
        out["logrank"] = _timed(
            lambda: logrank_test(d["time"][a], d["time"][~a], d["event"][a], d["event"][~a])
        )
        if with_cox:
            df = pd.DataFrame(d)
            out["cox"] = _timed(lambda: CoxPHFitter().fit(df, "time", "event"))
    return out


def _r(d: dict[str, np.ndarray]) -> dict[str, float]:
    if shutil.which("Rscript") is None:
        return {}
    with tempfile.TemporaryDirectory() as tmp:
        csv = Path(tmp) / "data.csv"
        cols = ["time", "event", "arm", "x"]
        np.savetxt(
            csv, np.column_stack([d[c] for c in cols]), delimiter=",", header=",".join(cols),
            comments="", fmt=["%.3f", "%d", "%d", "%.17g"],
        )  # fmt: skip
        script = Path(tmp) / "bench.R"
        script.write_text(R_SCRIPT)
        res = subprocess.run(
            ["Rscript", str(script), str(csv)], capture_output=True, text=True, check=True
        )
    line = next(ln for ln in res.stdout.splitlines() if ln.startswith("RESULT"))
    km, lr, cox = (float(v) for v in line.split()[1:])
    return {"km": km, "logrank": lr, "cox": cox}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000, 1_000_000])
    ap.add_argument(
        "--lifelines-cox-1e6", action="store_true", help="also time lifelines' Cox at n >= 1e6"
    )
    ap.add_argument("--no-r", action="store_true", help="skip R even when Rscript is installed")
    ap.add_argument("--no-lifelines", action="store_true")
    ap.add_argument(
        "--repeat",
        type=int,
        default=None,
        help="best of this many celltrial runs per call (default: 3 at n <= 1e5, else 1)",
    )
    args = ap.parse_args(argv)
    rng = np.random.default_rng(20240611)
    rows = []
    for n in args.sizes:
        d = simulate(n, rng)
        X = np.column_stack((d["arm"], d["x"]))
        ours = {
            "km": lambda d=d: kaplan_meier(d["time"], d["event"]),
            "logrank": lambda d=d: logrank(d["time"], d["event"], d["arm"]),
            "cox": lambda d=d, X=X: cox_ph(X, d["time"], d["event"]),
        }
        input_mb = sum(v.nbytes for v in d.values()) / 2**20
        reps = args.repeat if args.repeat is not None else (3 if n <= 100_000 else 1)
        ct = {k: _timed(f, repeat=reps) for k, f in ours.items()}
        mem = {k: _peak_mb(f) for k, f in ours.items()}
        ll = (
            {}
            if args.no_lifelines
            else _lifelines(d, with_cox=n < 1_000_000 or args.lifelines_cox_1e6)
        )
        rr = {} if args.no_r else _r(d)
        cens = 1 - d["event"].mean()
        for k in ("km", "logrank", "cox"):
            rows.append((n, k, ct[k], ll.get(k), rr.get(k), mem[k], input_mb, cens))
        print(f"done n={n}", file=sys.stderr, flush=True)

    def fmt(v: float | None, spec: str = ".3f") -> str:
        return "-" if v is None else format(v, spec)

    def ratio(a: float | None, b: float) -> str:
        return "-" if a is None else f"{a / b:.1f}x"

    header = (
        f"{'n':>9} {'method':<8} {'celltrial s':>11} {'lifelines s':>11} {'R s':>8} "
        f"{'R/ct':>7} {'ll/ct':>7} {'peak MB':>8} {'input MB':>8} {'censored':>8}"
    )
    print(header)
    print("-" * len(header))
    for n, k, c, lv, rv, mb, imb, cens in rows:
        print(
            f"{n:>9} {k:<8} {c:>11.4f} {fmt(lv, '.4f'):>11} {fmt(rv):>8} {ratio(rv, c):>7} "
            f"{ratio(lv, c):>7} {mb:>8.1f} {imb:>8.1f} {cens:>8.1%}"
        )
    print(
        "R/ct, ll/ct: seconds of R survival / lifelines divided by celltrial's (higher = faster)."
    )
    print("peak MB: tracemalloc peak of the celltrial call; input MB: the four input columns.")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
