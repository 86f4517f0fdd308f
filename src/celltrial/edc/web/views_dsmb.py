"""The DSMB's closed (unblinded, by arm) report on the web, generated on request from the live
database and cached by the head of the audit chain.

The path is the one of ``celltrial demo``: :func:`celltrial.edc.export.tables` →
:func:`celltrial.dataset.make_dataset` → :func:`celltrial.analysis.analyze_despite_problems`
(records that break a rule are set aside and listed in the report's "Data problems" section,
with their site and what was analysed without them) →
:func:`celltrial.report.html.render_html` with ``closed=True``.

Every write of the EDC advances the audit chain's head (:class:`~celltrial.edc.models.AuditHead`,
one sequence number and hash for the whole database, moved in the writer's transaction). The
report is kept in Django's cache (``settings.CACHES["default"]``: files in
``CELLTRIAL_CACHE_DIR``, a private folder per database) under one key per trial, with the head
(seq and hash) and the celltrial version it was made from; it is served only while all three
still match, so a second request with no new data is instant and a stale one is never shown.
The tables are read between two reads of the head: if a write lands in between, they are read
again (and in the end inside one transaction), so the seq a report names is the data it shows.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from typing import Any

from django.core.cache import cache
from django.db import connection, transaction
from django.http import HttpRequest, HttpResponse
from django.utils.html import escape

from celltrial.edc.models import AuditHead, Role, Staff, Trial
from celltrial.edc.web.views import _dsmb_page, staff_page

log = logging.getLogger(__name__)

CACHE_PREFIX = "edc-closed-report"
#: Seconds a report stays in the cache (it is replaced as soon as the data change anyway).
CACHE_SECONDS = 14 * 24 * 3600
#: Reads of the tables between two reads of the audit head before one locked read.
TRIES = 3
#: Dataset errors listed on the page when the dataset cannot be analysed.
SHOWN_PROBLEMS = 10


def _version() -> str:
    from celltrial import __version__

    return __version__


def audit_head() -> tuple[int, str]:
    """The audit chain's head: (seq, hash); (0, "") before the first write."""
    row = AuditHead.objects.filter(pk=1).values_list("seq", "hash").first()
    return (int(row[0]), str(row[1])) if row is not None else (0, "")


def _key(trial: Trial) -> str:
    return f"{CACHE_PREFIX}:{trial.pk}"


def cached_report(trial: Trial) -> dict[str, Any] | None:
    """The trial's last report in the cache, current or not (None if there is none)."""
    found = cache.get(_key(trial))
    return found if isinstance(found, dict) else None


def is_current(report: dict[str, Any], head: tuple[int, str]) -> bool:
    """Whether ``report`` was made from the data at ``head`` by this version of celltrial."""
    return (report.get("seq"), report.get("hash"), report.get("version")) == (
        head[0],
        head[1],
        _version(),
    )


def _snapshot(trial: Trial) -> tuple[tuple[int, str], dict[str, Any]]:
    """The dataset's tables and the audit head they belong to (no write in between)."""
    from celltrial.edc.export import tables

    for _ in range(TRIES):
        before = audit_head()
        raw = tables(trial)
        if audit_head() == before:
            return before, raw
    # Writes keep landing: one transaction (SQLite: BEGIN IMMEDIATE, writers wait for it;
    # PostgreSQL: a repeatable-read snapshot).
    outermost = not connection.in_atomic_block
    with transaction.atomic():
        if connection.vendor == "postgresql" and outermost:
            with connection.cursor() as cur:
                cur.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
        return audit_head(), tables(trial)


def _problem_text(exc: Exception) -> str:
    problems = list(getattr(exc, "problems", []))
    shown = "; ".join(str(p) for p in problems[:SHOWN_PROBLEMS])
    more = len(problems) - SHOWN_PROBLEMS
    return (
        f"The dataset exported from the database cannot be analysed yet: {len(problems)} "
        f"error{'s' if len(problems) != 1 else ''}: {shown}"
        + (f"; and {more} more" if more > 0 else "")
        + ". `celltrial edc export` then `celltrial analyze` on that folder lists every one."
    )


