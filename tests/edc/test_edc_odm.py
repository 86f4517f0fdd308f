"""An ODM 1.3.2 export of an EDC imported into a fresh EDC gives the same dataset (issue 19).

The source is a small virtual lanzoni2021 trial entered into its own SQLite EDC with the site
staff's actions (:func:`celltrial.rehearse.run_through_edc`, in a subprocess, once per session)
and exported with ``celltrial edc odm-export``. It is imported into the test database's fresh
EDC (SQLite here, PostgreSQL under ``scripts/with-postgres.sh``) through the EDC's actions, and
the EDC's dataset is exported again and compared table by table; and, as a user would, with
``celltrial edc init --no-list`` / ``import-odm`` / ``export`` on SQLite files.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

SOURCE = """
import sys
from pathlib import Path
import numpy as np
from celltrial.commands.edc import create_edc
out = Path(sys.argv[1])
made = create_edc("lanzoni2021", out / "edc.sqlite3", sites=2, block_sizes=[2, 4],
                  per_stratum=10, key=bytes(range(32)))
from celltrial.rehearse import run_through_edc
from celltrial.protocol import load_protocol
from celltrial.simulate import load_scenario
p = load_protocol("lanzoni2021")
run_through_edc(p, load_scenario("lanzoni2021", p), n=6, sites=made.sites,
                rng=np.random.default_rng(3))
# The safety CRF's forms the rehearsal does not fill: a history, a medication (one field left
# blank with a missing-data code), an AE with its end, action taken and expectedness.
import datetime as dt
from celltrial.edc import actions
from celltrial.edc.models import Participant, Staff
coordinator = Staff.objects.get(user__username="coordinator")
investigator = Staff.objects.get(user__username="investigator")
first = Participant.objects.filter(randomization__isnull=False).order_by("code").first()
consent = first.consents.first().consented_on
actions.record_medical_history(coordinator, first.code, term="Hypertension",
                               start_date=consent - dt.timedelta(days=400), ongoing=True)
actions.record_medication(coordinator, first.code, medication="Paracetamol", indication="Fever",
                          dose=500, dose_unit="mg", frequency="tid",
                          start_date=consent, end_date=consent + dt.timedelta(days=2),
                          missing={"route": "unknown"})
# The infusion form's details (issue 17), set on the source's first infusion as data to export.
from celltrial.edc.models import Infusion
Infusion.objects.filter(pk=first.infusions.order_by("number").first().pk).update(
    volume_ml=50.0, premedication="Paracetamol", interrupted=True, interruption="Chills",
    reaction="Chills")
onset = first.randomization.randomized_at + dt.timedelta(hours=2)
actions.report_adverse_event(investigator, first.code, term="Rash", onset=onset, grade=1,
                             relatedness="possible", outcome="recovered",
                             end_at=onset + dt.timedelta(days=1), action_taken="dose_not_changed",
                             procedure_relatedness="unlikely", expected=False,
                             aware_at=onset + dt.timedelta(hours=1))
from celltrial.edc.export import export_dataset
from celltrial.edc.odm import export_odm
export_dataset(out / "dataset")
(out / "odm.xml").write_bytes(export_odm())
"""


def _env() -> dict[str, str]:
    return {
        k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "DJANGO_SETTINGS_MODULE")
    }


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    code = "from celltrial.cli import app; app()"
    return subprocess.run(
        [sys.executable, "-c", code, *args],
        capture_output=True,
        text=True,
        env=_env(),
        timeout=300,
    )


@pytest.fixture(scope="session")
def source(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A source EDC with a virtual trial in it, its dataset (``dataset/``) and its ODM export
    (``odm.xml``, as ``celltrial edc odm-export`` writes it).

    Slow (about 10 s of CPU: a rehearsal of 6 randomized participants through the EDC), made
    once per session: the issue's test is an export of a real EDC, not a hand-made file."""
    out = tmp_path_factory.mktemp("odm-source")
    r = subprocess.run(
        [sys.executable, "-c", SOURCE, str(out)],
        capture_output=True,
        text=True,
        env=_env(),
        timeout=300,
    )
    assert r.returncode == 0, r.stderr
    return out


