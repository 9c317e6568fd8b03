"""Database backups (SPEC §13), used by ``flask backup create|list``; restoring one is
``app.maintenance.restore``.

* SQLite: an online snapshot through sqlite3's backup API, copied in ONE step, so it is one
  consistent read transaction; in WAL mode the gunicorn workers keep writing meanwhile. The copy
  is written to a hidden partial file, checked with ``PRAGMA integrity_check``, optionally gzip'd
  and then renamed into place, so a backup file either is complete or does not exist.
* PostgreSQL: ``pg_dump --format=custom`` of the configured database (itself a consistent
  snapshot), checked by listing it with ``pg_restore --list``.
* Restore verifies the file first, keeps the current database (SQLite: ``*.before-restore``
  next to it; PostgreSQL: a dump in the backup folder), replaces the data and then runs the
  migrations, so an older backup is brought forward to the code's schema.

Messages are Chinese: ``BackupError`` carries the text the operator sees.
"""

from __future__ import annotations

import contextlib
import gzip
import os
import re
import shutil
import sqlite3
import subprocess
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from glob import glob
from pathlib import Path

from flask import Flask, current_app
from sqlalchemy.engine import URL, make_url

from app.audit import record
from app.timeutil import utcnow
from config import BASE_DIR

MIGRATIONS_DIR = str(BASE_DIR / "migrations")
NAME_RE = re.compile(r"^linli-(\d{8}T\d{6}Z)(?:-(\d+))?\.(sqlite3|sqlite3\.gz|pgdump)$")
GZIP_MAGIC = b"\x1f\x8b"
PGDUMP_MAGIC = b"PGDMP"
SQLITE_MAGIC = b"SQLite format 3\x00"
DAMAGED = {"SQLITE_CORRUPT", "SQLITE_NOTADB"}  # a database file SQLite cannot read


class BackupError(Exception):
    """A backup or restore could not be done; the message is shown to the operator."""


@dataclass
class BackupResult:
    path: Path
    size: int
    seconds: float
    engine: str
    pruned: list[Path] = field(default_factory=list)


# ---- helpers -----------------------------------------------------------------------------


def database_url(app: Flask | None = None) -> URL:
    app = app or current_app
    return make_url(app.config["SQLALCHEMY_DATABASE_URI"])


def engine_kind(url: URL) -> str:
    backend = url.get_backend_name()
    if backend in ("sqlite", "postgresql"):
        return backend
    raise BackupError(f"不支持备份这种数据库：{backend}（只支持 SQLite 和 PostgreSQL）")


def sqlite_path(url: URL) -> Path:
    database = url.database or ""
    if not database or database == ":memory:" or "mode=memory" in str(url):
        raise BackupError("当前配置的是内存数据库，没有可以备份或恢复的数据库文件")
    return Path(database).resolve()


def default_dir(app: Flask | None = None) -> Path:
    app = app or current_app
    return Path(app.config.get("BACKUP_DIR") or Path(app.instance_path) / "backups")


def human_size(size: int) -> str:
    value = float(size)
    for unit in ("B", "KB", "MB", "GB"):
        if value < 1024 or unit == "GB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{size} B"  # pragma: no cover


def _stamp() -> str:
    return utcnow().strftime("%Y%m%dT%H%M%SZ")


def list_backups(directory: Path) -> list[Path]:
    """This program's backup files in a folder, oldest first (by the UTC time in the name)."""
    if not directory.is_dir():
        return []
    found = []
    for path in directory.iterdir():
        match = NAME_RE.match(path.name)
        if match and path.is_file():
            found.append(((match.group(1), int(match.group(2) or 0)), path))
    return [path for _, path in sorted(found)]


