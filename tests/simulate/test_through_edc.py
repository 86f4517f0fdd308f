"""The virtual trial entered through the EDC, and ``celltrial demo`` end to end.

Each run is a subprocess with its own SQLite EDC in ``tmp_path`` (pytest-django configures
this process on the test database), as in ``tests/edc/test_edc_cli.py``.
"""

from __future__ import annotations

import json
import os
import re
import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from celltrial.dataset import check_dataset, errors, read_dataset
from celltrial.protocol import load_protocol

pytestmark = pytest.mark.skipif(
    bool(os.environ.get("DATABASE_URL")), reason="these runs make their own SQLite EDC"
)

RUN = """
import json, sys
from collections import Counter
from pathlib import Path
import numpy as np
from celltrial.commands.edc import create_edc
out = Path(sys.argv[1])
made = create_edc("lanzoni2021", out / "edc.sqlite3", sites=2, block_sizes=[2, 4],
                  per_stratum=10, key=bytes(range(32)))
from celltrial.rehearse import run_through_edc
from celltrial.edc.audit import verify_audit
from celltrial.edc.export import export_dataset
from celltrial.protocol import load_protocol
from celltrial.simulate import load_scenario
p = load_protocol("lanzoni2021")
s = run_through_edc(p, load_scenario("lanzoni2021", p), n=8, sites=made.sites,
                    rng=np.random.default_rng(3))
audit = verify_audit()
export_dataset(out / "dataset")
from celltrial.edc.models import Measurement
typed_twice = Measurement.objects.filter(visit="screening").count()
json.dump({
    "simulated": dict(s.simulated), "entered": dict(s.entered),
    "not_entered": [[n.kind, n.who, n.reason] for n in s.not_entered],
    "unaccounted": s.unaccounted(), "arms": s.arms, "actions": dict(s.actions),
    "audit_ok": audit.ok, "audit": audit.message, "screening_measurements": typed_twice,
}, open(out / "summary.json", "w"))
"""


def _python(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    env = {
        k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "DJANGO_SETTINGS_MODULE")
    }
    return subprocess.run(
        [sys.executable, *args], capture_output=True, text=True, env=env, timeout=300, cwd=cwd
    )


def _demo(*args: str) -> subprocess.CompletedProcess[str]:
    return _python("-c", "from celltrial.cli import app; app()", "demo", *args)


def test_demo_twice_with_the_audit_anchor_on(tmp_path):
    """`make demo` twice: each run replaces the database before it (the first, a file left in
    the way; the second, the first demo's database and its audit anchor). Run as a user
    would, outside pytest (the anchor is off under pytest unless set)."""
    out = tmp_path / "demo"
    out.mkdir()
    (out / "edc.sqlite3").write_text("an earlier demo")
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("DATABASE_URL", "DJANGO_SETTINGS_MODULE", "PYTEST_VERSION")
    }
    cmd = [sys.executable, "-c", "from celltrial.cli import app; app()", "demo"]
    cmd += ["--out", str(out), "--no-pdf", "--n", "4", "--force"]
    for _ in range(2):
        r = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=300)
        assert r.returncode == 0, r.stderr + r.stdout
        assert "audit trail intact" in r.stdout
    assert (out / "edc.sqlite3.state" / "audit-head.json").exists()
    assert re.search(r"\d+ screened, [1-4] randomized", r.stdout), r.stdout


@pytest.fixture(scope="module")
def small_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any]]:
    out = tmp_path_factory.mktemp("through_edc")
    r = _python("-c", RUN, str(out))
    assert r.returncode == 0, r.stderr
    return out, json.loads((out / "summary.json").read_text())


def test_every_simulated_event_is_entered_or_counted_with_a_reason(small_run):
    _, s = small_run
    assert s["unaccounted"] == {}
    assert len(s["arms"]) == 8 == s["entered"]["randomization"]
    for kind, count in s["simulated"].items():
        missing = sum(1 for k, _, _ in s["not_entered"] if k == kind)
        assert s["entered"].get(kind, 0) + missing == count, kind
    assert all(reason.strip() for _, _, reason in s["not_entered"])
    # The core of the trial goes in whole; what is left out has no form in the EDC yet.
    for kind in ("screening", "consent", "randomization", "infusion", "adverse_event", "death"):
        assert s["entered"].get(kind, 0) == s["simulated"].get(kind, 0), kind
    # The follow-up forms (actions/followup.py) take the rest: nothing is left out any more.
    for kind in ("completion", "clinical_event", "deviation", "measurement"):
        assert s["simulated"].get(kind, 0) > 0, kind  # seed 3 has some of each
        assert s["entered"].get(kind, 0) == s["simulated"][kind], kind
    assert s["not_entered"] == []
    assert s["actions"]["complete_study"] == s["simulated"]["completion"]
    assert s["actions"]["record_clinical_event"] == s["simulated"]["clinical_event"]
    # Entered by the right roles' actions, lots released before infusions.
    assert s["actions"]["release_lot"] == s["actions"]["register_lot"] > 0
    assert s["actions"]["record_infusion"] == s["entered"]["infusion"]