def _fresh_edc() -> Any:
    """A fresh EDC for lanzoni2021 in the test database: two sites, one person per role, no
    allocation list (as ``celltrial edc init --no-list``)."""
    from celltrial.edc import actions
    from celltrial.protocol import library_path

    admin = actions.create_trial(
        library_path("lanzoni2021").read_text(encoding="utf-8"),
        sites=[("site1", "Site 1"), ("site2", "Site 2")],
        admin_username="admin",
    )
    for role in ("investigator", "coordinator", "monitor", "data_manager"):
        actions.add_staff(admin, role, role, ["site1", "site2"], full_name=f"Test {role}")
    for role in ("pharmacist", "dsmb"):
        actions.add_staff_as_operator(admin.trial, role, role, ["site1", "site2"])
    return admin


def test_an_odm_export_imported_into_a_fresh_edc_gives_the_same_dataset(
    db: Any, source: Path
) -> None:
    import odmlib
    import xmlschema

    from celltrial.cdisc.odm import read_odm
    from celltrial.dataset import make_dataset
    from celltrial.edc.audit import verify_audit
    from celltrial.edc.export import tables
    from celltrial.edc.odm import import_odm

    xml = (source / "odm.xml").read_bytes()
    xsd = Path(odmlib.__file__).parent / "schemas" / "odm" / "1.3.2" / "ODM1-3-2.xsd"
    assert list(xmlschema.XMLSchema(str(xsd)).iter_errors(str(source / "odm.xml"))) == []
    admin = _fresh_edc()
    seen: list[tuple[int, int, str]] = []
    result = import_odm(xml, progress=lambda d, n, f: seen.append((d, n, f)))
    assert result.problems == [] and result.differences == [], [
        str(p) for p in [*result.problems, *result.differences][:5]
    ]
    assert seen[-1][0] == seen[-1][1] == sum(result.entered.values())
    # The comparison made here, independently of the import's own: every table, every cell.
    _, file_tables = read_odm(xml)
    want = make_dataset({c: t for c, t in file_tables.items() if c != "SCREENING"})
    got = make_dataset(tables(admin.trial))
    assert set(want.tables) >= {"DM", "DS", "EX", "AE", "SL", "LB", "VS"}
    assert all(len(t) == 0 for c, t in got.tables.items() if c not in want.tables)  # no DV
    for code, table in want.tables.items():
        pd.testing.assert_frame_equal(
            table.reset_index(drop=True), got.tables[code].reset_index(drop=True), obj=code
        )
    assert len(want.tables["DM"]) == 6 and len(want.tables["SL"]) > 6  # screen failures too
    assert len(want.tables["CM"]) == len(want.tables["MH"]) == 1
    assert want.tables["CM"]["CMMISS"].tolist() == ["CMROUTE=UNK"]
    ex = want.tables["EX"]
    assert ex[["EXVOLML", "EXPREMED", "EXINTRS", "EXREACT"]].notna().all(axis=1).sum() == 1
    ae = want.tables["AE"]
    assert ae[["AEENDTC", "AEACN", "AERELPR", "AEEXPFL"]].notna().all(axis=1).sum() == 1
    # Every record went through an action and its audit row.
    assert result.actions["screen_participant"] == len(want.tables["SL"])
    assert result.actions["randomize_participant"] == 6
    assert result.actions["load_allocation_list"] == 1
    assert verify_audit().ok


