"""Gray's test and Fine–Gray regression: celltrial vs R's cmprsk (``cuminc``, ``crr``).

Simulated data: two arms, one N(0, 1) covariate, two causes (cause 1 subdistribution hazard
depends on arm and covariate), times rounded to 1e-3 (ties), about 25 % censored. Both sides
get the same CSV, one untimed warm-up call, then ``REPEATS`` timed calls; the table shows the
minimum and the median seconds on each side and R / celltrial for both. cmprsk's ``crr`` is
quadratic in n (every event time loops over all subjects); celltrial's is linear.

    python bench/competing.py                 # n = 1000, 2000
    python bench/competing.py --sizes 2000
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from celltrial.stats import fine_gray, gray_test

REPEATS = 5

R_SCRIPT = r"""
suppressPackageStartupMessages(library(cmprsk))
d <- read.csv(commandArgs(TRUE)[1]); reps <- as.integer(commandArgs(TRUE)[2])
X <- cbind(arm = d$arm, x = d$x)
timed <- function(f) { f(); sapply(seq_len(reps), function(i) system.time(f())[["elapsed"]]) }
tg <- timed(function() cuminc(d$time, d$event, d$arm)$Tests)
tf <- timed(function() crr(d$time, d$event, X))
fit <- crr(d$time, d$event, X)
cat(sprintf("GRAY %s\nCRR %s\nCOEF %.10g %.10g\n", paste(tg, collapse = " "),
            paste(tf, collapse = " "), fit$coef[1], fit$coef[2]))
"""


def simulate(n: int, rng: np.random.Generator) -> dict[str, np.ndarray]:
    arm = rng.integers(0, 2, n).astype(np.float64)
    x = rng.standard_normal(n)
    t1 = rng.exponential(1.0 / (0.6 * np.exp(-0.4 * arm + 0.3 * x)))
    t2 = rng.exponential(1.0 / 0.4, n)
    tc = rng.exponential(3.0, n)
    t = np.minimum(np.minimum(t1, t2), tc)
    event = np.where(t == tc, 0, np.where(t == t1, 1, 2))
    return {"time": np.round(t, 3) + 0.001, "event": event, "arm": arm, "x": x}


def _times(fn: Callable[[], Any]) -> list[float]:
    fn()  # warm-up, as on the R side
    out = []
    for _ in range(REPEATS):
        t0 = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t0)
    return out


def _r_times(d: dict[str, np.ndarray]) -> dict[str, list[float]] | None:
    if shutil.which("Rscript") is None:
        return None
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp)
        lines = ["time,event,arm,x"] + [
            f"{a!r},{int(b)},{int(c)},{e!r}"
            for a, b, c, e in zip(
                d["time"].tolist(), d["event"], d["arm"], d["x"].tolist(), strict=True
            )
        ]
        (path / "d.csv").write_text("\n".join(lines) + "\n")
        (path / "bench.R").write_text(R_SCRIPT)
        proc = subprocess.run(
            ["Rscript", "bench.R", "d.csv", str(REPEATS)],
            cwd=path,
            capture_output=True,
            text=True,
            check=False,
        )
        if proc.returncode != 0:
            print("cmprsk not available:", proc.stderr.strip().splitlines()[-1:])
            return None
        out: dict[str, list[float]] = {}
        for line in proc.stdout.splitlines():
            key, *vals = line.split()
            out[key] = [float(v) for v in vals]
        return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 2000])
    args = parser.parse_args()
    print(f"{REPEATS} timed calls after one warm-up, both sides; seconds (min / median)")
    header = f"{'method':<22}{'n':>7}{'celltrial':>22}{'R cmprsk':>22}{'R/celltrial':>16}"
    print(header)
    for n in args.sizes:
        d = simulate(n, np.random.default_rng(n))
        X = np.column_stack([d["arm"], d["x"]])
        ours = {
            "GRAY": _times(lambda d=d: gray_test(d["time"], d["event"], group=d["arm"])),
            "CRR": _times(lambda d=d, X=X: fine_gray(X, d["time"], d["event"])),
        }
        r = _r_times(d)
        fit = fine_gray(X, d["time"], d["event"])
        for key, label in (("GRAY", "Gray's test (cuminc)"), ("CRR", "Fine-Gray (crr)")):
            a_min, a_med = min(ours[key]), statistics.median(ours[key])
            cell = f"{a_min:.4f} / {a_med:.4f}"
            if r is None:
                print(f"{label:<22}{n:>7}{cell:>22}{'(no R)':>22}")
                continue
            b_min, b_med = min(r[key]), statistics.median(r[key])
            ratio = f"{b_min / a_min:.0f}x / {b_med / a_med:.0f}x"
            print(f"{label:<22}{n:>7}{cell:>22}{f'{b_min:.4f} / {b_med:.4f}':>22}{ratio:>16}")
        if r is not None:
            diff = np.max(np.abs(fit.estimate - np.array(r["COEF"])))
            print(f"{'':<22}{n:>7}  max |coef celltrial - coef crr| = {diff:.2e}")


if __name__ == "__main__":
    main()
