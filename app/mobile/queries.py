"""协管 queries: who is mobile (from the management picture), the other organization, the
reminders' conditions, the member's situation for a 联系函, the 二卡三簿 books."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from sqlalchemy import and_, exists, func, or_, select
from sqlalchemy.sql.elements import ColumnElement

from app.extensions import db
from app.members.management import away_clause, flow_in_clause, managed_clause, picture_of
from app.members.models import Member
from app.mobile import rules
from app.mobile.models import MobileContact, MobileStation, MobileStationMember
from app.organization.scope import member_scope_filter
from app.settings import get_setting
from app.timeutil import local_today


def mobile_clause(today: date) -> ColumnElement[bool]:
    """Mobile members (协管 two-way management): managed, away on a trip or flowed in here."""
    return and_(managed_clause(), or_(away_clause(today), flow_in_clause()))


def mobile_where(user: Any, today: date | None = None) -> list:
    return [mobile_clause(today or local_today()), member_scope_filter(user)]


def org_contact_overdue_clause(today: date) -> ColumnElement[bool]:
    days = int(get_setting("mobile_org_contact_days"))
    cutoff = today - timedelta(days=days)
    return and_(
        ~exists().where(MobileContact.member_id == Member.id, MobileContact.contacted_on > cutoff),
        or_(Member.mobility_since.is_(None), Member.mobility_since <= cutoff),
    )


def probation_due_clause(today: date) -> ColumnElement[bool]:
    days = int(get_setting("probation_reminder_days"))
    return and_(
        Member.member_type == "probationary",
        Member.full_member_on.is_(None),
        Member.joined_on <= rules.latest_joined_due_by(today + timedelta(days=days)),
    )


FILTERS = {
    "contact": ("与对方党组织联系逾期", org_contact_overdue_clause),
    "probation": ("预备党员转正到期", probation_due_clause),
}


def list_where(user: Any, direction: str | None, due: str | None) -> list:
    today = local_today()
    where = mobile_where(user, today)
    if direction == "out":
        where.append(away_clause(today))
    elif direction == "in":
        where.append(flow_in_clause())
    if due in FILTERS:
        where.append(FILTERS[due][1](today))
    return where


def count(user: Any, due: str) -> int:
    return db.session.execute(
        select(func.count(Member.id)).where(*list_where(user, None, due))
    ).scalar_one()


@dataclass(frozen=True)
class OtherOrg:
    direction: str  # "out": the destination's organization; "in": the home organization
    name: str
    contact: str | None
    place: str | None

    @property
    def role(self) -> str:
        return "流入地党组织" if self.direction == "out" else "流出地（原籍）党组织"


def other_org(member: Member) -> OtherOrg | None:
    """The organization at the other end, read from the management picture, the card and the
    station: flow-out → where the member is (station, last letter, or the card's destination);
    flow-in → the home organization holding the relation."""
    picture = picture_of(member, local_today())
    trip = picture.trip
    if trip is None:
        return None
    last = db.session.execute(
        select(MobileContact.org_name)
        .where(MobileContact.member_id == member.id)
        .order_by(MobileContact.contacted_on.desc(), MobileContact.id.desc())
        .limit(1)
    ).scalar()
    if trip.direction == "in":
        name = member.relation_org_name or last or "原籍党组织（未填写）"
        return OtherOrg("in", name, member.origin_org_contact, trip.place)
    station = station_of(member.id)
    if station is not None:
        return OtherOrg("out", station.name, station.contact, station.place)
    from app.certificates.models import Certificate

    destination = db.session.execute(
        select(Certificate.destination)
        .where(Certificate.member_id == member.id, Certificate.status == "issued")
        .order_by(Certificate.id.desc())
        .limit(1)
    ).scalar()
    place = destination or trip.place
    name = last or (f"{place}党组织" if place else "流入地党组织（未填写）")
    return OtherOrg("out", name, member.mobility_contact, place)


def station_of(member_id: int) -> MobileStation | None:
    return db.session.execute(
        select(MobileStation)
        .join(MobileStationMember, MobileStationMember.station_id == MobileStation.id)
        .where(MobileStationMember.member_id == member_id)
    ).scalar_one_or_none()


def contacts_of(member_id: int) -> list[MobileContact]:
    return list(
        db.session.execute(
            select(MobileContact)
            .where(MobileContact.member_id == member_id)
            .order_by(MobileContact.contacted_on.desc(), MobileContact.id.desc())
        ).scalars()
    )


def situation(member: Member, start: date, end: date) -> dict:
    """What the 联系函 reports for ``start``–``end``: org life, dues, thought reports, contacts
    recorded here (app/followup's records)."""
    from app.followup.models import (
        ContactLog,
        DuesPayment,
        OrgEvent,
        OrgEventAttendance,
        ThoughtReport,
    )

    attendance = db.session.execute(
        select(OrgEventAttendance.held_on, OrgEvent.title, OrgEventAttendance.status)
        .join(OrgEvent, OrgEvent.id == OrgEventAttendance.event_id)
        .where(
            OrgEventAttendance.member_id == member.id,
            OrgEventAttendance.held_on.between(start, end),
        )
        .order_by(OrgEventAttendance.held_on)
    ).all()
    dues = db.session.execute(
        select(
            DuesPayment.paid_on,
            DuesPayment.from_month,
            DuesPayment.to_month,
            DuesPayment.amount_fen,
        )
        .where(DuesPayment.member_id == member.id, DuesPayment.paid_on.between(start, end))
        .order_by(DuesPayment.paid_on)
    ).all()
    reports = db.session.execute(
        select(ThoughtReport.submitted_on, ThoughtReport.period)
        .where(ThoughtReport.member_id == member.id, ThoughtReport.submitted_on.between(start, end))
        .order_by(ThoughtReport.submitted_on)
    ).all()
    contacts = db.session.execute(
        select(func.count(ContactLog.id)).where(
            ContactLog.member_id == member.id, ContactLog.contacted_on.between(start, end)
        )
    ).scalar_one()
    return {
        "attendance": attendance,
        "dues": dues,
        "reports": reports,
        "contacts": contacts,
        "dues_paid_until": member.dues_paid_until,
    }
