"""Every new database connection is set up for Linli's work: SQLite enforces foreign keys and
waits on a lock; PostgreSQL does not JIT-compile (a whole-street count would pay 15–200 ms of
compilation for a query that takes less)."""

from __future__ import annotations

from app.extensions import db


def test_each_connection_is_set_up(app):
    db.engine.dispose()  # a new connection, set up by the connect hook
    with db.engine.connect() as conn:
        if db.engine.dialect.name == "postgresql":
            assert conn.exec_driver_sql("SHOW jit").scalar() == "off"
        else:
            assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
            assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() == 5000
