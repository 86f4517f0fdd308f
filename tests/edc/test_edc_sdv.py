"""Issue 17, monitoring and lot release, through the REST API: source-data verification (SDV)
and the status of each form; a locked casebook; release results against the protocol's limits,
a failed lot refused naming the criterion, the chain from lot to infusion; and blinded roles
trying to learn an arm from lots (as an attacker would).

The tests use the session's ``trial`` and ``clients`` fixtures only (they also run as flows of
``test_edc_openapi``, which checks every answer against the published schema)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from edc_helpers import ARM_STRINGS, MSC_RELEASE, arm_of, randomized, released_lot

from celltrial.edc import actions
from celltrial.edc.models import AuditEntry, Lot, SourceVerification


def _forms(c: Any, code: str) -> dict[tuple[str, str], dict[str, Any]]:
    r = c.call("get", f"/participants/{code}/forms")
    assert r.status_code == 200, r.content
    return {(f["table"], f["record_id"]): f for f in r.json()["forms"]}


def _detail(r: Any) -> list[dict[str, str]]:
    return list(r.json()["detail"])


def test_sdv_and_form_status_through_the_api(trial: Any, clients: Any) -> None:
    p = randomized(trial)
    actions.record_visit(trial["coord1"], p, "baseline")
    m = actions.record_measurement(trial["coord1"], p, "il6", 12, visit="baseline")
    day7 = p.visits.get(visit="day7")
    mon, coord = clients["mon1"], clients["coord1"]
    base = p.visits.get(visit="baseline")

    forms = _forms(mon, p.code)
    assert forms[("measurement", str(m.id))]["status"] == "complete"
    assert forms[("measurement", str(m.id))]["detail"] == "SDV not done"
    assert forms[("visit", str(base.id))]["status"] == "complete"
    assert forms[("visit", str(day7.id))]["status"] == "empty"

    # Only the monitor verifies (server-side role check), naming the role.
    body = {"table": "measurement", "record_id": str(m.id)}
    for who in ("coord1", "inv1", "dm", "pharm"):
        r = clients[who].call("post", "/verifications", body)
        assert r.status_code == 403 and _detail(r)[0]["field"] == "role", who
    # An empty visit has nothing to verify; an unknown table is named.
    r = mon.call("post", "/verifications", {"table": "visit", "record_id": str(day7.id)})
    assert r.status_code == 409 and "empty" in _detail(r)[0]["message"]
    r = mon.call("post", "/verifications", {"table": "lab", "record_id": "1"})
    assert r.status_code == 422 and _detail(r)[0]["field"] == "table"

    r = mon.call("post", "/verifications", body)
    assert r.status_code == 200, r.content
    v = r.json()
    assert (v["verified_by"], v["active"], v["participant"]) == ("mon1", True, p.code)
    r = mon.call("post", "/verifications", body)
    assert r.status_code == 409 and _detail(r)[0]["field"] == "record_id"
    f = _forms(mon, p.code)[("measurement", str(m.id))]
    assert (f["status"], f["sdv"], f["sdv_by"]) == ("verified", True, "mon1")
    assert f["label"] == "Source-verified" and "SDV by mon1" in f["detail"]
    # The site sees the same statuses.
    assert _forms(coord, p.code)[("measurement", str(m.id))]["status"] == "verified"

    # A change to the form's data afterwards undoes the verification, audited.
    r = coord.call(
        "patch", f"/records/measurement/{m.id}", {"changes": {"value": 13}, "reason": "lab re-run"}
    )
    assert r.status_code == 200, r.content
    f = _forms(mon, p.code)[("measurement", str(m.id))]
    assert (f["status"], f["sdv"]) == ("complete", False)
    r = mon.call("get", f"/verifications?participant={p.code}&active=false")
    (undone,) = r.json()
    assert undone["undone_by"] == "coord1" and "lab re-run" in undone["undone_reason"]
    assert [e.action for e in AuditEntry.objects.filter(table="sourceverification")] == [
        "verify_record",
        "undo_verification",
    ]

    # The monitor verifies again, then withdraws it: a reason is required, named.
    assert mon.call("post", "/verifications", body).status_code == 200
    withdraw = {**body, "reason": " "}
    r = mon.call("post", "/verifications/withdraw", withdraw)
    assert r.status_code == 422 and _detail(r)[0]["field"] == "reason"
    r = mon.call("post", "/verifications/withdraw", {**body, "reason": "wrong source page"})
    assert r.status_code == 200 and r.json()["active"] is False
    r = mon.call("post", "/verifications/withdraw", {**body, "reason": "again"})
    assert r.status_code == 404

    # A query on the form: queried, and not verified while it is open.
    q = actions.open_query(trial["mon1"], "measurement", m.id, "12 or 13?")
    assert _forms(mon, p.code)[("measurement", str(m.id))]["status"] == "queried"
    r = mon.call("post", "/verifications", body)
    assert r.status_code == 409 and "queried" in _detail(r)[0]["message"]
    actions.answer_query(trial["coord1"], q.id, "13, lab re-run")
    actions.close_query(trial["mon1"], q.id)
    assert mon.call("post", "/verifications", body).status_code == 200

    # The investigator signs the visit: its forms show "signed".
    user = trial["inv1"].user
    user.set_password("pw for signing 42")
    user.save()
    actions.sign_visit(trial["inv1"], p, "baseline", password="pw for signing 42")
    forms = _forms(mon, p.code)
    assert forms[("visit", str(base.id))]["status"] == "signed"
    assert forms[("measurement", str(m.id))]["status"] == "signed"

    # Another site's participant is not found, as if it did not exist.
    other = randomized(trial, who="coord2", site="site2")
    assert mon.call("get", f"/participants/{other.code}/forms").status_code == 404
    assert clients["pharm"].call("get", f"/participants/{p.code}/forms").status_code == 403


def test_locked_casebook_refuses_writes_and_shows_locked(trial: Any, clients: Any) -> None:
    p = randomized(trial)
    actions.record_visit(trial["coord1"], p, "baseline")
    m = actions.record_measurement(trial["coord1"], p, "il6", 12, visit="baseline")
    r = clients["dm"].call("post", "/locks", {"participant": p.code, "reason": "interim lock"})
    assert r.status_code == 200, r.content
    r = clients["mon1"].call("get", f"/participants/{p.code}/forms")
    assert r.json()["locked"] is True
    assert {f["status"] for f in r.json()["forms"]} == {"locked"}
    # The server refuses new data and changes, naming the lock.
    r = clients["coord1"].call(
        "post", f"/participants/{p.code}/measurements", {"code": "il6", "value": 20}
    )
    assert r.status_code == 409 and _detail(r)[0]["field"] == "lock"
    r = clients["coord1"].call(
        "patch", f"/records/measurement/{m.id}", {"changes": {"value": 13}, "reason": "x"}
    )
    assert r.status_code == 409 and _detail(r)[0]["field"] == "lock"
    r = clients["mon1"].call(
        "post", "/verifications", {"table": "measurement", "record_id": str(m.id)}
    )
    assert r.status_code == 409 and "locked" in _detail(r)[0]["message"]
    assert not SourceVerification.objects.exists()


def test_lot_release_with_results_through_the_api(trial: Any, clients: Any) -> None:
    ph = clients["pharm"]
    assert ph.call("post", "/lots", {"number": "L-BAD", "arm": "msc"}).status_code == 200
    failing = {**MSC_RELEASE, "viability": 62, "endotoxin": 7.5}
    r = ph.call("post", "/lots/L-BAD/release", {"results": failing})
    assert r.status_code == 422, r.content
    detail = _detail(r)
    assert [d["field"] for d in detail] == ["results.viability", "results.endotoxin"]
    assert detail[0]["message"].startswith("Viability 62 % fails the release limit ≥ 70 %")
    assert "cannot be released" in detail[0]["message"]
    assert "Endotoxin 7.5 [EU]/kg fails the release limit < 5 [EU]/kg" in detail[1]["message"]
    # The out-of-specification results are kept and the lot is rejected, audited.
    lot = ph.call("get", "/lots/L-BAD").json()
    assert lot["status"] == "rejected" and lot["released_at"] is None
    results = {x["criterion"]: x for x in lot["results"]}
    assert results["viability"] == {
        "criterion": "viability",
        "value": "62",
        "passed": False,
        "label": "Viability",
        "unit": "%",
        "limit": "≥ 70",
    }
    assert results["sterility"]["passed"] is True
    (row,) = AuditEntry.objects.filter(action="release_lot")
    assert '"failed":["viability","endotoxin"]' in row.new.replace(" ", "")
    r = ph.call("post", "/lots/L-BAD/release", {"results": MSC_RELEASE})
    assert r.status_code == 409 and _detail(r)[0]["field"] == "lot"
    # A missing result is named; nothing is written.
    ph.call("post", "/lots", {"number": "L-OK", "arm": "msc"})
    r = ph.call("post", "/lots/L-OK/release", {"results": {"viability": 80}})
    assert r.status_code == 422
    assert {d["field"] for d in _detail(r)} == {
        "results.viable_cells",
        "results.sterility",
        "results.endotoxin",
        "results.mycoplasma",
        "results.identity",
        "results.purity",
    }
    assert Lot.objects.get(number="L-OK").status == "quarantine"
    r = ph.call("post", "/lots/L-OK/release", {"results": MSC_RELEASE})
    assert r.status_code == 200 and r.json()["status"] == "released"
    # A rejected lot cannot be infused.
    p = randomized(trial, at=dt.datetime.now(dt.UTC) - dt.timedelta(hours=10))
    if arm_of(p) == "msc":
        given = {"lot": "L-BAD", "started_at": _iso(p, 3), "delivered": 1.4e8}
        r = ph.call("post", f"/participants/{p.code}/infusions", given)
        assert r.status_code == 422 and _detail(r)[0]["field"] == "lot"
        lot_no, amount = "L-OK", 1.4e8
    else:
        lot_no, amount = released_lot(trial, "placebo", "L-PBO").number, 70.0
    given = {"lot": lot_no, "started_at": _iso(p, 3), "delivered": amount}
    r = ph.call("post", f"/participants/{p.code}/infusions", given)
    assert r.status_code == 200, r.content
    # The chain from the lot to each infusion (the pharmacist only).
    chain = ph.call("get", f"/lots/{lot_no}").json()["infusions"]
    assert chain == [
        {
            "participant": p.code,
            "number": 1,
            "started_at": given["started_at"].replace("+00:00", "Z"),
            "delivered": amount,
            "unit": "cells" if lot_no == "L-OK" else "mL",
        }
    ]
    assert ph.call("get", "/lots/NOPE").status_code == 404


def _iso(p: Any, hours: int) -> str:
    return (p.randomization.randomized_at + dt.timedelta(hours=hours)).isoformat()


def test_blinded_roles_learn_no_arm_from_lots(trial: Any, clients: Any) -> None:
    """As an attacker with a blinded role: lot pages, lot numbers, counts and errors."""
    p = randomized(trial, at=dt.datetime.now(dt.UTC) - dt.timedelta(hours=10))
    arm = arm_of(p)
    lot = released_lot(trial, arm)
    amount = 1.4e8 if arm == "msc" else 70.0
    i = actions.record_infusion(
        trial["pharm"],
        p,
        lot=lot,
        started_at=p.randomization.randomized_at + dt.timedelta(hours=3),
        delivered=amount,
    )
    for who in ("inv1", "coord1", "mon1", "dm", "admin"):
        c = clients[who]
        # Lot reads: refused before any lookup, the same for a lot that exists and one that
        # does not (no oracle on lot numbers, so none on their count either).
        assert c.call("get", "/lots").status_code == 403
        r = c.call("get", f"/lots/{lot.number}")
        assert r.status_code == 403, who
        assert r.json() == c.call("get", "/lots/LOT-NONE").json()
        for path in (f"/lots/{lot.number}/release", "/lots/LOT-NONE/release"):
            r = c.call("post", path, {"results": MSC_RELEASE})
            assert r.status_code == 403 and _detail(r)[0]["field"] == "role", (who, path)
        # The participant's infusions and forms hold no lot, dose or arm.
        for path in (f"/participants/{p.code}/infusions", f"/participants/{p.code}/forms"):
            r = c.call("get", path)
            if r.status_code != 200:
                continue
            text = r.content.decode()
            assert lot.number not in text and "delivered" not in text, (who, path)
            assert not [a for a in ARM_STRINGS if f'"{a}"' in text], (who, path)
        if who in ("mon1", "dm"):
            r = c.call("get", f"/audit/record/infusion/{i.id}")
            assert r.status_code == 200 and lot.number not in r.content.decode()
