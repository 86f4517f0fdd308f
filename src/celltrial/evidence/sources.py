"""Reading bibliographic records as they come: a PubMed page saved as text, a PubMed or PMC
page saved as HTML, a library-catalogue record, a citation-index record, MEDLINE (``.nbib``)
and RIS exports, and plain text (an abstract pasted into a file, with or without tables).

Each reader returns :class:`Bibliographic` records with identifiers, title, authors, year,
journal and the abstract (plus figure legends where a page has them, since they carry numbers)
and the tables found (rows of cells). :func:`read_source` detects the format.
"""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

from celltrial.evidence.tables import Table, split_tables
from celltrial.evidence.webpage import is_html, parse_page

REGISTRY_PATTERNS = (
    r"\bNCT\d{8}\b",
    r"\bIRCT\d{8,}N\d+\b",
    r"\bRBR-[0-9a-z]{6}\b",
    r"\bChiCTR[-A-Z0-9]*\d{4,}\b",
    r"\bISRCTN\d{8}\b",
    r"\bU\d{4}-\d{4}-\d{4}\b",
    r"\b\d{4}-\d{6}-\d{2}\b(?=.*EudraCT)",
)
_DOI = re.compile(r"\b(10\.\d{4,9}/[^\s\"<>|,;]+[^\s\"<>|,;.)\]])")
_PMID_URL = re.compile(r"pubmed/(\d{6,9})")
_PMC = re.compile(r"\bPMC\d{5,9}\b")


@dataclasses.dataclass
class Bibliographic:
    """One publication as read from one source file."""

    source: str
    format: str
    title: str | None = None
    authors: list[str] = dataclasses.field(default_factory=list)
    year: int | None = None
    journal: str | None = None
    pmid: str | None = None
    pmcid: str | None = None
    doi: str | None = None
    registry: list[str] = dataclasses.field(default_factory=list)
    abstract: str = ""
    legends: str = ""
    tables: list[Table] = dataclasses.field(default_factory=list)


def registry_ids(text: str) -> list[str]:
    """Trial registry identifiers in ``text``, in order of appearance, without repeats."""
    found: list[tuple[int, str]] = []
    for pattern in REGISTRY_PATTERNS:
        found.extend((m.start(), m.group(0)) for m in re.finditer(pattern, text))
    out: list[str] = []
    for _, value in sorted(found):
        if value not in out:
            out.append(value)
    return out


def _fill_ids(rec: Bibliographic, text: str) -> None:
    if rec.doi is None:
        m = _DOI.search(text)
        rec.doi = m.group(1) if m else None
    if rec.pmid is None:
        m = _PMID_URL.search(text) or re.search(r"\bPMID:?\s*(\d{6,9})\b", text)
        rec.pmid = m.group(1) if m else None
    if rec.pmcid is None:
        m = _PMC.search(text)
        rec.pmcid = m.group(0) if m else None
    for rid in registry_ids(rec.abstract + "\n" + text):
        if rid not in rec.registry:
            rec.registry.append(rid)


# ------------------------------------------------------------------------------------------
# MEDLINE / nbib and RIS
# ------------------------------------------------------------------------------------------


def _tagged(text: str, pattern: str) -> list[list[tuple[str, str]]]:
    """Tag/value pairs of tagged formats, continuation lines joined; one list per record."""
    records: list[list[tuple[str, str]]] = [[]]
    line_re = re.compile(pattern)
    for line in text.splitlines():
        m = line_re.match(line)
        if m:
            tag, value = m.group(1).strip(), m.group(2).strip()
            if tag in ("ER",):
                records.append([])
                continue
            if tag in ("PMID", "TY") and records[-1]:
                records.append([])
            records[-1].append((tag, value))
        elif line.startswith("      ") and records[-1]:
            tag, value = records[-1][-1]
            # MEDLINE wraps at hyphens too: "infusion-\n      related" is one word
            joiner = "" if re.search(r"[A-Za-z]-$", value) else " "
            records[-1][-1] = (tag, f"{value}{joiner}{line.strip()}")
    return [r for r in records if r]


