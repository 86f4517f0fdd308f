"""Kaplan–Meier, log-rank and Cox beside statsmodels, lifelines, R and a numpy argsort, like for like.

Every tool runs as a warm process with the data already loaded: the Python tools in this
process, R (``survival``) in one ``Rscript`` that reads the same numbers (binary float64, no
rounding; ``timefix = FALSE`` for survfit and coxph so that R, like the others, treats distinct
doubles as distinct; survdiff has no such switch and merges times equal to ~1e-8 relative, so
its chi-square differs slightly on continuous times) and times its own loop with ``system.time``. Each tool gets one warm-up call and then
``--repeat`` calls, interleaved (one call of every tool per round), and the table gives the
minimum and the median of each side. The results are compared and the largest disagreement is
printed (KM: S(t) at nine quantiles of the follow-up times; log-rank: chi-square; Cox:
coefficients). Peak memory: ``tracemalloc`` for one untimed call of each Python tool, R's
``gc()`` "max used" for one call of each R function (both above the loaded data).

Two data sets of ``--n`` rows (default 1e6): two arms, one N(0, 1) covariate, exponential
event times with hazard ``exp(-0.4 arm + 0.3 x)``, ~30 % censored. ``continuous``: the times as
drawn (all distinct); ``tied``: the same times rounded up to 1/200 of a unit (~2,000 distinct).

Times are CPU seconds of the calling process (``time.process_time``; R: user + system of
``system.time``) by default, so that a shared, busy machine slows every side alike; ``--clock
wall`` gives elapsed time. BLAS and OpenMP run one thread. The last lines state each goal of
issue 22 and whether this run meets it (on both the min and the median ratio).

    python bench/survival.py --quick           # the goals only: 1e6 rows, 3 rounds, no lifelines,
                                               # R for Cox only (about 3 minutes on 2 cores)
    python bench/survival.py                   # n = 1e6, 5 rounds, every tool
    python bench/survival.py --n 100000 --repeat 7
    python bench/survival.py --no-r --no-cox   # KM and log-rank against the Python peers only
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import tempfile
import time
import tracemalloc
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import numpy as np

from celltrial.stats import cox_ph, kaplan_meier, logrank

R_SCRIPT = r"""
suppressPackageStartupMessages(library(survival))
a <- commandArgs(TRUE)
n <- as.integer(a[2]); reps <- as.integer(a[3]); want <- strsplit(a[4], ",")[[1]]
rd <- function(f) readBin(file.path(a[1], f), "double", n)
d <- data.frame(time = rd("time.bin"), event = rd("event.bin"), arm = rd("arm.bin"),
                x = rd("x.bin"))
probe <- readBin(file.path(a[1], "probe.bin"), "double", 9)
km <- function() survfit(Surv(time, event) ~ 1, data = d, timefix = FALSE)
lr <- function() survdiff(Surv(time, event) ~ arm, data = d)  # no timefix argument here
cx <- function() coxph(Surv(time, event) ~ arm + x, data = d, ties = "efron",
                        control = coxph.control(timefix = FALSE))
