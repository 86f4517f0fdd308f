"""Power by simulation, like for like: celltrial vs rpact (and an R survdiff loop and a
lifelines loop on the same trials) for the log-rank design; celltrial vs an R loop of t.test +
wilcox.test and per-trial Python loops for a continuous design.

Log-rank design (issue 9, 22): ``--trials`` (10,000) simulated trials of 24 participants 1:1,
exponential survival, control median 12 months, HR 0.5, accrual over 12 months, analysis at
the 18th event, one-sided log-rank test at 0.025 (rpact's default; both sides the same test).
rpact's ``getSimulationSurvival`` enters participant k at ``k * 12 / 24`` with the arms
alternating; celltrial runs that model (``accrual="equal-intervals"``) for the goal and the
agreement check, and its default (random uniform entry times) beside it. Each side: one
warm-up, then ``--repeat`` timed runs (min / median; R times its own loop, ``system.time``);
CPU time by default (``--clock wall`` for elapsed). Memory: tracemalloc peak of one run
(celltrial), ``gc()`` "max used" above the memory in use (R). Agreement: the powers and
their difference in combined Monte Carlo SE. The R survdiff and lifelines loops test the very
trials celltrial tests (``simulate_logrank_trials`` with the same generator) and their
rejections and statistics are compared trial by trial (one run each: they take seconds to
minutes). Goal (issue 22): celltrial >= 20x rpact on the same accrual model.

Continuous design: 10,000 simulated trials of 24 vs 24 participants, normal outcome with SD 1
and a shift of 0.8, each tested with Welch's t-test and the Wilcoxon rank-sum test (exact, R's
default without ties at these sizes). celltrial draws and tests all trials at once
(``t_test_batch``, ``wilcoxon_batch``); R draws and tests them in a loop (``t.test``,
``wilcox.test``, all 10,000); the Python loops run ``celltrial.stats`` and ``scipy.stats`` per
trial on 1,000 trials, scaled to 10,000. Also timed: the whole of ``power()`` for Shi 2021
(n = 100; three continuous endpoints and one binary, 10,000 trials, without the null run).

    .venv/bin/python bench/power.py --quick     # the log-rank goal only: celltrial vs rpact
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
import tracemalloc
from collections.abc import Callable
from pathlib import Path
from typing import Any

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import numpy as np
import scipy.stats

from celltrial.protocol import load_protocol
from celltrial.simulate.batch_tests import t_test_batch, wilcoxon_batch
from celltrial.simulate.logrank_batch import logrank_batch
from celltrial.simulate.power import power, simulate_logrank_power, simulate_logrank_trials
from celltrial.simulate.scenario import load_scenario

TRIALS = 10_000
DESIGN: dict[str, Any] = dict(
    n=24, hazard_ratio=0.5, control_median=12.0, accrual_time=12.0, events=18
)
ALPHA, SIDED, SEED = 0.025, 1, 1
GOAL = 20.0

RPACT = """
suppressPackageStartupMessages(library(rpact))
a <- commandArgs(TRUE); trials <- as.integer(a[1]); reps <- as.integer(a[2])
d <- getDesignGroupSequential(kMax = 1, alpha = 0.025, sided = 1)
run <- function(it) getSimulationSurvival(d, lambda2 = log(2) / 12, hazardRatio = 0.5,
  accrualTime = c(0, 12), plannedEvents = 18, maxNumberOfSubjects = 24,
  maxNumberOfIterations = it, seed = 1, directionUpper = FALSE)
