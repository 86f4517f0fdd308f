"""Dataset -> finished HTML report, for a 100- and a 10,000-participant Lanzoni-like trial.

The datasets are synthetic (numpy, seeded), in the schema of celltrial.dataset: DM, DS, EX,
AE, CE, LB and the screening log SL. Prints the seconds of each stage. Goal: < 3 s and < 30 s.

    .venv/bin/python bench/report.py [N ...]
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

from celltrial.analysis import analyze
from celltrial.dataset import make_dataset
from celltrial.protocol import load_protocol
from celltrial.report import write_html

START = np.datetime64("2020-05-01T10:00", "m")


def _iso(t: np.ndarray) -> np.ndarray:
    return np.char.add(np.datetime_as_string(t, unit="m"), "Z")


def synthetic(n: int, rng: np.random.Generator) -> dict[str, pd.DataFrame]:
    """A Lanzoni-like dataset of ``n`` randomized participants (2 arms, 2 strata)."""
    ids = np.array([f"P-{i:05d}" for i in range(1, n + 1)])
    arm = np.where(rng.random(n) < 0.5, "ucmsc", "control")
    label = np.where(arm == "ucmsc", "UC-MSC", "Control (vehicle)")
    rand = START + (np.arange(n) * 60 * 24 // max(1, n // 200)).astype("timedelta64[m]")
    first = rand + np.timedelta64(4 * 60, "m")
    hours = lambda h: (np.asarray(h) * 60).astype("int64").astype("timedelta64[m]")  # noqa: E731
    hazard = np.where(arm == "ucmsc", 0.004, 0.02)
    death_d = 3.5 + rng.exponential(1 / hazard)  # after the second infusion (day 3)
    dies = death_d < 31
    recovery_d = rng.exponential(np.where(arm == "ucmsc", 12.0, 20.0))
    lost = rng.random(n) < 0.03
    lost_d = rng.uniform(4, 30, n)
    dm = pd.DataFrame(
        {
            "STUDYID": "lanzoni2021",
            "USUBJID": ids,
            "SUBJID": [i[2:] for i in ids],
            "SITEID": "01",
            "AGE": rng.integers(25, 85, n).astype(str),
            "SEX": np.where(rng.random(n) < 0.5, "F", "M"),
            "ARMCD": arm,
            "ARM": label,
            "ACTARMCD": arm,
            "ACTARM": label,
            "RFICDTC": _iso(rand - np.timedelta64(2, "D")),
            "RANDDTC": _iso(rand),
            "RFSTDTC": _iso(first),
            "RFENDTC": _iso(first + np.timedelta64(3, "D")),
            "DTHDTC": np.where(dies & ~lost, _iso(first + hours(death_d * 24 + 6)), ""),
            "DTHFL": np.where(dies & ~lost, "Y", ""),
            "STRAT_ARDS_SEVERITY": np.where(
                rng.random(n) < 0.5, "mild_moderate", "moderate_severe"
            ),
        }
    )
    died = dies & ~lost
    end = np.where(died, "DEATH", np.where(lost, "LOST TO FOLLOW-UP", "COMPLETED"))
    end_t = np.where(
        died,
        first + hours(death_d * 24 + 6),
        np.where(lost, first + hours(lost_d * 24), first + np.timedelta64(31, "D")),
    )
    ds = pd.DataFrame(
        {
            "STUDYID": "lanzoni2021",
            "USUBJID": np.concatenate([ids, ids]),
            "DSSEQ": np.repeat(["1", "2"], n),
            "DSDECOD": np.concatenate([np.full(n, "RANDOMIZED"), end]),
            "DSSTDTC": np.concatenate([_iso(rand), _iso(end_t.astype("datetime64[m]"))]),
        }
    )
    dose = np.where(arm == "ucmsc", "1e+08", "50")
    unit = np.where(arm == "ucmsc", "cells", "mL")
    ex = pd.DataFrame(
        {
            "STUDYID": "lanzoni2021",
            "USUBJID": np.concatenate([ids, ids]),
            "EXSEQ": np.repeat(["1", "2"], n),
            "EXTRT": np.concatenate([arm, arm]),
            "EXDOSE": np.concatenate([dose, dose]),
            "EXDOSU": np.concatenate([unit, unit]),
            "EXPLDOS": np.concatenate([dose, dose]),
            "EXSTDTC": np.concatenate([_iso(first), _iso(first + np.timedelta64(3, "D"))]),
            "EXENDTC": np.concatenate(
                [_iso(first + np.timedelta64(1, "h")), _iso(first + np.timedelta64(73, "h"))]
            ),
            "EXNUM": np.repeat(["1", "2"], n),
            "EXDEVFL": "N",
        }
    )
    rec = (recovery_d < 31) & (~died | (recovery_d < death_d)) & (~lost | (recovery_d < lost_d))
    ce = pd.DataFrame(
        {
            "STUDYID": "lanzoni2021",
            "USUBJID": ids[rec],
            "CESEQ": "1",
            "CEDECOD": "recovery",
            "CESTDTC": _iso(first[rec] + hours(recovery_d[rec] * 24)),
        }
    )
    k = rng.random(n) < 0.4  # about 40 % have one AE
    ae_h = rng.uniform(1, 400, n)
    grade = rng.integers(1, 5, n)
    terms = np.array(["Headache", "Hypotension", "Pneumonia", "Chills", "Fever", "Nausea"])
    term = terms[rng.integers(0, len(terms), n)]
    ser = np.where(grade >= 3, "Y", "N")
    ae_ok = k & (~died | (ae_h < death_d * 24)) & (~lost | (ae_h < lost_d * 24))
    ae = pd.DataFrame(
        {
            "STUDYID": "lanzoni2021",
            "USUBJID": ids[ae_ok],
            "AESEQ": "1",
            "AETERM": term[ae_ok],
            "AEDECOD": term[ae_ok],
            "AESTDTC": _iso(first[ae_ok] + hours(ae_h[ae_ok])),
            "AETOXGR": grade[ae_ok].astype(str),
            "AESER": ser[ae_ok],
            "AESHOSP": ser[ae_ok],
            "AEOUT": "RECOVERED/RESOLVED",
        }
    )
    lb_parts = []
    for code in ("IL6", "TNFA"):
        base = rng.lognormal(4.3 if code == "IL6" else 3.4, 0.5, n)
        day6 = base * rng.lognormal(np.where(arm == "ucmsc", -0.6, 0.05), 0.3)
        has6 = (~died | (death_d > 6.5)) & (~lost | (lost_d > 6.5))
        for visit, num, t, v, keep in (
            ("day0", "2", first - np.timedelta64(1, "h"), base, np.ones(n, bool)),
            ("day6", "4", first + np.timedelta64(145, "h"), day6, has6),
        ):
            lb_parts.append(
                pd.DataFrame(
                    {
                        "STUDYID": "lanzoni2021",
                        "USUBJID": ids[keep],
                        "LBTESTCD": code,
                        "LBORRES": np.round(v[keep], 1).astype(str),
                        "LBORRESU": "pg/mL",
                        "LBDTC": _iso(t[keep]),
                        "VISIT": visit,
                        "VISITNUM": num,
                    }
                )
            )
    lb = pd.concat(lb_parts, ignore_index=True)
    lb["LBSEQ"] = (lb.groupby("USUBJID").cumcount() + 1).astype(str)
    m = n + n // 4
    eligible = np.arange(m) < n
    sl = pd.DataFrame(
        {
            "STUDYID": "lanzoni2021",
            "SCRNID": [f"S-{i:05d}" for i in range(1, m + 1)],
            "SCRNDTC": _iso(np.concatenate([rand, np.full(m - n, START)])),
            "ELIGFL": np.where(eligible, "Y", "N"),
            "FAILCRIT": np.where(eligible, "", "ards"),
            "RANDFL": np.where(eligible, "Y", "N"),
            "NRANDRS": np.where(eligible, "", "NOT ELIGIBLE"),
            "USUBJID": np.concatenate([ids, np.full(m - n, "")]),
        }
    )
    return {"DM": dm, "DS": ds, "EX": ex, "CE": ce, "AE": ae, "LB": lb, "SL": sl}


def run(n: int) -> float:
    protocol = load_protocol("lanzoni2021")
    tables = synthetic(n, np.random.default_rng(20200501 + n))
    t0 = time.perf_counter()
    ds = make_dataset(tables)
    t1 = time.perf_counter()
    result = analyze(ds, protocol)
    t2 = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        path = write_html(result, Path(tmp) / "report.html", closed=True)
        size = path.stat().st_size
    t3 = time.perf_counter()
    print(
        f"n={n:>6}: dataset {t1 - t0:6.2f} s  analysis {t2 - t1:6.2f} s  "
        f"HTML {t3 - t2:6.2f} s  total {t3 - t0:6.2f} s  ({size / 1e6:.1f} MB)"
    )
    return t3 - t0


def main(argv: list[str]) -> None:
    sizes = [int(a) for a in argv] or [100, 10_000]
    goals = {100: 3.0, 10_000: 30.0}
    for n in sizes:
        total = run(n)
        goal = goals.get(n)
        if goal is not None:
            print(f"  goal < {goal:g} s: {'met' if total < goal else 'NOT met'}")


if __name__ == "__main__":
    main(sys.argv[1:])
