"""Proposing trial records from bibliographic sources, for a person to confirm.

:func:`extract` reads each file (:mod:`.sources`), merges records of the same publication or
trial (same DOI, PMID, PMCID or registry id), and finds every numeric claim in the abstract and
figure legends: arm sizes, doses and schedules, counts and percentages with their n, p-values,
confidence intervals. Each item keeps the sentence it came from. Nothing is inferred beyond the
text: a proposal is not a record until a person confirms it.

Abstracts copied from web pages lose superscripts: ``5 × 10^5`` arrives as ``5 × 105`` and
``3 × 10^7`` as ``3 x 10(7)``. A "× 10" followed directly by digits is read as a power of ten.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from celltrial.evidence.sources import Bibliographic, read_source

_WORDS = {
    "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8,
    "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "thirteen": 13, "fourteen": 14,
    "fifteen": 15, "sixteen": 16, "seventeen": 17, "eighteen": 18, "nineteen": 19,
    "twenty": 20, "thirty": 30, "forty": 40, "fifty": 50,
}  # fmt: skip
_NUMBER_WORD = (
    r"(?:(?:twenty|thirty|forty|fifty)-(?:one|two|three|four|five|six|seven|eight|nine)|"
    + "|".join(sorted(_WORDS, key=len, reverse=True))
    + r")"
)
_NUM = rf"(?:\d+|{_NUMBER_WORD})"


def word_number(text: str) -> int | None:
    """``12``, ``twelve``, ``Twenty-four`` -> int; None when not a number."""
    t = text.strip().lower()
    if t.isdigit():
        return int(t)
    if "-" in t:
        tens, _, unit = t.partition("-")
        if tens in _WORDS and unit in _WORDS:
            return _WORDS[tens] + _WORDS[unit]
    return _WORDS.get(t)


def sentences(text: str) -> list[str]:
    """Split an abstract into sentences (keeps "P = .015", "vs." and "et al." intact)."""
    text = " ".join(text.split())
    parts = re.split(r"(?<=[.!?])\s+(?=[A-Z(])(?<!\bvs\.\s)(?<!\bal\.\s)", text)
    out: list[str] = []
    for part in parts:
        # "BACKGROUND: ..." section labels start a new sentence too
        out.extend(p.strip() for p in re.split(r"\s(?=[A-Z]{4,}: )", part) if p.strip())
    return out


@dataclasses.dataclass(frozen=True)
class Item:
    """One numeric item found in a sentence."""

    kind: str
    text: str
    values: dict[str, Any]
    sentence: str
    start: int = 0

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "text": self.text,
            "values": self.values,
            "sentence": self.sentence,
        }


_P = re.compile(
    r"\b[Pp](?:[- ]?value)?\s*(=|<|>|≤|≥|<=|>=)\s*(0?\.\d+(?:\s*[x×]\s*10\s*-\s*\d+)?|1(?:\.0+)?)"
)
_CI = re.compile(
    r"(\d{2})\s*%\s*(?:CI|confidence interval)\s*[:,]?\s*\(?\s*"
    r"([−–-]?\d+(?:\.\d+)?)\s*(%?)\s*(?:,|to|–)\s*([−–-]?\d+(?:\.\d+)?)\s*%?"
)
_PCT_OF = re.compile(r"(\d+(?:\.\d+)?)\s*%\s*\((\d+)\s*/\s*(\d+)\)")
_COUNT_PCT = re.compile(rf"\b({_NUM})\s+(?:[a-z]+\s+){{0,2}}\((\d+(?:\.\d+)?)\s*%\)", re.IGNORECASE)
_FRACTION = re.compile(r"(?<![\d./])(\d+)\s*/\s*(\d+)(?![\d/a-z])")
_VS = re.compile(
    rf"\b(\d+(?:\.\d+)?\s*%|{_NUM})\s+(?:[a-z]+\s+){{0,6}}?(?:vs\.?|versus|compared (?:with|to))\s+"
    rf"(?:[a-z]+\s+){{0,2}}?(\d+(?:\.\d+)?\s*%|{_NUM})",
    re.IGNORECASE,
)
_ARM_N = re.compile(
    r"((?:[\w-]+\s+){0,4}?)\(?\bn\s*=\s*(\d+)\)?(\s+for each group)?", re.IGNORECASE
)
_TOTAL_N = re.compile(
    rf"(?<![\w-])({_NUM})\s+(?:[\w-]+\s+){{0,3}}?(?:patients|subjects|participants)\b",
    re.IGNORECASE,
)
_DIFFERENCE = re.compile(r"\bdifference of\s+([−–-]?\d+(?:\.\d+)?)\s*(%?)", re.IGNORECASE)
_PERCENT = re.compile(r"(?<![\w.])(\d+(?:\.\d+)?)\s*%")
_RATIO = re.compile(r"randomi[sz]ed\s*\(?\s*(\d)\s*:\s*(\d)\s*\)?", re.IGNORECASE)
_POWER = re.compile(
    r"(\d+(?:\.\d+)?)\s*(?:±\s*(\d+(?:\.\d+)?)\s*)?[×x]\s*10\s*(?:\^|\(|\*\*)?\s*(\d{1,2})\s*\)?\s*"
    r"(cells?/kg|cells?\b|UC-MSCs?|MSCs?|cells per infusion)?",
    re.IGNORECASE,
)
_VOLUME = re.compile(r"(\d+(?:\.\d+)?)\s*mL\b(?:\s+(?:of\s+)?([a-z-]+))?", re.IGNORECASE)
_DAYS = re.compile(
    r"\b(?:on\s+|at\s+)?days?\s+(\d+(?:\s*,\s*\d+)*\s*,?\s*(?:and|&)\s*\d+)", re.IGNORECASE
)
_INTERVAL = re.compile(
    r"(?:dosing\s+)?interval\s+of\s+(\d+)\s*h|every\s+(\d+)\s*h(?:ours)?", re.IGNORECASE
)
_COUNT_ADMIN = re.compile(
    rf"\b({_NUM})\s+(?:cycles\s+of\s+)?(?:intravenous\s+)?(?:doses|infusions|injections|cycles)\b",
    re.IGNORECASE,
)
_FOR_DAYS = re.compile(rf"\bfor\s+({_NUM})\s+days\b", re.IGNORECASE)
_PHASE = re.compile(
    r"\bphase\s+(I{1,3}(?:\s*(?:/|&|and)\s*I{1,3})?|[1-4](?:\s*/\s*[1-4]a?)?a?)\b", re.IGNORECASE
)
_BLINDING = re.compile(
    r"\b(double|single|triple)[- ]blind(?:ed)?\b|\bopen[- ]label\b", re.IGNORECASE
)


def _rounds_to(events: int, n: int, percent: str) -> bool:
    digits = len(percent.split(".")[1]) if "." in percent else 0
    return abs(100 * events / n - float(percent)) <= 0.5 * 10.0**-digits + 1e-9


def _p_value(match: re.Match[str]) -> dict[str, Any]:
    raw = match.group(2).replace(" ", "")
    return {"relation": match.group(1), "value": raw, "reported": match.group(0)}


def items_in(sentence: str) -> list[Item]:
    """Every numeric item of one sentence."""
    found: list[Item] = []

    def add(kind: str, m: re.Match[str], values: dict[str, Any]) -> None:
        found.append(Item(kind, m.group(0).strip(), values, sentence, m.start()))

    for m in _P.finditer(sentence):
        add("p_value", m, _p_value(m))
    for m in _CI.finditer(sentence):
        ci_unit = "%" if m.group(3) else ""
        low, high = (float(x.replace("−", "-").replace("–", "-")) for x in (m.group(2), m.group(4)))
        add("ci", m, {"level": int(m.group(1)), "low": low, "high": high, "unit": ci_unit})
    for m in _PCT_OF.finditer(sentence):
        add("count", m, {"events": int(m.group(2)), "n": int(m.group(3)), "percent": m.group(1)})
    for m in _COUNT_PCT.finditer(sentence):
        count = word_number(m.group(1))
        if count is not None:
            candidates = [n for n in range(max(count, 1), 1001) if _rounds_to(count, n, m.group(2))]
            add(
                "count", m, {"events": count, "percent": m.group(2), "n_candidates": candidates[:5]}
            )
    for m in _FRACTION.finditer(sentence):
        if sentence[max(0, m.start() - 7) : m.start()].lower().strip().endswith("phase"):
            continue
        if not any(
            i.kind == "count" and m.group(0).replace(" ", "") in i.text.replace(" ", "")
            for i in found
        ):
            events, n = int(m.group(1)), int(m.group(2))
            if n > 0 and events <= n:
                add("count", m, {"events": events, "n": n})
    for m in _VS.finditer(sentence):
        a, b = m.group(1), m.group(2)
        if a.strip().endswith("%") and b.strip().endswith("%"):
            add("comparison", m, {"percent": [a.rstrip("% "), b.rstrip("% ")]})
        else:
            x, y = word_number(a), word_number(b)
            if x is not None and y is not None:
                add("comparison", m, {"counts": [x, y]})
    for m in _DIFFERENCE.finditer(sentence):
        value = float(m.group(1).replace("−", "-").replace("–", "-"))
        add("estimate", m, {"difference": value, "unit": m.group(2)})
    for m in _PERCENT.finditer(sentence):
        inside = any(m.group(0).replace(" ", "") in i.text.replace(" ", "") for i in found)
        if not inside and not sentence[m.end() : m.end() + 4].lstrip().startswith("CI"):
            add("percent", m, {"percent": m.group(1)})
    for m in _ARM_N.finditer(sentence):
        label = " ".join(
            w for w in m.group(1).split() if w.lower() not in {"or", "and", "the", "to", "either"}
        )
        add(
            "arm_size",
            m,
            {
                "n": int(m.group(2)),
                "label": label.strip(" (,") or None,
                "each_group": bool(m.group(3)),
            },
        )
    for m in _TOTAL_N.finditer(sentence):
        total = word_number(m.group(1))
        if (
            total is not None
            and total >= 4
            and not re.search(r"\(\s*\d+(?:\.\d+)?\s*%", sentence[m.end() : m.end() + 8])
        ):
            add("total_n", m, {"n": total})
    for m in _RATIO.finditer(sentence):
        add("ratio", m, {"ratio": f"{m.group(1)}:{m.group(2)}"})
    for m in _POWER.finditer(sentence):
        mantissa, exponent = float(m.group(1)), int(m.group(3))
        written = (m.group(4) or "").lower()
        unit = "cells/kg" if written.endswith("/kg") else ("cells" if written else None)
        values: dict[str, Any] = {"amount": mantissa * 10.0**exponent, "unit": unit}
        if m.group(2):
            values["tolerance"] = float(m.group(2)) * 10.0**exponent
        add("dose", m, values)
    for m in _VOLUME.finditer(sentence):
        add("dose", m, {"amount": float(m.group(1)), "unit": "mL", "of": m.group(2)})
    for m in _DAYS.finditer(sentence):
        days = [int(d) for d in re.findall(r"\d+", m.group(1))]
        add("schedule", m, {"days": days})
    for m in _INTERVAL.finditer(sentence):
        add("schedule", m, {"every_hours": int(m.group(1) or m.group(2))})
    for m in _COUNT_ADMIN.finditer(sentence):
        count = word_number(m.group(1))
        if count is not None:
            add("schedule", m, {"count": count})
    for m in _FOR_DAYS.finditer(sentence):
        span = word_number(m.group(1))
        if span is not None:
            add("schedule", m, {"for_days": span})
    return found


@dataclasses.dataclass
class Proposal:
    """A proposed trial record: identifiers, bibliographic data, design hints and every
    numeric item with its sentence, merged from one or more sources."""

    sources: list[str]
    formats: list[str]
    title: str | None
    authors: list[str]
    year: int | None
    journal: str | None
    pmid: str | None
    pmcid: str | None
    doi: str | None
    registry: list[str]
    design: dict[str, Any]
    items: list[Item]

    def keys(self) -> set[str]:
        out = {f"registry:{r.upper()}" for r in self.registry}
        if self.doi:
            out.add(f"doi:{self.doi.lower()}")
        if self.pmid:
            out.add(f"pmid:{self.pmid}")
        if self.pmcid:
            out.add(f"pmcid:{self.pmcid.upper()}")
        return out

    def of_kind(self, kind: str) -> list[Item]:
        return [i for i in self.items if i.kind == kind]

    def to_dict(self) -> dict[str, Any]:
        grouped: dict[str, list[dict[str, Any]]] = {}
        for item in self.items:
            grouped.setdefault(item.kind, []).append(
                {k: v for k, v in item.to_dict().items() if k != "kind"}
            )
        return {
            "status": "proposed: confirm every value against the source before use",
            "identifiers": {
                "pmid": self.pmid,
                "pmcid": self.pmcid,
                "doi": self.doi,
                "registry": self.registry,
            },
            "title": self.title,
            "authors": self.authors,
            "year": self.year,
            "journal": self.journal,
            "design": self.design,
            "sources": self.sources,
            "found": grouped,
        }


_FUTURE = re.compile(r"\b(?:are|is) needed\b|\bfuture\b|\bwarrant", re.IGNORECASE)


def _design(text: str) -> dict[str, Any]:
    # Sentences about trials still to be done ("randomized, double-blinded trials are needed")
    # say nothing about this one.
    text = " ".join(s for s in sentences(text) if not _FUTURE.search(s))
    design: dict[str, Any] = {}
    m = _PHASE.search(text)
    if m:
        design["phase"] = " ".join(m.group(1).split())
    lowered = text.lower()
    if re.search(r"non-?randomi[sz]ed", lowered):
        design["randomized"] = False
    elif re.search(r"\brandomi[sz]ed\b", lowered):
        design["randomized"] = True
    m = _BLINDING.search(text)
    if m:
        design["blinding"] = (m.group(1) or "open").lower()
    if "placebo" in lowered:
        design["control"] = "placebo"
    m = _RATIO.search(text)
    if m:
        design["ratio"] = f"{m.group(1)}:{m.group(2)}"
    return design


def propose(bib: Bibliographic) -> Proposal:
    """A proposal from one bibliographic record."""
    text = f"{bib.title or ''}. {bib.abstract} {bib.legends}"
    items: list[Item] = []
    seen: set[tuple[str, str, str, int]] = set()
    for sentence in sentences(f"{bib.abstract} {bib.legends}"):
        for item in items_in(sentence):
            key = (item.kind, item.text, item.sentence, item.start)
            if key not in seen:
                seen.add(key)
                items.append(item)
    return Proposal(
        sources=[bib.source],
        formats=[bib.format],
        title=bib.title,
        authors=list(bib.authors),
        year=bib.year,
        journal=bib.journal,
        pmid=bib.pmid,
        pmcid=bib.pmcid,
        doi=bib.doi,
        registry=list(bib.registry),
        design=_design(text),
        items=items,
    )


def merge(proposals: Iterable[Proposal]) -> list[Proposal]:
    """Merge proposals that share a DOI, PMID, PMCID or registry id (transitively)."""
    groups: list[Proposal] = []
    for p in proposals:
        matches = [g for g in groups if g.keys() & p.keys()]
        merged = p
        for g in matches:
            groups.remove(g)
            merged = _combine(g, merged)
        groups.append(merged)
    return groups


def _combine(a: Proposal, b: Proposal) -> Proposal:
    seen = {(i.kind, i.text, i.sentence, i.start) for i in a.items}
    return Proposal(
        sources=a.sources + [s for s in b.sources if s not in a.sources],
        formats=a.formats + [f for f in b.formats if f not in a.formats],
        title=a.title or b.title,
        authors=a.authors if len(a.authors) >= len(b.authors) else b.authors,
        year=a.year or b.year,
        journal=a.journal or b.journal,
        pmid=a.pmid or b.pmid,
        pmcid=a.pmcid or b.pmcid,
        doi=a.doi or b.doi,
        registry=a.registry + [r for r in b.registry if r not in a.registry],
        design={**b.design, **a.design},
        items=a.items + [i for i in b.items if (i.kind, i.text, i.sentence, i.start) not in seen],
    )


def extract(paths: Iterable[str | Path]) -> list[Proposal]:
    """Read every file, propose one record per publication, merge duplicates.

    Raises ``ValueError`` listing each file that could not be read, naming it.
    """
    proposals: list[Proposal] = []
    problems: list[str] = []
    for path in paths:
        try:
            proposals.extend(propose(bib) for bib in read_source(path))
        except ValueError as exc:
            problems.append(str(exc))
    if problems:
        raise ValueError("\n".join(problems))
    return merge(proposals)
