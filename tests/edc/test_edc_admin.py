"""Administration: sites and staff (validation, deactivation, reactivation) and new protocol
versions, through the actions and the API (``celltrial.edc.api_admin``); on SQLite and, with
``DATABASE_URL``, on PostgreSQL."""

from __future__ import annotations

import hashlib
import json
from typing import Any

import pytest
from django.contrib.auth import authenticate
from django.test import Client
from edc_helpers import PROTOCOL_FILE, TrialSetup, fields

from celltrial.edc import actions
from celltrial.edc.actions import ActionError, Conflict, Forbidden, NotFound
from celltrial.edc.audit import verify_audit
from celltrial.edc.models import AuditEntry, ProtocolVersion, Site, Staff

TEXT = PROTOCOL_FILE.read_text()
V22 = TEXT.replace('version: "2.1"', 'version: "2.2"')
PASSWORD = "a long enough password"


def audit_rows(action: str) -> list[AuditEntry]:
    return list(AuditEntry.objects.filter(action=action).order_by("seq"))


@pytest.fixture
def api_now(monkeypatch: pytest.MonkeyPatch) -> None:
    """The API asks the database on every request (no token cache): a deactivation shows at
    once instead of within ``CELLTRIAL_AUTH_CACHE_SECONDS``."""
    from celltrial.edc import api

    monkeypatch.setattr(api, "AUTH_CACHE_SECONDS", 0.0)
    api._AUTH_CACHE.clear()


def call(token: str, method: str, path: str, body: Any = None, **headers: str) -> Any:
    kwargs: dict[str, Any] = {"headers": {"Authorization": f"Bearer {token}", **headers}}
    if body is not None:
        kwargs |= {"data": json.dumps(body), "content_type": "application/json"}
    return getattr(Client(), method)(f"/api{path}", **kwargs)


# ------------------------------------------------------------------------ sites and staff


def test_add_site_and_staff_check_their_fields(trial: TrialSetup) -> None:
    admin = trial.admin
    before = AuditEntry.objects.count()
    with pytest.raises(ActionError) as exc:
        actions.add_site(admin, "site 3/x", "  ")
    assert fields(exc) == {"code", "name"} and exc.value.status == 422
    with pytest.raises(Conflict) as exc:
        actions.add_site(admin, "site1", "Again")
    assert fields(exc) == {"code"}
    with pytest.raises(ActionError) as exc:
        actions.add_staff(
            admin, "bad name", "chef", ["site1"], password="short", full_name="A Person"
        )
    assert fields(exc) == {"username", "role", "password"}
    messages = {p.field: p.message for p in exc.value.problems}
    assert "at least 12 characters" in messages["password"]
    assert "'chef' is not one of" in messages["role"]
    with pytest.raises(ActionError) as exc:
        actions.add_staff(admin, "", "coordinator", full_name="A Person")
    assert fields(exc) == {"username"}
    with pytest.raises(ActionError) as exc:
        actions.add_staff(
            admin, "samepass12345", "coordinator", password="samepass12345", full_name="A Person"
        )
    assert fields(exc) == {"password"}
    with pytest.raises(Conflict) as exc:
        actions.add_staff(admin, "coord1", "coordinator", ["site1"], full_name="A Person")
    assert fields(exc) == {"username"} and "already taken" in str(exc.value)
    with pytest.raises(NotFound) as exc:
        actions.add_staff(admin, "newbie", "coordinator", ["site9"], full_name="A Person")
    assert fields(exc) == {"sites"}
    assert not Staff.objects.filter(user__username="newbie").exists()
    assert AuditEntry.objects.count() == before

    site = actions.add_site(admin, "site3", "Site three")
    x = actions.add_staff(
        admin, "coord3", "coordinator", ["site3"], password=PASSWORD, full_name="A Person"
    )
    assert x.user.check_password(PASSWORD) and [s.code for s in x.sites.all()] == ["site3"]
    assert Site.objects.get(code="site3") == site
    assert [e.actor for e in audit_rows("add_site")][-1] == "admin"
    assert json.loads(audit_rows("add_staff")[-1].new)["sites"] == ["site3"]


