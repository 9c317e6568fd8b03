"""Follow-up work (SPEC §9): org life and attendance, thought reports, contact logs, dues
payments, lost-contact cases and their search attempts, annual democratic appraisal.

The member record keeps denormalized stamps (``last_org_life_on``, ``last_thought_report_on``,
``last_contact_on``, ``dues_paid_until``) that the follow-up services keep current, so the
work lists filter one table.
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column

from app.columns import CreatedBy, RecordedBy, Updated, Versioned, label_of
from app.extensions import db

# 三会一课 and the other kinds of organizational life.
EVENT_KINDS = {
    "branch_meeting": "支部党员大会",
    "committee_meeting": "支委会",
    "group_meeting": "党小组会",
    "party_class": "党课",
    "theme_day": "主题党日",
    "volunteer": "志愿服务",
    "other": "其他",
    "dual_meeting": "在职党员例会",
}
ATTENDANCE_STATUSES = {"present": "出席", "absent": "缺席", "excused": "请假"}
THOUGHT_REPORT_SOURCES = {"member": "党员在线提交", "staff": "工作人员录入"}
CONTACT_METHODS = {
    "phone": "电话",
    "visit": "走访",
    "message": "短信/微信",
    "video": "视频",
    "letter": "信函",
    "other": "其他",
}
LOST_CONTACT_KINDS = {
    "pocket": "口袋党员",
    "roster": "花名册党员",
    "hidden": "隐蔽党员",
    "parked": "空挂党员",
}
LOST_CONTACT_REASONS = {
    "migrant_work": "外出务工经商",
    "unit_restructured": "单位改制破产",
    "graduate_unknown": "毕业去向不明",
    "job_changed": "工作单位改变",
    "abroad": "出国(境)",
    "moved": "居住地改变",
    "other": "其他",
}
LOST_CONTACT_STAGES = {"survey": "摸底", "verify": "核实", "closed": "验收"}
LOST_CONTACT_OUTCOMES = {
    "restored": "已取得联系",
    "suspended": "停止党籍",
    "membership_restored": "恢复党籍",
    "removed": "按自行脱党除名",
    "transferred": "已转出组织关系",
    "deceased": "已去世",
    "other": "其他",
}
# 问 ask door-to-door, 包 assigned staff, 找 via family/friends, 催 letters/notices, 查 departments.
LOST_CONTACT_METHODS = {
    "ask": "问",
    "assign": "包",
    "find": "找",
    "urge": "催",
    "check": "查",
}
LOST_CONTACT_METHOD_HINTS = {
    "ask": "问：走访询问",
    "assign": "包：专人包联",
    "find": "找：通过亲友寻找",
    "urge": "催：信函、公告催告",
    "check": "查：向有关部门查询",
}
APPRAISAL_GRADES = {
    "excellent": "优秀",
    "qualified": "合格",
    "basically_qualified": "基本合格",
    "unqualified": "不合格",
}


class OrgEvent(Versioned, CreatedBy, Updated, db.Model):
    """One org-life event (三会一课, 主题党日, volunteering) of a branch or group."""

    __tablename__ = "org_event"

    id: Mapped[int] = mapped_column(primary_key=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("org.id"))
    kind: Mapped[str] = mapped_column(String(24))
    held_on: Mapped[date]
    title: Mapped[str] = mapped_column(String(100))
    place: Mapped[str | None] = mapped_column(String(100))
    notes: Mapped[str | None] = mapped_column(Text)

    __table_args__ = (
        Index("ix_org_event_org_held", "org_id", "held_on", "id"),
        Index("ix_org_event_held", "held_on", "id"),
    )

    kind_label = label_of(EVENT_KINDS, "kind")


class OrgEventAttendance(RecordedBy, db.Model):
    """A member's attendance at one event; ``held_on`` repeats the event's date so the
    absence alert reads this table alone."""

    __tablename__ = "org_event_attendance"

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("org_event.id"))
    member_id: Mapped[int] = mapped_column(ForeignKey("member.id"))
    held_on: Mapped[date]
    status: Mapped[str] = mapped_column(String(16), default="present")
    note: Mapped[str | None] = mapped_column(String(200))

    __table_args__ = (
        UniqueConstraint("event_id", "member_id"),
        # A member's latest presence, and absences since it: member first, so the planner
        # never walks all rows of one status (the lists query per member).
        Index("ix_org_event_attendance_member", "member_id", "status", "held_on"),
        # Attendance counts per event, from the index alone.
        Index("ix_org_event_attendance_event", "event_id", "status"),
    )

    status_label = label_of(ATTENDANCE_STATUSES, "status")


class ThoughtReport(RecordedBy, db.Model):
    """思想汇报: submitted online by the member or recorded by staff."""

    __tablename__ = "thought_report"

    id: Mapped[int] = mapped_column(primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("member.id"))
    period: Mapped[date]  # first day of the month the report covers
    submitted_on: Mapped[date]
    summary: Mapped[str] = mapped_column(Text)
    source: Mapped[str] = mapped_column(String(16), default="staff")

    __table_args__ = (
        Index("ix_thought_report_member", "member_id", "submitted_on"),
        Index("ix_thought_report_submitted", "submitted_on", "id"),
    )

    source_label = label_of(THOUGHT_REPORT_SOURCES, "source")


class ContactLog(RecordedBy, db.Model):
    """联系记录: a call, visit, message or letter with a (mobile) member."""

    __tablename__ = "contact_log"

    id: Mapped[int] = mapped_column(primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("member.id"))
    contacted_on: Mapped[date]
    method: Mapped[str] = mapped_column(String(16))
    summary: Mapped[str] = mapped_column(Text)

    __table_args__ = (Index("ix_contact_log_member", "member_id", "contacted_on"),)

    method_label = label_of(CONTACT_METHODS, "method")


class DuesPayment(RecordedBy, db.Model):
    """党费 paid for the months ``from_month`` .. ``to_month`` (first days of months,
    inclusive), possibly by another member on this member's behalf."""

    __tablename__ = "dues_payment"

    id: Mapped[int] = mapped_column(primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("member.id"))
    from_month: Mapped[date]
    to_month: Mapped[date]
    amount_fen: Mapped[int]
    paid_on: Mapped[date]
    paid_by_member_id: Mapped[int | None] = mapped_column(ForeignKey("member.id"))
    note: Mapped[str | None] = mapped_column(String(200))

    __table_args__ = (
        Index("ix_dues_payment_member", "member_id", "to_month"),
        Index("ix_dues_payment_paid_on", "paid_on", "id"),
        Index("ix_dues_payment_paid_by", "paid_by_member_id"),
    )


