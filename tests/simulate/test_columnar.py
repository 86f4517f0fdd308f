"""The columnar simulator (every draw for all participants at once) against the per-person one.

``simulate_trial`` draws in another order than the per-person simulator it replaced (which the
EDC rehearsal still uses, participant by participant), so a seed gives another trial: what must
hold is that the two draw the same distribution. Each quantity below is read from the raw
tables of both (per participant, per row or per screened person, pooled over seeds) and the
means compared with a two-sample z (difference / its standard error, with the pooled variance); |z| < 4 for every one
(with about 40 quantities a correct simulator fails with probability ~0.3%; the seeds are fixed,
so a run is reproducible).

Many seeds, larger trials (the numbers quoted in docs/simulate.md)::

    python tests/simulate/test_columnar.py --seeds 20 --n 2000
"""

from __future__ import annotations

import argparse
import math
import sys
from collections import defaultdict

import numpy as np
import pandas as pd
import pytest

from celltrial.dataset import make_dataset
from celltrial.dataset.schema import catalogue
from celltrial.protocol import Protocol, load_protocol
from celltrial.simulate import load_scenario, simulate_events, simulate_trial
from celltrial.simulate.columnar import simulate_columns, typed_tables
from celltrial.simulate.virtual import _per_person_tables

Samples = dict[str, list[np.ndarray]]


def _hours(a: pd.Series, b: pd.Series) -> np.ndarray:
    ta = pd.to_datetime(a, utc=True, format="%Y-%m-%dT%H:%MZ")
    tb = pd.to_datetime(b, utc=True, format="%Y-%m-%dT%H:%MZ")
    return ((tb - ta).dt.total_seconds() / 3600).to_numpy(dtype=float)


def quantities(p: Protocol, tables: dict[str, pd.DataFrame], out: Samples) -> None:
    """Append each quantity's values (one per unit) of one virtual trial to ``out``."""
    sl, dm = tables["SL"], tables["DM"]
    out["screened: randomized"].append((sl["RANDFL"] == "Y").to_numpy(float))
    out["screened: eligible"].append((sl["ELIGFL"] == "Y").to_numpy(float))
    consent = pd.to_datetime(sl["SCRNDTC"], utc=True, format="%Y-%m-%dT%H:%MZ")
    out["screened: hours between screenings"].append(
        consent.diff().dt.total_seconds().to_numpy()[1:] / 3600
    )
    out["DM: age"].append(pd.to_numeric(dm["AGE"]).to_numpy(float))
    out["DM: female"].append((dm["SEX"] == "F").to_numpy(float))
    for col in [c for c in dm.columns if c.startswith("STRAT_")]:
        first_level = sorted(dm[col].unique())[0]
        out[f"DM: {col} = {first_level}"].append((dm[col] == first_level).to_numpy(float))
    out["DM: hours randomization to first dose"].append(
        _hours(dm["RANDDTC"], dm["RFSTDTC"])[dm["RFSTDTC"].notna().to_numpy()]
    )
    per = {"AE": tables.get("AE"), "EX": tables.get("EX"), "DV": tables.get("DV")}
    ds = tables["DS"]
    disp = ds[ds["DSCAT"] == "DISPOSITION EVENT"].set_index("USUBJID")["DSDECOD"]
    for arm in p.arms:
        mine = dm[dm["ARMCD"] == arm.id]
        ids = mine["USUBJID"]
        out[f"{arm.id}: share of randomized"].append((dm["ARMCD"] == arm.id).to_numpy(float))
        out[f"{arm.id}: died"].append((mine["DTHFL"] == "Y").to_numpy(float))
        d = disp.reindex(ids)
        out[f"{arm.id}: withdrew"].append((d == "WITHDRAWN").to_numpy(float))
        out[f"{arm.id}: completed"].append((d == "COMPLETED").to_numpy(float))
        dead = mine[mine["DTHFL"] == "Y"]
        out[f"{arm.id}: days randomization to death"].append(
            _hours(dead["RANDDTC"], dead["DTHDTC"]) / 24
        )
        for code, df in per.items():
            counts = (
                df["USUBJID"].value_counts().reindex(ids, fill_value=0).to_numpy(float)
                if df is not None and len(df.columns)
                else np.zeros(len(ids))
            )
            out[f"{arm.id}: {code} rows per participant"].append(counts)
        ae = per["AE"]
        if ae is not None and len(ae.columns):
            a = ae[ae["USUBJID"].isin(ids)]
            sae = a[a["AESER"] == "Y"]["USUBJID"].value_counts().reindex(ids, fill_value=0)
            out[f"{arm.id}: serious AEs per participant"].append(sae.to_numpy(float))
            out[f"{arm.id}: AE grade"].append(pd.to_numeric(a["AETOXGR"]).to_numpy(float))
            out[f"{arm.id}: AE hours onset to end"].append(_hours(a["AESTDTC"], a["AEENDTC"]))
        ex = per["EX"]
        if ex is not None and len(ex.columns):
            e = ex[ex["USUBJID"].isin(ids)]
            out[f"{arm.id}: EX outside window"].append((e["EXDEVFL"] == "Y").to_numpy(float))
        ce = tables.get("CE")
        if ce is not None and len(ce.columns):
            c = ce[ce["USUBJID"].isin(ids)]
            for code in sorted(set(ce["CEDECOD"])):
                n_ev = (c["CEDECOD"] == code).groupby(c["USUBJID"]).sum()
                out[f"{arm.id}: {code} events per participant"].append(
                    n_ev.reindex(ids, fill_value=0).to_numpy(float)
                )
        for dom in sorted({d for d, _ in catalogue(p)}):
            f = tables.get(dom)
            if f is None or not len(f.columns):
                continue
            f = f[f["USUBJID"].isin(ids)]
            # A missed visit: all its rows NOT DONE (one unit per participant and visit).
            missed = (f[f"{dom}STAT"] == "NOT DONE").groupby([f["USUBJID"], f["VISIT"]]).all()
            out[f"{arm.id}: {dom} visits not done"].append(missed.to_numpy(float))
            for (visit, test), g in f.groupby(["VISIT", f"{dom}TESTCD"]):
                x = pd.to_numeric(g[f"{dom}ORRES"], errors="coerce").dropna()
                x = x[x > 0]
                if len(x):
                    out[f"{arm.id}: {dom} log {test} at {visit}"].append(np.log(x.to_numpy(float)))


