"""Follow-up rules (SPEC §9) as pure functions: due dates, overdue checks, consecutive absence
from org life, months of unpaid dues. The list queries in ``services`` express the same rules
in SQL through the cut-off dates computed here.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date

from app.timeutil import add_months, month_start

# ---- cadences ----------------------------------------------------------------------------------


def thought_report_months(category: str, setting: dict) -> int:
    """Months between thought reports for a category (setting ``thought_report_months``:
    ``{"takeover": 1, "default": 3}``)."""
    value = setting.get(category, setting.get("default", 3))
    return max(1, int(value))


def due_date(last_on: date | None, baseline: date, months: int) -> date:
    """When the next report or contact is due: ``months`` after the last one, or after the
    baseline (the member's arrival on the roster or departure) when there was none."""
    return add_months(last_on or baseline, months)


def overdue_cutoff(today: date, months: int) -> date:
    """A last report/contact dated before this day is overdue."""
    return add_months(today, -months)


def is_overdue(last_on: date | None, baseline: date, months: int, today: date) -> bool:
    """Overdue when the due date has passed (equivalently: the reference date is before the
    cut-off)."""
    return (last_on or baseline) < overdue_cutoff(today, months)


def days_overdue(last_on: date | None, baseline: date, months: int, today: date) -> int:
    return max(0, (today - due_date(last_on, baseline, months)).days)


# ---- org life ----------------------------------------------------------------------------------


def absence_run_start(records: Iterable[tuple[date, str]]) -> date | None:
    """The first absence after the member's last presence (``None`` when the member was
    present at the latest event that counts). Excused absences (请假) neither break nor
    start a run."""
    last_present: date | None = None
    absences: list[date] = []
    for held_on, status in records:
        if status == "present":
            if last_present is None or held_on > last_present:
                last_present = held_on
        elif status == "absent":
            absences.append(held_on)
    run = [d for d in absences if last_present is None or d > last_present]
    return min(run) if run else None


def absent_too_long(run_start: date | None, today: date, months: int) -> bool:
    """Absent from org life for ``months`` consecutive months: the run of absences began at
    least ``months`` ago."""
    return run_start is not None and run_start <= overdue_cutoff(today, months)


# ---- dues --------------------------------------------------------------------------------------


def unpaid_months(paid_until: date | None, today: date) -> int | None:
    """Whole months unpaid before the current one (the current month's dues are still due);
    ``None`` when no payment was ever recorded."""
    if paid_until is None:
        return None
    months = (today.year * 12 + today.month) - (paid_until.year * 12 + paid_until.month) - 1
    return max(0, months)


def dues_cutoff(today: date, months: int) -> date:
    """``dues_paid_until`` (a month) before this day means ``months`` or more unpaid months."""
    return add_months(month_start(today), -months)


def dues_unpaid_too_long(paid_until: date | None, today: date, months: int) -> bool:
    unpaid = unpaid_months(paid_until, today)
    return unpaid is not None and unpaid >= months
