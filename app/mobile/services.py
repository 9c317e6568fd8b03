"""协管 changes: contacts with the other organization, stations and their members. They flush
and audit; never commit."""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import select

from app.audit import record
from app.errors import DomainError
from app.extensions import db
from app.members.models import Member
from app.mobile.models import (
    CHANNELS,
    DIRECTIONS,
    KINDS,
    MobileContact,
    MobileStation,
    MobileStationMember,
)
from app.timeutil import local_today


def log_contact(member: Member, data: dict[str, Any], user: Any) -> MobileContact:
    errors = {}
    if data.get("contacted_on") and data["contacted_on"] > local_today():
        errors["contacted_on"] = "日期不能晚于今天"
    for key, codes in (("kind", KINDS), ("direction", DIRECTIONS), ("channel", CHANNELS)):
        if data.get(key) not in codes:
            errors[key] = "请选择"
    if not (data.get("org_name") or "").strip():
        errors["org_name"] = "请填写对方党组织"
    if not (data.get("summary") or "").strip():
        errors["summary"] = "请填写主要内容"
    if errors:
        raise DomainError(errors)
    contact = MobileContact(
        member_id=member.id,
        contacted_on=data["contacted_on"],
        kind=data["kind"],
        direction=data["direction"],
        channel=data["channel"],
        org_name=data["org_name"].strip(),
        summary=data["summary"].strip(),
        created_by_id=getattr(user, "id", None),
    )
    db.session.add(contact)
    db.session.flush()
    record(
        "mobile_contact_log",
        contact,
        after={"member_id": member.id, "kind": contact.kind, "direction": contact.direction},
        user=user,
    )
    return contact


def save_station(station: MobileStation | None, data: dict[str, Any], user: Any) -> MobileStation:
    if not (data.get("name") or "").strip():
        raise DomainError("请填写管理站名称", field="name")
    if not (data.get("place") or "").strip():
        raise DomainError("请填写所在地", field="place")
    created = station is None
    if created:
        station = MobileStation(
            community_id=data["community_id"], created_by_id=getattr(user, "id", None)
        )
        db.session.add(station)
    for key in ("name", "place", "contact", "notes"):
        value = (data.get(key) or "").strip() or None
        setattr(station, key, value)
    db.session.flush()
    record(
        "mobile_station_save",
        station,
        after={"name": station.name, "place": station.place, "created": created},
        user=user,
    )
    return station


def add_station_member(station: MobileStation, member: Member, user: Any) -> None:
    existing = db.session.execute(
        select(MobileStationMember).where(MobileStationMember.member_id == member.id)
    ).scalar_one_or_none()
    if existing is not None:
        if existing.station_id == station.id:
            raise DomainError("该党员已在本管理站", field="member")
        raise DomainError("该党员已编入另一个管理站，请先从原管理站移出", field="member")
    db.session.add(
        MobileStationMember(
            station_id=station.id, member_id=member.id, created_by_id=getattr(user, "id", None)
        )
    )
    db.session.flush()
    record("mobile_station_members", station, after={"added": member.id}, user=user)


def remove_station_member(station: MobileStation, member_id: int, user: Any) -> None:
    row = db.session.execute(
        select(MobileStationMember).where(
            MobileStationMember.station_id == station.id, MobileStationMember.member_id == member_id
        )
    ).scalar_one_or_none()
    if row is None:
        raise DomainError("该党员不在本管理站")
    db.session.delete(row)
    db.session.flush()
    record("mobile_station_members", station, after={"removed": member_id}, user=user)


def default_period(today: date | None = None) -> tuple[date, date]:
    """The 联系函's default period: the last six months up to today."""
    from app.timeutil import add_months

    today = today or local_today()
    return add_months(today, -6), today
