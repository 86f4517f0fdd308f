"""Recall and precision of :func:`celltrial.evidence.extract.extract` against gold labels.

A corpus is a folder of source files (``<id>.txt``, ``.html``, ``.nbib``, ``.ris``), each
with a gold file ``<id>.gold.yaml`` beside it that lists, per field type, what a reviewer
reads in the source::

    arm_size: [40, 20]                      # the n of each arm (a set: 12 vs 12 is [12])
    dose: [5e7 cells, 1e6-2e6 cells/kg, 15 mL]
    schedule: ["days:0,3,6", "count:3", "every_hours:48", "for:5 days", "weeks:0,2"]
    count: [28/40, 7/20]                    # events/n, stated or derivable from the text
    p_value: ["=0.002", "<0.001"]
    estimate: [MD -12.4 -20.1 -4.7, HR 0.41 0.14 1.18]   # measure, value, CI low, CI high

Measures are HR, OR, RR, RD (risk difference, percentage points), MD (mean difference), SMD
and ``difference`` (any other difference, e.g. of medians or of percentages of a measurement).
Each field is compared as a set per document; recall = found and true / gold, precision =
found and true / found. Counts whose denominator could not be determined are not "found".
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import yaml

from celltrial.evidence.extract import Proposal, extract

FIELDS = ("arm_size", "dose", "schedule", "count", "p_value", "estimate")
SOURCE_SUFFIXES = (".txt", ".html", ".htm", ".nbib", ".ris")


def _num(x: float) -> str:
    return f"{x:.4g}"


def dose_key(amount: float, unit: str, high: float | None = None) -> str:
    return f"{_num(amount)}{'-' + _num(high) if high is not None else ''} {unit}"


def item_keys(proposals: Iterable[Proposal]) -> dict[str, set[str]]:
    """The scored fields of what extraction found, as comparable strings."""
    keys: dict[str, set[str]] = {f: set() for f in FIELDS}
    for p in proposals:
        for item in p.items:
            v = item.values
            if item.kind == "arm_size":
                keys["arm_size"].add(str(v["n"]))
            elif item.kind == "dose":
                keys["dose"].add(dose_key(float(v["amount"]), str(v["unit"]), v.get("high")))
            elif item.kind == "schedule":
                keys["schedule"].add(schedule_key(v))
            elif item.kind == "count" and v.get("n") is not None:
                keys["count"].add(f"{v['events']}/{v['n']}")
            elif item.kind == "p_value":
                keys["p_value"].add(f"{v['relation']}{_num(float(v['value']))}")
            elif item.kind == "estimate" and "low" in v:
                keys["estimate"].add(
                    f"{v['measure']} {_num(v['value'])} {_num(v['low'])} {_num(v['high'])}"
                )
    return keys


def schedule_key(v: dict[str, Any]) -> str:
    if "days" in v:
        return "days:" + ",".join(str(d) for d in v["days"])
    if "weeks" in v:
        return "weeks:" + ",".join(str(d) for d in v["weeks"])
    if "count" in v:
        return f"count:{v['count']}"
    if "every_hours" in v:
        return f"every_hours:{v['every_hours']}"
    if "for" in v:
        unit = str(v["unit"]).rstrip("s") if v["for"] == 1 else v["unit"]
        return f"for:{v['for']} {unit}"
    if "for_days" in v:
        return f"for:{v['for_days']} days"
    return repr(sorted(v.items()))


def gold_keys(path: Path) -> dict[str, set[str]]:
    """The gold labels of one document, in the form of :func:`item_keys`."""
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    keys: dict[str, set[str]] = {f: set() for f in FIELDS}
    for value in data.get("arm_size") or []:
        keys["arm_size"].add(str(int(value)))
    for value in data.get("dose") or []:
        m = re.fullmatch(r"([\d.e+]+)(?:-([\d.e+]+))?\s+(.+)", str(value).strip())
        if not m:
            raise ValueError(f"{path}: dose {value!r} is not 'AMOUNT[-HIGH] UNIT'")
        high = float(m.group(2)) if m.group(2) else None
        keys["dose"].add(dose_key(float(m.group(1)), m.group(3), high))
    for value in data.get("schedule") or []:
        keys["schedule"].add(str(value).strip())
    for value in data.get("count") or []:
        k, n = str(value).split("/")
        keys["count"].add(f"{int(k)}/{int(n)}")
    for value in data.get("p_value") or []:
        m = re.fullmatch(r"([<>=≤≥]+)\s*([\d.e-]+)", str(value).strip())
        if not m:
            raise ValueError(f"{path}: p_value {value!r} is not 'RELATION VALUE'")
        keys["p_value"].add(f"{m.group(1)}{_num(float(m.group(2)))}")
    for value in data.get("estimate") or []:
        measure, *numbers = str(value).split()
        keys["estimate"].add(f"{measure} " + " ".join(_num(float(x)) for x in numbers))
    return keys


@dataclasses.dataclass
class Tally:
    """True positives, gold items and found items of one field type."""

    true: int = 0
    gold: int = 0
    found: int = 0

    @property
    def recall(self) -> float:
        return self.true / self.gold if self.gold else 1.0

    @property
    def precision(self) -> float:
        return self.true / self.found if self.found else 1.0


@dataclasses.dataclass
class Scores:
    """Per-field tallies over a corpus, with what was missed and what was wrongly found."""

    documents: int
    tallies: dict[str, Tally]
    missed: list[tuple[str, str, str]]  # (document, field, gold key)
    spurious: list[tuple[str, str, str]]  # (document, field, found key)
    problems: list[str]


def corpus_documents(folder: Path) -> list[tuple[Path, Path]]:
    """(source, gold) pairs of a corpus folder, sorted by name."""
    pairs = []
    for gold in sorted(folder.glob("*.gold.yaml")):
        stem = gold.name.removesuffix(".gold.yaml")
        sources = [
            folder / f"{stem}{s}" for s in SOURCE_SUFFIXES if (folder / f"{stem}{s}").exists()
        ]
        if not sources:
            raise ValueError(f"{gold}: no source file {stem}.txt/.html/.nbib/.ris beside it")
        pairs.append((sources[0], gold))
    return pairs


def score(folder: Path) -> Scores:
    """Score extraction on every document of ``folder``."""
    tallies = {f: Tally() for f in FIELDS}
    missed: list[tuple[str, str, str]] = []
    spurious: list[tuple[str, str, str]] = []
    problems: list[str] = []
    pairs = corpus_documents(folder)
    for source, gold_path in pairs:
        found = item_keys(extract([source], problems))
        gold = gold_keys(gold_path)
        for field in FIELDS:
            t = tallies[field]
            t.true += len(found[field] & gold[field])
            t.gold += len(gold[field])
            t.found += len(found[field])
            missed.extend((source.name, field, k) for k in sorted(gold[field] - found[field]))
            spurious.extend((source.name, field, k) for k in sorted(found[field] - gold[field]))
    return Scores(len(pairs), tallies, missed, spurious, problems)


def markdown_table(scored: dict[str, Scores]) -> str:
    """One row per field type, recall and precision per corpus (``true/total`` and %)."""
    names = list(scored)
    head = "| field | " + " | ".join(f"{n} recall | {n} precision" for n in names) + " |"
    rule = "|---|" + "---|---|" * len(names)
    lines = [head, rule]
    for field in (*FIELDS, "all"):
        cells = []
        for name in names:
            tallies = scored[name].tallies
            if field == "all":
                t = Tally(
                    sum(x.true for x in tallies.values()),
                    sum(x.gold for x in tallies.values()),
                    sum(x.found for x in tallies.values()),
                )
            else:
                t = tallies[field]
            cells.append(f"{t.true}/{t.gold} = {100 * t.recall:.1f}%")
            cells.append(f"{t.true}/{t.found} = {100 * t.precision:.1f}%")
        label = "**all fields**" if field == "all" else field
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    docs = ", ".join(f"{n}: {scored[n].documents} documents" for n in names)
    lines.append("")
    lines.append(f"({docs}.)")
    return "\n".join(lines)


# ------------------------------------------------------------------------------------------
# first looks: each held-out set's tallies the first time it was scored, pooled
# ------------------------------------------------------------------------------------------


def tallies_record(scores: Scores) -> dict[str, list[int]]:
    """``{field: [true, gold, found]}``: what a first look records of a held-out set."""
    return {f: [t.true, t.gold, t.found] for f, t in scores.tallies.items()}


def first_look_table(entries: list[dict[str, Any]]) -> str:
    """One column per recorded first look (recall / precision in %), then every first look
    pooled (``true/gold`` and ``true/found``): the estimate for wording no rule was fitted to.

    ``entries``: ``[{"name": ..., "documents": ..., "tallies": {field: [true, gold, found]}}]``
    in the order they were recorded.
    """

    def cell(tally: list[int], pooled: bool) -> str:
        true, gold, found = tally
        r = 100 * true / gold if gold else 100.0
        p = 100 * true / found if found else 100.0
        if pooled:
            return f"{true}/{gold} = {r:.1f}% / {true}/{found} = {p:.1f}%"
        return f"{r:.1f} / {p:.1f}"

    names = [str(e["name"]) for e in entries]
    pooled_name = f"pooled ({sum(int(e['documents']) for e in entries)} documents)"
    lines = [
        "| field | " + " | ".join(names) + f" | {pooled_name} |",
        "|---|" + "---|" * (len(names) + 1),
    ]
    for field in (*FIELDS, "all"):
        cells = []
        total = [0, 0, 0]
        for e in entries:
            t = e["tallies"]
            row = [sum(t[f][k] for f in FIELDS) for k in range(3)] if field == "all" else t[field]
            cells.append(cell(row, pooled=False))
            total = [a + b for a, b in zip(total, row, strict=True)]
        cells.append(cell(total, pooled=True))
        label = "**all fields**" if field == "all" else field
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    return "\n".join(lines)
