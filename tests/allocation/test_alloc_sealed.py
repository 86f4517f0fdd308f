"""Sealed lists: canonical form, commitment, one-byte changes, reproducibility, exhaustion."""

from __future__ import annotations

import hashlib
import json
import stat
from pathlib import Path

import numpy as np
import pytest

from celltrial.allocation import (
    AllocationError,
    SealedList,
    generate_list,
    parse_list,
    read_or_create_key,
    scheme_from_protocol,
    site_names,
    verify,
)
from celltrial.protocol import load_protocol

KEY = bytes(range(32))


def _lanzoni(per_stratum: int = 10, key: bytes = KEY, sites: int = 3) -> SealedList:
    p = load_protocol("lanzoni2021")
    scheme = scheme_from_protocol(p, block_sizes=[2, 4])
    return generate_list(
        scheme,
        key=key,
        protocol=p.id,
        protocol_version=p.version,
        sites=site_names(sites),
        per_stratum=per_stratum,
    )


def test_list_layout_and_balance() -> None:
    sealed = _lanzoni(40)
    cells = {(r.site, r.stratum) for r in sealed.rows}
    assert len(cells) == 6  # 3 sites x 2 ARDS strata
    assert [r.sequence for r in sealed.rows] == list(range(1, len(sealed.rows) + 1))
    for site, stratum in cells:
        arms = [r.arm for r in sealed.rows if (r.site, r.stratum) == (site, stratum)]
        assert 40 <= len(arms) <= 43  # whole blocks of 2 or 4
        assert arms.count("ucmsc") == arms.count("control")  # the list ends at a block end
    assert len({r.kit_code for r in sealed.rows}) == len(sealed.rows)
    assert sealed.header["block_sizes"] == "2,4"


def test_commitment_is_sha256_of_the_canonical_bytes_and_parse_round_trips() -> None:
    sealed = _lanzoni()
    data = sealed.canonical()
    assert sealed.commitment() == hashlib.sha256(data).hexdigest()
    assert data.endswith(b"\n") and b"\r" not in data
    assert data.decode().splitlines()[12] == "sequence,site,stratum,arm,kit_code"
    assert parse_list(data) == sealed
    assert json.loads(json.dumps(sealed.to_dict()))["rows"][0]["sequence"] == 1
    assert verify(data, sealed.commitment()).ok
    assert verify(data, sealed.commitment().upper()).ok


def test_same_key_same_list_other_key_other_list() -> None:
    assert _lanzoni().canonical() == _lanzoni().canonical()
    other = _lanzoni(key=bytes(31) + b"\x01")
    assert other.commitment() != _lanzoni().commitment()
    assert other.header["salt"] != _lanzoni().header["salt"]


def test_every_one_byte_change_is_detected() -> None:
    sealed = _lanzoni(per_stratum=2, sites=1)
    data = sealed.canonical()
    commitment = sealed.commitment()
    for i in range(len(data)):  # every position, two different replacements
        for delta in (1, 0x20):
            bad = bytearray(data)
            bad[i] = (bad[i] + delta) % 256
            result = verify(bytes(bad), commitment)
            assert not result.ok, i
            assert "does not match the commitment" in result.message


def test_message_says_whether_a_changed_file_is_still_canonical() -> None:
    sealed = _lanzoni()
    data = sealed.canonical()
    text = data.decode()
    row = text.splitlines()[13]
    arm = row.split(",")[3]
    swapped = row.replace(f",{arm},", ",control," if arm == "ucmsc" else ",ucmsc,")
    changed = verify(text.replace(row, swapped).encode(), sealed.commitment())
    assert not changed.ok and changed.canonical
    assert "a value was changed" in changed.message
    crlf = verify(data.replace(b"\n", b"\r\n"), sealed.commitment())
    assert not crlf.ok and not crlf.canonical and "carriage return" in crlf.message
    with pytest.raises(AllocationError, match="--commitment: expected 64 hexadecimal digits"):
        verify(data, "abc")


def test_parse_list_names_the_line() -> None:
    text = _lanzoni().canonical().decode().splitlines(keepends=True)
    text[15] = text[15].replace(text[15].split(",")[0], "99", 1)
    with pytest.raises(AllocationError, match=r"line 16: sequence '99', expected 3"):
        parse_list("".join(text).encode())


def test_next_row_and_exhausted_list() -> None:
    sealed = _lanzoni(per_stratum=2, sites=1)
    stratum = "ards_severity=mild_moderate"
    cell = [r for r in sealed.rows if r.stratum == stratum]
    used: set[int] = set()
    for expected in cell:
        row = sealed.next_row("site1", stratum, used=used)
        assert row == expected
        used.add(row.sequence)
    with pytest.raises(
        AllocationError,
        match=r"list exhausted for site 'site1', stratum 'ards_severity=mild_moderate': all \d+ rows are used",
    ):
        sealed.next_row("site1", stratum, used=used)
    with pytest.raises(AllocationError, match="no rows for site 'site9'"):
        sealed.next_row("site9", stratum, used=set())


def test_blinded_list_and_key_are_separate() -> None:
    sealed = _lanzoni()
    blinded = sealed.blinded_csv()
    assert blinded.splitlines()[0] == "sequence,site,stratum,kit_code"
    assert "ucmsc" not in blinded and "control" not in blinded
    key = sealed.key()
    assert len(key) == len(sealed.rows)
    assert "ucmsc" not in repr(key)
    assert all(key.arms[r.kit_code] == r.arm for r in sealed.rows)
    listed = [line.split(",")[0] for line in key.to_csv().splitlines()[1:]]
    assert listed == sorted(listed)  # the key's order reveals nothing about the sequence


def test_minimization_cannot_be_listed() -> None:
    p = load_protocol("lanzoni2021")
    scheme = scheme_from_protocol(p, method="minimization")
    with pytest.raises(AllocationError, match="minimization cannot be pre-listed"):
        generate_list(
            scheme,
            key=KEY,
            protocol=p.id,
            protocol_version=p.version,
            sites=["site1"],
            per_stratum=4,
        )


def test_seed_file_created_private_then_reused(tmp_path: Path) -> None:
    path = tmp_path / "secret.key"
    key, created = read_or_create_key(path)
    assert created and len(key) == 32
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    again, created_again = read_or_create_key(path)
    assert again == key and not created_again
    short = tmp_path / "short.key"
    short.write_bytes(b"abc")
    with pytest.raises(AllocationError, match="holds 3 bytes"):
        read_or_create_key(short)


def test_simple_scheme_list_has_exactly_per_stratum_rows() -> None:
    p = load_protocol("fathikazerooni2022")
    scheme = scheme_from_protocol(p, method="simple")
    sealed = generate_list(
        scheme,
        key=KEY,
        protocol=p.id,
        protocol_version=p.version,
        sites=site_names(2),
        per_stratum=15,
    )
    assert len(sealed.rows) == 30
    assert {r.stratum for r in sealed.rows} == {"all"}
    assert np.isin([r.arm for r in sealed.rows], [a.id for a in p.arms]).all()
