"""``flask backup create|restore|list`` on SQLite files, and on PostgreSQL with TEST_DATABASE_URL."""

from __future__ import annotations

import gzip
import sqlite3
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import create_engine, inspect, text

from app.audit import record
from app.extensions import db
from app.maintenance import backup as service
from app.maintenance import restore
from tests.conftest import Auth
from tests.maintenance.conftest import PG_URL

BATCH = 40  # audit rows per writer transaction


def cli(application, *args: str):
    """Run a command on this app (the CLI runs in whatever app context is already pushed)."""
    with application.app_context():
        return application.test_cli_runner().invoke(args=list(args))


def backup_files(folder: Path) -> list[Path]:
    return service.list_backups(folder)


def snapshot(url: str) -> dict[str, list[tuple]]:
    """The rows that must survive a backup and restore, read with a plain connection."""
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return {
                "members": [
                    tuple(r)
                    for r in conn.execute(
                        text("SELECT id, name, id_hash, phone, building_id FROM member ORDER BY id")
                    )
                ],
                "audit": [
                    tuple(r)
                    for r in conn.execute(
                        text(
                            "SELECT id, action, object_type, object_id, result, username "
                            "FROM audit_entry ORDER BY id"
                        )
                    )
                ],
                "users": [
                    tuple(r)
                    for r in conn.execute(text('SELECT id, username, role FROM "user" ORDER BY id'))
                ],
            }
    finally:
        engine.dispose()


def open_backup_url(path: Path, tmp_path: Path, fresh_url, make_file_app) -> str:
    """A database holding the backup's content, to read it back in a test."""
    if not PG_URL:
        if path.name.endswith(".gz"):
            plain = tmp_path / "unzipped.sqlite3"
            plain.write_bytes(gzip.decompress(path.read_bytes()))
            path = plain
        assert service.sqlite_integrity(path) == "ok"
        return f"sqlite:///{path}"
    url = fresh_url("readback")
    result = service._run(
        [
            service.find_pg_tool("pg_restore"),
            "--no-owner",
            "--dbname",
            url.replace("+psycopg", ""),
            str(path),
        ]
    )
    assert result.returncode == 0, result.stderr
    return url


# ---- create --------------------------------------------------------------------------------


def test_backup_while_another_connection_writes_is_consistent(
    app, tmp_path, fresh_url, make_file_app
):
    url = app.config["SQLALCHEMY_DATABASE_URI"]
    writer_engine = create_engine(url)
    insert_audit = text(
        "INSERT INTO audit_entry (at, action, result, detail) VALUES (:at, 'bk_test', 'ok', :d)"
    )
    insert_setting = text("INSERT INTO setting (key, value, updated_at) VALUES (:k, '1', :at)")
    # Some volume first, so that the snapshot takes a while.
    with writer_engine.begin() as conn:
        now = datetime.now(UTC).replace(tzinfo=None)
        conn.execute(insert_audit, [{"at": now, "d": "x" * 300} for _ in range(20000)])

    committed: list[int] = []  # batch numbers, appended after each commit
    errors: list[Exception] = []
    stop = threading.Event()

    def writer() -> None:
        batch = 0
        try:
            while not stop.is_set():
                batch += 1
                now = datetime.now(UTC).replace(tzinfo=None)
                with writer_engine.begin() as conn:
                    conn.execute(insert_audit, [{"at": now, "d": f"b{batch}"}] * BATCH)
                    conn.execute(insert_setting, {"k": f"bk{batch}", "at": now})
                committed.append(batch)
                time.sleep(0.001)
        except Exception as exc:  # noqa: BLE001 - reported by the test
            errors.append(exc)

    thread = threading.Thread(target=writer)
    thread.start()
    try:
        while len(committed) < 3 and thread.is_alive():
            time.sleep(0.01)
        before = len(committed)
        result = cli(app, "backup", "create", str(tmp_path / "backups"))
        after = len(committed)
        deadline = time.monotonic() + 10
        while len(committed) <= after and thread.is_alive() and time.monotonic() < deadline:
            time.sleep(0.01)
    finally:
        stop.set()
        thread.join()
        writer_engine.dispose()

    assert result.exit_code == 0, result.output
    assert not errors, errors  # the writer was never blocked out
    assert len(committed) > after  # and it went on writing after the backup
    (path,) = backup_files(tmp_path / "backups")
    assert f"备份完成：{path}" in result.output
    assert "大小" in result.output and "用时" in result.output

    engine = create_engine(open_backup_url(path, tmp_path, fresh_url, make_file_app))
    with engine.connect() as conn:
        audit_rows = conn.execute(
            text("SELECT count(*) FROM audit_entry WHERE action = 'bk_test' AND detail <> :x"),
            {"x": "x" * 300},
        ).scalar()
        batches = conn.execute(text("SELECT count(*) FROM setting WHERE key LIKE 'bk%'")).scalar()
        filler = conn.execute(
            text("SELECT count(*) FROM audit_entry WHERE detail = :x"), {"x": "x" * 300}
        ).scalar()
    engine.dispose()
    # A committed state: whole transactions only, none missing from before the backup started.
    assert audit_rows == batches * BATCH
    assert before <= batches <= after
    assert filler == 20000
    # The backup is audited in the live database.
    with app.app_context():
        entry = db.session.execute(
            text("SELECT action, result FROM audit_entry WHERE action = 'backup_create'")
        ).one()
    assert tuple(entry) == ("backup_create", "ok")


