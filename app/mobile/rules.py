"""协管 rules (pure, table-tested): when a probationary member's full membership is due."""

from __future__ import annotations

from datetime import date, timedelta

from app.timeutil import add_months

PROBATION_MONTHS = 12  # 预备期一年


def full_membership_due(joined_on: date | None) -> date | None:
    """One year after admission (29 February → 28 February of the next year)."""
    return None if joined_on is None else add_months(joined_on, PROBATION_MONTHS)


def latest_joined_due_by(limit: date) -> date:
    """The latest admission date whose full membership is due on or before ``limit`` (for SQL:
    ``joined_on <= latest_joined_due_by(limit)`` ⟺ ``full_membership_due(joined_on) <= limit``)."""
    joined = add_months(limit, -PROBATION_MONTHS)
    while full_membership_due(joined + timedelta(days=1)) <= limit:
        joined += timedelta(days=1)
    return joined


def probation_state(
    member_type: str, full_member_on: date | None, joined_on: date | None, today: date, days: int
) -> str | None:
    """None (not a waiting probationary member), "later", "soon" (within ``days``) or "overdue"."""
    if member_type != "probationary" or full_member_on is not None or joined_on is None:
        return None
    due = full_membership_due(joined_on)
    if due < today:
        return "overdue"
    if due <= today + timedelta(days=days):
        return "soon"
    return "later"
