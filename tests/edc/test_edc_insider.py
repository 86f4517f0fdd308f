"""Blinding and integrity against an insider (issue 16): each attack scripted as the insider
would run it, on SQLite and (``scripts/with-postgres.sh``) PostgreSQL."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from typing import Any

import pytest
from edc_helpers import As, arm_of, randomized, released_lot

from celltrial.edc import actions
from celltrial.edc.audit import canonical, row_hash, verify_audit
from celltrial.edc.models import AuditEntry, Infusion


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _infused(trial: Any, n: int) -> list[Any]:
    """``n`` participants randomized and given their first infusion (the rows a blinded reader
    must not decode)."""
    at = _now() - dt.timedelta(hours=10)
    lots: dict[str, Any] = {}
    people = []
    for _ in range(n):
        p = randomized(trial, at=at)
        arm = arm_of(p)
        if arm not in lots:
            lots[arm] = released_lot(trial, arm)
        start = at.replace(second=0, microsecond=0) + dt.timedelta(hours=3)
        dose = 140e6 if arm == "msc" else 70.0
        actions.record_infusion(trial["pharm"], p, lot=lots[arm], started_at=start, delivered=dose)
        people.append(p)
    return people


def _guessed_hash(prev: str, served: dict[str, Any], true_row: AuditEntry) -> str:
    """The hash a blinded reader computes for a hidden row, given the best possible guess of
    its content: the true content itself (as if they had guessed the arm right), with what
    they cannot know — the secret nonce — left out."""
    content = {
        "seq": served["seq"],
        "at": served["at"],
        "actor": served["actor"],
        "role": served["role"],
        "action": served["action"],
        "table": served["table"],
        "record_id": true_row.record_id,
        "old": true_row.old,
        "new": true_row.new,
        "reason": served["reason"],
        "blinded_safe": False,
    }
    return hashlib.sha256((prev + canonical(content)).encode()).hexdigest()


def _next_hash(prev: str, served: dict[str, Any]) -> str:
    """A visible row's hash from a candidate previous hash (the chain walked forward)."""
    content = {k: served[k] for k in ("seq", "at", "actor", "role", "action", "table")}
    content |= {k: served[k] for k in ("record_id", "old", "new", "reason")}
    content["blinded_safe"] = True
    return hashlib.sha256((prev + canonical(content)).encode()).hexdigest()


def test_audit_hashes_do_not_confirm_a_guessed_arm(trial: Any, clients: Any) -> None:
    """Item 1: a blinded data manager reads ``/api/audit`` and tests, for each hidden infusion
    row, the right guess of its content against the row's served hash and, walking the chain,
    against the next visible row's hash. If even the right guess cannot be confirmed, no arm
    can be recovered: 0 of the participants."""
    people = _infused(trial, 6)
    assert {arm_of(p) for p in people} == {"msc", "placebo"}  # both arms are present
    served = clients["dm"].call("get", "/audit?limit=1000").json()
    assert served and all(r["seq"] for r in served)
    by_seq = {r["seq"]: r for r in served}
    hidden = [r for r in served if r["table"] == "infusion"]
    assert len(hidden) == 6 and all(r["record_id"] == "" for r in hidden)
    recovered = set()
    for r in hidden:
        prev = by_seq.get(r["seq"] - 1, {}).get("hash", "")
        true_row = AuditEntry.objects.get(seq=r["seq"])
        guess = _guessed_hash(prev, r, true_row)
        nxt = by_seq.get(r["seq"] + 1)
        confirmed = (r["hash"] and guess == r["hash"]) or (
            nxt is not None and nxt["hash"] and _next_hash(guess, nxt) == nxt["hash"]
        )
        if confirmed:
            recovered.add(Infusion.objects.get(pk=int(true_row.record_id)).participant_id)
    assert recovered == set()
    assert all(r["hash"] == "" for r in hidden)  # no hash of a row whose content is hidden
    # Not vacuous: the rows do hold the arm-revealing content, and their stored hashes do
    # follow from it once the secret nonce is known (the chain verifies).
    for r in hidden:
        row = AuditEntry.objects.get(seq=r["seq"])
        assert json.loads(row.new)["unit"] in {"cells", "mL"}
        assert row.nonce and row_hash(row.prev_hash, row) == row.hash
    assert verify_audit().ok


