"""民主评议 (SPEC §9): one grade per member and year — 优秀 / 合格 / 基本合格 / 不合格 —
recorded for a branch's members at once; mobile members' certificate checks are the
evidence. The rules here are pure; the services below them write and audit.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date

# In the order the forms and counts show them (labels in app.followup.models.APPRAISAL_GRADES).
GRADE_ORDER = ("excellent", "qualified", "basically_qualified", "unqualified")
GRADE_LABELS = {
    "excellent": "优秀",
    "qualified": "合格",
    "basically_qualified": "基本合格",
    "unqualified": "不合格",
}
FIRST_YEAR = 2000


def year_choices(today: date) -> list[int]:
    """Years that may be appraised: this year back to ``FIRST_YEAR``, newest first."""
    return list(range(today.year, FIRST_YEAR - 1, -1))


def default_year(today: date) -> int:
    """Appraisal happens at the turn of the year: until the end of March, last year."""
    return today.year - 1 if today.month <= 3 else today.year


def parse_year(raw: str | None, today: date) -> int | None:
    """A year in range, or None (bad input never raises)."""
    try:
        year = int(str(raw or "").strip())
    except ValueError:
        return None
    return year if FIRST_YEAR <= year <= today.year else None


def parse_grade(raw: str | None) -> str | None:
    """A grade code, "" for "not graded" (leave unchanged / remove), None when invalid."""
    value = str(raw or "").strip()
    if value == "":
        return ""
    return value if value in GRADE_LABELS else None


def counts(grades: Iterable[str | None], total: int | None = None) -> dict[str, int]:
    """Counts per grade plus ``ungraded`` (members of ``total`` without a grade)."""
    out = dict.fromkeys(GRADE_ORDER, 0)
    graded = 0
    for grade in grades:
        if grade in out:
            out[grade] += 1
            graded += 1
    out["graded"] = graded
    out["ungraded"] = max((total if total is not None else graded) - graded, 0)
    return out


def changes(current: dict[int, str], submitted: dict[int, str]) -> dict[int, tuple[str, str]]:
    """{member_id: (before, after)} for the submitted grades that differ from ``current``
    ("" means no grade; an empty submission for a graded member removes the grade)."""
    out = {}
    for member_id, after in submitted.items():
        before = current.get(member_id, "")
        if after != before:
            out[member_id] = (before, after)
    return out