def generate(trial: Trial) -> dict[str, Any]:
    """A closed report of ``trial`` from the live database (not cached): a dict with ``seq``,
    ``hash``, ``version``, ``generated_at`` (ISO 8601 UTC), ``seconds``, and either ``html``
    (the report) or ``problem`` (why there is none, for the DSMB)."""
    from celltrial.analysis import analyze_despite_problems
    from celltrial.dataset import DatasetError, make_dataset
    from celltrial.report.html import render_html

    start = time.perf_counter()
    (seq, head), raw = _snapshot(trial)
    html = ""
    problem = ""
    if len(raw.get("DM", ())) == 0:
        problem = (
            "Nobody is randomized yet: the closed report is made once at least one "
            "participant is randomized."
        )
    else:
        protocol = trial.active_protocol().protocol
        try:
            # Records in error are set aside and listed ("Data problems"): the DSMB gets a
            # report whatever the sites typed.
            analysis = analyze_despite_problems(make_dataset(raw), protocol)
            html = render_html(analysis, closed=True)
        except DatasetError as exc:
            problem = _problem_text(exc)
        except Exception as exc:  # an analysis that fails on these data: a message, not a 500
            log.exception("closed report of %s at audit seq %s failed", trial.code, seq)
            problem = (
                "The analysis could not be run on the current data "
                f"({type(exc).__name__}: {exc}). The details are in the server's log."
            )
    return {
        "seq": seq,
        "hash": head,
        "version": _version(),
        "generated_at": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M:%S UTC"),
        "seconds": round(time.perf_counter() - start, 2),
        "html": html,
        "problem": problem,
    }


def report_for(trial: Trial) -> tuple[dict[str, Any], bool]:
    """The closed report of the data as they are now, and whether it was generated just now
    (False: served from the cache, made from the same audit head)."""
    found = cached_report(trial)
    if found is not None and is_current(found, audit_head()):
        return found, False
    report = generate(trial)
    cache.set(_key(trial), report, CACHE_SECONDS)
    return report, True


def report_state(trial: Trial) -> dict[str, Any] | None:
    """For the DSMB page: the last report's seq and time and whether it is still current."""
    found = cached_report(trial)
    if found is None:
        return None
    head = audit_head()
    return {
        "seq": found.get("seq"),
        "generated_at": found.get("generated_at"),
        "current": is_current(found, head),
        "head": head[0],
        "problem": found.get("problem", ""),
    }


def _with_source(report: dict[str, Any], fresh: bool) -> str:
    """The report with a line on top: when it was generated, from which audit seq."""
    note = (
        '<p id="report-source" role="note" style="font: 13px/1.4 system-ui, sans-serif; '
        'background: #fff8c5; border: 1px solid #e6c36a; padding: 6px 10px; margin: 8px 0">'
        f"Generated <b>{escape(report['generated_at'])}</b> from the live EDC database at "
        f'audit seq <b id="report-seq">{int(report["seq"])}</b> '
        + (
            f"(just now, in {float(report['seconds']):.1f} s)"
            if fresh
            else "(from the cache: nothing was written since)"
        )
        + ' · <a href="/dsmb">Back to the DSMB page</a></p>'
    )
    html = str(report["html"])
    at = html.find("<body>")
    if at < 0:
        return note + html
    at += len("<body>")
    return html[:at] + "\n" + note + html[at:]


@staff_page({Role.DSMB})
def closed_report(request: HttpRequest, staff: Staff) -> HttpResponse:
    """``/dsmb/report``: the closed report, or the DSMB page saying why there is none."""
    report, fresh = report_for(staff.trial)
    if not report["html"]:
        # A page with the reason, never an error status: the DSMB has nothing to fix.
        return _dsmb_page(request, staff, report_problem=report["problem"], status=200)
    response = HttpResponse(_with_source(report, fresh), content_type="text/html; charset=utf-8")
    # Unblinded: no copy in a browser's or a proxy's cache.
    response["Cache-Control"] = "no-store, private"
    response["X-Audit-Seq"] = str(report["seq"])
    return response
