"""协管 records: contacts with the other organization (情况反馈, 联系函, 三方协商) and the
流动党员管理站 of members who left together (集出集管)."""

from __future__ import annotations

from datetime import date

from sqlalchemy import ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from app.columns import CreatedBy, Updated, label_of
from app.extensions import db

DIRECTIONS = {"sent": "发出", "received": "收到"}
CHANNELS = {
    "letter": "信函",
    "phone": "电话",
    "message": "短信/微信",
    "email": "电子邮件",
    "meeting": "当面",
}
KINDS = {
    "feedback": "情况反馈",
    "letter": "联系函",
    "consult": "三方协商",
}


class MobileContact(CreatedBy, db.Model):
    """One exchange with the other organization about a mobile member (联系簿)."""

    __tablename__ = "mobile_contact"

    id: Mapped[int] = mapped_column(primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("member.id"))
    contacted_on: Mapped[date]
    kind: Mapped[str] = mapped_column(String(16), default="feedback")
    direction: Mapped[str] = mapped_column(String(16))
    channel: Mapped[str] = mapped_column(String(16))
    org_name: Mapped[str] = mapped_column(String(100))
    summary: Mapped[str] = mapped_column(Text)

    direction_label = label_of(DIRECTIONS, "direction")
    channel_label = label_of(CHANNELS, "channel")
    kind_label = label_of(KINDS, "kind")

    __table_args__ = (Index("ix_mobile_contact_member_date", "member_id", "contacted_on"),)


class MobileStation(CreatedBy, Updated, db.Model):
    """流动党员管理站 at a destination where members from here work together (集出集管)."""

    __tablename__ = "mobile_station"

    id: Mapped[int] = mapped_column(primary_key=True)
    community_id: Mapped[int] = mapped_column(ForeignKey("place.id"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    place: Mapped[str] = mapped_column(String(100))
    contact: Mapped[str | None] = mapped_column(String(100))
    notes: Mapped[str | None] = mapped_column(String(300))


class MobileStationMember(CreatedBy, db.Model):
    """A member at a station (one station per member)."""

    __tablename__ = "mobile_station_member"

    id: Mapped[int] = mapped_column(primary_key=True)
    station_id: Mapped[int] = mapped_column(ForeignKey("mobile_station.id"), index=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("member.id"), unique=True)
