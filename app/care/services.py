"""共管 changes: the care plan, illness events, visits. They flush and audit; never commit."""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import select

from app.audit import record
from app.care import rules
from app.care.models import ABILITIES, HEALTH, CareEvent, CarePlan, CareVisit
from app.errors import DomainError
from app.extensions import db
from app.members.models import Member
from app.timeutil import local_today

PLAN_FIELDS = ("health", "unit_org_name", "unit_contact", "abilities", "notes")


def _not_future(day: date | None, field: str) -> None:
    if day is not None and day > local_today():
        raise DomainError("日期不能晚于今天", field=field)


def save_plan(member: Member, data: dict[str, Any], user: Any) -> CarePlan:
    if data.get("health") not in HEALTH:
        raise DomainError("请选择健康状况", field="health")
    unknown = [a for a in data.get("abilities") or [] if a not in ABILITIES]
    if unknown:
        raise DomainError("请从列表中选择能发挥的作用", field="abilities")
    plan = db.session.execute(
        select(CarePlan).where(CarePlan.member_id == member.id)
    ).scalar_one_or_none()
    before = {k: getattr(plan, k) for k in PLAN_FIELDS} if plan else None
    if plan is None:
        plan = CarePlan(member_id=member.id)
        db.session.add(plan)
    for key in PLAN_FIELDS:
        value = data.get(key)
        if isinstance(value, str):
            value = value.strip() or None
        setattr(plan, key, value if key != "abilities" else list(value or []))
    plan.updated_by_id = getattr(user, "id", None)
    db.session.flush()
    record(
        "care_plan_save",
        plan,
        before=before,
        after={k: getattr(plan, k) for k in PLAN_FIELDS},
        user=user,
    )
    return plan


def record_event(member: Member, data: dict[str, Any], user: Any) -> CareEvent:
    _not_future(data.get("occurred_on"), "occurred_on")
    event = CareEvent(
        member_id=member.id,
        kind=data["kind"],
        occurred_on=data["occurred_on"],
        note=(data.get("note") or "").strip() or None,
        created_by_id=getattr(user, "id", None),
    )
    db.session.add(event)
    db.session.flush()
    record("care_event_record", event, after={"kind": event.kind}, user=user)
    return event


def occasion_choices(member: Member, due: list[rules.Occasion]) -> list[tuple[str, str]]:
    """The occasions a visit can be logged for: the due ones first, then 日常走访."""
    return [(o.key, f"{o.label}（{o.on.isoformat()}）") for o in due] + [("other", "日常走访")]


def log_visit(
    member: Member, data: dict[str, Any], due: list[rules.Occasion], user: Any
) -> CareVisit:
    """Log a visit for one of ``due`` (or 日常走访); a due occasion then leaves the list."""
    _not_future(data.get("visited_on"), "visited_on")
    if not (data.get("visitors") or "").strip():
        raise DomainError("请填写走访人", field="visitors")
    key = data.get("occasion") or "other"
    occasion = next((o for o in due if o.key == key), None)
    if key != "other" and occasion is None:
        raise DomainError("该走访事由已登记过或不在走访时段内，请重新选择", field="occasion")
    event_id = None
    if key.startswith("illness-"):
        event_id = int(key.removeprefix("illness-"))
    visit = CareVisit(
        member_id=member.id,
        visited_on=data["visited_on"],
        occasion=key,
        occasion_label=occasion.label if occasion else "日常走访",
        event_id=event_id,
        visitors=data["visitors"].strip(),
        unit_co_visitor=(data.get("unit_co_visitor") or "").strip() or None,
        brought=(data.get("brought") or "").strip() or None,
        follow_up=(data.get("follow_up") or "").strip() or None,
        created_by_id=getattr(user, "id", None),
    )
    db.session.add(visit)
    db.session.flush()
    record(
        "care_visit_log",
        visit,
        after={"member_id": member.id, "occasion": key, "visited_on": visit.visited_on},
        user=user,
    )
    return visit
