"""Issue 17 through the API: accounts under 21 CFR Part 11 / EU Annex 11 (full names, one's own
password, the lockout shared by log-in, signature and password change, dormant accounts, the
user-access list), emergency unblinding with its notices (attacked by blinded roles), and a new
site's allocation list (generated on the server, or uploaded and checked against its commitment).

Each test is also an OpenAPI flow (``test_edc_openapi``): every answer is checked against the
published schema."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from typing import Any

import pytest
from edc_helpers import ARM_STRINGS, ELIGIBLE, KEY, TrialSetup, arm_of, randomized
from test_edc_admin import call

PASSWORD = "correct horse battery staple"
NEW = "ochre tapir 1987 lamp"


@pytest.fixture
def api_now(monkeypatch: pytest.MonkeyPatch) -> None:
    """No API token cache: a changed account shows at once (as in test_edc_admin)."""
    from celltrial.edc import api

    monkeypatch.setattr(api, "AUTH_CACHE_SECONDS", 0.0)
    api._AUTH_CACHE.clear()


def _detail(r: Any) -> dict[str, str]:
    return {d["field"]: d["message"] for d in r.json()["detail"]}


def _token(s: Any) -> str:
    from celltrial.edc import actions

    return actions.token_for(s)


# --------------------------------------------------------------------------- full names


def test_full_name_is_required_and_shown(trial: TrialSetup, api_now: None) -> None:
    from celltrial.edc.models import AuditEntry

    admin = _token(trial.admin)
    r = call(admin, "post", "/staff", {"username": "coord9", "role": "coordinator"})
    assert r.status_code == 422 and set(_detail(r)) == {"full_name"}
    r = call(
        admin, "post", "/staff", {"username": "coord9", "role": "coordinator", "full_name": " "}
    )
    assert r.status_code == 422 and "required" in _detail(r)["full_name"]
    body = {
        "username": "coord9",
        "role": "coordinator",
        "full_name": "Ana  Lima",
        "sites": ["site1"],
    }
    r = call(admin, "post", "/staff", body)
    assert r.status_code == 200 and r.json()["full_name"] == "Ana Lima"  # spaces collapsed
    rows = {x["username"]: x for x in call(admin, "get", "/staff").json()}
    assert rows["coord9"]["full_name"] == "Ana Lima" and rows["inv1"]["full_name"] == "Ines Vidal"
    me = call(_token(trial["inv1"]), "get", "/me").json()
    assert me["full_name"] == "Ines Vidal" and me["must_change_password"] is False
    added = json.loads(AuditEntry.objects.filter(action="add_staff").order_by("seq").last().new)
    assert added["full_name"] == "Ana Lima"


# ------------------------------------------------------------------ passwords and lockout


def test_first_password_must_be_changed_by_its_holder(trial: TrialSetup, api_now: None) -> None:
    from celltrial.edc import actions
    from celltrial.edc.models import AuditEntry, Staff

    x = actions.add_staff(
        trial.admin, "coord3", "coordinator", ["site1"], password=PASSWORD, full_name="Cy Three"
    )
    assert x.must_change_password
    token = _token(x)
    assert call(token, "get", "/me").json()["must_change_password"] is True
    r = call(token, "post", "/me/password", {"old_password": "nope", "new_password": NEW})
    assert r.status_code == 422 and set(_detail(r)) == {"old_password"}
    r = call(
        token, "post", "/me/password", {"old_password": PASSWORD, "new_password": "aaaaaaaaaaaa"}
    )
    assert r.status_code == 422 and set(_detail(r)) == {"new_password"}
    r = call(token, "post", "/me/password", {"old_password": PASSWORD, "new_password": PASSWORD})
    assert r.status_code == 422 and "differ" in _detail(r)["new_password"]
    r = call(token, "post", "/me/password", {"old_password": PASSWORD})
    assert r.status_code == 422 and "new_password" in _detail(r)
    r = call(token, "post", "/me/password", {"old_password": PASSWORD, "new_password": NEW})
    assert r.status_code == 200, r.content
    assert r.json() == {"username": "coord3", "must_change_password": False}
    fresh = Staff.objects.select_related("user").get(pk=x.pk)
    assert fresh.user.check_password(NEW) and not fresh.must_change_password
    row = AuditEntry.objects.filter(action="change_password").get()
    assert row.actor == "coord3" and PASSWORD not in row.new and NEW not in row.new
    assert json.loads(row.new) == {"username": "coord3", "must_change_password": False}
    # An approved unblinded account's first password (the approver knows it) is forced too.
    actions.add_staff(trial.admin, "dsmb2", "dsmb", [], full_name="Di Two")
    approved = actions.approve_access(trial["dsmb"], "dsmb2", "new member")
    assert approved.initial_password and Staff.objects.get(pk=approved.pk).must_change_password


def test_api_token_waits_for_the_password_change(
    trial: TrialSetup, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A token of a person whose password someone else chose answers a clear 403 naming what to
    do, on every call but "who am I" and the change itself, until the password is changed —
    also through the token cache (the change shows on the next call)."""
    from celltrial.edc import actions, api

    monkeypatch.setattr(api, "AUTH_CACHE_SECONDS", 60.0)
    api._AUTH_CACHE.clear()
    x = actions.add_staff(
        trial.admin, "coord4", "coordinator", ["site1"], password=PASSWORD, full_name="Cy Four"
    )
    token = _token(x)
    for method, path, body in [
        ("get", "/participants", None),
        ("get", "/trial", None),
        ("post", "/screenings", {"site": "site1", "values": ELIGIBLE}),
    ]:
        r = call(token, method, path, body)
        assert r.status_code == 403, (path, r.content)
        told = _detail(r)["password"]
        assert "change it first" in told and "POST /api/me/password" in told, told
        assert "/account/password" in told
    me = call(token, "get", "/me")
    assert me.status_code == 200 and me.json()["must_change_password"] is True
    r = call(token, "post", "/me/password", {"old_password": PASSWORD, "new_password": NEW})
    assert r.status_code == 200, r.content
    r = call(token, "get", "/participants")
    assert r.status_code == 200, r.content
    # Someone else sets a password again (an approval): the cached token is refused again.
    from celltrial.edc.models import Staff

    Staff.objects.filter(pk=x.pk).update(must_change_password=True)
    api._AUTH_CACHE.clear()
    assert call(token, "get", "/participants").status_code == 403
    # Everyone else's token is unaffected.
    assert call(_token(trial["coord1"]), "get", "/participants").status_code == 200


