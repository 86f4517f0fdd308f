"""docs/seeds.md lists, per seed, every analysis its paper reports and where the closed report
holds it. Here (no report needed): every listed endpoint is in its protocol, every row either
names where it is or says why it is not in the report. The rendered reports are checked
against the same rows in test_seed_demos.py and test_through_edc.py."""

from __future__ import annotations

import pytest
from seed_checklist import SEEDS_MD, checklist

from celltrial.protocol import load_protocol

SEEDS = ["rebelatto2022", "lanzoni2021", "fathikazerooni2022", "shi2021", "meng2020"]


@pytest.mark.parametrize("pid", SEEDS)
def test_every_row_names_its_place_or_says_why_not(pid: str) -> None:
    protocol = load_protocol(pid)
    rows = checklist(pid)
    assert len(rows) >= 10, pid
    text = SEEDS_MD.read_text(encoding="utf-8")
    listed = set()
    for number, tokens in rows:
        if not tokens:
            line = next(
                x
                for x in text.split(f"\n## {pid}\n", 1)[1].splitlines()
                if x.startswith(f"| {number} |")
            )
            assert "**not in the report**" in line, (pid, number)
        for kind, value in tokens:
            if kind == "endpoint":
                protocol.endpoint(value)  # KeyError names the endpoint
                listed.add(value)
    # every endpoint of the protocol answers some row of its paper
    assert {e.id for e in protocol.endpoints} <= listed, pid