def test_deactivate_and_reactivate(trial: TrialSetup, api_now: None) -> None:
    from celltrial.edc.web.views import THROTTLE_FAILURES  # noqa: F401  (the web app loads)

    coord = trial["coord1"]
    coord.user.set_password(PASSWORD)
    coord.user.save()
    token = actions.token_for(coord)
    web = Client()
    assert web.post("/login", {"username": "coord1", "password": PASSWORD}).status_code == 302
    assert web.get("/").status_code == 200
    assert call(token, "get", "/me").status_code == 200

    x = actions.deactivate_staff(trial.admin, "coord1", "  left the site  ")
    assert x.pk == coord.pk and not x.user.is_active
    coord.user.refresh_from_db()
    assert not coord.user.is_active
    (row,) = audit_rows("deactivate_staff")
    assert (row.actor, row.role, row.table, row.record_id) == ("admin", "admin", "staff", str(x.pk))
    assert json.loads(row.old) == {"username": "coord1", "is_active": True}
    assert json.loads(row.new) == {"username": "coord1", "is_active": False}
    assert row.reason == "left the site"

    # No log-in, the open session is over, the token is refused.
    assert authenticate(username="coord1", password=PASSWORD) is None
    assert Client().post("/login", {"username": "coord1", "password": PASSWORD}).status_code == 401
    r = web.get("/")
    assert r.status_code == 302 and r.headers["Location"].startswith("/login")
    assert call(token, "get", "/me").status_code == 401
    assert call(token, "post", "/screenings", {"site": "site1"}).status_code == 401

    actions.reactivate_staff(trial.admin, "coord1", "back from leave")
    assert authenticate(username="coord1", password=PASSWORD) is not None
    assert call(token, "get", "/me").json()["username"] == "coord1"
    (row,) = audit_rows("reactivate_staff")
    assert json.loads(row.new)["is_active"] is True and row.reason == "back from leave"
    assert verify_audit().ok


def test_deactivation_errors(trial: TrialSetup) -> None:
    admin = trial.admin
    before = AuditEntry.objects.count()
    with pytest.raises(ActionError) as exc:
        actions.deactivate_staff(admin, "admin", "testing")
    assert fields(exc) == {"username"} and "cannot deactivate yourself" in str(exc.value)
    with pytest.raises(ActionError) as exc:
        actions.deactivate_staff(admin, "coord1", "   ")
    assert fields(exc) == {"reason"}
    with pytest.raises(NotFound) as exc:
        actions.deactivate_staff(admin, "nobody", "x")
    assert fields(exc) == {"username"}
    with pytest.raises(Conflict) as exc:
        actions.reactivate_staff(admin, "coord1", "x")
    assert "active already" in str(exc.value)
    assert AuditEntry.objects.count() == before
    actions.deactivate_staff(admin, "coord1", "x")
    with pytest.raises(Conflict) as exc:
        actions.deactivate_staff(admin, "coord1", "x")
    assert "inactive already" in str(exc.value)
    # A second admin may deactivate the first one; the first one cannot come back alone.
    other = actions.add_staff(admin, "admin2", "admin", password=PASSWORD, full_name="A Person")
    actions.deactivate_staff(other, "admin", "handover")
    assert not Staff.objects.get(pk=admin.pk).user.is_active


NEW_ACTIONS = [
    (actions.deactivate_staff, ("coord1", "reason")),
    (actions.reactivate_staff, ("coord1", "reason")),
    (actions.load_protocol_version, (V22,)),
]


@pytest.mark.parametrize(("fn", "args"), NEW_ACTIONS, ids=[f.__name__ for f, _ in NEW_ACTIONS])
def test_only_the_admin_may(trial: TrialSetup, fn: Any, args: tuple[Any, ...]) -> None:
    assert fn.roles == {"admin"}
    before = AuditEntry.objects.count()
    for name, staff in trial.staff.items():
        if name == "admin":
            continue
        with pytest.raises(Forbidden) as exc:
            fn(staff, *args)
        assert fields(exc) == {"role"}
    assert AuditEntry.objects.count() == before
    assert ProtocolVersion.objects.count() == 1
    assert Staff.objects.get(user__username="coord1").user.is_active


# ------------------------------------------------------------------------ protocol versions


