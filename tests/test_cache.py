"""The one figure cache (app.cache): one data-version token renewed by every data change,
object flushes and bulk statements alike; quiet tables leave it alone."""

from __future__ import annotations

from sqlalchemy import insert, update

from app.cache import cached, data_version, forget
from app.certificates.models import PrintJob
from app.extensions import db
from app.members.models import Member
from app.settings import Setting


def _token(app) -> str:
    with app.test_request_context():
        forget()
        return data_version()


def test_bulk_update_renews_the_token(app):
    db.session.add(Setting(key="probe", value="1"))
    db.session.flush()
    before = _token(app)
    db.session.execute(update(Member).where(Member.id < 0).values(notes="x"))
    assert _token(app) != before


def test_bulk_insert_into_a_quiet_table_keeps_the_token(app):
    db.session.add(Setting(key="probe", value="1"))
    db.session.flush()
    before = _token(app)
    db.session.execute(update(PrintJob).where(PrintJob.id < 0).values(done=1))
    assert _token(app) == before


def test_cached_value_is_recomputed_after_a_bulk_write(app):
    calls = []

    def compute():
        calls.append(1)
        return len(calls)

    db.session.add(Setting(key="probe", value="1"))
    db.session.flush()
    with app.test_request_context():
        assert cached("probe", (), compute) == 1
        assert cached("probe", (), compute) == 1
    db.session.execute(update(Member).where(Member.id < 0).values(notes="y"))
    with app.test_request_context():
        forget()  # a new request (the test's app context is shared)
        assert cached("probe", (), compute) == 2


def test_statement_on_the_token_itself_does_not_recurse(app):
    db.session.execute(insert(Setting.__table__).values(key="other", value="1"))
    assert db.session.get(Setting, "data_version") is None  # no data change yet: no token