def backup_time(path: Path) -> datetime | None:
    match = NAME_RE.match(path.name)
    if not match:
        return None
    return datetime.strptime(match.group(1), "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)


def prune(directory: Path, keep: int) -> list[Path]:
    """Delete all but the newest ``keep`` backups in the folder; returns the deleted files."""
    if keep < 1:
        raise BackupError("--keep 至少为 1")
    backups = list_backups(directory)
    old = backups[:-keep] if len(backups) > keep else []
    for path in old:
        path.unlink()
    return old


def _fsync_dir(directory: Path) -> None:
    with contextlib.suppress(OSError):
        fd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def _fsync_file(path: Path) -> None:
    with open(path, "rb") as handle:
        os.fsync(handle.fileno())


def _target_path(target: Path | None, kind: str, compress: bool) -> tuple[Path, bool]:
    """The file to write: a new timestamped name in a folder, or the file named by the operator."""
    suffix = ".pgdump" if kind == "postgresql" else (".sqlite3.gz" if compress else ".sqlite3")
    if target is not None and not target.is_dir() and target.suffix:
        if target.exists():
            raise BackupError(f"文件已存在，不会覆盖：{target}")
        if kind == "sqlite" and target.name.endswith(".gz"):
            compress = True
        target.parent.mkdir(parents=True, exist_ok=True)
        return target.resolve(), compress
    directory = (target or default_dir()).resolve()
    directory.mkdir(parents=True, exist_ok=True)
    stamp = _stamp()
    path = directory / f"linli-{stamp}{suffix}"
    n = 0
    while path.exists():
        n += 1
        path = directory / f"linli-{stamp}-{n}{suffix}"
    return path, compress


def _partial(path: Path, tag: str = "partial") -> Path:
    return path.with_name(f".{path.name}.{tag}")


# ---- SQLite --------------------------------------------------------------------------------


def _sqlite_copy(source: Path, dest: Path) -> None:
    """Copy a live SQLite database with the backup API in one step (one read transaction)."""
    src = sqlite3.connect(str(source), timeout=30)
    try:
        dst = sqlite3.connect(str(dest))
        try:
            src.backup(dst)  # pages=-1: everything in one step, a consistent snapshot
            dst.execute("PRAGMA journal_mode=DELETE")  # a self-contained single file
        finally:
            dst.close()
    finally:
        src.close()


def sqlite_integrity(path: Path) -> str:
    """``ok`` or the first problem ``PRAGMA integrity_check`` reports."""
    try:
        conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
        try:
            rows = conn.execute("PRAGMA integrity_check").fetchall()
        finally:
            conn.close()
    except sqlite3.DatabaseError as exc:
        return str(exc)
    return "ok" if rows == [("ok",)] else "; ".join(str(r[0]) for r in rows[:3])


def _sqlite_backup(db_file: Path, path: Path, compress: bool) -> None:
    if not db_file.exists():
        raise BackupError(f"数据库文件不存在：{db_file}")
    raw = _partial(path, "raw" if compress else "partial")
    done = _partial(path)
    try:
        _sqlite_copy(db_file, raw)
        problem = sqlite_integrity(raw)
        if problem != "ok":
            raise BackupError(f"备份副本没有通过完整性检查（{problem}），未保存")
        if compress:
            with open(raw, "rb") as src, gzip.open(done, "wb", compresslevel=6) as dst:
                shutil.copyfileobj(src, dst, 1 << 20)
            raw.unlink()
        _fsync_file(done)
        os.replace(done, path)
        _fsync_dir(path.parent)
    finally:
        for leftover in (raw, done):
            leftover.unlink(missing_ok=True)


# ---- PostgreSQL ----------------------------------------------------------------------------


def _version_key(path: str) -> tuple:
    version = Path(path).parent.parent.name
    return tuple(int(p) if p.isdigit() else 0 for p in version.split("."))


def find_pg_tool(name: str) -> str:
    """``pg_dump``/``pg_restore`` on PATH, else the newest under /usr/lib/postgresql/*/bin."""
    found = shutil.which(name)
    if found:
        return found
    candidates = sorted(glob(f"/usr/lib/postgresql/*/bin/{name}"), key=_version_key)
    if candidates:
        return candidates[-1]
    raise BackupError(
        f"找不到 {name}：请安装 PostgreSQL 客户端（Debian：apt-get install postgresql-client，"
        f"版本不低于数据库服务器），或把 {name} 所在的目录加入 PATH"
    )


def _libpq(url: URL) -> tuple[str, dict[str, str]]:
    """A libpq connection URL without the password, and an environment carrying it."""
    env = dict(os.environ)
    if url.password:
        env["PGPASSWORD"] = str(url.password)
    plain = url.set(drivername="postgresql", password=None)
    return plain.render_as_string(hide_password=False), env


def _run(args: list[str], env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(args, env=env, capture_output=True, text=True, check=False)  # noqa: S603


def _pg_fail(tool: str, proc: subprocess.CompletedProcess) -> BackupError:
    message = (proc.stderr or proc.stdout or "").strip().splitlines()
    detail = "；".join(message[-3:]) if message else f"退出码 {proc.returncode}"
    return BackupError(f"{tool} 失败：{detail}")


def _pg_dump(url: URL, path: Path) -> None:
    pg_dump = find_pg_tool("pg_dump")
    conninfo, env = _libpq(url)
    done = _partial(path)
    try:
        proc = _run(
            [
                pg_dump,
                "--format=custom",
                "--no-password",
                "--file",
                str(done),
                "--dbname",
                conninfo,
            ],
            env,
        )
        if proc.returncode != 0:
            raise _pg_fail("pg_dump", proc)
        _pg_listing(done)  # readable from start to end
        _fsync_file(done)
        os.replace(done, path)
        _fsync_dir(path.parent)
    finally:
        done.unlink(missing_ok=True)


def _pg_listing(path: Path) -> str:
    """The dump's table of contents, after reading the whole file (every data block)."""
    pg_restore = find_pg_tool("pg_restore")
    full = _run([pg_restore, "--file", os.devnull, str(path)])
    listing = _run([pg_restore, "--list", str(path)]) if full.returncode == 0 else full
    if listing.returncode != 0:
        detail = (listing.stderr or "").strip()[:200]
        raise BackupError(f"备份文件不完整或已损坏，无法完整读取（{detail}）")
    return listing.stdout


def _pg_dump_revision(path: Path) -> str:
    """The Alembic revision stored in a custom-format dump, read without restoring it."""
    proc = _run(
        [
            find_pg_tool("pg_restore"),
            "--data-only",
            "--table=alembic_version",
            "--file=-",
            str(path),
        ]
    )
    if proc.returncode != 0:
        raise _pg_fail("pg_restore", proc)
    lines = proc.stdout.splitlines()
    for i, line in enumerate(lines):
        following = lines[i + 1] if i + 1 < len(lines) else "\\."
        if line.startswith("COPY ") and "alembic_version" in line and following != "\\.":
            return following.strip()
    raise BackupError("备份中没有数据库版本号（alembic_version），不是本系统的备份")


_LIST_TABLE_RE = re.compile(r"^\d+; \d+ \d+ TABLE (\S+) (\S+) ")
_LIST_CONSTRAINT_RE = re.compile(r"^\d+; \d+ \d+ (?:FK )?CONSTRAINT (\S+) (\S+) (\S+) ")


def _pg_dump_constraints(listing: str) -> set[tuple[str, str, str]]:
    """(schema, table, constraint) of every constraint the backup creates."""
    found = set()
    for line in listing.splitlines():
        match = _LIST_CONSTRAINT_RE.match(line)
        if match:
            found.add((match.group(1), match.group(2), match.group(3)))
    return found


def _pg_dump_tables(listing: str) -> set[tuple[str, str]]:
    tables = set()
    for line in listing.splitlines():
        match = _LIST_TABLE_RE.match(line)
        if match:
            tables.add((match.group(1), match.group(2)))
    return tables


# ---- create --------------------------------------------------------------------------------


def create_backup(
    target: Path | None = None, *, compress: bool = False, keep: int | None = None
) -> BackupResult:
    """Write a consistent snapshot of the configured database; audit it (the caller commits)."""
    url = database_url()
    kind = engine_kind(url)
    started = time.perf_counter()
    path, compress = _target_path(target, kind, compress)
    if kind == "sqlite":
        _sqlite_backup(sqlite_path(url), path, compress)
    else:
        _pg_dump(url, path)
    size = path.stat().st_size
    seconds = time.perf_counter() - started
    pruned = prune(path.parent, keep) if keep else []
    record(
        "backup_create",
        object_type="database",
        object_id=kind,
        after={"file": str(path), "size": size, "pruned": [p.name for p in pruned]},
    )
    return BackupResult(path, size, seconds, kind, pruned)