def test_load_a_new_protocol_version(trial: TrialSetup) -> None:
    admin = trial.admin
    old = admin.trial.active_protocol()  # remembered by the actor's trial
    assert old.version == "2.1"
    pv = actions.load_protocol_version(admin, V22)
    assert (pv.version, pv.active) == ("2.2", True)
    assert pv.sha256 == hashlib.sha256(V22.encode()).hexdigest()
    old.refresh_from_db()
    assert not old.active
    assert list(ProtocolVersion.objects.filter(active=True)) == [pv]
    # The actor's trial forgot its remembered version; a trial read afresh sees the new one.
    assert admin.trial.active_protocol().pk == pv.pk
    assert admin.trial.active_protocol().protocol.version == "2.2"
    fresh = Staff.objects.select_related("trial").get(pk=trial["coord1"].pk)
    assert fresh.trial.active_protocol().version == "2.2"

    retire, load = audit_rows("load_protocol_version")
    assert (retire.table, retire.record_id) == ("protocolversion", str(old.pk))
    assert json.loads(retire.old) == {"version": "2.1", "active": True}
    assert json.loads(retire.new) == {"version": "2.1", "active": False}
    assert retire.reason == "replaced by version 2.2"
    assert (load.table, load.record_id, load.actor) == ("protocolversion", str(pv.pk), "admin")
    new = json.loads(load.new)
    assert (new["version"], new["sha256"], new["active"]) == ("2.2", pv.sha256, True)
    assert json.loads(load.old) == {"version": "2.1", "sha256": old.sha256}
    assert verify_audit().ok

    # Site work goes on under the new version.
    from edc_helpers import ELIGIBLE

    p = actions.screen_participant(trial["coord1"], "site1", ELIGIBLE)
    assert p.screening.eligible


def test_protocol_problems_are_line_numbered(trial: TrialSetup) -> None:
    before = AuditEntry.objects.count()
    broken = V22.replace("title: Bone", "titel: Bone").replace('phase: "2"', "phase: [2")
    with pytest.raises(ActionError) as exc:
        actions.load_protocol_version(trial.admin, broken)
    assert exc.value.status == 422 and fields(exc) == {"protocol"}
    (p,) = exc.value.problems
    assert p.message.startswith("<protocol>:9") and "not valid YAML" in p.message

    misspelt = V22.replace("title: Bone", "titel: Bone")
    with pytest.raises(ActionError) as exc:
        actions.load_protocol_version(trial.admin, misspelt, file="new.yaml")
    messages = [p.message for p in exc.value.problems]
    assert "new.yaml:5 titel: 'titel' is not a field here (did you mean 'title'?)" in messages
    assert all(m.startswith("new.yaml") for m in messages)

    for text in ("", "just text", "- a\n- list\n"):
        with pytest.raises(ActionError) as exc:
            actions.load_protocol_version(trial.admin, text)
        assert fields(exc) == {"protocol"}
    assert AuditEntry.objects.count() == before
    assert ProtocolVersion.objects.get().version == "2.1"


def test_protocol_of_another_trial_or_known_text_is_refused(trial: TrialSetup) -> None:
    admin = trial.admin
    before = AuditEntry.objects.count()
    with pytest.raises(ActionError) as exc:
        actions.load_protocol_version(admin, V22.replace("id: edctest2027", "id: othertrial"))
    assert fields(exc) == {"id"} and exc.value.status == 422
    assert "'othertrial' but this trial is 'edctest2027'" in str(exc.value)
    with pytest.raises(Conflict) as exc:
        actions.load_protocol_version(admin, TEXT)  # the text in force
    assert fields(exc) == {"protocol"} and "loaded already: version 2.1 (the active" in str(
        exc.value
    )
    with pytest.raises(Conflict) as exc:  # the same text, other line endings
        actions.load_protocol_version(admin, TEXT.replace("\n", "\r\n"))
    assert fields(exc) == {"protocol"}
    with pytest.raises(Conflict) as exc:
        actions.load_protocol_version(admin, TEXT.replace("Adults", "Adult patients"))
    assert fields(exc) == {"version"}
    with pytest.raises(ActionError) as exc:
        actions.load_protocol_version(admin, V22.replace("  - id: placebo", "  - id: saline"))
    assert fields(exc) == {"arms"} and "['placebo']" in str(exc.value)
    assert AuditEntry.objects.count() == before

    actions.load_protocol_version(admin, V22)
    with pytest.raises(Conflict) as exc:  # an older, inactive text
        actions.load_protocol_version(admin, TEXT)
    assert "version 2.1 (an inactive version" in str(exc.value)
    with pytest.raises(Conflict):
        actions.load_protocol_version(admin, V22)
    assert ProtocolVersion.objects.count() == 2


# ----------------------------------------------------------------------------------- API


