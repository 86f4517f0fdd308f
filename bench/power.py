"""Power by simulation: celltrial vs rpact vs an R survdiff loop vs a lifelines loop (log-rank),
and celltrial vs an R loop of t.test + wilcox.test vs per-trial Python loops (continuous).

Log-rank design (issue 9): 10,000 simulated trials of 24 participants 1:1, exponential
survival, control median 12 months, HR 0.5, uniform accrual over 12 months, analysis at the
18th event, log-rank test. celltrial runs on one core (numpy, one batch of 10,000 trials);
rpact's compiled ``getSimulationSurvival`` runs the same design; the R ``survdiff`` loop runs
1,000 trials and the lifelines loop 200 trials, both scaled to 10,000.

Continuous design: 10,000 simulated trials of 24 vs 24 participants, normal outcome with SD 1
and a shift of 0.8, each tested with Welch's t-test and the Wilcoxon rank-sum test (exact, R's
default without ties at these sizes). celltrial draws and tests all trials at once
(``t_test_batch``, ``wilcoxon_batch``); R draws and tests them in a loop (``t.test``,
``wilcox.test``, all 10,000); the Python loops run ``celltrial.stats`` and ``scipy.stats`` per
trial on 1,000 trials, scaled to 10,000. Also timed: the whole of ``power()`` for Shi 2021
(n = 100; three continuous endpoints and one binary, 10,000 trials, without the null run).

    .venv/bin/python bench/power.py [--skip-r] [--skip-lifelines] [--skip-survival]
"""

from __future__ import annotations

import argparse
import math
import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import numpy as np
import scipy.stats

from celltrial.protocol import load_protocol
from celltrial.simulate.batch_tests import t_test_batch, wilcoxon_batch
from celltrial.simulate.power import power, simulate_logrank_power, simulate_logrank_trials
from celltrial.simulate.scenario import load_scenario

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


CONT = dict(n1=24, n2=24, shift=0.8)

R_CONTINUOUS = """
set.seed(1)
run <- function(trials) {{
  p <- matrix(NA_real_, trials, 2)
  for (i in seq_len(trials)) {{
    x <- rnorm({n1}, {shift}); y <- rnorm({n2})
    p[i, 1] <- t.test(x, y)$p.value
    p[i, 2] <- wilcox.test(x, y)$p.value
  }}
  p
}}
invisible(run(100))
t <- system.time(p <- run({trials}))[["elapsed"]]
cat(sprintf("%.6f %.5f %.5f\\n", t, mean(p[, 1] < 0.05), mean(p[, 2] < 0.05)))
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


def continuous_trials(trials: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    n1, n2 = int(CONT["n1"]), int(CONT["n2"])
    values = rng.standard_normal((trials, n1 + n2))
    group = np.arange(n1 + n2) < n1
    values[:, group] += CONT["shift"]
    return values, group


def celltrial_continuous(trials: int = TRIALS) -> tuple[float, float, float]:
    """Seconds (draws and both tests) and the power of Welch and Wilcoxon."""

    def run() -> tuple[float, float]:
        v, g = continuous_trials(trials, np.random.default_rng(1))
        welch = float((t_test_batch(v, g).p_value < 0.05).mean())
        wilcoxon = float((wilcoxon_batch(v, g).p_value < 0.05).mean())
        return welch, wilcoxon

    welch, wilcoxon = run()
    return best_of(run), welch, wilcoxon


def r_continuous(trials: int = TRIALS) -> tuple[float, float, float]:
    code = R_CONTINUOUS.format(trials=trials, **CONT)
    out = subprocess.run(
        ["Rscript", "-e", code], capture_output=True, text=True, check=True
    ).stdout.split()
    return float(out[0]), float(out[1]), float(out[2])


def loop_continuous(trials: int, which: str) -> float:
    from celltrial.stats import t_test, wilcoxon_rank_sum

    v, g = continuous_trials(trials, np.random.default_rng(2))
    start = time.perf_counter()
    for row in v:
        x, y = row[g], row[~g]
        if which == "celltrial":
            t_test(x, y)
            wilcoxon_rank_sum(x, y)
        else:
            scipy.stats.ttest_ind(x, y, equal_var=False)
            scipy.stats.mannwhitneyu(x, y, method="exact")
    return time.perf_counter() - start


def shi_seconds() -> tuple[float, str]:
    p = load_protocol("shi2021")
    s = load_scenario("shi2021", p)

    def run() -> str:
        res = power(p, s, n=100, trials=TRIALS, rng=np.random.default_rng(1), null=False)
        return ", ".join(f"{r.endpoint} {r.power.power:.3f}" for r in res)

    summary = run()
    return best_of(run, repeats=3), summary


def survival_bench(args: argparse.Namespace) -> None:
    print(f"log-rank design: {DESIGN}, {TRIALS} trials")
    ours, power_ = celltrial_seconds()
    print(f"celltrial (numpy, 1 core)      {ours:9.4f} s   power {power_:.4f} (2-sided 0.05)")
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


def continuous_bench(args: argparse.Namespace) -> None:
    print(f"\ncontinuous design: {CONT}, {TRIALS} trials, Welch t-test + Wilcoxon rank-sum")
    ours, welch, wilcoxon = celltrial_continuous()
    print(
        f"celltrial (numpy, 1 core)      {ours:9.4f} s   "
        f"power Welch {welch:.4f}, Wilcoxon {wilcoxon:.4f}"
    )
    rows = []
    if args.skip_r:
        pass
    elif shutil.which("Rscript"):
        r, r_welch, r_wilcoxon = r_continuous()
        note = f"power Welch {r_welch:.4f}, Wilcoxon {r_wilcoxon:.4f}"
        rows.append(("R t.test + wilcox.test loop", r, note))
    else:
        print("Rscript not found; the R loop is skipped")
    rows.append(("celltrial.stats loop (1,000 x10)", loop_continuous(1000, "celltrial") * 10, ""))
    rows.append(("scipy.stats loop (1,000 x10)", loop_continuous(1000, "scipy") * 10, ""))
    for name, seconds, note in rows:
        print(f"{name:32s} {seconds:9.4f} s   {seconds / ours:8.1f}x celltrial  {note}")
    n1, n2, shift = int(CONT["n1"]), int(CONT["n2"]), float(CONT["shift"])
    df, ncp = n1 + n2 - 2, shift / math.sqrt(1 / n1 + 1 / n2)
    q = scipy.stats.t.ppf(0.975, df)
    analytic = scipy.stats.nct.sf(q, df, ncp) + scipy.stats.nct.cdf(-q, df, ncp)
    print(f"analytic power of Student's t-test (noncentral t): {analytic:.4f}")
    shi, summary = shi_seconds()
    print(f"power() Shi 2021, n = 100, {TRIALS} trials (no null run): {shi:.3f} s   {summary}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--skip-r", action="store_true")
    parser.add_argument("--skip-lifelines", action="store_true")
    parser.add_argument("--skip-survival", action="store_true")
    args = parser.parse_args()
    if not args.skip_survival:
        survival_bench(args)
    continuous_bench(args)


if __name__ == "__main__":
    main()
