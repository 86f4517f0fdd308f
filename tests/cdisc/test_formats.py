"""SDTM and ADaM out of the hand-built Lanzoni dataset: conformance, XPT v5 / Dataset-JSON / CSV /
Parquet round trips, Define-XML 2.1 validated against the schema odmlib ships, and files of the
wrong kind named as such."""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd
import pytest

from celltrial.cdisc import ct, read_dataset_json, read_tables, read_xpt, sniff
from celltrial.cdisc.adam_out import Adam, to_adam
from celltrial.cdisc.define import define_xml
from celltrial.cdisc.export import write_tables
from celltrial.cdisc.sdtm_out import Sdtm, to_sdtm
from celltrial.dataset import read_dataset
from celltrial.protocol import load_protocol

SMALL = Path(__file__).parents[1] / "dataset" / "data" / "lanzoni_small"


@pytest.fixture(scope="module")
def sdtm() -> Sdtm:
    return to_sdtm(read_dataset(SMALL), load_protocol("lanzoni2021"))


@pytest.fixture(scope="module")
def adam() -> Adam:
    return to_adam(read_dataset(SMALL), load_protocol("lanzoni2021"))


@pytest.fixture(scope="module")
def define_schema():  # type: ignore[no-untyped-def]
    import odmlib
    import xmlschema

    xsd = Path(odmlib.__file__).parent / "schemas" / "define" / "2.1" / "define2-1-0.xsd"
    return xmlschema.XMLSchema(str(xsd))


def test_sdtm_domains_names_and_labels(sdtm: Sdtm) -> None:
    want = {"DM", "DS", "EX", "AE", "CE", "DV", "LB", "VS", "SV", "SE", "TS", "TA", "TE", "TV"}
    assert want <= set(sdtm.tables)
    assert {"SUPPDM", "SUPPEX"} <= set(sdtm.tables)
    for code, table in sdtm.tables.items():
        assert all(len(c) <= 8 for c in table.columns), code
        assert all(len(lab) <= 40 for lab in sdtm.labels(code).values()), code
        if not code.startswith("SUPP"):
            assert (table["DOMAIN"] == code).all(), code
        else:
            assert (table["RDOMAIN"] == code[4:]).all()


def test_dm_follows_sdtm(sdtm: Sdtm) -> None:
    dm = sdtm.tables["DM"]
    assert set(dm["DTHFL"].dropna()) <= {"Y"}  # Y or null, never N
    assert (dm["AGEU"] == "YEARS").all()
    assert "RANDDTC" not in dm and "STRAT_ARDS_SEVERITY" not in dm  # to SUPPDM
    supp = sdtm.tables["SUPPDM"]
    assert set(supp["QNAM"]) == {"RANDDTC", "STRAT1"}


def test_controlled_terminology(sdtm: Sdtm) -> None:
    units = set(ct.terms("UNIT"))
    for code in ("LB", "VS"):
        t = sdtm.tables[code]
        has = t[f"{code}STRESN"].notna()
        assert t.loc[has, f"{code}STRESU"].notna().all()  # no blank --STRESU
        assert set(t[f"{code}STRESU"].dropna()) <= units
    assert "PO2FIO2" in set(sdtm.tables["LB"]["LBTESTCD"])
    assert "PAO2FIO2" not in set(sdtm.tables["LB"]["LBTESTCD"])
    assert "mmHg" in set(sdtm.tables["LB"]["LBORRESU"])
    assert set(sdtm.tables["DS"]["DSDECOD"]) <= set(ct.terms("NCOMPLT")) | set(ct.terms("PROTMLST"))
    assert set(sdtm.tables["EX"]["EXROUTE"]) == {"INTRAVENOUS"}
    assert set(sdtm.tables["EX"]["EXDOSU"]) <= units


def test_iso_8601_with_the_collected_precision(sdtm: Sdtm) -> None:
    for code, table in sdtm.tables.items():
        for col in [c for c in table.columns if c.endswith("DTC")]:
            values = table[col].dropna()
            assert not values.str.endswith("Z").any(), (code, col)
            assert values.str.match(r"^\d{4}(-\d{2}(-\d{2}(T\d{2}:\d{2}(:\d{2})?)?)?)?$").all()
    for code in ("AE", "EX", "LB"):  # study days: no day 0
        days = sdtm.tables[code][f"{code}STDY" if code != "LB" else "LBDY"].dropna()
        assert (days != 0).all()


