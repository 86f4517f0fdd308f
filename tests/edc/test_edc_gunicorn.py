"""`celltrial serve` is gunicorn (issue 16): a killed worker is replaced, SIGHUP reloads the
workers without dropping the server, SIGTERM stops it gracefully."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest


def _children(pid: int) -> set[int]:
    found = set()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            found.add(int(entry.name))
    return found


def _answers(base: str) -> bool:
    try:
        with urllib.request.urlopen(f"{base}/api/roles", timeout=5) as r:
            return r.status == 200
    except OSError:
        return False


def _until(what, seconds: float = 60) -> None:  # type: ignore[no-untyped-def]
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        if what():
            return
        time.sleep(0.2)
    raise AssertionError(f"not within {seconds} s")


@pytest.mark.skipif(not Path("/proc").exists(), reason="reads worker pids from /proc")
def test_serve_restarts_a_killed_worker_and_reloads_gracefully(tmp_path: Path) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("DATABASE_URL", "DJANGO_SETTINGS_MODULE", "PYTEST_VERSION")
    }
    proc = subprocess.Popen(
        [
            *(sys.executable, "-c", "from celltrial.cli import app; app()", "serve"),
            *("--port", str(port), "--sites", "2", "--workers", "2", "--threads", "2"),
        ],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        _until(lambda: _answers(base) and len(_children(proc.pid)) == 2, 120)
        first = _children(proc.pid)
        victim = min(first)
        os.kill(victim, signal.SIGKILL)  # a worker dies
        _until(
            lambda: len(_children(proc.pid) - {victim}) == 2 and victim not in _children(proc.pid)
        )
        # the server answers (a busy machine may take a few seconds: the survivor serves)
        _until(lambda: _answers(base))
        before = _children(proc.pid)
        os.kill(proc.pid, signal.SIGHUP)  # graceful reload: new workers, the same server
        _until(lambda: len(_children(proc.pid)) == 2 and not (_children(proc.pid) & before))
        _until(lambda: _answers(base))
        assert proc.poll() is None
        # The private folder beside the database: mode 0700, with its generated secret key.
        state = tmp_path / "celltrial-edc.sqlite3.state"
        assert (state / "secret_key").exists() and (state.stat().st_mode & 0o777) == 0o700
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=60) == 0
