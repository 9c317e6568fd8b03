"""Counts "as of" a past month (``member_counts(as_of=...)``, behind ``flask stats --as-of`` and
the dashboard): the same figures as reading every member's history row by row, for members
created before, changed after, created after and changed on the month's last day; the few
statements it takes and the narrow indexes they read (SQLite's query plans, no wall-clock
time)."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta

import pytest
from sqlalchemy import select, true

from app.extensions import db
from app.members import history, services
from app.members.models import CATEGORIES, STATUSES, Member, MemberHistory
from app.members.rules import month_end
from app.members.stats import GONE, member_counts
from app.timeutil import add_months, local_today, month_start
from tests.plans import plan, reference_statistics, statements

TODAY = local_today()
THIS_MONTH = month_start(TODAY)


def _month(months_ago: int) -> str:
    return f"{add_months(THIS_MONTH, -months_ago):%Y-%m}"


def _day(months_ago: int, day: int = 10):
    return add_months(THIS_MONTH, -months_ago).replace(day=day)


@pytest.fixture
def lives(make_member):
    """Members whose category and status moved at known dates."""

    def change(member, when, **changes):
        lost = "lost_contact" in (changes.get("status"), member.status)  # as a 失联 case does
        services.update_member(
            member, changes, None, member.version, effective=when, via_lost_contact_case=lost
        )
        db.session.commit()

    make_member(name="一直未变", effective=_day(30))
    retired = make_member(name="后来退休", effective=_day(30))
    change(retired, _day(18), employment="retired")  # direct → shared
    moved = make_member(name="后来转出", effective=_day(30), employment="retired")
    change(moved, _day(6), status="transferred_out")
    both = make_member(name="先下岗后失联", effective=_day(30))
    change(both, _day(20), employment="laid_off")
    change(both, _day(9), status="lost_contact")
    change(both, _day(3), status="active")
    make_member(name="去年新建", effective=_day(10))
    make_member(name="今天新建")
    edge = make_member(name="月末变更", effective=_day(30))
    change(edge, month_end(_month(12)), employment="retired")  # on the month's last day
    after = make_member(name="月初变更", effective=_day(30), employment="retired")
    change(after, month_end(_month(12)) + timedelta(days=1), status="deceased")
    return db.session.execute(select(Member.id).order_by(Member.id)).scalars().all()


def _by_reading_every_row(month: str) -> dict:
    """The figures from each member's rows valid at the end of ``month``, one member at a time."""
    end = month_end(month)
    pairs = Counter()
    for member_id in db.session.execute(select(Member.id)).scalars():
        then = {}
        for row in db.session.execute(
            select(MemberHistory).where(
                MemberHistory.member_id == member_id,
                MemberHistory.aspect.in_(("category", "status")),
            )
        ).scalars():
            if row.effective_from <= end and (row.effective_to is None or row.effective_to > end):
                then[row.aspect] = row.value[row.aspect]
        if len(then) == 2:
            pairs[then["category"], then["status"]] += 1
    by_status = dict.fromkeys(STATUSES, 0)
    by_category = dict.fromkeys(CATEGORIES, 0)
    for (cat, st), n in pairs.items():
        by_status[st] += n
        if st not in GONE:
            by_category[cat] += n
    return {
        "by_category": by_category,
        "by_status": by_status,
        "total": sum(by_status.values()),
        "managed": sum(by_category.values()),
    }


@pytest.mark.parametrize("months_ago", [36, 24, 19, 18, 12, 9, 6, 3, 1, 0])
def test_as_of_counts_agree_with_every_members_rows(app, lives, months_ago):
    month = _month(months_ago)
    counts = member_counts(as_of=month)
    expected = _by_reading_every_row(month)
    assert {key: counts[key] for key in expected} == expected, month


def test_as_of_counts_of_a_month_with_changes_on_both_sides(app, lives):
    counts = member_counts(as_of=_month(12))
    # 去年新建 (10 months ago) and 今天新建 did not exist; 后来转出 was still here; 后来退休
    # had retired; 先下岗后失联 was laid off; 月末变更 retired on the month's last day.
    assert counts["total"] == 6
    assert counts["by_category"] == {
        "direct": 1,
        "dual": 0,
        "shared": 4,
        "takeover": 1,
        "coordinated": 0,
    }
    assert counts["by_status"]["active"] == 6
    # The whole street's scope (true()) and a scope that names its members count the same.
    assert member_counts([true()], as_of=_month(12)) == counts
    assert member_counts([Member.id.in_(lives)], as_of=_month(12)) == counts
    assert member_counts([Member.id.in_(lives[:2])], as_of=_month(12))["total"] == 2


def test_only_members_who_existed_then_are_looked_up(app, lives):
    """Of the members changed since the month, those created since have no values then."""
    month = _month(12)
    changed = set(db.session.execute(history.changed_since(month)).scalars())
    existing = set(db.session.execute(history.existing_changed_since(month)).scalars())
    names = dict(db.session.execute(select(Member.id, Member.name)).all())
    assert {names[i] for i in changed} == {
        "后来转出",
        "先下岗后失联",
        "去年新建",
        "今天新建",
        "月初变更",
    }
    assert {names[i] for i in existing} == {"后来转出", "先下岗后失联", "月初变更"}


def test_as_of_counts_take_three_statements_from_narrow_indexes(app, lives):
    found = statements(lambda: member_counts(as_of=_month(12)))
    assert len(found) == 3  # today, the changed members today, the same then
    if db.engine.dialect.name != "sqlite":
        pytest.skip("SQLite's query plans")
    reference_statistics()
    today, changed_today, changed_then = (plan(*s) for s in found)
    assert "COVERING INDEX ix_member_status_category" in today, today
    # The changed members (by the date the history triggers keep) with their category and
    # status from one index: skipping through its status/category prefix, no lookup by id.
    assert "COVERING INDEX ix_member_status_category_changed" in changed_today, changed_today
    assert "history_changed_on>?" in changed_today, changed_today
    # Their values then: only for the members whose row valid then was closed since.
    assert "ix_member_history_closed" in changed_then, changed_then