def test_randomization_refusal_tells_nothing_of_the_next_arm(trial: Any) -> None:
    """Item 2: enrolled without a weight, a coordinator asks to randomize again and again.
    Every refusal is the same, names no arm, and uses no slot (the list is not even read), so
    asking tells nothing of the next allocation."""
    from edc_helpers import ELIGIBLE

    from celltrial.edc.actions import ActionError
    from celltrial.edc.models import AllocationSlot

    c = trial["coord1"]
    answers = set()
    for _ in range(8):
        p = actions.screen_participant(
            c, "site1", {k: v for k, v in ELIGIBLE.items() if k != "weight"}
        )
        assert p.weight_kg is None
        actions.record_consent(c, p, "2.1", dt.date(2025, 1, 5))
        actions.enroll(c, p)
        for _ in range(2):
            with pytest.raises(ActionError) as exc:
                actions.randomize_participant(c, p)
            answers.add(tuple((q.field, q.message) for q in exc.value.problems))
    assert len(answers) == 1, answers
    ((field, text),) = next(iter(answers))
    assert field == "weight" and not any(a in text for a in ("msc", "placebo", "cells", "mL/kg"))
    assert not AllocationSlot.objects.filter(taken_by__isnull=False).exists()


def test_an_admin_cannot_unblind_themselves(trial: Any, clients: Any) -> None:
    """Item 5: a blinded admin tries every way to an unblinded account: a token for the
    pharmacist, a new DSMB account (with a password they chose), reactivating a deactivated
    pharmacist. Each is refused or leaves the account unusable; a DSMB member's approval makes
    it usable, with a password the admin never saw, and the approval is in the audit trail that
    blinded roles read."""
    from django.contrib.auth import authenticate

    admin = clients["admin"]
    # 1. A token for the pharmacist (then /api/allocation would answer): refused.
    r = admin.call("post", "/staff/pharm/tokens", {"label": "mine"})
    assert r.status_code == 403 and "separation of duties" in r.json()["detail"][0]["message"]
    # 2. A DSMB account of their own: created, but inactive and without the admin's password.
    r = admin.call(
        "post",
        "/staff",
        {
            "username": "mole",
            "role": "dsmb",
            "full_name": "Mo Le",
            "sites": [],
            "all_sites": True,
        },
    )
    assert r.status_code == 200, r.content
    mole = actions.add_staff(
        trial.admin, "mole2", "dsmb", [], password="correct horse 42", full_name="A Person"
    )
    assert authenticate(username="mole2", password="correct horse 42") is None
    mole.user.refresh_from_db()
    assert not mole.user.is_active
    assert admin.call("post", "/staff/mole/tokens", {"label": "x"}).status_code == 403
    # ... and the admin cannot approve it, nor reactivate it.
    r = admin.call("post", "/staff/mole/approve", {"reason": "please"})
    assert r.status_code == 403
    r = admin.call("post", "/staff/mole/reactivate", {"reason": "please"})
    assert r.status_code == 403 and "separation of duties" in r.json()["detail"][0]["message"]
    # 3. Deactivate the pharmacist and reactivate them: the reactivation is refused.
    actions.deactivate_staff(trial.admin, "pharm", "on leave")
    with pytest.raises(actions.Forbidden):
        actions.reactivate_staff(trial.admin, "pharm", "back")
    # The second person: a DSMB member approves; the first password goes to them, not the admin.
    r = clients["dsmb"].call("post", "/staff/mole/approve", {"reason": "new DSMB statistician"})
    assert r.status_code == 200, r.content
    first = r.json()["initial_password"]
    assert r.json()["active"] and authenticate(username="mole", password=first) is not None
    # Visible to all: a blinded monitor and the data manager read the approval.
    for who in ("dm", "admin"):
        rows = clients[who].call("get", "/audit?limit=1000").json()
        approved = [x for x in rows if x["action"] == "approve_access"]
        assert approved and '"username":"mole"' in approved[0]["new"]
        asked = [x for x in rows if x["action"] == "add_staff" and '"mole"' in x["new"]]
        assert '"awaiting_approval":true' in asked[0]["new"]
    # The holder issues their own token; the approver cannot approve themselves.
    mole_staff = type(trial["dsmb"]).objects.get(user__username="mole")
    assert actions.issue_token(mole_staff, mole_staff, "own").raw
    with pytest.raises(actions.Forbidden):
        actions.approve_access(trial["dsmb"], "dsmb", "me")


# ------------------------------------------------------------------------------ integrity


