"""双管 (in-service members): needs and service posts, claims, QR sign-ins, service records,
feedback sheets to the work unit and the work unit's requests for the community's opinion."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from app.columns import CreatedBy, Updated, Versioned, label_of
from app.extensions import db
from app.timeutil import utcnow

NEED_KINDS = {"need": "社区需求", "post": "服务岗位", "activity": "社区活动"}
NEED_STATUSES = {"open": "招募中", "closed": "已结束"}
CLAIM_STATUSES = {"claimed": "已认领", "withdrawn": "已退出"}
SERVICE_SOURCES = {"staff": "工作人员录入", "member": "党员自报", "signin": "扫码签到"}
SERVICE_STATUSES = {"pending": "待确认", "confirmed": "已确认", "rejected": "未确认"}
RATINGS = {"excellent": "优秀", "good": "良好", "fair": "一般", "poor": "较差"}
SHEET_STATUSES = {"pending": "待发送", "sent": "已发送", "returned": "已回执"}
SEND_METHODS = {
    "post": "邮寄",
    "hand": "当面送达",
    "fax": "传真",
    "email": "电子邮件",
    "other": "其他",
}
OPINION_STATUSES = {"open": "待答复", "answered": "已答复"}


class Need(CreatedBy, Updated, db.Model):
    """A need or service post (需求清单 / 服务岗位) a community publishes; also the activity
    members sign in to with the QR code."""

    __tablename__ = "dual_need"

    id: Mapped[int] = mapped_column(primary_key=True)
    community_id: Mapped[int] = mapped_column(ForeignKey("place.id"))
    kind: Mapped[str] = mapped_column(String(16), default="need")
    title: Mapped[str] = mapped_column(String(100))
    place: Mapped[str | None] = mapped_column(String(100))
    slots: Mapped[str | None] = mapped_column(String(200))  # time slots; empty: open-ended
    starts_on: Mapped[date | None]
    ends_on: Mapped[date | None]
    places: Mapped[int] = mapped_column(default=1)
    claimed: Mapped[int] = mapped_column(default=0)  # live claims, kept by a guarded UPDATE
    skills: Mapped[str | None] = mapped_column(String(200))
    description: Mapped[str | None] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16), default="open")

    __table_args__ = (Index("ix_dual_need_community_status", "community_id", "status", "id"),)

    kind_label = label_of(NEED_KINDS, "kind")
    status_label = label_of(NEED_STATUSES, "status")

    @property
    def free(self) -> int:
        return max(self.places - self.claimed, 0)


class Claim(db.Model):
    """A member's claim (认领) of a need or post; one row per member and need."""

    __tablename__ = "dual_claim"

    id: Mapped[int] = mapped_column(primary_key=True)
    need_id: Mapped[int] = mapped_column(ForeignKey("dual_need.id"))
    member_id: Mapped[int] = mapped_column(ForeignKey("member.id"), index=True)
    status: Mapped[str] = mapped_column(String(16), default="claimed")
    claimed_at: Mapped[datetime] = mapped_column(default=utcnow)
    withdrawn_at: Mapped[datetime | None]

    __table_args__ = (UniqueConstraint("need_id", "member_id", name="uq_dual_claim_need_member"),)

    status_label = label_of(CLAIM_STATUSES, "status")


class SignIn(db.Model):
    """A member's QR sign-in (and sign-out) at an activity: one per member and activity."""

    __tablename__ = "dual_signin"

    id: Mapped[int] = mapped_column(primary_key=True)
    need_id: Mapped[int] = mapped_column(ForeignKey("dual_need.id"))
    member_id: Mapped[int] = mapped_column(ForeignKey("member.id"), index=True)
    signed_in_at: Mapped[datetime] = mapped_column(default=utcnow)
    signed_out_at: Mapped[datetime | None]
    service_id: Mapped[int | None] = mapped_column(ForeignKey("dual_service.id"))

    __table_args__ = (UniqueConstraint("need_id", "member_id", name="uq_dual_signin_need_member"),)


class Service(CreatedBy, db.Model):
    """One service a member did: date, hours, what was done. Counts only once confirmed."""

    __tablename__ = "dual_service"

    id: Mapped[int] = mapped_column(primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("member.id"))
    need_id: Mapped[int | None] = mapped_column(ForeignKey("dual_need.id"), index=True)
    served_on: Mapped[date]
    minutes: Mapped[int]
    content: Mapped[str] = mapped_column(String(300))
    source: Mapped[str] = mapped_column(String(16), default="staff")
    status: Mapped[str] = mapped_column(String(16), default="pending")
    confirmed_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    confirmed_at: Mapped[datetime | None]

    __table_args__ = (
        Index("ix_dual_service_member_served", "member_id", "served_on"),
        # the waiting list: status, then the scope as a list of member ids, newest first
        Index("ix_dual_service_status", "status", "member_id", "id"),
    )

    source_label = label_of(SERVICE_SOURCES, "source")
    status_label = label_of(SERVICE_STATUSES, "status")

    @property
    def hours(self) -> float:
        return round(self.minutes / 60, 1)


class FeedbackSheet(Versioned, Updated, db.Model):
    """在职党员社区表现反馈单 for one member and period, tracked 待发送 → 已发送 → 已回执."""

    __tablename__ = "dual_feedback"

    id: Mapped[int] = mapped_column(primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("member.id"))
    period_key: Mapped[str] = mapped_column(String(8))  # 2026H1, 2026H2 or 2026
    period_start: Mapped[date]
    period_end: Mapped[date]
    employer: Mapped[str | None] = mapped_column(String(100))
    rating: Mapped[str | None] = mapped_column(String(16))
    comment: Mapped[str | None] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16), default="pending")
    sent_on: Mapped[date | None]
    sent_via: Mapped[str | None] = mapped_column(String(16))
    returned_on: Mapped[date | None]
    employer_note: Mapped[str | None] = mapped_column(Text)

    __table_args__ = (
        UniqueConstraint("member_id", "period_key", name="uq_dual_feedback_member_period"),
        Index("ix_dual_feedback_status", "status", "id"),
    )

    rating_label = label_of(RATINGS, "rating")
    status_label = label_of(SHEET_STATUSES, "status")
    sent_via_label = label_of(SEND_METHODS, "sent_via")


class OpinionRequest(Versioned, CreatedBy, Updated, db.Model):
    """考察党员干部听取社区意见: a work unit asks the community's opinion on a member."""

    __tablename__ = "dual_opinion"

    id: Mapped[int] = mapped_column(primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("member.id"), index=True)
    employer: Mapped[str] = mapped_column(String(100))
    purpose: Mapped[str] = mapped_column(String(200))
    requested_on: Mapped[date]
    answer: Mapped[str | None] = mapped_column(Text)
    answered_on: Mapped[date | None]

    @property
    def status(self) -> str:
        return "answered" if self.answered_on else "open"

    @property
    def status_label(self) -> str:
        return OPINION_STATUSES[self.status]