invisible(run(trials))                                           # warm-up
tm <- t(sapply(seq_len(reps), function(i) {
  st <- system.time(s <- run(trials)); c(st[["user.self"]] + st[["sys.self"]], st[["elapsed"]])
}))
invisible(gc(reset = TRUE)); base <- sum(gc()[, 2]); s <- run(trials)
cat("CPU", tm[, 1], "\\n"); cat("WALL", tm[, 2], "\\n")
cat("MEM", sum(gc()[, 6]) - base, "\\n"); cat("POWER", sprintf("%.6f", s$overallReject), "\\n")
"""

SURVDIFF = """
suppressPackageStartupMessages(library(survival))
d <- read.csv(commandArgs(TRUE)[1])
ids <- split(seq_len(nrow(d)), d$trial)
st <- system.time(chisq <- vapply(ids, function(i) {
  s <- survdiff(Surv(time, event) ~ group, data = d[i, ])
  # signed: negative when group 1 has fewer events than expected
  sign(s$obs[2] - s$exp[2]) * sqrt(s$chisq)
}, numeric(1)))
cat("TIME", st[["user.self"]] + st[["sys.self"]], st[["elapsed"]], "\\n")
cat("Z", sprintf("%.17g", chisq), "\\n")
"""


def timed(fn: Callable[[], Any], repeat: int, clock: str) -> list[float]:
    """Seconds of ``repeat`` calls after one warm-up (CPU or wall clock)."""
    now = time.process_time if clock == "cpu" else time.perf_counter
    fn()
    out = []
    for _ in range(repeat):
        start = now()
        fn()
        out.append(now() - start)
    return out


def peak_mb(fn: Callable[[], Any]) -> float:
    tracemalloc.start()
    fn()
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return peak / 2**20


def fmt(ts: list[float]) -> str:
    return f"{min(ts) * 1e3:9.1f} / {float(np.median(ts)) * 1e3:9.1f}"


def celltrial_power(accrual: str, trials: int) -> Any:
    return simulate_logrank_power(
        **DESIGN, trials=trials, rng=np.random.default_rng(SEED), alpha=ALPHA, sided=SIDED,
        accrual=accrual,
    )  # fmt: skip


def rpact_run(trials: int, repeat: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        script = Path(tmp) / "rpact.R"
        script.write_text(RPACT)
        res = subprocess.run(
            ["Rscript", str(script), str(trials), str(repeat)],
            capture_output=True, text=True, check=True,
        )  # fmt: skip
    out: dict[str, Any] = {}
    for line in res.stdout.splitlines():
        parts = line.split()
        if parts:
            out[parts[0]] = [float(v) for v in parts[1:]]
    return out


def same_trials(trials: int) -> Any:
    """The trials celltrial's equal-intervals run tests (one batch: the first spawned child)."""
    child = np.random.default_rng(SEED).spawn(1)[0]
    return simulate_logrank_trials(**DESIGN, trials=trials, rng=child, accrual="equal-intervals")


def survdiff_loop(sim: Any) -> tuple[float, float, np.ndarray]:
    """(cpu s, wall s, signed sqrt chi-square per trial) of R survdiff on each trial."""
    trials = sim.time.shape[0]
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
        script = Path(tmp) / "survdiff.R"
        script.write_text(SURVDIFF)
        res = subprocess.run(
            ["Rscript", str(script), str(path)], capture_output=True, text=True, check=True
        )
    out = {p[0]: p[1:] for p in (line.split() for line in res.stdout.splitlines()) if p}
    return float(out["TIME"][0]), float(out["TIME"][1]), np.array(out["Z"], dtype=float)


def lifelines_loop(sim: Any, clock: str) -> tuple[float, np.ndarray]:
    """(seconds, signed sqrt chi-square per trial) of lifelines' logrank_test on each trial."""
    from lifelines.statistics import logrank_test

    now = time.process_time if clock == "cpu" else time.perf_counter
    trials = sim.time.shape[0]
    z = np.empty(trials)
    start = now()
    for i in range(trials):
        ok = ~np.isnan(sim.time[i])
        g = sim.group[i][ok] == 1
        t, e = sim.time[i][ok], sim.event[i][ok]
        r = logrank_test(t[g], t[~g], event_observed_A=e[g], event_observed_B=e[~g])
        z[i] = r.test_statistic
    seconds = now() - start
    return seconds, z


