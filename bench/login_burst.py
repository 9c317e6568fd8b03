"""How many password guesses does a burst of simultaneous wrong logins get evaluated?

Starts gunicorn (``-w 4`` sync workers by default, the development configuration with the real
Argon2 cost) on a freshly migrated database, then, per round, 40 threads each fetch the login
form (own cookie jar, own CSRF token), wait at a barrier and POST a wrong password for the same
username at once. The evaluations are counted from the audit log: one ``login`` entry with
result ``failed`` and detail ``wrong password`` / ``unknown user`` per password check (a request
refused by the lock writes ``locked`` instead). The per-IP rate limit is raised
(``LOGIN_RATE_LIMIT``) so that it does not hide the lockout.

Usage (from the repository root)::

    .venv/bin/python -m bench.login_burst                          # SQLite file in a temp dir
    .venv/bin/python -m bench.login_burst --database-url postgresql+psycopg://postgres@127.0.0.1:54402/linli_bench
    .venv/bin/python -m bench.login_burst --root /path/to/older/checkout   # the same, older code

A PostgreSQL database given with ``--database-url`` should be empty (it is migrated with
``flask db upgrade``). Each round uses a new username: known rounds create an admin account,
unknown rounds type a phone number nobody has.
"""

from __future__ import annotations

import argparse
import http.cookiejar
import re
import subprocess
import sys
import tempfile
import threading
import urllib.error
import urllib.parse
import urllib.request
from collections import Counter
from pathlib import Path

from sqlalchemy import create_engine, func, select, text

from bench.serve import free_port, wait_until_up

ROOT = Path(__file__).resolve().parent.parent
CSRF_RE = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')
ERROR_RE = re.compile(r'id="password-error" role="alert">(.*?)</p>', re.S)
PASSWORD = "Bench-Passw0rd!x"  # noqa: S105 - a throwaway bench account


def env_for(url: str, root: Path) -> dict[str, str]:
    import os

    env = dict(os.environ)
    env.update(
        DATABASE_URL=url,
        LINLI_CONFIG="development",
        PYTHONPATH=str(root),
        LOGIN_RATE_LIMIT="100000 per minute",
    )
    return env


def flask(args: list[str], url: str, root: Path) -> None:
    completed = subprocess.run(
        [sys.executable, "-m", "flask", "--app", "wsgi", *args],
        cwd=root,
        env=env_for(url, root),
        capture_output=True,
        text=True,
        check=False,
    )
    if completed.returncode != 0:
        raise SystemExit(f"flask {' '.join(args)} failed:\n{completed.stderr[-2000:]}")


def evaluations(engine, after_id: int) -> int:  # noqa: ANN001
    from app.audit.models import AuditEntry

    query = select(func.count()).where(
        AuditEntry.id > after_id,
        AuditEntry.action == "login",
        AuditEntry.result == "failed",
        AuditEntry.detail.in_(["wrong password", "unknown user"]),
    )
    with engine.connect() as conn:
        return conn.execute(query).scalar_one()


def last_audit_id(engine) -> int:  # noqa: ANN001
    with engine.connect() as conn:
        return conn.execute(text("SELECT COALESCE(MAX(id), 0) FROM audit_entry")).scalar_one()


def burst(base: str, username: str, total: int) -> Counter:
    barrier = threading.Barrier(total)
    answers: Counter = Counter()
    lock = threading.Lock()

    def worker() -> None:
        opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar())
        )
        with opener.open(base + "/login", timeout=120) as response:  # noqa: S310 - loopback
            token = CSRF_RE.search(response.read().decode()).group(1)
        data = urllib.parse.urlencode(
            {"username": username, "password": "Wrong-Passw0rd!", "csrf_token": token}
        ).encode()
        barrier.wait()
        try:
            with opener.open(base + "/login", data=data, timeout=300) as response:  # noqa: S310
                status, body = response.status, response.read().decode()
        except urllib.error.HTTPError as exc:
            status, body = exc.code, exc.read().decode()
        match = ERROR_RE.search(body)
        message = match.group(1) if match else ""
        kind = (
            "locked"
            if "已锁定" in message
            else "wait"
            if "后再试" in message
            else "wrong"
            if "用户名或密码错误" in message
            else message[:40]
        )
        with lock:
            answers[(status, kind)] += 1

    threads = [threading.Thread(target=worker) for _ in range(total)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return answers


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", default="")
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--requests", type=int, default=40)
    parser.add_argument("--rounds", type=int, default=3, help="rounds per kind (known, unknown)")
    parser.add_argument("--root", type=Path, default=ROOT, help="the checkout to run")
    args = parser.parse_args()
    root = args.root.resolve()
    tmp = tempfile.TemporaryDirectory()
    url = args.database_url or f"sqlite:///{Path(tmp.name) / 'burst.db'}"
    flask(["db", "upgrade"], url, root)
    names = []
    for i in range(args.rounds):
        name = f"burst{i}_{free_port()}"
        flask(["users", "create-admin", "--username", name, "--password", PASSWORD], url, root)
        names.append(("known", name))
        names.append(("unknown", f"139{free_port():04d}{i:04d}"[:11]))
    engine = create_engine(url)
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    log = Path(tmp.name) / "gunicorn.log"
    with log.open("w") as log_file:
        server = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "gunicorn",
                "-w",
                str(args.workers),
                "-b",
                f"127.0.0.1:{port}",
                "--timeout",
                "300",
                "--backlog",
                "256",
                "--log-level",
                "warning",
                "wsgi:app",
            ],
            cwd=root,
            env=env_for(url, root),
            stdout=log_file,
            stderr=subprocess.STDOUT,
        )
        try:
            wait_until_up(base + "/healthz", server)
            kind_db = "PostgreSQL" if url.startswith("postgresql") else "SQLite"
            print(
                f"{kind_db}, gunicorn -w {args.workers}, {args.requests} concurrent wrong "
                f"passwords per round, code at {root}"
            )
            for kind, name in names:
                before = last_audit_id(engine)
                answers = burst(base, name, args.requests)
                count = evaluations(engine, before)
                summary = ", ".join(f"{k[0]} {k[1]}: {v}" for k, v in sorted(answers.items()))
                print(f"  {kind:8s} username: {count:2d} guesses evaluated  ({summary})")
        finally:
            server.terminate()
            server.wait(timeout=30)
    engine.dispose()
    tmp.cleanup()


if __name__ == "__main__":
    main()
