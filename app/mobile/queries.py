"""协管 queries: who is mobile (from the management picture), the other organization, the
reminders' conditions, the member's situation for a 联系函, the 二卡三簿 books."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from sqlalchemy import Index, and_, exists, func, or_, select
from sqlalchemy.sql.elements import ColumnElement

from app.extensions import db
from app.members.management import away_clause, flow_in_clause, managed_clause, trip_now
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


# Probationary members not yet full members, by the day they joined (migration 0031): the
# reminder finds the few due without reading every member.
Index("ix_member_probation", Member.member_type, Member.full_member_on, Member.joined_on)


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
    """The organization at the other end of one member (see ``other_orgs``)."""
    return other_orgs([member]).get(member.id)


def other_orgs(members: list[Member]) -> dict[int, OtherOrg]:
    """The organization at the other end, by member id, for the mobile ones among ``members``
    (three queries however many): flow-out → where the member is (station, last letter, or the
    card's destination); flow-in → the home organization holding the relation. The trip comes
    from the management picture's rules."""
    from app.certificates.models import Certificate

    today = local_today()
    trips = {m.id: trip for m in members if (trip := trip_now(m, today)) is not None}
    if not trips:
        return {}
    ids = list(trips)
    last: dict[int, str] = {}
    for member_id, org_name in db.session.execute(
        select(MobileContact.member_id, MobileContact.org_name)
        .where(MobileContact.member_id.in_(ids))
        .order_by(MobileContact.contacted_on.desc(), MobileContact.id.desc())
    ):
        last.setdefault(member_id, org_name)
    out_ids = [i for i, trip in trips.items() if trip.direction == "out"]
    stations = stations_of(out_ids)
    destinations: dict[int, str | None] = {}
    if out_ids:
        for member_id, destination in db.session.execute(
            select(Certificate.member_id, Certificate.destination)
            .where(Certificate.member_id.in_(out_ids), Certificate.status == "issued")
            .order_by(Certificate.id.desc())
        ):
            destinations.setdefault(member_id, destination)
    found: dict[int, OtherOrg] = {}
    for member in members:
        trip = trips.get(member.id)
        if trip is None:
            continue
        if trip.direction == "in":
            name = member.relation_org_name or last.get(member.id) or "原籍党组织（未填写）"
            found[member.id] = OtherOrg("in", name, member.origin_org_contact, trip.place)
            continue
        station = stations.get(member.id)
        if station is not None:
            found[member.id] = OtherOrg("out", station.name, station.contact, station.place)
            continue
        place = destinations.get(member.id) or trip.place
        name = last.get(member.id) or (f"{place}党组织" if place else "流入地党组织（未填写）")
        found[member.id] = OtherOrg("out", name, member.mobility_contact, place)
    return found


def stations_of(member_ids: list[int]) -> dict[int, MobileStation]:
    if not member_ids:
        return {}
    return {
        member_id: station
        for member_id, station in db.session.execute(
            select(MobileStationMember.member_id, MobileStation)
            .join(MobileStation, MobileStationMember.station_id == MobileStation.id)
            .where(MobileStationMember.member_id.in_(member_ids))
        )
    }


def station_of(member_id: int) -> MobileStation | None:
    return stations_of([member_id]).get(member_id)


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