def _raw(sql: str, params: list[object] | None = None) -> None:
    from django.db import connection

    with connection.cursor() as cur:
        cur.execute(sql, params or [])


def _table(model: Any) -> str:
    from django.db import connection

    return connection.ops.quote_name(model._meta.db_table)


@pytest.fixture
def busy(trial: Any) -> dict[str, Any]:
    """Two randomized participants on different arms, one of them dead."""
    people = []
    while len({arm_of(p) for p in people}) < 2:
        people.append(randomized(trial, at=_now() - dt.timedelta(hours=10)))
    a = people[0]
    b = next(p for p in people if arm_of(p) != arm_of(a))
    actions.record_death(trial["coord1"], b, died_at=_now() - dt.timedelta(hours=1), cause="ARDS")
    assert verify_audit().ok
    return {"a": a, "b": b}


def test_swapping_two_participants_arms_is_named_by_verify(busy: Any) -> None:
    """Item 6: a database administrator swaps two participants' allocations (their slots)."""
    from celltrial.edc.models import AllocationSlot, Randomization

    ra = Randomization.objects.get(participant=busy["a"])
    rb = Randomization.objects.get(participant=busy["b"])
    spare = AllocationSlot.objects.filter(taken_by__isnull=True).first()
    t = _table(Randomization)
    for rid, slot in ((ra.pk, spare.pk), (rb.pk, ra.slot_id), (ra.pk, rb.slot_id)):
        _raw(f"UPDATE {t} SET slot_id = %s WHERE id = %s", [slot, rid])
    assert arm_of(busy["a"]) != arm_of(busy["b"]) and arm_of(busy["a"]) == rb.slot.arm
    report = verify_audit()
    assert not report.ok and f"randomization {ra.pk}: slot_id" in report.message


def test_changing_an_arm_in_the_sealed_list_is_named_by_verify(busy: Any) -> None:
    from celltrial.edc.models import AllocationSlot, Randomization

    slot = Randomization.objects.get(participant=busy["a"]).slot
    other = "placebo" if slot.arm == "msc" else "msc"
    _raw(f"UPDATE {_table(AllocationSlot)} SET arm = %s WHERE id = %s", [other, slot.pk])
    report = verify_audit()
    assert not report.ok and "sealed list" in report.message
    assert other not in report.message and slot.arm not in report.message  # names no arm


def test_deleting_a_death_is_named_by_verify(busy: Any) -> None:
    from celltrial.edc.models import Death

    death = Death.objects.get(participant=busy["b"])
    _raw(f"DELETE FROM {_table(Death)} WHERE id = %s", [death.pk])
    report = verify_audit()
    assert not report.ok and f"death {death.pk}: in the audit trail but not in the table" in (
        report.message
    )


def test_changing_a_role_is_named_by_verify(busy: Any, trial: Any) -> None:
    from celltrial.edc.models import Staff

    coord = trial["coord1"]
    _raw(f"UPDATE {_table(Staff)} SET role = 'pharmacist' WHERE id = %s", [coord.pk])
    report = verify_audit()
    assert not report.ok and f"staff {coord.pk}: role differs" in report.message


def test_truncating_the_audit_trail_is_caught_by_the_anchor(
    trial: Any, settings: Any, tmp_path: Any, django_capture_on_commit_callbacks: Any
) -> None:
    """Item 6: the head is anchored outside the database (a signed file, written after each
    commit); deleting the whole audit table and its head, or its last rows with the head
    moved back to match, no longer passes as "intact"."""
    from celltrial.edc.audit import read_anchor
    from celltrial.edc.models import AuditEntry, AuditHead

    settings.AUDIT_ANCHOR = str(tmp_path / "audit-head.json")
    with django_capture_on_commit_callbacks(execute=True):
        p = randomized(trial)
        actions.record_measurement(trial["coord1"], p, "il6", 5)
    anchor = read_anchor()
    last = AuditEntry.objects.order_by("-seq").first()
    assert anchor is not None and (anchor["seq"], anchor["hash"]) == (last.seq, last.hash)
    report = verify_audit()
    assert report.ok and f"anchored at row {last.seq}" in report.message
    # Cut the last two rows and move the head back: the chain itself is consistent again ...
    prev = AuditEntry.objects.get(seq=last.seq - 2)
    _raw(f"DELETE FROM {_table(AuditEntry)} WHERE seq > %s", [prev.seq])
    _raw(
        f"UPDATE {_table(AuditHead)} SET seq = %s, hash = %s, prev_hash = %s WHERE id = 1",
        [prev.seq, prev.hash, prev.prev_hash],
    )
    report = verify_audit()
    assert not report.ok and report.first_bad == last.seq and "anchor" in report.message
    # ... and an emptied table with no head is no longer "intact: 0 rows".
    _raw(f"DELETE FROM {_table(AuditEntry)}")
    _raw(f"DELETE FROM {_table(AuditHead)}")
    report = verify_audit()
    assert not report.ok and "truncated" in report.message
    # A forged anchor (not signed with this installation's key) is refused too.
    (tmp_path / "audit-head.json").write_text('{"seq": 0, "hash": "", "mac": "x"}')
    assert "not signed" in verify_audit().message


