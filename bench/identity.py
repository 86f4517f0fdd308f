"""Every number of the virtual trial's derived tables and analysis, before and after a change.

A speed-up must change no number. ``dump`` runs the Lanzoni virtual trial (fixed seed) through
``simulate -> ADSL, ADTTE, ADAE, ADLB -> analyze`` at each size and writes every column of
every table and every value of the analysis (``TrialAnalysis.to_dict()``, flattened to paths)
to one pickle. ``compare`` reads two such files and reports, per table and for the analysis,
the values that differ: numbers beyond ``--rtol`` (relative to the larger magnitude; NaN equals
NaN), anything else when not equal, and paths or columns present on one side only.

Run ``dump`` once with the code before the change and once after (e.g. the old tree from
``git archive <commit> src | tar -x -C /tmp/before``):

    PYTHONPATH=/tmp/before/src python bench/identity.py dump --sizes 1000 10000 --out before.pkl
    PYTHONPATH=src python bench/identity.py dump --sizes 1000 10000 --out after.pkl
    python bench/identity.py compare before.pkl after.pkl          # exit 1 when they differ

When the simulator itself changes (its draws), the same seed no longer gives the same trial;
``--datasets FILE`` then keeps the comparison on one input: the first ``dump`` that names FILE
simulates and saves the datasets there, every later one loads them instead of simulating, so
the derivations and the analysis are compared on the same simulated data:

    PYTHONPATH=/tmp/before/src python bench/identity.py dump --datasets ds.pkl --out before.pkl
    PYTHONPATH=src python bench/identity.py dump --datasets ds.pkl --out after.pkl
"""

from __future__ import annotations

import argparse
import math
import pickle
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

TABLES = ("ADSL", "ADTTE", "ADAE", "ADLB")


def _flatten(value: Any, path: str, out: dict[str, Any]) -> None:
    if isinstance(value, dict):
        for k, v in value.items():
            _flatten(v, f"{path}/{k}", out)
    elif isinstance(value, list | tuple):
        for i, v in enumerate(value):
            _flatten(v, f"{path}[{i}]", out)
    else:
        out[path] = value


def _columns(df: pd.DataFrame) -> dict[str, np.ndarray]:
    out: dict[str, np.ndarray] = {}
    for c in df.columns:
        col = df[c]
        if pd.api.types.is_numeric_dtype(col) and not pd.api.types.is_bool_dtype(col):
            out[str(c)] = col.to_numpy(dtype=np.float64, na_value=np.nan)
        else:
            out[str(c)] = np.array([None if pd.isna(v) else str(v) for v in col], dtype=object)
    return out


def dump(
    sizes: list[int], seed: int, per_week: float | None, datasets: Path | None = None
) -> dict[str, Any]:
    """``{n: {"ADSL": {column: values}, ..., "analysis": {path: value}}}``.

    With ``datasets``: the simulated datasets are loaded from that pickle when it exists (and
    holds every size), else simulated and saved there.
    """
    from celltrial.analysis import analyze
    from celltrial.dataset import derive_adae, derive_adlb, derive_adsl, derive_adtte
    from celltrial.protocol import load_protocol
    from celltrial.simulate import load_scenario, simulate_trial

    p = load_protocol("lanzoni2021")
    s = load_scenario("lanzoni2021", p)
    if per_week is not None:
        s = s.model_copy(update={"accrual": s.accrual.model_copy(update={"per_week": per_week})})
    saved: dict[str, Any] = {}
    if datasets is not None and datasets.exists():
        saved = pickle.loads(datasets.read_bytes())
        missing = [n for n in sizes if str(n) not in saved]
        if missing:
            raise SystemExit(f"{datasets} holds no simulated dataset of n = {missing}")
        print(f"simulated datasets loaded from {datasets}", file=sys.stderr)
    result: dict[str, Any] = {}
    for n in sizes:
        if str(n) in saved:
            ds = saved[str(n)]
        else:
            ds = simulate_trial(p, s, n=n, rng=np.random.default_rng(seed))
            saved[str(n)] = ds
        tables = {
            "ADSL": derive_adsl(ds, p),
            "ADTTE": derive_adtte(ds, p),
            "ADAE": derive_adae(ds, p),
            "ADLB": derive_adlb(ds, p),
        }
        entry: dict[str, Any] = {k: _columns(v) for k, v in tables.items()}
        flat: dict[str, Any] = {}
        _flatten(analyze(ds, p).to_dict(), "", flat)
        entry["analysis"] = flat
        result[str(n)] = entry
        print(f"n={n:,}: dumped", file=sys.stderr)
    if datasets is not None and not datasets.exists():
        datasets.write_bytes(pickle.dumps(saved))
        print(f"simulated datasets saved to {datasets}", file=sys.stderr)
    return result


