"""Every seed trial's virtual dataset (the simulator's, as the EDC exports it) written as SDTM
and ADaM in XPT v5 and Dataset-JSON, with CDISC units, and round-tripped through ODM 1.3.2."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from celltrial.cdisc import ct, read_xpt
from celltrial.cdisc.adam_out import to_adam
from celltrial.cdisc.export import write_tables
from celltrial.cdisc.odm import odm_xml, read_odm
from celltrial.cdisc.sdtm_out import to_sdtm
from celltrial.dataset import make_dataset
from celltrial.protocol import library_ids, load_protocol
from celltrial.simulate import load_scenario, simulate_trial


@pytest.mark.parametrize("pid", library_ids())
def test_seed_trial_to_sdtm_adam_and_odm(pid: str, tmp_path: Path) -> None:
    p = load_protocol(pid)
    ds = simulate_trial(p, load_scenario(pid, p), n=30, rng=np.random.default_rng(7))
    sdtm = to_sdtm(ds, p)
    adam = to_adam(ds, p, sdtm=sdtm)
    write_tables(sdtm, tmp_path / "sdtm", study=sdtm.study, formats=("xpt", "json"))
    write_tables(adam, tmp_path / "adam", study=sdtm.study, standard="ADaMIG", version="1.3")
    dm = read_xpt(tmp_path / "sdtm" / "dm.xpt")[0]
    assert dm["USUBJID"].tolist() == sdtm.tables["DM"]["USUBJID"].tolist()
    units = set(ct.terms("UNIT"))
    for code in ("LB", "VS", "XC"):
        if code in sdtm.tables:
            t = sdtm.tables[code]
            assert set(t[f"{code}STRESU"].dropna()) <= units, code
    _, tables = read_odm(odm_xml(p, ds))
    back = make_dataset(tables)
    for code, table in ds.tables.items():
        pd.testing.assert_frame_equal(
            table.reset_index(drop=True), back.tables[code].reset_index(drop=True)
        )
