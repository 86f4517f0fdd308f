"""Regenerate the power table of the seed protocols in docs/simulate.md.

    PYTHONPATH=src python scripts/seed_power_table.py           # rewrite docs/simulate.md
    PYTHONPATH=src python scripts/seed_power_table.py --check   # exit 1 if its rows are stale

Each seed protocol at its planned size under its own scenario, exactly as
``celltrial design power --protocol X --scenario X --trials 20000`` (seed 1) computes it: the
same generator (``default_rng(1)`` spawned once per sample size), the same tests
(:func:`celltrial.simulate.power.plan`). The table sits between the ``<!-- seed-power:begin
-->`` and ``<!-- seed-power:end -->`` markers. ``--check`` compares only which rows the table
has (protocol, endpoint, test: what :func:`plan` gives, no simulation), so that
``tests/simulate/test_power.py`` can run it cheaply; the numbers change only with the
simulator or a scenario, and are rewritten by running this script (about 20 s).
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

import numpy as np

from celltrial.protocol import load_protocol
from celltrial.simulate import load_scenario
from celltrial.simulate.power import TESTS, plan, power

DOC = Path(__file__).resolve().parents[1] / "docs" / "simulate.md"
BEGIN, END = "<!-- seed-power:begin -->", "<!-- seed-power:end -->"
SEEDS = ["shi2021", "lanzoni2021", "meng2020", "fathikazerooni2022", "rebelatto2022"]
TRIALS = 20_000
SEED = 1
_ROW = re.compile(r"^\| (\w+) \(\d+\) \| (\w+)(?: \(primary\))? \| ([^|]+?) \|", re.M)


def planned_rows() -> list[tuple[str, str, str]]:
    """(protocol, endpoint, test label) of every row the table must have, in order."""
    out = []
    for pid in SEEDS:
        for e, test in plan(load_protocol(pid))[0]:
            out.append((pid, e.id, TESTS[test]))
    return out


def table_rows(text: str) -> list[tuple[str, str, str]]:
    """(protocol, endpoint, test label) of the rows of the table in ``text``."""
    part = text.split(BEGIN, 1)[1].split(END, 1)[0]
    return [(m[0], m[1], m[2]) for m in _ROW.findall(part)]


def table() -> str:
    lines = [
        "| protocol (n) | endpoint | test | power | type I |",
        "|---|---|---|---|---|",
    ]
    none = []
    for pid in SEEDS:
        p = load_protocol(pid)
        n = p.population.planned_n
        assert n is not None, pid
        (child,) = np.random.default_rng(SEED).spawn(1)
        results = power(p, load_scenario(pid, p), n=n, trials=TRIALS, rng=child)
        if not results:
            none.append(pid)
        for r in results:
            primary = " (primary)" if r.primary else ""
            t1 = "NA" if r.type1 is None else f"{r.type1.power:.3f}"
            lines.append(
                f"| {pid} ({n}) | {r.endpoint}{primary} | {TESTS.get(r.test, r.test)} | "
                f"{r.power.power:.3f} ± {r.power.se:.3f} | {t1} |"
            )
    text = "\n".join(lines) + "\n"
    if none:
        text += (
            f"\n{', '.join(none)}: no endpoint with a between-arm test to simulate "
            "(`celltrial design power` lists each endpoint it leaves out, and why).\n"
        )
    return text


def render(text: str, body: str) -> str:
    head, rest = text.split(BEGIN, 1)
    _, tail = rest.split(END, 1)
    return f"{head}{BEGIN}\n{body}{END}{tail}"


def main(argv: list[str]) -> int:
    text = DOC.read_text(encoding="utf-8")
    if "--check" in argv:
        if table_rows(text) != planned_rows():
            print(f"{DOC}: the seed power table is stale: run {__file__}", file=sys.stderr)
            return 1
        return 0
    DOC.write_text(render(text, table()), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
