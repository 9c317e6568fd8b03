"""Migrations build the schema on an empty database and agree with the models."""

from __future__ import annotations

import os

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import downgrade, upgrade
from sqlalchemy import create_engine, inspect, text

from app import create_app
from app.extensions import db, for_dialect

PG_URL = os.environ.get("TEST_DATABASE_URL", "")


def _fresh_url(tmp_path) -> str:
    if not PG_URL:
        return f"sqlite:///{tmp_path / 'migrated.db'}"
    # A separate database next to the test database.
    admin = create_engine(PG_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text("DROP DATABASE IF EXISTS linli_migrations"))
        conn.execute(text("CREATE DATABASE linli_migrations"))
    admin.dispose()
    return PG_URL.rsplit("/", 1)[0] + "/linli_migrations"


def test_upgrade_on_empty_database_matches_models(tmp_path):
    url = _fresh_url(tmp_path)
    application = create_app("testing", SQLALCHEMY_DATABASE_URI=url)
    with application.app_context():
        upgrade(directory="migrations")
        tables = set(inspect(db.engine).get_table_names())
        assert set(db.metadata.tables) <= tables
        with db.engine.connect() as conn:
            context = MigrationContext.configure(
                conn,
                opts={"compare_type": True, "include_object": for_dialect(conn.dialect.name)},
            )
            diff = compare_metadata(context, db.metadata)
        assert diff == [], f"models and migrations disagree: {diff}"
        # The append-only triggers exist after a real upgrade too.
        with db.engine.connect() as conn:
            conn.execute(
                text(
                    "INSERT INTO audit_entry (at, action, result) "
                    "VALUES (CURRENT_TIMESTAMP, 'x', 'ok')"
                )
            )
            conn.commit()
            try:
                conn.execute(text("DELETE FROM audit_entry"))
                raise AssertionError("delete should have been refused")
            except Exception as exc:  # noqa: BLE001
                assert "append-only" in str(exc)
            conn.rollback()
        downgrade(directory="migrations", revision="base")
        assert not set(db.metadata.tables) & set(inspect(db.engine).get_table_names())
        db.engine.dispose()


def _indexes(engine, table: str) -> dict[str, list[str]]:
    return {i["name"]: list(i["column_names"]) for i in inspect(engine).get_indexes(table)}


def test_index_repair_brings_the_old_0004_shape_to_the_current_one(tmp_path):
    """A database that reached 0004/0005 before 0004 was edited has the old attendance indexes;
    0007 repairs them, and changes nothing on a current database."""
    url = _fresh_url(tmp_path)
    application = create_app("testing", SQLALCHEMY_DATABASE_URI=url)
    with application.app_context():
        upgrade(directory="migrations", revision="0006_followup_part2")
        current = _indexes(db.engine, "org_event_attendance")
        with db.engine.begin() as conn:  # the shape the first version of 0004 created
            conn.execute(text("DROP INDEX ix_org_event_attendance_member"))
            conn.execute(text("DROP INDEX ix_org_event_attendance_event"))
            conn.execute(
                text(
                    "CREATE INDEX ix_org_event_attendance_member "
                    "ON org_event_attendance (member_id, held_on)"
                )
            )
            conn.execute(
                text(
                    "CREATE INDEX ix_org_event_attendance_status "
                    "ON org_event_attendance (status, held_on, member_id)"
                )
            )
        assert _indexes(db.engine, "org_event_attendance") != current
        upgrade(directory="migrations", revision="0007_index_repair")
        assert _indexes(db.engine, "org_event_attendance") == current
        # Again on a current database: nothing changes.
        downgrade(directory="migrations", revision="0006_followup_part2")
        upgrade(directory="migrations", revision="0007_index_repair")
        assert _indexes(db.engine, "org_event_attendance") == current
        downgrade(directory="migrations", revision="base")
        db.engine.dispose()
