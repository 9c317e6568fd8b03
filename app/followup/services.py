"""Follow-up services (SPEC §9, part 1): org-life events and attendance, thought reports,
contact logs, and the work lists (overdue thought reports, contacts due, alerts).

Functions flush and write the audit entry; the request commits. Every change keeps the
member's denormalized stamps (``last_org_life_on``, ``last_thought_report_on``,
``last_contact_on``) current with plain UPDATEs, which do not bump the member's version (a
staff member editing the card at the same time is not disturbed).
"""

from __future__ import annotations

from datetime import date
from typing import Any, NamedTuple, TypeVar

from sqlalchemy import (
    ColumnElement,
    and_,
    delete,
    func,
    or_,
    select,
    update,
)
from sqlalchemy.orm import aliased

from app.audit import record
from app.errors import Conflict, DomainError
from app.extensions import db
from app.followup import rules
from app.followup.models import (
    ATTENDANCE_STATUSES,
    CONTACT_METHODS,
    EVENT_KINDS,
    ContactLog,
    OrgEvent,
    OrgEventAttendance,
    ThoughtReport,
)
from app.members.management import away_clause, participant_clause
from app.members.models import Member
from app.organization.models import Org, Place
from app.organization.scope import member_scope_filter, org_scope_filter
from app.paging import continue_after
from app.timeutil import local_today

STALE_EVENT = "该活动已被他人修改，请刷新页面后重新编辑"

ACTIVE = "active"
LIST_KINDS = {
    "thought": "思想汇报逾期",
    "contact": "流动党员联系逾期",
    "alert": "组织生活与党费预警",
}

T = TypeVar("T")


# ---- org-life events ---------------------------------------------------------------------------


def event_scope_filter(user) -> ColumnElement[bool]:  # noqa: ANN001
    """Events of the branches and groups in the user's org scope."""
    return org_scope_filter(user, OrgEvent.org_id)


def event_orgs(user) -> list[tuple[int, str]]:  # noqa: ANN001
    """Branches and groups the user may hold events for, as (id, label), tree order."""
    branch = aliased(Org, name="parent_branch")
    rows = db.session.execute(
        select(Org.id, Org.kind, Org.name, branch.name.label("branch_name"))
        .outerjoin(branch, and_(branch.id == Org.parent_id, Org.kind == "group"))
        .where(
            Org.kind.in_(("branch", "group")),
            Org.retired_at.is_(None),
            org_scope_filter(user),
        )
        .order_by(
            func.coalesce(branch.position, Org.position),
            func.coalesce(branch.id, Org.id),
            Org.kind,
            Org.position,
            Org.id,
        )
    ).all()
    return [(r.id, f"{r.branch_name} › {r.name}" if r.branch_name else r.name) for r in rows]


def check_event_data(user, data: dict[str, Any]) -> dict[str, Any]:  # noqa: ANN001
    errors: dict[str, str] = {}
    org_id = data.get("org_id")
    allowed = {oid for oid, _ in event_orgs(user)}
    if not org_id or org_id not in allowed:
        errors["org_id"] = "请选择您管理范围内的党支部或党小组"
    if data.get("kind") not in EVENT_KINDS:
        errors["kind"] = "请选择活动类型"
    title = (data.get("title") or "").strip()
    if not title:
        errors["title"] = "请填写活动主题"
    held_on = data.get("held_on")
    if not isinstance(held_on, date):
        errors["held_on"] = "请填写活动日期"
    elif held_on > local_today():
        errors["held_on"] = "活动日期不能晚于今天（组织生活记录的是已开展的活动）"
    if errors:
        raise DomainError(errors)
    return {
        "org_id": org_id,
        "kind": data["kind"],
        "held_on": held_on,
        "title": title,
        "place": (data.get("place") or "").strip() or None,
        "notes": (data.get("notes") or "").strip() or None,
    }


def _event_audit(event: OrgEvent) -> dict[str, Any]:
    return {
        "org_id": event.org_id,
        "kind": event.kind,
        "held_on": event.held_on,
        "title": event.title,
        "place": event.place,
    }


def create_event(user, data: dict[str, Any]) -> OrgEvent:  # noqa: ANN001
    values = check_event_data(user, data)
    event = OrgEvent(**values, created_by_id=user.id)
    db.session.add(event)
    db.session.flush()
    record("followup_event_create", event, after=_event_audit(event))
    return event


