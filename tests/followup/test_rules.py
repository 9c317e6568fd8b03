"""Follow-up rules as pure functions (table-driven)."""

from __future__ import annotations

from datetime import date

import pytest

from app.followup import rules
from app.timeutil import add_months

D = date


@pytest.mark.parametrize(
    ("start", "months", "expected"),
    [
        (D(2026, 1, 31), 1, D(2026, 2, 28)),
        (D(2024, 1, 31), 1, D(2024, 2, 29)),
        (D(2026, 11, 15), 3, D(2027, 2, 15)),
        (D(2026, 3, 31), -1, D(2026, 2, 28)),
        (D(2026, 1, 10), -6, D(2025, 7, 10)),
        (D(2026, 12, 1), 1, D(2027, 1, 1)),
    ],
)
def test_add_months(start, months, expected):
    assert add_months(start, months) == expected


@pytest.mark.parametrize(
    ("category", "setting", "expected"),
    [
        ("takeover", {"takeover": 1, "default": 3}, 1),
        ("direct", {"takeover": 1, "default": 3}, 3),
        ("coordinated", {"takeover": 1, "default": 3, "coordinated": 2}, 2),
        ("direct", {}, 3),
        ("direct", {"default": 0}, 1),  # never less than monthly
    ],
)
def test_thought_report_months(category, setting, expected):
    assert rules.thought_report_months(category, setting) == expected


TODAY = D(2026, 11, 22)


@pytest.mark.parametrize(
    ("last_on", "baseline", "months", "due", "overdue"),
    [
        # Last report 3 months ago to the day: due today, not yet overdue.
        (D(2026, 8, 22), D(2020, 1, 1), 3, D(2026, 11, 22), False),
        # One day earlier: due yesterday, overdue.
        (D(2026, 8, 21), D(2020, 1, 1), 3, D(2026, 11, 21), True),
        # Monthly cadence (takeover).
        (D(2026, 10, 30), D(2020, 1, 1), 1, D(2026, 11, 30), False),
        (D(2026, 10, 1), D(2020, 1, 1), 1, D(2026, 11, 1), True),
        # Never reported: counted from the baseline (arrival on the roster).
        (None, D(2026, 10, 1), 3, D(2027, 1, 1), False),
        (None, D(2026, 1, 1), 3, D(2026, 4, 1), True),
    ],
)
def test_due_and_overdue(last_on, baseline, months, due, overdue):
    assert rules.due_date(last_on, baseline, months) == due
    assert rules.is_overdue(last_on, baseline, months, TODAY) is overdue
    assert (rules.days_overdue(last_on, baseline, months, TODAY) > 0) is overdue


P, A, E = "present", "absent", "excused"


@pytest.mark.parametrize(
    ("records", "run_start"),
    [
        ([], None),
        ([(D(2026, 1, 5), P)], None),
        ([(D(2026, 1, 5), A)], D(2026, 1, 5)),
        # Presence ends a run; the run restarts at the next absence.
        ([(D(2026, 1, 5), A), (D(2026, 2, 5), P), (D(2026, 3, 5), A)], D(2026, 3, 5)),
        ([(D(2026, 1, 5), A), (D(2026, 2, 5), A), (D(2026, 3, 5), P)], None),
        # Excused absences neither start nor break a run.
        ([(D(2026, 1, 5), E)], None),
        ([(D(2026, 1, 5), A), (D(2026, 2, 5), E), (D(2026, 3, 5), A)], D(2026, 1, 5)),
        # Order of the records does not matter.
        ([(D(2026, 3, 5), A), (D(2026, 1, 5), P), (D(2026, 2, 5), A)], D(2026, 2, 5)),
    ],
)
def test_absence_run_start(records, run_start):
    assert rules.absence_run_start(records) == run_start


@pytest.mark.parametrize(
    ("run_start", "flagged"),
    [
        (None, False),
        (D(2026, 5, 22), True),  # exactly six months
        (D(2026, 5, 23), False),
        (D(2025, 12, 1), True),
    ],
)
def test_absent_too_long(run_start, flagged):
    assert rules.absent_too_long(run_start, TODAY, 6) is flagged


@pytest.mark.parametrize(
    ("paid_until", "unpaid", "flagged"),
    [
        (None, None, False),  # no payment ever recorded: not flagged, nothing to count from
        (D(2026, 11, 1), 0, False),  # paid for this month
        (D(2026, 10, 1), 0, False),  # this month still due
        (D(2026, 5, 1), 5, False),
        (D(2026, 4, 1), 6, True),
        (D(2025, 11, 1), 11, True),
        (D(2027, 1, 1), 0, False),  # paid in advance
    ],
)
def test_unpaid_dues(paid_until, unpaid, flagged):
    assert rules.unpaid_months(paid_until, TODAY) == unpaid
    assert rules.dues_unpaid_too_long(paid_until, TODAY, 6) is flagged
    if paid_until is not None:
        # The SQL form of the same rule.
        assert (paid_until < rules.dues_cutoff(TODAY, 6)) is flagged