def read_medline(text: str, source: str) -> list[Bibliographic]:
    out = []
    for fields in _tagged(text, r"^([A-Z]{2,4})\s*- (.*)$"):
        rec = Bibliographic(source=source, format="medline")
        for tag, value in fields:
            if tag == "PMID":
                rec.pmid = value
            elif tag == "TI":
                rec.title = value
            elif tag == "AB":
                rec.abstract = value
            elif tag == "FAU" or (tag == "AU" and not any(t == "FAU" for t, _ in fields)):
                rec.authors.append(value)
            elif tag == "DP":
                m = re.match(r"(\d{4})", value)
                rec.year = int(m.group(1)) if m else None
            elif tag in ("JT", "TA") and rec.journal is None:
                rec.journal = value
            elif tag in ("LID", "AID") and value.endswith("[doi]"):
                rec.doi = value.removesuffix("[doi]").strip()
            elif tag == "PMC":
                rec.pmcid = value
            elif tag == "SI":
                rec.registry.extend(r for r in registry_ids(value) if r not in rec.registry)
        _fill_ids(rec, rec.abstract)
        out.append(rec)
    return out


def read_ris(text: str, source: str) -> list[Bibliographic]:
    out = []
    for fields in _tagged(text, r"^([A-Z][A-Z0-9])  - ?(.*)$"):
        rec = Bibliographic(source=source, format="ris")
        for tag, value in fields:
            if tag in ("TI", "T1") and rec.title is None:
                rec.title = value
            elif tag in ("AU", "A1"):
                rec.authors.append(value)
            elif tag in ("PY", "Y1", "DA") and rec.year is None:
                m = re.match(r"(\d{4})", value)
                rec.year = int(m.group(1)) if m else None
            elif tag in ("JO", "JF", "T2") and rec.journal is None:
                rec.journal = value
            elif tag == "DO":
                rec.doi = value
            elif tag in ("AB", "N2"):
                rec.abstract = value
            elif tag == "AN" and value.isdigit():
                rec.pmid = value
            elif tag in ("UR", "L2", "N1", "M3"):
                _fill_ids(rec, value)
        _fill_ids(rec, rec.abstract)
        out.append(rec)
    return out


# ------------------------------------------------------------------------------------------
# A PubMed page (text saved from the web page)
# ------------------------------------------------------------------------------------------

_STOP_HEADINGS = (
    "Similar articles",
    "Cited by",
    "References",
    "Publication types",
    "Conflict of interest statement",
    "PubMed Disclaimer",
    "MeSH terms",
)


def read_pubmed_page(text: str, source: str) -> list[Bibliographic]:
    lines = [line.rstrip() for line in text.splitlines()]
    rec = Bibliographic(source=source, format="pubmed-page")
    m = re.search(r"^-?\s*PMID:\s*(\d+)", text, re.MULTILINE)
    rec.pmid = m.group(1) if m else None
    m = re.search(r"^-?\s*PMCID:\s*(PMC\d+)", text, re.MULTILINE)
    rec.pmcid = m.group(1) if m else None
    m = re.search(r"^-?\s*DOI:\s*(\S+)", text, re.MULTILINE) or re.search(
        r"\bdoi:\s*(10\.\S+?)\.?\s", text
    )
    rec.doi = m.group(1).rstrip(".") if m else None
    # The title: the first line of a saved summary, or the line repeated after "Clinical Trial".
    content = [line for line in lines if line.strip()]
    repeated = [line for line in content if content.count(line) > 1 and len(line) > 40]
    rec.title = repeated[0].strip() if repeated else (content[0].strip() if content else None)
    m = re.search(
        r"^([A-Z][\w'-]+(?: [A-Z][\w'-]+)+)\s+et al\.\s+(.+?)\.\s+(\d{4})", text, re.MULTILINE
    )
    if m:
        rec.authors = [m.group(1).strip()]
        rec.journal = m.group(2).strip()
        rec.year = int(m.group(3))
    else:  # a saved summary: the copyright line carries the year of publication
        m = re.search(r"©\s*((?:19|20)\d{2})", text)
        rec.year = int(m.group(1)) if m else None
    rec.abstract = _section(lines, "Abstract", ("Keywords:", *_STOP_HEADINGS, "Figures"))
    rec.legends = _section(lines, "Figures", ("References", *_STOP_HEADINGS))
    if not rec.abstract:  # no "Abstract" heading: the text is the abstract
        plain = read_plain_text(text, source)[0]
        rec.abstract, rec.tables = plain.abstract, plain.tables
    _fill_ids(rec, text)
    return [rec]


def _section(lines: list[str], heading: str, stops: tuple[str, ...]) -> str:
    try:
        start = next(i for i, line in enumerate(lines) if line.strip() == heading)
    except StopIteration:
        return ""
    body: list[str] = []
    for line in lines[start + 1 :]:
        if any(line.strip().startswith(s) for s in stops):
            break
        if line.strip() and line.strip() not in body[-1:]:  # legends repeat their heading
            body.append(line.strip())
    return " ".join(body)


