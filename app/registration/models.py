"""Public self-registrations (报到登记) and their review."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, Index, LargeBinary, String, text
from sqlalchemy.orm import Mapped, mapped_column

from app.extensions import db
from app.timeutil import utcnow

REGISTRATION_KINDS = {
    "in_service_report": "在职党员到社区报到",
    "relation_transfer_in": "组织关系转入",
    "flow_in": "流入党员登记",
    "flow_out_report": "外出报告",
}
REGISTRATION_STATUSES = {
    "submitted": "待审核",
    "returned": "退回修改",
    "approved": "已通过",
    "rejected": "未通过",
}
OPEN_STATUSES = ("submitted", "returned")
# Another submission for an ID number that already has an open registration, by someone who did
# not give the phone number recorded on it: kept with that registration for the staff, never a
# second open one. The submitter is shown an ordinary pending registration (PUBLIC_STATUS).
MERGED = "merged"
STAFF_ONLY_STATUSES = {MERGED: "同一身份证号的另一次提交"}
PUBLIC_STATUS = {MERGED: "submitted"}


class Registration(db.Model):
    __tablename__ = "registration"

    id: Mapped[int] = mapped_column(primary_key=True)
    version: Mapped[int] = mapped_column(default=1)
    tracking_code: Mapped[str] = mapped_column(String(16), unique=True)
    # The form's idempotency key: a retried or double-clicked submit finds the same row.
    idempotency_key: Mapped[str] = mapped_column(String(64), unique=True)
    kind: Mapped[str] = mapped_column(String(32))
    status: Mapped[str] = mapped_column(String(16), default="submitted")
    # Everything the member entered, except the ID number (kept encrypted below).
    data: Mapped[dict] = mapped_column(JSON)
    name: Mapped[str] = mapped_column(String(50))
    id_number_enc: Mapped[bytes] = mapped_column(LargeBinary)
    id_hash: Mapped[str] = mapped_column(String(64), index=True)
    phone: Mapped[str] = mapped_column(String(20))
    community_id: Mapped[int | None] = mapped_column(ForeignKey("place.id"), index=True)
    grid_id: Mapped[int | None] = mapped_column(ForeignKey("place.id"), index=True)
    building_id: Mapped[int | None] = mapped_column(ForeignKey("place.id"))
    member_id: Mapped[int | None] = mapped_column(ForeignKey("member.id"), index=True)
    # A merged submission: the open registration of the same ID number it was attached to.
    merged_into_id: Mapped[int | None] = mapped_column(ForeignKey("registration.id"), index=True)
    submitted_by_user_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    consent_version: Mapped[str] = mapped_column(String(16))
    consent_at: Mapped[datetime]
    sensitive_consent: Mapped[bool] = mapped_column(default=False)
    decision_reason: Mapped[str | None] = mapped_column(String(300))
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    decided_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    __mapper_args__ = {"version_id_col": version}
    __table_args__ = (
        # At most one open registration per person.
        Index(
            "uq_registration_open_id_hash",
            "id_hash",
            unique=True,
            sqlite_where=text("status IN ('submitted', 'returned')"),
            postgresql_where=text("status IN ('submitted', 'returned')"),
        ),
        Index("ix_registration_status_created", "status", "created_at"),
    )

    @property
    def kind_label(self) -> str:
        return REGISTRATION_KINDS.get(self.kind, self.kind)

    @property
    def status_label(self) -> str:
        """The status as the staff see it."""
        return REGISTRATION_STATUSES.get(self.status) or STAFF_ONLY_STATUSES.get(
            self.status, self.status
        )

    @property
    def public_status(self) -> str:
        """The status as the submitter sees it: a merged submission looks like any pending one."""
        return PUBLIC_STATUS.get(self.status, self.status)

    @property
    def public_status_label(self) -> str:
        return REGISTRATION_STATUSES.get(self.public_status, self.public_status)

    @property
    def public_reason(self) -> str | None:
        """The decision reason, when the submitter's own registration was decided."""
        return self.decision_reason if self.status in ("returned", "rejected") else None
