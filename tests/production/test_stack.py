"""The production stack, run together: PostgreSQL + Redis + gunicorn (2 workers) + `flask worker`,
LINLI_CONFIG=production with freshly generated keys.

`scripts/test.sh` runs this module as its own step with PRODUCTION_DATABASE_URL pointing at a
throwaway, empty PostgreSQL database; Redis, gunicorn and the worker are started here. Without
that variable the tests fail and say what is missing (they are never part of the plain runs:
marker ``production``).
"""

from __future__ import annotations

import http.cookiejar
import os
import re
import secrets
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import pytest

pytestmark = pytest.mark.production

ROOT = Path(__file__).resolve().parents[2]
BIN = ROOT / ".venv" / "bin"
LOGIN_LIMIT = 12  # per minute and address, for the cross-worker count
DEMO_PASSWORD = "Linli@2026demo"  # noqa: S105 - the demo data's printed password


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_port(port: int, proc: subprocess.Popen, what: str, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{what} exited with {proc.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"{what} did not listen on {port} within {seconds} s")


def _flask(env: dict, *args: str) -> str:
    proc = subprocess.run(
        [str(BIN / "flask"), "--app", "wsgi", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )
    if proc.returncode != 0:
        raise RuntimeError(f"flask {' '.join(args)} failed:\n{proc.stdout}\n{proc.stderr}")
    return proc.stdout + proc.stderr


class Browser:
    """A cookie-keeping client that opens a new connection for every request (so gunicorn's
    two workers both serve them)."""

    def __init__(self, base: str):
        self.base = base
        self.jar = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(self.jar), _NoRedirect()
        )

    def request(self, path: str, data: dict | None = None) -> tuple[int, str, dict]:
        body = urllib.parse.urlencode(data).encode() if data is not None else None
        req = urllib.request.Request(self.base + path, data=body)  # noqa: S310 - http://127.0.0.1
        try:
            with self.opener.open(req, timeout=60) as resp:
                return resp.status, resp.read().decode("utf-8", "replace"), dict(resp.headers)
        except urllib.error.HTTPError as exc:
            return exc.code, exc.read().decode("utf-8", "replace"), dict(exc.headers)

    def raw(self, path: str) -> bytes:
        with self.opener.open(self.base + path, timeout=60) as resp:
            return resp.read()

    def csrf(self, path: str) -> str:
        status, html, _ = self.request(path)
        assert status == 200, (path, status)
        found = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', html)
        assert found, f"no CSRF token on {path}"
        return found.group(1)

    def login(self, username: str, password: str) -> int:
        token = self.csrf("/login")
        status, _, headers = self.request(
            "/login", {"csrf_token": token, "username": username, "password": password}
        )
        return status


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):  # noqa: ANN002, ANN003, ANN201
        return None


