"""Fuzz the whole REST API from its OpenAPI schema, as every role, and count server errors.

A trial on lanzoni2021's protocol is set up in a fresh database (SQLite, or PostgreSQL when
``DATABASE_URL`` says so: ``scripts/with-postgres.sh python scripts/fuzz_api.py``) with one
person per role at two sites and participants in every state a site meets (screened,
enrolled, randomized with its visits, an adverse event and an open query). The API
is served as in production (``celltrial serve``: gunicorn, on loopback), and schemathesis
(https://schemathesis.readthedocs.io) generates requests for every operation of
``/api/openapi.json`` — valid and invalid bodies, paths, queries and headers — once per role
and once without a token. The check is the one that matters for a trial's server: no answer
is a 5xx (``not_a_server_error``). Path and query parameters take the trial's real values
(participant codes, visits, record ids, query numbers, spare accounts) half of the time, so
that the actions behind them are reached, not only their 404s. Each role's run gets a fresh
token (another role's run may have revoked the last one). Bounded and reproducible:
``--examples`` cases per operation (default 5), a fixed ``--seed``, ``--request-timeout``
per request and ``--role-timeout`` per role.

    make fuzz                                        # SQLite and PostgreSQL
    python scripts/fuzz_api.py --examples 5          # SQLite only

Each role's line gives its test cases, server errors (distinct 5xx failures, each with the
operation that answered it), fuzz errors (timeouts, schemathesis' own errors) and duration; a
summary follows. Exit status 0 only when every role ran to its end with no server error and
no fuzz error; the schemathesis output above the summary shows each failing request (as a
``curl`` command) and the server's log its traceback, with the request id.
"""

from __future__ import annotations

import argparse
import datetime as dt
import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

SITES = ("site1", "site2")
ROLES = {
    "admin": None,  # the trial's administrator, created with the trial
    "investigator": ("investigator", ["site1"]),
    "coordinator": ("coordinator", ["site1"]),
    "pharmacist": ("pharmacist", ["site1", "site2"]),
    "monitor": ("monitor", ["site1"]),
    "data_manager": ("data_manager", []),
    "dsmb": ("dsmb", []),
}


def _setup(db: str) -> dict[str, int]:
    """The trial; each role's name → the primary key of its person (see :func:`_token`)."""
    from celltrial.edc import setup

    setup(db)
    from django.core.management import call_command

    from celltrial.allocation import generate_list, scheme_from_protocol
    from celltrial.edc import actions
    from celltrial.protocol import library_path, load_protocol

    call_command("migrate", verbosity=0)
    p = load_protocol("lanzoni2021")
    admin = actions.create_trial(
        library_path("lanzoni2021").read_text(encoding="utf-8"),
        sites=[(s, s) for s in SITES],
        admin_username="admin",
    )
    sealed = generate_list(
        scheme_from_protocol(p, block_sizes=[2, 4]),
        key=b"celltrial-api-fuzz-key-000000000",
        protocol=p.id,
        protocol_version=p.version,
        sites=SITES,
        per_stratum=8,
    )
    actions.load_allocation_list(admin, sealed.canonical(), commitment=sealed.commitment())
    staff = {"admin": admin}
    for name, spec in ROLES.items():
        if spec is None:
            continue
        role, sites = spec
        if role in ("pharmacist", "dsmb"):  # unblinded roles: the operator's bootstrap
            staff[name] = actions.add_staff_as_operator(
                admin.trial, name, role, sites, full_name=f"Fuzz {name.title()}"
            )
        else:
            staff[name] = actions.add_staff(
                admin, name, role, sites, full_name=f"Fuzz {name.title()}"
            )
    coord = staff["coordinator"]
    values = {"covid19": True, "ards_severity": "mild_moderate", "age": 60, "weight": 75}
    actions.screen_participant(coord, "site1", values)  # screened only
    enrolled = actions.screen_participant(coord, "site1", values)
    actions.record_consent(coord, enrolled, "1.0", dt.date(2025, 1, 1))
    actions.enroll(coord, enrolled)
    for _ in range(2):  # randomized, with a visit, an AE and a query
        person = actions.screen_participant(coord, "site1", values)
        actions.record_consent(coord, person, "1.0", dt.date(2025, 1, 1))
        actions.enroll(coord, person)
        actions.randomize_participant(coord, person)
        ae = actions.report_adverse_event(
            coord,
            person,
            term="Headache",
            grade=1,
            onset=dt.datetime.now(dt.UTC) - dt.timedelta(minutes=5),
            relatedness="not_related",
            outcome="recovering",
        )
        actions.open_query(staff["monitor"], "adverse_event", ae.pk, "Please check the grade")
    # Accounts only for the fuzzer to act on (deactivate, approve, list tokens): the roles'
    # own accounts are never among the usernames it is given.
    actions.add_staff(admin, "spare_monitor", "monitor", ["site1"], full_name="Spare Monitor")
    actions.add_staff(admin, "spare_dsmb", "dsmb", [], full_name="Spare Dsmb")  # awaits approval
    actions.token_for(
        actions.add_staff(admin, "spare_coord", "coordinator", ["site2"], full_name="Spare Coord")
    )
    return {name: s.pk for name, s in staff.items()}


