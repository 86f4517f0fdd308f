"""Reading a saved PubMed or PMC web page (HTML).

The title comes from the page's ``citation_title`` metadata, else its first ``<h1>`` that is
not navigation ("Skip to main content" is a link, never a title). The abstract is the element
whose id or class names it (PubMed ``#eng-abstract``, PMC ``section.abstract``); tables are
kept as rows of cells. Superscripts, which copy-paste loses (``10<sup>6</sup>`` becomes
``106``), are kept as ``10^6``.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser

from celltrial.evidence.tables import Table

_BLOCK = {
    "p", "div", "section", "br", "li", "ul", "ol", "h1", "h2", "h3", "h4", "h5", "h6",
    "table", "tr", "article", "header", "footer", "main", "nav", "hgroup", "figure",
    "figcaption", "caption", "dd", "dt", "blockquote",
}  # fmt: skip
_SKIP = {"script", "style", "noscript", "svg", "button", "nav", "header", "footer"}
_NAVIGATION = re.compile(r"^\s*skip to (?:main )?(?:page )?content\s*$", re.IGNORECASE)
_VOID = {"br", "meta", "link", "img", "input", "hr", "wbr", "source"}


class _Page(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.meta: dict[str, list[str]] = {}
        self.title_tag = ""
        self.h1: list[str] = []
        self.text: list[str] = []
        self.abstract: list[str] = []
        self.tables: list[Table] = []
        self._stack: list[str] = []
        self._skip = 0
        self._abstract_depth: int | None = None
        self._abstract_done = False
        self._h1: list[str] | None = None
        self._in_title = False
        self._row: list[str] | None = None
        self._cell: list[str] | None = None
        # cells of earlier rows that span down (rowspan): column -> rows still covered
        self._spans: dict[int, int] = {}
        self._cell_rowspan = 1

    def _fill_spans(self, row_end: bool = False) -> None:
        """Put an empty cell where a cell of an earlier row spans down ("Outcome" with
        rowspan=2 over a second header row "(n = 18) | (n = 17)"), so columns stay aligned;
        ``row_end``: also the spanned cells after the row's last own cell."""
        assert self._row is not None
        while self._spans:
            col = len(self._row)
            if col in self._spans:
                self._spans[col] -= 1
                if self._spans[col] <= 0:
                    del self._spans[col]
            elif not (row_end and any(c > col for c in self._spans)):
                return
            self._row.append("")

    def _emit(self, s: str) -> None:
        self.text.append(s)
        if self._abstract_depth is not None:
            self.abstract.append(s)
        if self._cell is not None:
            self._cell.append(s)
        if self._h1 is not None:
            self._h1.append(s)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: (v or "") for k, v in attrs}
        if tag == "meta":
            name = a.get("name") or a.get("property") or ""
            if name:
                self.meta.setdefault(name.lower(), []).append(a.get("content", ""))
            return
        if tag in _VOID:
            if tag == "br":
                self._emit("\n")
            return
        self._stack.append(tag)
        if tag in _SKIP:
            self._skip += 1
            return
        if tag == "title":
            self._in_title = True
        marker = f"{a.get('id', '')} {a.get('class', '')}".lower()
        if (
            self._abstract_depth is None
            and not self._abstract_done
            and re.search(r"(?:^|[\s_-])(?:eng-)?abstract(?:1|-content)?(?:$|\s)", marker)
        ):
            self._abstract_depth = len(self._stack)
        if tag == "h1":
            self._h1 = []
        if tag == "tr":
            self._row = []
        if tag == "table":
            self._spans = {}
        if tag in ("td", "th"):
            self._cell = []
            span = a.get("rowspan", "1")
            self._cell_rowspan = int(span) if span.isdigit() else 1
        if tag == "sup":
            last = "".join(self.text[-1:])
            if last[-1:].isdigit():
                self._emit("^")
        if tag in _BLOCK:
            self._emit("\n")
        if tag == "strong" and self._abstract_depth is not None:
            self._emit(" ")

    def handle_endtag(self, tag: str) -> None:
        if tag in _VOID or tag not in self._stack:
            return
        while self._stack:
            open_tag = self._stack.pop()
            self._close(open_tag)
            if open_tag == tag:
                break

    def _close(self, tag: str) -> None:
        if tag in _SKIP:
            self._skip -= 1
            return
        if tag == "title":
            self._in_title = False
        if tag in ("td", "th") and self._cell is not None:
            if self._row is not None:
                self._fill_spans()
                if self._cell_rowspan > 1:
                    self._spans[len(self._row)] = self._cell_rowspan - 1
                self._row.append(" ".join("".join(self._cell).split()))
            self._cell = None
        if tag == "tr" and self._row is not None:
            if self._spans and any(self._row):
                self._fill_spans(row_end=True)
            if any(self._row):
                if tag == "tr" and (not self.tables or self._new_table):
                    self.tables.append([])
                    self._new_table = False
                self.tables[-1].append(self._row)
            self._row = None
        if tag == "table":
            self._new_table = True
        if tag == "h1" and self._h1 is not None:
            self.h1.append(" ".join("".join(self._h1).split()))
            self._h1 = None
        if tag in _BLOCK:
            self._emit("\n")
        if self._abstract_depth is not None and len(self._stack) < self._abstract_depth:
            self._abstract_depth = None
            self._abstract_done = True

    _new_table = True

    def handle_data(self, data: str) -> None:
        if self._in_title:
            self.title_tag += data
            return
        if self._skip:
            return
        self._emit(data)


def is_html(text: str) -> bool:
    head = text.lstrip()[:2000].lower()
    return head.startswith(("<!doctype html", "<html")) or (
        "<html" in head and ("<body" in text.lower() or "<head" in head)
    )


def parse_page(text: str) -> dict[str, object]:
    """Metadata, title, abstract, full text and tables of an HTML page."""
    page = _Page()
    page.feed(text)
    page.close()

    def meta(name: str) -> str | None:
        values = [v.strip() for v in page.meta.get(name, []) if v.strip()]
        return values[0] if values else None

    title = meta("citation_title") or meta("dc.title") or meta("og:title")
    if title is None:
        title = next((h for h in page.h1 if h and not _NAVIGATION.match(h)), None)
    if title is None and page.title_tag.strip():
        title = re.sub(r"\s+-\s+(?:PubMed|PMC|NCBI).*$", "", " ".join(page.title_tag.split()))
    body = re.sub(r"[ \t]*\n[ \t\n]*", "\n", "".join(page.text))
    abstract = re.sub(r"[ \t]*\n[ \t\n]*", "\n", "".join(page.abstract)).strip()
    abstract = re.sub(r"^Abstract\s*\n", "", abstract)
    authors = [a for a in page.meta.get("citation_author", []) if a.strip()]
    return {
        "title": title,
        "abstract": abstract,
        "text": body,
        "tables": [t for t in page.tables if len(t) >= 2],
        "pmid": meta("citation_pmid"),
        "doi": meta("citation_doi"),
        "journal": meta("citation_journal_title"),
        "date": meta("citation_publication_date") or meta("citation_date"),
        "authors": authors,
    }
