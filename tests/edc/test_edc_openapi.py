"""The REST API's published contract (issue 23): every operation of ``/api/openapi.json``
declares its responses, and every JSON answer the API gives in the EDC tests' flows matches
the schema published for its path, method and status.

The flows are the existing API tests (``test_edc_api``, ``…_followup``, ``…_monitoring``,
``…_admin``, ``…_sdv``), run again here with Django's test ``Client.request`` wrapped so that each
``/api/`` answer is checked against the document (a small validator of the JSON-schema subset pydantic writes: ``$ref``,
``type``, ``properties``, ``required``, ``additionalProperties``, ``items``, ``anyOf``,
``enum``). A final test asserts that the flows reached every operation with a 2xx answer.
"""

from __future__ import annotations

import inspect
import json
import re
from typing import Any

import edc_helpers
import pytest
import test_edc_accounts
import test_edc_admin
import test_edc_api
import test_edc_corrections
import test_edc_followup
import test_edc_monitoring
import test_edc_safety_crf
import test_edc_sdv
from django.test import Client

# The flows' own module fixtures, made available to them here.
from test_edc_admin import api_now  # noqa: F401
from test_edc_followup import followed  # noqa: F401
from test_edc_monitoring import visit  # noqa: F401

FLOW_MODULES = [
    test_edc_api,
    test_edc_followup,
    test_edc_monitoring,
    test_edc_admin,
    test_edc_safety_crf,
    test_edc_accounts,
    test_edc_corrections,
    test_edc_sdv,
]
#: (method, path template) -> the statuses answered and checked, across the flows.
SEEN: dict[tuple[str, str], set[int]] = {}
RAN: set[str] = set()
_DOC: dict[str, Any] = {}


def openapi() -> dict[str, Any]:
    if not _DOC:
        _DOC.update(Client().get("/api/openapi.json").json())
    return _DOC