def test_keep_prunes_older_backups_and_list_shows_them(app, tmp_path):
    folder = tmp_path / "backups"
    folder.mkdir()
    (folder / "notes.txt").write_text("operator's file")
    kept: list[str] = []
    for _ in range(3):
        result = cli(app, "backup", "create", str(folder), "--keep", "2")
        assert result.exit_code == 0, result.output
        kept.append(result.output.split("备份完成：", 1)[1].split("\n", 1)[0])
    names = [p.name for p in backup_files(folder)]
    assert names == [Path(k).name for k in kept[1:]]
    assert "已删除 1 个较早的备份（保留最近 2 个）" in result.output
    assert (folder / "notes.txt").exists()

    listing = cli(app, "backup", "list", str(folder))
    assert listing.exit_code == 0
    assert "中有 2 个备份" in listing.output
    assert all(name in listing.output for name in names)


@pytest.mark.skipif(bool(PG_URL), reason="gzip applies to SQLite files (pg_dump compresses)")
def test_gzip_backup_is_a_compressed_checked_snapshot(app, tmp_path, make_member, tree):
    make_member(name="压缩测试", building=tree["building_a"])
    result = cli(app, "backup", "create", str(tmp_path / "b"), "--gzip")
    assert result.exit_code == 0, result.output
    (path,) = backup_files(tmp_path / "b")
    assert path.name.endswith(".sqlite3.gz")
    plain = tmp_path / "plain.sqlite3"
    plain.write_bytes(gzip.decompress(path.read_bytes()))
    assert service.sqlite_integrity(plain) == "ok"
    conn = sqlite3.connect(plain)
    assert conn.execute("SELECT name FROM member").fetchall() == [("压缩测试",)]
    # Self-contained: not in WAL mode, no -wal file needed.
    assert conn.execute("PRAGMA journal_mode").fetchone() == ("delete",)
    conn.close()
    assert not list((tmp_path / "b").glob(".*"))  # no partial files left behind


def test_in_memory_database_cannot_be_backed_up(tmp_path):
    from tests.conftest import make_app

    application = make_app(SQLALCHEMY_DATABASE_URI="sqlite://")
    result = cli(application, "backup", "create", str(tmp_path))
    assert result.exit_code != 0
    assert "内存数据库" in result.output


def test_missing_pg_dump_gives_a_clear_message(monkeypatch):
    monkeypatch.setattr(service.shutil, "which", lambda name: None)
    monkeypatch.setattr(service, "glob", lambda pattern: [])
    with pytest.raises(service.BackupError, match="找不到 pg_dump：请安装 PostgreSQL 客户端"):
        service.find_pg_tool("pg_dump")
    monkeypatch.setattr(
        service, "glob", lambda p: ["/usr/lib/postgresql/9.6/bin/x", "/usr/lib/postgresql/15/bin/x"]
    )
    assert service.find_pg_tool("x") == "/usr/lib/postgresql/15/bin/x"