def _time_fields(openapi: dict[str, Any]) -> set[str]:
    """``body.<name>`` and ``query.<name>`` of every date-time the schema's requests carry."""
    keys: set[str] = set()
    for schema in openapi.get("components", {}).get("schemas", {}).values():
        for name, prop in schema.get("properties", {}).items():
            options = [prop, *prop.get("anyOf", [])]
            if any(o.get("format") == "date-time" for o in options):
                keys.add(f"body.{name}")
    for operations in openapi.get("paths", {}).values():
        for op in operations.values():
            for param in op.get("parameters", []) if isinstance(op, dict) else []:
                sch = param.get("schema", {})
                options = [sch, *sch.get("anyOf", [])]
                if param.get("in") == "query" and any(
                    o.get("format") == "date-time" for o in options
                ):
                    keys.add(f"query.{param['name']}")
    return keys


def _token(staff_pk: int) -> str:
    """A fresh bearer token for one role's run: a token another role's run revoked (the admin
    may revoke any blinded person's tokens) must not turn this run into 401s."""
    from celltrial.edc import actions
    from celltrial.edc.models import Staff

    return actions.token_for(Staff.objects.get(pk=staff_pk), label="fuzz")


#: Valid ISO 8601 times at the edges: their UTC is before the year 1 or after 9999, or they
#: are the first and last instants a datetime holds.
EDGE_TIMES = [
    "0001-01-01T00:00:00+14:00",
    "9999-12-31T23:59:59-14:00",
    "0001-01-01T00:00:00Z",
    "9999-12-31T23:59:59Z",
    "0001-01-01",
    "9999-12-31",
]

#: Body fields that name a record → the dictionary of its real values.
BODY_FIELDS = {
    "table": "table",
    "record_id": "query_record_id",
    "participant": "participant",
    "visit": "visit",
    "site": "site",
}


