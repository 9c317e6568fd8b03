"""Migrations build the schema on an empty database and agree with the models."""

from __future__ import annotations

import os

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import downgrade, upgrade
from sqlalchemy import create_engine, inspect, text

from app import create_app
from app.extensions import db

PG_URL = os.environ.get("TEST_DATABASE_URL", "")


def _fresh_url(tmp_path, name: str = "linli_migrations") -> str:
    if not PG_URL:
        return f"sqlite:///{tmp_path / (name + '.db')}"
    # A separate database next to the test database.
    admin = create_engine(PG_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f"DROP DATABASE IF EXISTS {name}"))
        conn.execute(text(f"CREATE DATABASE {name}"))
    admin.dispose()
    return PG_URL.rsplit("/", 1)[0] + "/" + name


def test_upgrade_on_empty_database_matches_models(tmp_path):
    url = _fresh_url(tmp_path)
    application = create_app("testing", SQLALCHEMY_DATABASE_URI=url)
    with application.app_context():
        upgrade(directory="migrations")
        tables = set(inspect(db.engine).get_table_names())
        assert set(db.metadata.tables) <= tables
        with db.engine.connect() as conn:
            context = MigrationContext.configure(conn, opts={"compare_type": True})
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


def _index_shape(engine) -> dict[str, dict[str, tuple[tuple[str, ...], bool]]]:
    """Every table's indexes: name -> (columns, unique)."""
    inspector = inspect(engine)
    return {
        table: {
            index["name"]: (tuple(index["column_names"]), bool(index.get("unique")))
            for index in inspector.get_indexes(table)
        }
        for table in inspector.get_table_names()
    }


# The attendance indexes as 0004_followup created them before it was edited in place:
# first version (until 25aff12), then the second (until 11ffa14, when 0005 already existed).
OLD_ATTENDANCE_INDEXES = {
    "first_0004": {
        "ix_org_event_attendance_member": ["member_id", "held_on"],
        "ix_org_event_attendance_status": ["status", "held_on", "member_id"],
    },
    "second_0004": {
        "ix_org_event_attendance_member": ["member_id", "status", "held_on"],
    },
}


def _migrated_app(url):
    return create_app("testing", SQLALCHEMY_DATABASE_URI=url)


@pytest.mark.parametrize("old", sorted(OLD_ATTENDANCE_INDEXES))
def test_0007_repairs_a_database_migrated_with_the_old_0004(tmp_path, old):
    fresh = _migrated_app(_fresh_url(tmp_path, "linli_migrations"))
    with fresh.app_context():
        upgrade(directory="migrations")
        wanted = _index_shape(db.engine)
        db.engine.dispose()

    application = _migrated_app(_fresh_url(tmp_path, "linli_migrations_old"))
    with application.app_context():
        upgrade(directory="migrations", revision="0006_followup_part2")
        # Put the attendance table back at the old shape.
        with db.engine.begin() as conn:
            for name in inspect(conn).get_indexes("org_event_attendance"):
                conn.execute(text(f"DROP INDEX {name['name']}"))
            for name, columns in OLD_ATTENDANCE_INDEXES[old].items():
                conn.execute(
                    text(f"CREATE INDEX {name} ON org_event_attendance ({', '.join(columns)})")
                )
        assert _index_shape(db.engine) != wanted
        upgrade(directory="migrations", revision="0007_index_repair")
        repaired = _index_shape(db.engine)["org_event_attendance"]
        assert repaired == wanted["org_event_attendance"]
        # Idempotent: 0007 undoes nothing, and running it on the current shape changes nothing.
        downgrade(directory="migrations", revision="0006_followup_part2")
        assert _index_shape(db.engine)["org_event_attendance"] == repaired
        upgrade(directory="migrations", revision="0007_index_repair")
        assert _index_shape(db.engine)["org_event_attendance"] == repaired
        upgrade(directory="migrations")
        assert _index_shape(db.engine) == wanted
        with db.engine.connect() as conn:
            context = MigrationContext.configure(conn, opts={"compare_type": True})
            assert compare_metadata(context, db.metadata) == []
        db.engine.dispose()
