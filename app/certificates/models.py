"""Printed documents: mobile-member certificates, transfer letters, batch print jobs."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import JSON, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from app.columns import Created, CreatedBy, RecordedBy, Versioned
from app.extensions import db

# How often a card is checked (months) and how the card says it.
INTERVALS = {12: "每年查验一次", 6: "每半年查验一次", 3: "每季度查验一次"}
CERTIFICATE_STATUSES = {
    "issued": "有效",
    "returned": "已交回",
    "transferred": "已转接",
    "revoked": "已注销",
    "expired": "已过期",
}


class Certificate(Versioned, CreatedBy, db.Model):
    """流动党员活动证: issued here for flow-out members, or recorded for flow-in members."""

    __tablename__ = "certificate"

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(32), unique=True)
    # Random serial (>= 128 bits) carried, signed, by the QR code; never personal data.
    serial: Mapped[str] = mapped_column(String(64), unique=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("member.id"), index=True)
    direction: Mapped[str] = mapped_column(
        String(8), default="out"
    )  # out: issued here; in: recorded
    status: Mapped[str] = mapped_column(String(16), default="issued", index=True)
    issuing_org_id: Mapped[int | None] = mapped_column(ForeignKey("org.id"))
    issuing_org_name: Mapped[str | None] = mapped_column(String(100))
    issued_on: Mapped[date]
    valid_until: Mapped[date]
    left_on: Mapped[date | None]
    reason: Mapped[str | None] = mapped_column(String(100))
    destination: Mapped[str | None] = mapped_column(String(100))
    occupation: Mapped[str | None] = mapped_column(String(100))
    contact_phone: Mapped[str | None] = mapped_column(String(30))
    liaison_name: Mapped[str | None] = mapped_column(String(50))
    liaison_phone: Mapped[str | None] = mapped_column(String(30))
    verification_interval_months: Mapped[int] = mapped_column(default=12)
    next_verification_due: Mapped[date | None]
    replaces_id: Mapped[int | None] = mapped_column(ForeignKey("certificate.id"))
    pdf_sha256: Mapped[str | None] = mapped_column(String(64))
    short_code: Mapped[str | None] = mapped_column(String(16))
    closed_on: Mapped[date | None]
    closed_reason: Mapped[str | None] = mapped_column(String(300))

    __table_args__ = (
        # The due lists and reminders: open certificates by check date / by expiry.
        Index("ix_certificate_status_due", "status", "next_verification_due"),
        Index("ix_certificate_status_valid", "status", "valid_until"),
    )


class CertificateCheck(RecordedBy, db.Model):
    """A periodic verification stamp recorded against a certificate."""

    __tablename__ = "certificate_check"

    id: Mapped[int] = mapped_column(primary_key=True)
    certificate_id: Mapped[int] = mapped_column(ForeignKey("certificate.id"), index=True)
    checked_on: Mapped[date]
    organization: Mapped[str] = mapped_column(String(100))
    opinion: Mapped[str | None] = mapped_column(String(300))


class TransferLetter(CreatedBy, db.Model):
    """组织关系介绍信 with counterfoil (存根) and return slip (回执)."""

    __tablename__ = "transfer_letter"

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(32), unique=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("member.id"), index=True)
    to_org_name: Mapped[str] = mapped_column(String(100))
    from_org_name: Mapped[str] = mapped_column(String(100))
    dues_paid_until: Mapped[date | None]
    issued_on: Mapped[date]
    valid_days: Mapped[int] = mapped_column(default=30)
    returned_on: Mapped[date | None]
    status: Mapped[str] = mapped_column(String(16), default="issued")


class ReceivedLetter(CreatedBy, db.Model):
    """An incoming 组织关系介绍信 (a member transferring in) and the 回执 sent back for it."""

    __tablename__ = "received_letter"
    __table_args__ = (UniqueConstraint("member_id", "number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("member.id"), index=True)
    number: Mapped[str] = mapped_column(String(40))
    from_org_name: Mapped[str] = mapped_column(String(100))
    to_org_name: Mapped[str] = mapped_column(String(100))
    received_on: Mapped[date]
    reply_sent_on: Mapped[date | None]


class PrintJob(Created, db.Model):
    """A background batch rendering one PDF of many documents."""

    __tablename__ = "print_job"

    id: Mapped[int] = mapped_column(primary_key=True)
    token: Mapped[str] = mapped_column(String(64), unique=True)
    kind: Mapped[str] = mapped_column(String(32))
    params: Mapped[dict] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(16), default="queued")
    done: Mapped[int] = mapped_column(default=0)
    total: Mapped[int] = mapped_column(default=0)
    result_path: Mapped[str | None] = mapped_column(String(300))
    error: Mapped[str | None] = mapped_column(Text)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"), index=True)
    finished_at: Mapped[datetime | None]
    expires_at: Mapped[datetime | None]
