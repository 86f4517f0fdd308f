"""Proposing trial records from bibliographic sources, for a person to confirm.

:func:`extract` reads each file (:mod:`.sources`), merges records of the same publication or
trial (same DOI, PMID, PMCID or registry id), and finds every numeric item in the abstract,
figure legends and tables: arm sizes, doses and schedules, event counts with their
denominators, p-values, estimates with confidence intervals. Each item keeps the sentence (or
table row) it came from. A proposal is not a record until a person confirms it.

What the text states is read as stated; what is *derived* says so in its values
(``derived``): a denominator found from a percentage ("in eleven (91.7%)" is 11 of 12, the
only n giving 91.7 %), a count from a percentage and a known arm size ("mortality 8.3 %" with
n = 12 is 1 of 12), counts of "two vs eight" given to the arms in the order they were
introduced, arm sizes from a total and a 1:1 ratio.

Abstracts copied from web pages lose superscripts: ``5 × 10^5`` arrives as ``5 × 105``,
``3 × 10^7`` as ``3 x 10(7)`` or ``3 × 10⁷``. A "× 10" followed directly by one or two digits
is read as a power of ten.
"""

from __future__ import annotations

import dataclasses
import itertools
import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from celltrial.evidence.sources import Bibliographic, read_source
from celltrial.evidence.tables import Table

_WORDS = {
    "none": 0,
    "zero": 0,
    "one": 1,
    "two": 2,
    "three": 3,
    "four": 4,
    "five": 5,
    "six": 6,
    "seven": 7,
    "eight": 8,
    "nine": 9,
    "ten": 10,
    "eleven": 11,
    "twelve": 12,
    "thirteen": 13,
    "fourteen": 14,
    "fifteen": 15,
    "sixteen": 16,
    "seventeen": 17,
    "eighteen": 18,
    "nineteen": 19,
    "twenty": 20,
    "thirty": 30,
    "forty": 40,
    "fifty": 50,
    "sixty": 60,
    "seventy": 70,
    "eighty": 80,
    "ninety": 90,
}
_TENS = "twenty|thirty|forty|fifty|sixty|seventy|eighty|ninety"
_UNITS = "one|two|three|four|five|six|seven|eight|nine"
_BELOW_100 = (
    rf"(?:(?:{_TENS})[- ](?:{_UNITS})\b|"
    + "|".join(
        rf"{w}\b" for w in sorted((w for w in _WORDS if _WORDS[w] > 0), key=len, reverse=True)
    )
    + r")"
)
# "one hundred and eleven", "two hundred", "a hundred": hundreds in words
_NUMBER_WORD = rf"(?:(?:a|{_UNITS})\s+hundred(?:\s+(?:and\s+)?{_BELOW_100})?\b|{_BELOW_100})"
_NUM = rf"(?:\d+|{_NUMBER_WORD})"  # a whole number in digits or words
_COUNT = rf"(?:\d+|{_NUMBER_WORD}|none\b|no\b|zero\b)"  # a count: "none of the 40" is 0
_DEC = r"[−–-]?\s?\d+(?:\.\d+)?"


def word_number(text: str) -> int | None:
    """``12``, ``twelve``, ``Twenty-four``, ``none`` -> int; None when not a number."""
    t = " ".join(text.strip().lower().split())
    if t.isdigit():
        return int(t)
    if t in ("no", "none"):
        return 0
    hundreds = re.fullmatch(r"(a|\w+) hundred(?: (?:and )?(.+))?", t)
    if hundreds:
        h = 1 if hundreds.group(1) == "a" else _WORDS.get(hundreds.group(1))
        rest = word_number(hundreds.group(2)) if hundreds.group(2) else 0
        return None if h is None or h >= 10 or rest is None or rest >= 100 else 100 * h + rest
    for sep in ("-", " "):
        if sep in t:
            tens, _, unit = t.partition(sep)
            if tens in _WORDS and unit in _WORDS and _WORDS[unit] < 10 <= _WORDS[tens]:
                return _WORDS[tens] + _WORDS[unit]
    return _WORDS.get(t)


def _level(text: str) -> int | float:
    """A confidence level: 95 (int) or 97.5."""
    return float(text) if "." in text else int(text)


def _float(text: str) -> float:
    return float(text.replace(" ", "").replace("−", "-").replace("–", "-").replace("—", "-"))


_DECIMAL_COMMA = re.compile(
    r"(?<![\d,.])(\d{1,3}),(\d{1,2})(?=\s*(?:%|[×xX]\s*10|mL|ml|mg|kg|points?)(?![\w]))|"
    r"(?<![\d,.])(?<!days )(?<!day )(?<!weeks )(?<!week )(?<!months )(0),(\d+)\b(?!,\d)|"
    r"(\b[Pp]\s*[=<>≤≥]\s*)(0|1),(\d+)"
)


def decimal_points(text: str) -> str:
    """A decimal comma (European and Latin American journals) as a point, where it cannot be
    a list ("days 0,3,6") or a thousands separator ("1,000"): before %, "× 10" or a unit
    ("26,7%", "2,3 × 10^8"), after a leading zero ("0,68") and in a p-value."""

    def point(m: re.Match[str]) -> str:
        if m.group(1) is not None:
            return f"{m.group(1)}.{m.group(2)}"
        if m.group(3) is not None:
            return f"{m.group(3)}.{m.group(4)}"
        return f"{m.group(5)}{m.group(6)}.{m.group(7)}"

    return _DECIMAL_COMMA.sub(point, text)


def sentences(text: str) -> list[str]:
    """Split an abstract into sentences (keeps "P = .015", "vs." and "et al." intact).

    The Lancet's decimal point ("0·45") is read as "0.45", a decimal comma ("p = 0,68",
    "26,7%", "2,3 × 10^8") as a point (:func:`decimal_points`).
    """
    text = decimal_points(re.sub(r"(?<=\d)[·•](?=\d)", ".", " ".join(text.split())))
    parts = re.split(r"(?<=[.!?])\s+(?=[A-Z(])(?<!\bvs\.\s)(?<!\bal\.\s)(?<!\bFig\.\s)", text)
    out: list[str] = []
    for part in parts:
        # "BACKGROUND: ..." and "Methods: ..." section labels start a new sentence too
        out.extend(
            p.strip()
            for p in re.split(
                r"\s(?=[A-Z]{4,}: |(?:Background|Methods?|Results?|Conclusions?|Objectives?|"
                r"Findings|Interpretation|Aims?|Purpose|Design|Setting|Participants|"
                r"Interventions?|Trial registration): )",
                part,
            )
            if p.strip()
        )
    return out


@dataclasses.dataclass(frozen=True)
class Item:
    """One numeric item found in a sentence (or a table row)."""

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


# ------------------------------------------------------------------------------------------
# p-values and estimates
# ------------------------------------------------------------------------------------------

_P = re.compile(
    r"(?<![\w.])[Pp](?:\s*[- ]?values?)?(?:\s+for\s+(?:trend|interaction))?\s*"
    r"(=|<|>|≤|≥|<=|>=|⩽|⩾|of|was|:)\s*(0?\.\d+(?:\s*[x×]\s*10\s*\^?\s*[−–-]\s*\d+)?|1(?:\.0+)?\b|0\b)"
)
_THRESHOLD = re.compile(
    r"considered\s+(?:statistically\s+)?significant|significance\s+(?:level|was\s+set)|"
    r"level\s+of\s+significance|two-sided\s+(?:alpha|α)",
    re.IGNORECASE,
)
_RELATION = {"<=": "≤", ">=": "≥", "⩽": "≤", "⩾": "≥", "of": "=", "was": "=", ":": "="}
_CI = re.compile(
    r"(\d{2}(?:\.\d)?)\s*(?:%|percent)\s*(?:CI|confidence interval(?:\s*[\[(]CI[\])])?|CrI|credible interval)\s*[:,=]?\s*[(\[]?\s*"
    r"([−–-]?\d+(?:\.\d+)?)\s*(%?)\s*(?:,|to|–|—|-|;)\s*([−–-]?\d+(?:\.\d+)?)\s*%?"
)
_MEASURES = (
    (r"hazard\s+ratios?|\b(?:a|adjusted\s+)?HR", "HR"),
    (r"odds\s+ratios?|\b(?:a|adjusted\s+)?OR", "OR"),
    (r"relative\s+risks?|risk\s+ratios?|rate\s+ratios?|\bRR|\bIRR", "RR"),
    (r"(?:absolute\s+)?risk\s+differences?|absolute\s+differences?|\bARR|\bRD", "RD"),
    (r"standardi[sz]ed\s+mean\s+differences?|\bSMD", "SMD"),
    (r"mean\s+diff(?:erences?|\.|\b)|differences?\s+in\s+means?|\bMD", "MD"),
    (r"(?:median\s+)?differences?", "difference"),
)
_MEASURE_RE = "|".join(f"(?P<m{i}>{p})" for i, (p, _) in enumerate(_MEASURES))
_ESTIMATE = re.compile(
    rf"(?:{_MEASURE_RE})\b(?:\s*[(\[](?:[A-Z]{{1,4}}|[a-z]{{1,4}}\s?[A-Z]{{1,3}})[)\]])?"
    rf"(?P<between>(?:\s+(?:for|in|of|between|was|were|on|at|the|a|an|with|to|vs\.?|versus|"
    rf"[\w-]+\s+vs\.?\s+[\w-]+|\([^()]{{1,30}}\)|\d+-[a-z][\w-]*|"
    rf"(?:at|after|by|over)\s+\d+\s+(?:days?|weeks?|months?|years?)|[a-z][\w-]*)){{0,8}}?)"
    rf"\s*(?:[:=,]|was|of|were)?\s*(?P<value>{_DEC})\s*(?P<unit>%|percentage\s+points?|"
    rf"[a-zA-Zµμ/]+(?:/[a-zA-Z]+)?)?"
    rf"\s*[,;]?\s*[(\[]?\s*(?P<level>\d{{2}}(?:\.\d)?)\s*(?:%|percent)\s*(?:CI|confidence\s+interval(?:\s*[\[(]CI[\])])?|CrI)\s*[:,=]?\s*"
    rf"[(\[]?\s*(?P<low>{_DEC})\s*%?\s*(?:,|to|–|—|-|;)\s*(?P<high>{_DEC})",
    re.IGNORECASE,
)


_MEASURE_WORD = re.compile(rf"(?:{_MEASURE_RE})\b", re.IGNORECASE)
_VALUE_BEFORE_CI = re.compile(
    rf"(?:(?:^|[;,(]\s*)(?P<label>(?:[A-Za-z][\w-]*\s+){{0,4}}?)|\b(?:was|were|is|of)\s+)"
    rf"(?P<value>{_DEC})\s*"
    r"(?P<unit>percentage\s+points?|[a-zA-Zµμ/]+(?:/[a-zA-Z]+)?)?\s*[,;]?\s*[(\[]?\s*$"
)


def _shared_measure(
    sentence: str, ci_start: int, estimates: list[tuple[int, int]]
) -> tuple[str, float, str, int] | None:
    """A value and CI with their measure named once before, for a list of estimates:
    "(difference vs placebo, low dose 0.01 pmol/mL, 95% CI −0.09 to 0.11; high dose −0.03
    pmol/mL, 95% CI −0.13 to 0.07)" gives two differences. The measure word must not have
    begun an estimate of its own; None when there is no such word within 150 characters."""
    m = _VALUE_BEFORE_CI.search(sentence[:ci_start])
    if not m or re.search(
        r"\b(?:median|mean|average|rate|survival|age|aged)\b", m.group("label") or "", re.I
    ):
        return None
    start = m.start("value")
    words = [
        w
        for w in _MEASURE_WORD.finditer(sentence, max(0, start - 150), start)
        if not any(s <= w.start() < e for s, e in estimates)
    ]
    if not words:
        return None
    if m.group("label") is None and (
        start - words[-1].end() > 100
        or re.search(r";|\b(?:was|were|of|is)\s+[−–-]?\d", sentence[words[-1].end() : m.start()])
    ):  # "the mean difference in pain between the arms was −14.2 points (95% CI …)": no
        return None  # other number between the measure and its value
    unit = (m.group("unit") or "").strip()
    measure = _measure(words[-1])
    if measure == "difference" and unit.lower().startswith("percentage point"):
        measure = "RD"
    return measure, _float(m.group("value")), unit, start


_ESTIMATE_NO_CI = re.compile(
    r"(?P<measure>(?-i:\ba?(?:HR|OR|RR|IRR)\b)|hazard\s+ratio|odds\s+ratio|risk\s+ratio|"
    r"relative\s+risk)\s*(?:[:=,]|was|of)?\s*"
    rf"(?P<value>{_DEC})\s*[(\[]\s*(?P<low>{_DEC})\s*(?:[-–—,;]|to)\s*(?P<high>{_DEC})\s*[)\]]",
    re.IGNORECASE,
)


def _measure(match: re.Match[str]) -> str:
    for i, (_, name) in enumerate(_MEASURES):
        if match.group(f"m{i}"):
            return name
    return "other"


# ------------------------------------------------------------------------------------------
# counts
# ------------------------------------------------------------------------------------------

_NOT_COUNT_AFTER = (
    r"(?!\s*(?:%|years?|yrs?|days?|d\b|weeks?|wk|months?|mo\b|h\b|hours?|min|mg|mL|ml|kg|"
    r"cm|mm|points?|cells|×|x\s*10|doses?|groups?|arms?|cohorts?|levels?|sites?|centres?|"
    r"centers?|times|trials?|studies))"
)
_K_OF_N = re.compile(
    rf"(?<![\w.\-−])({_COUNT})\s+(?:out\s+)?of\s+(?:the\s+|all\s+|these\s+)?({_NUM})\b"
    + _NOT_COUNT_AFTER,
    re.IGNORECASE,
)
_K_PCT_OF_N = re.compile(
    rf"(?<![\w.\-−/])({_COUNT})\s*[(\[]\s*(\d+(?:\.\d+)?)\s*%\s*[)\]]\s+of\s+(?:the\s+|all\s+)?({_NUM})\b",
    re.IGNORECASE,
)
_FRACTION = re.compile(
    r"(?<![\d./\w])(\d+)\s*/\s*(\d+)"
    r"(?![\d/]|\.\d|\s*(?:mg|mL|ml|kg|g|h|hr|min|mmHg|cm|mm|L|dL|µL|m2|m²)\b)"
)
_NOT_FRACTION_BEFORE = re.compile(
    r"(?:grade|grades|phase|stage|class|NYHA|type|score|ratio|PaO2|FiO2|/)\s*$", re.IGNORECASE
)
_PCT_AFTER = re.compile(r"^[^%\d()\[\]]{0,45}?[(\[]\s*(\d+(?:\.\d+)?)\s*%\s*[)\]]")
_PCT_PAREN = re.compile(r"[(\[]\s*(\d+(?:\.\d+)?)\s*%\s*[)\]]")
_STOP = {
    "in",
    "of",
    "at",
    "on",
    "by",
    "to",
    "from",
    "with",
    "and",
    "or",
    "vs",
    "versus",
    "than",
    "was",
    "were",
    "is",
    "are",
    "day",
    "days",
    "week",
    "weeks",
    "month",
    "months",
    "year",
    "years",
    "the",
    "a",
    "an",
    "grade",
    "phase",
    "after",
    "before",
    "within",
    "per",
    "for",
    "mg",
    "ml",
    "kg",
    "h",
    "hours",
    "min",
    "aged",
    "age",
    "score",
    "n",
}
_PERCENT = re.compile(r"(?<![\w.])(\d+(?:\.\d+)?)\s*%")
_PERCENT_NOT_RATE_BEFORE = re.compile(
    r"(?:(?<!reached )(?<!achieved )(?<!attained )(?<!seen )(?<!observed )(?<!reported )"
    r"\bby|\bfrom|\bto|≥|≤|<|>|\bat least|\bup to|\bmore than|\bless than|\bover|\bunder|"
    r"\babove|\bbelow|LVEF|\bEF|ejection fraction|saturation|SpO2|SaO2|fold|reduc\w*|"
    r"increas\w*|decreas\w*|improv\w* of|change of|[±~])\s*$",
    re.IGNORECASE,
)
_PERCENT_NOT_RATE_AFTER = re.compile(
    r"^\s*(?:CI|CrI|confidence|credible|improvement|reduction|increase|decrease|decline|"
    r"lower|higher|greater|less|more|of (?:the )?(?:baseline|predicted|normal)|"
    r"or\s+(?:greater|more|higher|above|better|less|lower|below)\b|"
    r"predicted|fall|rise|change|"
    r"of\s+(?:the\s+|all\s+)?(?:injections|infusions|doses|procedures|administrations|visits|"
    r"samples|lesions|cycles|sessions))",
    re.IGNORECASE,
)
_VS_COUNTS = re.compile(
    rf"(?<![\w.%\-−/])({_COUNT})\s+(?:[a-z]+\s+){{0,6}}?(?:vs\.?|versus|compared\s+(?:with|to))\s+"
    rf"(?:[a-z]+\s+){{0,2}}?({_COUNT})\b(?!\s*(?:%|/|of\b|\(|years?|days?|weeks?|months?|h\b|"
    rf"hours?|min|mg|mL|ml|points?|cm|mm|m\b|kg|cells|×))",
    re.IGNORECASE,
)
_PEOPLE = (
    r"(?:patients?|pts\b|subjects?|participants?|children|infants?|neonates?|adults?|individuals?|"
    r"volunteers?|recipients?|cases|men|women|persons?|people|eyes)"
)
_GROUP_COUNT = re.compile(
    rf"(?<![\w.\-−/:])({_COUNT})\s+(?:{_PEOPLE}(?:\s*,\s*all)?\s+)?(?:[a-z-]+\s+){{0,3}}?in\s+"
    r"(?:the|each|both)\s+((?:[\w-]+\s+){0,2}?)(?:groups?|arms?|cohorts?)\b(?!\s*\(\s*[nN]\s*=)",
    re.IGNORECASE,
)
# "ventilator-free days were 19 vs 16", "ICU stay: 12 versus 9", "the score fell in the MSC
# group": a continuous outcome's values, not counts of patients
_MEASURE_BEFORE = re.compile(
    r"(?:-free\s+days|\bdays\s+(?:alive|in\s+hospital|on|of|with)\b|\blength\s+of\s+"
    r"(?:\w+\s+)?stay|\b(?:hospital|ICU)\s+stay|\bduration|\bscores?\b|\bscales?\b|\blevels?\b|"
    r"\bconcentrations?\b|\bindex\b|\btime\s+to\b|\bdistance|\bweight|\bLVEF\b|\bfraction\b)"
    rf"(?![^.;]*\b(?:{_PEOPLE}|events?|deaths?|of\s+\d))[^.;%]{{0,30}}$",
    re.IGNORECASE,
)
# survival "at 2 years" is a Kaplan-Meier estimate, not a count over the arm
_N_YEAR_SURVIVAL = re.compile(
    r"(?:\d+|one|two|three|four|five|ten)-years?\s+(?:[\w-]+\s+){0,2}?survival|"
    r"cumulative\s+incidence|Kaplan|"
    r"survival\s+(?:rates?\s+|probability\s+)?(?:at|after)\s+(?:\d+|one|two|three|four|five|ten)\s+"
    r"years|"  # mortality "at 5 years", "5-year mortality": also an estimate, not a count
    r"(?:mortality|death)\s+(?:rates?\s+)?(?:at|after)\s+(?:[2-9]|\d\d|two|three|four|five|ten)"
    r"\s+years|(?:[2-9]|\d\d|two|three|four|five|ten)[- ]years?\s+(?:[\w-]+\s+)?mortality",
    re.IGNORECASE,
)
_LONG_TERM = re.compile(
    r"(?:surviv|free)\w*[^.;]{0,40}?\b(?:at|after|by)\s+(?:\d+|one|two|three|four|five|ten)"
    r"\s+years?|(?:surviv|free)\w*[^.;]{0,40}?\b(?:at|after|by)\s+(?:[2-9]\d|1\d\d)\s+months|(?:\d+|one|two|three|five|ten)[- ]years?\s+(?:overall\s+)?(?:survival|free)|"
    r"Kaplan|estimated",
    re.IGNORECASE,
)
_PCT_IN_N = re.compile(
    rf"(?<![\w.])(\d+(?:\.\d+)?)\s*%\s+(?:in|of|among)\s+(?:the\s+|all\s+)?({_NUM})\s+"
    rf"(?:[a-z-]+\s+){{0,2}}?(?:controls?|{_PEOPLE})\b",
    re.IGNORECASE,
)
_VS_PERCENT = re.compile(
    r"(?<![\w.])(\d+(?:\.\d+)?)\s*%\s+(?:[a-z-]+\s+){0,8}?"
    r"(?:vs\.?|versus|compared\s+(?:with|to)|and|or)\s+(?:[a-z-]+\s+){0,3}?"
    r"(\d+(?:\.\d+)?)\s*%",
    re.IGNORECASE,
)

