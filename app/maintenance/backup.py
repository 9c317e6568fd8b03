"""Database backup and restore (SPEC §13), used by ``flask backup create|restore|list``.

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
from sqlalchemy import inspect
from sqlalchemy.engine import URL, make_url

from app import change_tokens
from app.audit import record
from app.extensions import db
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


@dataclass
class RestoreResult:
    engine: str
    seconds: float
    from_revision: str
    to_revision: str
    previous: Path | None


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


# ---- restore -------------------------------------------------------------------------------


def _script_directory():  # noqa: ANN202
    from alembic.script import ScriptDirectory

    config = current_app.extensions["migrate"].migrate.get_config(MIGRATIONS_DIR)
    return ScriptDirectory.from_config(config)


def _check_revision(revision: str) -> None:
    from alembic.util import CommandError

    try:
        known = _script_directory().get_revision(revision)
    except CommandError:
        known = None
    if known is None:
        raise BackupError(
            f"备份的数据库版本 {revision} 不在本程序的迁移中：它来自更新的程序版本，请先升级程序再恢复"
        )


def _upgrade() -> str:
    """Run the migrations on the configured database (``flask db upgrade``); the new revision."""
    from flask_migrate import upgrade

    db.session.remove()
    db.engine.dispose()
    upgrade(directory=MIGRATIONS_DIR)
    db.engine.dispose()
    return _script_directory().get_current_head() or ""


def _file_kind(path: Path) -> str:
    with open(path, "rb") as handle:
        head = handle.read(16)
    if head.startswith(PGDUMP_MAGIC):
        return "postgresql"
    if head.startswith(SQLITE_MAGIC):
        return "sqlite"
    if head.startswith(GZIP_MAGIC):
        with gzip.open(path, "rb") as handle:
            try:
                inner = handle.read(16)
            except (OSError, EOFError) as exc:
                raise BackupError(f"压缩文件已损坏：{exc}") from exc
        if inner.startswith(SQLITE_MAGIC):
            return "sqlite-gz"
    raise BackupError(f"不是本系统的备份文件：{path.name}")


def _sqlite_revision(path: Path) -> str:
    conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
    try:
        row = conn.execute("SELECT version_num FROM alembic_version").fetchone()
    except sqlite3.DatabaseError:
        row = None
    finally:
        conn.close()
    if not row:
        raise BackupError("备份中没有数据库版本号（alembic_version），不是本系统的备份")
    return str(row[0])


def restore_backup(file: Path) -> RestoreResult:
    """Replace the configured database with a backup, then migrate it to the current schema."""
    if not file.is_file():
        raise BackupError(f"备份文件不存在：{file}")
    url = database_url()
    kind = engine_kind(url)
    file_kind = _file_kind(file)
    if kind == "sqlite" and file_kind == "postgresql":
        raise BackupError("这是 PostgreSQL 的备份，当前配置的数据库是 SQLite")
    if kind == "postgresql" and file_kind != "postgresql":
        raise BackupError("这是 SQLite 的备份，当前配置的数据库是 PostgreSQL")
    started = time.perf_counter()
    if kind == "sqlite":
        revision, previous = _sqlite_restore(file, file_kind == "sqlite-gz", sqlite_path(url))
    else:
        revision, previous = _pg_restore(file, url)
    try:
        head = _upgrade()
    except Exception as exc:  # noqa: BLE001 - reported to the operator with what to do
        kept = f"；恢复前的数据库在 {previous}" if previous else ""
        raise BackupError(
            f"数据已恢复到版本 {revision}，但升级数据库结构失败：{exc}{kept}"
        ) from exc
    # Every worker on this host drops its kept users and figures at its next request (a
    # restore is no ORM change; app/change_tokens.py).
    change_tokens.bump()
    record(
        "backup_restore",
        object_type="database",
        object_id=kind,
        before={"revision": revision, "previous": str(previous) if previous else None},
        after={"file": str(file.resolve()), "revision": head},
    )
    return RestoreResult(kind, time.perf_counter() - started, revision, head, previous)


def _sqlite_restore(file: Path, compressed: bool, db_file: Path) -> tuple[str, Path | None]:
    db_file.parent.mkdir(parents=True, exist_ok=True)
    work = _partial(db_file, "restore")
    try:
        # Verify a private copy, never the backup itself.
        if compressed:
            try:
                with gzip.open(file, "rb") as src, open(work, "wb") as dst:
                    shutil.copyfileobj(src, dst, 1 << 20)
            except (OSError, EOFError) as exc:
                raise BackupError(f"压缩文件已损坏：{exc}") from exc
        else:
            shutil.copyfile(file, work)
        problem = sqlite_integrity(work)
        if problem != "ok":
            raise BackupError(f"备份文件没有通过完整性检查（{problem}），数据库未改动")
        revision = _sqlite_revision(work)
        _check_revision(revision)

        db.session.remove()
        db.engine.dispose()
        previous = None
        if db_file.exists():
            previous = db_file.with_name(f"{db_file.name}.{_stamp()}.before-restore")
            try:
                _sqlite_copy(db_file, previous)
                damaged = False
            except sqlite3.DatabaseError as exc:
                previous.unlink(missing_ok=True)
                if getattr(exc, "sqlite_errorname", "") not in DAMAGED:
                    raise BackupError(f"无法读取当前数据库：{exc}（应用是否仍在运行？）") from exc
                # Damaged (often the reason for restoring): keep its files as they are.
                previous.unlink(missing_ok=True)
                for suffix in ("", "-wal"):
                    source = Path(f"{db_file}{suffix}")
                    if source.exists():
                        shutil.copy2(source, f"{previous}{suffix}")
                damaged = True
            if damaged:
                for suffix in ("", "-wal", "-shm"):
                    Path(f"{db_file}{suffix}").unlink(missing_ok=True)
        _copy_into(work, db_file)
        return revision, previous
    finally:
        work.unlink(missing_ok=True)


def _copy_into(source: Path, db_file: Path) -> None:
    """Copy INTO the database through the backup API: one write transaction that SQLite itself
    makes atomic (and that the database's own -wal/-shm files agree with)."""
    src = sqlite3.connect(str(source))
    try:
        dst = sqlite3.connect(str(db_file), timeout=30)
        try:
            src.backup(dst)
        finally:
            dst.close()
    except sqlite3.DatabaseError as exc:
        raise BackupError(f"无法写入数据库文件 {db_file}：{exc}（应用是否仍在运行？）") from exc
    finally:
        src.close()


def _pg_restore(file: Path, url: URL) -> tuple[str, Path | None]:
    listing = _pg_listing(file)
    revision = _pg_dump_revision(file)
    _check_revision(revision)
    pg_restore = find_pg_tool("pg_restore")
    conninfo, env = _libpq(url)

    # Keep what is there now (it may be the only copy of something).
    folder = default_dir()
    folder.mkdir(parents=True, exist_ok=True)
    previous = folder / f"linli-{_stamp()}.before-restore.pgdump"
    _pg_dump(url, previous)

    # Tables the backup does not have (made by a newer migration) go, so the migrations can
    # create them again after the restore; the others are replaced by --clean.
    in_dump = _pg_dump_tables(listing)
    db.session.remove()
    existing = {("public", name) for name in inspect(db.engine).get_table_names(schema="public")}
    extra = sorted(existing - in_dump)
    # Foreign keys a newer migration added to tables the backup has (e.g. a self-reference)
    # would stop --clean from dropping the keys they depend on: they go too (the migrations
    # after the restore add them again).
    known = _pg_dump_constraints(listing)
    with db.engine.begin() as conn:
        for schema, name in extra:
            conn.exec_driver_sql(f'DROP TABLE IF EXISTS "{schema}"."{name}" CASCADE')
        foreign_keys = conn.exec_driver_sql(
            "SELECT n.nspname, t.relname, c.conname FROM pg_constraint c "
            "JOIN pg_class t ON t.oid = c.conrelid JOIN pg_namespace n ON n.oid = t.relnamespace "
            "WHERE c.contype = 'f' AND n.nspname = 'public'"
        ).all()
        for schema, table, name in foreign_keys:
            if (schema, table) in in_dump and (schema, table, name) not in known:
                conn.exec_driver_sql(
                    f'ALTER TABLE "{schema}"."{table}" DROP CONSTRAINT IF EXISTS "{name}"'
                )
    db.engine.dispose()

    proc = _run(
        [
            pg_restore,
            "--clean",
            "--if-exists",
            "--no-owner",
            "--single-transaction",
            "--no-password",
            "--dbname",
            conninfo,
            str(file),
        ],
        env,
    )
    if proc.returncode != 0:
        error = _pg_fail("pg_restore", proc)
        raise BackupError(f"{error}（恢复前的数据库已保存在 {previous}）")
    return revision, previous