@pytest.mark.django_db(transaction=True)
def test_sixty_parallel_log_ins_are_locked_out() -> None:
    """Item 8: 59 wrong passwords sent at once, then the right one: at most 5 attempts are
    checked, every attempt is counted, and the right password no longer gets in."""
    from concurrent.futures import ThreadPoolExecutor

    from django.db import connection
    from django.test import Client
    from edc_helpers import make_trial

    from celltrial.edc.models import Attempt

    t = make_trial(per_stratum=2)
    user = t["coord1"].user
    user.set_password("the right one 42")
    user.save()

    def attempt(password: str) -> int:
        try:
            r = Client().post("/login", {"username": "coord1", "password": password})
            return int(r.status_code)
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=20) as pool:
        codes = list(pool.map(attempt, [f"wrong {i:02d} password" for i in range(59)]))
    assert codes.count(401) <= 5 and codes.count(401) + codes.count(429) == 59, codes
    assert Attempt.objects.filter(kind="login", who="coord1").count() == 59
    assert attempt("the right one 42") == 429  # locked: the right password does not get in


def test_private_folder_refuses_a_planted_one(tmp_path: Any) -> None:
    """Item 7: the cache (whose files Django unpickles), the secret key and the audit anchor
    live in a folder only the server's user can enter. A folder someone else prepared (open
    to others, or a link to theirs) is refused, so a planted pickle is never read."""
    import os
    import stat

    from django.conf import settings
    from django.core.exceptions import ImproperlyConfigured

    from celltrial.edc.settings import private_dir

    made = private_dir(tmp_path / "state")
    assert stat.S_IMODE(os.stat(made).st_mode) == 0o700
    assert private_dir(made) == made  # ours: used again
    planted = tmp_path / "planted"
    planted.mkdir(mode=0o777)
    os.chmod(planted, 0o777)
    (planted / "x.djcache").write_bytes(b"\x80\x04evil pickle")
    with pytest.raises(ImproperlyConfigured, match="0700"):
        private_dir(planted)
    link = tmp_path / "link"
    link.symlink_to(made)
    with pytest.raises(ImproperlyConfigured):
        private_dir(link)
    # The server's own cache folder is private and is no guessable name in the shared temp.
    cache_dir = settings.CACHES["default"]["LOCATION"]
    assert "celltrial-edc-cache-" not in cache_dir
    state = os.stat(settings.STATE_DIR)
    assert state.st_uid == os.getuid() and stat.S_IMODE(state.st_mode) == 0o700


def test_each_installation_generates_its_secret_key(tmp_path: Any, monkeypatch: Any) -> None:
    """Item 11: no fixed development key; each installation makes its own, kept 0600."""
    import os
    import stat

    from django.conf import settings

    from celltrial.edc.settings import _secret_key

    monkeypatch.delenv("CELLTRIAL_SECRET_KEY", raising=False)
    one, two = tmp_path / "one", tmp_path / "two"
    one.mkdir(mode=0o700)
    two.mkdir(mode=0o700)
    k1 = _secret_key(one)
    assert len(k1) >= 50 and _secret_key(one) == k1 and _secret_key(two) != k1
    assert stat.S_IMODE(os.stat(one / "secret_key").st_mode) == 0o600
    assert "development" not in settings.SECRET_KEY and len(settings.SECRET_KEY) >= 50