# ------------------------------------------------------------------------------------------
# arm sizes and totals
# ------------------------------------------------------------------------------------------

_ARM_N = re.compile(
    r"((?:[\w-]+[\s,:;]+){0,4}?)\(?\b[nN]\s*(?:=|:(?=\s*\d+\s*\)))\s*(\d+)\)?"
    r"(\s*(?:for\s+each\s+group|each|per\s+(?:arm|group|cohort)|in\s+each\s+(?:arm|group)|/\s*(?:arm|group)))?"
)
_ALLOCATION = re.compile(
    r"randomi[sz]|assign|allocat|receiv|group|\barms?\b|cohort|treat|enrol|\bvs\b|versus|"
    r"placebo|control|sham|standard|MSC|cells|dose|divided|compared|underwent|included|"
    r"recruited|participants|patients\s+(?:with|in)",
    re.IGNORECASE,
)
_ARM_COMPARED = re.compile(
    rf"\b(?:compared|matched)\s+(?:with|to)\s+(?:\d+(?:\.\d+)?\s*%\s+(?:in|of|among)\s+)?({_NUM})\s+(?:[\w-]+\s+){{0,2}}?"
    rf"(?:controls?|{_PEOPLE})\b",
    re.IGNORECASE,
)
# "We compared 44 patients who received MSCs with 44 matched historical controls"
_COMPARED_ARMS = re.compile(
    rf"\b(?:compared|matched)\s+(?:the\s+)?({_NUM})\s+(?:[\w-]+\s+){{0,3}}?{_PEOPLE}\b[^.;]{{0,160}}?"
    rf"\b(?:with|to)\s+(?:the\s+)?({_NUM})\s+(?:[\w-]+\s+){{0,3}}?(?:controls?|{_PEOPLE})\b",
    re.IGNORECASE,
)
_RESPECTIVELY = re.compile(
    rf"(?<![\w.%\-−/])({_COUNT})\s+(?:\(\d+(?:\.\d+)?\s*%\)\s+)?and\s+({_COUNT})\s+"
    rf"(?:{_PEOPLE}\s*)?(?:\(\d+(?:\.\d+)?\s*%\)\s*)?,?\s+respectively",
    re.IGNORECASE,
)
# a word naming an arm or a group ("MSC", "placebo"), not a unit, time or article
_LABEL = (
    r"(?!(?:of|the|and|or|in|to|with|days?|weeks?|months?|years?|h|hours?|mg|mL|kg|times|"
    r"doses?|points?|cells|vs|versus)\b)[A-Za-z][\w-]*"
)
_ARM_PAREN = re.compile(
    rf"\((?:[\w-]+\s+(?:group|arm),\s+)?({_NUM})\s+{_PEOPLE}\)", re.IGNORECASE
)  # "(33 infants)", "(cell group, 33 infants)"
# "(2 × 10^9 particles twice daily for 5 days; 27 patients)": the arm's size after its
# treatment, last in the parentheses
_ARM_PAREN_LAST = re.compile(rf";\s*({_NUM})\s+{_PEOPLE}\)", re.IGNORECASE)
# "67 MSC and 68 placebo patients were analysed", "40 patients in the MSC group and 38 in
# the placebo group were randomized"
_ARM_AND_LABELS = re.compile(
    rf"(?<![\w.\-/])({_NUM})\s+{_LABEL}\s+(?:{_LABEL}\s+)?(?:{_PEOPLE}\s+)?and\s+({_NUM})\s+"
    rf"(?:{_LABEL}\s+){{1,2}}?{_PEOPLE}\s+|"
    rf"(?<=\()\s*({_NUM})\s+{_LABEL}(?:\s+{_LABEL})?\s*(?:,\s*|and\s+|;\s*)({_NUM})\s+"
    rf"{_LABEL}(?:\s+{_LABEL})?\s*(?=\))|"
    rf"(?<![\w.\-/])({_NUM})\s+(?:{_PEOPLE}\s+)?in\s+the\s+[\w-]+\s+(?:group|arm)\s+and\s+"
    rf"({_NUM})\s+(?:{_PEOPLE}\s+)?in\s+the\s+[\w-]+\s+(?:group|arm)(?:\s+|(?=[.;,]|$))",
    re.IGNORECASE,
)
# "118 patients were analysed (MSC 59, placebo 59)": label then size, in parentheses
_ARM_LABEL_FIRST = re.compile(
    rf"\(\s*(?:[A-Za-z][\w+-]*\s+){{0,1}}[A-Za-z][\w+-]*(?:\s*[,:]\s*|\s+)({_NUM})\s*[,;]\s*"
    rf"(?:[A-Za-z][\w+-]*\s+){{0,1}}[A-Za-z][\w+-]*(?:\s*[,:]\s*|\s+)({_NUM})"
    rf"(?:\s*[,;]\s*(?:[A-Za-z][\w+-]*\s+){{0,1}}[A-Za-z][\w+-]*(?:\s*[,:]\s*|\s+)({_NUM}))?\s*\)",
    re.IGNORECASE,
)  # "(MSC 59, placebo 59)", "(MSC, 6; placebo, 6)", "(MSC: 20; control: 20)"
_ARM_AND_LABELS_VERB = re.compile(
    r"(?:were\s+|was\s+)?(?:analy[sz]ed|randomi[sz]ed|enrolled|included|evaluable|evaluated|"
    r"treated|allocated|assigned)\b",
    re.IGNORECASE,
)
_ARM_RECEIVED = re.compile(
    rf"(?<![\w.\-/])({_NUM})\s+(?:(?:[\w-]+\s+){{0,2}}?{_PEOPLE}\s+"
    r"(?:with\s+(?:[\w-]+\s+){0,5}?)?)?"
    r"(?:received|were\s+(?:randomi[sz]ed|assigned|allocated)\s+to|(?:were\s+)?treated\s+with|"
    r"were\s+given|got)\b",
    re.IGNORECASE,
)
_ARM_AND_A = re.compile(
    rf"\b(?:and|while|whereas)\s+({_NUM})\s+(?:received\s+)?(?:a|an|the)\s+[\w-]+\s+dose|"
    rf"\b(?:and|while|whereas)\s+({_NUM})\s+(?:{_PEOPLE}\s+)?(?:were\s+)?(?:to|received)\s|"
    rf"\b(?:and|while|whereas)\s+({_NUM})\s+(?:{_PEOPLE}\s+)?(?:with\s+|on\s+)?"
    r"(?:placebo|controls?|sham|saline|vehicle|standard|usual)\b|"
    rf"\b(?:and|while|whereas)\s+({_NUM})\s+(?:[\w-]+\s+){{0,4}}?{_PEOPLE}\s+"
    r"(?:served|acted|were\s+used)\s+as\s+controls\b",
    re.IGNORECASE,
)
_ARM_TO = re.compile(
    rf"(?<![\w.:])({_NUM})\s+(?:{_PEOPLE}\s+)?(?:were\s+)?(?:randomi[sz]ed\s+|assigned\s+|"
    rf"allocated\s+)?to\s+(?:the\s+)?[\w-]+(?:\s+group)?\s*(?:,|and)\s+({_NUM})\s+"
    rf"(?:{_PEOPLE}\s+)?(?:were\s+)?(?:randomi[sz]ed\s+|assigned\s+|allocated\s+)?to\b",
    re.IGNORECASE,
)
# "53 with standard-dose and 52 with low-dose tacrolimus" after "received" or "randomized"
_ARM_WITH = re.compile(
    r"(?:receiv|randomi[sz]|assign|allocat|enrol)[^.;]{0,120}?(?<![\w.:])(\d+)\s+"
    rf"(?:{_PEOPLE}\s+)?with\s+(?:[\w-]+\s+){{0,3}}?and\s+(\d+)\s+(?:{_PEOPLE}\s+)?with\b",
    re.IGNORECASE,
)
# "in one MSC patient and two controls", "in 8 MSC and 7 placebo patients", "in all 44 MSC
# recipients and in 41 controls", "in six patients after MSCs and in five after placebo":
# a count per arm, in the arms' order
_AND_COUNTS = re.compile(
    rf"\b(?:(?:in|by)\s+)?(?:all\s+)?({_COUNT})\s+(?:(?:[\w-]+\s+){{0,2}}?(?:{_PEOPLE}|controls?)\s+"
    rf"(?:\w+\s+){{0,3}}?|{_LABEL}\s+(?:{_LABEL}\s+)?|during\s+(?:[\w-]+\s+){{1,2}})"
    r"(?:and|vs\.?|versus|compared\s+with)\s+"
    rf"(?:(?:in|by)\s+)?(?:all\s+)?"
    rf"({_COUNT})\s+(?:(?:of\s+the\s+)?(?:[\w-]+\s+){{0,2}}?(?:{_PEOPLE}|controls?)\b|"
    r"of\s+the\s+(?:[\w-]+\s+){0,2}?(?:group|arm)\b|(?:after|with|on|receiving|given|during)\s+[\w-]+)",
    re.IGNORECASE,
)
# "Falls were reported by 10, 8 and 6 patients", "in 8 and 7 patients": one count per arm
_LIST_COUNTS = re.compile(
    rf"\b(?:in|by|among|for)\s+((?:{_COUNT}\s*,\s*)*{_COUNT}\s*,?\s+and\s+{_COUNT})\s+"
    rf"(?:[\w-]+\s+){{0,2}}?{_PEOPLE}\b",
    re.IGNORECASE,
)
# "… in nine and four patients; endoscopic remission in three and one.": an elliptical pair
_ELLIPTIC_PAIR = re.compile(
    rf"\bin\s+({_COUNT})\s+and\s+(?:in\s+)?({_COUNT})(?=\s*(?:[.;)]|,\s|$))",
    re.IGNORECASE,
)
# "Deaths: one, two and two.": one count per arm after a colon
_COLON_LIST = re.compile(
    r"(?:^|[.;]\s+)(?P<label>[A-Za-z][^:;.]{0,100}?)\s*:\s+"
    rf"(?P<list>(?:{_COUNT}\s*,\s*)*{_COUNT}\s*,?\s+and\s+{_COUNT})(?:\s+{_PEOPLE})?"
    r"(?=\s*(?:[.;(]|$))",
    re.IGNORECASE,
)
# "Of six patients evaluated for efficacy, four showed improvement … and five in …"
_OF_N_K = re.compile(
    rf"\bOf\s+(?:the\s+|these\s+|all\s+)?({_NUM})\s+(?:[\w-]+\s+){{0,6}}?[\w-]+\s*,\s*"
    rf"({_COUNT})\s+(?!{_PEOPLE}\s+(?:were|was)\b|(?:[\w-]+\s+)?(?:and|or)\s+{_NUM}|"
    r"(?:were|was)\b(?!\s+(?:discharged|alive|cured|weaned|extubated|free\b|in\s+remission))|"
    r"(?:received|underwent|completed|entered|had\s+data|are|remained\s+in\s+the)\b|"
    r"\(|%|of\b)",
)  # "Of the 10 patients in the MSC group, 9 were discharged alive": an outcome
# an arm's label in parentheses after its count: "3 (MSC) and 5 (placebo)", not "(IQR …)"
_ARM_WORDS = (
    r"(?!(?:IQR|SD|SEM?|range|CI|mean|median|days?|weeks?|months?|years?|h|hours?)\b)"
    r"[A-Za-z][A-Za-z+-]*(?:\s+[A-Za-z+-]+)?"
)
_OF_GROUP = re.compile(
    rf"(?<![\w.\-−/])({_COUNT})\s+(?:out\s+)?of\s+(?:the\s+|all\s+)?((?:[\w-]+\s+){{0,2}}?)"
    r"(recipients|controls|(?:group|arm|cohort)\b(?!\s*\(?\s*[nN]\s*=))",
    re.IGNORECASE,
)
_NUMBER = re.compile(rf"\d|\b{_NUMBER_WORD}\b", re.IGNORECASE)
# "in two children" with no arm named: a count of a single-group (or crossover) study
_BARE_COUNT = re.compile(
    rf"\b(?:in|by|among)\s+({_COUNT})\s+(?:[\w-]+\s+)?{_PEOPLE}\b"
    r"(?!\s*(?:[(\[]\s*(?:\d|[nN]\s*=)|of\b|in\s+(?:the|each|both|every)\b|per\b|after\b|"
    r"with\b|on\b|"
    r"receiving\b|given\b|treated\b|and\b|vs\b|versus\b|compared\b|who\b|,?\s*respectively))",
    re.IGNORECASE,
)
_BARE_SUBJECT = re.compile(
    rf"(?:^|[.;:]\s+|,\s+(?:and\s+|but\s+)?|\b(?:and|but|while)\s+)({_COUNT})\s+(?:[\w-]+\s+)?{_PEOPLE}"
    r"\s+(?:[a-z]+ly\s+|later\s+|also\s+)?(?:had|developed|died|experienced|required|needed|"
    r"reported|suffered|underwent|showed|relapsed)\b|"
    # "…; four relapsed, at a median of seven months": the people left out
    rf"(?:[;:]\s+|,\s+(?:and\s+|but\s+)?|\band\s+)((?!no\b|none\b){_COUNT})\s+(?:later\s+)?"
    r"(?:died|relapsed|progressed|responded|recovered)\b|"
    # "Neuropathic pain diminished in eight.": a count in words closing the clause
    rf"\b(?:diminished|disappeared|resolved|improved|decreased|healed|occurred|developed|"
    rf"recurred|relapsed)\s+in\s+((?!no\b|none\b){_NUMBER_WORD})\s*(?=[.;]|$)",
    re.IGNORECASE,
)
# "in two patients on MSCs", "three patients receiving placebo": a count in one named arm
# "two participants given high-dose Tregs", "in two participants with CAP-1002" (a product
# named with capitals and digits: only counted when the arms were introduced by that name)
_PRODUCT = r"(?-i:(?!(?:Day|Week|Month|Year|Visit)\b)[A-Z][\w+-]*)"
_ON_ARM_COUNT = re.compile(
    rf"(?<![\w.\-−/:])({_COUNT})\s+(?:[\w-]+\s+)?{_PEOPLE}\s+(?:(?:on|receiving|given|taking|"
    r"treated\s+with|who\s+received)\s+(?:the\s+)?((?:[\w-]+\s+)?(?:[\w-]*MSCs?|cells|placebo|"
    rf"saline|sham|controls?|standard|usual|vehicle|active|{_PRODUCT}))\b|with\s+"
    r"((?-i:[A-Z][A-Za-z]*[-\d][\w-]*|[A-Z]{2,}[\w-]*)))",
    re.IGNORECASE,
)
_OUTCOME_VERB = re.compile(
    r"\b(?:improved|worsened|resolved|healed|recovered|remained|progressed|normali[sz]ed|"
    r"flared|recurred|appeared|emerged|tapered|stopped|discontinued|withdrawn|diminished|"
    r"disappeared)\b",
    re.IGNORECASE,
)
_GENDER = re.compile(r"\b(?:men|women|males?|females?|boys|girls)\b", re.IGNORECASE)
_EVENT_VERB = re.compile(
    r"\b(?:occurred|died|developed|had|experienced|required|underwent|needed|was\s+performed|"
    r"followed\s+(?:an?|the)\s+(?:infusion|injection|dose|administration|procedure)|"
    r"(?:was|were)\s+met\s+by|met\s+the\s+(?:primary|secondary|co-primary)|"
    r"were\s+performed|reported|suffered|reached|achieved|attained|seen|observed|noted|"
    r"recorded|documented|responded|relapsed)\b",
    re.IGNORECASE,
)
_COHORT_OF = re.compile(
    rf"\b(?:cohorts?|groups?|arms?)\s+of\s+({_NUM})\s+(?:[\w-]+\s+)?{_PEOPLE}(\s+each)?",
    re.IGNORECASE,
)
_ARM_EACH = re.compile(
    rf"(?<![:\d]\s)(?<![:\d])\b({_NUM})\s+(?:{_PEOPLE}\s+)?(?:(?:were|was)\s+(?:enrolled|"
    r"randomi[sz]ed|included|allocated|assigned|recruited|treated)\s+)?(?:in\s+each|per|in\s+every|to\s+each)\s+"
    r"(?:arm|group|cohort|treatment|intervention|dose\s+level|dose|level)\b|"
    rf"(?<![:\d]\s)(?<![:\d])\b({_NUM})\s+{_PEOPLE}\s*/\s*(?:arm|group|cohort)\b",  # "16 patients/group"
    re.IGNORECASE,
)
_TOTAL_N = re.compile(  # the words between are not numbers ("phase 3 trial enrolled 48 adults")
    rf"(?<![\w-])({_NUM})\s+(?:(?!\d)[\w-]+\s+){{0,4}}?{_PEOPLE}\b",
    re.IGNORECASE,
)
_TREATED_OF = re.compile(
    rf"\bOf\s+(?:the\s+|all\s+)?({_NUM})\s+(?:[\w-]+\s+)?(?:{_PEOPLE}\s+)?(?:who\s+were\s+|were\s+)?"
    r"(?:enrolled|recruited|screened|included|registered|consented|underwent\s+leukapheresis)\s*,\s*"
    rf"({_NUM})\s+(?:{_PEOPLE}\s+)?(?:received|were\s+(?:treated|infused|dosed|transplanted)|"
    r"underwent\s+(?:infusion|transplant\w*|injection))\b",
    re.IGNORECASE,
)
# "we enrolled 38 patients with …; 34 received a single infusion": the treated are the study's
# group (one group: not "30 received MSCs and 30 received placebo")
_ENROLLED_THEN_TREATED = re.compile(
    rf"\b(?:enrolled|recruited|included|registered)\s+({_NUM})\s+(?:[\w-]+\s+){{0,3}}?{_PEOPLE}\b"
    rf"[^.;]{{0,150}}?[;,]\s*(?:and\s+|of\s+(?:these|whom),?\s+|but\s+(?:only\s+)?)?({_NUM})\s+"
    rf"(?:{_PEOPLE}\s+)?(?:received|were\s+(?:treated|infused|dosed|transplanted))\b"
    rf"(?![^.;]*\band\s+{_NUM}\s+(?:{_PEOPLE}\s+)?(?:received|were))|"
    # "Twenty-six patients were included; 24 received …"
    rf"\b({_NUM})\s+(?:[\w-]+\s+){{0,3}}?{_PEOPLE}\s+were\s+(?:enrolled|included|recruited|registered)"
    rf"\b[^.;]{{0,60}}?;\s*({_NUM})\s+(?:{_PEOPLE}\s+)?(?:received|were\s+(?:treated|infused|dosed))\b"
    rf"(?![^.;]*\band\s+{_NUM}\s+(?:{_PEOPLE}\s+)?(?:received|were))",
    re.IGNORECASE,
)
_ENROLMENT = re.compile(
    r"\b(?:enrolled|included|recruited|received|treated|underwent|randomi[sz]ed|allocated|"
    r"assigned|participated|we report|were studied|took part|applied|used|were\s+given)\b",
    re.IGNORECASE,
)
# "randomized equally to MSCs or rehabilitation", "in equal numbers": a 1:1 ratio
_EQUAL_RATIO = re.compile(
    r"\b(?:randomi[sz]ed|assigned|allocated)\s+(?:equally|in\s+equal\s+numbers)\b|"
    r"\b(?:randomly\s+and\s+)?equally\s+(?:randomi[sz]ed|assigned|allocated)\b",
    re.IGNORECASE,
)
_RATIO = re.compile(
    r"(?:randomi[sz]ed|randomly\s+(?:assigned|allocated)|allocated|assigned)\s*"
    r"(?:\(\s*)?(?:in\s+an?\s+|at\s+an?\s+)?(\d)\s*:\s*(\d)((?:\s*:\s*\d)*)\b|"
    r"\b(\d)\s*:\s*(\d)((?:\s*:\s*\d)*)\s+ratio|\bratio\s+of\s+(\d)\s*:\s*(\d)((?:\s*:\s*\d)*)",
    re.IGNORECASE,
)

