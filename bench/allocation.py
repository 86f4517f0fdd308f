"""Speed of the allocation module: assessment of lanzoni2021 (n = 24, 100,000 runs) and a list.

Run: ``.venv/bin/python bench/allocation.py``. Prints wall times; no assertions.
"""

from __future__ import annotations

import time

import numpy as np

from celltrial.allocation import (
    Factor,
    assess,
    default_schemes,
    generate_list,
    scheme_from_protocol,
    site_names,
)
from celltrial.protocol import load_protocol


def main() -> None:
    p = load_protocol("lanzoni2021")
    scheme = scheme_from_protocol(p, block_sizes=[2, 4])
    factors = tuple(Factor(s.factor, tuple(s.levels)) for s in p.design.allocation.strata)
    specs = default_schemes(scheme.ratio, has_strata=True)
    for runs in (10_000, 100_000):
        started = time.perf_counter()
        assess(
            specs,
            n=24,
            runs=runs,
            ratio=scheme.ratio,
            factors=factors,
            rng=np.random.default_rng(1),
        )
        elapsed = time.perf_counter() - started
        print(f"assess lanzoni2021, {len(specs)} schemes, n=24, runs={runs:,}: {elapsed:.2f} s")
    started = time.perf_counter()
    sealed = generate_list(
        scheme,
        key=bytes(32),
        protocol=p.id,
        protocol_version=p.version,
        sites=site_names(20),
        per_stratum=500,
    )
    elapsed = time.perf_counter() - started
    print(f"sealed list, 20 sites x 2 strata x 500: {len(sealed.rows):,} rows in {elapsed:.2f} s")


if __name__ == "__main__":
    main()