def test_bad_input_is_named_by_subject_and_item(db: Any, source: Path) -> None:
    from celltrial.edc.odm import OdmImportError, import_odm

    xml = (source / "odm.xml").read_text(encoding="utf-8")
    # An AE grade the EDC refuses, a relatedness term it does not know, a measurement time
    # that is not a time, an item group the EDC has no form for.
    bad = re.sub(r'(ItemOID="IT\.AE\.AETOXGR" Value=")\d', r"\g<1>7", xml, count=1)
    bad = re.sub(
        r'(<ItemGroupData ItemGroupOID="IG\.AE" ItemGroupRepeatKey="2">.*?'
        r'ItemOID="IT\.AE\.AEREL" Value=")[^"]*',
        r"\1MAYBE",
        bad,
        count=1,
        flags=re.S,
    )
    bad = re.sub(r'(ItemOID="IT\.VS\.VSDTC" Value=")[^"]*', r"\1yesterday", bad, count=1)
    # two bad values in one AE: both named
    bad = re.sub(
        r'(<ItemGroupData ItemGroupOID="IG\.AE" ItemGroupRepeatKey="3">.*?'
        r'ItemOID="IT\.AE\.AESTDTC" Value=")[^"]*(".*?ItemOID="IT\.AE\.AEOUT" Value=")[^"]*',
        r"\1soon\2BETTER",
        bad,
        count=1,
        flags=re.S,
    )
    bad = bad.replace(
        '<ItemGroupData ItemGroupOID="IG.CE"', '<ItemGroupData ItemGroupOID="IG.XX"', 1
    )
    _fresh_edc()
    result = import_odm(bad.encode())
    text = [str(p) for p in result.problems]
    assert any(re.match(r"site\d-\d{4}: IG\.AE\[1\] IT\.AE\.AETOXGR: .*grade", t) for t in text), (
        text
    )
    assert any("IG.AE[2] IT.AE.AEREL: 'MAYBE' is not one of" in t for t in text), text
    assert any("IG.VS[1] IT.VS.VSDTC: 'yesterday' is not an ISO 8601" in t for t in text), text
    assert any("IG.XX" in t and "no form" in t for t in text), text
    assert any("IG.AE[3] IT.AE.AESTDTC: 'soon'" in t for t in text), text
    assert any("IG.AE[3] IT.AE.AEOUT: 'BETTER'" in t for t in text), text
    # Nothing silently dropped: each record not entered is also a difference of the dataset.
    diffs = [str(p) for p in result.differences]
    assert any("IG.AE" in d and "rows in the file" in d for d in diffs), diffs
    assert not result.ok
    # A second import into the same EDC is refused: it is not fresh.
    with pytest.raises(OdmImportError, match="participants already"):
        import_odm(xml.encode())
    with pytest.raises(OdmImportError, match="not a CDISC ODM"):
        import_odm(b"<define/>")


def test_an_edc_with_a_random_list_is_refused(db: Any, source: Path) -> None:
    """The file's participants were randomized already: a fresh random list would give them
    other arms, so an EDC with a list loaded is refused (``edc init --no-list``)."""
    from celltrial.edc.models import AllocationSlot
    from celltrial.edc.odm import OdmImportError, import_odm

    admin = _fresh_edc()
    AllocationSlot.objects.create(
        trial=admin.trial,
        sequence=1,
        site_code="site1",
        stratum="all",
        kit_code="K",
        arm="ucmsc",
        commitment="0" * 64,
    )
    with pytest.raises(OdmImportError, match="--no-list"):
        import_odm((source / "odm.xml").read_bytes())


@pytest.mark.skipif(bool(os.environ.get("DATABASE_URL")), reason="the CLI uses SQLite files")
def test_the_commands_as_a_user_runs_them(source: Path, tmp_path: Path) -> None:
    """``edc init --no-list``, ``edc import-odm``, ``edc export``: the same CSV files as the
    source EDC's export, byte for byte. (Three commands, a few seconds each.)"""
    db = str(tmp_path / "edc.sqlite3")
    r = _cli("edc", "init", "--protocol", "lanzoni2021", "--db", db, "--sites", "2", "--no-list")
    assert r.returncode == 0, r.stderr
    assert "no allocation list" in r.stdout
    r = _cli("edc", "import-odm", str(source / "odm.xml"), "--db", db)
    assert r.returncode == 0, r.stderr
    assert "equals the file's" in r.stdout and "each audited" in r.stdout
    r = _cli("edc", "export", "--db", db, "--out", str(tmp_path / "again"))
    assert r.returncode == 0, r.stderr
    first, again = source / "dataset", tmp_path / "again"
    files = sorted(p.name for p in first.iterdir())
    assert files == sorted(p.name for p in again.iterdir()) and "dm.csv" in files
    for name in files:
        assert (first / name).read_bytes() == (again / name).read_bytes(), name