# ------------------------------------------------------------------------------------------
# doses and schedules
# ------------------------------------------------------------------------------------------

_SUPERSCRIPT = str.maketrans("⁰¹²³⁴⁵⁶⁷⁸⁹⁻", "0123456789-")
_POWER = re.compile(
    r"(?<![\w.:])(\d+(?:\.\d+)?)(?:\s*(?:[-–—]|to)\s*(\d+(?:\.\d+)?))?\s*"
    r"(?:(?:±|\+/-|\+-)\s*(\d+(?:\.\d+)?)\s*)?[×xX*]\s*10\s*"
    r"(?:\^\s*(\d{1,2})|\(\s*(\d{1,2})\s*\)|([⁰¹²³⁴⁵⁶⁷⁸⁹]{1,2})|[eE]?(\d{1,2}))(?![\d.])"
)
_BARE_POWER = re.compile(
    r"(?<![\d.×xX*]\s)(?<![\d.×xX*])\b10\s*(?:\^\s*(\d{1,2})|([⁰¹²³⁴⁵⁶⁷⁸⁹]{1,2}))"
)
_MILLION = re.compile(
    rf"(?<![\w.:])(\d+(?:\.\d+)?|{_NUMBER_WORD}(?:\s+hundred)?)"
    r"(?:\s*(?:[-–—]|to)\s*(\d+(?:\.\d+)?))?(?:\s*\([^()]{0,20}\))?\s+(million|billion)\b",
    re.IGNORECASE,
)
# "75M cells", "1.5B cells": million and billion in a conference abstract's shorthand
_M_CELLS = re.compile(r"(?<![\w.:])(\d+(?:\.\d+)?)\s?([MB])\s+(?=(?:[\w+-]+\s+)?cells\b)")
_PER_KG = re.compile(
    r"^\s*(?:[\w'’+-]+\s+){0,4}?[\w'’-]*\s*(?:/\s*kg|per\s+(?:kg|kilogram)|/\s*kilogram)\b",
    re.IGNORECASE,
)
_CELLS_AFTER = re.compile(
    r"^\s*(?:[\w'’-]+\s+){0,4}?(?:cells?|[\w-]*MSCs?|[\w-]*MSC\b|[\w-]*PCs?|[\w-]*ASCs?|"
    r"[\w-]*SCs|progenitors?|"
    r"[\w-]*(?:stem|stromal)\s+cells?)\b",
    re.IGNORECASE,
)
_NOT_DOSE_AFTER = re.compile(
    r"^\s*(?:/\s*(?:L|l|µL|uL|mL|ml|mm3|mm³)\b|per\s+(?:litre|liter|µL|mL)|copies|IU|"
    r"particles?/mL|years?|patients|people|km)",
)
# "1 × 10^6 cells/cm²", "2 x 10^5 cells per cm2": a dose per wound area
_PER_AREA = re.compile(
    r"^\s*(?:[\w'’-]+\s+){0,3}?(?:[\w'’-]*\s*)?(?:/\s*cm\s*(?:2|²|\^2)|per\s+(?:cm\s*(?:2|²|\^2)|"
    r"square\s+centimet(?:er|re)))(?![\w³])",
    re.IGNORECASE,
)
# "2 × 10^7 cells/m²": a dose per body surface area (T cells, NK cells)
_PER_BSA = re.compile(
    r"^\s*(?:[\w'’+-]+\s+){0,3}?(?:[\w'’+-]*\s*)?(?:/\s*m\s*(?:2|²|\^2)|per\s+(?:m\s*(?:2|²|\^2)|"
    r"square\s+met(?:er|re)))(?![\w³])",
    re.IGNORECASE,
)
_PER_OTHER = re.compile(
    r"^\s*(?:[\w'’-]+\s+){0,3}?(?:[\w'’-]*\s*)?(?:/\s*(?:cm|mm|µL|uL|mL|L|cc|cm3|cm³)\b|"
    r"per\s+(?:cm|mm|µL|mL|cc))",
    re.IGNORECASE,
)
_VOLUME = re.compile(
    r"(?<![\w.])(\d+(?:\.\d+)?)\s*(?:mL|ml|millilit(?:er|re)s?)\b(?!\s*/)(?:\s+(?:of\s+)?([a-z-]+))?"
)
_NOT_VOLUME = re.compile(r"aspirat|\bblood\b|lipoaspirat|\bfat\b|harvest|urine|saline flush", re.I)
_DAYS = re.compile(
    r"(?<!between )(?<!from )\b(?:on|at)?\s*(days?|weeks?)\s+(\d+)"
    r"((?:\s*(?:,\s*and|,|and|&)\s*(?:(?:day|week)s?\s+)?\d+)+)\b(?!\s*(?:-|–|to)\s*\d)"
    rf"(?!\s+(?:[\w-]+\s+)?{_PEOPLE})",
    re.IGNORECASE,
)
_UNIT_HOURS = {
    "h": 1,
    "hr": 1,
    "hrs": 1,
    "hour": 1,
    "hours": 1,
    "day": 24,
    "days": 24,
    "week": 168,
    "weeks": 168,
    "month": 720,
    "months": 720,
    "d": 24,  # "q7d", "q2wk", "q3mo": prescription shorthand
    "w": 168,
    "wk": 168,
    "wks": 168,
    "mo": 720,
}
_TIME_UNIT = r"(h|hrs?|hours?|days?|weeks?|months?)"
_APART = re.compile(
    rf"\b({_NUM})(?:\s*±\s*\d+)?[\s-]*{_TIME_UNIT}\s+(?:apart|later)\b|\bevery\s+(other)\s+(day|week)\b",
    re.IGNORECASE,
)
_SECOND_DOSE = re.compile(
    r"\b(?:second|repeat(?:ed)?|another|further)\s+(?:[\w-]+\s+){0,5}?"
    r"(?:dose|infusion|injection|administration|application)s?\b[^.;]{0,40}?\b(?:after|at)\s+"
    rf"({_NUM})[\s-]*{_TIME_UNIT}\b|"
    rf"\brepeated\s+(?:[\w-]+\s+){{0,3}}?(?:after|at|every)\s+({_NUM})[\s-]*{_TIME_UNIT}\b|"
    rf"\b({_NUM})[\s-]*{_TIME_UNIT}\s+after\s+the\s+first\b",
    re.IGNORECASE,
)
_INTERVAL = re.compile(
    rf"\b(?:dosing\s+|an?\s+)?intervals?\s+of\s+({_NUM})[\s-]*{_TIME_UNIT}|"
    rf"\bat\s+({_NUM})[\s-]*{_TIME_UNIT}\s+intervals?|"
    rf"\b({_NUM})[\s-]*{_TIME_UNIT}\s+intervals?\b|"
    rf"\bevery\s+({_NUM})\s*{_TIME_UNIT}\b|\bq\s*(\d+)\s*(h|d|wks?|w|mo)\b",
    re.IGNORECASE,
)
_EVERY_WORD = re.compile(
    r"\b(?:(?:once\s+)?(?<!twice )(daily)(?!\s+(?:living|life|activit))|"
    r"(twice)(?:\s+a|\s+per)?\s+week(?:ly)?|(twice\s+(?:daily|a\s+day))|"
    r"(?<!twice )(?:once\s+|at\s+)?(weekly)(?:\s+intervals?)?|every\s+(day|week|month)|"
    r"once\s+a\s+(day|week|month)|(monthly)|per\s+(day)(?=\s+for\b)|"
    r"(three|four|five|six|thrice|[3-6])\s+times\s+(?:a\s+|per\s+)?(daily|day|weekly|week))\b",
    re.IGNORECASE,
)
# "weekly angina frequency": "weekly" describing a measured quantity, not a dosing rhythm
_RATE_ADJECTIVE = re.compile(
    r"\s+(?!(?:\w+\s+){0,2}?(?:doses?|infusions?|injections?|administrations?|applications?|"
    r"sessions?|treatments?|intervals?|transplant\w*|cycles?|courses?)\b)(?:[a-z][\w-]*\s+){0,2}?"
    r"(?:frequency|episodes?|attacks?|rates?|counts?|scores?|requirements?|doses\s+of\s+insulin|"
    r"use|consumption|number|average|mean|levels?)\b",
    re.IGNORECASE,
)
# chemotherapy conditioning before cells: its schedule is not the cells'
_CONDITIONING = re.compile(
    r"condition\w*|lymphodeplet\w*|myeloablat\w*|fludarabine|cyclophosphamide|busulfan|"
    r"chemotherapy|chemoradiotherapy|melphalan|immunosuppress\w*|tacrolimus|ciclosporin|"
    r"cyclosporin\w*|mycophenolate|sirolimus",
    re.IGNORECASE,
)
_ADMIN_NOUN = (
    r"(?:doses|infusions|injections|administrations|applications|transplantations|cycles|"
    r"vaccinations|immuni[sz]ations)"
)
_COUNT_ADMIN = re.compile(
    rf"(?<![:\d.])\b({_NUM})\s+(?:(?:cycles|courses)\s+of\s+)?"
    rf"(?:(?!{_PEOPLE}\b|of\b|to\b|and\b|or\b|groups?\b|arms?\b|{_NUMBER_WORD}|received\b|"
    rf"receiving\b|underwent\b|had\b|got\b|were\b|was\b|completed\b|needed\b|required\b)"
    rf"[a-z][\w-]*\s+){{0,4}}?{_ADMIN_NOUN}\b",
    re.IGNORECASE,
)
_SINGLE = re.compile(
    r"\b(?:a\s+|one\s+)?single(?:[\s-]+[\w-]+){0,4}?[\s-]+"
    r"(?:dose|infusion|injection|administration|application|transplantation|procedure|session)\b|"
    r"(?:\b(?:as|in|received|receive|given|with|to)\s+|[,;]\s+|\(\s*)(?:only\s+)?one\s+"
    r"(?:[\w-]+\s+){0,2}?(?:dose|infusion|injection|administration|session|procedure|transplant)"
    r"(?![\w-])|\bone[- ]time\s+(?:[\w-]+\s+){0,2}?(?:dose|infusion|injection|administration|"
    r"treatment|transplant\w*|procedure|application)\b|"
    r"\b(?:infused|injected|given|administered|transplanted|infusion|injection)"
    r"(?:\s+[a-z]+ly)?\s+once\b"
    r"(?!\s+(?:daily|weekly|monthly|a\s+(?:day|week|month)|every|per|each))",
    re.IGNORECASE,
)
# "weekly on four occasions", "on three separate occasions": that many administrations
_OCCASIONS = re.compile(
    rf"\bon\s+({_NUM})\s+(?:separate\s+|different\s+|consecutive\s+)?occasions\b", re.IGNORECASE
)
_TIMES = re.compile(
    rf"\b(?:infused|injected|given|administered|applied|transplanted|treated|received|dosed)"
    rf"(?:\s+(?:[\w-]+|\((?:[^()]|\([^()]*\)){{0,40}}\))){{0,3}}?\s+"
    rf"(twice|thrice|({_NUM})\s+times)\b|\b(twice)\s*,?\s+({_NUM})[\s-]*"
    rf"{_TIME_UNIT}\s+apart|\b(thrice|{_NUM}\s+times)(?=\s*,?\s+(?:at\s+(?:{_NUM}[\s-]*)?"
    rf"{_TIME_UNIT}[\s-]*intervals?|every\s+|(?:{_NUM})[\s-]*{_TIME_UNIT}\s+apart))",
    re.IGNORECASE,
)
_FOR = re.compile(
    rf"\bfor\s+(?:up\s+to\s+)?({_NUM})\s+(?:consecutive\s+)?(days?|weeks?|months?|years?)\b",
    re.IGNORECASE,
)
_FOLLOW = re.compile(
    r"(?:follow\w*(?:[\s-]+up)?|observed|monitored|hospitali[sz]ed|stayed|lasted|persisted|"
    r"slowed|improved|reduced|delayed|prevented|maintained|sustained|preserved|stabili[sz]ed|"
    r"assessed|evaluated|survived|alive|admitted|ventilated)\b[^,;.]{0,40}$",
    re.IGNORECASE,
)
_ADMIN_CUE = re.compile(
    r"infus|inject|dose|dosing|administ|given|receiv|treat|applied|daily|weekly|transplant|"
    r"inhal|nebuli[sz]|instill|deliver|implant|per\s+day",
    re.IGNORECASE,
)
_PHASE = re.compile(
    r"\bphase\s+(I{1,3}(?:\s*(?:/|&|and)\s*I{1,3})?[ab]?|[1-4](?:\s*/\s*[1-4]a?)?a?)\b",
    re.IGNORECASE,
)
_BLINDING = re.compile(
    r"\b(double|single|triple)[- ]blind(?:ed)?\b|\bopen[- ]label\b", re.IGNORECASE
)


# "a second identical dose after 72 hours", "with a second infusion on day 7": two
# administrations; not "a second dose if needed", nor a third mentioned
_SECOND_ADMIN = re.compile(
    r"\b(?:a|the)\s+second\s+(?:[\w-]+\s+){0,2}?(?:dose|infusion|injection|administration)\b"
    r"(?![^.;]{0,60}\b(?:if|when|in\s+(?:non-?responders|case)|optional|allowed|could|might|may|"
    r"permitted|at\s+the\s+investigator|offered|to\s+(?:partial\s+|non-?)?responders|"
    r"(?:was|were)\s+(?:needed|required|given|administered)\s+(?:in|to|for)\s))",
    re.IGNORECASE,
)


def _injection_sites(sentence: str, m: re.Match[str], count: int) -> bool:
    """True for "100 × 10^6 cells in 10 injections", "as 15 injections of 0.2 mL into the
    myocardium": the sites of one procedure, not a number of administrations."""
    if count < 3 or not re.search(r"injections\b", m.group(0), re.I):
        return False
    if re.search(r"daily|weekly|monthly|yearly|apart|every|interval", sentence[m.start() :], re.I):
        return False  # "four monthly injections": administrations over time
    if count >= 10:
        return True  # "about 30 injections in and around the scar": one procedure's sites
    before = sentence[: m.start()]
    after = sentence[m.end() :]
    return bool(
        re.search(r"\b(?:in|via|into|across)\s+$", before, re.I)
        or re.match(
            r"\s*(?:of\s+\d+(?:\.\d+)?\s*(?:mL|ml|µL|uL)\b|into\s+the|at\s+(?:\w+\s+){0,2}?sites?\b)",
            after,
            re.I,
        )
        or re.search(r"transendocardi|intramyocardi|epicardi|injection\s+sites", sentence, re.I)
    )


def _rounds_to(events: int, n: int, percent: str) -> bool:
    """Whether ``events``/``n`` is ``percent`` % at the precision it was written with."""
    digits = len(percent.split(".")[1]) if "." in percent else 0
    return abs(100 * events / n - float(percent)) <= 0.5 * 10.0**-digits + 1e-9


def _n_from_percent(events: int, percent: str, limit: int = 1000) -> list[int]:
    """Every n (events ≤ n ≤ limit) with events/n written as ``percent``."""
    if events == 0:
        return []
    # 100·events/n lies within the rounding half-width of the percentage: only n between
    # 100·events/(p + w) and 100·events/(p − w) can qualify (checked exactly below)
    digits = len(percent.split(".")[1]) if "." in percent else 0
    width = 0.5 * 10.0**-digits + 1e-9
    low = max(events, 1, int(100 * events / (float(percent) + width)) - 1)
    top = float(percent) - width
    high = limit if top <= 0 else min(limit, int(100 * events / top) + 1)
    return [n for n in range(low, high + 1) if _rounds_to(events, n, percent)]


def _p_value(match: re.Match[str]) -> dict[str, Any]:
    raw = match.group(2).replace(" ", "")
    relation = _RELATION.get(match.group(1), match.group(1))
    return {"relation": relation, "value": raw, "reported": match.group(0)}


def _exponent(m: re.Match[str]) -> int:
    raw = m.group(4) or m.group(5) or m.group(7) or (m.group(6) or "").translate(_SUPERSCRIPT)
    return int(raw)


_ADMIN_WORD = re.compile(
    r"infus\w*|inject\w*|dos(?:e|es|ed|ing)\b|administ\w*|given|receiv\w*|treated|"
    r"applied|transplant\w*|implant\w*|delivered",
    re.IGNORECASE,
)
_ASSESS_WORD = re.compile(
    r"assess\w*|measur\w*|evaluat\w*|collect\w*|follow\w*|visits?|sampl\w*|tested|"
    r"biops\w*|taken|obtained|recorded|monitor\w*|examin\w*|scann\w*|performed|outcomes?|"
    r"graded|scored|rated|reviewed|imaged|checked",
    re.IGNORECASE,
)


def _assessment(sentence: str, start: int) -> bool:
    """Whether the times at ``start`` are when something was measured, not given: the nearest
    cue word before them is an assessment word ("assessed at days 7, 14 and 28")."""
    before = sentence[:start]
    admin = [m.end() for m in _ADMIN_WORD.finditer(before)]
    assess = [m.end() for m in _ASSESS_WORD.finditer(before)]
    return bool(assess) and (not admin or assess[-1] > admin[-1])