def _config(path: Path, openapi: dict[str, Any]) -> None:
    """A schemathesis configuration giving each path and query parameter the trial's real
    values half of the time (the other half generated): random participant codes or record
    ids would all be 404s, and the actions behind them never fuzzed."""
    from celltrial.edc.actions.monitoring import record_tables
    from celltrial.edc.models import (
        AdverseEvent,
        ApiToken,
        FormLock,
        Participant,
        Query,
        Site,
        Staff,
        VisitRecord,
    )

    codes = sorted(Participant.objects.values_list("code", flat=True))
    records = [
        *AdverseEvent.objects.values_list("pk", flat=True),
        *VisitRecord.objects.values_list("pk", flat=True),
        *Participant.objects.values_list("pk", flat=True),
    ]
    numbers = [
        *Query.objects.values_list("pk", flat=True),
        *FormLock.objects.values_list("pk", flat=True),
        *ApiToken.objects.filter(staff__user__username__startswith="spare_").values_list(
            "pk", flat=True
        ),
    ]
    visits = sorted(set(VisitRecord.objects.values_list("visit", flat=True))) or ["day7"]
    values: dict[str, Sequence[object]] = {
        "code": codes,
        "participant": codes,
        "ae_id": list(AdverseEvent.objects.values_list("pk", flat=True)),
        "path.record_id": sorted(set(records)),
        "query.record_id": [str(r) for r in sorted(set(records))],  # text in the query
        "number": sorted(set(numbers)),
        "table": sorted(record_tables()),
        "username": sorted(
            Staff.objects.filter(user__username__startswith="spare_").values_list(
                "user__username", flat=True
            )
        ),
        "visit": visits,
        "site": sorted(Site.objects.values_list("code", flat=True)),
        "status": ["screened", "enrolled", "randomized", "open", "answered", "closed"],
    }
    lines = ["[dictionaries]"]
    for name, vals in values.items():
        # Ids as numbers: a number also fits a parameter declared as text, not the reverse.
        lines.append(f"{name.replace('.', '_')} = {{ values = {json.dumps(vals)} }}")
    lines.append("[parameters]")  # a bare name: the parameter wherever it is (path, query)
    for name in values:
        lines.append(f'"{name}" = {{ dictionary = "{name.replace(".", "_")}", probability = 0.5 }}')
    # The same in the bodies that name a record (queries, locks, verifications, signatures).
    for field, name in BODY_FIELDS.items():
        lines.append(f'"body.{field}" = {{ dictionary = "{name}", probability = 0.5 }}')
    # Edge values in any string or integer, now and then: times whose UTC overflows the
    # years 1-9999 (they were a 500), a NUL, text longer than any column, ids past 64 bits.
    lines += [
        "[generation.dictionaries]",
        '"string" = { dictionary = "edge_text", probability = 0.1 }',
        '"integer" = { dictionary = "edge_int", probability = 0.1 }',
    ]
    edge_text = [*EDGE_TIMES, "a\u0000b", "x" * 5000, "NaN", "-0", "1e999"]
    edge_int = [2**63, -(2**63) - 1, 2**64, 10**30, -1, 0]
    lines.insert(1, f"edge_text = {{ values = {json.dumps(edge_text)} }}")
    lines.insert(1, f"edge_int = {{ values = {json.dumps(edge_int)} }}")
    # Every time the API reads (a date-time in a body or a query) gets the edge times a
    # quarter of the time: a random string in one is refused by the schema before any action.
    lines.insert(1, f"edge_time = {{ values = {json.dumps(EDGE_TIMES)} }}")
    times = sorted(_time_fields(openapi))
    at = lines.index("[generation.dictionaries]")
    lines[at:at] = [
        f'"{key}" = {{ dictionary = "edge_time", probability = 0.25 }}' for key in times
    ]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _serve(db: str, port: int) -> None:
    from celltrial.edc import setup

    setup(db)
    from celltrial.edc.server_gunicorn import serve

    # A long worker timeout: on a busy machine a worker may take more than 30 s to load Django,
    # and gunicorn would kill it before it answers once.
    serve("127.0.0.1", port, workers=2, threads=8, timeout=180, quiet=True)


