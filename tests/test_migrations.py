"""Migrations build the schema on an empty database and agree with the models."""

from __future__ import annotations

import os

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import downgrade, upgrade
from sqlalchemy import create_engine, inspect, text

from app import create_app
from app.extensions import db

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