_NEXT_AMOUNT = re.compile(
    r"^\s*(?:or|and|to|,|vs\.?)\s*\d+(?:\.\d+)?\s*(?:[×xX*]\s*10\s*(?:\^\s*\d{1,2}|\(\d{1,2}\)|"
    r"[⁰¹²³⁴⁵⁶⁷⁸⁹]{1,2}|\d{1,2})|million|billion)|^\s*\((?![^()]*(?:/kg|per\s+k))[^()]{1,40}\)"
)


def _after_amount(after: str) -> str:
    """The words after an amount, past "(group A, n=20)" and "or 2 × 10^7": "1 × 10^7 or
    2 × 10^7 cells/kg" gives both amounts the unit written once."""
    for _ in range(6):
        stripped = _NEXT_AMOUNT.sub("", after, count=1)
        if stripped == after:
            break
        after = stripped
    return after


_AMOUNT_LIST = re.compile(
    r"(?<![\w.:/^])((?:\d+(?:\.\d+)?\s*(?:million\s*|billion\s*)?(?:\([^()]{0,20}\))?\s*"
    r"(?:,\s*(?:and|or)?|and|or)\s+)+)$"
)


def _listed_before(sentence: str, start: int) -> list[float]:
    """The amounts of a list that shares the unit written after its last amount: "0.3, 1.0
    and 3.0 million cells/kg", "20 (n = 3), 100 (n = 3) or 200 million MSCs"."""
    window = sentence[max(0, start - 80) : start]
    m = _AMOUNT_LIST.search(window)
    if not m or re.search(
        r"(?:days?|weeks?|months?|years?|[nN]\s*=|aged?|grade|phase|cohorts?|groups?|arms?|"
        r"levels?)\s*$",
        window[: m.start()],
        re.I,
    ):
        return []
    text = re.sub(r"\([^()]*\)", " ", m.group(1))
    return [float(x) for x in re.findall(r"\d+(?:\.\d+)?", text)]


def _dose_unit(after: str) -> str | None:
    """``cells/kg`` or ``cells`` from the words after an amount; None when not a cell dose."""
    after = _after_amount(after)
    particles = re.match(
        r"^\s*(?:[\w-]+\s+){0,2}?(?:particles|vesicles|EVs|exosomes)\b", after, re.I
    )
    if particles:
        rest = after[particles.end() :]
        if re.match(r"\s*(?:/\s*kg|per\s+(?:kg|kilogram))", rest, re.I):
            return "particles/kg"
        return None if re.match(r"\s*/", rest) else "particles"
    if _PER_AREA.match(after):
        return "cells/cm2"
    if _PER_BSA.match(after):
        return "cells/m2"
    if _PER_OTHER.match(after):
        return None  # cells per cm, per mm³...: not a dose we can key
    if _NOT_DOSE_AFTER.match(after):
        return None
    if _PER_KG.match(after):
        return "cells/kg"
    return "cells"


