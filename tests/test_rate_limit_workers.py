"""Rate limits hold across worker processes (security finding 7).

Two gunicorn servers, each its own process with its own app, share one database (or one
Redis); requests alternate between them. With a limit of 5 per minute on /verify exactly 5
requests pass in total, and every later one on either server answers 429. With per-process
(in-memory) counters each server would let 5 through: 10 in total.

The Redis test needs Debian's ``redis-server`` (scripts/install.sh installs it) and the
``redis`` client (the ``production`` extra). It fails when either is missing; set
LINLI_NO_REDIS=1 to skip it on a machine that cannot have them.
"""

from __future__ import annotations

import http.client
import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

import pytest
from sqlalchemy import delete

from app import create_app
from app.extensions import db
from app.ratelimit import RateLimitCounter

ROOT = Path(__file__).resolve().parent.parent
PG_URL = os.environ.get("TEST_DATABASE_URL", "")
LIMIT = 5
REQUESTS = 12
STARTUP_SECONDS = 60


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _status(port: int, method: str, path: str) -> int:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        conn.request(method, path)
        response = conn.getresponse()
        response.read()
        return response.status
    finally:
        conn.close()


def _wait_until(ready, what: str, proc: subprocess.Popen | None = None, log: Path | None = None):
    """Poll ``ready()`` until it answers True (bounded; a readiness wait, not a timing check)."""
    deadline = time.monotonic() + STARTUP_SECONDS
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            text = log.read_text(errors="replace") if log else ""
            raise AssertionError(f"{what} exited with {proc.returncode}:\n{text[-3000:]}")
        try:
            done = ready()
        except Exception:  # noqa: BLE001 - connection refused while it starts (OSError, redis)
            done = False
        if done:
            return
        time.sleep(0.1)
    text = log.read_text(errors="replace") if log else ""
    raise AssertionError(f"{what} not ready after {STARTUP_SECONDS}s:\n{text[-3000:]}")


@contextmanager
def _running(cmd: list[str], env: dict[str, str], log: Path) -> Iterator[subprocess.Popen]:
    with log.open("wb") as out:
        proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
    try:
        yield proc
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@contextmanager
def _servers(tmp_path: Path, count: int, extra_env: dict[str, str]) -> Iterator[list[int]]:
    """``count`` single-worker gunicorn servers (separate processes) of the development config."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("RATELIMIT", "REDIS"))}
    env.update(
        LINLI_CONFIG="development",
        PRINT_WORKER="external",
        LOGIN_RATE_LIMIT=f"{LIMIT} per minute",
        **extra_env,
    )
    factory = f"app:create_app(VERIFY_RATE_LIMIT='{LIMIT} per minute')"
    ports = []
    with ExitStack() as stack:
        for n in range(count):
            port = _free_port()
            log = tmp_path / f"gunicorn-{n}.log"
            cmd = [sys.executable, "-m", "gunicorn", "-w", "1", "-b", f"127.0.0.1:{port}", factory]
            proc = stack.enter_context(_running(cmd, env, log))
            _wait_until(
                lambda port=port: _status(port, "GET", "/login") == 200,
                f"gunicorn on port {port}",
                proc,
                log,
            )
            ports.append(port)
        yield ports


def _alternate(ports: list[int]) -> list[int]:
    """REQUESTS requests to /verify, alternating between the servers; their statuses."""
    return [
        _status(ports[i % len(ports)], "GET", "/verify/not-a-real-token") for i in range(REQUESTS)
    ]


def _assert_counted_once(statuses: list[int]) -> None:
    passed = [s for s in statuses if s != 429]
    assert len(passed) == LIMIT, f"{len(passed)} requests passed across the workers: {statuses}"
    assert statuses[:LIMIT] == passed and set(statuses[LIMIT:]) == {429}, statuses


@contextmanager
def _database(url: str) -> Iterator[str]:
    """The schema on ``url``, with no rate-limit counters before and after."""
    application = create_app("testing", SQLALCHEMY_DATABASE_URI=url)
    with application.app_context():
        db.create_all()
        with db.engine.begin() as conn:
            conn.execute(delete(RateLimitCounter))
        try:
            yield url
        finally:
            with db.engine.begin() as conn:
                conn.execute(delete(RateLimitCounter))
            db.engine.dispose()


@pytest.fixture
def shared_database(tmp_path) -> Iterator[str]:
    """A database both servers can open: a SQLite file, or the PostgreSQL test database."""
    with _database(PG_URL or f"sqlite:///{tmp_path / 'workers.db'}") as url:
        yield url


def test_limit_is_counted_across_workers_in_the_database(tmp_path, shared_database):
    with _servers(tmp_path, 2, {"DATABASE_URL": shared_database}) as ports:
        statuses = _alternate(ports)
    _assert_counted_once(statuses)


@pytest.fixture
def redis_url(tmp_path) -> Iterator[str]:
    """A throwaway redis-server on a free port (no persistence)."""
    reason = None
    server = shutil.which("redis-server")
    if server is None:
        reason = "redis-server is not installed (Debian package redis-server; scripts/install.sh)"
    else:
        try:
            import redis
        except ImportError:
            redis = None
            reason = "the redis client is not installed (pip install -e '.[production]')"
    if reason:
        if os.environ.get("LINLI_NO_REDIS") == "1":
            pytest.skip(f"LINLI_NO_REDIS=1: {reason}")
        pytest.fail(f"{reason}; set LINLI_NO_REDIS=1 to skip this test locally")
    port = _free_port()
    cmd = [server, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
    cmd += ["--dir", str(tmp_path)]
    with _running(cmd, dict(os.environ), tmp_path / "redis.log") as proc:
        url = f"redis://127.0.0.1:{port}/0"
        client = redis.Redis.from_url(url)
        _wait_until(client.ping, "redis-server", proc, tmp_path / "redis.log")
        client.close()
        yield url


def test_limit_is_counted_across_workers_in_redis(tmp_path, redis_url):
    # The database is only the app's; the counters live in Redis.
    with _database(f"sqlite:///{tmp_path / 'redis-workers.db'}") as url:
        env = {"DATABASE_URL": url, "REDIS_URL": redis_url}
        with _servers(tmp_path, 2, env) as ports:
            statuses = _alternate(ports)
    _assert_counted_once(statuses)
