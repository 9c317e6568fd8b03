"""民主评议 (SPEC §9): one grade per member and year — 优秀 / 合格 / 基本合格 / 不合格 —
recorded for a branch's members at once; mobile members' certificate checks are the
evidence. The rules here are pure; the services below them write and audit.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from typing import Any

from sqlalchemy import func, select

from app.audit import record
from app.certificates.models import Certificate, CertificateCheck
from app.extensions import db
from app.followup.models import Appraisal
from app.members.models import Member

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


# ---- services ---------------------------------------------------------------------------------

# Members appraised with their branch.
APPRAISED_STATUSES = ("active", "flowed_out", "lost_contact")


def branch_rows(branch_id: int, year: int, scope_where) -> list[dict[str, Any]]:  # noqa: ANN001
    """The branch's members (in scope) with their grade for ``year`` and, for mobile members,
    the certificate whose entries are the evidence: three queries whatever the size."""
    members = db.session.execute(
        select(
            Member.id,
            Member.name,
            Member.category,
            Member.mobility,
            Member.mobility_place,
            Appraisal.grade,
        )
        .outerjoin(Appraisal, (Appraisal.member_id == Member.id) & (Appraisal.year == year))
        .where(
            Member.branch_id == branch_id,
            Member.status.in_(APPRAISED_STATUSES),
            scope_where,
        )
        .order_by(Member.name_pinyin, Member.id)
    ).all()
    mobile_ids = [m.id for m in members if m.category == "coordinated" or m.mobility != "none"]
    evidence = certificate_evidence(mobile_ids, year)
    return [
        {
            "id": m.id,
            "name": m.name,
            "category": m.category,
            "mobility": m.mobility,
            "place": m.mobility_place,
            "grade": m.grade or "",
            "evidence": evidence.get(m.id),
        }
        for m in members
    ]


def certificate_evidence(member_ids: list[int], year: int) -> dict[int, dict[str, Any]]:
    """For each member, the newest certificate and the checks recorded on it in ``year``."""
    if not member_ids:
        return {}
    certs = db.session.execute(
        select(Certificate.id, Certificate.member_id, Certificate.number, Certificate.status)
        .where(Certificate.member_id.in_(member_ids))
        .order_by(Certificate.member_id, Certificate.issued_on.desc(), Certificate.id.desc())
    ).all()
    newest: dict[int, Any] = {}
    for c in certs:
        newest.setdefault(c.member_id, c)
    if not newest:
        return {}
    cert_ids = [c.id for c in newest.values()]
    checks = dict(
        db.session.execute(
            select(CertificateCheck.certificate_id, func.count())
            .where(
                CertificateCheck.certificate_id.in_(cert_ids),
                CertificateCheck.checked_on >= date(year, 1, 1),
                CertificateCheck.checked_on <= date(year, 12, 31),
            )
            .group_by(CertificateCheck.certificate_id)
        ).all()
    )
    return {
        member_id: {
            "certificate_id": c.id,
            "number": c.number,
            "status": c.status,
            "checks": int(checks.get(c.id, 0)),
        }
        for member_id, c in newest.items()
    }


def save_grades(
    user: Any,
    year: int,
    branch_id: int,
    submitted: dict[int, str],
    allowed_ids: set[int],
) -> dict[int, tuple[str, str]]:
    """Write the changed grades of one branch's members for ``year`` (members outside
    ``allowed_ids`` are ignored); one audit entry for the whole form."""
    submitted = {k: v for k, v in submitted.items() if k in allowed_ids}
    existing = {
        a.member_id: a
        for a in db.session.execute(
            select(Appraisal).where(
                Appraisal.year == year, Appraisal.member_id.in_(sorted(submitted) or [0])
            )
        ).scalars()
    }
    diff = changes({k: a.grade for k, a in existing.items()}, submitted)
    for member_id, (_, after) in diff.items():
        row = existing.get(member_id)
        if not after:
            db.session.delete(row)
        elif row is None:
            db.session.add(
                Appraisal(
                    member_id=member_id,
                    year=year,
                    grade=after,
                    recorded_by_id=getattr(user, "id", None),
                )
            )
        else:
            row.grade = after
            row.recorded_by_id = getattr(user, "id", None)
    if diff:
        record(
            "appraisal_save",
            object_type="org",
            object_id=branch_id,
            user=user,
            before={str(k): b for k, (b, _) in diff.items()},
            after={str(k): a for k, (_, a) in diff.items()},
            detail=f"year={year}",
        )
        db.session.flush()
    return diff


def branch_counts(year: int, branch_ids: list[int], scope_where) -> dict[int, dict[str, int]]:  # noqa: ANN001
    """Per branch: members, and grades for ``year`` (two GROUP BY queries)."""
    if not branch_ids:
        return {}
    totals = dict(
        db.session.execute(
            select(Member.branch_id, func.count())
            .where(
                Member.branch_id.in_(branch_ids),
                Member.status.in_(APPRAISED_STATUSES),
                scope_where,
            )
            .group_by(Member.branch_id)
        ).all()
    )
    graded: dict[int, list[str]] = {b: [] for b in branch_ids}
    for branch_id, grade, n in db.session.execute(
        select(Member.branch_id, Appraisal.grade, func.count())
        .join(Appraisal, Appraisal.member_id == Member.id)
        .where(
            Appraisal.year == year,
            Member.branch_id.in_(branch_ids),
            Member.status.in_(APPRAISED_STATUSES),
            scope_where,
        )
        .group_by(Member.branch_id, Appraisal.grade)
    ):
        graded[branch_id].extend([grade] * int(n))
    return {b: counts(graded[b], int(totals.get(b, 0))) for b in branch_ids}
