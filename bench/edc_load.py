"""Load test of the EDC's REST API on loopback.

A 3-site, 300-participant trial (lanzoni2021's protocol, a stratified block list) is set up in
a fresh database; the API is served by a subprocess — gunicorn as ``celltrial serve`` runs it
(``--processes`` worker processes, one per core by default, each with ``--threads`` threads;
``--server builtin`` for the former home-made server); ``--clients`` client threads, each holding one
keep-alive connection, enter measurements and adverse events for ``--seconds`` seconds, each
request with its own idempotency key (a tenth are sent twice, as a client retrying would). Afterwards the records
are counted (zero lost, zero duplicated) and the audit chain is verified.

    make bench-edc                                             # both databases, as below
    python bench/edc_load.py                                   # SQLite (a WAL file)
    PG_OPTIONS="" scripts/with-postgres.sh python bench/edc_load.py   # PostgreSQL, durable
    python bench/edc_load.py --quick                           # 30 participants, 4 clients, 3 s

Besides throughput and latency it reports the **server's CPU seconds per write**, read from
``/proc/<pid>/stat`` (user + system time) of the server process and all its descendants
(gunicorn's master and workers) just before the clients start, half-way and just after they
stop (the second half leaves out each worker's first requests): on a machine busy with other
work, throughput falls but the CPU a write costs stays comparable. The clients share the
machine with the server, so they are light: each a minimal HTTP/1.1 client (:class:`Client`)
on one keep-alive connection, all in one process.
"""

from __future__ import annotations

import argparse
import datetime as dt
import http.client
import itertools
import json
import os
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

SITES = ("site1", "site2", "site3")
PER_SITE = 100


def _setup(db: str, per_site: int = PER_SITE) -> dict[str, list[str] | str]:
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
        key=b"edc-load-benchmark-key-000000000",
        protocol=p.id,
        protocol_version=p.version,
        sites=SITES,
        per_stratum=max(per_site, 4),
    )
    actions.load_allocation_list(admin, sealed.canonical())
    tokens: dict[str, str] = {}
    codes: dict[str, list[str]] = {}
    for site in SITES:
        staff = actions.add_staff(
            admin, f"coord_{site}", "coordinator", [site], full_name=f"Coordinator {site}"
        )
        tokens[site] = actions.token_for(staff)
        codes[site] = []
        for i in range(per_site):
            sev = "mild_moderate" if i % 2 else "moderate_severe"
            values = {"covid19": True, "ards_severity": sev, "age": 60, "weight": 75}
            person = actions.screen_participant(staff, site, values)
            actions.record_consent(staff, person, "1.0", dt.date(2025, 1, 1))
            actions.enroll(staff, person)
            actions.randomize_participant(staff, person)
            codes[site].append(person.code)
    return {"tokens": json.dumps(tokens), "codes": json.dumps(codes)}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _serve(db: str, port: int, threads: int, processes: int, server: str) -> None:
    from celltrial.edc import setup

    setup(db)
    if server == "builtin":  # the former home-made server, kept for comparison
        from celltrial.edc.server import serve

        serve("127.0.0.1", port, threads=threads, processes=processes)
        return
    from celltrial.edc.server_gunicorn import serve as gunicorn

    gunicorn("127.0.0.1", port, workers=processes, threads=threads, quiet=True)


def _tree_cpu(root: int) -> float:
    """User + system CPU seconds of process ``root`` and all its living descendants, from
    ``/proc/<pid>/stat`` (fields 14 and 15, in clock ticks); 0 where /proc is missing."""
    ticks = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
    parent: dict[int, int] = {}
    times: dict[int, float] = {}
    for entry in Path("/proc").glob("[0-9]*"):
        try:
            text = (entry / "stat").read_text()
        except OSError:
            continue
        # The command name (field 2) is in parentheses and may hold spaces: split after it.
        rest = text[text.rindex(")") + 2 :].split()
        pid = int(entry.name)
        parent[pid] = int(rest[1])
        times[pid] = (int(rest[11]) + int(rest[12])) / ticks
    mine = {root}
    grew = True
    while grew:
        more = {pid for pid, pp in parent.items() if pp in mine} - mine
        grew = bool(more)
        mine |= more
    return sum(times.get(pid, 0.0) for pid in mine)


def _wait(port: int, timeout: float = 60) -> None:
    """Until the API answers (gunicorn's master listens before its workers have loaded
    Django): a few requests, so that every worker is up before the clock starts."""
    end = time.monotonic() + timeout
    ok = 0
    while time.monotonic() < end and ok < 8:
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            conn.request("GET", "/api/roles")
            ok += conn.getresponse().status == 200
            conn.close()
        except OSError:
            time.sleep(0.2)
    if ok < 8:
        raise SystemExit(f"the server did not start on port {port}")


