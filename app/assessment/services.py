"""The assessment table of a branch and the saving of the staff's grades."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from app.assessment import evaluate, summary, targets
from app.assessment.models import GRADES, AssessmentGrade
from app.audit import record
from app.extensions import db
from app.followup.appraisal import APPRAISED_STATUSES
from app.members.models import Member
from app.settings import get_setting


def branch_table(branch_id: int, year: int, scope_where) -> list[dict[str, Any]]:  # noqa: ANN001
    """The branch's members (in scope, as appraised) with their indicators and grade."""
    members = db.session.execute(
        select(Member.id, Member.name, Member.category, AssessmentGrade.grade, AssessmentGrade.note)
        .outerjoin(
            AssessmentGrade,
            (AssessmentGrade.member_id == Member.id) & (AssessmentGrade.year == year),
        )
        .where(Member.branch_id == branch_id, Member.status.in_(APPRAISED_STATUSES), scope_where)
        .order_by(Member.category, Member.name_pinyin, Member.id)
    ).all()
    return member_rows(members, year)


def member_rows(members: list, year: int) -> list[dict[str, Any]]:  # noqa: ANN001
    table = targets(get_setting("assessment_targets"))
    results = evaluate([(m.id, m.category) for m in members], year, table)
    rows = []
    for m in members:
        met, applicable = summary(results[m.id])
        rows.append(
            {
                "id": m.id,
                "name": m.name,
                "category": m.category,
                "results": results[m.id],
                "met": met,
                "applicable": applicable,
                "grade": getattr(m, "grade", None) or "",
                "note": getattr(m, "note", None) or "",
            }
        )
    return rows


def evidence_for(member_ids_categories: list[tuple[int, str]], year: int) -> dict[int, dict]:
    """What the 民主评议 form shows as evidence: met/applicable and the misses, per member."""
    table = targets(get_setting("assessment_targets"))
    results = evaluate(member_ids_categories, year, table)
    out = {}
    for member_id, rs in results.items():
        met, applicable = summary(rs)
        out[member_id] = {
            "met": met,
            "applicable": applicable,
            "misses": [f"{r.indicator.label} {r.text}" for r in rs if r.applies and not r.met],
        }
    return out


def save_grades(
    user: Any, year: int, branch_id: int, submitted: dict[int, tuple[str, str]], allowed: set[int]
) -> int:
    """Write the changed (grade, note) pairs of the branch's members; one audit entry."""
    submitted = {k: v for k, v in submitted.items() if k in allowed}
    existing = {
        g.member_id: g
        for g in db.session.execute(
            select(AssessmentGrade).where(
                AssessmentGrade.year == year,
                AssessmentGrade.member_id.in_(sorted(submitted) or [0]),
            )
        ).scalars()
    }
    before, after = {}, {}
    for member_id, (grade, note) in submitted.items():
        row = existing.get(member_id)
        old = (row.grade, row.note or "") if row else ("", "")
        if old == (grade, note):
            continue
        before[str(member_id)], after[str(member_id)] = list(old), [grade, note]
        if not grade:
            if row is not None:
                db.session.delete(row)
            continue
        if row is None:
            row = AssessmentGrade(member_id=member_id, year=year, grade=grade)
            db.session.add(row)
        row.grade, row.note = grade, note or None
        row.recorded_by_id = getattr(user, "id", None)
    if after:
        record(
            "assessment_save",
            object_type="org",
            object_id=branch_id,
            user=user,
            before=before,
            after=after,
            detail=f"year={year}",
        )
        db.session.flush()
    return len(after)


def parse_grade(raw: str | None) -> str | None:
    """A grade key, "" for none, or None when the value is not a grade."""
    value = (raw or "").strip()
    return value if value == "" or value in GRADES else None
