"""Write the virtual datasets and the analysed rows that analysis_seeds.R reads (run once).

For three seeds (Lanzoni 2021, Fathi-Kazerooni 2022, Meng 2020) the virtual trial at the
published size (``simulate_trial``, seed 11) is written as a dataset folder
(``<pid>/``, CSV); the test reads those folders, so the reference does not move when the
simulator changes. ``rows.csv`` is what each continuous endpoint analyses (from the derived
ADLB, via the analysis's own population and visit selection: the participants listed in the
result); ``binary.csv`` the 0/1 outcomes of Meng's Table 3 endpoints; ``ae.csv`` the
treatment-emergent AEs with arm and AEREL for the relatedness counts.

    PYTHONPATH=src python tests/reference/analysis_seeds/export.py
    cd tests/reference/analysis_seeds && Rscript analysis_seeds.R
"""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pandas as pd

from celltrial.analysis import analyze
from celltrial.analysis.populations import population
from celltrial.analysis.trial import Trial
from celltrial.dataset import read_dataset, write_dataset
from celltrial.protocol import load_protocol
from celltrial.simulate import load_scenario, simulate_trial

HERE = Path(__file__).resolve().parent
SIZES = {"lanzoni2021": 24, "fathikazerooni2022": 29, "meng2020": 18}


def main() -> None:
    rows, binary, aes = [], [], []
    for pid, n in SIZES.items():
        p = load_protocol(pid)
        folder = HERE / pid
        if folder.exists():
            shutil.rmtree(folder)
        ds = simulate_trial(p, load_scenario(pid, p), n=n, rng=np.random.default_rng(11))
        write_dataset(ds, folder)
        ds = read_dataset(folder)
        trial = Trial.derive(ds, p)
        result = analyze(ds, p)
        adlb = trial.adlb
        for ep in p.endpoints:
            if ep.type == "continuous":
                pop, arm_col = population(trial.adsl, ep.population)
                arm_of = dict(zip(pop["USUBJID"], pop[arm_col].astype(str), strict=True))
                col = "CHG" if ep.baseline_visit else "AVAL"
                at = adlb[
                    (adlb["MEASURE"] == ep.measurement)
                    & (adlb["AVISIT"] == ep.visit)
                    & (adlb["ANL01FL"] == "Y")
                    & adlb[col].notna()
                    & adlb["USUBJID"].isin(arm_of)
                ].drop_duplicates("USUBJID")
                assert len(at) == result.endpoint(ep.id).n, ep.id
                for _, r in at.iterrows():
                    rows.append(
                        {
                            "PROTOCOL": pid,
                            "ENDPOINT": ep.id,
                            "USUBJID": r["USUBJID"],
                            "ARM": arm_of[r["USUBJID"]],
                            "AVAL": r["AVAL"],
                            "BASE": r["BASE"] if ep.baseline_visit else np.nan,
                            "CHG": r["CHG"] if ep.baseline_visit else np.nan,
                            "PCHG": r["PCHG"] if ep.baseline_visit else np.nan,
                        }
                    )
            elif ep.type == "binary" and ep.measurement is not None:
                res = result.endpoint(ep.id)
                for a in res.arms:  # type: ignore[attr-defined]
                    binary.append(
                        {"PROTOCOL": pid, "ENDPOINT": ep.id, "ARM": a.arm,
                         "EVENTS": a.events, "N": a.n}
                    )  # fmt: skip
        pop, arm_col = population(trial.adsl, "safety")
        arm_of = dict(zip(pop["USUBJID"], pop[arm_col].astype(str), strict=True))
        ae = trial.adae[trial.adae["USUBJID"].isin(arm_of) & (trial.adae["TRTEMFL"] == "Y")]
        for _, r in ae.iterrows():
            aes.append(
                {"PROTOCOL": pid, "USUBJID": r["USUBJID"], "ARM": arm_of[r["USUBJID"]],
                 "AESER": r["AESER"], "AEREL": r.get("AEREL")}
            )  # fmt: skip
    pd.DataFrame(rows).to_csv(HERE / "rows.csv", index=False)
    pd.DataFrame(binary).to_csv(HERE / "binary.csv", index=False)
    pd.DataFrame(aes).to_csv(HERE / "ae.csv", index=False)


if __name__ == "__main__":
    main()