def _same(a: Any, b: Any, rtol: float) -> bool:
    if isinstance(a, bool | str | type(None)) or isinstance(b, bool | str | type(None)):
        return bool(a == b)
    if isinstance(a, int | float) and isinstance(b, int | float):
        fa, fb = float(a), float(b)
        if math.isnan(fa) or math.isnan(fb):
            return math.isnan(fa) and math.isnan(fb)
        return fa == fb or abs(fa - fb) <= rtol * max(abs(fa), abs(fb))
    return bool(a == b)


def compare(before: dict[str, Any], after: dict[str, Any], rtol: float) -> int:
    """Print the differences; the number of differing values."""
    bad = 0
    for n in sorted(set(before) | set(after), key=int):
        if n not in before or n not in after:
            print(f"n={n}: only in {'after' if n in after else 'before'}")
            bad += 1
            continue
        for part in (*TABLES, "analysis"):
            x, y = before[n][part], after[n][part]
            diffs: list[str] = []
            worst = 0.0
            for key in sorted(set(x) | set(y)):
                if key not in x or key not in y:
                    diffs.append(f"{key}: only {'after' if key in y else 'before'}")
                    continue
                u, v = x[key], y[key]
                if isinstance(u, np.ndarray):
                    if u.shape != v.shape:
                        diffs.append(f"{key}: {u.shape[0]} rows -> {v.shape[0]}")
                    elif u.dtype == object or v.dtype == object:
                        k = int(np.sum(u != v))
                        if k:
                            diffs.append(f"{key}: {k} values differ")
                    else:
                        both_nan = np.isnan(u) & np.isnan(v)
                        scale = np.maximum(np.abs(u), np.abs(v))
                        with np.errstate(invalid="ignore"):
                            rel = np.where(both_nan | (u == v), 0.0, np.abs(u - v) / scale)
                        rel = np.where(np.isnan(rel), np.inf, rel)
                        worst = max(worst, float(rel.max(initial=0.0)))
                        k = int(np.sum(rel > rtol))
                        if k:
                            diffs.append(f"{key}: {k} values beyond rtol (max {rel.max():.2e})")
                elif not _same(u, v, rtol):
                    diffs.append(f"{key}: {u!r} -> {v!r}")
                elif isinstance(u, float) and isinstance(v, float) and u != v:
                    worst = max(worst, abs(u - v) / max(abs(u), abs(v)))
            bad += len(diffs)
            size = len(x)
            state = "identical" if worst == 0.0 and not diffs else f"max rel diff {worst:.1e}"
            print(f"n={n:>6} {part:<8} {size:>6} columns/values: {len(diffs)} differ ({state})")
            for line in diffs[:20]:
                print(f"    {line}")
    print("all equal within rtol" if bad == 0 else f"{bad} differences", f"(rtol {rtol:g})")
    return bad


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    d = sub.add_parser("dump")
    d.add_argument("--sizes", type=int, nargs="+", default=[1_000, 10_000])
    d.add_argument("--seed", type=int, default=20261207)
    d.add_argument("--per-week", type=float, default=None)
    d.add_argument("--out", type=Path, required=True)
    d.add_argument(
        "--datasets", type=Path, default=None, help="load (or first save) the simulated datasets"
    )
    c = sub.add_parser("compare")
    c.add_argument("before", type=Path)
    c.add_argument("after", type=Path)
    c.add_argument("--rtol", type=float, default=1e-12)
    args = ap.parse_args(argv)
    if args.cmd == "dump":
        args.out.write_bytes(
            pickle.dumps(dump(args.sizes, args.seed, args.per_week, args.datasets))
        )
        return 0
    before = pickle.loads(args.before.read_bytes())
    after = pickle.loads(args.after.read_bytes())
    return 1 if compare(before, after, args.rtol) else 0


if __name__ == "__main__":
    raise SystemExit(main())