def test_wrong_passwords_anywhere_lock_the_account(trial: TrialSetup, api_now: None) -> None:
    """Log-in, password change and e-signature share one database counter: 5 wrong passwords
    within 15 minutes lock all three, the right password included."""
    from django.test import Client

    from celltrial.edc import actions
    from celltrial.edc.throttle import LOGIN

    inv = trial["inv1"]
    inv.user.set_password(PASSWORD)
    inv.user.save()
    p = randomized(trial)
    actions.record_visit(trial["coord1"], p, "baseline")
    token = _token(inv)
    sign = {"participant": p.code, "visit": "baseline", "password": "wrong one"}
    for _ in range(3):  # three wrong signatures …
        r = call(token, "post", "/signatures", sign)
        assert r.status_code == 422 and set(_detail(r)) == {"password"}
    assert len(LOGIN.counted("inv1")) == 3
    for _ in range(2):  # … and two wrong current passwords: five
        r = call(token, "post", "/me/password", {"old_password": "bad", "new_password": NEW})
        assert r.status_code == 422
    r = call(token, "post", "/signatures", {**sign, "password": PASSWORD})
    assert r.status_code == 429 and "locked" in _detail(r)["password"]
    r = call(token, "post", "/me/password", {"old_password": PASSWORD, "new_password": NEW})
    assert r.status_code == 429 and "locked" in _detail(r)["password"]
    # The web log-in is locked as well, even with the right password.
    r = Client().post("/login", {"username": "inv1", "password": PASSWORD})
    assert r.status_code == 429 and b"Too many failed log-ins" in r.content
    LOGIN.clear("inv1")  # the window has passed
    r = call(token, "post", "/signatures", {**sign, "password": PASSWORD})
    assert r.status_code == 200, r.content
    assert LOGIN.counted("inv1") == []  # a right password clears the count