_AE = {
    "term": "Fever",
    "onset": "2025-03-01T10:00Z",
    "grade": 2,
    "relatedness": "possible",
    "outcome": "recovered",
}


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        ("adverse-events", {**_AE, "term": "x" * 201}, "term"),
        ("adverse-events", {**_AE, "term": "x" * 1_000_000}, "term"),
        ("adverse-events", {**_AE, "term": "\ud800x"}, "term"),
        ("adverse-events", {**_AE, "term": "fe\x00ver"}, "term"),
        ("adverse-events", {**_AE, "decoded_term": "\udfff"}, "decoded_term"),
        ("consents", {"version": "v" * 41, "consented_on": "2025-01-05"}, "version"),
        ("consents", {"version": "2.\x001", "consented_on": "2025-01-05"}, "version"),
    ],
)
def test_bad_text_is_a_4xx_naming_the_field(
    trial: Any, clients: Any, path: str, body: dict[str, Any], field: str
) -> None:
    """Item 9: oversize text (SQLite stored 1 MB in a 200-character column; PostgreSQL said
    500), a lone surrogate and a NUL byte answer 422 naming the field, on both databases."""
    if path == "consents":  # consent comes after screening
        p = actions.screen_participant(trial["coord1"], "site1", {"age": 40})
    else:
        p = randomized(trial)
    r = clients["coord1"].call("post", f"/participants/{p.code}/{path}", body)
    assert r.status_code == 422, (r.status_code, r.content[:300])
    assert field in {d["field"] for d in r.json()["detail"]}, r.json()


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        ("/screenings", {"site": "site1", "values": {"age": 40}}, "screened_at"),
        ("adverse-events", _AE, "onset"),
        ("withdraw", {"reason": "Moved abroad", "by": "participant"}, "at"),
    ],
)
@pytest.mark.parametrize("when", ["0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59-14:00"])
def test_a_time_utc_cannot_hold_is_a_422_naming_the_field(
    trial: Any, clients: Any, path: str, body: dict[str, Any], field: str, when: str
) -> None:
    """Item 9 (found by ``make fuzz``'s probes): a valid ISO time whose UTC falls outside the
    years 1-9999 (year 1 east of Greenwich, year 9999 west of it) made ``astimezone`` raise
    ``OverflowError``: a 500 on every action with a time. Now a 422 naming the field."""
    url = path if path.startswith("/") else f"/participants/{randomized(trial).code}/{path}"
    r = clients["coord1"].call("post", url, {**body, field: when})
    assert r.status_code == 422, (r.status_code, r.content[:300])
    assert [d["field"] for d in r.json()["detail"]] == [field], r.json()
    assert "years 1-9999" in r.json()["detail"][0]["message"]


def test_nan_and_nul_in_the_url_are_refused(trial: Any, clients: Any) -> None:
    """Item 9: ``delivered: NaN`` and a NUL in the query or the path: a 4xx, never a 500."""
    p = randomized(trial)
    lot = released_lot(trial, arm_of(p))
    c = clients["pharm"]
    start = _now().isoformat()
    for number in ("NaN", "Infinity", "-Infinity"):
        raw = f'{{"lot": "{lot.number}", "started_at": "{start}", "delivered": {number}}}'
        r = c.client.post(
            f"/api/participants/{p.code}/infusions",
            data=raw,
            content_type="application/json",
            headers=c.headers,
        )
        assert r.status_code == 422, (number, r.status_code, r.content[:200])
        assert r.json()["detail"][0]["field"] == "delivered"
    r = clients["coord1"].client.get("/api/participants?site=%00", headers=c.headers)
    assert r.status_code == 400 and r.json()["detail"][0]["field"] == "site"
    r = clients["coord1"].client.get("/api/participants/a%00b", headers=c.headers)
    assert r.status_code == 400 and r.json()["detail"][0]["field"] == "path"