def items_in(sentence: str) -> list[Item]:
    """Every numeric item of one sentence, as the sentence states it (no document context)."""
    sentence = decimal_points(re.sub(r"(?<=\d)[·•](?=\d)", ".", sentence))  # "0·45", "0,45"
    found: list[Item] = []
    used: list[tuple[int, int]] = []  # spans already read as part of a count

    def add(kind: str, m: re.Match[str], values: dict[str, Any], group: int | str = 0) -> None:
        found.append(Item(kind, m.group(group).strip(), values, sentence, m.start(group)))

    def overlaps(a: int, b: int) -> bool:
        return any(a < e and s < b for s, e in used)

    if not _THRESHOLD.search(sentence):
        for m in _P.finditer(sentence):
            add("p_value", m, _p_value(m))
    estimates: list[tuple[int, int]] = []
    for m in _ESTIMATE.finditer(sentence):
        values: dict[str, Any] = {
            "measure": _measure(m),
            "value": _float(m.group("value")),
            "low": _float(m.group("low")),
            "high": _float(m.group("high")),
            "level": _level(m.group("level")),
        }
        unit = (m.group("unit") or "").strip()
        if unit and unit.lower() not in ("ci", "vs"):
            values["unit"] = unit
        if values["measure"] == "difference" and unit.lower().startswith("percentage point"):
            values["measure"] = "RD"
        add("estimate", m, values)
        estimates.append((m.start(), m.end()))
    # "aHR 0.47 [0.24-0.93]", "OR 2.1 (1.2 to 3.4)": an estimate with its interval, no "CI"
    for m in _ESTIMATE_NO_CI.finditer(sentence):
        if any(s <= m.start() < e for s, e in estimates):
            continue
        value, low, high = (_float(m.group(g)) for g in ("value", "low", "high"))
        if low <= value <= high:
            name = _measure(_MEASURE_WORD.match(m.group("measure")) or m)
            values = {"measure": name, "value": value, "low": low, "high": high}
            values["level"] = "not stated"
            add("estimate", m, values)
            estimates.append((m.start(), m.end()))
    for m in _CI.finditer(sentence):
        ci_unit = "%" if m.group(3) else ""
        low, high = _float(m.group(2)), _float(m.group(4))
        add("ci", m, {"level": _level(m.group(1)), "low": low, "high": high, "unit": ci_unit})
        if not any(s <= m.start() < e for s, e in estimates):
            shared = _shared_measure(sentence, m.start(), estimates)
            if shared is not None:
                measure, value, unit, start = shared
                values = {"measure": measure, "value": value, "low": low, "high": high}
                values["level"] = _level(m.group(1))
                if unit:
                    values["unit"] = unit
                found.append(Item("estimate", sentence[start : m.end()], values, sentence, start))
    if not estimates:
        for m in re.finditer(r"\bdifference of\s+([−–-]?\d+(?:\.\d+)?)\s*(%?)", sentence, re.I):
            add("estimate", m, {"difference": _float(m.group(1)), "unit": m.group(2)})

    # "61% in 108 contemporaneous controls", "40% of the 25 patients": the percentage of a
    # stated number of people is a count, when a whole number of them gives it
    for m in _PCT_IN_N.finditer(sentence):
        stated = word_number(m.group(2))
        if stated and not _PERCENT_NOT_RATE_BEFORE.search(sentence[: m.start()]):
            of_stated = round(float(m.group(1)) * stated / 100)
            if _rounds_to(of_stated, stated, m.group(1)):
                how = f"{m.group(1)}% of the {stated} stated"
                values = {"events": of_stated, "n": stated, "percent": m.group(1), "derived": how}
                add("count", m, values)
                used.append((m.start(), m.end()))
    # "11 (21%) of 52 patients" (the Lancet's order)
    for m in _K_PCT_OF_N.finditer(sentence):
        events, n = word_number(m.group(1)), word_number(m.group(3))
        if events is not None and n and events <= n and _rounds_to(events, n, m.group(2)):
            add("count", m, {"events": events, "n": n, "percent": m.group(2)})
            used.append((m.start(), m.end()))
    # counts: "k of N", "k/N", each with the percentage that follows it, if any
    for regex in (_K_OF_N, _FRACTION):
        for m in regex.finditer(sentence):
            if overlaps(m.start(), m.end()):
                continue
            if regex is _FRACTION and _NOT_FRACTION_BEFORE.search(sentence[: m.start()]):
                continue
            if (
                regex is _FRACTION
                and (
                    (1900 <= int(m.group(2)) <= 2100 and int(m.group(1)) <= 12)  # "03/2018": a date
                    or re.match(r"\s+of\b", sentence[m.end() :])  # "2/3 of patients": a proportion
                    or re.search(
                        r"\b(?:about|approximately|nearly|almost|roughly|over|some)\s+$",
                        sentence[: m.start()],
                        re.I,
                    )
                )
            ):
                continue
            events, n = word_number(m.group(1)), word_number(m.group(2))
            if events is None or n is None or n == 0 or events > n:
                continue
            if regex is _K_OF_N and m.group(1).lower() == "no":
                continue
            values = {"events": events, "n": n}
            end = m.end()
            pct = _PCT_AFTER.match(sentence[m.end() :])
            if pct and _rounds_to(events, n, pct.group(1)):
                values["percent"] = pct.group(1)
                end = m.end() + pct.end()
            before = re.search(r"(\d+(?:\.\d+)?)\s*%\s*\(\s*$", sentence[: m.start()])
            start = m.start()
            if before and _rounds_to(events, n, before.group(1)):  # "17.9% (10/56)"
                values["percent"] = before.group(1)
                start = before.start()
            found.append(Item("count", sentence[start:end].strip(), values, sentence, start))
            used.append((start, end))
    # "k (p%)", "eleven treated patients (91.7%)", "in eleven (91.7%)": n from the percentage
    for m in _PCT_PAREN.finditer(sentence):
        if overlaps(m.start(), m.end()):
            continue
        window = sentence[max(0, m.start() - 60) : m.start()]
        numbers = list(re.finditer(rf"(?<![\w.\-−/])({_COUNT})(?![\w.])", window, re.I))
        if not numbers:
            continue
        back = numbers[-1]  # the number nearest the percentage
        words = window[back.end() :].lower().split()
        if len(words) > 3 or any(w in _STOP or not re.fullmatch(r"[a-z][\w'-]*", w) for w in words):
            continue
        lead = sentence[: max(0, m.start() - 60) + back.start()]
        if re.search(r"(?:day|week|month|year|aged?|grade|phase|[<>≤≥=±])\s*$", lead, re.I):
            continue
        count = word_number(back.group(1))
        if count is None or back.group(1).lower() == "no":
            continue
        start = max(0, m.start() - 60) + back.start()
        candidates = _n_from_percent(count, m.group(1))
        values = {"events": count, "percent": m.group(1), "n_candidates": candidates[:5]}
        found.append(Item("count", sentence[start : m.end()].strip(), values, sentence, start))
        used.append((start, m.end()))
    for m in _GROUP_COUNT.finditer(sentence):
        count = word_number(m.group(1))
        if (
            count is None
            or overlaps(m.start(), m.end())
            or re.search(
                r"(?:days?|weeks?|months?|years?|grade|phase|[=<>±])\s*$",
                sentence[: m.start()],
                re.I,
            )
            or re.search(
                r"\b(?:days?|weeks?|months?|years?|hours?|h|mg|mL|points?|%)\b",
                m.group(0)[len(m.group(1)) :],
                re.I,
            )
            or _MEASURE_BEFORE.search(sentence[: m.start()])
        ):  # "by day 7 in the MSC group", "within 3 days in the treated group"
            continue
        add("group_count", m, {"events": count, "group": m.group(2).strip()})
    # "Two patients in the control group and none receiving exosomes died"
    for m in re.finditer(
        r"\b(none|no\s+one)\s+(?:receiving|given|on|treated\s+with|who\s+received)\s+(?:the\s+)?"
        r"((?:[\w-]+\s+)?(?:[\w-]*MSCs?|cells|placebo|exosomes?|secretome|vesicles?|EVs?|saline|"
        r"sham|controls?|standard|usual))\b",
        sentence,
        re.I,
    ):
        if not overlaps(m.start(), m.end()):
            add("group_count", m, {"events": 0, "group": m.group(2)})
    # "… in 2 patients in the 25-million group and in none of the other groups": 0 in each
    for m in re.finditer(
        rf"\b(?:none|no\s+{_PEOPLE}|no\s+one)\s+(?:in|of)\s+the\s+other\s+(?:groups|arms|cohorts)\b",
        sentence,
        re.I,
    ):
        add("arm_count", m, {"events": 0, "others": True})
    for m in re.finditer(  # "Serious adverse events: none in either group"
        rf"\b(?:none|no\s+{_PEOPLE}|no\s+one)\s+in\s+(?:either|each|both)\s+(?:groups?|arms?)\b",
        sentence,
        re.I,
    ):
        add("arm_count", m, {"events": 0})
    # "Headache … occurred in 7 IT patients": a count of the arm labelled "IT"
    for m in re.finditer(
        rf"\bin\s+({_COUNT})\s+((?-i:[A-Z][A-Z\d+-]+))\s+{_PEOPLE}\b", sentence, re.I
    ):
        k = word_number(m.group(1))
        if k is not None and not overlaps(m.start(), m.end()):
            add("group_count", m, {"events": k, "group": m.group(2), "named": True}, 1)
    # "occurred in 3 (MSC) and 5 (placebo) patients": each count with its arm's label after it
    for m in re.finditer(
        rf"(?<![\w.\-−/])({_COUNT})\s*\(\s*({_ARM_WORDS})\s*\)\s*"
        rf"(?:and|vs\.?|versus|or|,)\s*({_COUNT})\s*\(\s*({_ARM_WORDS})\s*\)"
        rf"(?:\s+{_PEOPLE})?",
        sentence,
        re.I,
    ):
        for g in (1, 3):
            count = word_number(m.group(g))
            if count is not None and not overlaps(m.start(g), m.end(g)):
                add("group_count", m, {"events": count, "group": m.group(g + 1)}, g)
    # "in 12 of the MSC recipients compared with 6 of the controls": a count of a named arm
    for m in _OF_GROUP.finditer(sentence):
        count = word_number(m.group(1))
        if count is None or overlaps(m.start(), m.end()) or _NUMBER.search(m.group(2)):
            continue
        group = m.group(2) + ("control" if m.group(3).lower().startswith("control") else "")
        add("group_count", m, {"events": count, "group": group.strip()})
    for m in re.finditer(  # "Serious adverse events: n = 2 vs n = 3"
        r":\s*[nN]\s*=\s*(\d+)\s*(?:vs\.?|versus)\s*[nN]\s*=\s*(\d+)\b(?!\s*[(\[]\s*\d)", sentence
    ):
        add("comparison", m, {"counts": [int(m.group(1)), int(m.group(2))]})
        used.append((m.start(), m.end()))
    for m in _VS_COUNTS.finditer(sentence):
        if overlaps(m.start(), m.end()):
            continue
        x, y = word_number(m.group(1)), word_number(m.group(2))
        if re.search(r"\b(?:median|mean|average|IQR|range)\W{0,3}$", sentence[: m.start()], re.I):
            continue  # "(median 7 vs 14)" compares values, not counts
        if _MEASURE_BEFORE.search(sentence[: m.start()]):
            continue  # "vasopressor-free days were 19 vs 16"
        if x is not None and y is not None:
            add("comparison", m, {"counts": [x, y]})
    if (
        _EVENT_VERB.search(sentence)
        or _OUTCOME_VERB.search(sentence)
        or re.match(r"\s*[A-Z][\w -]{2,40}:\s+\d", sentence)
    ):
        for m in _AND_COUNTS.finditer(sentence):
            x, y = word_number(m.group(1)), word_number(m.group(2))
            if (
                x is None
                or y is None
                or overlaps(m.start(), m.end())
                or _GENDER.search(m.group(0))  # "in 8 men and 7 women": not the arms
                or _ARM_AND_LABELS_VERB.match(sentence[m.end() :].lstrip())  # arm sizes
                or (  # "one GMFCS level … in 10 children … and 3 controls": people, not levels
                    _MEASURE_BEFORE.search(sentence[: m.start()])
                    and not re.search(rf"\b{_PEOPLE}\b", m.group(0), re.I)
                )
            ):
                continue
            add("comparison", m, {"counts": [x, y]})
            used.append((m.start(), m.end()))
        for m in _LIST_COUNTS.finditer(sentence):
            counts = [word_number(w) for w in re.split(r"\s*,\s*(?:and\s+)?|\s+and\s+", m.group(1))]
            lead = sentence[: m.start()]
            if (
                None in counts
                or overlaps(m.start(), m.end())
                or _GENDER.search(m.group(0))
                or (  # "improved by 5 points or more in 6, 9 and 11 patients": responders
                    _MEASURE_BEFORE.search(lead)
                    and not re.search(r"or\s+more|at\s+least|≥|>=|or\s+less|≤", lead[-60:])
                )
            ):
                continue
            add("comparison", m, {"counts": counts}, 1)
            used.append((m.start(), m.end()))
    if _EVENT_VERB.search(sentence) or _OUTCOME_VERB.search(sentence):
        for m in _BARE_COUNT.finditer(sentence):
            count = word_number(m.group(1))
            if (
                count is not None
                and m.group(1).lower() != "no"
                and not overlaps(m.start(), m.end())
                and not _GENDER.search(m.group(0))
                and not _MEASURE_BEFORE.search(sentence[: m.start()])
            ):
                add("bare_count", m, {"events": count}, 1)
        for m in _BARE_SUBJECT.finditer(sentence):
            g = next(i for i in (1, 2, 3) if m.group(i))
            count = word_number(m.group(g))
            if (
                count is not None
                and m.group(g).lower() not in ("no", "none")
                and not overlaps(m.start(g), m.end())
                and not _GENDER.search(m.group(0))
                and not _MEASURE_BEFORE.search(sentence[: m.start()])
            ):
                add("bare_count", m, {"events": count}, g)
        for m in _ON_ARM_COUNT.finditer(sentence):
            count = word_number(m.group(1))
            if (
                count is not None
                and not overlaps(m.start(), m.end())
                and not _GENDER.search(m.group(0))
                and not re.search(r"\b(?:of|total|all)\s+$", sentence[: m.start()], re.I)
                and not _ARM_AND_LABELS_VERB.match(sentence[m.end() :].lstrip())
            ):
                if m.group(3):  # "with CAP-1002": only the arm introduced by that name
                    add("group_count", m, {"events": count, "group": m.group(3), "named": True})
                else:
                    add("group_count", m, {"events": count, "group": m.group(2)})
    if not (_EVENT_VERB.search(sentence) or _OUTCOME_VERB.search(sentence)):
        # a verbless note: "Hypersensitivity reactions in 2 pts on CAP-1002 (both mild)"
        for m in _ON_ARM_COUNT.finditer(sentence):
            count = word_number(m.group(1))
            if (
                count is not None
                and re.search(r"\bin\s+$", sentence[: m.start()])
                and not overlaps(m.start(), m.end())
                and not _GENDER.search(m.group(0))
                and not _ARM_AND_LABELS_VERB.match(sentence[m.end() :].lstrip())
            ):
                if m.group(3):
                    add("group_count", m, {"events": count, "group": m.group(3), "named": True})
                else:
                    add("group_count", m, {"events": count, "group": m.group(2)})
    for m in _COLON_LIST.finditer(sentence):
        if re.match(  # "Days: 1, 3 and 5", "Doses: …": not counts
            r"\s*(?:days?|weeks?|months?|years?|doses?|ages?|times?|time\s+points?|visits?|"
            r"scores?|levels?|grades?|phases?|cohorts?|sessions?)\b",
            m.group("label"),
            re.I,
        ) or overlaps(m.start("list"), m.end("list")):
            continue
        parts = re.split(r"\s*,\s*(?:and\s+)?|\s+and\s+", m.group("list"))
        counts = [word_number(w) for w in parts]
        if None not in counts:
            add("comparison", m, {"counts": counts}, "list")
            used.append((m.start("list"), m.end("list")))
    for m in re.finditer(
        rf"\bOf\s+(?:those|the\s+{_PEOPLE}|{_PEOPLE})\b[^,;()]{{0,60}}\(\s*[nN]\s*=\s*(\d+)\s*\)\s*,\s*"
        rf"({_COUNT})\s+(?!{_PEOPLE}\s+(?:were|was)\b)",
        sentence,
        re.I,
    ):  # "Of those with ulcers (n = 14), 9 healed": 9 of the 14
        n, k = int(m.group(1)), word_number(m.group(2))
        if k is not None and k <= n and not overlaps(m.start(2), m.end(2)):
            add("count", m, {"events": k, "n": n, "derived": f"{k} of the {n} named first"}, 2)
            used.append((m.start(), m.end()))
    for m in _OF_N_K.finditer(sentence):
        n, k = word_number(m.group(1)), word_number(m.group(2))
        if n is None or k is None or k > n or overlaps(m.start(2), m.end(2)):
            continue
        how = f"{k} of the {n} the sentence begins with"
        add("count", m, {"events": k, "n": n, "derived": how}, 2)
        more = re.search(
            rf"\band\s+({_COUNT})\s+(?:in|on|at|for|by|with|(?:{_PEOPLE}\s+)?(?:had|developed|"
            r"died|experienced|required|needed|reported|showed|achieved|reached|improved|"
            r"responded|relapsed|progressed))\b",
            sentence[m.end() : m.end() + 120],
            re.I,
        )
        k2 = word_number(more.group(1)) if more else None
        if more and k2 is not None and k2 <= n:
            found.append(
                Item(
                    "count",
                    more.group(1),
                    {"events": k2, "n": n, "derived": how},
                    sentence,
                    m.end() + more.start(1),
                )
            )
    # "In the cell group, headache occurred in 3 cases and fever in 2 cases.": that group's
    lead_group = re.match(
        r"\s*(?:In|Among)\s+the\s+((?:[\w-]+\s+){1,2}?)(?:group|arm)\s*,", sentence
    )
    if lead_group:
        for m in re.finditer(
            rf"\bin\s+({_COUNT})\s+{_PEOPLE}\b(?!\s*\()", sentence[lead_group.end() :]
        ):
            k = word_number(m.group(1))
            if k is not None and m.group(1).lower() != "no":
                start = lead_group.end() + m.start(1)
                found.append(
                    Item(
                        "group_count",
                        m.group(0),
                        {"events": k, "group": lead_group.group(1).strip()},
                        sentence,
                        start,
                    )
                )
    for m in re.finditer(
        rf"\bAll\s+(?:the\s+|of\s+the\s+)?({_NUM})\s+(?:[\w-]+\s+)?{_PEOPLE}\b[^,;.]{{0,40}}?\s"
        r"(?:reached|achieved|attained|responded|survived|had|developed|improved|recovered|healed|"
        r"remained|showed)\b",
        sentence,
        re.I,
    ):
        k = word_number(m.group(1))
        if k and not overlaps(m.start(), m.end()):
            add("count", m, {"events": k, "n": k, "derived": f"all {k} of them"})
    for m in re.finditer(rf"\b({_COUNT})\s+([\w]+)-treated\s+{_PEOPLE}\b", sentence, re.I):
        k = word_number(m.group(1))
        if k is not None and not overlaps(m.start(), m.end()):
            add("group_count", m, {"events": k, "group": m.group(2)})
    for m in re.finditer(
        rf"\b({_COUNT})\s+(?:{_PEOPLE}\s+)?(?:in|of)\s+(?:group|arm)\s+(I{{1,3}}|IV|[A-Z]|\d)\b",
        sentence,
    ):  # "in group A and 3 in group B", "7 patients of group I and 5 of group II"
        k = word_number(m.group(1))
        if k is not None and not overlaps(m.start(), m.end()):
            add("group_count", m, {"events": k, "group": f"group {m.group(2)}", "named": True})
    earlier = any(i.kind in ("comparison", "count") for i in found)
    if earlier:
        for m in re.finditer(
            rf"\band\s+(?:was\s+|were\s+)?(?:[a-z]+\s+){{0,3}}?in\s+({_COUNT})(?=\s*(?:[.;)]|,\s|$))",
            sentence,
            re.I,
        ):
            k = word_number(m.group(1))
            if (
                k is not None
                and not overlaps(m.start(1), m.end(1))
                and not re.search(
                    r"(?:days?|weeks?|months?|years?)\s+$", sentence[: m.start(1)], re.I
                )
            ):
                add("bare_count", m, {"events": k}, 1)
    for m in _ELLIPTIC_PAIR.finditer(sentence):
        x, y = word_number(m.group(1)), word_number(m.group(2))
        if (
            x is None
            or y is None
            or overlaps(m.start(), m.end())
            or not (earlier or _EVENT_VERB.search(sentence))
            or re.search(
                r"(?:days?|weeks?|months?|years?|grades?|phases?|aged?)\s*$",
                sentence[: m.start()],
                re.I,
            )
        ):
            continue
        add("comparison", m, {"counts": [x, y]})
        used.append((m.start(), m.end()))
    for m in _RESPECTIVELY.finditer(sentence):
        x, y = word_number(m.group(1)), word_number(m.group(2))
        people = re.search(
            rf"{_PEOPLE}", m.group(0), re.I
        )  # "index improved in 26 and 11 patients"
        if _MEASURE_BEFORE.search(sentence[: m.start()]) and not people:
            continue
        if x is not None and y is not None and not overlaps(m.start(), m.end()):
            add("comparison", m, {"counts": [x, y]})
    for m in _VS_PERCENT.finditer(sentence):
        if not overlaps(m.start(), m.end()) and not any(s <= m.start() < e for s, e in estimates):
            add("comparison", m, {"percent": [m.group(1), m.group(2)]})
    for m in _PERCENT.finditer(sentence):
        if overlaps(m.start(), m.end()) or any(s <= m.start() < e for s, e in estimates):
            continue
        after = sentence[m.end() :]
        if re.match(r"\s*(?:CI|CrI|confidence|credible)", after):
            continue
        pair = re.search(
            r"(\d+(?:\.\d+)?)\s*%\s+(?:[a-z-]+\s+){0,3}?(?:vs\.?|versus|and|or)\s+(?:[a-z-]+\s+){0,3}?$",
            sentence[: m.start()],
            re.I,
        )  # "fell by 62% vs 35%": the 35% is a change as its partner is
        rate = not (
            (pair and _PERCENT_NOT_RATE_BEFORE.search(sentence[: pair.start()]))
            or ("." not in m.group(1) and _LONG_TERM.search(sentence))
            or _N_YEAR_SURVIVAL.search(sentence)
            or _PERCENT_NOT_RATE_BEFORE.search(sentence[: m.start()])
            or _PERCENT_NOT_RATE_AFTER.match(after)
            or re.match(r"\s*(?:,\s*)?\d+(?:\.\d+)?\s*%?\s*(?:to|–|-)\s*\d", after)
            or re.search(r"(?:[-–]|\bto)\s*$", sentence[: m.start()])
        )
        add("percent", m, {"percent": m.group(1), "rate": rate})

    # arm sizes
    allocation = _ALLOCATION.search(sentence)
    for m in _ARM_N.finditer(sentence):
        if re.search(r"\b(?:total|overall|all|enrolled)\W{0,3}$", sentence[: m.start(2)], re.I):
            continue
        # "Headache (n = 4) and transient fever (n = 3) occurred only in the MSC group": events
        event_after = re.match(
            r"[^.;]{0,60}?\b(?:occurred|developed|(?:were|was)\s+(?:seen|observed|reported|noted))\b"
            r"([^.;]*)",
            sentence[m.end() :],
            re.I,
        )
        if event_after and not re.search(
            r"randomi|assign|allocat|receiv|enrol|includ|treated\s+with|divided",
            sentence[: m.start()],
            re.I,
        ):
            arm = re.search(
                r"\bin\s+the\s+([\w-]+(?:\s+[\w-]+)?)\s+(?:group|arm)\b", event_after.group(1)
            )
            k = int(m.group(2))
            if arm:
                add("group_count", m, {"events": k, "group": arm.group(1)}, 2)
            else:
                add("bare_count", m, {"events": k}, 2)
            continue
        if (
            re.match(  # "Patients (n = 40) were randomized 1:1 to …": all of them, not an arm
                r"\)?\s*(?:were|was)\s+(?:\w+\s+)?(?:randomi[sz]ed|allocated|assigned|enrolled|"
                r"included|recruited)\b",
                sentence[m.end() :],
                re.I,
            )
            and not re.search(
                r"(?:group|arm|cohort)\W*\(?\s*[nN]\s*[=:]\s*$", sentence[: m.start(2)], re.I
            )
        ):
            add("total_n", m, {"n": int(m.group(2)), "enrolment": True}, 2)
            continue
        if re.match(r"\s*[(\[]\s*\d+(?:\.\d+)?\s*%", sentence[m.end() :]) or re.search(
            r":\s*(?:[nN]\s*=\s*\d+\s*(?:\(\s*\d+(?:\.\d+)?\s*%\s*\))?\s*(?:vs\.?|versus|and|,)\s*)?"
            r"[nN]\s*=\s*$",
            sentence[: m.start(2)],
        ):  # "Complete response: n = 9 (45%) vs n = 4 (20%)": counts, not arms
            pct = re.match(r"\s*[(\[]\s*(\d+(?:\.\d+)?)\s*%", sentence[m.end() :])
            k = int(m.group(2))
            if pct:
                values = {"events": k, "percent": pct.group(1)}
                values["n_candidates"] = _n_from_percent(k, pct.group(1))[:5]
                add("count", m, values, 0)
            continue
        if not allocation:  # "transient fever (n = 3)": a count, not an arm
            lead = sentence[: m.start(2)]
            if not (
                re.search(r"\d\s*\(?\s*$|\b(?:total|all)\W*$", lead)
                or re.search(  # "Among children without disability (n = 56)": a subset
                    rf"\b(?:among|in|of|for|with)\s+(?:[\w-]+\s+){{0,5}}?[\w-]+\s*\(?\s*[nN]\s*=\s*$|"
                    rf"{_PEOPLE}\b[^()]*\(?\s*[nN]\s*=\s*$",
                    lead[-80:],
                    re.I,
                )
            ):  # "graft hypertrophy (n = 7)": that many patients had it
                add("bare_count", m, {"events": int(m.group(2))}, 2)
            continue
        if re.search(  # "in the 23- to 24-week subgroup (n = 13)": not an arm
            r"\b(?:subgroups?|subsets?|strat(?:um|a)|subpopulations?|intention-to-treat|"
            r"per-protocol|ITT|PP|safety|analysis|interim|populations?|sets?)\b",
            m.group(1),
            re.I,
        ) or re.search(  # "(NYHA class II, n = 38; class III, n = 72)": a severity subgroup
            r"\b(?:class|grade|stage|type|score)\s+(?:[IVX]+|\d+[a-c]?)\W*$", m.group(1), re.I
        ):
            continue
        pct_before = re.search(r"(\d+(?:\.\d+)?)\s*%\s*\(\s*[nN]\s*=\s*$", sentence[: m.start(2)])
        if pct_before:  # "60% (n = 12)": 12 patients, 60% of their arm
            k = int(m.group(2))
            values = {"events": k, "percent": pct_before.group(1)}
            values["n_candidates"] = _n_from_percent(k, pct_before.group(1))[:5]
            add("count", m, values, 2)
            continue
        label = " ".join(
            w
            for w in re.split(r"[\s,:;]+", m.group(1))
            if w and w.lower() not in {"or", "and", "the", "to", "either", "n"}
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
    for m in _COHORT_OF.finditer(sentence):
        n = word_number(m.group(1))
        if n is not None:
            add("arm_size", m, {"n": n, "label": None, "each_group": bool(m.group(2))}, 0)
    for m in _ARM_PAREN.finditer(sentence):
        n = word_number(m.group(1))
        if re.search(r"\d\s*%\s*$", sentence[: m.start()]):
            continue  # "healing was seen in 63% (12 patients)": a count, not an arm
        sample = re.search(rf"(?<![\w-])({_NUM})\s+{_PEOPLE}\s*$", sentence[: m.start()], re.I)
        if sample:  # "Twenty patients (20 eyes)": the sample, counted in two units
            total = word_number(sample.group(1))
            found[:] = [i for i in found if not (i.kind == "total_n" and i.values["n"] == total)]
            found.append(
                Item(
                    "total_n",
                    sample.group(0),
                    {"n": total, "enrolment": True},
                    sentence,
                    sample.start(),
                )
            )
        elif n is not None:
            add("arm_size", m, {"n": n, "label": None, "each_group": False})
    if re.search(r"randomi[sz]|assigned|allocated", sentence, re.I):
        for m in _ARM_PAREN_LAST.finditer(sentence):
            opening = sentence.rfind("(", 0, m.start())
            inside = sentence[opening + 1 : m.start()] if opening >= 0 else ""
            n = word_number(m.group(1))
            if (
                n is not None
                and opening >= 0
                and ")" not in inside
                and not _GENDER.search(m.group(0))
                and not _EVENT_VERB.search(inside)
                and "%" not in inside
            ):
                add("arm_size", m, {"n": n, "label": None, "each_group": False}, 1)
    if re.search(r"analy[sz]ed|randomi[sz]ed|enrolled|included|allocated|assigned", sentence, re.I):
        for m in _ARM_LABEL_FIRST.finditer(sentence):
            if _GENDER.search(m.group(0)) or re.search(
                r"\b(?:aged?|mean|median|range|IQR|SD|years?|days?|weeks?|months?|n)\b",
                m.group(0),
                re.I,
            ):
                continue
            for g in (1, 2, 3):
                n = word_number(m.group(g) or "")
                if n:
                    add("arm_size", m, {"n": n, "label": None, "each_group": False}, g)
    for m in re.finditer(
        rf"\b[\w-]+\s+(?:arm|group)\s*[,:]\s*({_NUM})\s+{_PEOPLE}\b(?!\s+(?:had|died|developed))",
        sentence,
        re.I,
    ):  # "cell arm, 15 patients; sham arm, 15 patients"
        n = word_number(m.group(1))
        if n and not _GENDER.search(m.group(0)):
            add("arm_size", m, {"n": n, "label": None, "each_group": False}, 1)
    for m in _COMPARED_ARMS.finditer(sentence):
        if not _GENDER.search(m.group(0)):
            for g in (1, 2):
                n = word_number(m.group(g))
                if n:
                    add("arm_size", m, {"n": n, "label": None, "each_group": False}, g)
    for m in _ARM_AND_LABELS.finditer(sentence):
        # "Twenty-nine patients completed the study: 15 in the MSC arm and 14 in the control arm"
        verb_before = re.search(
            r"\b(?:analy[sz]ed|randomi[sz]ed|enrolled|included|completed|evaluable|treated)\b"
            r"[^.;:]{0,40}:\s*$",
            sentence[: m.start()],
            re.I,
        )
        if m.group(5) and verb_before and not _GENDER.search(m.group(0)):
            pass
        elif m.group(3):  # "204 patients (102 MSC and 102 placebo) were randomised"
            verb = re.search(
                r"randomi[sz]|enrol|allocat|assign|includ|recruit|analy[sz]", sentence, re.I
            )
            if _GENDER.search(m.group(0)) or not verb:
                continue
        elif _GENDER.search(m.group(0)) or not _ARM_AND_LABELS_VERB.match(sentence[m.end() :]):
            continue
        for g in (1, 2, 3, 4, 5, 6):
            n = word_number(m.group(g) or "")
            if n:
                add("arm_size", m, {"n": n, "label": None, "each_group": False}, g)
    for m in re.finditer(
        rf"\b(?:two|three|four|five|six|[2-6])\s+(?:equal\s+)?(?:groups|arms|cohorts)\s+of\s+({_NUM})\b"
        rf"(?!\s*(?:%|years?|days?|weeks?|months?|mg|mL|cells|×)|\s+(?:[\w-]+\s+)?each\b)",
        sentence,
        re.I,
    ):  # "randomly assigned to four groups of 20" ("of three patients each": read below)
        n = word_number(m.group(1))
        if n is not None and n > 1:
            add("arm_size", m, {"n": n, "label": None, "each_group": True}, 1)
    for m in re.finditer(
        rf"\b({_NUM})\s+(?:{_PEOPLE}\s+)?(?:were\s+)?(?:treated|enrolled|included|dosed)\s+at\s+each\s+"
        r"(?:of\s+the\s+(?:first\s+|lower\s+)?(?:two|three|four|[2-4])\s+)?(?:dose\s+)?"
        rf"(?:levels?|doses|cohorts)(?:\s+and\s+({_NUM})\s+at\s+the\s+(?:highest|top|last|third|"
        r"fourth)\b)?",
        sentence,
        re.I,
    ):  # "Three patients were treated at each of the first two dose levels and six at the highest"
        for g, each in ((1, True), (2, False)):
            n = word_number(m.group(g) or "")
            if n:
                add("arm_size", m, {"n": n, "label": None, "each_group": each}, g)
    for m in re.finditer(
        rf"\b(?:groups|arms|cohorts)\s+each\s+(?:comprised|included|had|consisted\s+of|enrolled)\s+"
        rf"({_NUM})\s+{_PEOPLE}\b",
        sentence,
        re.I,
    ):  # "The low-, mid- and high-dose groups each comprised eight patients"
        n = word_number(m.group(1))
        if n:
            add("arm_size", m, {"n": n, "label": None, "each_group": True}, 1)
    for m in _ARM_EACH.finditer(sentence):
        n = word_number(m.group(1) or m.group(2))
        if n is None:
            continue
        if (
            n == 1
            or re.search(
                rf"\b(?:in|occurred|had|developed|died|experienced|reported|required)\s+$|"
                rf"{_PEOPLE}\s*,\s*$",
                sentence[: m.start()],
                re.I,
            )
            or re.match(
                r"\s*(?:withdrew|died|had|developed|experienced|required|discontinued|dropped|"
                r"were\s+(?:excluded|lost|withdrawn)|was\s+(?:excluded|lost|withdrawn))\b",
                sentence[m.end() :],
                re.I,
            )
        ):  # "pneumothorax occurred in one infant per group": a count in every arm
            add("arm_count", m, {"events": n})
        else:
            add("arm_size", m, {"n": n, "label": None, "each_group": True})
    received = [(m, 1) for m in _ARM_RECEIVED.finditer(sentence) if word_number(m.group(1))]
    received += [
        (m, next(g for g in (1, 2, 3, 4) if m.group(g)))
        for m in _ARM_AND_A.finditer(sentence)
        if word_number(m.group(1) or m.group(2) or m.group(3) or m.group(4) or "")
    ]
    compared = [(m, 1) for m in _ARM_COMPARED.finditer(sentence) if word_number(m.group(1))]
    received += compared
    if not received[len(compared) :] and len(compared) == 1:
        m = compared[0][0]
        # "compared with 61% in 108 contemporaneous controls": the 108 are the controls
        pct_of = re.match(r"\w+\s+\w+\s+\d+(?:\.\d+)?\s*%\s+\w+\s+", m.group(0)) is not None
        if (
            not re.search(r"\s(?:of|in|at|on|per|from)\s", m.group(0)[m.start(1) - m.start() :])
            and not (
                _EVENT_VERB.search(sentence)  # "required in one patient compared with four in …"
                and not pct_of
            )
            and re.search(
                r"concurrent|matched|historical|untreated|controls?\b|did\s+not\s+receive|"
                r"no\s+cells",
                sentence[m.start() : m.end() + 60],
                re.I,
            )
        ):
            n = word_number(m.group(1))
            add("arm_size", m, {"n": n, "label": None, "each_group": False, "control": True}, 1)
            received = []
    # "21 concurrent patients who … did not receive cells formed an observational cohort"
    for m in re.finditer(
        rf"(?<![\w.\-/])({_NUM})\s+(?:[\w-]+\s+){{0,2}}?{_PEOPLE}\b(?:(?!\d)[^.;()]){{0,100}}?\b(?:formed|served\s+as|"
        r"were\s+used\s+as|constituted|made\s+up)\s+(?:an?\s+|the\s+)?(?:[\w-]+\s+)?(?:control|"
        r"observational|comparison|reference)\s+(?:group|cohort|arm)\b",
        sentence,
        re.I,
    ):
        n = word_number(m.group(1))
        if n and not _GENDER.search(m.group(0)):
            add("arm_size", m, {"n": n, "label": None, "each_group": False, "control": True}, 1)
    for m in _ARM_WITH.finditer(sentence):
        for g in (1, 2):
            n = word_number(m.group(g))
            if n:
                add("arm_size", m, {"n": n, "label": None, "each_group": False}, g)
    for m in _ARM_TO.finditer(sentence):
        for g in (1, 2):
            n = word_number(m.group(g))
            if n:
                add("arm_size", m, {"n": n, "label": None, "each_group": False}, g)
    # one number matched by two patterns ("and 20 received") is one arm, not two
    received = list({r[0].start(r[1]): r for r in received}.values())
    if len(received) >= 2:
        for m, g in sorted(received, key=lambda r: r[0].start()):
            n = word_number(m.group(g))
            add("arm_size", m, {"n": n, "label": None, "each_group": False}, g)
    # "patients (n = 40) were randomized to MSCs (n = 20) or placebo (n = 20)": 40 is the total
    arm_items = [i for i in found if i.kind == "arm_size"]
    if len(arm_items) >= 3:
        for it in arm_items:
            if re.search(  # "cohort 3 (n = 6)" after "cohort 1 (n = 3); cohort 2 (n = 3)"
                r"\b(?:cohort|group|arm|level)\s+\w+\W*$", str(it.values.get("label") or ""), re.I
            ):
                continue
            if it.values["n"] == sum(o.values["n"] for o in arm_items if o is not it):
                found.remove(it)
                found.append(
                    Item(
                        "total_n",
                        it.text,
                        {"n": it.values["n"], "enrolment": True},
                        sentence,
                        it.start,
                    )
                )
                break
    for m in _TOTAL_N.finditer(sentence):
        total = word_number(m.group(1))
        if (
            total is not None
            and total >= 4
            and not any(
                word_number(w) is not None or w.lower() in ("vs", "versus", "and", "or")
                for w in m.group(0)[len(m.group(1)) :].split()[:-1]
            )
            and not overlaps(m.start(), m.end())
            and not re.search(r"\(\s*\d+(?:\.\d+)?\s*%", sentence[m.end() : m.end() + 8])
            and (
                not re.search(
                    r"\b(?:of|in|to|than|from|per|among|by)\s+(?:the\s+|all\s+)?$",
                    sentence[: m.start()],
                    re.I,
                )
                or re.search(r"(?:^|[:.;]\s*)Of(?: the| all)?\s+$", sentence[: m.start()])
                is not None
                or re.search(r"\btotal\s+of\s+$", sentence[: m.start()], re.I) is not None
            )
        ):  # "A total of 26 patients received MSCs"
            add("total_n", m, {"n": total, "enrolment": bool(_ENROLMENT.search(sentence))})
    for m in _ENROLLED_THEN_TREATED.finditer(sentence):
        g = 1 if m.group(1) else 3
        enrolled, treated = word_number(m.group(g)), word_number(m.group(g + 1))
        if enrolled and treated and treated < enrolled:
            found[:] = [i for i in found if not (i.kind == "total_n" and i.values["n"] == enrolled)]
            add("total_n", m, {"n": treated, "enrolment": True, "treated": True}, g + 1)
    for m in _TREATED_OF.finditer(sentence):
        treated = word_number(m.group(2))
        if treated:
            found[:] = [
                i
                for i in found
                if not (i.kind == "total_n" and i.values["n"] == word_number(m.group(1)))
            ]
            add("total_n", m, {"n": treated, "enrolment": True, "treated": True}, 2)
    for m in _RATIO.finditer(sentence):
        a, b, rest = next(
            (m.group(i), m.group(i + 1), m.group(i + 2)) for i in (1, 4, 7) if m.group(i)
        )
        parts = [a, b, *re.findall(r"\d", rest or "")]  # "1:1:1" to three arms
        add("ratio", m, {"ratio": ":".join(parts)})
    for m in _EQUAL_RATIO.finditer(sentence):
        arms = re.split(r"[.;(]", sentence[m.end() :], maxsplit=1)[0]
        if "," not in arms and len(re.findall(r"\b(?:or|and|versus|vs)\b", arms)) == 1:
            add("ratio", m, {"ratio": "1:1"})  # two arms named; "to A, B or C" is not 1:1
            continue
        # "in equal numbers to a low dose (…), a high dose (…) or placebo": as many as named
        item = r"(?:(?!\b(?:or|and)\b)[^,;.]){1,40}?"
        named_arms = re.match(
            rf"\s*to\s+(?:receive\s+)?({item}(?:,\s*{item}){{1,4}}),?\s+(?:or|and)\s+{item}[,;.]",
            re.sub(r"\s*\([^()]*\)", "", sentence[m.end() :]),
        )
        if named_arms:
            k = named_arms.group(1).count(",") + 2
            add("ratio", m, {"ratio": ":".join(["1"] * k)})

    # doses
    dose_spans = [(m.start(), m.end()) for m in _POWER.finditer(sentence)]

    def overlaps_dose(a: int, b: int) -> bool:
        return any(a < e and s < b for s, e in dose_spans)

    for m in _POWER.finditer(sentence):
        lead = sentence[: m.start()]
        if re.search(r"[Pp]\s*[=<>≤≥]\s*$|[=<>]\s*$", lead):
            continue
        unit = _dose_unit(sentence[m.end() : m.end() + 120])
        if unit is None:
            continue
        exponent = _exponent(m)
        amount = float(m.group(1)) * 10.0**exponent
        values = {"amount": amount, "unit": unit}
        if m.group(2):
            values = {"amount": amount, "high": float(m.group(2)) * 10.0**exponent, "unit": unit}
        if m.group(3):
            values["tolerance"] = float(m.group(3)) * 10.0**exponent
        add("dose", m, values)
        for listed in _listed_before(sentence, m.start()):  # "1, 3 or 5 × 10^6 cells/kg"
            amount_x = listed * 10.0**exponent
            found.append(
                Item("dose", m.group(0), {"amount": amount_x, "unit": unit}, sentence, m.start())
            )
    for m in re.finditer(
        r"(?<![\w.×xX*]\s)(?<![\w.×xX*])(\d+(?:\.\d+)?)\s*[eE]\s*\+?\s*(\d{1,2})\b", sentence
    ):
        unit = _dose_unit(sentence[m.end() : m.end() + 120])  # "1.0E+06 cells/kg"
        if unit is not None and int(m.group(2)) >= 3:
            add("dose", m, {"amount": float(m.group(1)) * 10.0 ** int(m.group(2)), "unit": unit})
    for m in _BARE_POWER.finditer(sentence):
        if overlaps_dose(m.start(), m.end()):
            continue
        unit = _dose_unit(sentence[m.end() : m.end() + 120])
        if unit is None or re.search(r"[=<>]\s*$", sentence[: m.start()]):
            continue
        exponent = int(m.group(1) or m.group(2).translate(_SUPERSCRIPT))
        add("dose", m, {"amount": 10.0**exponent, "unit": unit})
    between_spans: list[tuple[int, int]] = []
    for m in re.finditer(
        r"\bbetween\s+(\d+(?:\.\d+)?)\s+and\s+(\d+(?:\.\d+)?)\s+(million|billion)\b", sentence, re.I
    ):
        scale = 1e6 if m.group(3).lower() == "million" else 1e9
        unit = _dose_unit(sentence[m.end() : m.end() + 120])
        if unit is not None and _CELLS_AFTER.match(
            _after_amount(sentence[m.end() : m.end() + 100])
        ):
            low, high = float(m.group(1)) * scale, float(m.group(2)) * scale
            add("dose", m, {"amount": low, "high": high, "unit": unit})
            between_spans.append((m.start(), m.end()))
    # "1,000,000 cells/kg", "2 500 000 MSCs per kilogram": a whole number with thousands
    for m in re.finditer(r"(?<![\w.,])(\d{1,3}(?:([, ])\d{3})(?:\2\d{3})+)(?![\d,])", sentence):
        unit = _dose_unit(sentence[m.end() : m.end() + 120])
        after = _after_amount(sentence[m.end() : m.end() + 100])
        if unit is not None and (_CELLS_AFTER.match(after) or _PER_KG.match(after)):
            add("dose", m, {"amount": float(re.sub(r"[, ]", "", m.group(1))), "unit": unit})
    for m in _M_CELLS.finditer(sentence):
        unit = _dose_unit(sentence[m.end() : m.end() + 120])
        if unit is not None:
            per_letter = 1e6 if m.group(2) == "M" else 1e9
            add("dose", m, {"amount": float(m.group(1)) * per_letter, "unit": unit})
    for m in _MILLION.finditer(sentence):
        if any(s <= m.start() < e for s, e in between_spans):
            continue  # the end of "between 1 and 2 million"
        words = m.group(1).lower().split()
        # "150", "two hundred", "one hundred and fifty"
        mantissa = float(words[0]) if words[0][0].isdigit() else float(word_number(m.group(1)) or 0)
        if mantissa == 0:
            continue
        scale = 1e6 if m.group(3).lower() == "million" else 1e9
        unit = _dose_unit(sentence[m.end() : m.end() + 120])
        after = _after_amount(sentence[m.end() : m.end() + 100])
        cells_before = re.search(
            r"(?:cells?|MSCs?|SCs?|PCs?)\s*[(:,]?\s*(?:dose\s+)?(?:of\s+)?$",
            sentence[max(0, m.start() - 30) : m.start()],
            re.IGNORECASE,
        )  # "Cells (two hundred million) were infused"
        if unit is None or not (
            _CELLS_AFTER.match(after)
            or _PER_KG.match(after)
            or re.match(r"^\s*per\s+", after)
            or cells_before
        ):
            continue
        values = {"amount": mantissa * scale, "unit": unit}
        if m.group(2):
            values = {"amount": mantissa * scale, "high": float(m.group(2)) * scale, "unit": unit}
        add("dose", m, values)
        for listed in _listed_before(
            sentence, m.start()
        ):  # "20 (n = 3), 100 (n = 3) or 200 million"
            found.append(
                Item(
                    "dose",
                    m.group(0),
                    {"amount": listed * scale, "unit": unit},
                    sentence,
                    m.start(),
                )
            )
    for m in _VOLUME.finditer(sentence):
        if _NOT_VOLUME.search(sentence[m.start() : m.end() + 40]):
            continue
        measured = (
            re.search(  # "end-diastolic volume 200-370 mL", "injections of 0.5 mL each"
                r"(?:diastolic|systolic|tidal|residual|urine|lung|ventricular|stroke)\s+volumes?\b"
                r"[^.;]{0,15}$|\binjections?\s+of\s+$",
                sentence[: m.start()],
                re.I,
            )
            or re.match(r"\s*each\b", sentence[m.end() :])
        )
        if measured and not re.search(
            r"secretome|exosome|vesicle|conditioned|lysate|EVs?\b", sentence, re.I
        ):
            continue
        # "mean difference in FEV1 was 120 mL (95% CI 30-210 mL)": an outcome's value
        if any(s <= m.start() < e for s, e in estimates) or (
            re.search(
                r"(?:differen\w*|change|improv\w*|increas\w*|decreas\w*|CI|interval|FEV1?|FVC|"
                r"output|loss|[±])[^.;]{0,25}$",
                sentence[: m.start()],
                re.I,
            )
            and not re.match(
                r"\s*(?:of\s+)?(?:[\w-]+\s+)?(?:secretome|exosomes?|vesicles?|"
                r"conditioned|suspension|PRP|plasma|lysate|medium|EVs?)\b",
                sentence[m.end() :],
                re.I,
            )
        ):
            continue
        if re.search(  # "10 million cells in 1 mL": the cells' vehicle, not a dose of its own
            r"(?:cells?|MSCs?|SCs?|PCs?)\s+(?:(?:re)?suspended\s+|diluted\s+)?in\s+"
            r"(?:a\s+(?:total\s+)?volume\s+of\s+)?$",
            sentence[: m.start()],
            re.IGNORECASE,
        ):
            continue
        add("dose", m, {"amount": float(m.group(1)), "unit": "mL", "of": m.group(2)})

    # "dose range 1 × 10^8 to 3 × 10^8 cells": one range, not two doses
    doses = sorted(
        (i for i in found if i.kind == "dose" and "high" not in i.values), key=lambda i: i.start
    )
    for a, b in itertools.pairwise(doses):
        between = sentence[a.start + len(a.text) : b.start]
        if (
            re.fullmatch(r"\s*(?:to|–|-)\s*", between)
            and a.values.get("unit") == b.values.get("unit")
            and float(a.values["amount"]) < float(b.values["amount"])
            and a in found
            and b in found
        ):
            found.remove(a)
            found.remove(b)
            values = {
                "amount": a.values["amount"],
                "high": b.values["amount"],
                "unit": a.values["unit"],
            }
            found.append(
                Item("dose", sentence[a.start : b.start + len(b.text)], values, sentence, a.start)
            )

    # schedules
    for m in re.finditer(
        r"\bon\s+day\s+(\d+)\s+and\s+(?:one|another|a\s+second)\s+(?:[\w-]+\s+)?on\s+day\s+(\d+)\b",
        sentence,
        re.I,
    ):  # "one infusion on day 1 and one on day 3"
        if _ADMIN_CUE.search(sentence):
            add("schedule", m, {"days": [int(m.group(1)), int(m.group(2))]})
    for m in _DAYS.finditer(sentence):
        if re.search(
            r"\b(?:by|until|through|to|before|after|between|from|within)\s+$",
            sentence[: m.start(1)],
            re.I,
        ):
            continue
        if _assessment(sentence, m.start()):
            continue
        if not m.group(1).lower().endswith("s") and not re.search(r"and|&", m.group(3)):
            continue  # "at day 28, 24 children": a time point and a count, not a list
        times = [int(m.group(2)), *(int(d) for d in re.findall(r"\d+", m.group(3)))]
        key = "days" if m.group(1).lower().startswith("day") else "weeks"
        add("schedule", m, {key: times})
    for m in _APART.finditer(sentence):
        n = 2 if m.group(3) else word_number(m.group(1))
        unit = (m.group(4) or m.group(2)).lower()
        if re.search(r"\balternat\w*|cross-?over|cross(?:ed)?\s+over", sentence, re.I):
            continue  # "the alternate infusion 6 months later": a crossover's second period
        if n is not None and not _assessment(sentence, m.start()):
            add("schedule", m, {"every_hours": n * _UNIT_HOURS[unit]})
    for m in _SECOND_DOSE.finditer(sentence):
        number, unit = next((m.group(g), m.group(g + 1)) for g in (1, 3, 5) if m.group(g))
        n = word_number(number)
        if n is not None:
            add("schedule", m, {"every_hours": n * _UNIT_HOURS[unit.lower()]})
    for m in _INTERVAL.finditer(sentence):
        groups = [g for g in m.groups() if g]
        n = word_number(groups[0])
        if n is not None and not _assessment(sentence, m.start()):
            add("schedule", m, {"every_hours": n * _UNIT_HOURS[groups[1].lower()]})
    for m in _EVERY_WORD.finditer(sentence):
        word = next(g for g in m.groups() if g).lower()
        hours = {"daily": 24, "day": 24, "weekly": 168, "week": 168, "twice": 84}.get(
            word, 12 if word.startswith("twice") else 720
        )
        if m.group(9):  # "four times daily": every 6 hours
            per = 3 if m.group(9).lower() == "thrice" else word_number(m.group(9)) or 1
            hours = (24 if m.group(10).lower().startswith("da") else 168) // per
        if _RATE_ADJECTIVE.match(sentence[m.end() :]):
            continue  # "weekly angina frequency", "daily insulin requirement": a measure
        if _ADMIN_CUE.search(sentence) and not _assessment(sentence, m.start()):
            add("schedule", m, {"every_hours": hours})
    # "q3mo x4", "weekly ×3": a rhythm's shorthand, then how many times
    for m in re.finditer(
        r"\b(?:q\s*\d+\s*(?:h|d|wks?|w|mo)|daily|weekly|monthly|every\s+\d+\s+\w+)\s*[x×]\s?"
        r"(\d{1,2})\b(?![\s^]*\d)",
        sentence,
        re.I,
    ):
        add("schedule", m, {"count": int(m.group(1))}, 1)
    for m in _COUNT_ADMIN.finditer(sentence):
        count = word_number(m.group(1))
        if (
            count is not None
            and not re.search(
                r"\b(?<!total )(?:of|all|first|the|these|compare|comparing|compared|different)\s+$",
                sentence[: m.start()],
                re.I,
            )
            and not re.match(r"\s*(?:levels?|cohorts?|groups?|arms?)\b", sentence[m.end() :])
            and not re.search(
                r"\b(?:up\s+to|maximum\s+of|max\.?|at\s+most|(?:median|mean|average)(?:\s+of)?)"
                r"\s+$",
                sentence[: m.start()],
                re.I,
            )
            # "2 infusions (range 1-5)": a summary over patients, not the schedule
            and not re.match(
                r"\s*[,;(\[]\s*(?:range|IQR|interquartile)\b", sentence[m.end() :], re.I
            )
            and not _injection_sites(sentence, m, count)
        ):
            add("schedule", m, {"count": count})
    if not any(i.kind == "schedule" and "count" in i.values for i in found):
        for m in _SECOND_ADMIN.finditer(sentence):
            if re.search(
                rf"{_NUM}\s+(?:{_PEOPLE}\s+)?(?:received|had|got)\s+$", sentence[: m.start()], re.I
            ):
                continue  # "6 received the second infusion": some patients, not the schedule
            add("schedule", m, {"count": 2})
            break
    for m in _SINGLE.finditer(sentence):
        if re.match(
            r"[^,;.]{0,30}?\band\s+(?:one|another|a\s+second)\b", sentence[m.end() :], re.I
        ):
            continue  # "one infusion on day 1 and one on day 3": not a single one
        add("schedule", m, {"count": 1})
    if _ADMIN_CUE.search(sentence):
        for m in _OCCASIONS.finditer(sentence):
            count = word_number(m.group(1))
            if count is not None and not _assessment(sentence, m.start()):
                add("schedule", m, {"count": count})
    for m in _TIMES.finditer(sentence):
        word = (m.group(1) or m.group(3) or "").lower()
        count = 2 if word == "twice" else 3 if word == "thrice" else word_number(m.group(2) or "")
        if m.group(6):  # "three times at 4-week intervals"
            said = m.group(6).lower()
            count = 3 if said == "thrice" else word_number(re.sub(r"\s+times$", "", said))
        if count is not None:
            add("schedule", m, {"count": count})
    for m in _FOR.finditer(sentence):
        span = word_number(m.group(1))
        if (
            span is None
            or _FOLLOW.search(sentence[: m.start()])
            or re.match(r"\s*(?:of\s+follow|follow)", sentence[m.end() :], re.I)
        ):
            continue
        if not _ADMIN_CUE.search(sentence) or _assessment(sentence, m.start()):
            continue
        if _CONDITIONING.search(sentence[max(0, m.start() - 80) : m.start()]):
            continue  # "conditioning with fludarabine … for three days": not the cells
        unit = m.group(2).lower().rstrip("s") + "s"
        add("schedule", m, {"for": span, "unit": unit})
    # "105 received MSCs, 53 with standard-dose and 52 with low-dose tacrolimus": the 105 is
    # the two arms together, not an arm
    sizes = [int(i.values["n"]) for i in found if i.kind == "arm_size"]
    return [
        i
        for i in found
        if not (
            i.kind == "arm_size"
            and any(
                a + b == int(i.values["n"]) for j, a in enumerate(sizes) for b in sizes[j + 1 :]
            )
        )
    ]


_MEASURE_ROW = re.compile(
    r",\s*(?:days?|hours?|weeks?|months?|years?|mg|ml|kg|points?|%|m|cm|mmHg)\b|"
    r"\b(?:mean|median|score|age|duration|time\s+to|length\s+of|level|concentration|index|"
    r"stay|count|scale|SD|IQR|ratio|value)\b|±",
    re.IGNORECASE,
)


_N_ROW = re.compile(
    r"(?:(?:patients|participants|subjects|randomi[sz]ed|enrolled|analy[sz]ed)\s*,?\s*\(?(?:n|no\.?)\)?|"
    r"n|N|(?:number|no\.)\s+of\s+(?:patients|participants|subjects))",
    re.IGNORECASE,
)


def _arms_as_rows(table: Table) -> list[Item] | None:
    """A table with one row per arm (or dose cohort) and a column "n": "MSC | 24 | 15 (62.5) |
    1" gives the arm size 24 and counts 15/24, 1/24; a column "Dose (cells/kg)" gives doses.
    None when the table has no such column."""
    header, rows = table[0], table[1:]
    j_n = next(
        (j for j, c in enumerate(header) if j > 0 and re.fullmatch(r"\s*(?:n|N|No\.?)\s*", c)),
        None,
    )
    if j_n is None or not rows:
        return None
    found: list[Item] = []
    for row in rows:
        if j_n >= len(row) or not re.fullmatch(r"\s*\d+\s*", row[j_n]):
            return None
    for row in rows:
        text, n = " | ".join(row), int(row[j_n])
        label = row[0].strip()
        found.append(
            Item(
                "arm_size",
                row[j_n].strip(),
                {"n": n, "label": label or None, "each_group": False},
                text,
                j_n,
            )
        )
        for j, cell in enumerate(row[1:], start=1):
            if j == j_n or j >= len(header):
                continue
            cell, head = cell.strip(), header[j]
            unit = re.search(r"\(([^()]*(?:cells|/kg)[^()]*)\)", head)
            if re.search(r"\bdose\b", head, re.I) and unit:  # "Dose (cells/kg) | 1 × 10^6"
                found.extend(
                    Item("dose", i.text, i.values, text, j)
                    for i in items_in(f"{cell} {unit.group(1)}")
                    if i.kind == "dose"
                )
                continue
            if _MEASURE_ROW.search(head) and not re.search(r"\bn\b|%", head):
                continue
            m = re.fullmatch(r"(\d+)\s*(?:[(\[]\s*(\d+(?:\.\d+)?)\s*%?\s*[)\]])?", cell)
            if (
                m
                and int(m.group(1)) <= n
                and (m.group(2) is None or _rounds_to(int(m.group(1)), n, m.group(2)))
            ):
                values = {"events": int(m.group(1)), "n": n, "row": label, "column": head}
                found.append(Item("count", cell, values, text, j))
    return found if found else None


def table_items(table: Table) -> list[Item]:
    """Items of a table: arm sizes from its header ("MSC (n = 16)"), counts from its cells
    ("4 (25.0%)", "6/18", "18 of 30", "25.0%" with the column's n), p-values from a P column;
    or, for a table with one row per arm and a column "n", from its rows."""
    sizes_row = r"\(?\s*[nN]\s*=\s*\d+\s*\)?"
    if (
        len(table) > 2
        and any(re.fullmatch(sizes_row, c.strip()) for c in table[1])
        and all(not c.strip() or re.fullmatch(sizes_row, c.strip()) for c in table[1])
    ):  # a second header row of arm sizes ("MSC" over "(n = 18)", as a web page's rowspan)
        width = max(len(table[0]), len(table[1]))
        first, second = (r + [""] * (width - len(r)) for r in table[:2])
        table = [[f"{a} {b}".strip() for a, b in zip(first, second, strict=True)], *table[2:]]
    by_rows = _arms_as_rows(table)
    if by_rows is not None:
        return by_rows
    header, rows = table[0], table[1:]
    header_text = " | ".join(header)
    found: list[Item] = []
    # a column without "n =" whose fractions share one denominator: that is its arm size
    for j in range(1, len(header)):
        if re.search(r"\b[nN]\s*=", header[j]):
            continue
        denominators = {
            int(m.group(2))
            for row in rows
            if j < len(row) and (m := re.match(r"^\s*(\d+)\s*(?:/|of)\s*(\d+)\b", row[j]))
        }
        fractions = sum(
            1 for row in rows if j < len(row) and re.match(r"^\s*\d+\s*(?:/|of)\s*\d+", row[j])
        )
        if len(denominators) == 1 and fractions >= 2:
            (d,) = denominators
            found.append(
                Item(
                    "arm_size",
                    header[j],
                    {
                        "n": d,
                        "label": header[j] or None,
                        "each_group": False,
                        "derived": f"every count in the column is out of {d}",
                    },
                    header_text,
                    j,
                )
            )
    col_n: dict[int, int] = {}
    p_cols: set[int] = set()
    estimate_cols: dict[int, str] = {}  # a column of estimates with CIs, by its measure
    for j, cell in enumerate(header):
        measure_word = _MEASURE_WORD.search(cell)
        if j > 0 and measure_word and re.search(r"\bCI\b|confidence", cell, re.I):
            estimate_cols[j] = _measure(measure_word)
            continue
        # "1 × 10^7 (n = 6)": a dose named in the header
        found.extend(
            Item("dose", i.text, i.values, header_text, j)
            for i in items_in(cell)
            if i.kind == "dose"
        )
        m = re.search(r"\b[nN]\s*=\s*(\d+)", cell)
        if m and j > 0:
            col_n[j] = int(m.group(1))
            label = cell[: m.start()].strip(" (,[") or None
            # "Day 28 (n = 54)": the patients assessed at a visit, not an arm
            visit = re.match(
                r"\s*(?:day|week|month|year|visit|baseline|follow-up|wk|mo|d)\b", cell, re.I
            )
            found.append(
                Item(
                    "subgroup" if visit else "arm_size",
                    cell,
                    {"n": col_n[j], "label": label, "each_group": False},
                    header_text,
                    j,
                )
            )
        if re.fullmatch(r"\s*p(?:[- ]?values?)?\s*[*†‡]?\s*", cell, re.IGNORECASE) or (
            j > 0 and re.fullmatch(r"\s*p(?:[- ]?values?)?\s*[,(:]\s*[^()]{1,40}\)?\s*", cell, re.I)
        ):  # "P", "P value", "P, low vs HA", "P (high vs placebo)"
            p_cols.add(j)
    # a row "Patients, n | 20 | 20": the arm sizes, when the header gave none
    for row in rows:
        if not row or not _N_ROW.fullmatch(row[0].strip()):
            continue
        for j, cell in enumerate(row[1:], start=1):
            if j not in p_cols and j not in col_n and re.fullmatch(r"\d+", cell.strip()):
                col_n[j] = int(cell)
                found.append(
                    Item(
                        "arm_size",
                        cell.strip(),
                        {
                            "n": col_n[j],
                            "label": header[j] if j < len(header) else None,
                            "each_group": False,
                            "derived": f"the row {row[0].strip()!r}",
                        },
                        " | ".join(row),
                        j,
                    )
                )
        break
    for row in rows:
        text = " | ".join(row)
        label = row[0] if row else ""
        if _N_ROW.fullmatch(label.strip()):
            continue  # the arm sizes, read above
        for j, cell in enumerate(row[1:], start=1):
            cell = cell.strip()
            if j in estimate_cols:  # "−16.7 (−37.5 to 4.2)" under "Risk difference (95% CI)"
                m = re.fullmatch(
                    rf"({_DEC})\s*[(\[]\s*({_DEC})\s*(?:to|,|;|–|—|-)\s*({_DEC})\s*[)\]]", cell
                )
                if m and _float(m.group(2)) <= _float(m.group(1)) <= _float(m.group(3)):
                    estimate = {
                        "measure": estimate_cols[j],
                        "value": _float(m.group(1)),
                        "low": _float(m.group(2)),
                        "high": _float(m.group(3)),
                        "row": label,
                    }
                    found.append(Item("estimate", cell, estimate, text, j))
                continue
            if j in p_cols:
                m = re.fullmatch(r"([<>≤≥=]?)\s*(0?\.\d+|1(?:\.0+)?|0)\s*[*†‡]?", cell)
                if m:
                    found.append(
                        Item(
                            "p_value",
                            cell,
                            {
                                "relation": m.group(1) or "=",
                                "value": m.group(2),
                                "reported": cell,
                                "row": label,
                            },
                            text,
                            j,
                        )
                    )
                continue
            n = col_n.get(j)
            values: dict[str, Any] | None = None
            m = re.match(r"^(\d+)\s*(?:/|of|out of)\s*(\d+)\b", cell)
            if m and int(m.group(1)) <= int(m.group(2)):
                values = {"events": int(m.group(1)), "n": int(m.group(2))}
            elif (
                (m := re.fullmatch(r"(\d+)\s*[(\[]\s*(\d+(?:\.\d+)?)\s*[)\]]", cell))
                and n is not None
                and _rounds_to(int(m.group(1)), n, m.group(2))
            ):  # "18 (75.0)" under "n (%)": the column's n gives 75.0 %
                values = {"events": int(m.group(1)), "n": n, "percent": m.group(2)}
            elif m := re.match(r"^(\d+)\s*[(\[]\s*(\d+(?:\.\d+)?)\s*%\s*[)\]]", cell):
                events, pct = int(m.group(1)), m.group(2)
                if n is not None and _rounds_to(events, n, pct):
                    values = {"events": events, "n": n, "percent": pct}
                elif n is None:
                    candidates = _n_from_percent(events, pct)
                    values = {"events": events, "percent": pct, "n_candidates": candidates[:5]}
            elif (
                n is None
                and (m := re.fullmatch(r"(\d+)\s*[(\[]\s*(\d{1,3}\.\d)\s*[)\]]", cell))
                and float(m.group(2)) <= 100
                and not _MEASURE_ROW.search(label)
            ):  # "34 (85.0)" under "Any grade", no n in the column: n (%) if a known n fits
                events, pct = int(m.group(1)), m.group(2)
                candidates = _n_from_percent(events, pct)
                values = {
                    "events": events,
                    "percent": pct,
                    "n_candidates": candidates[:5],
                    "known_n_only": True,
                }
            elif (
                (m := re.fullmatch(r"(\d+(?:\.\d+)?)\s*%", cell))
                or (
                    j < len(header)
                    and "%" in re.sub(r"\([^()]*\)", "", header[j])
                    and (m := re.fullmatch(r"(\d+\.\d)", cell))
                )
            ) and n is not None:  # "25.0%", or "40.0" under "MSC, % (n = 30)"
                k = round(float(m.group(1)) * n / 100)
                if _rounds_to(k, n, m.group(1)):
                    values = {
                        "events": k,
                        "n": n,
                        "percent": m.group(1),
                        "derived": f"events from {m.group(1)}% of the column's n = {n}",
                    }
            elif (
                (m := re.fullmatch(r"(\d+)", cell))
                and n is not None
                and int(m.group(1)) <= n
                and not _MEASURE_ROW.search(label)
            ):  # a bare count under "MSC (n = 20)" in a row of events
                values = {"events": int(m.group(1)), "n": n}
            if values is not None:
                values["row"] = label
                found.append(Item("count", cell, values, text, j))
    return found


# ------------------------------------------------------------------------------------------
# reading a document as a whole: denominators from what the text said elsewhere
# ------------------------------------------------------------------------------------------


def _arms(items: list[Item]) -> list[int]:
    """Arm sizes in the order the text introduces them: the first sentence (or table header)
    naming two or more, else "n = 9 for each group", else every arm size in order."""
    sizes = [i for i in items if i.kind == "arm_size"]
    by_sentence: dict[str, list[Item]] = {}
    for item in sizes:
        by_sentence.setdefault(item.sentence, []).append(item)
    for group in by_sentence.values():
        if len(group) >= 2:
            return [int(i.values["n"]) for i in sorted(group, key=lambda i: i.start)]
        if group[0].values.get("each_group"):
            return [int(group[0].values["n"])] * 2
    return [int(i.values["n"]) for i in sizes]


def _derived(item: Item, kind: str, values: dict[str, Any]) -> Item:
    return Item(kind, item.text, values, item.sentence, item.start)


# "patients who had completed a randomized trial", "an extension of a randomized study": the
# randomization was another trial's; this study is one group
_EARLIER_TRIAL = re.compile(
    r"\b(?:completed|previous|prior|earlier|parent|preceding|original|participated\s+in|"
    r"extension\s+of)\s+(?:[\w-]+\s+){0,3}?randomi[sz]ed\s+(?:[\w-]+\s+){0,3}?"
    r"(?:trials?|stud(?:y|ies))\b",
    re.IGNORECASE,
)
# "12 (40.0%) of the 30 SVF-treated patients", "of 30 patients in the placebo group"
_ARM_DENOMINATOR = re.compile(
    r"\s*(?:[\w-]+\s+){0,2}?[\w-]+-(?:treated|allocated|randomi[sz]ed)\b|"
    r"\s*(?:[\w-]+\s+)?(?:treated|control|placebo)\s+(?:patients|participants|subjects)\b|"
    r"\s*(?:[\w-]+\s+)?(?:controls|recipients)\b|"
    r"\s*(?:[\w-]+\s+)?(?:patients?|participants?|subjects?)\s+(?:in|of)\s+the\s+"
    r"(?:[\w-]+\s+){1,2}?(?:group|arm)\b|"
    r"\s*(?:patients?|participants?|subjects?)\s+(?:receiving|given|treated\s+with|allocated\s+"
    r"to|randomi[sz]ed\s+to)\b",
    re.IGNORECASE,
)


def _arms_of_labelled_counts(items: list[Item]) -> list[int]:
    """With no arm size stated, "in 12 (40.0%) of the 30 SVF-treated patients and in 5
    (16.7%) of the 30 placebo-treated patients": the arms are the denominators that name
    their group, when two or more counts of one sentence do. Adds their arm_size items."""
    by_sentence: dict[str, list[Item]] = {}
    for item in items:
        if item.kind == "count" and "n" in item.values and "derived" not in item.values:
            rest = item.sentence[item.start :]
            of_n = re.match(
                rf"{_COUNT}\s*(?:[(\[][^()\[\]]*[)\]]\s*)?(?:out\s+)?of\s+(?:the\s+|all\s+)?{_NUM}",
                rest,
                re.I,
            )
            if of_n and _ARM_DENOMINATOR.match(rest[of_n.end() :]):
                by_sentence.setdefault(item.sentence, []).append(item)
    for group in by_sentence.values():
        if len(group) < 2:
            continue
        group.sort(key=lambda i: i.start)
        arms = [int(i.values["n"]) for i in group]
        for i in group:
            how = "the denominator of a count that names its group"
            if not any(a.kind == "arm_size" and a.values["n"] == i.values["n"] for a in items):
                items.append(
                    _derived(
                        i,
                        "arm_size",
                        {
                            "n": int(i.values["n"]),
                            "label": None,
                            "each_group": False,
                            "derived": how,
                        },
                    )
                )
        return arms
    return []


def resolve(items: list[Item], text: str = "") -> list[Item]:
    """Give counts their denominators from the rest of the document, saying how (``derived``).

    - a count with a percentage ("in eleven (91.7%)") gets the only n that gives it, or the only
      one among the trial's arm sizes and totals;
    - a percentage of patients with no count ("mortality 8.3% vs 41.7%") becomes a count when
      exactly one known denominator gives it, or, for a pair of two-arm percentages, when the
      arms in the order the text introduced them do;
    - "two vs eight patients" in a two-arm trial: the counts of the arms in that order;
    - no arm size stated: a total with a 1:1 (or a:b) ratio, or the enrolled total of a study
      that is not randomized, is the arm size.
    """
    # "a second infusion" says two only when no other sentence gives the number
    second = [
        i
        for i in items
        if i.kind == "schedule" and i.values.get("count") == 2 and _SECOND_ADMIN.match(i.text)
    ]
    if any(i.kind == "schedule" and "count" in i.values and i not in second for i in items):
        items = [i for i in items if i not in second]
    out = _subgroup_sizes(_subgroup_columns(list(items), text), text)
    arms = _arms(out)
    totals = [int(i.values["n"]) for i in out if i.kind == "total_n"]
    # "Twenty-three infants received cells. They were compared with 82 concurrent infants":
    # the enrolled are the treated arm beside that control group
    sizes = [i for i in out if i.kind == "arm_size"]
    if sizes and all(i.values.get("control") for i in sizes):
        control = int(sizes[0].values["n"])
        enrolled_other = [
            i
            for i in out
            if i.kind == "total_n" and i.values.get("enrolment") and int(i.values["n"]) != control
        ]
        if enrolled_other:
            n = int(enrolled_other[0].values["n"])
            how = "the enrolled, beside the control group they were compared with"
            out.append(
                _derived(
                    enrolled_other[0],
                    "arm_size",
                    {"n": n, "label": None, "each_group": False, "derived": how},
                )
            )
            arms = [n, control]
    if not arms:
        ratio = next((i for i in out if i.kind == "ratio"), None)
        enrolled = [i for i in out if i.kind == "total_n" and i.values.get("enrolment")]
        if ratio is not None and enrolled and not _CROSSOVER.search(text):
            parts = [int(x) for x in ratio.values["ratio"].split(":")]
            total = int(enrolled[0].values["n"])
            if total % sum(parts) == 0:
                arms = [total * x // sum(parts) for x in parts]
                for n in sorted(set(arms)):
                    out.append(
                        _derived(
                            enrolled[0],
                            "arm_size",
                            {
                                "n": n,
                                "label": None,
                                "each_group": False,
                                "derived": f"{total} randomized {ratio.values['ratio']}",
                            },
                        )
                    )
        if not arms:
            arms = _arms_of_labelled_counts(out)
        if (
            not arms
            and enrolled
            and (
                not re.search(
                    r"(?<!non-)(?<!non)(?<!not )randomi[sz]|allocated",
                    _EARLIER_TRIAL.sub(" ", text),
                    re.IGNORECASE,
                )
                or _CROSSOVER.search(text)
            )
        ):
            arms = [int(enrolled[0].values["n"])]
            out.append(
                _derived(
                    enrolled[0],
                    "arm_size",
                    {
                        "n": arms[0],
                        "label": None,
                        "each_group": False,
                        "derived": "the enrolled total of a single-group study",
                    },
                )
            )
    denominators = set(arms) | set(totals) | ({sum(arms)} if len(arms) > 1 else set())

    # "15 (15%), 17 (16%) and 14 (14%) patients": one per arm, in the arms' order
    if len(arms) >= 2:
        by_sentence: dict[str, list[Item]] = {}
        for item in out:
            if item.kind == "count" and "n" not in item.values and "percent" in item.values:
                by_sentence.setdefault(item.sentence, []).append(item)
        ordered: dict[tuple[str, int], Item] = {}
        for group in by_sentence.values():
            group.sort(key=lambda i: i.start)
            if len(group) == len(arms) and all(
                _rounds_to(int(i.values["events"]), n, str(i.values["percent"]))
                for i, n in zip(group, arms, strict=True)
            ):
                for arm, (i, n) in enumerate(zip(group, arms, strict=True), start=1):
                    ordered[(i.sentence, i.start)] = _derived(
                        i,
                        "count",
                        {
                            **i.values,
                            "n": n,
                            "derived": f"arm {arm} (n = {n}), the arms in the order the text "
                            "introduced them",
                        },
                    )
        out = [ordered.get((i.sentence, i.start), i) if i.kind == "count" else i for i in out]

    resolved: list[Item] = []
    for item in out:
        if item.kind == "count" and "n" not in item.values and "percent" in item.values:
            events, pct = int(item.values["events"]), str(item.values["percent"])
            candidates = _n_from_percent(events, pct)
            among = sorted({n for n in candidates if n in denominators})
            if item.values.get("known_n_only"):
                candidates = []  # "34 (85.0)" may be a mean (SD): only a known n will do
            if len(candidates) == 1:
                n, how = candidates[0], f"the only n with {events}/n = {pct}%"
            elif len(among) == 1:
                n, how = among[0], f"the only arm size or total with {events}/n = {pct}%"
            else:
                resolved.append(item)
                continue
            item = _derived(item, "count", {**item.values, "n": n, "derived": how})
        resolved.append(item)
    out = resolved

    # percentages of patients with no count
    explicit = {
        (i.sentence, int(i.values["events"]), int(i.values["n"]))
        for i in out
        if i.kind == "count" and "n" in i.values
    }
    percents = {(i.sentence, i.start): i for i in out if i.kind == "percent" and i.values["rate"]}
    derived: dict[tuple[str, int], Item] = {}
    if len(arms) == 2:
        for comp in (i for i in out if i.kind == "comparison" and "percent" in i.values):
            m = _VS_PERCENT.match(comp.sentence, comp.start)
            if not m:
                continue
            keys = [(comp.sentence, m.start(1)), (comp.sentence, m.start(2))]
            if not all(k in percents for k in keys):
                continue
            pair = []
            for (sentence, start), n in zip(keys, arms, strict=True):
                p = str(percents[(sentence, start)].values["percent"])
                k = round(float(p) * n / 100)
                if not _rounds_to(k, n, p):
                    break
                pair.append((sentence, start, k, n, p))
            if len(pair) == 2 and not _unique_fits(pair, denominators):
                for arm, (sentence, start, k, n, p) in enumerate(pair, start=1):
                    derived[(sentence, start)] = _derived(
                        percents[(sentence, start)],
                        "count",
                        {
                            "events": k,
                            "n": n,
                            "percent": p,
                            "derived": f"{p}% of arm {arm} (n = {n}), the arms "
                            "in the order the text introduced them",
                        },
                    )
    # arm sizes first, then stated totals; a whole percentage says little about n > 50
    tiers = (("arm size", set(arms)), ("total", set(totals) - set(arms)))
    for key, item in percents.items():
        if key in derived:
            continue
        p = str(item.values["percent"])
        for what, tier in tiers:
            fits = [(round(float(p) * d / 100), d) for d in sorted(tier)]
            fits = [
                (k, d)
                for k, d in fits
                if _rounds_to(k, d, p) and (k > 0 or float(p) == 0) and ("." in p or d <= 50)
            ]
            if len(fits) == 1:
                k, d = fits[0]
                derived[key] = _derived(
                    item,
                    "count",
                    {
                        "events": k,
                        "n": d,
                        "percent": p,
                        "derived": f"{p}% of n = {d}, the only {what} it fits",
                    },
                )
            if fits:
                break
    out = [derived.get((i.sentence, i.start), i) if i.kind == "percent" else i for i in out]

    # "occurred in one infant per group": that count in every arm
    for item in [i for i in out if i.kind == "arm_count"]:
        if item.values.get("others") and len(set(arms)) != 1:
            continue  # "none of the other groups": one n for them only when all arms share it
        k = int(item.values["events"])
        for n in sorted(set(arms)):
            if k <= n:
                out.append(
                    _derived(
                        item, "count", {"events": k, "n": n, "derived": f"in each arm (n = {n})"}
                    )
                )
    # "two patients in the control group": every arm of the same size
    if len(arms) >= 2 and len(set(arms)) == 1:
        for item in [i for i in out if i.kind == "group_count"]:
            k = int(item.values["events"])
            if k < arms[0] and (item.sentence, k, arms[0]) not in explicit:
                out.append(
                    _derived(
                        item,
                        "count",
                        {"events": k, "n": arms[0], "derived": f"every arm has n = {arms[0]}"},
                    )
                )
    # "two patients in the islet group": the arm whose size the text gave after "islet"
    if len(arms) >= 2:
        equal = len(set(arms)) == 1
        for item in [i for i in out if i.kind == "group_count" and not equal]:
            k = int(item.values["events"])
            named = _arm_named(
                str(item.values.get("group") or ""), out, strict=bool(item.values.get("named"))
            )
            if named is None and not item.values.get("named"):
                named = _control_arm(str(item.values.get("group") or ""), out)
            if named is not None and k < named and (item.sentence, k, named) not in explicit:
                how = f"the arm named {item.values['group']!r}"
                out.append(_derived(item, "count", {"events": k, "n": named, "derived": how}))
    # a crossover (or a within-patient comparison): every participant had both treatments, so
    # a count "after MSCs" (or with no arm named) is out of everyone enrolled
    crossover = _CROSSOVER.search(text) is not None
    enrolled_totals = sorted(
        {int(i.values["n"]) for i in out if i.kind == "total_n" and i.values.get("enrolment")}
    )
    everyone = (
        enrolled_totals[0]
        if crossover and len(enrolled_totals) == 1
        else (arms[0] if len(arms) == 1 else None)
    )
    # dose cohorts of one study that is not randomized ("Eighteen patients ... at 2.5, 5.0 or
    # 10 million cells (6 patients per cohort)"): a count with no cohort named is out of all
    sizes = [i for i in out if i.kind == "arm_size"]
    of_cohorts = False
    if (
        everyone is None
        and sizes
        and all(i.values.get("each_group") for i in sizes)
        and len({int(i.values["n"]) for i in sizes}) == 1
        and enrolled_totals
        and not re.search(r"(?<!non-)(?<!non)(?<!not )randomi[sz]|randomly", text, re.IGNORECASE)
    ):
        per, total = int(sizes[0].values["n"]), enrolled_totals[-1]
        if total > per and total % per == 0:
            everyone, of_cohorts = total, True
    # "two vs eight patients" in a two-arm trial; "by 10, 8 and 6 patients" with three arms
    # (or arms all of one size)
    for comp in [i for i in out if i.kind == "comparison" and "counts" in i.values]:
        counts = [int(v) for v in comp.values["counts"]]
        if (
            crossover
            and everyone is not None
            and re.search(r"\b(?:after|during)\b", comp.text, re.I)
        ):
            pairs = [(k, everyone) for k in counts]
            how = f"a crossover: out of all {everyone} participants"
        elif len(counts) == len(arms) >= 2:
            pairs = list(zip(counts, arms, strict=True))
            how = "counts given to the arms in the order the text introduced them"
        elif len(arms) >= 2 and len(set(arms)) == 1:
            pairs = [(k, arms[0]) for k in counts]
            how = f"every arm has n = {arms[0]}"
        else:
            continue
        if any(k > n for k, n in pairs) or any((comp.sentence, k, n) in explicit for k, n in pairs):
            continue
        for k, n in pairs:
            out.append(_derived(comp, "count", {"events": k, "n": n, "derived": how}))
    # "in two children" in a single-group study (or a crossover): out of everyone
    if everyone is not None:
        for item in [i for i in out if i.kind == "bare_count"]:
            k = int(item.values["events"])
            if of_cohorts and re.search(
                r"\b(?:cohorts?|groups?|arms?|doses?)\b", item.sentence[item.start :], re.I
            ):
                continue  # "in three patients, all in the high-dose cohort": one cohort's
            # "analysed in 20 patients" of 20 restates the sample; not an event count
            if k < everyone and (item.sentence, k, everyone) not in explicit:
                out.append(
                    _derived(
                        item,
                        "count",
                        {"events": k, "n": everyone, "derived": f"out of all {everyone}"},
                    )
                )
    return out


_CROSSOVER = re.compile(
    r"cross-?over|within-(?:patient|participant|subject)|intra-?individual|split-(?:body|face|mouth)|"
    r"served\s+as\s+(?:his|her|their)\s+own\s+controls?",
    re.IGNORECASE,
)
_GENERIC_GROUP = {"each", "both", "two", "three", "same", "treatment", "study", "treated", "other"}


def _arm_named(group: str, items: list[Item], strict: bool = False) -> int | None:
    """The size of the arm a group's words name, in the sentence that introduced the arms:
    the arm size given nearest after those words ("to immediate islet transplantation
    (n = 26)" for "the islet group"), or, where the text puts the number first ("8 received
    CAP-1002 and 12 placebo"), nearest before them. ``strict``: the words must be the arm's
    own label, inside its phrase or right after its number. None when nothing fits."""
    letter = re.fullmatch(r"(?:group|arm)\s+(I{1,3}|IV|[A-Z]|\d)", group)
    words = [  # "HA", "PRP": an acronym of two capitals names an arm too
        w.lower()
        for w in group.split()
        if w.lower() not in _GENERIC_GROUP and (len(w) >= 3 or re.fullmatch(r"[A-Z]{2}", w))
    ]
    if letter:  # "group A": the arm introduced as "group A (n = 16)"
        words = [f"group {letter.group(1).lower()}"]
    if not words:
        return None
    by_sentence: dict[str, list[Item]] = {}
    for item in items:
        if item.kind == "arm_size" and "derived" not in item.values:
            by_sentence.setdefault(item.sentence, []).append(item)
    for sentence, arm_items in by_sentence.items():
        if len(arm_items) < 2:
            continue
        number_first = all(re.match(rf"\s*{_NUM}", i.text, re.I) for i in arm_items)
        best: tuple[int, int] | None = None  # (distance, n)
        name = re.escape(words[0]).replace("\\-", "[-\\s]")  # "high-dose" is "high dose"
        if letter:
            name += r"(?!\w)"  # "group I" is not "group II"
        for m in re.finditer(rf"(?<![\w])(?:\w+-)?{name}", sentence, re.I):
            for i in arm_items:
                start, end = i.start, i.start + len(i.text)
                if number_first:
                    distance = m.start() - end if m.start() >= start else -1
                else:
                    distance = end - m.end()
                own_label = start <= m.start() < end or (
                    number_first and re.fullmatch(r"\s*(?:\w+\s+){0,2}", sentence[end : m.start()])
                )  # "8 received CAP-1002"
                if distance < 0 or (strict and not own_label):
                    continue
                if best is None or distance < best[0]:
                    best = (distance, int(i.values["n"]))
        return best[1] if best else None
    return None


_CONTROL_WORDS = re.compile(
    r"\b(?:placebo|controls?|standard|usual|conventional|sham|vehicle|saline|matched|"
    r"historical|untreated|comparators?|supportive|routine)\b",
    re.IGNORECASE,
)


_CELL_WORDS = re.compile(
    r"\b(?:cells?|[\w-]*MSCs?|exosomes?|secretome|vesicles?|EVs?|stromal|stem|progenitor)\b",
    re.IGNORECASE,
)


def _control_arm(group: str, items: list[Item]) -> int | None:
    """The control arm's size, for "4 in the control group" when the arms were introduced as
    "17 received MSCs and 27 matched patients received standard care" (no arm named
    "control"): the one arm whose own phrase has a control's words (placebo, standard or
    usual care, sham, matched or historical controls, ...). None unless exactly one has."""
    if not _CONTROL_WORDS.search(group):
        return None
    by_sentence: dict[str, list[Item]] = {}
    for item in items:
        if item.kind == "arm_size" and "derived" not in item.values:
            by_sentence.setdefault(item.sentence, []).append(item)
    for sentence, arm_items in by_sentence.items():
        if len(arm_items) < 2:
            continue
        arm_items = sorted(arm_items, key=lambda i: i.start)
        number_first = all(re.match(rf"\s*{_NUM}", i.text, re.I) for i in arm_items)
        bounds = [0] + [i.start + len(i.text) for i in arm_items] + [len(sentence)]
        controls: dict[int, str] = {}
        for k, i in enumerate(arm_items):
            if number_first:  # "27 matched patients received standard care": after the number
                nxt = arm_items[k + 1].start if k + 1 < len(arm_items) else len(sentence)
                phrase = sentence[i.start : nxt]
            else:  # "placebo (n = 12)": before it
                phrase = sentence[bounds[k] : bounds[k + 1]]
            if _CONTROL_WORDS.search(phrase):
                controls[int(i.values["n"])] = phrase
        if len(controls) > 1:  # "exosomes plus standard care" vs "standard care alone"
            controls = {n: p for n, p in controls.items() if not _CELL_WORDS.search(p)}
        return next(iter(controls)) if len(controls) == 1 else None
    return None


def _subgroup_sizes(items: list[Item], text: str) -> list[Item]:
    """In a study that is not randomized, "Fifteen patients with lupus (n = 8), myositis
    (n = 3) or systemic sclerosis (n = 4) received …": sizes that add up to the total stated in
    the same sentence are its subgroups, and the total is the one arm."""
    if re.search(r"(?<!non-)(?<!non)(?<!not )randomi[sz]", text, re.IGNORECASE):
        return items
    by_sentence: dict[str, list[Item]] = {}
    for item in items:
        if item.kind == "arm_size" and "derived" not in item.values:
            by_sentence.setdefault(item.sentence, []).append(item)
    out = list(items)
    for sentence, sizes in by_sentence.items():
        total = sum(int(i.values["n"]) for i in sizes)
        totals = [
            i
            for i in items
            if i.kind == "total_n" and i.sentence == sentence and int(i.values["n"]) == total
        ]
        verb = re.search(
            r"\b(?:received|were\s+(?:treated|given|infused|randomi[sz]ed|divided|allocated|"
            r"assigned)|underwent|were\s+enrolled)\b",
            sentence,
        )
        if (
            len(sizes) < 2
            or not totals
            or verb is None
            or any(i.start > verb.start() for i in sizes)  # sizes of the subject, before its verb
            or not re.match(
                rf"\s*{_NUM}\s+(?:[\w-]+\s+)?{_PEOPLE}\s+with\b",
                sentence[totals[0].start :],
                re.IGNORECASE,
            )  # "Fifteen patients with lupus (n = 8), …"
        ):
            continue
        out = [_derived(i, "subgroup", i.values) if i in sizes else i for i in out]
        out = [
            _derived(i, "total_n", {**i.values, "enrolment": True})
            if i.kind == "total_n" and i.sentence == sentence and int(i.values["n"]) == total
            else i
            for i in out
        ]
    return out


def _total_columns(items: list[Item]) -> list[Item]:
    """In a randomized trial, a table's column "Total (n = 40)" (or "All", "Overall") beside
    its arms' columns "MSC (n = 20) | Placebo (n = 20)" whose sizes add up to it is every arm
    together: a total, not an arm."""
    by_header: dict[str, list[Item]] = {}
    for item in items:
        if item.kind == "arm_size" and " | " in item.sentence and "derived" not in item.values:
            by_header.setdefault(item.sentence, []).append(item)
    totals: set[int] = set()
    for columns in by_header.values():
        if len(columns) < 3:
            continue
        for total in columns:
            rest = [c for c in columns if c is not total]
            if re.match(
                r"\s*(?:total|all|overall|combined|pooled|entire|whole)\b", total.text, re.I
            ) and int(total.values["n"]) == sum(int(c.values["n"]) for c in rest):
                totals.add(id(total))
    return [_derived(i, "total_n", {"n": i.values["n"]}) if id(i) in totals else i for i in items]


def _subgroup_columns(items: list[Item], text: str) -> list[Item]:
    """In a study that is not randomized, a table's columns "All (n = 55) | Grade III (n = 19)
    | Grade IV (n = 36)" are one arm and its subgroups: a column whose n is the sum of the
    others' makes the others subgroups, not arms."""
    if re.search(r"(?<!non-)(?<!non)(?<!not )randomi[sz]", text, re.IGNORECASE):
        return _total_columns(items)
    by_header: dict[str, list[Item]] = {}
    for item in items:
        if item.kind == "arm_size" and " | " in item.sentence and "derived" not in item.values:
            by_header.setdefault(item.sentence, []).append(item)
    subgroups: set[int] = set()
    for columns in by_header.values():
        if len(columns) < 3:
            continue
        for total in columns:
            rest = [c for c in columns if c is not total]
            if int(total.values["n"]) == sum(int(c.values["n"]) for c in rest):
                subgroups.update(id(c) for c in rest)
                break
    return [_derived(i, "subgroup", i.values) if id(i) in subgroups else i for i in items]


def _unique_fits(pair: list[tuple[str, int, int, int, str]], denominators: set[int]) -> bool:
    """Whether each percentage of the pair fits exactly one known denominator (then the pair
    rule is not needed, and the unique fit is used)."""
    for _, _, _, _, p in pair:
        fits = [d for d in denominators if _rounds_to(round(float(p) * d / 100), d, p)]
        if len(fits) != 1:
            return False
    return True


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
    seen: set[tuple[str, str, str, int, str]] = set()
    found = [i for s in sentences(f"{bib.abstract} {bib.legends}") for i in items_in(s)]
    found += [i for table in bib.tables for i in table_items(table)]
    for item in resolve(found, text):
        key = (item.kind, item.text, item.sentence, item.start, repr(item.values))
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
    seen = {(i.kind, i.text, i.sentence, i.start, repr(i.values)) for i in a.items}
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
        items=a.items
        + [i for i in b.items if (i.kind, i.text, i.sentence, i.start, repr(i.values)) not in seen],
    )


def extract(paths: Iterable[str | Path], problems: list[str] | None = None) -> list[Proposal]:
    """Read every file, propose one record per publication, merge duplicates.

    A file that cannot be read does not stop the others: its problem (naming the file) is
    appended to ``problems`` when a list is given; without one, ``ValueError`` lists every
    problem after all files were tried.
    """
    proposals: list[Proposal] = []
    failed: list[str] = []
    for path in paths:
        try:
            proposals.extend(propose(bib) for bib in read_source(path))
        except ValueError as exc:
            failed.append(str(exc))
    if problems is not None:
        problems.extend(failed)
    elif failed:
        raise ValueError("\n".join(failed))
    return merge(proposals)