class Stack:
    """gunicorn (2 workers) and `flask worker` on the production configuration."""

    def __init__(self, env: dict, work: Path, port: int):
        self.env, self.work, self.port = env, work, port
        self.base = f"http://127.0.0.1:{port}"
        self.procs: list[subprocess.Popen] = []
        self.logs: list = []

    def _spawn(self, args: list[str], log: str) -> subprocess.Popen:
        handle = open(self.work / log, "a")  # noqa: SIM115 - closed in stop()
        self.logs.append(handle)
        proc = subprocess.Popen(
            args, cwd=ROOT, env=self.env, stdout=handle, stderr=subprocess.STDOUT
        )
        self.procs.append(proc)
        return proc

    def start(self) -> None:
        gunicorn = self._spawn(
            [str(BIN / "gunicorn"), "-w", "2", "-b", f"127.0.0.1:{self.port}", "wsgi:app"],
            "gunicorn.log",
        )
        self._spawn([str(BIN / "flask"), "--app", "wsgi", "worker"], "worker.log")
        _wait_port(self.port, gunicorn, "gunicorn")

    def stop(self) -> None:
        for proc in reversed(self.procs):
            proc.terminate()
        for proc in self.procs:
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        for handle in self.logs:
            handle.close()
        self.procs, self.logs = [], []


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    url = os.environ.get("PRODUCTION_DATABASE_URL")
    if not url:
        pytest.fail(
            "PRODUCTION_DATABASE_URL (an empty PostgreSQL database) is not set: "
            "run via scripts/test.sh"
        )
    redis_server = shutil.which("redis-server")
    if not redis_server:
        pytest.fail("redis-server is missing: install Debian's redis-server (scripts/install.sh)")
    work = tmp_path_factory.mktemp("production")
    started = time.monotonic()
    redis_port, web_port = _free_port(), _free_port()
    redis = subprocess.Popen(
        [
            redis_server,
            "--port",
            str(redis_port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            str(work),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    keys = {name: secrets.token_urlsafe(48) for name in ("SECRET_KEY", "ID_HASH_KEY", "DATA_KEY")}
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("LINLI_")},
        **keys,
        "LINLI_CONFIG": "production",
        "DATABASE_URL": url,
        "REDIS_URL": f"redis://127.0.0.1:{redis_port}/0",
        "PRINT_WORKER": "external",
        "PRINT_RESULT_DIR": str(work / "print"),
        "BACKUP_DIR": str(work / "backups"),
        "SESSION_COOKIE_SECURE": "0",  # plain HTTP on 127.0.0.1 in this test
        "LOGIN_RATE_LIMIT": f"{LOGIN_LIMIT} per minute",
        "PUBLIC_BASE_URL": f"http://127.0.0.1:{web_port}",
    }
    stack = Stack(env, work, web_port)
    try:
        _wait_port(redis_port, redis, "redis-server")
        _flask(env, "db", "upgrade")
        # The demo generator refuses the production configuration (it must never fill a real
        # database): it runs once with the development configuration on the same database and
        # the same keys, so the data is encrypted exactly as production reads it.
        _flask({**env, "LINLI_CONFIG": "development"}, "demo", "seed", "--size", "small")
        stack.start()
        yield stack
    finally:
        stack.stop()
        redis.terminate()
        redis.wait(timeout=20)
        for log in ("gunicorn.log", "worker.log"):
            path = work / log
            if path.exists():
                sys.stderr.write(f"--- {log} (last lines)\n")
                sys.stderr.write("".join(path.read_text(errors="replace").splitlines(True)[-15:]))
        sys.stderr.write(f"production stack: {time.monotonic() - started:.1f} s\n")


def test_login_and_member_list(stack):
    client = Browser(stack.base)
    assert client.login("admin", DEMO_PASSWORD) in (302, 303)
    status, html, _ = client.request("/members/")
    assert status == 200
    assert "党员名册" in html
    assert len(re.findall(r'href="/members/\d+"', html)) >= 10
    stack.admin = client


def test_batch_print_job_finished_by_the_worker(stack):
    client = getattr(stack, "admin", None) or Browser(stack.base)
    token = client.csrf("/certificates/")
    status, _, headers = client.request(
        "/certificates/batch",
        {"csrf_token": token, "kind": "certificates", "layout": "a4", "branch": "", "grid": ""},
    )
    assert status == 303, status
    job_path = urllib.parse.urlparse(headers["Location"]).path
    deadline = time.monotonic() + 300
    html = ""
    while time.monotonic() < deadline:
        status, html, _ = client.request(job_path)
        assert status == 200
        if "/download" in html:
            break
        time.sleep(1)
    else:
        pytest.fail(f"the worker did not finish the job in 300 s: {html[-500:]}")
    pdf = client.raw(job_path + "/download")
    assert pdf.startswith(b"%PDF")


def test_backup_create_and_restore_on_postgresql(stack):
    env = stack.env
    out = _flask(env, "backup", "create")
    path = re.search(r"备份完成：(\S+)", out).group(1)
    assert Path(path).exists()
    client = getattr(stack, "admin", None) or Browser(stack.base)
    before = client.request("/members/")[1].count('href="/members/')
    stack.stop()  # restore with the application stopped, as the README says
    out = _flask(env, "backup", "restore", path, "--yes")
    assert "恢复" in out
    stack.start()
    fresh = Browser(stack.base)
    assert fresh.login("admin", DEMO_PASSWORD) in (302, 303)
    status, html, _ = fresh.request("/members/")
    assert status == 200
    assert html.count('href="/members/') == before


def test_rate_limit_is_counted_across_both_workers(stack):
    """20 login attempts from one address, each on a new connection: at most the limit gets an
    answer, the rest 429 (per-worker counting would let up to twice the limit through). The
    earlier tests' two logins may fall in the same minute."""
    client = Browser(stack.base)
    token = client.csrf("/login")
    statuses = []
    for i in range(20):
        status, _, _ = client.request(
            "/login", {"csrf_token": token, "username": f"nobody{i}", "password": "wrong-Passw0rd"}
        )
        statuses.append(status)
    answered = 20 - statuses.count(429)
    assert LOGIN_LIMIT - 2 <= answered <= LOGIN_LIMIT, statuses
    first_refusal = statuses.index(429)
    assert all(s == 429 for s in statuses[first_refusal:]), statuses