def test_adam_conformance(adam: Adam) -> None:
    assert set(adam.tables) == {"ADSL", "ADAE", "ADTTE", "ADLB"}
    for code, table in adam.tables.items():
        assert all(len(c) <= 8 for c in table.columns), code
        assert all(len(lab) <= 40 for lab in adam.labels(code).values()), code
    tte = adam.tables["ADTTE"]
    assert tte["PARAMCD"].str.len().max() <= 8
    assert set(tte["CNSR"]) <= {0.0, 1.0}
    assert tte["EVNTDESC"].notna().all()
    assert tte.loc[tte["CNSR"] == 1, "CNSDTDSC"].notna().all()
    assert (adam.tables["ADAE"]["ASTDY"].dropna() != 0).all()
    assert (adam.tables["ADLB"]["ADY"].dropna() != 0).all()
    assert set(adam.tables["ADSL"]["DTHFL"].dropna()) <= {"Y"}


def _same(a: pd.DataFrame, b: pd.DataFrame) -> None:
    assert list(a.columns) == list(b.columns)
    for c in a.columns:
        x, y = a[c], b[c]
        if pd.api.types.is_datetime64_any_dtype(x):
            pd.testing.assert_series_equal(
                pd.to_datetime(x), pd.to_datetime(y), check_names=False, check_dtype=False
            )
        elif pd.api.types.is_numeric_dtype(x):
            pd.testing.assert_series_equal(
                x.astype("float64"), y.astype("float64"), check_names=False
            )
        else:
            assert x.fillna("").astype(str).tolist() == y.fillna("").astype(str).tolist(), c


def test_xpt_v5_round_trip(sdtm: Sdtm, adam: Adam, tmp_path: Path) -> None:
    write_tables(sdtm, tmp_path / "sdtm", study=sdtm.study)
    write_tables(adam, tmp_path / "adam", study=sdtm.study, standard="ADaMIG", version="1.3")
    for data, sub in ((sdtm, "sdtm"), (adam, "adam")):
        for code, table in data.tables.items():
            path = tmp_path / sub / f"{code.lower()}.xpt"
            assert path.read_bytes().startswith(b"HEADER RECORD*******LIBRARY HEADER RECORD")
            back, labels, title = read_xpt(path)
            _same(table, back)
            assert labels == data.labels(code)
            assert title == data.domain_label(code)


def test_dataset_json_csv_parquet(sdtm: Sdtm, tmp_path: Path) -> None:
    write_tables(sdtm, tmp_path, study=sdtm.study, formats=("json", "csv", "parquet"))
    dm, labels, _ = read_dataset_json(tmp_path / "dm.json")
    _same(sdtm.tables["DM"], dm)
    assert labels["USUBJID"] == "Unique Subject Identifier"
    tables, problems = read_tables(tmp_path)
    assert set(sdtm.tables) == set(tables)  # Dataset-JSON read first
    assert not [p for p in problems if p.level == "error"]
    pq = pd.read_parquet(tmp_path / "lb.parquet")
    _same(sdtm.tables["LB"], pq)


SCHEMA = Path(__file__).parents[1] / "reference" / "dataset_json" / "dataset.schema.json"
#: The JSON types a column's values may have, by its dataType (the Dataset-JSON 1.1
#: specification's "Supported Column Data Type Combinations"; null is a missing value).
JSON_TYPES = {
    "string": (str,),
    "integer": (int,),
    "double": (int, float),
    "float": (int, float),
    "date": (str,),
    "datetime": (str,),
}


