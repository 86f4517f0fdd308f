"""REML random-effects meta-analysis at k = 1000 studies: celltrial vs metafor (same data, same run).

Usage: python bench/meta.py   (metafor is timed through Rscript when R and metafor are installed)
"""

from __future__ import annotations

import json
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import numpy as np

from celltrial.stats import meta_analysis

K = 1000
REPEATS = 20


def simulate(k: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    vi = rng.uniform(0.01, 0.5, size=k)
    yi = rng.normal(-0.3, np.sqrt(0.1 + vi))
    return yi, vi


def time_celltrial(yi: np.ndarray, vi: np.ndarray) -> tuple[float, float, float, float]:
    meta_analysis(yi, vi, method="REML", confint=False)  # warm-up
    best = np.inf
    for _ in range(REPEATS):
        t0 = time.perf_counter()
        res = meta_analysis(yi, vi, method="REML", confint=False)
        best = min(best, time.perf_counter() - t0)
    return best, res.estimate, res.se, res.tau2


R_SCRIPT = """
suppressPackageStartupMessages(library(metafor))
d <- read.csv("data.csv")
fit <- rma(yi, vi, data = d, method = "REML")  # warm-up
t <- system.time(fit <- rma(yi, vi, data = d, method = "REML"))[["elapsed"]]
cat(sprintf('{"seconds": %.6f, "estimate": %.15g, "se": %.15g, "tau2": %.15g}',
            t, fit$beta[1], fit$se, fit$tau2))
"""


def time_metafor(yi: np.ndarray, vi: np.ndarray) -> dict[str, float] | None:
    if shutil.which("Rscript") is None:
        return None
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp)
        lines = ["yi,vi"] + [f"{float(a)!r},{float(b)!r}" for a, b in zip(yi, vi, strict=True)]
        (path / "data.csv").write_text("\n".join(lines) + "\n")
        (path / "bench.R").write_text(R_SCRIPT)
        proc = subprocess.run(
            ["Rscript", "bench.R"], cwd=path, capture_output=True, text=True, check=False
        )
        if proc.returncode != 0:
            print("metafor not available:", proc.stderr.strip().splitlines()[-1:])
            return None
        out: dict[str, float] = json.loads(proc.stdout.strip().splitlines()[-1])
        return out


def main() -> None:
    yi, vi = simulate(K, np.random.default_rng(20240604))
    sec, est, se, tau2 = time_celltrial(yi, vi)
    r = time_metafor(yi, vi)
    print(f"REML meta-analysis, k = {K} simulated studies")
    print(f"{'':12s}{'seconds':>12s}{'estimate':>22s}{'se':>22s}{'tau2':>22s}")
    print(f"{'celltrial':12s}{sec:12.6f}{est:22.15g}{se:22.15g}{tau2:22.15g}")
    t0 = time.perf_counter()
    meta_analysis(yi, vi, method="REML")
    print(
        f"(celltrial with its default Q-profile CI for tau2 as well: {time.perf_counter() - t0:.6f} s)"
    )
    if r is None:
        print("metafor     (Rscript or metafor not installed: no comparison)")
        return
    print(
        f"{'metafor':12s}{r['seconds']:12.6f}{r['estimate']:22.15g}{r['se']:22.15g}{r['tau2']:22.15g}"
    )
    print(
        f"ratio metafor / celltrial: {r['seconds'] / sec:.0f}x "
        f"(metafor's time from R's system.time, 1 ms resolution; celltrial best of {REPEATS})"
    )
    print(
        f"max relative difference of the estimates: "
        f"{max(abs(est - r['estimate']) / abs(r['estimate']), abs(tau2 - r['tau2']) / r['tau2']):.2e}"
        " (metafor stops Fisher scoring at |change in tau2| < 1e-5)"
    )


if __name__ == "__main__":
    main()
