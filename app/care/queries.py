"""共管 queries: the visits-due work list (one SQL condition per occasion kind, the same rules
as ``app.care.rules``), a member's care picture, the 老党员 lists."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import Index, and_, exists, extract, false, func, or_, select
from sqlalchemy.sql.elements import ColumnElement

from app.care import rules
from app.care.models import CareEvent, CarePlan, CareVisit
from app.extensions import db
from app.members.management import managed_clause
from app.members.models import Member
from app.organization.scope import member_scope_filter
from app.settings import get_setting
from app.timeutil import local_today

# The visits due over a whole street (``due_clause``): the 共管 members' birth dates read from
# this index, not from the wide member rows (migrations 0031, 0033). Category and birth date
# lead, so it is not mistaken for the narrower status/category indexes the counts by status
# and category scan.
Index("ix_member_care_due", Member.category, Member.birth_date, Member.status, Member.id)


def current_rules() -> rules.Rules:
    return rules.Rules.of(get_setting("care_visit_rules"))


def shared_clause() -> ColumnElement[bool]:
    """The members 共管 applies to: category 共管, active (a visit to the deceased is not due)."""
    return and_(Member.category == "shared", Member.status == "active")


def _not_visited(key: Any) -> ColumnElement[bool]:
    return ~exists().where(CareVisit.member_id == Member.id, CareVisit.occasion == key)


def due_clause(today: date, r: rules.Rules) -> ColumnElement[bool]:
    """Some visit is due today (``rules.due_occasions`` non-empty), in SQL."""
    parts = []
    for age in r.round_ages():
        lo, hi = rules.birth_range(age, today, r)
        parts.append(and_(Member.birth_date.between(lo, hi), _not_visited(rules.birthday_key(age))))
    for kind, on, min_age in rules.festival_occasions(today, r):
        oldest_birth = rules.anniversary(on, -min_age) if min_age else None
        age_ok = Member.birth_date <= oldest_birth if oldest_birth else True
        parts.append(and_(age_ok, _not_visited(rules.festival_key(kind, on))))
    illness = (
        select(CareEvent.id)
        .where(
            CareEvent.member_id == Member.id,
            CareEvent.occurred_on <= today,
            # the member's own visits first: an index search (most visits have no event)
            ~exists().where(
                CareVisit.member_id == CareEvent.member_id, CareVisit.event_id == CareEvent.id
            ),
        )
        .exists()
    )
    parts.append(illness)
    return or_(*parts) if parts else false()


def due_where(user: Any, today: date | None = None, r: rules.Rules | None = None) -> list:
    today = today or local_today()
    return [shared_clause(), member_scope_filter(user), due_clause(today, r or current_rules())]


def due_count(user: Any, where: list | None = None) -> int:
    """How many members have a visit due (``where``: ``due_where``'s list, if already built)."""
    where = where if where is not None else due_where(user)
    return db.session.execute(select(func.count(Member.id)).where(*where)).scalar_one()


@dataclass(frozen=True)
class CareFacts:
    plan: CarePlan | None
    events: list[CareEvent]
    visits: list[CareVisit]
    due: list[rules.Occasion]


def illnesses_of(member_ids: list[int]) -> dict[int, list[tuple[int, date, str]]]:
    found: dict[int, list[tuple[int, date, str]]] = {}
    if not member_ids:
        return found
    for event in db.session.execute(
        select(CareEvent).where(CareEvent.member_id.in_(member_ids))
    ).scalars():
        found.setdefault(event.member_id, []).append(
            (event.id, event.occurred_on, event.kind_label + "探望")
        )
    return found


def visited_keys(member_ids: list[int]) -> dict[int, set[str]]:
    found: dict[int, set[str]] = {}
    if not member_ids:
        return found
    for member_id, key in db.session.execute(
        select(CareVisit.member_id, CareVisit.occasion).where(CareVisit.member_id.in_(member_ids))
    ):
        found.setdefault(member_id, set()).add(key)
    return found


def due_for(
    members: list[Any], today: date | None = None, r: rules.Rules | None = None
) -> dict[int, list[rules.Occasion]]:
    """Each member's due occasions (the pure rule), for a page of members: two queries."""
    today = today or local_today()
    r = r or current_rules()
    ids = [m.id for m in members]
    ill, visited = illnesses_of(ids), visited_keys(ids)
    return {
        m.id: rules.due_occasions(
            m.birth_date, today, r, ill.get(m.id, []), visited.get(m.id, set())
        )
        for m in members
    }


def care_facts(member: Member) -> CareFacts:
    plan = db.session.execute(
        select(CarePlan).where(CarePlan.member_id == member.id)
    ).scalar_one_or_none()
    events = list(
        db.session.execute(
            select(CareEvent)
            .where(CareEvent.member_id == member.id)
            .order_by(CareEvent.occurred_on.desc(), CareEvent.id.desc())
        ).scalars()
    )
    visits = list(
        db.session.execute(
            select(CareVisit)
            .where(CareVisit.member_id == member.id)
            .order_by(CareVisit.visited_on.desc(), CareVisit.id.desc())
        ).scalars()
    )
    due = due_for([member])[member.id] if member.category == "shared" else []
    return CareFacts(plan, events, visits, due)


# ---- 老党员 -------------------------------------------------------------------------------------


def veterans_where(user: Any, year: int, years: int, only_that_year: bool) -> list:
    """Managed members in scope with at least ``years`` of membership by the end of ``year``
    (``only_that_year``: those who reach exactly ``years`` in ``year`` — 光荣在党50年 of that year)."""
    where = [managed_clause(), member_scope_filter(user), Member.joined_on.is_not(None)]
    if only_that_year:
        where.append(extract("year", Member.joined_on) == year - years)
    else:
        where.append(Member.joined_on <= date(year - years, 12, 31))
    return where
