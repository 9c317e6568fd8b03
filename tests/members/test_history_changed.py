"""``member.history_changed_on``: the latest ``effective_from`` of a member's category and status
history, kept by database triggers (migration 0029) whoever writes the history — the
application, a bulk insert, a correction of a date, a deletion. The "as of" counts read the
members changed since a month from it (tests/members/test_as_of_counts.py compares those counts
with every member's rows)."""

from __future__ import annotations

from datetime import date

from sqlalchemy import delete, func, insert, select, update

from app.extensions import db
from app.members import history, services
from app.members.models import Member, MemberHistory, history_changed_on


def changed_on(member_id: int) -> date | None:
    db.session.expire_all()
    return db.session.execute(select(history_changed_on).where(Member.id == member_id)).scalar_one()


def latest(member_id: int) -> date | None:
    return db.session.execute(
        select(func.max(MemberHistory.effective_from)).where(
            MemberHistory.member_id == member_id,
            MemberHistory.aspect.in_(("category", "status")),
        )
    ).scalar_one()


def test_created_and_changed_members_carry_their_latest_change(app, make_member):
    member = make_member(effective=date(2020, 5, 1))
    assert changed_on(member.id) == date(2020, 5, 1)
    services.update_member(
        member, {"employment": "retired"}, None, member.version, effective=date(2023, 3, 9)
    )
    db.session.commit()
    assert changed_on(member.id) == date(2023, 3, 9) == latest(member.id)
    # A row dated earlier than the latest one (a late entry) leaves the latest.
    db.session.execute(
        insert(MemberHistory).values(
            member_id=member.id,
            aspect="status",
            value={"status": "active"},
            effective_from=date(2021, 1, 1),
            effective_to=date(2021, 2, 1),
        )
    )
    db.session.commit()
    assert changed_on(member.id) == date(2023, 3, 9)


def test_other_aspects_do_not_count(app, make_member):
    member = make_member(effective=date(2020, 5, 1))
    db.session.execute(
        insert(MemberHistory).values(
            member_id=member.id,
            aspect="mobility",
            value={"mobility": "flow_out"},
            effective_from=date(2024, 6, 1),
        )
    )
    db.session.commit()
    assert changed_on(member.id) == date(2020, 5, 1)


def test_bulk_inserts_corrections_and_deletions_are_followed(app, make_member):
    member = make_member(effective=date(2020, 5, 1))
    db.session.execute(
        insert(MemberHistory),
        [
            {
                "member_id": member.id,
                "aspect": "status",
                "value": {"status": "lost_contact"},
                "effective_from": date(2022, 2, 2),
            },
            {
                "member_id": member.id,
                "aspect": "category",
                "value": {"category": "shared"},
                "effective_from": date(2024, 4, 4),
            },
        ],
    )
    db.session.commit()
    assert changed_on(member.id) == date(2024, 4, 4)

    newest = db.session.execute(
        select(MemberHistory.id).where(
            MemberHistory.member_id == member.id,
            MemberHistory.effective_from == date(2024, 4, 4),
        )
    ).scalar_one()
    db.session.execute(
        update(MemberHistory)
        .where(MemberHistory.id == newest)
        .values(effective_from=date(2021, 1, 1))
    )
    db.session.commit()
    assert changed_on(member.id) == date(2022, 2, 2) == latest(member.id)

    db.session.execute(delete(MemberHistory).where(MemberHistory.id == newest))
    db.session.execute(
        delete(MemberHistory).where(
            MemberHistory.member_id == member.id,
            MemberHistory.effective_from == date(2022, 2, 2),
        )
    )
    db.session.commit()
    assert changed_on(member.id) == date(2020, 5, 1) == latest(member.id)


def test_the_column_names_the_same_members_as_the_history(app, make_member):
    """``history.changed_since`` (the history rows) and the kept date agree for every member."""
    for n, when in enumerate((date(2019, 1, 1), date(2022, 7, 1), date(2025, 1, 1))):
        make_member(effective=when, name=f"日期{n}")
    for month in ("2018-12", "2022-06", "2022-07", "2024-12", "2025-01"):
        by_rows = set(db.session.execute(history.changed_since(month)).scalars())
        end = history.month_end(month)
        by_column = set(
            db.session.execute(select(Member.id).where(history_changed_on > end)).scalars()
        )
        assert by_rows == by_column, month
