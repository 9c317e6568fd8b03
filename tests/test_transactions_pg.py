"""PostgreSQL: a transaction begins at the first write, not at the first read (app/uow.py
``begin_at_first_write``). Reads leave the server outside a transaction (one round trip each);
writes, locks, savepoints and server-side cursors run inside one that commit or rollback
ends, so a rollback still undoes every write of the unit of work."""

from __future__ import annotations

import pytest
from sqlalchemy import create_engine, func, select, text

from app.extensions import db
from app.settings import Setting

pytestmark = pytest.mark.usefixtures("app")


@pytest.fixture(autouse=True)
def _postgresql_only(app):  # noqa: ANN001
    if db.engine.dialect.name != "postgresql":
        pytest.skip("PostgreSQL's transactions")


def server_status() -> str:
    """The server's view of the session's connection: idle, or inside a transaction."""
    raw = db.session.connection().connection.dbapi_connection
    return raw.info.transaction_status.name


def settings_named(prefix: str) -> int:
    return db.session.scalar(
        select(func.count()).select_from(Setting).where(Setting.key.like(prefix + "%"))
    )


def test_reads_run_outside_a_transaction():
    db.session.execute(select(Setting.key).limit(1)).all()
    db.session.execute(text("SELECT 1")).all()
    assert server_status() == "IDLE"


def test_the_first_write_begins_a_transaction_a_rollback_undoes_all_writes():
    db.session.add(Setting(key="tx-test-a", value=1))
    db.session.flush()
    assert server_status() == "INTRANS"
    assert settings_named("tx-test-") == 1  # a read inside the transaction sees the write
    db.session.add(Setting(key="tx-test-b", value=2))
    db.session.flush()
    db.session.rollback()
    assert settings_named("tx-test-") == 0


def test_a_commit_keeps_the_writes_and_leaves_no_transaction_open():
    db.session.add(Setting(key="tx-test-c", value=3))
    db.session.commit()
    db.session.execute(text("SELECT 1")).all()
    assert server_status() == "IDLE"
    other = create_engine(db.engine.url)
    with other.connect() as conn:
        seen = conn.execute(text("SELECT count(*) FROM setting WHERE key = 'tx-test-c'")).scalar()
    other.dispose()
    assert seen == 1


def test_row_locks_and_savepoints_run_inside_a_transaction():
    db.session.execute(select(Setting.key).with_for_update()).all()
    assert server_status() == "INTRANS"  # the lock is held until the unit of work ends
    db.session.rollback()
    with db.session.begin_nested():
        db.session.add(Setting(key="tx-test-d", value=4))
    assert server_status() == "INTRANS"
    db.session.rollback()
    assert settings_named("tx-test-") == 0


def test_a_streamed_read_gets_the_transaction_its_server_side_cursor_needs():
    for n in range(3):
        db.session.add(Setting(key=f"tx-test-s{n}", value=n))
    db.session.commit()
    rows = db.session.execute(
        select(Setting.key).where(Setting.key.like("tx-test-s%")).execution_options(yield_per=1)
    ).all()
    assert len(rows) == 3
