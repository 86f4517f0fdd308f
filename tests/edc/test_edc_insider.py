"""Blinding and integrity against an insider (issue 16): each attack scripted as the insider
would run it, on SQLite and (``scripts/with-postgres.sh``) PostgreSQL."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from typing import Any

import pytest
from edc_helpers import arm_of, randomized, released_lot

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
        "post", "/staff", {"username": "mole", "role": "dsmb", "sites": [], "all_sites": True}
    )
    assert r.status_code == 200, r.content
    mole = actions.add_staff(trial.admin, "mole2", "dsmb", [], password="correct horse 42")
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