def test_admin_api(trial: TrialSetup, api_now: None) -> None:
    admin = actions.token_for(trial.admin)
    coord = actions.token_for(trial["coord1"])
    r = call(admin, "get", "/sites")
    assert r.status_code == 200
    assert r.json() == [
        {"code": "site1", "name": "Site one", "staff": 4},
        {"code": "site2", "name": "Site two", "staff": 2},
    ]
    r = call(admin, "get", "/staff")
    rows = {x["username"]: x for x in r.json()}
    assert rows["coord1"] == {
        "username": "coord1",
        "role": "coordinator",
        "role_label": "Study coordinator",
        "sites": ["site1"],
        "all_sites": False,
        "active": True,
        "tokens": 1,
        "full_name": "Carl Ortiz",
        "last_login": None,
        "dormant": False,
    }
    assert rows["dm"]["sites"] is None and rows["dm"]["all_sites"] is True
    # POST /sites and /staff still work beside the reads on the same paths.
    assert call(admin, "post", "/sites", {"code": "site3", "name": "Three"}).status_code == 200
    r = call(
        admin,
        "post",
        "/staff",
        {"username": "inv3", "role": "investigator", "full_name": "Ivo Three"},
    )
    assert r.status_code == 200
    for path in ("/sites", "/staff", "/protocol-versions"):
        r = call(coord, "get", path)
        assert r.status_code == 403 and r.json()["detail"][0]["field"] == "role"

    r = call(admin, "post", "/staff/coord1/deactivate", {"reason": "left"})
    assert r.status_code == 200
    assert r.json() == {**rows["coord1"], "active": False}
    assert call(coord, "get", "/me").status_code == 401
    r = call(admin, "post", "/staff/coord1/deactivate", {"reason": "left"})
    assert r.status_code == 409
    r = call(admin, "post", "/staff/admin/deactivate", {"reason": "x"})
    assert r.status_code == 422 and r.json()["detail"][0]["field"] == "username"
    r = call(admin, "post", "/staff/nobody/reactivate", {"reason": "x"})
    assert r.status_code == 404
    r = call(admin, "post", "/staff/coord1/reactivate", {})
    assert r.status_code == 422 and r.json()["detail"][0]["field"] == "reason"
    r = call(admin, "post", "/staff/coord1/reactivate", {"reason": "back"})
    assert r.status_code == 200 and r.json()["active"] is True
    assert call(coord, "get", "/me").status_code == 200
    r = call(coord, "post", "/staff/inv1/deactivate", {"reason": "x"})
    assert r.status_code == 403

    r = call(admin, "post", "/protocol-versions", {"text": "id: [x"})
    assert r.status_code == 422
    assert r.json()["detail"] == [
        {"field": "protocol", "message": r.json()["detail"][0]["message"]}
    ] and r.json()["detail"][0]["message"].startswith("<protocol>:1")
    r = call(admin, "post", "/protocol-versions", {"text": TEXT})
    assert r.status_code == 409
    r = call(coord, "post", "/protocol-versions", {"text": V22})
    assert r.status_code == 403
    r = call(admin, "post", "/protocol-versions", {"text": V22}, **{"Idempotency-Key": "pv-1"})
    assert r.status_code == 200
    assert r.json()["version"] == "2.2" and r.json()["active"] is True
    again = call(admin, "post", "/protocol-versions", {"text": V22}, **{"Idempotency-Key": "pv-1"})
    assert again.status_code == 200 and again.json()["sha256"] == r.json()["sha256"]
    assert call(admin, "get", "/trial").json()["protocol"]["version"] == "2.2"
    versions = call(admin, "get", "/protocol-versions").json()
    assert [(v["version"], v["active"]) for v in versions] == [("2.2", True), ("2.1", False)]
    schema = Client().get("/api/openapi.json").json()["paths"]
    assert {"get", "post"} <= set(schema["/api/staff"]) and "/api/protocol-versions" in schema


# ----------------------------------------------------------------------------- API tokens


def other_trial() -> Staff:
    """The admin of a second trial in the same database (another protocol id)."""
    text = TEXT.replace("id: edctest2027", "id: othertrial2027")
    return actions.create_trial(text, sites=[("siteA", "Site A")], admin_username="other-admin")


