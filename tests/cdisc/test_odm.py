"""ODM 1.3.2: the Lanzoni dataset's study definition and clinical data exported, validated
against the ODM 1.3.2 schema that odmlib ships, read back into the same dataset, and its study
definition drafted into a protocol."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from celltrial.cdisc.odm import odm_xml, read_odm
from celltrial.dataset import make_dataset, read_dataset
from celltrial.protocol import load_protocol

SMALL = Path(__file__).parents[1] / "dataset" / "data" / "lanzoni_small"


@pytest.fixture(scope="module")
def odm_schema():  # type: ignore[no-untyped-def]
    import odmlib
    import xmlschema

    xsd = Path(odmlib.__file__).parent / "schemas" / "odm" / "1.3.2" / "ODM1-3-2.xsd"
    return xmlschema.XMLSchema(str(xsd))


def test_odm_export_validates_and_reads_back_the_same_dataset(
    odm_schema: object, tmp_path: Path
) -> None:
    ds = read_dataset(SMALL)
    p = load_protocol("lanzoni2021")
    xml = odm_xml(p, ds)
    path = tmp_path / "odm.xml"
    path.write_bytes(xml)
    errors = list(odm_schema.iter_errors(str(path)))  # type: ignore[attr-defined]
    assert errors == [], str(errors[0])[:2000]
    draft, tables = read_odm(path)
    back = make_dataset(tables)
    assert back.ok and back.problems == ds.problems
    assert set(back.tables) == set(ds.tables)
    for code, table in ds.tables.items():
        pd.testing.assert_frame_equal(
            table.reset_index(drop=True), back.tables[code].reset_index(drop=True)
        )
    assert draft["id"] == "lanzoni2021"
    assert [a["id"] for a in draft["arms"]] == ["ucmsc", "control"]
    assert [v["id"] for v in draft["schedule"]["visits"]] == [v.id for v in p.schedule.visits]
    assert draft["arms"][0]["dose"] == "unknown"  # ODM does not state doses


def test_metadata_only_and_not_odm(odm_schema: object, tmp_path: Path) -> None:
    path = tmp_path / "def.xml"
    path.write_bytes(odm_xml(load_protocol("meng2020")))
    assert list(odm_schema.iter_errors(str(path))) == []  # type: ignore[attr-defined]
    draft, tables = read_odm(path)
    assert tables == {} and draft["title"].startswith("Human umbilical")
    (tmp_path / "x.xml").write_text("<define/>")
    with pytest.raises(ValueError, match="not a CDISC ODM"):
        read_odm(tmp_path / "x.xml")