def _pool(pid: str, make, seeds: range, n: int) -> Samples:  # type: ignore[no-untyped-def]
    p = load_protocol(pid)
    s = load_scenario(pid, p)
    out: Samples = defaultdict(list)
    for seed in seeds:
        quantities(p, make(p, s, n=n, rng=np.random.default_rng(seed)), out)
    return out


def _old(p, s, *, n, rng):  # type: ignore[no-untyped-def]
    return _per_person_tables(p, s, n=n, rng=rng)


def _new(p, s, *, n, rng):  # type: ignore[no-untyped-def]
    return simulate_columns(p, s, n=n, rng=rng).tables()


def compare(
    old: Samples, new: Samples, *, min_units: int = 30
) -> list[tuple[str, float, float, float]]:
    """(quantity, old mean, new mean, z) for each quantity with enough units on both sides."""
    rows = []
    for key in sorted(set(old) & set(new)):
        a, b = np.concatenate(old[key]), np.concatenate(new[key])
        a, b = a[np.isfinite(a)], b[np.isfinite(b)]
        if len(a) < min_units or len(b) < min_units:
            continue
        # Under the hypothesis of one distribution: the pooled variance (a rare event seen
        # on one side only still has a standard error).
        pooled = np.concatenate([a, b]).var(ddof=1)
        se = math.sqrt(pooled * (1 / len(a) + 1 / len(b)))
        diff = b.mean() - a.mean()
        z = 0.0 if se == 0 and diff == 0 else (diff / se if se > 0 else math.inf)
        rows.append((key, float(a.mean()), float(b.mean()), z))
    return rows