def test_a_server_error_on_the_api_is_json_with_a_logged_request_id(
    trial: Any, clients: Any, monkeypatch: Any, caplog: Any
) -> None:
    """Item 9: an unexpected error is answered as JSON (not Django's HTML page) and logged
    with its traceback under the request id the answer carries."""
    from celltrial.edc import serialize

    def broken(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("boom in serialize")

    randomized(trial)
    monkeypatch.setattr(serialize, "participant", broken)
    c = clients["coord1"]
    c.client.raise_request_exception = False
    with caplog.at_level("ERROR", logger="celltrial.edc"):
        r = c.call("get", "/participants")
    assert r.status_code == 500 and r["Content-Type"] == "application/json"
    rid = r["X-Request-ID"]
    assert rid and rid in r.json()["detail"][0]["message"]
    (record,) = [x for x in caplog.records if rid in x.getMessage()]
    assert record.exc_info is not None and "boom in serialize" in str(record.exc_info[1])


@pytest.mark.django_db(transaction=True)
def test_same_key_retried_concurrently_gets_the_first_result() -> None:
    """Item 10: 12 concurrent retries of one randomization with the same Idempotency-Key all
    get the first result (none a 409); the key reused for another participant is a 422."""
    import threading

    from django.db import connection
    from edc_helpers import ELIGIBLE, make_trial

    from celltrial.edc.actions import ActionError

    t = make_trial(per_stratum=4)
    c = t["coord1"]
    people = []
    for _ in range(2):
        p = actions.screen_participant(c, "site1", ELIGIBLE)
        actions.record_consent(c, p, "2.1", dt.date(2025, 1, 1))
        actions.enroll(c, p)
        people.append(p.code)
    results: list[Any] = []
    barrier = threading.Barrier(12)

    def retry() -> None:
        try:
            barrier.wait()
            r = actions.randomize_participant(c, people[0], idempotency_key="k-1")
            results.append(r.pk)
        except BaseException as exc:
            results.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=retry) for _ in range(12)]
    for th in threads:
        th.start()
    for th in threads:
        th.join(120)
    assert len(results) == 12 and len(set(results)) == 1 and isinstance(results[0], int), results
    with pytest.raises(ActionError) as exc:
        actions.randomize_participant(c, people[1], idempotency_key="k-1")
    assert exc.value.status == 422 and exc.value.problems[0].field == "idempotency_key"


@pytest.mark.parametrize(
    "weak", [" " * 12, "a" * 12, "password1234", "123456789012", "coordinator9x"]
)
def test_weak_passwords_are_refused(trial: Any, weak: str) -> None:
    """Item 11: Django's validators (common passwords, numeric, like the username) and at
    least 5 different characters, not only spaces."""
    from edc_helpers import fields

    from celltrial.edc.actions import ActionError

    with pytest.raises(ActionError) as exc:
        actions.add_staff(
            trial.admin,
            "coordinator9",
            "coordinator",
            ["site1"],
            password=weak,
            full_name="A Person",
        )
    assert fields(exc) == {"password"}
    assert actions.add_staff(
        trial.admin,
        "coordinator9",
        "coordinator",
        ["site1"],
        password="ochre tapir 1987 lamp",
        full_name="A Person",
    )


def test_deactivated_persons_sessions_end_for_good(trial: Any) -> None:
    """Item 11: a session opened before a deactivation does not work again after the
    reactivation (the person logs in anew)."""
    from django.test import Client

    user = trial["coord1"].user
    user.set_password("ochre tapir 1987 lamp")
    user.save()
    c = Client()
    assert (
        c.post("/login", {"username": "coord1", "password": "ochre tapir 1987 lamp"}).status_code
        == 302
    )
    assert c.get("/").status_code == 200
    actions.deactivate_staff(trial.admin, "coord1", "left the site")
    actions.reactivate_staff(trial.admin, "coord1", "came back")
    r = c.get("/")
    assert r.status_code == 302 and "/login" in r["Location"]


def test_pages_carry_csp_and_no_store(trial: Any) -> None:
    """Item 11: pages with participant data are not stored (``no-store``) and carry a
    Content-Security-Policy whose script nonce is the one on the page's inline scripts."""
    import re

    from django.test import Client

    randomized(trial)
    user = trial["coord1"].user
    user.set_password("ochre tapir 1987 lamp")
    user.save()
    c = Client()
    c.post("/login", {"username": "coord1", "password": "ochre tapir 1987 lamp"})
    r = c.get("/")
    assert r.status_code == 200 and r["Cache-Control"] == "no-store"
    csp = r["Content-Security-Policy"]
    nonce = re.search(r"'nonce-([^']+)'", csp).group(1)
    scripts = re.findall(r"<script([^>]*)>", r.content.decode())
    assert scripts and all(f'nonce="{nonce}"' in s for s in scripts)
    assert "frame-ancestors 'none'" in csp and "object-src 'none'" in csp
    api = As(actions.token_for(trial["coord1"])).call("get", "/participants")
    assert api.status_code == 200 and api["Cache-Control"] == "no-store"


