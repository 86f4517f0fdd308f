"""Write the virtual datasets and the analysed rows that analysis_seeds.R reads (run once).

For the five seeds the virtual trial at the published size (``simulate_trial``, seed 11) is
written as a dataset folder (``<pid>/``, CSV); the test reads those folders, so the reference
does not move when the simulator changes. ``rows.csv`` is what each continuous endpoint
analyses (from the derived ADLB, via the analysis's own population and visit selection: the
participants listed in the result), with ``DIED`` (ADSL ``DTHFL``) for the survivors-vs-deaths
comparison; ``binary.csv`` the counts of the binary endpoints measured at a visit (Meng's
Table 3, Shi's symptoms, tumour markers and normal CT); ``tte.csv`` the days and event type
(ADTTE ``AVAL``, ``EVTYPE``) of the time-to-event endpoints that list the rank-sum test
(Meng's admission to discharge); ``ae.csv`` the treatment-emergent AEs with arm and AEREL for
the relatedness counts.

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
SIZES = {
    "lanzoni2021": 24,
    "fathikazerooni2022": 29,
    "meng2020": 18,
    "rebelatto2022": 17,
    "shi2021": 100,
}


def main() -> None:
    rows, binary, aes, tte = [], [], [], []
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
        died = trial.adsl.drop_duplicates("USUBJID").set_index("USUBJID")["DTHFL"].eq("Y")
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
                            "DIED": int(bool(died.get(r["USUBJID"], False))),
                        }
                    )
            elif ep.type == "time_to_event" and "wilcoxon_rank_sum" in ep.analysis:
                pop, arm_col = population(trial.adsl, ep.population)
                arm_of = dict(zip(pop["USUBJID"], pop[arm_col].astype(str), strict=True))
                t = trial.adtte[trial.adtte["PARAMCD"] == ep.id].drop_duplicates("USUBJID")
                for _, r in t[t["USUBJID"].isin(arm_of)].iterrows():
                    tte.append(
                        {"PROTOCOL": pid, "ENDPOINT": ep.id, "USUBJID": r["USUBJID"],
                         "ARM": arm_of[r["USUBJID"]], "AVAL": r["AVAL"], "EVTYPE": r["EVTYPE"]}
                    )  # fmt: skip
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
    pd.DataFrame(tte).to_csv(HERE / "tte.csv", index=False)


if __name__ == "__main__":
    main()