def update_event(event: OrgEvent, user, data: dict[str, Any], expected_version: int | None):  # noqa: ANN001, ANN201
    if expected_version is not None and expected_version != event.version:
        raise Conflict(STALE_EVENT)
    values = check_event_data(user, data)
    before = _event_audit(event)
    date_changed = values["held_on"] != event.held_on
    org_changed = values["org_id"] != event.org_id
    for key, value in values.items():
        setattr(event, key, value)
    db.session.flush()
    affected: list[int] = []
    if org_changed:
        # The roster is a different one: attendance recorded for the old one no longer applies.
        affected = _attendance_members(event.id)
        db.session.execute(
            delete(OrgEventAttendance).where(OrgEventAttendance.event_id == event.id)
        )
    elif date_changed:
        db.session.execute(
            update(OrgEventAttendance)
            .where(OrgEventAttendance.event_id == event.id)
            .values(held_on=event.held_on)
        )
        affected = _attendance_members(event.id)
    refresh_org_life_stamps(affected)
    record("followup_event_update", event, before=before, after=_event_audit(event))
    return event


def delete_event(event: OrgEvent, user) -> None:  # noqa: ANN001
    affected = _attendance_members(event.id)
    before = _event_audit(event)
    event_id = event.id
    db.session.execute(delete(OrgEventAttendance).where(OrgEventAttendance.event_id == event_id))
    db.session.delete(event)
    db.session.flush()
    refresh_org_life_stamps(affected)
    record(
        "followup_event_delete",
        object_type="org_event",
        object_id=event_id,
        before={**before, "attendance": len(affected)},
    )


def _attendance_members(event_id: int) -> list[int]:
    return list(
        db.session.execute(
            select(OrgEventAttendance.member_id).where(OrgEventAttendance.event_id == event_id)
        ).scalars()
    )


def roster_filter(event: OrgEvent, user) -> ColumnElement[bool]:  # noqa: ANN001
    """The members who take part in the event's branch or group (management picture): its own
    active members and its 报到 participants — 双管 and flow-in members living in its buildings."""
    kind = _org_kind(event.org_id)
    column = Member.group_id if kind == "group" else Member.branch_id
    groups = (
        [event.org_id] if kind == "group" else select(Org.id).where(Org.parent_id == event.org_id)
    )
    buildings = select(Place.id).where(Place.group_id.in_(groups))
    if event.kind == "dual_meeting":
        # 在职党员定期例会: the in-service members taking part here (management picture).
        return and_(
            participant_clause(buildings),
            Member.relation_location == "work_unit",
            Member.status == ACTIVE,
            member_scope_filter(user),
        )
    return and_(
        or_(column == event.org_id, participant_clause(buildings)),
        Member.status == ACTIVE,
        member_scope_filter(user),
    )


def _org_kind(org_id: int) -> str | None:
    return db.session.execute(select(Org.kind).where(Org.id == org_id)).scalar_one_or_none()


class RosterRow(NamedTuple):
    id: int
    name: str
    category: str
    status: str | None  # recorded attendance, None when not recorded yet
    note: str | None
    participant: bool = False  # takes part here as a 报到 member (relation held elsewhere)
    away: bool = False  # away on a trip on the event's day: listed as 外出, not absent


def event_roster(event: OrgEvent, user) -> list[RosterRow]:  # noqa: ANN001
    """The roster with any recorded attendance; members recorded earlier who have since left
    the branch are kept (their record stays visible). Two indexed reads (the branch's or
    group's members, the event's attendance) merged here — an OR across both tables would
    scan every member."""
    recorded = {
        r.member_id: r
        for r in db.session.execute(
            select(
                OrgEventAttendance.member_id, OrgEventAttendance.status, OrgEventAttendance.note
            ).where(OrgEventAttendance.event_id == event.id)
        )
    }
    columns = (
        Member.id,
        Member.name,
        Member.category,
        Member.name_pinyin,
        (Member.relation_location != "community").label("participant"),
        away_clause(event.held_on).label("away"),
    )
    members = {
        r.id: r for r in db.session.execute(select(*columns).where(roster_filter(event, user)))
    }
    gone = sorted(set(recorded) - set(members))
    if gone:
        for chunk in _chunks(gone, 500):
            for r in db.session.execute(
                select(*columns).where(Member.id.in_(chunk), member_scope_filter(user))
            ):
                members[r.id] = r
    ordered = sorted(members.values(), key=lambda r: (r.name_pinyin, r.id))
    rows = []
    for r in ordered:
        att = recorded.get(r.id)
        rows.append(
            RosterRow(
                r.id,
                r.name,
                r.category,
                att.status if att else None,
                att.note if att else None,
                bool(r.participant),
                bool(r.away),
            )
        )
    return rows


