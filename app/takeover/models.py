"""Training, job leads and referrals, and staff evidence for the 五个一 of 接管 members."""

from __future__ import annotations

from datetime import date

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from app.columns import CreatedBy, RecordedBy, label_of
from app.extensions import db

# The 五个一 (seed 003): item key -> label.
FIVE_ITEMS = {
    "org_life": "过一次组织生活会",
    "report": "作一次思想汇报",
    "skill": "掌握一门技术",
    "job": "找一个合适岗位",
    "contribution": "为社区建设做一份贡献",
}
REFERRAL_OUTCOMES = {
    "pending": "待反馈",
    "hired": "已录用",
    "declined": "本人未接受",
    "rejected": "用人单位未录用",
}


class TrainingRecord(RecordedBy, db.Model):
    """掌握一门技术: a course a member attended (再就业培训), with its certificate if any."""

    __tablename__ = "training_record"

    id: Mapped[int] = mapped_column(primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("member.id"), index=True)
    course: Mapped[str] = mapped_column(String(100))
    provider: Mapped[str] = mapped_column(String(100))
    started_on: Mapped[date]
    ended_on: Mapped[date | None]
    certificate: Mapped[str | None] = mapped_column(String(100))


class JobLead(CreatedBy, db.Model):
    """岗位信息: a post an employer offers, published by staff of a community."""

    __tablename__ = "job_lead"

    id: Mapped[int] = mapped_column(primary_key=True)
    community_id: Mapped[int] = mapped_column(ForeignKey("place.id"))
    employer: Mapped[str] = mapped_column(String(100))
    post: Mapped[str] = mapped_column(String(100))
    contact: Mapped[str] = mapped_column(String(100))
    valid_until: Mapped[date]
    notes: Mapped[str | None] = mapped_column(Text)

    __table_args__ = (Index("ix_job_lead_community", "community_id", "valid_until", "id"),)


class JobReferral(RecordedBy, db.Model):
    """A member put forward for a post (from a lead or found otherwise), and what came of it."""

    __tablename__ = "job_referral"

    id: Mapped[int] = mapped_column(primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("member.id"), index=True)
    job_lead_id: Mapped[int | None] = mapped_column(ForeignKey("job_lead.id"), index=True)
    employer: Mapped[str] = mapped_column(String(100))
    post: Mapped[str] = mapped_column(String(100))
    referred_on: Mapped[date]
    outcome: Mapped[str] = mapped_column(String(16), default="pending")
    outcome_on: Mapped[date | None]
    note: Mapped[str | None] = mapped_column(String(200))

    outcome_label = label_of(REFERRAL_OUTCOMES, "outcome")


class FiveOneEvidence(RecordedBy, db.Model):
    """Staff's record of one 五个一 item where no record ticks it by itself (e.g. a skill learnt
    outside a recorded course, a contribution not logged as service)."""

    __tablename__ = "five_one_evidence"

    id: Mapped[int] = mapped_column(primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("member.id"))
    year: Mapped[int]
    item: Mapped[str] = mapped_column(String(16))
    done_on: Mapped[date]
    note: Mapped[str] = mapped_column(String(200))

    __table_args__ = (UniqueConstraint("member_id", "year", "item"),)

    item_label = label_of(FIVE_ITEMS, "item")