def test_signing_needs_ones_own_password(trial: TrialSetup, api_now: None) -> None:
    """A signer whose password someone else chose must change it before signing; the signature
    names the signer's full name, its time and its meaning."""
    from celltrial.edc import actions

    x = actions.add_staff(
        trial.admin, "inv2", "investigator", ["site1"], password=PASSWORD, full_name="Ivo Two"
    )
    p = randomized(trial)
    actions.record_visit(trial["coord1"], p, "baseline")
    token = _token(x)
    sign = {"participant": p.code, "visit": "baseline", "password": PASSWORD}
    r = call(token, "post", "/signatures", sign)
    assert r.status_code == 403 and "change it" in _detail(r)["password"]
    assert (
        call(
            token, "post", "/me/password", {"old_password": PASSWORD, "new_password": NEW}
        ).status_code
        == 200
    )
    r = call(token, "post", "/signatures", {**sign, "password": NEW})
    assert r.status_code == 200, r.content
    from celltrial.edc.models import Signature

    sig = Signature.objects.select_related("staff__user").get()
    assert sig.staff.display_name == "Ivo Two (inv2)" and "accurate and complete" in sig.meaning


# ------------------------------------------------------------------------ dormant accounts


def test_dormant_accounts_are_flagged(
    trial: TrialSetup, api_now: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    from django.utils import timezone

    from celltrial.edc.models import Staff

    old = timezone.now() - dt.timedelta(days=91)
    Staff.objects.get(pk=trial["mon1"].pk).user.__class__.objects.filter(
        username__in=["mon1", "coord2"]
    ).update(last_login=old)
    type(trial["dm"].user).objects.filter(username="dm").update(date_joined=old)  # never in
    type(trial["coord1"].user).objects.filter(username="coord1").update(
        last_login=old, is_active=False
    )
    admin = _token(trial.admin)
    rows = {x["username"]: x for x in call(admin, "get", "/staff").json()}
    assert {u for u, x in rows.items() if x["dormant"]} == {"mon1", "coord2", "dm"}
    assert (
        rows["mon1"]["last_login"].startswith(f"{old:%Y-%m-%d}")
        and rows["dm"]["last_login"] is None
    )
    monkeypatch.setenv("CELLTRIAL_DORMANT_DAYS", "120")
    rows = {x["username"]: x for x in call(admin, "get", "/staff").json()}
    assert not any(x["dormant"] for x in rows.values())


# ------------------------------------------------------------------------ user-access list


def test_access_list_csv(trial: TrialSetup, api_now: None) -> None:
    from celltrial.edc import actions

    admin = _token(trial.admin)
    actions.deactivate_staff(trial.admin, "coord2", "left the site")
    actions.reactivate_staff(trial.admin, "coord2", "came back")
    actions.add_staff(trial.admin, "dsmb2", "dsmb", [], full_name="Di Two")  # awaiting approval
    r = call(admin, "get", "/access-list")
    assert r.status_code == 200 and r["Content-Type"].startswith("text/csv")
    assert "user-access.csv" in r["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(r.content.decode())))
    assert list(rows[0]) == [
        "username",
        "full_name",
        "role",
        "role_label",
        "site",
        "from_utc",
        "granted_by",
        "to_utc",
        "ended_by",
        "end_reason",
    ]
    coord2 = [x for x in rows if x["username"] == "coord2"]
    assert [(x["site"], x["to_utc"] != "", x["end_reason"]) for x in coord2] == [
        ("site2", True, "left the site"),
        ("site2", False, ""),
    ]
    assert coord2[0]["granted_by"] == "admin" and coord2[0]["full_name"] == "Cora Twain"
    assert coord2[0]["to_utc"] <= coord2[1]["from_utc"]
    pharm = [x["site"] for x in rows if x["username"] == "pharm"]
    assert pharm == ["site1", "site2"]  # one row per site; the operator's bootstrap: "system"
    assert [x["site"] for x in rows if x["username"] == "dm"] == ["*"]
    assert not [x for x in rows if x["username"] == "dsmb2"]  # no access before approval
    for who in ("coord1", "inv1", "mon1", "dm", "pharm", "dsmb"):
        r = call(_token(trial[who]), "get", "/access-list")
        assert r.status_code == 403 and set(_detail(r)) == {"role"}, who


def test_access_list_cells_are_not_formulas(trial: TrialSetup) -> None:
    from celltrial.edc import actions

    actions.add_staff(trial.admin, "eve", "monitor", ["site1"], full_name="=HYPERLINK(1)")
    text = actions.access_list_csv(trial.admin)
    assert "'=HYPERLINK(1)" in text and ",=HYPERLINK" not in text


# ------------------------------------------------------------------- downloads are audited


def _downloads() -> list[tuple[str, str, dict[str, Any]]]:
    from celltrial.edc.models import AuditEntry

    rows = AuditEntry.objects.filter(action__startswith="download_").order_by("seq")
    return [(e.actor, e.action, json.loads(e.new)) for e in rows]


def test_every_download_writes_an_audit_row(trial: TrialSetup, api_now: None) -> None:
    """The dataset (blinded for the data manager, as exported for the DSMB) and the
    user-access list through the API: each download one audit row (who, what, format,
    blinded or not, size and SHA-256 of the very bytes served) in the same transaction; a
    refused download writes none; the chain and the data still verify."""
    import hashlib
    import zipfile

    from celltrial.edc.audit import verify_audit, verify_data

    randomized(trial)
    dm, dsmb = _token(trial["dm"]), _token(trial["dsmb"])
    r = call(dm, "get", "/dataset?format=csv")
    assert r.status_code == 200 and r["Content-Type"] == "application/zip", r.content[:300]
    assert "-blinded-" in r["Content-Disposition"]
    names = zipfile.ZipFile(io.BytesIO(r.content)).namelist()
    assert {"dm.csv", "ae.csv", "ex.csv"} <= set(names), names
    dm_sha = hashlib.sha256(r.content).hexdigest()
    r = call(dsmb, "get", "/dataset?format=csv")
    assert r.status_code == 200 and "-blinded-" not in r["Content-Disposition"]
    dsmb_sha = hashlib.sha256(r.content).hexdigest()
    r = call(_token(trial.admin), "get", "/access-list")
    assert r.status_code == 200
    access_sha = hashlib.sha256(r.content).hexdigest()
    # Refused: no row (a blinded role asking for SDTM, a role that may not download).
    assert call(dm, "get", "/dataset?format=sdtm-xpt").status_code == 403
    assert call(dm, "get", "/dataset?format=sas").status_code == 422
    assert call(_token(trial["mon1"]), "get", "/dataset").status_code == 403
    assert call(_token(trial["mon1"]), "get", "/access-list").status_code == 403
    rows = _downloads()
    assert [(who, what) for who, what, _ in rows] == [
        ("dm", "download_dataset"),
        ("dsmb", "download_dataset"),
        ("admin", "download_access_list"),
    ]
    (_, _, a), (_, _, b), (_, _, c) = rows
    assert (a["format"], a["blinded"], a["via"], a["sha256"]) == ("csv", True, "api", dm_sha)
    assert (b["format"], b["blinded"], b["sha256"]) == ("csv", False, dsmb_sha)
    assert a["file"].endswith(".zip") and a["bytes"] > 0
    assert (c["file"], c["sha256"]) == ("edctest2027-user-access.csv", access_sha)
    from celltrial.edc.models import AuditEntry

    row = AuditEntry.objects.get(action="download_dataset", actor="dm")
    assert row.role == "data_manager" and row.at is not None and row.table == "trial"
    assert verify_audit().ok and verify_data() == []


def test_a_download_is_not_served_without_its_audit_row(
    trial: TrialSetup, api_now: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Same transaction: when the audit row cannot be written, the file is not served."""
    from celltrial.edc import audit

    def broken(*args: Any, **kwargs: Any) -> None:
        raise RuntimeError("disk full")

    monkeypatch.setattr(audit, "seal", broken)
    r = call(_token(trial["dm"]), "get", "/dataset?format=csv")
    assert r.status_code == 500 and not r.content.startswith(b"PK"), r.content[:200]
    monkeypatch.undo()
    assert _downloads() == []


# --------------------------------------------------------------------- emergency unblinding


def test_unblinding_through_the_api(trial: TrialSetup, api_now: None) -> None:
    p = randomized(trial)
    inv = _token(trial["inv1"])
    r = call(inv, "post", f"/participants/{p.code}/unblind", {"reason": "  "})
    assert r.status_code == 422 and set(_detail(r)) == {"reason"}
    r = call(inv, "post", f"/participants/{p.code}/unblind", {})
    assert r.status_code == 422 and "reason" in r.content.decode()
    r = call(_token(trial["coord1"]), "post", f"/participants/{p.code}/unblind", {"reason": "x"})
    assert r.status_code == 403 and set(_detail(r)) == {"role"}
    r = call(inv, "post", f"/participants/{p.code}/unblind", {"reason": "SAE: anaphylaxis"})
    assert r.status_code == 200 and r.json()["arm"] == arm_of(p)
    for who in ("dsmb", "pharm"):  # notified: who, when, why, which participant (no arm)
        r = call(_token(trial[who]), "get", "/unblindings")
        assert r.status_code == 200
        assert r.json() == [
            {
                "participant": p.code,
                "site": "site1",
                "by": "inv1",
                "by_name": "Ines Vidal",
                "at": r.json()[0]["at"],
                "reason": "SAE: anaphylaxis",
            }
        ]
    for who in ("coord1", "inv1", "mon1", "dm", "admin"):
        r = call(_token(trial[who]), "get", "/unblindings")
        assert r.status_code == 403 and set(_detail(r)) == {"role"}, who


def test_pharmacist_is_notified_of_their_sites_only(trial: TrialSetup) -> None:
    from celltrial.edc import actions
    from celltrial.edc.api_accounts import unblinding_notices

    site2 = actions.add_staff_as_operator(trial.admin.trial, "pharm2", "pharmacist", ["site2"])
    p = randomized(trial)
    actions.unblind(trial["inv1"], p, "SAE")
    assert [u.participant.code for u in unblinding_notices(trial["pharm"])] == [p.code]
    assert unblinding_notices(site2) == []


def test_an_unblinding_tells_blinded_staff_nothing_of_the_arm(trial: TrialSetup) -> None:
    """The attack: a coordinator, a monitor and a data manager read everything they may after
    the investigator unblinds one participant of each arm. No answer holds an arm; the two
    unblindings' audit rows have the same keys, sizes and count whatever the arm (so neither
    the row, nor its hash over a secret nonce, nor the number of rows can be matched to an
    arm); a blinded user's own attempt is refused with the same words for both."""
    # About 2.5 s: participants are randomized until both arms are held, and three roles read
    # every endpoint that could carry the arm.
    from django.test import Client

    from celltrial.edc import actions
    from celltrial.edc.models import AuditEntry

    people: dict[str, Any] = {}
    while len(people) < 2:
        p = randomized(trial)
        people.setdefault(arm_of(p), p)
    rows: dict[str, list[Any]] = {}
    for arm, p in people.items():
        before = AuditEntry.objects.order_by("-seq").first().seq
        actions.unblind(trial["inv1"], p, "SAE needing the treatment")
        rows[arm] = list(AuditEntry.objects.filter(seq__gt=before).order_by("seq"))
    a, b = rows.values()
    assert len(a) == len(b) == 1 and a[0].blinded_safe and b[0].blinded_safe
    assert sorted(json.loads(a[0].new)) == sorted(json.loads(b[0].new))
    assert len(a[0].new) == len(b[0].new) and a[0].table == b[0].table == "unblinding"
    assert not any(x in a[0].new + b[0].new for x in ARM_STRINGS)
    for who in ("coord1", "mon1", "dm"):
        token = _token(trial[who])
        reads = ["/audit", "/participants", "/screening-log", "/audit/verify"]
        reads += [f"/participants/{p.code}" for p in people.values()]
        for path in reads:
            r = call(token, "get", path)
            body = r.content.decode()
            assert r.status_code in (200, 403), (who, path)
            assert not [x for x in ARM_STRINGS if f'"{x}"' in body], (who, path)
        refusals = {
            call(token, "post", f"/participants/{p.code}/unblind", {"reason": "x"}).content
            for p in people.values()
        }
        assert len(refusals) == 1  # the same words whichever the arm
    # The web pages of a blinded user name no arm either (the notices are not theirs).
    c = Client()
    trial["coord1"].user.set_password(PASSWORD)
    trial["coord1"].user.save()
    c.post("/login", {"username": "coord1", "password": PASSWORD})
    labels = [x for x in ARM_STRINGS if x not in ("msc", "placebo")]
    for p in people.values():
        r = c.get(f"/p/{p.code}")
        assert r.status_code == 200 and not [x for x in labels if x in r.content.decode()]


# ------------------------------------------------------------ a new site's allocation list


def test_a_new_site_gets_a_list_and_randomizes(trial: TrialSetup, api_now: None) -> None:
    from celltrial.edc import actions
    from celltrial.edc.audit import verify_audit
    from celltrial.edc.models import AllocationSlot, AuditEntry

    admin = _token(trial.admin)
    assert call(admin, "post", "/sites", {"code": "site3", "name": "Site three"}).status_code == 200
    first = call(admin, "get", "/allocation-lists").json()
    assert [x["sites"] for x in first] == [["site1", "site2"]]
    bad = [
        ({"site": "site3", "per_stratum": 0}, 422, "per_stratum"),
        ({"site": "site3", "per_stratum": "x"}, 422, "per_stratum"),
        ({"site": "site9"}, 404, "site"),
        ({"site": "site3", "block_sizes": [7]}, 422, "block_sizes"),
        ({"site": "site3", "block_sizes": [10**9]}, 422, "block_sizes"),  # no huge block
        ({"site": "site3", "block_sizes": [-4]}, 422, "block_sizes"),
        ({"site": "site1"}, 409, "list"),
    ]
    for body, status, field in bad:
        r = call(admin, "post", "/allocation-lists", body)
        assert r.status_code == status and field in r.content.decode(), (body, r.content)
    r = call(_token(trial["coord1"]), "post", "/allocation-lists", {"site": "site3"})
    assert r.status_code == 403
    r = call(admin, "post", "/allocation-lists", {"site": "site3", "per_stratum": 4})
    assert r.status_code == 200, r.content
    made = r.json()
    assert len(made["commitment"]) == 64 and made["site"] == "site3" and made["rows"] >= 4
    assert not [x for x in ARM_STRINGS if x in r.content.decode()]  # the admin sees no arm
    r = call(admin, "post", "/allocation-lists", {"site": "site3"})
    assert r.status_code == 409 and "site3" in _detail(r)["list"]
    listed = call(admin, "get", "/allocation-lists").json()
    assert listed[-1]["commitment"] == made["commitment"] and listed[-1]["how"] == "generated"
    row = AuditEntry.objects.filter(action="load_allocation_list").order_by("seq").last()
    assert json.loads(row.new)["commitment"] == made["commitment"] and row.actor == "admin"
    slots = AllocationSlot.objects.filter(site_code="site3")
    assert slots.count() == made["rows"] and {s.commitment for s in slots} == {made["commitment"]}
    assert min(s.sequence for s in slots) > max(
        AllocationSlot.objects.exclude(site_code="site3").values_list("sequence", flat=True)
    )
    # A coordinator of the new site randomizes its first participant.
    c3 = actions.add_staff(trial.admin, "coord3", "coordinator", ["site3"], full_name="Cy Three")
    token = _token(c3)
    r = call(token, "post", "/screenings", {"site": "site3", "values": ELIGIBLE})
    assert r.status_code == 200, r.content
    code = r.json()["code"]
    body = {"version": "2.1", "consented_on": "2025-01-05"}
    assert call(token, "post", f"/participants/{code}/consents", body).status_code == 200
    assert call(token, "post", f"/participants/{code}/enroll").status_code == 200
    r = call(token, "post", f"/participants/{code}/randomize")
    assert r.status_code == 200, r.content
    assert r.json()["randomization"]["kit_code"] in {s.kit_code for s in slots}
    report = verify_audit()
    assert report.ok, report.message


def test_a_new_site_list_uploaded_is_checked_against_its_commitment(trial: TrialSetup) -> None:
    from celltrial.allocation import generate_list, scheme_from_protocol
    from celltrial.edc import actions
    from celltrial.edc.actions import ActionError, Conflict
    from celltrial.edc.audit import verify_audit

    actions.add_site(trial.admin, "site4", "Site four")
    protocol = trial.admin.trial.active_protocol().protocol
    sealed = generate_list(
        scheme_from_protocol(protocol),
        key=KEY + b"site4",
        protocol=protocol.id,
        protocol_version=protocol.version,
        sites=["site4"],
        per_stratum=2,
    )
    data = sealed.canonical()
    with pytest.raises(ActionError) as exc:
        actions.load_allocation_list(trial.admin, data, commitment="0" * 64)
    assert exc.value.problems[0].field == "commitment"
    with pytest.raises(Conflict) as exc:  # the trial's own first list again: its sites have one
        actions.load_allocation_list(trial.admin, trial.list_bytes, commitment=trial.commitment)
    assert "site1" in str(exc.value)
    actions.load_allocation_list(trial.admin, data, commitment=sealed.commitment())
    lists = actions.allocation_lists(trial.admin)
    assert [x["sites"] for x in lists] == [["site1", "site2"], ["site4"]]
    assert lists[1]["how"] == "uploaded" and lists[1]["commitment"] == sealed.commitment()
    assert verify_audit().ok
    # A changed arm of the new list is caught by the data check (its own rows' digest).
    from celltrial.edc.models import AllocationSlot

    slot = AllocationSlot.objects.filter(site_code="site4").first()
    AllocationSlot.objects.filter(pk=slot.pk).update(arm="placebo" if slot.arm == "msc" else "msc")
    assert not verify_audit().ok