def _resolve(doc: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[-1]
        schema = doc["components"]["schemas"][name]
    return schema


_TYPES: dict[str, Any] = {
    "string": lambda v: isinstance(v, str),
    "integer": lambda v: isinstance(v, int) and not isinstance(v, bool),
    "number": lambda v: isinstance(v, int | float) and not isinstance(v, bool),
    "boolean": lambda v: isinstance(v, bool),
    "null": lambda v: v is None,
    "array": lambda v: isinstance(v, list),
    "object": lambda v: isinstance(v, dict),
}


def problems(doc: dict[str, Any], schema: dict[str, Any], value: Any, at: str = "$") -> list[str]:
    """Where ``value`` breaks ``schema`` (empty: it conforms)."""
    schema = _resolve(doc, schema)
    if "anyOf" in schema:
        if any(not problems(doc, s, value, at) for s in schema["anyOf"]):
            return []
        return [f"{at}: {value!r} matches none of {schema['anyOf']}"]
    if "enum" in schema and value not in schema["enum"]:
        return [f"{at}: {value!r} not in {schema['enum']}"]
    kind = schema.get("type")
    if kind is None:
        return []
    kinds = kind if isinstance(kind, list) else [kind]
    if not any(_TYPES[k](value) for k in kinds):
        return [f"{at}: {value!r} is not {kind}"]
    out: list[str] = []
    if isinstance(value, dict):
        props = schema.get("properties", {})
        out += [f"{at}: no {k!r}" for k in schema.get("required", []) if k not in value]
        extra = schema.get("additionalProperties", True)
        for k, v in value.items():
            if k in props:
                out += problems(doc, props[k], v, f"{at}.{k}")
            elif extra is False:
                out.append(f"{at}: {k!r} is not in the schema")
            elif isinstance(extra, dict):
                out += problems(doc, extra, v, f"{at}.{k}")
    if isinstance(value, list) and "items" in schema:
        for i, v in enumerate(value):
            out += problems(doc, schema["items"], v, f"{at}[{i}]")
    return out


def _operation(method: str, path: str) -> str | None:
    for template in openapi()["paths"]:
        pattern = "^" + re.sub(r"\\\{[^}]+\\\}", "[^/]+", re.escape(template)) + "$"
        if re.match(pattern, path) and method in openapi()["paths"][template]:
            return template
    return None


def check(method: str, url: str, response: Any) -> None:
    """Assert the answer matches the schema published for ``method`` ``url`` and its status."""
    path = url.split("?", 1)[0]
    template = _operation(method, path)
    assert template is not None, f"{method.upper()} {path} is not in /api/openapi.json"
    op = openapi()["paths"][template][method]
    status = str(response.status_code)
    assert status in op["responses"], f"{method.upper()} {template}: {status} is not declared"
    if not response.get("Content-Type", "").startswith("application/json"):
        SEEN.setdefault((method, template), set()).add(response.status_code)  # a CSV file
        return
    content = op["responses"][status].get("content", {}).get("application/json", {})
    assert "schema" in content, f"{method.upper()} {template} {status}: no schema"
    found = problems(openapi(), content["schema"], json.loads(response.content))
    assert not found, f"{method.upper()} {template} {status}: {found[:5]}"
    SEEN.setdefault((method, template), set()).add(response.status_code)


def _flows() -> list[Any]:
    out = []
    for module in FLOW_MODULES:
        for name, fn in inspect.getmembers(module, inspect.isfunction):
            own = name.startswith("test_") and fn.__module__ == module.__name__
            # Parametrized or transactional tests (marked) are left to their own modules.
            if own and not getattr(fn, "pytestmark", None):
                out.append(pytest.param(fn, id=f"{module.__name__}.{name}"))
    # test_edc_api's walk of every endpoint, as each role its parametrized test uses.
    for who in ("inv1", "coord1", "mon1", "dm", "admin", "pharm", "dsmb"):
        out.append(pytest.param(_walk_as(who), id=f"test_edc_api._walk[{who}]"))
    out.append(pytest.param(_approve_and_list, id="approve-and-allocation-list"))
    return out


def _walk_as(who: str) -> Any:
    def flow(trial: Any, clients: Any) -> None:
        test_edc_api._walk(trial, clients, who)

    return flow


def _approve_and_list(trial: Any, clients: Any) -> None:
    """The writes no flow above answers with a 2xx: a DSMB approval, a list load, a lot
    release, an infusion, a loss to follow-up and a death."""
    r = clients["admin"].call(
        "post", "/staff", {"username": "mole", "role": "dsmb", "sites": [], "full_name": "Mo Le"}
    )
    assert r.status_code == 200, r.content
    r = clients["dsmb"].call("post", "/staff/mole/approve", {"reason": "new DSMB member"})
    assert r.status_code == 200, r.content
    # A trial's list loads once: the same list again, on a trial whose slots are cleared.
    from celltrial.edc.models import AllocationSlot

    AllocationSlot.objects.filter(trial_id=trial.admin.trial_id).delete()
    body = {"text": trial.list_bytes.decode(), "commitment": trial.commitment}
    r = clients["admin"].call("post", "/allocation-list", body)
    assert r.status_code == 200, r.content
    pharm = clients["pharm"]
    r = pharm.call("post", "/lots", {"number": "L-OA", "arm": "msc"})
    assert r.status_code == 200, r.content
    r = pharm.call("post", "/lots/L-OA/release", {"results": edc_helpers.MSC_RELEASE})
    assert r.status_code == 200, r.content
    p = edc_helpers.randomized(trial, at=edc_helpers.utc(2025, 3, 1, 8))
    lot = edc_helpers.released_lot(trial, edc_helpers.arm_of(p))
    at = "2025-03-01T12:00Z"  # within dose 1's window (randomized at 08:00)
    body = {"lot": lot.number, "started_at": at, "delivered": 1.4e8}
    r = pharm.call("post", f"/participants/{p.code}/infusions", body)
    assert r.status_code == 200, r.content
    for path, body in (
        ("lost-to-follow-up", {"last_contact": at}),
        ("death", {"died_at": at, "cause": "ARDS"}),
    ):
        q = edc_helpers.randomized(trial, at=edc_helpers.utc(2025, 3, 1, 8))
        r = clients["coord1"].call("post", f"/participants/{q.code}/{path}", body)
        assert r.status_code == 200, r.content


@pytest.mark.parametrize("flow", _flows())
def test_every_answer_matches_the_published_schema(flow, request, monkeypatch, db):
    real = Client.request

    def checked(self: Any, **environ: Any) -> Any:
        response = real(self, **environ)
        path = environ.get("PATH_INFO", "")
        if path.startswith("/api/") and path != "/api/openapi.json" and path != "/api/docs":
            check(environ["REQUEST_METHOD"].lower(), path, response)
        return response

    monkeypatch.setattr(Client, "request", checked)
    args = {p: request.getfixturevalue(p) for p in inspect.signature(flow).parameters}
    flow(**args)
    RAN.add(request.node.callspec.id)


def test_flows_reached_every_operation():
    """Run after the flows (this module's order): each operation answered 2xx at least once."""
    every = {p.id for p in _flows()}
    if every != RAN:
        pytest.skip(f"{len(every - RAN)} flows did not run in this session (-k, or a failure)")
    missing = [
        f"{method.upper()} {path}"
        for path, ops in openapi()["paths"].items()
        for method in ops
        if not any(200 <= s < 300 for s in SEEN.get((method, path), ()))
    ]
    assert not missing, f"no checked 2xx answer from: {missing}"


def test_every_operation_declares_its_responses(db):
    doc = openapi()
    ops = [(m, p, op) for p, item in doc["paths"].items() for m, op in item.items()]
    assert len(ops) >= 60
    for method, path, op in ops:
        ok = op["responses"].get("200", {}).get("content", {}).get("application/json", {})
        assert "schema" in ok, f"{method.upper()} {path}: no 200 schema"
        for status in ("401", "403", "404", "409", "422"):
            err = op["responses"][status]["content"]["application/json"]["schema"]
            assert _resolve(doc, err)["title"] == "ErrorOut", (method, path, status)


def test_blinded_answers_carry_no_arm_key(db, clients, trial):
    """The optional unblinded fields stay absent (not ``null``) for a blinded role."""
    p = edc_helpers.randomized(trial)
    r = clients["coord1"].call("get", f"/participants/{p.code}")
    assert r.status_code == 200 and "arm" not in r.json()["randomization"]
    r = clients["pharm"].call("get", f"/participants/{p.code}")
    assert r.status_code == 200 and r.json()["randomization"]["arm"] in ("msc", "placebo")


def test_the_validator_catches_a_wrong_answer(db):
    """The checker is not vacuous: an extra key, a missing key and a wrong type are caught."""
    doc = openapi()
    ok = doc["paths"]["/api/me"]["get"]["responses"]["200"]["content"]["application/json"]
    me = {
        "username": "a",
        "full_name": "A B",
        "must_change_password": False,
        "role": "monitor",
        "trial": "T",
        "sites": None,
        "sees_arms": False,
    }
    assert problems(doc, ok["schema"], me) == []
    assert problems(doc, ok["schema"], {**me, "arm": "msc"})
    assert problems(doc, ok["schema"], {k: v for k, v in me.items() if k != "role"})
    assert problems(doc, ok["schema"], {**me, "sees_arms": "no"})