class LostContactCase(Versioned, Updated, db.Model):
    """失联党员: one open case per member, from survey (摸底) through verification (核实)
    to closing (验收)."""

    __tablename__ = "lost_contact_case"

    id: Mapped[int] = mapped_column(primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("member.id"))
    kind: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str] = mapped_column(String(24), default="other")
    reason_note: Mapped[str | None] = mapped_column(String(200))
    since: Mapped[date]  # since when the member is out of contact
    stage: Mapped[str] = mapped_column(String(16), default="survey")
    outcome: Mapped[str | None] = mapped_column(String(24))
    outcome_note: Mapped[str | None] = mapped_column(Text)
    suspended_on: Mapped[date | None]  # membership suspended (restorable within 2 years)
    opened_on: Mapped[date]
    closed_on: Mapped[date | None]
    opened_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    closed_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))

    __table_args__ = (
        Index("ix_lost_contact_case_member", "member_id", "opened_on"),
        Index("ix_lost_contact_case_stage", "stage", "kind", "since"),
        # At most one open case per member.
        Index(
            "uq_lost_contact_case_open_member",
            "member_id",
            unique=True,
            sqlite_where=text("stage != 'closed'"),
            postgresql_where=text("stage != 'closed'"),
        ),
    )

    kind_label = label_of(LOST_CONTACT_KINDS, "kind")
    reason_label = label_of(LOST_CONTACT_REASONS, "reason")
    stage_label = label_of(LOST_CONTACT_STAGES, "stage")
    outcome_label = label_of(LOST_CONTACT_OUTCOMES, "outcome")


class LostContactAttempt(RecordedBy, db.Model):
    """One search attempt on a lost-contact case (问/包/找/催/查)."""

    __tablename__ = "lost_contact_attempt"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("lost_contact_case.id"))
    attempted_on: Mapped[date]
    method: Mapped[str] = mapped_column(String(16))
    summary: Mapped[str] = mapped_column(Text)

    __table_args__ = (Index("ix_lost_contact_attempt_case", "case_id", "attempted_on"),)

    method_label = label_of(LOST_CONTACT_METHODS, "method")


class Appraisal(RecordedBy, Updated, db.Model):
    """民主评议: one grade per member and year."""

    __tablename__ = "appraisal"

    id: Mapped[int] = mapped_column(primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("member.id"))
    year: Mapped[int]
    grade: Mapped[str] = mapped_column(String(24))
    evidence: Mapped[str | None] = mapped_column(Text)

    __table_args__ = (
        UniqueConstraint("member_id", "year"),
        Index("ix_appraisal_year_grade", "year", "grade"),
    )

    grade_label = label_of(APPRAISAL_GRADES, "grade")
