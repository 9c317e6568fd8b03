"""协管: the date a probationary member's full membership is due, and the reminder state."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from app.mobile import rules


@pytest.mark.parametrize(
    ("joined", "due"),
    [
        (date(2026, 3, 15), date(2027, 3, 15)),
        (date(2025, 12, 31), date(2026, 12, 31)),
        (date(2024, 2, 29), date(2025, 2, 28)),  # leap day: the last day of February
        (date(2027, 2, 28), date(2028, 2, 28)),
        (None, None),
    ],
)
def test_full_membership_is_due_a_year_after_admission(joined, due):
    assert rules.full_membership_due(joined) == due


@pytest.mark.parametrize(
    ("member_type", "full_on", "joined", "today", "state"),
    [
        ("probationary", None, date(2025, 6, 1), date(2026, 4, 1), "later"),
        ("probationary", None, date(2025, 6, 1), date(2026, 5, 2), "soon"),  # 30 days before
        ("probationary", None, date(2025, 6, 1), date(2026, 5, 1), "later"),
        ("probationary", None, date(2025, 6, 1), date(2026, 6, 1), "soon"),  # the day itself
        ("probationary", None, date(2025, 6, 1), date(2026, 6, 2), "overdue"),
        ("probationary", date(2026, 6, 1), date(2025, 6, 1), date(2026, 6, 2), None),  # done
        ("formal", None, date(2025, 6, 1), date(2026, 6, 2), None),
        ("probationary", None, None, date(2026, 6, 2), None),
    ],
)
def test_probation_state(member_type, full_on, joined, today, state):
    assert rules.probation_state(member_type, full_on, joined, today, 30) == state


@pytest.mark.parametrize(
    "limit", [date(2026, 5, 31), date(2025, 2, 28), date(2028, 2, 29), date(2027, 3, 1)]
)
def test_latest_joined_due_by_matches_the_rule(limit):
    cut = rules.latest_joined_due_by(limit)
    for offset in range(-3, 4):
        joined = cut + timedelta(days=offset)
        assert (rules.full_membership_due(joined) <= limit) == (joined <= cut), joined
