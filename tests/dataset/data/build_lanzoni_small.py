"""Write the hand-built Lanzoni-like dataset in ``lanzoni_small/`` (run: python build_lanzoni_small.py).

The CSV files are the test fixture; this script only keeps them easy to regenerate. Every
participant's story is written out below, in hours from the first infusion F (randomization
R = F - 4 h; the second infusion is at F + 72 h). The tests derive their expected values by
hand from these stories (see README.md next to the CSV files).
"""

from __future__ import annotations

import csv
from datetime import UTC, datetime, timedelta
from pathlib import Path

OUT = Path(__file__).with_name("lanzoni_small")
STUDY = "lanzoni2021"
ARM_LABEL = {"ucmsc": "UC-MSC", "control": "Control (vehicle)", "NOTTRT": "Not treated"}
MM, MS = "mild_moderate", "moderate_severe"

# id, randomized arm, treated arm, stratum, age, sex
PEOPLE = [
    ("001", "ucmsc", "ucmsc", MM, 61, "F"),
    ("002", "control", "control", MS, 55, "M"),
    ("003", "ucmsc", "ucmsc", MS, 47, "M"),
    ("004", "control", "control", MM, 72, "M"),
    ("005", "ucmsc", "ucmsc", MM, 38, "F"),
    ("006", "control", "control", MS, 66, "F"),
    ("007", "ucmsc", "ucmsc", MS, 59, "M"),
    ("008", "control", "NOTTRT", MM, 70, "M"),
    ("009", "ucmsc", "ucmsc", MM, 44, "F"),
    ("010", "control", "ucmsc", MS, 68, "M"),
    ("011", "ucmsc", "ucmsc", MS, 52, "F"),
    ("012", "control", "control", MS, 75, "M"),
    ("013", "ucmsc", "ucmsc", MM, 33, "F"),
    ("014", "control", "control", MM, 63, "M"),
    ("015", "ucmsc", "ucmsc", MS, 57, "F"),
    ("016", "control", "control", MS, 80, "M"),
]
# Hours after F of each participant's death, recovery, end of follow-up (DS term, hours).
DEATH = {"004": 216, "010": 600, "012": 82, "014": 480, "016": 708}
RECOVERY = {
    "001": 240,
    "002": 528,
    "003": 480,
    "007": 756,
    "009": 192,
    "013": 144,
    "014": 336,
    "015": 288,
}
END = {
    "005": ("WITHDRAWN", 290),
    "006": ("LOST TO FOLLOW-UP", 168),
    "008": ("WITHDRAWN", -4 + 20),  # withdrew 20 h after randomization, never infused
}
# Adverse events: id, term, hours after F, end hours, grade, serious criterion, outcome.
AES = [
    ("002", "Pneumonia", 120, 200, 4, "AESHOSP", "RECOVERED/RESOLVED"),
    ("003", "Hypotension", 74, 80, 3, "AESLIFE", "RECOVERED/RESOLVED"),
    ("004", "Respiratory failure", 192, 216, 5, "AESDTH", "FATAL"),
    ("010", "Acute kidney injury", 360, 420, 3, "AESHOSP", "RECOVERING/RESOLVING"),
    ("010", "Septic shock", 576, 600, 5, "AESDTH", "FATAL"),
    ("012", "Cardiac arrest", 80, 82, 5, "AESDTH", "FATAL"),
    ("014", "Pulmonary embolism", 480, 480, 5, "AESDTH", "FATAL"),
    ("015", "Chills", 3, 5, 2, None, "RECOVERED/RESOLVED"),
    ("016", "ARDS worsening", 648, 708, 5, "AESDTH", "FATAL"),
    ("001", "Headache", 30, 40, 1, None, "RECOVERED/RESOLVED"),
]
# Cytokines: (il6 day 0, il6 day 6, tnfa day 0, tnfa day 6)
CYTO = {
    "001": (80.0, 20.0, 30.0, 12.0),
    "002": (60.0, 70.0, 25.0, 28.0),
    "003": (120.0, 40.0, 41.0, 20.0),
    "004": (95.0, 150.0, 33.0, 45.0),
    "005": (50.0, 25.0, 22.0, None),  # TNF-a day 6 not done
    "006": (70.0, 72.0, 26.0, 27.0),
    "007": (200.0, 90.0, 50.0, 30.0),
    "008": (65.0, None, 24.0, None),  # withdrew before day 6
    "009": (40.0, 30.0, 18.0, 15.0),  # day-6 sample taken on day 8: outside every window
    "010": (110.0, 60.0, 35.0, 30.0),
    "011": (90.0, 45.0, 31.0, 22.0),
    "012": (130.0, None, 44.0, None),  # died on day 3
    "013": (55.0, 10.0, 20.0, 9.0),
    "014": (75.0, 80.0, 29.0, 31.0),
    "015": (100.0, 50.0, 36.0, 21.0),
    "016": (85.0, 100.0, 30.0, 38.0),
}


def first_infusion(n: int) -> datetime:
    """F for participant n (1-based): one randomization a day from 1 May 2020 at 10:00Z."""
    return datetime(2020, 5, 1, 10, tzinfo=UTC) + timedelta(days=n - 1, hours=4)