# ---- restore -------------------------------------------------------------------------------


def test_restore_into_a_fresh_database_brings_back_the_data_and_the_app_runs(
    app, tmp_path, tree, make_member, make_user, fresh_url, make_file_app
):
    admin = make_user("admin", username="secretary")
    for name in ("张三", "李四", "王五"):
        make_member(user=admin, name=name, building=tree["building_a"])
    record("login", user=admin)
    db.session.commit()
    live_url = app.config["SQLALCHEMY_DATABASE_URI"]
    taken = snapshot(live_url)
    assert len(taken["members"]) == 3 and len(taken["audit"]) >= 4

    result = cli(app, "backup", "create", str(tmp_path / "backups"))
    assert result.exit_code == 0, result.output
    (path,) = backup_files(tmp_path / "backups")
    backup_bytes = path.read_bytes()

    # A new machine: an empty database (SQLite: the file does not exist yet).
    new_url = fresh_url("new")
    if PG_URL:
        new_app = make_file_app(new_url, revision="base")
    else:
        from tests.conftest import make_app

        new_app = make_app(SQLALCHEMY_DATABASE_URI=new_url, BACKUP_DIR=str(tmp_path / "prev"))
        assert not Path(new_url.removeprefix("sqlite:///")).exists()
    from app import change_tokens

    tokens = change_tokens.TokenFile(Path(new_app.config["TOKEN_FILE"]))
    before = [tokens.read(name) for name in (change_tokens.USER, change_tokens.DATA)]
    result = cli(new_app, "backup", "restore", str(path), "--yes")
    assert result.exit_code == 0, result.output
    assert "恢复完成" in result.output
    assert path.read_bytes() == backup_bytes  # the backup itself is untouched
    # Every worker on the host drops its kept users and figures (app/change_tokens.py).
    after = [tokens.read(name) for name in (change_tokens.USER, change_tokens.DATA)]
    assert all(a != b for a, b in zip(after, before, strict=True))

    restored = snapshot(new_url)
    assert restored["members"] == taken["members"]
    assert restored["users"] == taken["users"]
    # The audit log exactly as it was, plus the entry recording this restore.
    assert restored["audit"][: len(taken["audit"])] == taken["audit"]
    assert [row[1] for row in restored["audit"][len(taken["audit"]) :]] == ["backup_restore"]

    # The application runs on the restored database: log in, see the members.
    with new_app.app_context():
        auth = Auth(new_app.test_client(), make_user=None)
        assert auth.login("secretary").status_code == 302
        page = auth.client.get("/members/")
        assert page.status_code == 200
        html = page.get_data(as_text=True)
        assert all(name in html for name in ("张三", "李四", "王五"))
        db.session.remove()
        db.engine.dispose()


def test_restoring_an_older_schema_backup_upgrades_it(app, tmp_path, fresh_url, make_file_app):
    # A backup taken by an older version of the program (schema at the first migration).
    old_app = make_file_app(fresh_url("old"), revision="0001")
    with old_app.app_context():
        with db.engine.begin() as conn:
            conn.execute(
                text(
                    "INSERT INTO audit_entry (at, action, result, username) "
                    "VALUES (CURRENT_TIMESTAMP, 'login', 'ok', 'old-times')"
                )
            )
        db.engine.dispose()
    result = cli(old_app, "backup", "create", str(tmp_path / "old-backups"))
    assert result.exit_code == 0, result.output
    (path,) = backup_files(tmp_path / "old-backups")

    # The current program's database, with a row that the restore replaces.
    with app.app_context():
        record("login", detail="today")
        db.session.commit()
        head = restore._script_directory().get_current_head()
    result = cli(app, "backup", "restore", str(path), "--yes")
    assert result.exit_code == 0, result.output
    assert f"数据库版本 0001 → {head}" in result.output

    with app.app_context():
        assert db.session.execute(text("SELECT version_num FROM alembic_version")).scalar() == head
        # Every table and column of the current models is there (tests/test_migrations.py
        # checks the migrations against the models in full).
        inspector = inspect(db.engine)
        for table in db.metadata.sorted_tables:
            columns = {c["name"] for c in inspector.get_columns(table.name)}
            assert set(table.columns.keys()) <= columns, table.name
        rows = db.session.execute(
            text("SELECT action, username, detail FROM audit_entry ORDER BY id")
        ).all()
        db.session.remove()
    assert [tuple(r) for r in rows][0] == ("login", "old-times", None)
    assert ("login", None, "today") not in [tuple(r) for r in rows]
    assert rows[-1][0] == "backup_restore"

    # What was there before is kept.
    if PG_URL:
        (previous,) = (tmp_path / "before-restore").glob("*.before-restore.pgdump")
    else:
        live_file = Path(app.config["SQLALCHEMY_DATABASE_URI"].removeprefix("sqlite:///"))
        (previous,) = live_file.parent.glob("linli.db.*.before-restore")
        conn = sqlite3.connect(previous)
        assert conn.execute(
            "SELECT count(*) FROM audit_entry WHERE detail = 'today'"
        ).fetchone() == (1,)
        conn.close()
    assert f"恢复前的数据库已另存为：{previous}" in result.output


