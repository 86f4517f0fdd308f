"""Labels, not codes, on every page (issue 17): each role's pages of a trial in which every
kind of coded value exists (participants in several states, an open, an answered and a closed
query, a released and a rejected lot, an AE with every coded field, a medication, a deviation,
a withdrawal) are scanned for the raw codes of the label registry."""

from __future__ import annotations

import contextlib
import datetime as dt
import html.parser
import re
from typing import Any

from edc_helpers import ELIGIBLE, MSC_RELEASE, arm_of, randomized, released_lot
from web_helpers import client_for

from celltrial.edc import labels

#: Codes a person should never read: every registry code that is not itself a word
#: ("not_related", "lost_to_follow_up", "adverse_event", "data_manager" …) and the form status.
RAW = sorted(
    {t.code for v in labels.VOCABULARIES.values() for t in v if "_" in t.code} | {"in_progress"}
)
#: Single-word codes that are words too ("open", "released"): a badge or a status pill must show
#: their label (capitalised), never the code itself.
WORD_CODES = {
    t.code
    for name in ("query_status", "lot_status", "participant_status", "disposition", "role")
    for t in labels.vocabulary(name)
}


class _Visible(html.parser.HTMLParser):
    """The text a person reads (no script, style or ``<code>``: field names are shown as code
    on purpose), and the text of each badge or status pill."""

    def __init__(self) -> None:
        super().__init__()
        self.text: list[str] = []
        self.pills: list[str] = []
        self._skip = 0
        self._pill: list[int] = []  # depth stack of open pills
        self._depth = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("br", "input", "img", "meta", "link", "hr", "wbr"):
            return
        self._depth += 1
        if tag in ("script", "style", "code", "option", "select", "textarea"):
            self._skip += 1
        classes = (dict(attrs).get("class") or "").split()
        if {"badge", "status"} & set(classes):
            self._pill.append(self._depth)
            self.pills.append("")

    def handle_endtag(self, tag: str) -> None:
        if tag in ("br", "input", "img", "meta", "link", "hr", "wbr"):
            return
        if self._pill and self._pill[-1] == self._depth:
            self._pill.pop()
        if tag in ("script", "style", "code", "option", "select", "textarea"):
            self._skip = max(0, self._skip - 1)
        self._depth -= 1

    def handle_data(self, data: str) -> None:
        if self._skip:
            return
        self.text.append(data)
        if self._pill:
            self.pills[-1] += data


def raw_codes(page: str) -> list[str]:
    """The raw codes a person would read on ``page``."""
    v = _Visible()
    v.feed(page)
    text = " ".join(v.text)
    found = [c for c in RAW if re.search(rf"(?<![\w/.-]){re.escape(c)}(?![\w/.-])", text)]
    found += [f"pill {p.strip()!r}" for p in v.pills if p.strip() in WORD_CODES]
    return found


def test_raw_code_scanner_finds_codes() -> None:
    """The scanner itself: a code in text and a raw status pill are found, labels are not."""
    page = (
        '<p>relatedness not_related</p><span class="badge q-open">open</span>'
        '<span class="status s-released">Released</span><code>end_at lost_to_follow_up</code>'
        "<script>var x = 'adverse_event';</script>"
    )
    assert raw_codes(page) == ["not_related", "pill 'open'"]