def iso(t: datetime) -> str:
    return t.astimezone(UTC).strftime("%Y-%m-%dT%H:%MZ")


def write(name: str, rows: list[dict[str, object]]) -> None:
    cols: list[str] = []
    for r in rows:
        cols += [c for c in r if c not in cols]
    with (OUT / f"{name}.csv").open("w", newline="", encoding="utf-8") as f:
        w = csv.DictWriter(f, fieldnames=cols, lineterminator="\n")
        w.writeheader()
        for r in rows:
            w.writerow({c: "" if r.get(c) is None else r[c] for c in cols})


def main() -> None:
    OUT.mkdir(exist_ok=True)
    dm, ds, ex, ae, ce, lb, vs, dv, sl = [], [], [], [], [], [], [], [], []
    seq: dict[tuple[str, str], int] = {}

    def nxt(dom: str, uid: str) -> int:
        seq[(dom, uid)] = seq.get((dom, uid), 0) + 1
        return seq[(dom, uid)]

    for n, (sid, arm, act, stratum, age, sex) in enumerate(PEOPLE, start=1):
        uid = f"L-{sid}"
        f = first_infusion(n)
        at = lambda h, f=f: iso(f + timedelta(hours=h))  # noqa: E731
        rand = f - timedelta(hours=4)
        treated = act != "NOTTRT"
        n_doses = 1 if sid == "009" else 2 if treated else 0
        dm.append(
            {
                "STUDYID": STUDY,
                "USUBJID": uid,
                "SUBJID": sid,
                "SITEID": "01",
                "AGE": age,
                "SEX": sex,
                "ARMCD": arm,
                "ARM": ARM_LABEL[arm],
                "ACTARMCD": act,
                "ACTARM": ARM_LABEL[act],
                "RFICDTC": iso(rand - timedelta(hours=49)),
                "RANDDTC": iso(rand),
                "RFSTDTC": at(0) if treated else None,
                "RFENDTC": at(72 if n_doses == 2 else 0) if treated else None,
                "DTHDTC": at(DEATH[sid]) if sid in DEATH else None,
                "DTHFL": "Y" if sid in DEATH else None,
                "STRAT_ARDS_SEVERITY": stratum,
            }
        )
        ds.append(
            {
                "STUDYID": STUDY,
                "USUBJID": uid,
                "DSSEQ": nxt("DS", uid),
                "DSTERM": "Randomized",
                "DSDECOD": "RANDOMIZED",
                "DSCAT": "PROTOCOL MILESTONE",
                "DSSTDTC": iso(rand),
            }
        )
        if sid in DEATH:
            term, hours = "DEATH", DEATH[sid]
        elif sid in END:
            term, hours = END[sid]
        else:
            term, hours = "COMPLETED", 744 + (12 if sid == "007" else 0)
        ds.append(
            {
                "STUDYID": STUDY,
                "USUBJID": uid,
                "DSSEQ": nxt("DS", uid),
                "DSTERM": term.capitalize(),
                "DSDECOD": term,
                "DSCAT": "DISPOSITION EVENT",
                "DSSTDTC": at(hours),
            }
        )
        for k in range(n_doses):
            cells = act == "ucmsc"
            dose = 70e6 if (sid == "011" and k == 1) else 100e6 if cells else 50.0
            ex.append(
                {
                    "STUDYID": STUDY,
                    "USUBJID": uid,
                    "EXSEQ": nxt("EX", uid),
                    "EXTRT": act,
                    "EXDOSE": f"{dose:g}",
                    "EXDOSU": "cells" if cells else "mL",
                    "EXPLDOS": None if arm != act else "1e+08" if cells else "50",
                    "EXSTDTC": at(72 * k),
                    "EXENDTC": at(72 * k + 1),
                    "EXLOT": f"{'UC' if cells else 'VH'}-{n:02d}{k + 1}",
                    "EXNUM": k + 1,
                    "EXDEVFL": "Y" if dose == 70e6 or sid == "010" else "N",
                    "EXDEVRS": "dose below 80e6 cells"
                    if dose == 70e6
                    else "wrong product given"
                    if sid == "010"
                    else None,
                }
            )
        for term_, start, end, grade, crit, outcome in [a[1:] for a in AES if a[0] == sid]:
            row = {
                "STUDYID": STUDY,
                "USUBJID": uid,
                "AESEQ": nxt("AE", uid),
                "AETERM": term_,
                "AEDECOD": term_,
                "AESTDTC": at(start),
                "AEENDTC": at(end),
                "AETOXGR": grade,
                "AESER": "Y" if crit else "N",
                "AEREL": "NOT RELATED",
                "AEOUT": outcome,
            }
            for c in ("AESDTH", "AESLIFE", "AESHOSP", "AESDISAB", "AESCONG", "AESMIE"):
                row[c] = "Y" if c == crit else "N"
            ae.append(row)
        if sid in RECOVERY:
            ce.append(
                {
                    "STUDYID": STUDY,
                    "USUBJID": uid,
                    "CESEQ": nxt("CE", uid),
                    "CETERM": "Recovered",
                    "CEDECOD": "recovery",
                    "CESTDTC": at(RECOVERY[sid]),
                }
            )
        if sid == "004":  # death also written in CE, at the same time as DM.DTHDTC
            ce.append(
                {
                    "STUDYID": STUDY,
                    "USUBJID": uid,
                    "CESEQ": nxt("CE", uid),
                    "CETERM": "Death",
                    "CEDECOD": "death",
                    "CESTDTC": at(DEATH[sid]),
                }
            )
        # Screening (R - 26 h): PaO2/FiO2 in LB, weight, SpO2, respiratory rate in VS.
        screen = iso(rand - timedelta(hours=26))
        lb.append(
            _lb(
                uid,
                nxt("LB", uid),
                "PAO2FIO2",
                "PaO2/FiO2",
                100 + 5 * n,
                "mm[Hg]",
                screen,
                "screening",
                1,
            )
        )
        for code, name, value, unit in (
            ("WEIGHT", "Weight", 60 + n, "kg"),
            ("OXYSAT", "Oxygen saturation", 88 + n % 5, "%"),
            ("RESP", "Respiratory rate", 24 + n % 7, "/min"),
        ):
            vs.append(
                {
                    "STUDYID": STUDY,
                    "USUBJID": uid,
                    "VSSEQ": nxt("VS", uid),
                    "VSTESTCD": code,
                    "VSTEST": name,
                    "VSORRES": value,
                    "VSORRESU": unit,
                    "VSDTC": screen,
                    "VISIT": "screening",
                    "VISITNUM": 1,
                }
            )
        il6_0, il6_6, tnf_0, tnf_6 = CYTO[sid]
        day0 = at(-1)
        day6 = at(192 if sid == "009" else 145)
        lb.append(_lb(uid, nxt("LB", uid), "IL6", "Interleukin 6", il6_0, "pg/mL", day0, "day0", 2))
        lb.append(_lb(uid, nxt("LB", uid), "TNFA", "TNF-alpha", tnf_0, "pg/mL", day0, "day0", 2))
        if il6_6 is not None:
            lb.append(
                _lb(uid, nxt("LB", uid), "IL6", "Interleukin 6", il6_6, "pg/mL", day6, "day6", 4)
            )
        if sid == "005":
            row = _lb(uid, nxt("LB", uid), "TNFA", "TNF-alpha", None, "pg/mL", day6, "day6", 4)
            row["LBSTAT"] = "NOT DONE"
            row["LBREASND"] = "sample haemolysed"
            lb.append(row)
        elif tnf_6 is not None:
            lb.append(
                _lb(uid, nxt("LB", uid), "TNFA", "TNF-alpha", tnf_6, "pg/mL", day6, "day6", 4)
            )
    dv.append(
        {
            "STUDYID": STUDY,
            "USUBJID": "L-013",
            "DVSEQ": 1,
            "DVTERM": "Consent form version outdated at enrolment",
            "DVCAT": "MAJOR",
            "DVSTDTC": iso(first_infusion(13) - timedelta(hours=53)),
        }
    )
    dv.append(
        {
            "STUDYID": STUDY,
            "USUBJID": "L-015",
            "DVSEQ": 1,
            "DVTERM": "Day-14 visit one day late",
            "DVCAT": "MINOR",
            "DVSTDTC": iso(first_infusion(15) + timedelta(days=15)),
        }
    )
    for n in range(1, 21):
        randomized = n <= 16
        day = first_infusion(min(n, 16)) - timedelta(hours=30)
        fail = {17: "ards", 18: "ards", 20: "covid19"}.get(n)
        sl.append(
            {
                "STUDYID": STUDY,
                "SCRNID": f"S-{n:03d}",
                "SITEID": "01",
                "SCRNDTC": iso(day),
                "ELIGFL": "N" if fail else "Y",
                "FAILCRIT": fail,
                "RANDFL": "Y" if randomized else "N",
                "NRANDRS": None if randomized else "DECLINED" if n == 19 else "NOT ELIGIBLE",
                "USUBJID": f"L-{n:03d}" if randomized else None,
            }
        )
    for name, rows in (
        ("dm", dm),
        ("ds", ds),
        ("ex", ex),
        ("ae", ae),
        ("ce", ce),
        ("lb", lb),
        ("vs", vs),
        ("dv", dv),
        ("sl", sl),
    ):
        write(name, rows)


def _lb(
    uid: str,
    seq: int,
    code: str,
    name: str,
    value: float | None,
    unit: str,
    when: str,
    visit: str,
    visitnum: int,
) -> dict[str, object]:
    return {
        "STUDYID": STUDY,
        "USUBJID": uid,
        "LBSEQ": seq,
        "LBTESTCD": code,
        "LBTEST": name,
        "LBORRES": None if value is None else f"{value:g}",
        "LBORRESU": unit,
        "LBSTAT": None,
        "LBREASND": None,
        "LBSPEC": "PLASMA" if code != "PAO2FIO2" else "ARTERIAL BLOOD",
        "LBDTC": when,
        "VISIT": visit,
        "VISITNUM": visitnum,
    }


if __name__ == "__main__":
    main()
