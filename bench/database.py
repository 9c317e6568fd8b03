"""The benchmark's own database: created, migrated and seeded once, then reused.

SQLite (default): a file in ``instance/bench/`` (ignored by git). PostgreSQL
(``--database postgresql``): a throwaway cluster of Debian's PostgreSQL whose data directory
lives in ``instance/bench/pg-<size>-<seed>/``, started on a free loopback port for the run and
stopped afterwards (as the test suite starts one). Next to each database a marker records what
it was built from: size, seed, a digest of the demo generator and of the migrations. When the
marker no longer matches (the generator or the schema changed), the database is rebuilt.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DIR = ROOT / "instance" / "bench"


@dataclass
class Database:
    path: Path
    seed_seconds: float | None  # None when an existing database was reused
    seed_output: str = ""
    pg_url: str = ""  # set for PostgreSQL

    @property
    def url(self) -> str:
        return self.pg_url or f"sqlite:///{self.path}"

    @property
    def engine(self) -> str:
        return "postgresql" if self.pg_url else "sqlite"


def _digest(paths: list[Path]) -> str:
    h = hashlib.sha256()
    for path in sorted(paths):
        h.update(str(path.relative_to(ROOT)).encode())
        h.update(path.read_bytes())
    return h.hexdigest()[:16]


def fingerprint(size: str, seed: int) -> dict:
    return {
        "size": size,
        "seed": seed,
        "generator": _digest(list((ROOT / "app" / "demo").glob("*.py"))),
        "schema": _digest(list((ROOT / "migrations" / "versions").glob("*.py"))),
    }


def subprocess_env(url: str) -> dict[str, str]:
    env = dict(os.environ)
    env.update(DATABASE_URL=url, LINLI_CONFIG="development", PYTHONPATH=str(ROOT))
    return env


def flask(args: list[str], url: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "flask", "--app", "wsgi", *args],
        cwd=ROOT,
        env=subprocess_env(url),
        capture_output=True,
        text=True,
        check=False,
    )


def remove(path: Path) -> None:
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)


def prepare(size: str, seed: int, directory: Path = DEFAULT_DIR, fresh: bool = False, log=print):  # noqa: ANN001
    """Return a seeded SQLite database of the given size, reusing a matching one."""
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"{size}-{seed}.db"
    marker = directory / f"{size}-{seed}.json"
    wanted = fingerprint(size, seed)
    if not fresh and path.exists() and marker.exists():
        recorded = json.loads(marker.read_text())
        if {k: recorded.get(k) for k in wanted} == wanted:
            log(f"# 复用基准数据库 {path}（{recorded.get('seeded_at', '?')} 生成）")
            return Database(path, None)
    remove(path)
    marker.unlink(missing_ok=True)
    return _build(Database(path, None), size, seed, marker, wanted, log)


def _build(database: Database, size: str, seed: int, marker: Path, wanted: dict, log) -> Database:  # noqa: ANN001
    path, url = database.path, database.url
    log(f"# 新建基准数据库 {path}（{database.engine}）：迁移并生成 {size} 规模演示数据……")
    upgrade = flask(["db", "upgrade"], url)
    if upgrade.returncode != 0:
        raise RuntimeError(f"flask db upgrade failed:\n{upgrade.stderr}")
    started = time.perf_counter()
    seeded = flask(["demo", "seed", "--size", size, "--seed", str(seed)], url)
    seconds = time.perf_counter() - started
    if seeded.returncode != 0:
        raise RuntimeError(f"flask demo seed failed:\n{seeded.stdout}\n{seeded.stderr}")
    if database.pg_url:
        _vacuum(database.pg_url, log)
    marker.write_text(
        json.dumps(
            {
                **wanted,
                "seconds": round(seconds, 2),
                "seeded_at": time.strftime("%Y-%m-%d %H:%M"),
            },
            ensure_ascii=False,
        )
    )
    database.seed_seconds, database.seed_output = seconds, seeded.stdout
    return database


# ---- PostgreSQL -------------------------------------------------------------------------------


def _vacuum(url: str, log) -> None:  # noqa: ANN001
    """VACUUM (ANALYZE) after seeding, as autovacuum would soon do on a server in use: the
    seed's updates leave dead rows, and without a visibility map no index-only scan is taken."""
    import sqlalchemy

    log("# VACUUM (ANALYZE)……")
    engine = sqlalchemy.create_engine(url, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            conn.execute(sqlalchemy.text("VACUUM (ANALYZE)"))
    finally:
        engine.dispose()


def _pg_bin() -> Path:
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"))
    if not found:
        raise RuntimeError("PostgreSQL server binaries not found (apt-get install postgresql)")
    return found[-1].parent


def _as_postgres(args: list, **kw) -> subprocess.CompletedProcess:  # noqa: ANN003
    if os.geteuid() == 0:
        args = ["runuser", "-u", "postgres", "--", *map(str, args)]
    return subprocess.run(args, capture_output=True, text=True, check=False, **kw)


@contextlib.contextmanager
def postgresql(size: str, seed: int, directory: Path = DEFAULT_DIR, fresh: bool = False, log=print):  # noqa: ANN001
    """A seeded PostgreSQL database of the given size in a throwaway cluster (kept between runs
    in ``instance/bench/pg-<size>-<seed>/`` while it matches), running for the block."""
    import shutil
    import socket

    directory.mkdir(parents=True, exist_ok=True)
    home = directory / f"pg-{size}-{seed}"
    marker = directory / f"pg-{size}-{seed}.json"
    wanted = fingerprint(size, seed)
    reuse = (
        not fresh
        and (home / "data" / "PG_VERSION").exists()
        and marker.exists()
        and {k: json.loads(marker.read_text()).get(k) for k in wanted} == wanted
    )
    pg = _pg_bin()
    if not reuse:
        shutil.rmtree(home, ignore_errors=True)
        marker.unlink(missing_ok=True)
        home.mkdir(parents=True)
        if os.geteuid() == 0:
            shutil.chown(home, "postgres")
        done = _as_postgres(
            [
                pg / "initdb",
                "-D",
                home / "data",
                "-U",
                "postgres",
                "-A",
                "trust",
                "-E",
                "UTF8",
                "--locale=C.UTF-8",
                "--no-sync",
            ]
        )
        if done.returncode:
            raise RuntimeError(f"initdb failed: {done.stderr}")
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    options = f"-p {port} -k {home} -c listen_addresses=127.0.0.1 -c shared_buffers=256MB"
    started = _as_postgres(
        [pg / "pg_ctl", "-D", home / "data", "-l", home / "log", "-w", "-o", options, "start"]
    )
    if started.returncode:
        raise RuntimeError(f"pg_ctl start failed: {started.stderr}")
    try:
        url = f"postgresql+psycopg://postgres@127.0.0.1:{port}/linli_bench"
        database = Database(home, None, pg_url=url)
        if reuse:
            log(f"# 复用 PostgreSQL 基准数据库 {home}")
        else:
            created = _as_postgres(
                [pg / "createdb", "-h", home, "-p", port, "-U", "postgres", "linli_bench"]
            )
            if created.returncode:
                raise RuntimeError(f"createdb failed: {created.stderr}")
            database = _build(database, size, seed, marker, wanted, log)
        yield database
    finally:
        _as_postgres([pg / "pg_ctl", "-D", home / "data", "-m", "fast", "-w", "stop"])