# ------------------------------------------------------------------------------------------
# A library-catalogue record (VuFind-style fields, plain or as a table)
# ------------------------------------------------------------------------------------------

_CATALOGUE_KEYS = (
    "author",
    "author_facet",
    "author_sort",
    "collection",
    "description",
    "format",
    "id",
    "institution",
    "language",
    "publishDate",
    "publisher",
    "record_format",
    "spelling",
    "spellingShingle",
    "title",
    "title_full",
    "title_fullStr",
    "title_full_unstemmed",
    "title_short",
    "title_sort",
    "topic",
    "url",
    "work_keys_str_mv",
    "_version_",
)


def _catalogue_fields(text: str) -> dict[str, str]:
    fields: dict[str, list[str]] = {}
    current: str | None = None
    key_re = re.compile(
        r"^(" + "|".join(re.escape(k) for k in _CATALOGUE_KEYS) + r")(?:\s*\|\s*|\s+)(.*)$"
    )
    for line in text.splitlines():
        m = key_re.match(line)
        if m:
            current = m.group(1)
            fields.setdefault(current, []).append(m.group(2).rstrip(" |"))
        elif current is not None and line.strip() and not line.startswith(("---", "|")):
            fields[current].append(line.strip().rstrip(" |"))
    return {k: "\n".join(v) for k, v in fields.items()}


def _split_authors(value: str) -> list[str]:
    if "\n" in value:
        return [a.strip() for a in value.splitlines() if a.strip()]
    tokens = value.split()
    authors: list[str] = []
    for token in tokens:
        if token.endswith(",") or not authors:
            authors.append(token)
        else:
            authors[-1] = f"{authors[-1]} {token}"
    return [a.strip() for a in authors]


def read_catalogue(text: str, source: str) -> list[Bibliographic]:
    fields = _catalogue_fields(text)
    rec = Bibliographic(source=source, format="library-catalogue")
    rec.title = (fields.get("title") or "").strip() or None
    rec.authors = _split_authors(fields.get("author", ""))
    m = re.search(r"\d{4}", fields.get("publishDate", ""))
    rec.year = int(m.group(0)) if m else None
    rec.journal = (fields.get("publisher") or "").strip() or None
    rec.abstract = " ".join((fields.get("description") or "").split())
    urls = fields.get("url", "")
    _fill_ids(rec, urls + "\n" + rec.abstract)
    return [rec]


# ------------------------------------------------------------------------------------------
# A citation-index record (Web of Science style, Chinese interface)
# ------------------------------------------------------------------------------------------

_CN_HEADINGS = (
    "作者",
    "机构",
    "基金",
    "关键词",
    "D O I",
    "中图分类号",
    "学科分类号",
    "摘要",
    "引用",
    "收藏",
    "页数",
    "相关论文",
)


def read_citation_index(text: str, source: str) -> list[Bibliographic]:
    lines = [line.strip() for line in text.splitlines()]
    blocks: dict[str, list[str]] = {}
    current = "_title"
    for line in lines:
        if line in _CN_HEADINGS:
            current = line
            blocks.setdefault(current, [])
        elif line:
            blocks.setdefault(current, []).append(line)
    rec = Bibliographic(source=source, format="citation-index")
    title_lines = [line for line in blocks.get("_title", []) if not line.startswith("被引")]
    rec.title = title_lines[0] if title_lines else None
    rec.authors = [re.sub(r"\s*\[[\d ,]+\]\s*$", "", a) for a in blocks.get("作者", [])]
    doi = "".join(blocks.get("D O I", [])[:1])
    rec.doi = doi or None
    rec.abstract = " ".join(blocks.get("摘要", []))
    _fill_ids(rec, rec.abstract)
    return [rec]


# ------------------------------------------------------------------------------------------


# ------------------------------------------------------------------------------------------
# A PubMed or PMC page saved as HTML
# ------------------------------------------------------------------------------------------


