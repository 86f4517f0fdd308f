"""Power by simulation: celltrial vs rpact vs an R survdiff loop vs a lifelines loop.

Design (issue 9): 10,000 simulated trials of 24 participants 1:1, exponential survival,
control median 12 months, HR 0.5, uniform accrual over 12 months, analysis at the 18th
event, log-rank test. celltrial runs on one core (numpy, one batch of 10,000 trials); rpact's
compiled ``getSimulationSurvival`` runs the same design; the R ``survdiff`` loop runs 1,000
trials and the lifelines loop 200 trials, both scaled to 10,000.

    .venv/bin/python bench/power.py [--skip-r] [--skip-lifelines]
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import numpy as np

from celltrial.simulate.power import simulate_logrank_power, simulate_logrank_trials

TRIALS = 10_000
DESIGN = dict(n=24, hazard_ratio=0.5, control_median=12.0, accrual_time=12.0, events=18)

RPACT = """
suppressPackageStartupMessages(library(rpact))
d <- getDesignGroupSequential(kMax = 1, alpha = 0.025, sided = 1)
run <- function(it) getSimulationSurvival(d, lambda2 = log(2) / 12, hazardRatio = 0.5,
  accrualTime = c(0, 12), plannedEvents = 18, maxNumberOfSubjects = 24,
  maxNumberOfIterations = it, seed = 1, directionUpper = FALSE)
invisible(run(100))
t <- system.time(s <- run(10000))[["elapsed"]]
cat(sprintf("%.6f %.5f\\n", t, s$overallReject))
"""

SURVDIFF = """
suppressPackageStartupMessages(library(survival))
d <- read.csv("{path}")
ids <- split(seq_len(nrow(d)), d$trial)
t <- system.time(p <- vapply(ids, function(i) {{
  s <- survdiff(Surv(time, event) ~ group, data = d[i, ])
  pchisq(s$chisq, 1, lower.tail = FALSE)
}}, numeric(1)))[["elapsed"]]
cat(sprintf("%.6f %d\\n", t, length(p)))
"""


def best_of(fn: object, repeats: int = 7) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()  # type: ignore[operator]
        times.append(time.perf_counter() - start)
    return min(times)


def celltrial_seconds() -> tuple[float, float]:
    result = simulate_logrank_power(**DESIGN, trials=TRIALS, rng=np.random.default_rng(1))  # type: ignore[arg-type]
    seconds = best_of(
        lambda: simulate_logrank_power(**DESIGN, trials=TRIALS, rng=np.random.default_rng(1))  # type: ignore[arg-type]
    )
    return seconds, result.power


def rpact_seconds() -> tuple[float, float]:
    out = subprocess.run(
        ["Rscript", "-e", RPACT], capture_output=True, text=True, check=True
    ).stdout.split()
    return float(out[0]), float(out[1])


def survdiff_seconds(trials: int) -> float:
    sim = simulate_logrank_trials(**DESIGN, trials=trials, rng=np.random.default_rng(2))  # type: ignore[arg-type]
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "trials.csv"
        keep = ~np.isnan(sim.time)
        trial = np.repeat(np.arange(trials), sim.time.shape[1]).reshape(sim.time.shape)
        with path.open("w") as fh:
            fh.write("trial,time,event,group\n")
            for i, t, e, g in zip(
                trial[keep], sim.time[keep], sim.event[keep], sim.group[keep], strict=True
            ):
                fh.write(f"{i},{float(t)!r},{int(e)},{int(g)}\n")
        out = subprocess.run(
            ["Rscript", "-e", SURVDIFF.format(path=path)],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.split()
    return float(out[0])


def lifelines_seconds(trials: int) -> float:
    from lifelines.statistics import logrank_test

    sim = simulate_logrank_trials(**DESIGN, trials=trials, rng=np.random.default_rng(3))  # type: ignore[arg-type]
    start = time.perf_counter()
    for i in range(trials):
        ok = ~np.isnan(sim.time[i])
        g = sim.group[i][ok] == 1
        t = sim.time[i][ok]
        e = sim.event[i][ok]
        logrank_test(t[g], t[~g], event_observed_A=e[g], event_observed_B=e[~g])
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--skip-r", action="store_true")
    parser.add_argument("--skip-lifelines", action="store_true")
    args = parser.parse_args()
    print(f"design: {DESIGN}, {TRIALS} trials")
    ours, power = celltrial_seconds()
    print(f"celltrial (numpy, 1 core)      {ours:9.4f} s   power {power:.4f} (2-sided 0.05)")
    rows = []
    if not args.skip_r and shutil.which("Rscript"):
        r, rpower = rpact_seconds()
        rows.append(("rpact getSimulationSurvival", r, f"power {rpower:.4f} (1-sided 0.025)"))
        loop = survdiff_seconds(1000) * TRIALS / 1000
        rows.append(("R survdiff loop (1,000 x10)", loop, ""))
    if not args.skip_lifelines:
        try:
            rows.append(("lifelines loop (200 x50)", lifelines_seconds(200) * TRIALS / 200, ""))
        except ImportError:
            print("lifelines not installed (pip install -e .[bench]); skipped")
    for name, seconds, note in rows:
        print(f"{name:30s} {seconds:9.4f} s   {seconds / ours:8.1f}x celltrial  {note}")
    goal = "met" if ours <= 0.05 else "NOT met"
    print(f"goal <= 0.05 s for {TRIALS} trials on one core: {goal}")


if __name__ == "__main__":
    main()