# Cost: the per-person simulator is the slow one (about 1 ms of CPU a participant): about 1 s
# of CPU per protocol, for enough participants that a real difference shows; the many-seed
# comparison is this file's main (above).
@pytest.mark.parametrize(
    ("pid", "n_old", "n_new"),
    [
        ("lanzoni2021", 400, 4000),
        ("shi2021", 150, 1500),
        ("meng2020", 120, 1200),
        ("rebelatto2022", 80, 800),
    ],
)
def test_columnar_draws_the_per_person_distribution(pid: str, n_old: int, n_new: int) -> None:
    old = _pool(pid, _old, range(100, 102), n_old // 2)
    new = _pool(pid, _new, range(200, 202), n_new // 2)
    rows = compare(old, new)
    assert len(rows) >= 15, [r[0] for r in rows]
    bad = [f"{k}: {a:.4g} vs {b:.4g} (z {z:.1f})" for k, a, b, z in rows if abs(z) >= 4]
    assert not bad, bad


def test_columnar_tables_have_the_per_person_columns() -> None:
    p = load_protocol("lanzoni2021")
    s = load_scenario("lanzoni2021", p)
    old = _per_person_tables(p, s, n=40, rng=np.random.default_rng(1))
    new = simulate_columns(p, s, n=40, rng=np.random.default_rng(1)).tables()
    assert set(old) == set(new)
    for code in old:
        assert set(old[code].columns) == set(new[code].columns), code
    seq = (
        new["LB"].groupby("USUBJID")["LBSEQ"].apply(lambda x: list(x) == list(range(1, len(x) + 1)))
    )
    assert seq.all()
    # Rows grouped by participant in randomization order, as the per-person tables.
    assert new["DM"]["USUBJID"].is_unique
    order = {u: i for i, u in enumerate(new["DM"]["USUBJID"])}
    assert new["LB"]["USUBJID"].map(order).is_monotonic_increasing


@pytest.mark.parametrize(
    "pid", ["lanzoni2021", "shi2021", "meng2020", "rebelatto2022", "fathikazerooni2022"]
)
def test_typed_tables_equal_make_dataset(pid: str) -> None:
    # simulate_trial types the columns without make_dataset's per-cell checks: the same tables.
    p = load_protocol(pid)
    s = load_scenario(pid, p)
    raw = simulate_columns(p, s, n=40, rng=np.random.default_rng(9)).tables()
    checked = make_dataset(raw)
    assert checked.problems == ()
    fast = typed_tables(raw)
    assert fast is not None
    assert list(fast) == list(checked.tables)
    for code, table in checked.tables.items():
        pd.testing.assert_frame_equal(fast[code], table)
    # Something make_dataset reports on (a flag not Y or N, a term outside the schema's, a
    # column outside it): its checks run instead.
    assert typed_tables({**raw, "SL": raw["SL"].assign(ELIGFL="maybe")}) is None
    assert typed_tables({**raw, "DM": raw["DM"].assign(SEX="X")}) is None
    assert typed_tables({**raw, "DM": raw["DM"].assign(COLOUR="red")}) is None
    ds = simulate_trial(p, s, n=40, rng=np.random.default_rng(9))
    for code, table in checked.tables.items():
        pd.testing.assert_frame_equal(ds.tables[code], table)


def test_events_match_the_columnar_tables() -> None:
    p = load_protocol("shi2021")
    s = load_scenario("shi2021", p)
    events = list(simulate_events(p, s, n=30, rng=np.random.default_rng(4)))
    ds = simulate_trial(p, s, n=30, rng=np.random.default_rng(4))
    kinds = pd.Series([e.kind for e in events]).value_counts()
    assert kinds["consent"] == kinds["screening"] == len(ds.table("SL"))
    assert kinds["randomization"] == 30
    assert kinds.get("adverse_event", 0) == len(ds.table("AE"))
    values = sum(len(e.data["values"]) for e in events if e.kind == "measurement")
    domains = {d for d, _ in catalogue(p)}
    findings = sum(len(ds.table(d)) for d in ds.tables if d in domains)
    assert values == findings
    assert kinds.get("death", 0) + kinds.get("withdrawal", 0) + kinds["completion"] == 30


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--seeds", type=int, default=20)
    ap.add_argument("--n", type=int, default=2000, help="participants per per-person trial")
    ap.add_argument(
        "--protocols",
        nargs="+",
        default=["lanzoni2021", "shi2021", "meng2020", "rebelatto2022", "fathikazerooni2022"],
    )
    args = ap.parse_args(argv)
    worst = 0.0
    for pid in args.protocols:
        old = _pool(pid, _old, range(1000, 1000 + args.seeds), args.n)
        new = _pool(pid, _new, range(5000, 5000 + args.seeds), args.n)
        rows = compare(old, new)
        print(f"\n{pid}: {args.seeds} trials of {args.n} each side")
        print(f"{'quantity':<58} {'per-person':>11} {'columnar':>11} {'z':>6}")
        for k, a, b, z in rows:
            print(f"{k:<58} {a:>11.4f} {b:>11.4f} {z:>6.2f}")
            worst = max(worst, abs(z))
        zs = np.array([z for *_, z in rows])
        print(
            f"{len(rows)} quantities, |z| max {np.abs(zs).max():.2f}, "
            f"mean z {zs.mean():.2f}, sd z {zs.std():.2f} (N(0,1) if the same distribution)"
        )
    print(f"\nworst |z| over all: {worst:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