def test_revoke_a_token(trial: TrialSetup, api_now: None) -> None:
    from celltrial.edc.models import ApiToken

    coord = trial["coord1"]
    t = actions.issue_token(trial.admin, coord, "  lab import  ")
    assert t.label == "lab import" and t.raw.startswith("ct_")
    assert ApiToken.objects.get(pk=t.pk).digest == hashlib.sha256(t.raw.encode()).hexdigest()
    assert call(t.raw, "get", "/me").json()["username"] == "coord1"

    x = actions.revoke_token(trial.admin, t.pk, reason="  laptop stolen  ")
    assert x.pk == t.pk and x.revoked and ApiToken.objects.get(pk=t.pk).revoked
    (row,) = audit_rows("revoke_token")
    assert (row.actor, row.role, row.table, row.record_id) == (
        "admin",
        "admin",
        "apitoken",
        str(t.pk),
    )
    assert json.loads(row.old) == {"revoked": False, "label": "lab import", "staff": "coord1"}
    assert json.loads(row.new) == {"revoked": True, "label": "lab import", "staff": "coord1"}
    assert row.reason == "laptop stolen"
    assert verify_audit().ok

    # The API refuses it (the cache is off here; otherwise within its seconds), not the others.
    r = call(t.raw, "get", "/me")
    assert r.status_code == 401 and r.json()["detail"][0]["field"] == "authorization"
    assert call(t.raw, "post", "/screenings", {"site": "site1"}).status_code == 401
    other = actions.token_for(coord)
    assert call(other, "get", "/me").status_code == 200
    # Reactivating the person does not bring a revoked token back.
    actions.deactivate_staff(trial.admin, "coord1", "leave")
    actions.reactivate_staff(trial.admin, "coord1", "back")
    assert call(t.raw, "get", "/me").status_code == 401
    assert call(other, "get", "/me").status_code == 200


def test_a_revoked_token_is_refused_once_the_cache_time_is_over(
    trial: TrialSetup, monkeypatch: pytest.MonkeyPatch
) -> None:
    from celltrial.edc import api

    monkeypatch.setattr(api, "AUTH_CACHE_SECONDS", 5.0)
    api._AUTH_CACHE.clear()
    t = actions.issue_token(trial.admin, trial["coord1"], "cached")
    assert call(t.raw, "get", "/me").status_code == 200  # now remembered by this process
    actions.revoke_token(trial.admin, t.pk, reason="rotation")
    digest = hashlib.sha256(t.raw.encode()).hexdigest()
    when, staff = api._AUTH_CACHE[digest]
    api._AUTH_CACHE[digest] = (when - 5.0, staff)  # as if the cache time were over
    assert call(t.raw, "get", "/me").status_code == 401
    assert digest not in api._AUTH_CACHE


def test_revoke_token_errors(trial: TrialSetup) -> None:
    admin = trial.admin
    t = actions.issue_token(admin, trial["coord1"], "script")
    them = other_trial()
    theirs = actions.issue_token(them, them, "theirs")
    before = AuditEntry.objects.count()
    for reason in ("", "   "):
        with pytest.raises(ActionError) as exc:
            actions.revoke_token(admin, t.pk, reason=reason)
        assert fields(exc) == {"reason"} and exc.value.status == 422
    with pytest.raises(NotFound) as exc:
        actions.revoke_token(admin, theirs.pk, reason="not ours")
    assert fields(exc) == {"token"} and exc.value.status == 404
    for missing in (10**9, 0, -1, 2**70, "abc"):
        with pytest.raises(NotFound) as exc:
            actions.revoke_token(admin, missing, reason="x")  # type: ignore[arg-type]
        assert fields(exc) == {"token"}
    with pytest.raises(ActionError) as exc:
        actions.issue_token(admin, trial["coord1"], "x" * 101)
    assert fields(exc) == {"label"}
    assert AuditEntry.objects.count() == before

    actions.revoke_token(admin, t.pk, reason="rotation")
    with pytest.raises(Conflict) as exc:
        actions.revoke_token(admin, t.pk, reason="again")
    assert fields(exc) == {"token"} and "revoked already" in str(exc.value)
    assert len(audit_rows("revoke_token")) == 1
    from celltrial.edc.models import ApiToken

    assert not ApiToken.objects.get(pk=theirs.pk).revoked


def test_only_the_admin_may_revoke_a_token(trial: TrialSetup) -> None:
    from celltrial.edc.models import ApiToken

    assert actions.revoke_token.roles == {"admin"}
    t = actions.issue_token(trial.admin, trial["coord1"], "script")
    before = AuditEntry.objects.count()
    for name, staff in trial.staff.items():
        if name == "admin":
            continue
        with pytest.raises(Forbidden) as exc:
            actions.revoke_token(staff, t.pk, reason="x")
        assert fields(exc) == {"role"}
    assert AuditEntry.objects.count() == before
    assert not ApiToken.objects.get(pk=t.pk).revoked


