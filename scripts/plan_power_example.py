"""Regenerate the example output of ``celltrial design power --plan`` in docs/simulate.md.

    PYTHONPATH=src python scripts/plan_power_example.py [--trials 200] [--workers 2]

Runs exactly ``celltrial design power --plan --protocol lanzoni2021 --scenario lanzoni2021
--trials 200 --seed 1 --dask local --workers 2`` and writes its output (the table and the
reasons a test had no p-value) between the ``<!-- plan-power:begin -->`` and ``<!--
plan-power:end -->`` markers. The numbers change with the simulator, the scenario or the
analysis; the run takes a few minutes.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DOC = ROOT / "docs" / "simulate.md"
BEGIN, END = "<!-- plan-power:begin -->", "<!-- plan-power:end -->"


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--trials", type=int, default=200)
    ap.add_argument("--workers", type=int, default=2)
    a = ap.parse_args()
    args = [
        "design",
        "power",
        "--plan",
        "--protocol",
        "lanzoni2021",
        "--scenario",
        "lanzoni2021",
        "--trials",
        str(a.trials),
        "--seed",
        "1",
        "--dask",
        "local",
        "--workers",
        str(a.workers),
    ]
    run = subprocess.run(
        [sys.executable, "-m", "celltrial.cli", *args],
        capture_output=True,
        text=True,
        check=True,
        env={"COLUMNS": "150", "PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT / "src")},
    )
    body = "\n".join(line.rstrip() for line in run.stdout.strip().splitlines())
    block = f"{BEGIN}\n```text\n$ celltrial {' '.join(args)}\n{body}\n```\n{END}"
    text = DOC.read_text()
    head, rest = text.split(BEGIN, 1)
    DOC.write_text(head + block + rest.split(END, 1)[1])
    print(f"{DOC}: example rewritten ({a.trials} trials)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