jobs <- list(km = km, logrank = lr, cox = cx)[want]
for (j in names(jobs)) invisible(jobs[[j]]())            # warm-up
cpu <- wall <- matrix(NA_real_, reps, length(jobs), dimnames = list(NULL, names(jobs)))
for (r in seq_len(reps)) for (j in names(jobs)) {
  st <- system.time(jobs[[j]]())
  cpu[r, j] <- st[["user.self"]] + st[["sys.self"]]; wall[r, j] <- st[["elapsed"]]
}
for (j in names(jobs)) cat("CPU", j, cpu[, j], "\n")
for (j in names(jobs)) cat("WALL", j, wall[, j], "\n")
for (j in names(jobs)) {                                  # memory above the loaded data
  invisible(gc(reset = TRUE)); base <- sum(gc()[, 2]); invisible(jobs[[j]]())
  cat("MEM", j, sum(gc()[, 6]) - base, "\n")              # "max used" (Mb) minus in use
}
if ("km" %in% want) cat("KM", sprintf("%.17g", summary(km(), times = probe, extend = TRUE)$surv), "\n")
if ("logrank" %in% want) cat("LR", sprintf("%.17g", lr()$chisq), "\n")
if ("cox" %in% want) cat("COX", sprintf("%.17g", coef(cx())), "\n")
"""


def simulate(n: int, rng: np.random.Generator) -> dict[str, dict[str, np.ndarray]]:
    """The continuous and the tied data set (same draws; tied = times rounded up to 1/200)."""
    arm = rng.integers(0, 2, n).astype(np.float64)
    x = rng.standard_normal(n)
    t_event = rng.exponential(1.0 / np.exp(-0.4 * arm + 0.3 * x))
    t_cens = rng.exponential(2.8, n)
    t = np.minimum(t_event, t_cens)
    event = (t_event <= t_cens).astype(np.float64)
    cont = {"time": t, "event": event, "arm": arm, "x": x}
    tied = {"time": np.ceil(t * 200.0) / 200.0, "event": event, "arm": arm, "x": x}
    return {"continuous": cont, "tied": tied}


def _peak_mb(fn: Callable[[], Any]) -> float:
    tracemalloc.start()
    fn()
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return peak / 2**20


def _km_with_ci(t: np.ndarray, e: np.ndarray) -> Any:
    fit = kaplan_meier(t, e)
    _ = fit.se, fit.ci
    return fit


def _python_tools(
    d: dict[str, np.ndarray], probe: np.ndarray, with_cox: bool, lifelines: bool
) -> dict[str, dict[str, tuple[Callable[[], Any], Callable[[Any], Any]]]]:
    """job -> tool -> (call, result extractor for the agreement check)."""
    from lifelines import KaplanMeierFitter
    from lifelines.statistics import logrank_test
    from statsmodels.duration.survfunc import SurvfuncRight, survdiff

    t, e, arm, x = d["time"], d["event"], d["arm"], d["x"]
    a = arm == 1
    X = np.column_stack((arm, x))
    jobs: dict[str, dict[str, tuple[Callable[[], Any], Callable[[Any], Any]]]] = {
        "km": {
            "celltrial": (lambda: kaplan_meier(t, e), lambda r: r.survival_at(probe)),
            # se and ci are computed on first access; this row reads them (lifelines' fit has
            # its CI, statsmodels' has S and its SE)
            "celltrial+ci": (lambda: _km_with_ci(t, e), lambda r: r.survival_at(probe)),
            "statsmodels": (
                lambda: SurvfuncRight(t, e),
                lambda r: np.concatenate(([1.0], r.surv_prob))[
                    np.searchsorted(r.surv_times, probe, side="right")
                ],
            ),
            "lifelines": (
                lambda: KaplanMeierFitter().fit(t, e),
                lambda r: np.asarray(r.survival_function_at_times(probe), dtype=float),
            ),
            "argsort": (lambda: np.argsort(t), lambda r: None),
        },
        "logrank": {
            "celltrial": (lambda: logrank(t, e, arm), lambda r: r.statistic),
            "statsmodels": (lambda: survdiff(t, e, arm), lambda r: r[0]),
            "lifelines": (
                lambda: logrank_test(t[a], t[~a], e[a], e[~a]),
                lambda r: r.test_statistic,
            ),
            "argsort": (lambda: np.argsort(t), lambda r: None),
        },
    }
    if not lifelines:
        for tools in jobs.values():
            del tools["lifelines"]
    if with_cox:
        jobs["cox"] = {"celltrial": (lambda: cox_ph(X, t, e), lambda r: np.asarray(r.estimate))}
    return jobs


def _run_r(
    d: dict[str, np.ndarray], probe: np.ndarray, reps: int, jobs: list[str], clock: str
) -> dict[str, Any]:
    if shutil.which("Rscript") is None or not jobs:
        return {}
    with tempfile.TemporaryDirectory() as tmp:
        for k in ("time", "event", "arm", "x"):
            d[k].astype("<f8").tofile(Path(tmp) / f"{k}.bin")
        probe.astype("<f8").tofile(Path(tmp) / "probe.bin")
        script = Path(tmp) / "bench.R"
        script.write_text(R_SCRIPT)
        res = subprocess.run(
            ["Rscript", str(script), tmp, str(d["time"].size), str(reps), ",".join(jobs)],
            capture_output=True,
            text=True,
            check=True,
        )
    out: dict[str, Any] = {"time": {}, "mem": {}}
    clock_tag = "CPU" if clock == "cpu" else "WALL"
    for line in res.stdout.splitlines():
        parts = line.split()
        if not parts:
            continue
        if parts[0] == clock_tag:
            out["time"][parts[1]] = [float(v) for v in parts[2:]]
        elif parts[0] == "MEM":
            out["mem"][parts[1]] = float(parts[2])
        elif parts[0] == "KM":
            out["km"] = np.array([float(v) for v in parts[1:]])
        elif parts[0] == "LR":
            out["logrank"] = float(parts[1])
        elif parts[0] == "COX":
            out["cox"] = np.array([float(v) for v in parts[1:]])
    return out


def _fmt_ms(ts: list[float]) -> str:
    return f"{min(ts) * 1e3:8.1f} / {float(np.median(ts)) * 1e3:8.1f}"


def _ratio(times: dict[str, list[float]], tool: str) -> tuple[float, float]:
    """(min, median) of tool's time over celltrial's."""
    ours, theirs = times["celltrial"], times[tool]
    return min(theirs) / min(ours), float(np.median(theirs) / np.median(ours))


def bench_one(
    name: str, d: dict[str, np.ndarray], reps: int, r_jobs: list[str], with_cox: bool,
    lifelines: bool, clock: str,
) -> list[str]:  # fmt: skip
    """Time, check and print one data set; returns its goal lines."""
    now = time.process_time if clock == "cpu" else time.perf_counter
    probe = np.quantile(d["time"], np.linspace(0.1, 0.9, 9))
    jobs = _python_tools(d, probe, with_cox, lifelines)
    times: dict[str, dict[str, list[float]]] = {
        j: {t: [] for t in tools} for j, tools in jobs.items()
    }
    values: dict[str, dict[str, Any]] = {j: {} for j in jobs}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for j, tools in jobs.items():  # warm-up, and the results for the agreement check
            for tool, (call, get) in tools.items():
                values[j][tool] = get(call())
        for _ in range(reps):  # interleaved rounds
            for j, tools in jobs.items():
                for tool, (call, _get) in tools.items():
                    t0 = now()
                    call()
                    times[j][tool].append(now() - t0)
        mem = {
            j: {tool: _peak_mb(call) for tool, (call, _g) in tools.items()}
            for j, tools in jobs.items()
        }
    r = _run_r(d, probe, reps, [j for j in r_jobs if j in jobs], clock)
    for j in jobs:
        if j in r.get("time", {}):
            times[j]["R survival"] = r["time"][j]
            mem[j]["R survival"] = r["mem"].get(j, float("nan"))
            values[j]["R survival"] = r.get(j)
    n_distinct = np.unique(d["time"]).size
    print(f"\n== {name}: n = {d['time'].size:,}, {n_distinct:,} distinct times, "
          f"{1 - d['event'].mean():.1%} censored, {reps} interleaved rounds after 1 warm-up, "
          f"{clock} time ==")  # fmt: skip
    print(f"{'job':<8} {'tool':<13} {'min / median ms':>19} {'peak MB':>8} "
          f"{'tool/celltrial min/med':>23} {'max |diff| vs celltrial':>24}")  # fmt: skip
    for j in jobs:
        ref = values[j]["celltrial"]
        for tool, ts in times[j].items():
            rmin, rmed = _ratio(times[j], tool)
            v = values[j].get(tool)
            diff = "-" if v is None or tool == "celltrial" else f"{np.max(np.abs(np.asarray(v) - ref)):.2e}"  # fmt: skip
            ratio = "-" if tool == "celltrial" else f"{rmin:6.2f}x / {rmed:6.2f}x"
            print(f"{j:<8} {tool:<13} {_fmt_ms(ts):>19} {mem[j][tool]:8.1f} {ratio:>23} {diff:>24}")
    print("tool/celltrial > 1: celltrial faster; for argsort (the floor) < 1, and 1/ratio is how "
          "many argsorts celltrial costs.")  # fmt: skip
    print("peak MB: tracemalloc peak of one call (Python); R: gc() max used above in use (Mb).")
    goals = []

    def goal(text: str, ratios: tuple[float, float], met: bool) -> None:
        verdict = "MET" if met else "NOT met"
        goals.append(f"GOAL {name:<10} {text:<46} {ratios[0]:6.2f}x / {ratios[1]:6.2f}x  {verdict}")

    for j in ("km", "logrank"):
        if name == "continuous" and "statsmodels" in times.get(j, {}):
            sm = _ratio(times[j], "statsmodels")
            goal(f"{j} >= 3x statsmodels", sm, min(sm) >= 3.0)
            rmin, rmed = _ratio(times[j], "argsort")
            goal(f"{j} <= 3 argsorts (celltrial / argsort)", (1 / rmin, 1 / rmed), max(1 / rmin, 1 / rmed) <= 3.0)  # fmt: skip
    if "R survival" in times.get("cox", {}):
        rc = _ratio(times["cox"], "R survival")
        goal("cox >= 10x R coxph", rc, min(rc) >= 10.0)
    return goals


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--n", type=int, default=1_000_000)
    ap.add_argument("--repeat", type=int, default=5, help="interleaved rounds after the warm-up")
    ap.add_argument("--no-r", action="store_true", help="skip R even when Rscript is installed")
    ap.add_argument("--no-cox", action="store_true", help="KM and log-rank only")
    ap.add_argument("--data", choices=("continuous", "tied", "both"), default="both")
    ap.add_argument("--clock", choices=("cpu", "wall"), default="cpu")
    ap.add_argument("--quick", action="store_true",
                    help="the goals only: 3 rounds, no lifelines, R for Cox only")  # fmt: skip
    args = ap.parse_args(argv)
    if args.quick:
        args.repeat = min(args.repeat, 3)
    r_jobs = [] if args.no_r else (["cox"] if args.quick else ["km", "logrank", "cox"])
    data = simulate(args.n, np.random.default_rng(20240611))
    goals: list[str] = []
    for name, d in data.items():
        if args.data in (name, "both"):
            goals += bench_one(name, d, args.repeat, r_jobs, not args.no_cox, not args.quick,
                               args.clock)  # fmt: skip
    print(f"\n== goals of issue 22 (ratios of this run, {args.clock} time; min / median) ==")
    print("\n".join(goals))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
