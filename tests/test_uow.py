"""The one unit of work (app/uow.py): the request commits what it wrote, once."""

from __future__ import annotations

from app import uow
from app.audit import record
from app.extensions import db


def test_writes_inside_a_savepoint_still_count_as_the_requests_writes(app):
    """A bulk decision writes in a savepoint per item; the request must still commit them."""
    session = db.session()
    assert not uow._has_writes(session)
    with session.begin_nested():
        record("member_update", object_type="member", object_id=1)
    assert uow._has_writes(session)  # the savepoint ended, the writes are the request's
    session.commit()
    assert not uow._has_writes(session)


def test_a_failed_savepoint_keeps_the_earlier_writes(app):
    session = db.session()
    record("member_update", object_type="member", object_id=1)
    session.flush()
    try:
        with session.begin_nested():
            record("member_update", object_type="member", object_id=2)
            raise RuntimeError("this item fails")
    except RuntimeError:
        pass
    assert uow._has_writes(session)
    session.rollback()
    assert not uow._has_writes(session)


def test_error_answers_roll_back_and_success_commits(app, client, auth):
    """A 4xx answer rolls the request back; keep() keeps it (the failed-login counter)."""
    from sqlalchemy import func, select

    from app.audit.models import AuditEntry

    auth.login_as("admin")
    before = db.session.execute(select(func.count()).select_from(AuditEntry)).scalar_one()
    auth.logout()
    response = auth.login("nobody-here", "wrong")
    assert response.status_code == 422
    db.session.remove()
    after = db.session.execute(select(func.count()).select_from(AuditEntry)).scalar_one()
    assert after > before  # the logout and the failed login are both in the log