def read_html(text: str, source: str) -> list[Bibliographic]:
    page = parse_page(text)
    body = str(page["text"])
    fmt = "pmc-page-html" if re.search(r"PMCID:\s*PMC\d+", body) else "pubmed-page-html"
    rec = Bibliographic(source=source, format=fmt)
    rec.title = page["title"] if isinstance(page["title"], str) else None
    rec.abstract = " ".join(str(page["abstract"]).split())
    if not rec.abstract:
        rec.abstract = " ".join(body.split())
    rec.pmid = page["pmid"] if isinstance(page["pmid"], str) else None
    rec.doi = page["doi"] if isinstance(page["doi"], str) else None
    rec.journal = page["journal"] if isinstance(page["journal"], str) else None
    m = re.search(r"(?:19|20)\d{2}", str(page["date"] or ""))
    rec.year = int(m.group(0)) if m else None
    authors = page["authors"]
    rec.authors = [str(a) for a in authors] if isinstance(authors, list) else []
    tables = page["tables"]
    rec.tables = list(tables) if isinstance(tables, list) else []
    m = re.search(r"PMCID:\s*(PMC\d+)", body)
    rec.pmcid = m.group(1) if m else None
    # figure legends carry numbers ("Figure 2. … (log-rank P = 0.02)"); a page's references and
    # similar articles are not read
    main = re.split(r"\n(?:References|Similar articles|Cited by)\s*\n", body)[0]
    rec.legends = " ".join(
        " ".join(line.split())
        for line in main.split("\n")
        if re.match(r"\s*(?:Figure|Fig\.?)\s*\d+[A-Za-z]?[.:]\s", line)
    )
    _fill_ids(rec, body)
    return [rec]


# ------------------------------------------------------------------------------------------
# Plain text: an abstract pasted into a file, perhaps with a title line and tables
# ------------------------------------------------------------------------------------------

_HEADER_LINE = re.compile(
    r"^\s*(?:-\s*)?(?:PMID|PMCID|DOI|PubMed|Abstract|Keywords?)\b[:\s]*\S*\s*$", re.IGNORECASE
)


def read_plain_text(text: str, source: str) -> list[Bibliographic]:
    rec = Bibliographic(source=source, format="plain-text")
    prose, rec.tables = split_tables(text)
    paragraphs = [p.strip() for p in re.split(r"\n\s*\n", prose) if p.strip()]
    # A first paragraph of one line with no sentence end is a title.
    if paragraphs and "\n" not in paragraphs[0] and not paragraphs[0].rstrip().endswith("."):
        rec.title = paragraphs.pop(0)
    kept = [
        line
        for p in paragraphs
        for line in p.splitlines()
        if not _HEADER_LINE.match(line) or len(line.split()) > 4
    ]
    rec.abstract = " ".join(" ".join(kept).split())
    m = re.search(r"\bPMID:?\s*(\d{6,9})\b", text)
    rec.pmid = m.group(1) if m else None
    m = re.search(r"©\s*((?:19|20)\d{2})", text)
    rec.year = int(m.group(1)) if m else None
    _fill_ids(rec, text)
    return [rec]


def detect_format(text: str) -> str:
    """``medline``, ``ris``, ``html``, ``citation-index``, ``library-catalogue``,
    ``pubmed-page`` or ``plain-text``."""
    if re.search(r"^PMID- ", text, re.MULTILINE):
        return "medline"
    if re.search(r"^TY  - ", text, re.MULTILINE):
        return "ris"
    if is_html(text):
        return "html"
    if "摘要" in text and ("作者" in text or "D O I" in text):
        return "citation-index"
    if re.search(r"^(?:author|description|title_full)(?:\s*\|| )", text, re.MULTILINE):
        return "library-catalogue"
    if re.search(r"^Abstract$", text, re.MULTILINE) and re.search(r"PMID|PubMed", text):
        return "pubmed-page"
    if re.search(r"^Abstract$", text, re.MULTILINE) and not _has_table(text):
        return "pubmed-page"
    if len(re.findall(r"[A-Za-z]{2,}", text)) >= 6:
        return "plain-text"
    raise ValueError(
        "not a bibliographic record or an abstract (no PubMed/PMC page, library catalogue, "
        "citation index, MEDLINE .nbib, RIS, nor six words of text)"
    )


def _has_table(text: str) -> bool:
    return bool(split_tables(text)[1])


_READERS = {
    "medline": read_medline,
    "ris": read_ris,
    "citation-index": read_citation_index,
    "library-catalogue": read_catalogue,
    "pubmed-page": read_pubmed_page,
    "html": read_html,
    "plain-text": read_plain_text,
}


def read_source(path: str | Path) -> list[Bibliographic]:
    """Read one file of bibliographic records; raise ``ValueError`` naming the file."""
    path = Path(path)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise ValueError(f"{path}: cannot read: {exc.strerror or exc}") from None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        if b"\x00" in raw[:4096]:
            raise ValueError(f"{path.name}: a binary file, not text") from None
        text = raw.decode("latin-1")
    try:
        fmt = detect_format(text)
    except ValueError as exc:
        raise ValueError(f"{path.name}: {exc}") from None
    return _READERS[fmt](text, path.name)
