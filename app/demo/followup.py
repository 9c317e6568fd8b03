"""Demo follow-up data (SPEC §9, part 1): org-life events with attendance for every branch,
thought reports for active members, contact logs for mobile members, and the members'
denormalized stamps to match — so the work lists and alerts have realistic content.

Deterministic: every choice is a function of the member id and the event number. Called once
from ``app.demo.generate.generate`` after the members are written.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import TYPE_CHECKING

from sqlalchemy import func, select, update

from app.demo.common import bulk_insert
from app.extensions import db
from app.followup.models import (
    ContactLog,
    LostContactCase,
    OrgEvent,
    OrgEventAttendance,
    ThoughtReport,
)
from app.followup.services import last_presence_sql
from app.members.models import Member
from app.timeutil import add_months

if TYPE_CHECKING:
    from app.demo.generate import Generator

# (months ago, kind, title) of the events every branch held.
EVENTS = [
    (7, "branch_meeting", "学习党章"),
    (5, "party_class", "社区治理与党员责任"),
    (3, "theme_day", "楼栋环境整治"),
    (1, "branch_meeting", "民主评议准备"),
]
REPORT_TEXTS = [
    "近期认真学习党的创新理论，结合社区工作谈体会。",
    "汇报近期思想、工作和生活情况，积极参加社区志愿服务。",
    "学习党章党规，对照检查自身不足，提出改进措施。",
    "参加主题党日活动后的体会，对社区工作的意见建议。",
]
CONTACT_TEXTS = {
    "phone": "电话联系，了解外出工作生活情况，提醒按时交纳党费。",
    "message": "微信联系，转发近期学习材料，了解思想动态。",
    "visit": "走访家属，了解本人近况，留下联系方式。",
}


def _attendance_status(member_id: int, event_no: int) -> str:
    if member_id % 97 == 0:  # about 1%: absent from every meeting (shows on the alert list)
        return "absent"
    roll = (member_id * 7 + event_no * 13) % 20
    return "absent" if roll < 2 else "excused" if roll == 2 else "present"


def _report_days_ago(member_id: int) -> int:
    """Days since the last thought report: mostly recent, a tail of late reporters."""
    bucket = (member_id * 31) % 40
    return bucket * bucket // 13  # 0 … 117 days


def build_followup(gen: Generator, staff_user_id: int | None) -> None:
    today: date = gen.today
    members = [r for r in gen.member_rows if r["status"] == "active"]
    branches = [r["id"] for r in gen.org_rows if r["kind"] == "branch"]

    # Org-life events of every branch, and attendance of its active members.
    event_rows = []
    for branch_id in branches:
        for months, kind, title in EVENTS:
            held_on = min(add_months(today, -months).replace(day=15), today)
            event_rows.append(
                {
                    "version": 1,
                    "org_id": branch_id,
                    "kind": kind,
                    "held_on": held_on,
                    "title": title,
                    "place": "社区党群服务中心",
                    "notes": None,
                    "created_by_id": staff_user_id,
                }
            )
    bulk_insert(OrgEvent, event_rows)
    events = db.session.execute(
        select(OrgEvent.id, OrgEvent.org_id, OrgEvent.held_on).order_by(OrgEvent.id)
    ).all()
    by_branch: dict[int, list[tuple[int, date]]] = {}
    for event_id, org_id, held_on in events:
        by_branch.setdefault(org_id, []).append((event_id, held_on))
    attendance = []
    for m in members:
        for number, (event_id, held_on) in enumerate(by_branch.get(m["branch_id"], [])):
            attendance.append(
                {
                    "event_id": event_id,
                    "member_id": m["id"],
                    "held_on": held_on,
                    "status": _attendance_status(m["id"], number),
                    "note": None,
                    "recorded_by_id": staff_user_id,
                }
            )
    bulk_insert(OrgEventAttendance, attendance)
    db.session.execute(
        update(Member.__table__)
        .where(Member.__table__.c.branch_id.is_not(None))
        .values(last_org_life_on=last_presence_sql())
    )
    gen.progress(f"组织生活 {len(event_rows)} 次、出席记录 {len(attendance)} 条已写入")

    # One thought report per active member (the latest), and the stamp to match.
    reports = []
    for m in members:
        submitted = today - timedelta(days=_report_days_ago(m["id"]))
        reports.append(
            {
                "member_id": m["id"],
                "period": submitted.replace(day=1),
                "submitted_on": submitted,
                "summary": REPORT_TEXTS[m["id"] % len(REPORT_TEXTS)],
                "source": "member" if m["id"] % 3 == 0 else "staff",
                "recorded_by_id": None if m["id"] % 3 == 0 else staff_user_id,
            }
        )
    bulk_insert(ThoughtReport, reports)
    _stamp_from(ThoughtReport.submitted_on, ThoughtReport.member_id, "last_thought_report_on")

    # Contact logs for mobile members: the latest contact, 0 … 117 days ago.
    contacts = []
    for m in members:
        if m["mobility"] == "none":
            continue
        method = ("phone", "message", "visit")[m["id"] % 3]
        days = ((m["id"] * 17) % 40) * 3
        contacts.append(
            {
                "member_id": m["id"],
                "contacted_on": today - timedelta(days=days),
                "method": method,
                "summary": CONTACT_TEXTS[method],
                "recorded_by_id": staff_user_id,
            }
        )
    bulk_insert(ContactLog, contacts)
    _stamp_from(ContactLog.contacted_on, ContactLog.member_id, "last_contact_on")
    cases = lost_contact_cases(gen, staff_user_id)
    bulk_insert(LostContactCase, cases)
    gen.progress(
        f"思想汇报 {len(reports)} 份、联系记录 {len(contacts)} 条、失联登记 {len(cases)} 件已写入"
    )


LOST_KINDS = ("pocket", "roster", "hidden", "parked")
LOST_REASONS = ("migrant_work", "moved", "job_changed", "unit_restructured")


def lost_contact_cases(gen: Generator, staff_user_id: int | None) -> list[dict]:
    """An open case for every 失联 member (the status is set only through a case), since the
    day the history says the member became 失联; older ones are being verified."""
    today: date = gen.today
    lost_on: dict[int, date] = {}
    for h in gen.history_rows:
        if h["aspect"] == "status" and h["value"].get("status") == "lost_contact":
            lost_on[h["member_id"]] = h["effective_from"]
    rows = []
    for m in gen.member_rows:
        if m["status"] != "lost_contact":
            continue
        since = lost_on.get(m["id"], today)
        rows.append(
            {
                "version": 1,
                "member_id": m["id"],
                "kind": LOST_KINDS[m["id"] % len(LOST_KINDS)],
                "reason": LOST_REASONS[m["id"] % len(LOST_REASONS)],
                "reason_note": None,
                "since": since,
                "stage": "verify" if (today - since).days > 365 else "survey",
                "outcome": None,
                "outcome_note": None,
                "suspended_on": None,
                "opened_on": since,
                "closed_on": None,
                "opened_by_id": staff_user_id,
                "closed_by_id": None,
            }
        )
    return rows


def _stamp_from(column, member_column, stamp: str) -> None:  # noqa: ANN001
    """Set a member stamp to the latest date of a follow-up table (one UPDATE)."""
    latest = (
        select(func.max(column)).where(member_column == Member.__table__.c.id).scalar_subquery()
    )
    table = Member.__table__
    db.session.execute(
        update(table).where(table.c.id.in_(select(member_column))).values({stamp: latest})
    )
