"""The three work lists' whole-street counts read one narrow index, not the member rows, and
the absences once as a range, not once per member (SQLite's plans with the reference-size
statistics; no wall-clock time is asserted)."""

from __future__ import annotations

import pytest

from app.extensions import db
from app.followup import work_lists
from tests.plans import plan, reference_statistics, statements


def test_whole_street_counts_scan_the_covering_index(app, tree, make_member, make_user):
    if db.engine.dialect.name != "sqlite":
        pytest.skip("SQLite's query plan")
    make_member(building=tree["building_a"])
    admin = make_user("admin")
    reference_statistics()
    c = work_lists.Cutoffs.current()
    [executed] = [
        s for s in statements(lambda: work_lists.count_lists(admin, c)) if "FILTER" in s[0]
    ]
    found = plan(*executed)
    assert "COVERING INDEX ix_member_followup_counts" in found, found
    assert "INDEX ix_org_event_attendance_absent" in found, found
    # No lookup of the absences per member.
    assert "CORRELATED" not in found, found