def test_token_api(trial: TrialSetup, api_now: None) -> None:
    admin = actions.token_for(trial.admin)
    coord = actions.token_for(trial["coord1"], "first")
    r = call(admin, "post", "/staff/coord1/tokens", {"label": "second"})
    assert r.status_code == 200
    second = r.json()["token"]
    rows = call(admin, "get", "/staff/coord1/tokens").json()
    assert [(x["label"], x["revoked"]) for x in rows] == [("second", False), ("first", False)]
    assert set(rows[0]) == {"id", "label", "created_at", "revoked"}
    assert rows[0]["created_at"].endswith("Z")
    body = json.dumps(rows)
    assert second not in body and hashlib.sha256(second.encode()).hexdigest() not in body
    assert call(admin, "get", "/staff/nobody/tokens").status_code == 404
    first = rows[1]["id"]

    r = call(admin, "post", f"/tokens/{first}/revoke", {"reason": "rotation"})
    assert r.status_code == 200
    assert r.json() == {**rows[1], "revoked": True, "username": "coord1"}
    assert call(coord, "get", "/me").status_code == 401
    assert call(second, "get", "/me").status_code == 200
    rows = call(admin, "get", "/staff/coord1/tokens").json()
    assert [(x["label"], x["revoked"]) for x in rows] == [("second", False), ("first", True)]
    people = {x["username"]: x for x in call(admin, "get", "/staff").json()}
    assert people["coord1"]["tokens"] == 1

    r = call(admin, "post", f"/tokens/{first}/revoke", {"reason": "again"})
    assert r.status_code == 409 and r.json()["detail"][0]["field"] == "token"
    r = call(admin, "post", f"/tokens/{rows[0]['id']}/revoke", {})
    assert r.status_code == 422 and r.json()["detail"][0]["field"] == "reason"
    r = call(admin, "post", f"/tokens/{rows[0]['id']}/revoke", {"reason": "  "})
    assert r.status_code == 422 and r.json()["detail"][0]["field"] == "reason"
    r = call(admin, "post", "/tokens/999999/revoke", {"reason": "x"})
    assert r.status_code == 404 and r.json()["detail"][0]["field"] == "token"
    them = other_trial()
    theirs = actions.issue_token(them, them, "theirs")
    r = call(admin, "post", f"/tokens/{theirs.pk}/revoke", {"reason": "x"})
    assert r.status_code == 404
    assert call(admin, "post", "/tokens/abc/revoke", {"reason": "x"}).status_code == 422

    # Another role: 403 on both, nothing revoked.
    r = call(second, "get", "/staff/coord1/tokens")
    assert r.status_code == 403 and r.json()["detail"][0]["field"] == "role"
    r = call(second, "post", f"/tokens/{rows[0]['id']}/revoke", {"reason": "x"})
    assert r.status_code == 403 and r.json()["detail"][0]["field"] == "role"
    assert call(second, "get", "/me").status_code == 200

    # The same Idempotency-Key: the first answer again, one audit row.
    key = {"Idempotency-Key": "revoke-1"}
    r = call(admin, "post", f"/tokens/{rows[0]['id']}/revoke", {"reason": "done"}, **key)
    again = call(admin, "post", f"/tokens/{rows[0]['id']}/revoke", {"reason": "done"}, **key)
    assert r.status_code == again.status_code == 200 and again.json() == r.json()
    assert len(audit_rows("revoke_token")) == 2
    assert call(second, "get", "/me").status_code == 401
    # A retried issue (same Idempotency-Key) makes no second token and cannot show it again.
    retry = {"Idempotency-Key": "issue-42"}
    r1 = call(admin, "post", "/staff/coord1/tokens", {"label": "retry"}, **retry)
    r2 = call(admin, "post", "/staff/coord1/tokens", {"label": "retry"}, **retry)
    assert r1.json()["token"].startswith("ct_") and r2.json()["token"] is None
    labels = [x["label"] for x in call(admin, "get", "/staff/coord1/tokens").json()]
    assert labels.count("retry") == 1
    schema = Client().get("/api/openapi.json").json()["paths"]
    assert {"get", "post"} <= set(schema["/api/staff/{username}/tokens"])
    assert "/api/tokens/{number}/revoke" in schema