def set_attendance(
    event: OrgEvent,
    user,  # noqa: ANN001
    statuses: dict[int, str],
    notes: dict[int, str] | None = None,
) -> dict[str, int]:
    """Record attendance for the event's roster: ``statuses`` maps member id → status.
    Members outside the roster (or scope) are refused. Returns the counts per status."""
    notes = notes or {}
    roster = {r.id: r for r in event_roster(event, user)}
    unknown = set(statuses) - set(roster)
    if unknown:
        raise DomainError({"attendance": "名单中有不属于本次活动党组织的党员，请刷新页面后重试"})
    bad = {s for s in statuses.values() if s not in ATTENDANCE_STATUSES}
    if bad:
        raise DomainError({"attendance": "出席情况只能是出席、缺席或请假"})
    existing = {
        a.member_id: a
        for a in db.session.execute(
            select(OrgEventAttendance).where(OrgEventAttendance.event_id == event.id)
        ).scalars()
    }
    changed: list[int] = []
    for member_id, status in statuses.items():
        note = (notes.get(member_id) or "").strip()[:200] or None
        row = existing.get(member_id)
        if row is None:
            db.session.add(
                OrgEventAttendance(
                    event_id=event.id,
                    member_id=member_id,
                    held_on=event.held_on,
                    status=status,
                    note=note,
                    recorded_by_id=user.id,
                )
            )
            changed.append(member_id)
        elif row.status != status or row.note != note:
            row.status, row.note, row.recorded_by_id = status, note, user.id
            changed.append(member_id)
    db.session.flush()
    refresh_org_life_stamps(changed)
    counts = {key: 0 for key in ATTENDANCE_STATUSES}
    for status in statuses.values():
        counts[status] += 1
    record(
        "followup_attendance",
        event,
        after={"counts": counts, "changed": len(changed)},
    )
    return counts


def last_presence_sql():  # noqa: ANN201
    """The member's latest event attended: a subquery correlated with ``Member``, the value of
    ``last_org_life_on``."""
    return (
        select(func.max(OrgEventAttendance.held_on))
        .where(
            OrgEventAttendance.member_id == Member.id,
            OrgEventAttendance.status == "present",
        )
        .scalar_subquery()
    )


def refresh_org_life_stamps(member_ids: list[int]) -> None:
    """``last_org_life_on`` = the member's latest event attended (one UPDATE)."""
    if not member_ids:
        return
    latest = last_presence_sql()
    for chunk in _chunks(sorted(set(member_ids)), 500):
        db.session.execute(
            update(Member.__table__)
            .where(Member.__table__.c.id.in_(chunk))
            .values(last_org_life_on=latest),
        )


def _chunks(items: list[int], size: int):  # noqa: ANN202
    for start in range(0, len(items), size):
        yield items[start : start + size]


class EventRow(NamedTuple):
    id: int
    held_on: date
    kind_label: str
    title: str
    org_name: str
    present: int
    total: int


def recent_events(user, org_id: int | None = None, after: int | None = None, limit: int = 30):  # noqa: ANN001, ANN201
    """Events in scope, newest first (keyset on held_on, id, after event ``after``); with
    attendance counts."""
    where = [event_scope_filter(user)]
    if org_id:
        where.append(OrgEvent.org_id == org_id)
    stmt = (
        select(OrgEvent.id, OrgEvent.held_on, OrgEvent.kind, OrgEvent.title, Org.name)
        .join(Org, Org.id == OrgEvent.org_id)
        .where(*where)
    )
    order = [OrgEvent.held_on, OrgEvent.id]
    events = db.session.execute(
        stmt.where(*continue_after(stmt, order, after, descending=True))
        .order_by(OrgEvent.held_on.desc(), OrgEvent.id.desc())
        .limit(limit + 1)
    ).all()
    ids = [e.id for e in events[:limit]]
    counts: dict[int, tuple[int, int]] = {}
    if ids:
        for event_id, present, total in db.session.execute(
            select(
                OrgEventAttendance.event_id,
                func.count().filter(OrgEventAttendance.status == "present"),
                func.count(),
            )
            .where(OrgEventAttendance.event_id.in_(ids))
            .group_by(OrgEventAttendance.event_id)
        ):
            counts[event_id] = (int(present or 0), int(total))
    rows = [
        EventRow(
            e.id,
            e.held_on,
            EVENT_KINDS.get(e.kind, e.kind),
            e.title,
            e.name,
            *counts.get(e.id, (0, 0)),
        )
        for e in events[:limit]
    ]
    return rows, len(events) > limit


