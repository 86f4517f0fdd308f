"""Write adtte.csv: the derived ADTTE of tests/dataset/data/lanzoni_small (ITT), for analysis.R.

Run once from the repository root: ``.venv/bin/python
tests/reference/analysis_lanzoni_small/export_adtte.py``; then ``Rscript analysis.R`` in this
folder writes analysis.json.
"""

from __future__ import annotations

from pathlib import Path

from celltrial.dataset import derive_adtte, read_dataset
from celltrial.protocol import load_protocol

HERE = Path(__file__).resolve().parent
DATA = HERE.parents[1] / "dataset" / "data" / "lanzoni_small"


def main() -> None:
    adtte = derive_adtte(read_dataset(DATA), load_protocol("lanzoni2021"))
    adtte = adtte[adtte["ITTFL"] == "Y"]
    cols = ["USUBJID", "ARMCD", "PARAMCD", "AVAL", "CNSR", "EVTYPE"]
    adtte[cols].to_csv(HERE / "adtte.csv", index=False, float_format="%.17g")


if __name__ == "__main__":
    main()
