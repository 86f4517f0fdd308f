"""The audit chain's anchor file (issue 16, item 6): two slots written in place, only forward.

Every test here is file work only (no database): the anchor's format, what a damaged slot
leaves, and the files written before the slots existed.
"""

from __future__ import annotations

import json
import os
import stat
import threading
from pathlib import Path
from typing import Any

import pytest

from celltrial.edc import audit


@pytest.fixture
def anchor(settings: Any, tmp_path: Path) -> Path:
    path = tmp_path / "audit-head.json"
    settings.AUDIT_ANCHOR = str(path)
    return path


def _signed(found: dict[str, Any] | None) -> bool:
    return found is not None and found["mac"] == audit._anchor_mac(found["seq"], found["hash"])


def test_anchor_moves_only_forward_in_two_slots(anchor: Path) -> None:
    audit.write_anchor(1, "a" * 64)
    assert stat.S_IMODE(anchor.stat().st_mode) == 0o600
    assert anchor.stat().st_size == 2 * audit.ANCHOR_SLOT
    audit.write_anchor(2, "b" * 64)
    audit.write_anchor(1, "c" * 64)  # a slower writer never moves it back
    found = audit.read_anchor()
    assert found is not None and (found["seq"], found["hash"]) == (2, "b" * 64)
    assert _signed(found)
    # Both slots are JSON texts (the older anchor and the newest), one per line.
    lines = [json.loads(line) for line in anchor.read_text().splitlines()]
    assert sorted(x["seq"] for x in lines) == [1, 2]


def test_a_damaged_slot_leaves_the_other(anchor: Path) -> None:
    """A write cut short (a power loss half-way through the slot) spoils only the slot being
    written: the newest whole anchor is read, still signed."""
    for seq in (1, 2, 3):
        audit.write_anchor(seq, f"{seq}" * 64)
    raw = bytearray(anchor.read_bytes())
    newest = 0 if json.loads(raw[: audit.ANCHOR_SLOT])["seq"] == 3 else 1
    raw[newest * audit.ANCHOR_SLOT + 10 : newest * audit.ANCHOR_SLOT + 40] = b"\x00" * 30
    anchor.write_bytes(bytes(raw))
    found = audit.read_anchor()
    assert found is not None and found["seq"] == 2 and _signed(found)
    audit.write_anchor(4, "4" * 64)  # written over the damaged slot
    found = audit.read_anchor()
    assert found is not None and found["seq"] == 4 and _signed(found)


def test_an_anchor_of_one_json_line_is_read_and_moved_forward(anchor: Path) -> None:
    """The file as written before the slots (one JSON text, renamed into place)."""
    mac = audit._anchor_mac(7, "e" * 64)
    anchor.write_text(json.dumps({"seq": 7, "hash": "e" * 64, "at": "", "mac": mac}) + "\n")
    found = audit.read_anchor()
    assert found is not None and found["seq"] == 7 and _signed(found)
    audit.write_anchor(8, "f" * 64)
    assert anchor.stat().st_size == 2 * audit.ANCHOR_SLOT
    found = audit.read_anchor()
    assert found is not None and found["seq"] == 8 and _signed(found)


def test_an_emptied_or_garbled_anchor_is_unreadable(anchor: Path) -> None:
    audit.write_anchor(1, "a" * 64)
    anchor.write_text("")
    assert audit.read_anchor() == {"seq": -1, "hash": "", "mac": "unreadable"}
    anchor.write_text("not json at all\n")
    assert audit.read_anchor() == {"seq": -1, "hash": "", "mac": "unreadable"}


def test_a_deleted_anchor_file_is_created_again(anchor: Path) -> None:
    """The process keeps the file open; a file deleted (or replaced) under it is noticed."""
    audit.write_anchor(1, "a" * 64)
    anchor.unlink()
    audit.write_anchor(2, "b" * 64)
    found = audit.read_anchor()
    assert found is not None and found["seq"] == 2
    assert not [p for p in os.listdir(anchor.parent) if p.endswith(".tmp")]


def test_threads_writing_at_once_leave_the_highest(anchor: Path) -> None:
    def write(k: int) -> None:
        for i in range(200):
            audit.write_anchor(k * 1000 + i, "c" * 64)

    threads = [threading.Thread(target=write, args=(k,)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    found = audit.read_anchor()
    assert found is not None and found["seq"] == 3199 and _signed(found)