def _trial_with_every_code(t: Any) -> dict[str, str]:
    """Records with every kind of coded value; the pages to read, by name."""
    from celltrial.edc import actions
    from celltrial.edc.models import Query

    coord, mon = t["coord1"], t["mon1"]
    start = dt.datetime(2025, 1, 10, 9, tzinfo=dt.UTC)
    p = randomized(t, at=start)
    arm = arm_of(p)
    lot = released_lot(t, arm)
    bad = actions.register_lot(t["pharm"], "LOT-BAD", "msc")
    with contextlib.suppress(actions.ActionError):  # rejected, with its results
        actions.release_lot(t["pharm"], bad, {**MSC_RELEASE, "viability": 10})
    at = p.randomization.randomized_at
    actions.record_infusion(
        t["pharm"],
        p,
        lot=lot.number,
        started_at=at + dt.timedelta(hours=3),
        delivered=(140e6 if arm == "msc" else 70.0),
    )
    ae = actions.report_adverse_event(
        coord,
        p,
        term="Hypoxia",
        onset=at + dt.timedelta(days=3),
        grade=3,
        relatedness="not_related",
        procedure_relatedness="unlikely",
        outcome="recovered_with_sequelae",
        serious_criteria=["life_threatening", "important_medical_event"],
        expected=False,
        end_at=at + dt.timedelta(days=5),
        action_taken="dose_not_changed",
    )
    actions.record_medication(
        coord,
        p,
        medication="Dexamethasone",
        route="intravenous",
        frequency="qd",
        start_date="2025-01-06",
        ongoing=True,
        missing={"dose": "asked_unknown", "dose_unit": "not_applicable", "indication": "not_done"},
    )
    actions.record_deviation(coord, p, category="major", description="Visit out of window")
    q_open = actions.open_query(mon, "adverse_event", ae.id, "Onset time?", field="onset")
    q_ans = actions.open_query(mon, "participant", p.id, "Weight source?")
    actions.answer_query(coord, q_ans.id, "Scale at bedside.")
    q_closed = actions.open_query(mon, "adverse_event", ae.id, "Grade?")
    actions.close_query(mon, q_closed.id, note="Fine.")
    assert Query.objects.filter(status="answered").exists()
    gone = randomized(t, at=start)
    actions.mark_lost_to_follow_up(coord, gone, last_contact=at + dt.timedelta(days=1))
    left = randomized(t, at=start)
    actions.withdraw(coord, left, reason="Moved away", at=at + dt.timedelta(days=1))
    no = actions.screen_participant(coord, "site1", {**ELIGIBLE, "pregnancy": True})
    return {
        "home": "/",
        "participant": f"/p/{p.code}",
        "lost": f"/p/{gone.code}",
        "withdrawn": f"/p/{left.code}",
        "ineligible": f"/p/{no.code}",
        "medications": f"/p/{p.code}/medications",
        "deviation": f"/p/{p.code}/deviation",
        "leave": f"/p/{gone.code}/leave",
        "queries": "/queries?status=all",
        "query open": f"/queries/{q_open.id}",
        "query answered": f"/queries/{q_ans.id}",
        "query closed": f"/queries/{q_closed.id}",
        "ae record": f"/p/{p.code}/record/adverse_event/{ae.id}",
        "participant record": f"/p/{p.code}/record/participant/{p.id}",
        "ae edit": f"/p/{p.code}/edit/adverse_event/{ae.id}",
        "pharmacy": "/pharmacy",
        "dose": f"/pharmacy/p/{p.code}",
        "export": "/export",
        "manage": "/manage",
        "staff": "/manage/staff",
        "person": "/manage/staff/dm",
    }


def test_no_raw_code_on_any_page_of_any_role(web_trial: Any) -> None:
    """About 5 s (the test client, no browser): seven log-ins and some twenty pages each —
    reading every role's pages is what this test is for, so they are not sampled."""
    pages = _trial_with_every_code(web_trial)
    seen: dict[str, int] = {}
    problems: list[str] = []
    for who in ("inv1", "coord1", "pharm", "mon1", "dm", "dsmb", "admin"):
        c = client_for(who)
        for name, url in pages.items():
            r = c.get(url, follow=True)
            if r.status_code != 200:
                continue
            seen[who] = seen.get(who, 0) + 1
            body = r.content.decode()
            problems += [f"{who} {name} ({url}): {x}" for x in raw_codes(body)]
    assert not problems, "\n".join(problems)
    # every role read its pages (a role's 403s are not scanned)
    assert all(n >= 3 for n in seen.values()) and len(seen) == 7, seen
