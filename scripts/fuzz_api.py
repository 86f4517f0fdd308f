"""Fuzz the whole REST API from its OpenAPI schema, as every role, and count server errors.

A trial on lanzoni2021's protocol is set up in a fresh database (SQLite, or PostgreSQL when
``DATABASE_URL`` says so: ``scripts/with-postgres.sh python scripts/fuzz_api.py``) with one
person per role at two sites and participants in every state a site meets (screened,
enrolled, randomized and infused, with a visit, an adverse event and an open query). The API
is served as in production (``celltrial serve``: gunicorn, on loopback), and schemathesis
(https://schemathesis.readthedocs.io) generates requests for every operation of
``/api/openapi.json`` — valid and invalid bodies, paths, queries and headers — once per role
and once without a token. The check is the one that matters for a trial's server: no answer
is a 5xx (``not_a_server_error``). Bounded and reproducible: ``--examples`` cases per
operation (default 10), a fixed ``--seed``.

    make fuzz                                        # SQLite and PostgreSQL
    python scripts/fuzz_api.py --examples 10         # SQLite, quicker

Exit status 0 when no role met a server error; otherwise the schemathesis output of the
failing role says which operation and request.
"""

from __future__ import annotations

import argparse
import datetime as dt
import http.client
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

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


def _setup(db: str) -> dict[str, str]:
    """The trial, one token per role (the role's name → its bearer token)."""
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
            staff[name] = actions.add_staff_as_operator(admin.trial, name, role, sites)
        else:
            staff[name] = actions.add_staff(admin, name, role, sites)
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
    return {name: actions.token_for(s) for name, s in staff.items()}


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


def _wait(port: int, server: subprocess.Popen[bytes], timeout: float = 300) -> None:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if server.poll() is not None:
            raise SystemExit(
                f"the server stopped (exit status {server.returncode}) before answering"
            )
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            conn.request("GET", "/api/openapi.json")
            if conn.getresponse().status == 200:
                return
        except OSError:
            time.sleep(0.3)
    raise SystemExit(f"the server did not start on port {port}")


def main() -> int:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--examples", type=int, default=10, help="cases per operation and role")
    ap.add_argument("--seed", type=int, default=20261207)
    ap.add_argument("--roles", help="comma-separated subset of roles (and 'anonymous')")
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

    port = _free_port()
    server = subprocess.Popen(
        [sys.executable, __file__, "--serve", str(port), "--db", db], env=os.environ.copy()
    )
    failed: list[str] = []
    try:
        _wait(port, server)
        # The schema is fetched once, here: schemathesis reads it from the file (its own
        # loader gives up after 10 s, which a busy machine can exceed).
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
        conn.request("GET", "/api/openapi.json")
        schema = str(Path(tmp) / "openapi.json")
        Path(schema).write_bytes(conn.getresponse().read())
        for role in wanted:
            print(f"== {backend}: fuzzing every operation as {role}", flush=True)
            cmd = [
                sys.executable,
                "-c",
                "import sys; from schemathesis.cli import schemathesis; sys.exit(schemathesis())",
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
                "--request-timeout",
                "30",
                "--no-color",
            ]
            if role != "anonymous":
                cmd += ["--header", f"Authorization: Bearer {tokens[role]}"]
            if subprocess.run(cmd, env=os.environ.copy(), cwd=tmp).returncode != 0:
                failed.append(role)
    finally:
        server.terminate()
        server.wait(timeout=30)
    if failed:
        print(f"server errors (or fuzz errors) as: {', '.join(failed)}", file=sys.stderr)
        return 1
    print(f"{backend}: no server error for {', '.join(wanted)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