def _wait(port: int, server: subprocess.Popen[bytes], timeout: float) -> None:
    """Until the server answers its schema (its workers load Django first: minutes on a busy
    machine), or fail naming why."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if server.poll() is not None:
            raise SystemExit(
                f"the server stopped (exit status {server.returncode}) before answering"
            )
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
            conn.request("GET", "/api/openapi.json")
            if conn.getresponse().status == 200:
                return
        except OSError:
            pass
        time.sleep(1)
    raise SystemExit(f"the server did not answer on port {port} within {timeout:.0f} s")


def main() -> int:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--examples", type=int, default=5, help="cases per operation and role")
    ap.add_argument("--seed", type=int, default=20261207)
    ap.add_argument("--roles", help="comma-separated subset of roles (and 'anonymous')")
    ap.add_argument(
        "--request-timeout", type=float, default=60, help="seconds per request (default 60)"
    )
    ap.add_argument(
        "--start-timeout",
        type=float,
        default=1200,
        help="seconds for the server to answer its first request (default 1200)",
    )
    ap.add_argument(
        "--role-timeout",
        type=float,
        default=3600,
        help="seconds for one role's run before it is stopped and counted unfinished",
    )
    ap.add_argument("--serve", type=int, help=argparse.SUPPRESS)
    ap.add_argument("--db", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.serve:
        _serve(args.db, args.serve)
        return 0
    if not 1 <= args.examples <= 1000:
        ap.error("--examples: give 1 to 1000 cases per operation")

    backend = "PostgreSQL" if os.environ.get("DATABASE_URL", "").startswith("post") else "SQLite"
    tmp = tempfile.mkdtemp(prefix="celltrial-fuzz-")
    db = str(Path(tmp) / "edc.sqlite3")
    tokens = _setup(db)
    wanted = [*tokens, "anonymous"]
    if args.roles:
        wanted = [r.strip() for r in args.roles.split(",") if r.strip()]
        unknown = sorted(set(wanted) - {*tokens, "anonymous"})
        if unknown:
            ap.error(f"--roles: unknown role(s) {', '.join(unknown)}")

    # Stopped (SIGTERM, a CI timeout): unwind through ``finally`` so the server stops too.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    port = _free_port()
    server = _start_server(port, db)
    results: list[RoleResult] = []
    started = time.monotonic()
    try:
        _wait(port, server, args.start_timeout)
        # The schema is fetched once, here: schemathesis reads it from the file (its own
        # loader gives up after 10 s, which a busy machine can exceed).
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
        conn.request("GET", "/api/openapi.json")
        schema = str(Path(tmp) / "openapi.json")
        Path(schema).write_bytes(conn.getresponse().read())
        _config(Path(tmp) / "schemathesis.toml", json.loads(Path(schema).read_text("utf-8")))
        for role in wanted:
            if server.poll() is not None:  # a dead server would make every case an error
                print(f"== the server stopped (status {server.returncode}); restarting it")
                server = _start_server(port, db)
                _wait(port, server, args.start_timeout)
            print(f"== {backend}: fuzzing every operation as {role}", flush=True)
            result = _fuzz_role(
                role,
                None if role == "anonymous" else _token(tokens[role]),
                schema,
                port,
                Path(tmp),
                args,
                backend=backend,
            )
            results.append(result)
            print(f"== {backend}: {result.line()}", flush=True)
    finally:
        server.terminate()
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
    return _summary(backend, results, wanted, time.monotonic() - started)


class RoleResult:
    """What schemathesis reported for one role (from its JSON run report)."""

    def __init__(self, role: str) -> None:
        self.role = role
        self.cases = 0  # test cases generated (each one request, or more when shrinking)
        self.server_errors = 0  # distinct 5xx failures (schemathesis groups equal ones)
        self.fuzz_errors = 0  # errors of the fuzzer or the network (timeouts), not answers
        self.finished = False  # schemathesis ran to its end (not killed, not crashed)
        self.seconds = 0.0
        self.operations: list[str] = []  # the operations that answered a 5xx
        self.error_titles: list[str] = []

    def ok(self) -> bool:
        return self.finished and self.server_errors == 0 and self.fuzz_errors == 0

    def line(self) -> str:
        state = "" if self.finished else "  DID NOT FINISH"
        return (
            f"{self.role:<13} {self.cases:>6} cases  {self.server_errors:>3} server errors  "
            f"{self.fuzz_errors:>3} fuzz errors  {self.seconds:>7.0f} s{state}"
        )


def _fuzz_role(
    role: str,
    token: str | None,
    schema: str,
    port: int,
    tmp: Path,
    args: argparse.Namespace,
    *,
    backend: str,
) -> RoleResult:
    """One schemathesis run as ``role`` (``token`` None: anonymous), bounded in time."""
    result = RoleResult(role)
    report = tmp / f"report-{role}.json"
    report.unlink(missing_ok=True)
    cmd = [
        sys.executable,
        "-c",
        "import sys; from schemathesis.cli import schemathesis; sys.exit(schemathesis())",
        "--config-file",
        str(tmp / "schemathesis.toml"),
        "run",
        schema,
        "--url",
        f"http://127.0.0.1:{port}",
        "--checks",
        "not_a_server_error",
        "--max-examples",
        str(args.examples),
        "--seed",
        str(args.seed),
        "--workers",
        "1",  # one thread: Hypothesis' lambda descriptions are not thread-safe
        "--phases",
        "examples,coverage,fuzzing",
        "--suppress-health-check",
        "all",
        "--continue-on-failure",
        # A busy shared machine can take seconds per answer: a long timeout, and one retry of
        # a request that got no answer at all (a network failure, not a status).
        "--request-timeout",
        str(args.request_timeout),
        "--request-retries",
        "1",
        "--report",
        "json",
        "--report-json-path",
        str(report),
        "--no-color",
    ]
    if token is not None:
        cmd += ["--header", f"Authorization: Bearer {token}"]
    t0 = time.monotonic()
    proc = subprocess.Popen(cmd, env=os.environ.copy(), cwd=tmp, start_new_session=True)
    try:
        proc.wait(timeout=args.role_timeout)
    except subprocess.TimeoutExpired:
        print(f"== {backend}: {role} ran past {args.role_timeout} s; stopped", flush=True)
        _stop(proc)
    except BaseException:  # interrupted: schemathesis runs in its own session, stop it too
        _stop(proc)
        raise
    result.seconds = time.monotonic() - t0
    try:
        doc = json.loads(report.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        result.fuzz_errors = 1
        result.error_titles = [f"no report from schemathesis (exit status {proc.returncode})"]
        return result
    result.finished = bool(doc.get("complete")) and proc.returncode is not None
    result.cases = int(doc["test_cases"]["generated"])
    for group in doc.get("failures", []):
        if group["type"] == "ServerError":
            result.server_errors += int(group["count"])
            result.operations += group["operations"]
        else:  # only not_a_server_error is checked: anything else is unexpected
            result.fuzz_errors += int(group["count"])
            result.error_titles.append(group["title"])
    for group in doc.get("errors", []):
        result.fuzz_errors += int(group["count"])
        result.error_titles.append(group["title"])
    return result


def _stop(proc: subprocess.Popen[bytes]) -> None:
    """Stop a schemathesis run and its children (its own process group)."""
    os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()


def _summary(backend: str, results: list[RoleResult], wanted: list[str], seconds: float) -> int:
    print(f"\n== {backend}: summary (whole run {seconds:.0f} s)")
    for r in results:
        print(f"   {r.line()}")
        for op in sorted(set(r.operations)):
            print(f"       5xx: {op}")
        for title in r.error_titles:
            print(f"       fuzz error: {title}")
    missing = [role for role in wanted if role not in {r.role for r in results}]
    total = sum(r.cases for r in results)
    errors = sum(r.server_errors for r in results)
    if errors or missing or not all(r.ok() for r in results):
        bad = [r.role for r in results if not r.ok()] + missing
        print(
            f"== {backend}: FAILED: {errors} server errors in {total} cases; "
            f"not clean: {', '.join(bad)}",
            file=sys.stderr,
        )
        return 1
    print(f"== {backend}: no server error in {total} cases as {', '.join(wanted)}")
    return 0


def _start_server(port: int, db: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, __file__, "--serve", str(port), "--db", db], env=os.environ.copy()
    )


if __name__ == "__main__":
    sys.exit(main())