def member_attendance(member_id: int, limit: int = 24) -> list:
    """One member's attendance, newest first (for the member's own page and the card)."""
    return db.session.execute(
        select(
            OrgEvent.held_on,
            OrgEvent.kind,
            OrgEvent.title,
            Org.name.label("org_name"),
            OrgEventAttendance.status,
        )
        .join(OrgEvent, OrgEvent.id == OrgEventAttendance.event_id)
        .join(Org, Org.id == OrgEvent.org_id)
        .where(OrgEventAttendance.member_id == member_id)
        .order_by(OrgEventAttendance.held_on.desc(), OrgEvent.id.desc())
        .limit(limit)
    ).all()


# ---- thought reports and contact logs ----------------------------------------------------------


def thought_report_errors(
    period: date | None, summary: str | None, submitted_on: date | None
) -> dict[str, str]:
    """What is wrong with a thought report (field → message); empty when it may be saved."""
    today = local_today()
    errors: dict[str, str] = {}
    summary = (summary or "").strip()
    if not summary:
        errors["summary"] = "请填写思想汇报内容或摘要"
    elif len(summary) > 5000:
        errors["summary"] = "内容不能超过 5000 字"
    if period is None:
        errors["period"] = "请选择汇报所属月份"
    elif rules.month_start(period) > rules.month_start(today):
        errors["period"] = "所属月份不能晚于本月"
    if submitted_on is not None and submitted_on > today:
        errors["submitted_on"] = "提交日期不能晚于今天"
    return errors


def contact_errors(contacted_on: date | None, method: str | None, summary: str | None) -> dict:
    errors: dict[str, str] = {}
    summary = (summary or "").strip()
    if contacted_on is None:
        errors["contacted_on"] = "请填写联系日期"
    elif contacted_on > local_today():
        errors["contacted_on"] = "联系日期不能晚于今天"
    if method not in CONTACT_METHODS:
        errors["method"] = "请选择联系方式"
    if not summary:
        errors["summary"] = "请简要记录联系内容"
    elif len(summary) > 2000:
        errors["summary"] = "内容不能超过 2000 字"
    return errors


def record_thought_report(
    member: Member,
    user,  # noqa: ANN001
    *,
    period: date | None,
    summary: str,
    submitted_on: date | None = None,
    source: str = "staff",
) -> ThoughtReport:
    submitted_on = submitted_on or local_today()
    summary = (summary or "").strip()
    errors = thought_report_errors(period, summary, submitted_on)
    if errors:
        raise DomainError(errors)
    assert period is not None
    report = ThoughtReport(
        member_id=member.id,
        period=rules.month_start(period),
        submitted_on=submitted_on,
        summary=summary,
        source=source,
        recorded_by_id=user.id,
    )
    return _save_dated(
        report,
        Member.__table__.c.last_thought_report_on,
        submitted_on,
        "thought_report_create",
        {"member_id": member.id, "period": report.period, "source": source},
    )


def record_contact(
    member: Member,
    user,  # noqa: ANN001
    *,
    contacted_on: date | None,
    method: str,
    summary: str,
) -> ContactLog:
    summary = (summary or "").strip()
    errors = contact_errors(contacted_on, method, summary)
    if errors:
        raise DomainError(errors)
    assert contacted_on is not None
    log = ContactLog(
        member_id=member.id,
        contacted_on=contacted_on,
        method=method,
        summary=summary,
        recorded_by_id=user.id,
    )
    return _save_dated(
        log,
        Member.__table__.c.last_contact_on,
        contacted_on,
        "contact_log_create",
        {"member_id": member.id, "contacted_on": contacted_on, "method": method},
    )


def _save_dated(row: T, stamp, day: date, action: str, after: dict[str, Any]) -> T:  # noqa: ANN001
    """Add a member's dated record, move the member's ``stamp`` column forward, audit it."""
    db.session.add(row)
    db.session.flush()
    _stamp_latest(stamp, row.member_id, day)
    record(action, row, after=after)
    return row


def _stamp_latest(column, member_id: int, value: date) -> None:  # noqa: ANN001
    """Move a member's stamp forward to ``value`` (never back)."""
    table = Member.__table__
    db.session.execute(
        update(table)
        .where(table.c.id == member_id, or_(column.is_(None), column < value))
        .values({column.name: value})
    )


def member_thought_reports(member_id: int, limit: int = 24) -> list[ThoughtReport]:
    return list(
        db.session.execute(
            select(ThoughtReport)
            .where(ThoughtReport.member_id == member_id)
            .order_by(ThoughtReport.submitted_on.desc(), ThoughtReport.id.desc())
            .limit(limit)
        ).scalars()
    )


def member_contacts(member_id: int, limit: int = 24) -> list[ContactLog]:
    return list(
        db.session.execute(
            select(ContactLog)
            .where(ContactLog.member_id == member_id)
            .order_by(ContactLog.contacted_on.desc(), ContactLog.id.desc())
            .limit(limit)
        ).scalars()
    )
