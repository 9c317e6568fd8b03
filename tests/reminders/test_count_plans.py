"""Two reminders' whole-street counts read an index, not the member rows (SQLite's plans with
the reference-size statistics; no wall-clock time is asserted)."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from app.care import queries as care
from app.extensions import db
from app.members.models import Member
from app.mobile import queries as mobile
from tests.members.conftest import id_number, make_member, tree  # noqa: F401
from tests.plans import plan, reference_statistics, statements


def _plan_of(stmt) -> str:  # noqa: ANN001
    [executed] = [s for s in statements(lambda: db.session.execute(stmt)) if "count" in s[0]]
    return plan(*executed)


@pytest.fixture
def admin(app, make_user, tree, make_member):  # noqa: F811
    if db.engine.dialect.name != "sqlite":
        pytest.skip("SQLite's query plan")
    make_member(building=tree["building_a"])
    user = make_user("admin")
    reference_statistics()
    return user


def test_care_visits_due_read_the_birth_dates_from_an_index(app, admin):
    with app.test_request_context():
        found = _plan_of(select(func.count(Member.id)).where(*care.due_where(admin)))
    assert "COVERING INDEX ix_member_care_due" in found, found


def test_probation_due_found_through_an_index(app, admin):
    with app.test_request_context():
        found = _plan_of(
            select(func.count(Member.id)).where(*mobile.list_where(admin, None, "probation"))
        )
    assert "ix_member_probation" in found, found
    assert "SCAN member" not in found, found
