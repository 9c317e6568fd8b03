"""Restoring a backup (SPEC §13), used by ``flask backup restore``.

Restore verifies the file first, keeps the current database (SQLite: ``*.before-restore`` next
to it; PostgreSQL: a dump in the backup folder), replaces the data and then runs the
migrations, so an older backup is brought forward to the code's schema. The file formats and
their checks are those of ``app.maintenance.backup``.
"""

from __future__ import annotations

import gzip
import shutil
import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path

from flask import current_app
from sqlalchemy import inspect
from sqlalchemy.engine import URL

from app import change_tokens
from app.audit import record
from app.extensions import db
from app.maintenance.backup import (
    DAMAGED,
    GZIP_MAGIC,
    MIGRATIONS_DIR,
    PGDUMP_MAGIC,
    SQLITE_MAGIC,
    BackupError,
    _libpq,
    _partial,
    _pg_dump,
    _pg_dump_constraints,
    _pg_dump_revision,
    _pg_dump_tables,
    _pg_fail,
    _pg_listing,
    _run,
    _sqlite_copy,
    _stamp,
    database_url,
    default_dir,
    engine_kind,
    find_pg_tool,
    sqlite_integrity,
    sqlite_path,
)


@dataclass
class RestoreResult:
    engine: str
    seconds: float
    from_revision: str
    to_revision: str
    previous: Path | None


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
