"""The staff's qualitative grade of a member's year (目标考核的定性评价)."""

from __future__ import annotations

from sqlalchemy import ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from app.columns import RecordedBy, Updated, label_of
from app.extensions import db

GRADES = {"good": "好", "fairly_good": "较好", "average": "一般", "poor": "差"}


class AssessmentGrade(RecordedBy, Updated, db.Model):
    __tablename__ = "assessment_grade"
    __table_args__ = (UniqueConstraint("member_id", "year"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("member.id"))
    year: Mapped[int]
    grade: Mapped[str] = mapped_column(String(16))
    note: Mapped[str | None] = mapped_column(String(200))

    grade_label = label_of(GRADES, "grade")