def survival_bench(args: argparse.Namespace) -> None:
    trials, repeat, clock = args.trials, args.repeat, args.clock
    print(f"== log-rank power: {DESIGN}, {trials:,} trials, one-sided alpha {ALPHA} "
          f"(the same test on every side), {clock} time, {repeat} runs after 1 warm-up ==")  # fmt: skip
    print(f"{'tool':<40} {'min / median ms':>21} {'peak MB':>8} {'ratio min/med':>17}  power")
    rows: dict[str, tuple[list[float], float, float, float]] = {}
    for accrual in ("equal-intervals", "uniform"):
        ts = timed(lambda a=accrual: celltrial_power(a, trials), repeat, clock)  # type: ignore[misc]
        res = celltrial_power(accrual, trials)
        rows[f"celltrial, {accrual} accrual"] = (
            ts,
            peak_mb(lambda a=accrual: celltrial_power(a, trials)),
            res.power,
            res.se,  # type: ignore[misc]
        )
    ours = rows["celltrial, equal-intervals accrual"]
    if not args.skip_r and shutil.which("Rscript"):
        r = rpact_run(trials, repeat)
        p = r["POWER"][0]
        rows["rpact getSimulationSurvival (equal-int.)"] = (
            r["CPU" if clock == "cpu" else "WALL"],
            r["MEM"][0],
            p,
            math.sqrt(p * (1 - p) / trials),
        )
    for name, (ts, mb, pw, se) in rows.items():
        ratio = ("-" if name == "celltrial, equal-intervals accrual" else
                 f"{min(ts) / min(ours[0]):6.1f}x / {np.median(ts) / np.median(ours[0]):6.1f}x")  # fmt: skip
        print(f"{name:<40} {fmt(ts):>21} {mb:8.1f} {ratio:>17}  {pw:.4f} ± {se:.4f}")
    rp = rows.get("rpact getSimulationSurvival (equal-int.)")
    if rp is not None:
        ratio_min = min(rp[0]) / min(ours[0])
        ratio_med = float(np.median(rp[0]) / np.median(ours[0]))
        for label, (_, _, pw, se) in (
            ("celltrial equal-intervals vs rpact (the same model)", ours),
            ("celltrial uniform vs rpact (different models)", rows["celltrial, uniform accrual"]),
        ):
            d = pw - rp[2]
            k = abs(d) / math.hypot(se, rp[3])
            verdict = "agree (< 3 combined MC SE)" if k < 3 else "DIFFER (>= 3 combined MC SE)"
            print(f"agreement, {label}: {pw:.4f} - {rp[2]:.4f} = {d:+.4f} = {k:.1f} SE: {verdict}")
        met = "MET" if min(ratio_min, ratio_med) >= GOAL else "NOT met"
        print(f"GOAL power >= {GOAL:g}x rpact on the same accrual model ({trials:,} trials): "
              f"{ratio_min:.1f}x (min) / "
              f"{ratio_med:.1f}x (median): {met}")  # fmt: skip
    if args.quick:
        return
    sim = same_trials(trials)
    ref = logrank_batch(sim.time, sim.event, sim.group)
    crit = float(scipy.stats.norm.ppf(1 - ALPHA))
    ours_reject = ref.z < -crit
    print(f"\nthe same {trials:,} trials (those of celltrial's equal-intervals run) per trial, "
          f"one run each:")  # fmt: skip
    print(f"celltrial logrank_batch on them: {fmt(timed(lambda: logrank_batch(sim.time, sim.event, sim.group), repeat, clock))} ms, "
          f"{int(ours_reject.sum())} rejections")  # fmt: skip
    if not args.skip_r and shutil.which("Rscript"):
        cpu, wall, z = survdiff_loop(sim)
        sec = cpu if clock == "cpu" else wall
        rej = int((z < -crit).sum())
        print(f"R survdiff loop: {sec:9.2f} s = {sec / min(ours[0]):8.0f}x celltrial's whole power "
              f"run; {rej} rejections ({'the same' if rej == ours_reject.sum() else 'DIFFERENT'}), "
              f"max |z diff| {np.nanmax(np.abs(z - ref.z)):.1e}")  # fmt: skip
    if not args.skip_lifelines:
        try:
            sec, chisq = lifelines_loop(sim, clock)
        except ImportError:
            print("lifelines not installed (pip install -e .[bench]); skipped")
        else:
            print(f"lifelines loop: {sec:9.2f} s = {sec / min(ours[0]):8.0f}x celltrial's whole "
                  f"power run; max |chi-square diff| {np.nanmax(np.abs(chisq - ref.statistic)):.1e}")  # fmt: skip


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
    parser.add_argument("--quick", action="store_true",
                        help="the log-rank goal only (celltrial vs rpact), 3 runs")  # fmt: skip
    parser.add_argument("--trials", type=int, default=TRIALS)
    parser.add_argument("--repeat", type=int, default=5, help="timed runs after one warm-up")
    parser.add_argument("--clock", choices=("cpu", "wall"), default="cpu")
    parser.add_argument("--skip-r", action="store_true")
    parser.add_argument("--skip-lifelines", action="store_true")
    parser.add_argument("--skip-survival", action="store_true")
    args = parser.parse_args()
    if args.quick:
        args.repeat = min(args.repeat, 3)
    if not args.skip_survival:
        survival_bench(args)
    if not args.quick:
        continuous_bench(args)


if __name__ == "__main__":
    main()