@pytest.mark.django_db(transaction=True)
def test_pg_dump_and_restore_verify(tmp_path: Any) -> None:
    """The documented backup (``pg_dump --format=custom``) restored into a new database
    (``pg_restore``) verifies as intact with ``celltrial edc audit verify`` — and a data edit
    in the restored copy is named there (the check reads the restored rows)."""
    import glob
    import os
    import shutil
    import subprocess
    import sys

    from django.db import connection
    from edc_helpers import make_trial

    if connection.vendor != "postgresql":
        pytest.skip("PostgreSQL only (run through scripts/with-postgres.sh)")
    found = shutil.which("pg_dump") or next(
        iter(sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_dump"))), None
    )
    if found is None:
        pytest.skip("pg_dump is not installed")
    bindir = os.path.dirname(found)
    t = make_trial(per_stratum=2)
    for _ in range(3):
        randomized(t)
    db = connection.settings_dict
    env = {**os.environ, "PGHOST": db["HOST"], "PGPORT": str(db["PORT"]), "PGUSER": db["USER"]}
    env["PGPASSWORD"] = db["PASSWORD"] or ""
    dump = tmp_path / "celltrial.dump"
    run = lambda *cmd: subprocess.run(cmd, env=env, check=True, capture_output=True)  # noqa: E731
    run(f"{bindir}/pg_dump", "--format=custom", f"--file={dump}", db["NAME"])
    restored = f"{db['NAME']}_restore"
    run(f"{bindir}/dropdb", "--if-exists", restored)
    run(f"{bindir}/createdb", restored)
    try:
        run(f"{bindir}/pg_restore", f"--dbname={restored}", "--no-owner", str(dump))
        state = tmp_path / "state"
        state.mkdir(mode=0o700)
        cli_env = {k: v for k, v in env.items() if k not in ("PYTEST_VERSION",)}
        cli_env["DATABASE_URL"] = f"postgresql://{db['USER']}@{db['HOST']}:{db['PORT']}/{restored}"
        cli_env["CELLTRIAL_STATE_DIR"] = str(state)
        verify = [
            sys.executable,
            "-c",
            "from celltrial.cli import app; app()",
            "edc",
            "audit",
            "verify",
        ]
        r = subprocess.run(verify, env=cli_env, capture_output=True, text=True)
        assert r.returncode == 0 and "intact" in r.stdout, r.stdout + r.stderr
        run(
            f"{bindir}/psql",
            "-d",
            restored,
            "-c",
            "UPDATE edc_staff SET role = 'dsmb' WHERE role = 'monitor'",
        )
        r = subprocess.run(verify, env=cli_env, capture_output=True, text=True)
        assert r.returncode == 1 and "role differs" in r.stdout + r.stderr
    finally:
        run(f"{bindir}/dropdb", "--if-exists", restored)


def test_changing_a_participants_status_is_named_by_verify(busy: Any) -> None:
    """Issue 16 follow-up: actions change a participant's status without writing the whole
    participant; its ``participant_status`` rows bind the column, so an edit is named."""
    from celltrial.edc.models import Participant

    a = busy["a"]
    assert AuditEntry.objects.filter(
        action="participant_status", table="participant", record_id=str(a.pk)
    ).exists()
    _raw(f"UPDATE {_table(Participant)} SET status = 'withdrawn' WHERE id = %s", [a.pk])
    report = verify_audit()
    assert not report.ok and f"participant {a.pk}: status differs" in report.message


def test_moving_or_deleting_a_generated_visit_is_named_by_verify(busy: Any) -> None:
    """The visits generated at randomization have no audit rows of their own: their schedule
    is bound by the ``schedule_visits`` row's digest (a widened window, a deleted visit)."""
    from celltrial.edc.models import VisitRecord

    a = busy["a"]
    visit = VisitRecord.objects.filter(participant=a, done_at__isnull=True).order_by("-nominal")[0]
    later = visit.latest + dt.timedelta(days=30)
    _raw(f"UPDATE {_table(VisitRecord)} SET latest = %s WHERE id = %s", [later, visit.pk])
    report = verify_audit()
    assert not report.ok and f"participant {a.pk}'s visits" in report.message
    _raw(f"UPDATE {_table(VisitRecord)} SET latest = %s WHERE id = %s", [visit.latest, visit.pk])
    assert verify_audit().ok
    _raw(f"DELETE FROM {_table(VisitRecord)} WHERE id = %s", [visit.pk])
    report = verify_audit()
    assert not report.ok and f"participant {a.pk}'s visits" in report.message