def test_restore_refuses_without_yes(app, tmp_path, tree, make_member):
    make_member(name="留下来", building=tree["building_a"])
    result = cli(app, "backup", "create", str(tmp_path / "backups"))
    (path,) = backup_files(tmp_path / "backups")
    make_member(name="后来的", building=tree["building_b"])

    result = cli(app, "backup", "restore", str(path))
    assert result.exit_code != 0
    assert "未确认，数据库没有改动" in result.output
    assert "--yes" in result.output
    names = {r[1] for r in snapshot(app.config["SQLALCHEMY_DATABASE_URI"])["members"]}
    assert names == {"留下来", "后来的"}
    assert not list(tmp_path.rglob("*.before-restore*"))


def test_restore_refuses_a_damaged_or_foreign_file(app, tmp_path, tree, make_member):
    make_member(name="不动", building=tree["building_a"])
    result = cli(app, "backup", "create", str(tmp_path / "backups"))
    (path,) = backup_files(tmp_path / "backups")
    damaged = tmp_path / path.name.replace("linli-", "damaged-")
    data = path.read_bytes()
    damaged.write_bytes(data[: len(data) // 2])
    foreign = tmp_path / "foreign.sqlite3"
    conn = sqlite3.connect(foreign)
    conn.execute("CREATE TABLE t (x)")
    conn.commit()
    conn.close()
    text_file = tmp_path / "notes.txt"
    text_file.write_text("not a backup")

    for bad, message in (
        (damaged, "恢复失败"),
        (text_file, "不是本系统的备份文件"),
        *(() if PG_URL else ((foreign, "不是本系统的备份"),)),
    ):
        result = cli(app, "backup", "restore", str(bad), "--yes")
        assert result.exit_code != 0, bad
        assert message in result.output, result.output
    names = {r[1] for r in snapshot(app.config["SQLALCHEMY_DATABASE_URI"])["members"]}
    assert names == {"不动"}
    with app.app_context():
        failed = db.session.execute(
            text("SELECT count(*) FROM audit_entry WHERE action = 'backup_restore'")
        ).scalar()
    assert failed == 3 if not PG_URL else failed == 2


@pytest.mark.skipif(bool(PG_URL), reason="a damaged database file is a SQLite matter")
def test_restore_over_a_damaged_sqlite_file(app, tmp_path, tree, make_member):
    make_member(name="备份里的人", building=tree["building_a"])
    result = cli(app, "backup", "create", str(tmp_path / "backups"))
    (path,) = backup_files(tmp_path / "backups")
    db.session.remove()
    db.engine.dispose()
    live = Path(app.config["SQLALCHEMY_DATABASE_URI"].removeprefix("sqlite:///"))
    damaged = bytearray(live.read_bytes())
    damaged[:100] = bytes(100)  # the header is gone: "file is not a database"
    live.write_bytes(bytes(damaged))

    result = cli(app, "backup", "restore", str(path), "--yes")
    assert result.exit_code == 0, result.output
    assert {r[1] for r in snapshot(f"sqlite:///{live}")["members"]} == {"备份里的人"}
    (previous,) = live.parent.glob("linli.db.*.before-restore")
    assert previous.read_bytes() == bytes(damaged)  # kept exactly as it was