def test_exported_dataset_passes_checks_and_audit_verifies(small_run):
    out, s = small_run
    assert s["audit_ok"], s["audit"]
    dataset = read_dataset(out / "dataset")
    assert errors([*dataset.problems, *check_dataset(dataset, load_protocol("lanzoni2021"))]) == []
    assert len(dataset.dm) == 8
    # Completions and recoveries reach the dataset (DS COMPLETED, CE) and its derivations.
    from celltrial.dataset import derive_adsl, derive_adtte

    p = load_protocol("lanzoni2021")
    ds = dataset.table("DS")
    assert (ds["DSDECOD"] == "COMPLETED").sum() == s["simulated"]["completion"]
    ce = dataset.table("CE")
    assert (ce["CEDECOD"] == "recovery").sum() == s["simulated"]["clinical_event"]
    assert len(dataset.table("DV")) == s["simulated"]["deviation"]
    adsl = derive_adsl(dataset, p)
    assert (adsl["EOSSTT"] == "COMPLETED").sum() == s["simulated"]["completion"]
    adtte = derive_adtte(dataset, p, adsl=adsl)
    recovery = adtte[adtte["PARAMCD"] == "time_to_recovery"]
    assert (recovery["CNSR"] == 0).sum() == s["simulated"]["clinical_event"]
    # Nobody followed to the end is a drop-out.
    assert not recovery["CNSDTDSC"].eq("last contact (drop-out)").any()


def test_arms_in_the_export_are_the_edcs_allocation_list(small_run):
    out, s = small_run
    dm = read_dataset(out / "dataset").dm
    exported = dict(zip(dm["USUBJID"], dm["ARMCD"], strict=True))
    with sqlite3.connect(out / "edc.sqlite3") as con:
        rows = con.execute(
            "SELECT p.code, a.arm, a.site_code, a.stratum, a.sequence "
            "FROM edc_randomization r JOIN edc_participant p ON r.participant_id = p.id "
            "JOIN edc_allocationslot a ON r.slot_id = a.id"
        ).fetchall()
        free = con.execute(
            "SELECT site_code, stratum, MIN(sequence) FROM edc_allocationslot "
            "WHERE id NOT IN (SELECT slot_id FROM edc_randomization) GROUP BY site_code, stratum"
        ).fetchall()
    assert {code: arm for code, arm, *_ in rows} == exported == s["arms"]
    # Rows were taken in list order: every taken row precedes the first free one of its cell.
    first_free = {(site, stratum): seq for site, stratum, seq in free}
    for _, _, site, stratum, seq in rows:
        assert seq < first_free[(site, stratum)]


# `celltrial demo` itself (the session's one run, a trial in progress), its reports and each
# role's home page after it: tests/web/test_web_demo.py (one file, so that `--dist loadfile`
# runs the demo once).


def test_screening_values_are_typed_once_on_the_screening_form(small_run):
    """Issue 15: the screening visit's values (weight, SpO2, respiratory rate, PaO2/FiO2) go on
    the screening form, as on the web, and are exported from it as that visit's findings; the
    driver no longer types them again as measurements (which hid that the form's values never
    reached the export)."""
    out, s = small_run
    assert s["screening_measurements"] == 0
    dataset = read_dataset(out / "dataset")
    vs, lb = dataset.table("VS"), dataset.table("LB")
    vs = vs[vs["VISIT"] == "screening"]
    lb = lb[lb["VISIT"] == "screening"]
    for code in s["arms"]:  # every randomized participant has them, once each
        tests = sorted(vs.loc[vs["USUBJID"] == code, "VSTESTCD"])
        assert tests == ["OXYSAT", "RESP", "WEIGHT"], (code, tests)
        assert list(lb.loc[lb["USUBJID"] == code, "LBTESTCD"]).count("PAO2FIO2") == 1, code
