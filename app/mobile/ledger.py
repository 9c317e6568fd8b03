"""二卡三簿台账 (seed 003): two cards — 流动党员活动证, 联系卡 — and three books — 流动党员登记簿,
活动登记簿, 联系簿 — for the user's scope. One statement per book serves its list page, its count,
its XLSX sheet and its PDF table, so the numbers always agree."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import Select, func, select
from sqlalchemy.orm import aliased

from app.certificates.models import CERTIFICATE_STATUSES, Certificate
from app.extensions import db
from app.members.models import MEMBER_TYPES, MOBILITIES, SEXES, Member
from app.members.queries import PINYIN_ORDER
from app.mobile import rules
from app.mobile.models import MobileContact, MobileStation, MobileStationMember
from app.mobile.queries import mobile_where
from app.organization.scope import member_scope_filter, scope_cached
from app.security import mask_phone
from app.timeutil import local_today


@dataclass(frozen=True)
class Book:
    key: str
    title: str
    header: list[str]
    stmt: Callable[[Any, int], Select]
    order: Callable[[], tuple]
    row: Callable[[Any], list]


def _cards(user: Any, year: int) -> Select:
    return (
        select(Certificate, Member.name)
        .join(Member, Member.id == Certificate.member_id)
        .where(Certificate.status == "issued", member_scope_filter(user))
    )


def _card_row(r: Any) -> list:
    c = r[0]
    return [
        c.number,
        r.name,
        "本社区开具" if c.direction == "out" else "外地开具（流入）",
        c.issuing_org_name or "",
        c.issued_on.isoformat(),
        c.valid_until.isoformat(),
        c.destination or "",
        c.liaison_name or "",
        CERTIFICATE_STATUSES.get(c.status, c.status),
    ]


def _members(user: Any, year: int) -> Select:
    station = aliased(MobileStation)
    return (
        select(Member, station.name.label("station"))
        .outerjoin(MobileStationMember, MobileStationMember.member_id == Member.id)
        .outerjoin(station, station.id == MobileStationMember.station_id)
        .where(*mobile_where(user))
    )


def _contact_card_row(r: Any) -> list:
    m = r[0]
    return [
        m.name,
        MOBILITIES.get(m.mobility, ""),
        m.mobility_place or "",
        (m.relation_org_name or "") if m.mobility == "flow_in" else (r.station or ""),
        mask_phone(m.phone),
        m.mobility_contact or "",
        m.origin_org_contact or "",
    ]


def _register_row(r: Any) -> list:
    m = r[0]
    due = rules.full_membership_due(m.joined_on) if m.member_type == "probationary" else None
    return [
        m.name,
        SEXES.get(m.sex, ""),
        m.birth_date.strftime("%Y-%m"),
        MEMBER_TYPES.get(m.member_type, ""),
        due.isoformat() if due and not m.full_member_on else "",
        MOBILITIES.get(m.mobility, ""),
        m.mobility_place or "",
        m.mobility_since.isoformat() if m.mobility_since else "",
        "长期"
        if m.mobility_open_ended
        else (m.mobility_expected_return.isoformat() if m.mobility_expected_return else ""),
        m.mobility_occupation or "",
    ]


def _activities(user: Any, year: int) -> Select:
    from app.followup.models import OrgEvent, OrgEventAttendance

    return (
        select(OrgEventAttendance, Member.name, OrgEvent.title)
        .join(Member, Member.id == OrgEventAttendance.member_id)
        .join(OrgEvent, OrgEvent.id == OrgEventAttendance.event_id)
        .where(
            *mobile_where(user),
            OrgEventAttendance.held_on.between(date(year, 1, 1), date(year, 12, 31)),
        )
    )


def _activity_row(r: Any) -> list:
    from app.followup.models import ATTENDANCE_STATUSES

    a = r[0]
    return [
        a.held_on.isoformat(),
        r.name,
        r.title,
        ATTENDANCE_STATUSES.get(a.status, a.status),
        a.note or "",
    ]


def _contacts(user: Any, year: int) -> Select:
    return (
        select(MobileContact, Member.name)
        .join(Member, Member.id == MobileContact.member_id)
        .where(
            member_scope_filter(user),
            MobileContact.contacted_on.between(date(year, 1, 1), date(year, 12, 31)),
        )
    )


def _contact_row(r: Any) -> list:
    c = r[0]
    return [
        c.contacted_on.isoformat(),
        r.name,
        c.kind_label,
        c.direction_label,
        c.channel_label,
        c.org_name,
        c.summary,
    ]


def _attendance_id():
    from app.followup.models import OrgEventAttendance

    return (OrgEventAttendance.id,)


BOOKS: dict[str, Book] = {
    b.key: b
    for b in (
        Book(
            "cards",
            "流动党员活动证",
            [
                "证号",
                "姓名",
                "类别",
                "发证党组织",
                "发证日期",
                "有效期至",
                "外出地",
                "联络人",
                "状态",
            ],
            _cards,
            lambda: (Certificate.id,),
            _card_row,
        ),
        Book(
            "contact_cards",
            "流动党员联系卡",
            [
                "姓名",
                "流动情况",
                "外出地/来源地",
                "对方党组织/管理站",
                "手机号",
                "外出联系方式",
                "原党组织联系人",
            ],
            _members,
            lambda: PINYIN_ORDER,
            _contact_card_row,
        ),
        Book(
            "register",
            "流动党员登记簿",
            [
                "姓名",
                "性别",
                "出生年月",
                "党员类型",
                "转正到期",
                "流动情况",
                "外出地/来源地",
                "开始日期",
                "预计返回",
                "从事职业",
            ],
            _members,
            lambda: PINYIN_ORDER,
            _register_row,
        ),
        Book(
            "activities",
            "活动登记簿",
            ["日期", "姓名", "活动", "出席情况", "备注"],
            _activities,
            _attendance_id,
            _activity_row,
        ),
        Book(
            "contacts",
            "联系簿",
            ["日期", "姓名", "类别", "方向", "方式", "对方党组织", "内容"],
            _contacts,
            lambda: (MobileContact.id,),
            _contact_row,
        ),
    )
}


def book_count(book: Book, user: Any, year: int) -> int:
    stmt = book.stmt(user, year)
    return db.session.execute(select(func.count()).select_from(stmt.subquery())).scalar_one()


def counts(user: Any, year: int) -> dict[str, int]:
    """Rows per book; books on the same statement (the two member books) are counted once."""
    found: dict[Callable, int] = {}
    result = {}
    for key, book in BOOKS.items():
        if book.stmt not in found:
            found[book.stmt] = book_count(book, user, year)
        result[key] = found[book.stmt]
    return result


def cached_counts(user: Any, year: int) -> dict[str, int]:
    """``counts`` kept until the data changes (or the day does: who is away depends on it)."""
    return scope_cached(
        user, "mobile_ledger_counts", (year, local_today()), lambda: counts(user, year)
    )


def all_rows(book: Book, user: Any, year: int, limit: int = 100_000) -> list[list]:
    stmt = book.stmt(user, year).order_by(*book.order()).limit(limit)
    return [book.row(r) for r in db.session.execute(stmt)]
