"""Throughput figures: gunicorn with 2 sync workers on the bench database, loaded with wrk.

Only with ``--gunicorn``. Each figure runs ``wrk -t1 -c8 -d<duration>s --latency`` against one
URL and reports requests per second, with non-2xx/3xx responses, socket errors and the
latency percentiles wrk measured in the note.
"""

from __future__ import annotations

import contextlib
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

from bench.database import ROOT, subprocess_env
from bench.registry import BenchError, Result, figure

WORKERS = 2
CONNECTIONS = 8


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextlib.contextmanager
def gunicorn(url: str, log_path: Path) -> Iterator[str]:
    """Run gunicorn on the bench database; yields its base URL and stops it afterwards."""
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    with log_path.open("w") as log:
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "gunicorn",
                "-w",
                str(WORKERS),
                "-b",
                f"127.0.0.1:{port}",
                "--log-level",
                "warning",
                "wsgi:app",
            ],
            cwd=ROOT,
            env=subprocess_env(url),
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        try:
            wait_until_up(base + "/healthz", process)
            yield base
        finally:
            process.terminate()
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def wait_until_up(url: str, process: subprocess.Popen, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise BenchError(f"gunicorn exited with {process.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=1) as response:  # noqa: S310 - loopback
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.2)
    raise BenchError("gunicorn did not answer within 30 s")


def parse_wrk(output: str) -> tuple[float, int, str]:
    """(requests/s, errors, latency note) from wrk's report."""
    match = re.search(r"Requests/sec:\s+([\d.]+)", output)
    if not match:
        raise BenchError("could not read wrk's output")
    rate = float(match.group(1))
    errors = 0
    non_ok = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", output)
    if non_ok:
        errors += int(non_ok.group(1))
    sockets = re.search(
        r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output
    )
    if sockets:
        errors += sum(int(g) for g in sockets.groups())
    latencies = dict(re.findall(r"^\s+(50|99)%\s+([\d.]+\w+)", output, re.MULTILINE))
    note = f"errors {errors}"
    if latencies:
        note += f", p50 {latencies.get('50', '?')}, p99 {latencies.get('99', '?')}"
    return rate, errors, note


def load(ctx, path: str) -> Result:  # noqa: ANN001
    if not shutil.which("wrk"):
        raise BenchError("wrk is not installed (apt-get install wrk)")
    completed = subprocess.run(
        [
            "wrk",
            "-t1",
            f"-c{CONNECTIONS}",
            f"-d{ctx.duration}s",
            "--latency",
            ctx.server_url + path,
        ],
        capture_output=True,
        text=True,
        check=False,
        timeout=ctx.duration + 60,
    )
    if completed.returncode != 0:
        raise BenchError(f"wrk failed: {completed.stderr.strip()[:200]}")
    rate, _errors, note = parse_wrk(completed.stdout)
    return Result([rate], note=note)


LABEL = f"gunicorn -w {WORKERS}, wrk -c{CONNECTIONS}"


@figure(f"throughput GET /healthz ({LABEL})", unit="req/s", higher_is_better=True, phase="gunicorn")
def throughput_hello(ctx) -> Result:  # noqa: ANN001
    return load(ctx, "/healthz")


@figure(f"throughput GET /login ({LABEL})", unit="req/s", higher_is_better=True, phase="gunicorn")
def throughput_login(ctx) -> Result:  # noqa: ANN001
    return load(ctx, "/login")