def test_dataset_json_validates_against_the_official_schema(
    sdtm: Sdtm, adam: Adam, tmp_path: Path
) -> None:
    """Every SDTM and ADaM table written as Dataset-JSON validates against the Dataset-JSON 1.1
    JSON schema (cdisc-org/DataExchange-DatasetJson, see tests/reference/dataset_json/), and
    follows what the specification states beyond the schema: a value's JSON type fits its
    column's dataType, ADaM dates are ISO 8601 with targetDataType integer, records counts rows.
    """
    import json

    import jsonschema

    schema = json.loads(SCHEMA.read_text(encoding="utf-8"))
    validator_class = jsonschema.validators.validator_for(schema)
    assert validator_class is jsonschema.Draft201909Validator
    validator_class.check_schema(schema)
    validator = validator_class(schema)
    write_tables(sdtm, tmp_path / "sdtm", study=sdtm.study, formats=("json",))
    write_tables(adam, tmp_path / "adam", study=sdtm.study, formats=("json",), standard="ADaMIG")
    files = sorted(tmp_path.glob("*/*.json"))
    assert len(files) == len(sdtm.tables) + len(adam.tables)
    for path in files:
        doc = json.loads(path.read_text(encoding="utf-8"))
        errors = list(validator.iter_errors(doc))
        assert errors == [], f"{path.name}: {errors[0].message}"
        assert doc["records"] == len(doc["rows"]), path.name
        for k, col in enumerate(doc["columns"]):
            values = [row[k] for row in doc["rows"] if row[k] is not None]
            want = JSON_TYPES[col["dataType"]]
            assert all(isinstance(v, want) and not isinstance(v, bool) for v in values), (
                path.name,
                col["name"],
            )
            if col["dataType"] == "date":
                assert col["targetDataType"] == "integer"
                assert all(re.fullmatch(r"\d{4}-\d\d-\d\d", v) for v in values), col["name"]
    adsl = json.loads((tmp_path / "adam" / "adsl.json").read_text(encoding="utf-8"))
    types = {c["name"]: (c["dataType"], c.get("displayFormat")) for c in adsl["columns"]}
    assert types["TRTSDT"] == ("date", "E8601DA.")
    assert types["TRTSDTM"] == ("datetime", "E8601DT.")
    back, _, _ = read_dataset_json(tmp_path / "adam" / "adsl.json")
    _same(adam.tables["ADSL"], back)
    assert pd.api.types.is_datetime64_any_dtype(back["TRTSDT"])
    # the schema is enforced: a file without its dataset name is refused
    del doc["name"]
    assert list(validator.iter_errors(doc))


def test_define_xml_validates(
    sdtm: Sdtm, adam: Adam, define_schema: object, tmp_path: Path
) -> None:
    for data, std, ver in ((sdtm, "SDTMIG", "3.4"), (adam, "ADaMIG", "1.3")):
        xml = define_xml(data, study=sdtm.study, standard=std, version=ver)
        path = tmp_path / f"define_{std}.xml"
        path.write_bytes(xml)
        errors = list(define_schema.iter_errors(str(path)))  # type: ignore[attr-defined]
        assert errors == [], str(errors[0])[:2000]
        text = xml.decode()
        assert 'def:DefineVersion="2.1.0"' in text
        assert text.count("<ItemGroupDef ") == len(data.tables)
    # the schema is enforced: a dataset without its structure is refused
    broken = re.sub(r' def:Structure="[^"]*"', "", text, count=1)
    (tmp_path / "broken.xml").write_text(broken, encoding="utf-8")
    assert list(define_schema.iter_errors(str(tmp_path / "broken.xml")))  # type: ignore[attr-defined]


def test_files_of_the_wrong_kind_are_named(tmp_path: Path) -> None:
    (tmp_path / "define.xml").write_text('<?xml version="1.0"?><ODM xmlns:def="x"/>')
    (tmp_path / "dict.csv").write_text('"Variable / Field Name","Form Name"\nage,demo\n')
    (tmp_path / "ae.csv").write_bytes(b"HEADER RECORD*******LIBRARY HEADER RECORD!!!!!!!")
    assert "Define-XML" in (sniff(tmp_path / "define.xml") or "")
    assert "REDCap data dictionary" in (sniff(tmp_path / "dict.csv") or "")
    assert "SAS XPT" in (sniff(tmp_path / "ae.csv") or "")
    tables, problems = read_tables(tmp_path)
    assert tables == {}
    text = "\n".join(str(p) for p in problems)
    assert "ae.csv is a SAS XPT (transport) file; skipped" in text
    assert "no DM table" in text
    _, problems = read_tables(tmp_path / "dict.csv")
    assert "REDCap" in str(problems[0])


def test_read_dataset_points_an_sdtm_folder_to_cdisc_load(sdtm: Sdtm, tmp_path: Path) -> None:
    write_tables(sdtm, tmp_path, study=sdtm.study)
    problems = [str(p) for p in read_dataset(tmp_path).problems]
    assert any("celltrial cdisc load" in p and "dm.xpt" in p for p in problems)


def test_read_dataset_names_an_xpt_file_named_csv(sdtm: Sdtm, tmp_path: Path) -> None:
    write_tables(sdtm, tmp_path, study=sdtm.study)
    (tmp_path / "dm.xpt").rename(tmp_path / "dm.csv")
    problems = [str(p) for p in read_dataset(tmp_path).problems]
    assert any("dm.csv: it is a SAS XPT file, not CSV" in p for p in problems), problems