class Client:
    """A minimal HTTP/1.1 client on one keep-alive connection: POSTs a JSON body, reads the
    status line, the headers and ``Content-Length`` bytes of body. The load generator shares
    the machine's cores with the server, so its own CPU per request matters: this costs about
    a third of ``http.client``'s (which parses each answer's headers with the email package)."""

    def __init__(self, port: int):
        self.port = port
        self._connect()

    def _connect(self) -> None:
        self.sock = socket.create_connection(("127.0.0.1", self.port), timeout=30)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.buf = b""

    def close(self) -> None:
        self.sock.close()

    def _more(self) -> None:
        chunk = self.sock.recv(65536)
        if not chunk:
            raise ConnectionError("the server closed the connection")
        self.buf += chunk

    def post(self, path: str, body: bytes, headers: bytes) -> tuple[int, bytes]:
        """(status, body) of ``POST path``; reconnects after an answer with
        ``Connection: close``."""
        self.sock.sendall(
            b"POST %s HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
            b"Content-Length: %d\r\n%s\r\n%s" % (path.encode(), len(body), headers, body)
        )
        while b"\r\n\r\n" not in self.buf:
            self._more()
        head, _, self.buf = self.buf.partition(b"\r\n\r\n")
        lines = head.split(b"\r\n")
        status = int(lines[0].split()[1])
        length, close = 0, False
        for line in lines[1:]:
            name, _, value = line.partition(b":")
            name = name.strip().lower()
            if name == b"content-length":
                length = int(value)
            elif name == b"connection":
                close = value.strip().lower() == b"close"
            elif name == b"transfer-encoding":
                raise ConnectionError("a chunked answer (the EDC sends Content-Length)")
        while len(self.buf) < length:
            self._more()
        answer, self.buf = self.buf[:length], self.buf[length:]
        if close:
            self.sock.close()
            self._connect()
        return status, answer


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--clients", type=int, help="client threads (16; --quick: 4)")
    ap.add_argument("--seconds", type=float, help="seconds of load (20; --quick: 3)")
    ap.add_argument("--threads", type=int, default=16, help="server threads per process")
    ap.add_argument(
        "--processes", type=int, default=os.cpu_count() or 2, help="server worker processes"
    )
    ap.add_argument(
        "--server",
        choices=("gunicorn", "builtin"),
        default="gunicorn",
        help="gunicorn (as `celltrial serve`) or the former built-in server",
    )
    ap.add_argument(
        "--quick",
        action="store_true",
        help="a smoke run: 10 participants per site, 4 clients, 3 s unless given (numbers not "
        "comparable with the full run's)",
    )
    ap.add_argument("--serve", type=int, help=argparse.SUPPRESS)
    ap.add_argument("--db", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.serve:
        _serve(args.db, args.serve, args.threads, args.processes, args.server)
        return
    per_site = PER_SITE
    if args.quick:
        per_site = 10
    quick = bool(args.quick)
    args.clients = args.clients or (4 if quick else 16)
    args.seconds = args.seconds or (3.0 if quick else 20.0)
    args.clients = max(1, min(args.clients, 64))
    args.seconds = max(1.0, min(args.seconds, 120.0))

    tmp = tempfile.mkdtemp(prefix="celltrial-edc-load-")
    db = str(Path(tmp) / "edc.sqlite3")
    backend = (
        "PostgreSQL"
        if os.environ.get("DATABASE_URL", "").startswith("postgres")
        else "SQLite (WAL)"
    )
    t0 = time.perf_counter()
    state = _setup(db, per_site)
    tokens = json.loads(str(state["tokens"]))
    codes = json.loads(str(state["codes"]))
    print(
        f"EDC load on {backend}: {len(SITES)} sites, {sum(map(len, codes.values()))} participants "
        f"set up in {time.perf_counter() - t0:.1f} s"
    )

    port = _free_port()
    server = subprocess.Popen(
        [
            sys.executable,
            __file__,
            "--serve",
            str(port),
            "--db",
            db,
            "--threads",
            str(args.threads),
            "--processes",
            str(args.processes),
            "--server",
            args.server,
        ],
        env=os.environ.copy(),
    )
    try:
        _wait(port)
        latencies: list[float] = []
        finished: list[float] = []  # when each request's answer arrived (perf_counter)
        sent = {"measurement": 0, "ae": 0, "retries": 0, "errors": 0}
        refusals: list[str] = []  # the first few answers that were not 200, printed
        lock = threading.Lock()
        stop_at = time.monotonic() + args.seconds
        # Each AE its own onset (a second apart, one counter for all clients): the same term
        # with the same onset for one participant is a likely duplicate the EDC asks to confirm.
        onset0 = dt.datetime.now(dt.UTC) - dt.timedelta(hours=1)
        ae_numbers = itertools.count()

        def client(n: int) -> None:
            rng = random.Random(n)
            site = SITES[n % len(SITES)]
            auth = f"Authorization: Bearer {tokens[site]}\r\n".encode()
            mine: list[float] = []
            ends: list[float] = []
            counts = {"measurement": 0, "ae": 0, "retries": 0, "errors": 0}
            i = 0
            # One keep-alive connection per client, as an API client would hold; reopened
            # when the server closes it (or it fails: counted as an error).
            conn = Client(port)
            while time.monotonic() < stop_at:
                i += 1
                code = rng.choice(codes[site])
                if i % 5 == 0:
                    kind, path = "ae", f"/api/participants/{code}/adverse-events"
                    body = {
                        "term": "Headache",
                        "onset": (onset0 - dt.timedelta(seconds=next(ae_numbers))).isoformat(),
                        "grade": rng.randint(1, 2),
                        "relatedness": "unlikely",
                        "outcome": "recovered",
                    }
                else:
                    kind, path = "measurement", f"/api/participants/{code}/measurements"
                    body = {
                        "code": rng.choice(["il6", "tnfa", "ifng"]),
                        "value": round(rng.uniform(1, 500), 1),
                    }
                headers = auth + f"Idempotency-Key: c{n}-{i}\r\n".encode()
                payload = json.dumps(body).encode()
                for attempt in range(2 if i % 10 == 0 else 1):
                    t = time.perf_counter()
                    try:
                        status, answer = conn.post(path, payload, headers)
                    except OSError as exc:
                        status, answer = 0, f"connection failed: {exc!r}".encode()
                        conn.close()
                        conn = Client(port)
                    done = time.perf_counter()
                    mine.append(done - t)
                    ends.append(done)
                    if status != 200:
                        counts["errors"] += 1
                        with lock:
                            if len(refusals) < 3:
                                refusals.append(f"{status} {answer[:300]!r}")
                    elif attempt == 0:
                        counts[kind] += 1
                    else:
                        counts["retries"] += 1
            conn.close()
            with lock:
                latencies.extend(mine)
                finished.extend(ends)
                for k, v in counts.items():
                    sent[k] += v

        threads = [threading.Thread(target=client, args=(n,)) for n in range(args.clients)]
        cpu0 = time.process_time()
        tree0 = _tree_cpu(server.pid)
        start = time.perf_counter()
        for t in threads:
            t.start()
        # Half-way, the server's CPU again: the second half's CPU per request leaves out each
        # worker's first requests (its imports, statements compiled, connections opened).
        time.sleep(max(0.0, start + args.seconds / 2 - time.perf_counter()))
        half, tree_half = time.perf_counter(), _tree_cpu(server.pid)
        for t in threads:
            t.join()
        elapsed = time.perf_counter() - start
        client_cpu = time.process_time() - cpu0
        # Before the server stops: its workers' time is counted while they live.
        tree_end = _tree_cpu(server.pid)
        tree_cpu = tree_end - tree0
        tree_second = tree_end - tree_half
        load = os.getloadavg()[0]
    finally:
        server.terminate()
        server.wait(60)  # gunicorn stops gracefully
    server_cpu = sum(os.times()[2:4])  # the server and its workers (setup excluded: in-process)

    from celltrial.edc.audit import verify_audit
    from celltrial.edc.models import AdverseEvent, Measurement

    q = statistics.quantiles(latencies, n=100)
    writes = sent["measurement"] + sent["ae"]
    print(
        f"{args.clients} clients x {args.seconds:g} s: {len(latencies)} requests "
        f"({writes} new records, {sent['retries']} retried with the same key, {sent['errors']} errors)"
    )
    # New records per second are the writes; a retry with the same key writes nothing and a
    # refusal nothing, so both are requests but not writes.
    print(
        f"throughput {writes / elapsed:.0f} writes/s (new records; {len(latencies) / elapsed:.0f} "
        f"requests/s); latency p50 {q[49] * 1000:.1f} ms, "
        f"p95 {q[94] * 1000:.1f} ms, max {max(latencies) * 1000:.1f} ms"
    )
    for answer in refusals:
        print(f"  not 200: {answer}")
    n = len(latencies)
    n_second = sum(1 for t in finished if t > half)
    print(
        f"server CPU per write (during the run, /proc): {tree_cpu / n * 1000:.2f} ms "
        f"({tree_cpu:.2f} s over {n} requests); second half "
        f"{tree_second / max(n_second, 1) * 1000:.2f} ms ({tree_second:.2f} s over {n_second})"
    )
    print(
        f"CPU per request: clients {client_cpu / n * 1000:.2f} ms, server processes "
        f"{server_cpu / n * 1000:.2f} ms (start-up included); load average at the end {load:.1f} "
        f"on {os.cpu_count()} cores"
    )
    m, a = Measurement.objects.count(), AdverseEvent.objects.count()
    # Each table on its own: one lost and one duplicated record must not cancel out.
    lost_or_dup = abs(m - sent["measurement"]) + abs(a - sent["ae"])
    report = verify_audit()
    print(
        f"counted: {m} measurements (sent {sent['measurement']}), {a} adverse events (sent {sent['ae']}); "
        f"lost or duplicated: {lost_or_dup}; {report.message}"
    )
    if lost_or_dup or not report.ok or sent["errors"]:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
