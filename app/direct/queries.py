"""Queries of the 直管 pages: scoped lists (keyset pages), the member card and building panels,
reminder counts."""

from __future__ import annotations

from collections import defaultdict
from datetime import date, timedelta
from typing import Any

from sqlalchemy import and_, func, or_, select, true

from app.direct.models import (
    DutyPost,
    FiveGoodReview,
    HelpPair,
    HelpVisit,
    PostArea,
    PostAssignment,
)
from app.extensions import db
from app.members.models import Member
from app.organization.models import Place
from app.organization.scope import member_scope_filter, place_scope_filter
from app.paging import Page, keyset_page
from app.timeutil import local_today

ASSIGNMENT_FILTERS = {
    "current": "在岗",
    "requested": "待审核",
    "ending": "30天内到期",
    "ended": "已结束",
    "refused": "未通过",
    "all": "全部",
}
PAIR_FILTERS = {"open": "帮扶中", "idle": "久未走访", "ended": "已结束", "all": "全部"}
ENDING_DAYS = 30


def scoped_communities(user: Any) -> list[Place]:
    return list(
        db.session.execute(
            select(Place)
            .where(Place.kind == "community", Place.retired_at.is_(None), place_scope_filter(user))
            .order_by(Place.position, Place.id)
        ).scalars()
    )


def posts_of(community_ids: list[int], *, active_only: bool = False) -> list[DutyPost]:
    stmt = select(DutyPost).where(DutyPost.community_id.in_(community_ids))
    if active_only:
        stmt = stmt.where(DutyPost.retired_at.is_(None))
    return list(
        db.session.execute(
            stmt.order_by(DutyPost.community_id, DutyPost.position, DutyPost.id)
        ).scalars()
    )


def area_names(assignment_ids: list[int]) -> dict[int, list[str]]:
    """Building names of each assignment's 责任区 (one query)."""
    names: dict[int, list[str]] = defaultdict(list)
    if not assignment_ids:
        return names
    rows = db.session.execute(
        select(PostArea.assignment_id, Place.name)
        .join(Place, Place.id == PostArea.building_id)
        .where(PostArea.assignment_id.in_(assignment_ids))
        .order_by(PostArea.assignment_id, Place.position, Place.id)
    )
    for assignment_id, name in rows:
        names[assignment_id].append(name)
    return names


def _state_clause(state: str, today: date):  # noqa: ANN202
    current = and_(
        PostAssignment.status == "active",
        or_(PostAssignment.ends_on.is_(None), PostAssignment.ends_on >= today),
    )
    return {
        "current": current,
        "requested": PostAssignment.status == "requested",
        "ending": and_(
            PostAssignment.status == "active",
            PostAssignment.ends_on >= today,
            PostAssignment.ends_on <= today + timedelta(days=ENDING_DAYS),
        ),
        "ended": and_(PostAssignment.status == "active", PostAssignment.ends_on < today),
        "refused": PostAssignment.status == "refused",
    }.get(state)


def _in_scope(column, user: Any):  # noqa: ANN001, ANN202
    """``column`` (a member id) belongs to a member in the user's scope. An IN subquery, not a
    join: SQLite then walks the list's id index and probes the scope (twice as fast at
    reference size as joining member for every row)."""
    from app.organization.scope import scope_of

    if scope_of(user).everything:
        return true()
    return column.in_(select(Member.id).where(member_scope_filter(user)))


def _people(member_ids: set[int]) -> dict[int, Any]:
    if not member_ids:
        return {}
    rows = db.session.execute(
        select(Member.id, Member.name, Member.phone).where(Member.id.in_(sorted(member_ids)))
    )
    return {row.id: row for row in rows}


def assignments_page(user: Any, state: str, after: int | None = None) -> Page:
    today = local_today()
    stmt = select(
        PostAssignment.id,
        PostAssignment.member_id,
        PostAssignment.post_id,
        PostAssignment.starts_on,
        PostAssignment.ends_on,
        PostAssignment.status,
        PostAssignment.note,
    ).where(_in_scope(PostAssignment.member_id, user))
    clause = _state_clause(state, today)
    if clause is not None:
        stmt = stmt.where(clause)
    page = keyset_page(stmt, [PostAssignment.id], after=after, descending=True)
    page.extra["areas"] = area_names([row.id for row in page.rows])
    page.extra["people"] = _people({row.member_id for row in page.rows})
    post_ids = sorted({row.post_id for row in page.rows})
    page.extra["posts"] = (
        dict(
            db.session.execute(
                select(DutyPost.id, DutyPost.name).where(DutyPost.id.in_(post_ids))
            ).all()
        )
        if post_ids
        else {}
    )
    return page


def count_assignments(user: Any, state: str) -> int:
    stmt = (
        select(func.count())
        .select_from(PostAssignment)
        .join(Member, Member.id == PostAssignment.member_id)
        .where(member_scope_filter(user), _state_clause(state, local_today()))
    )
    return db.session.scalar(stmt) or 0


def _pair_clause(state: str, today: date, idle_days: int):  # noqa: ANN202
    open_ = or_(HelpPair.ends_on.is_(None), HelpPair.ends_on >= today)
    return {
        "open": open_,
        "idle": and_(
            open_,
            HelpPair.starts_on <= today - timedelta(days=idle_days),
            or_(
                HelpPair.last_visit_on.is_(None),
                HelpPair.last_visit_on < today - timedelta(days=idle_days),
            ),
        ),
        "ended": HelpPair.ends_on < today,
    }.get(state)


def idle_days() -> int:
    from app.settings.models import get_setting

    return int(get_setting("help_pair_visit_days") or 30)


def pairs_page(user: Any, state: str, after: int | None = None) -> Page:
    today = local_today()
    stmt = select(
        HelpPair.id,
        HelpPair.member_id,
        HelpPair.helped_name,
        HelpPair.need_kind,
        HelpPair.building_id,
        HelpPair.starts_on,
        HelpPair.ends_on,
        HelpPair.last_visit_on,
    ).where(_in_scope(HelpPair.member_id, user))
    clause = _pair_clause(state, today, idle_days())
    if clause is not None:
        stmt = stmt.where(clause)
    page = keyset_page(stmt, [HelpPair.id], after=after, descending=True)
    page.extra["people"] = _people({row.member_id for row in page.rows})
    building_ids = sorted({row.building_id for row in page.rows})
    page.extra["buildings"] = (
        dict(
            db.session.execute(select(Place.id, Place.name).where(Place.id.in_(building_ids))).all()
        )
        if building_ids
        else {}
    )
    return page


def count_pairs(user: Any, state: str) -> int:
    stmt = (
        select(func.count())
        .select_from(HelpPair)
        .join(Member, Member.id == HelpPair.member_id)
        .where(member_scope_filter(user), _pair_clause(state, local_today(), idle_days()))
    )
    return db.session.scalar(stmt) or 0


def reviews_page(user: Any, year: int, after: int | None = None) -> Page:
    stmt = (
        select(FiveGoodReview, Member.name.label("member_name"))
        .join(Member, Member.id == FiveGoodReview.member_id)
        .where(FiveGoodReview.year == year, member_scope_filter(user))
    )
    return keyset_page(
        stmt, [FiveGoodReview.id], after=after, descending=True, cursor=lambda r: r[0].id
    )


def visits_of(pair_id: int) -> list[HelpVisit]:
    return list(
        db.session.execute(
            select(HelpVisit)
            .where(HelpVisit.pair_id == pair_id)
            .order_by(HelpVisit.visited_on.desc(), HelpVisit.id.desc())
        ).scalars()
    )


# ---- panels ------------------------------------------------------------------------------------


def member_assignments(member_id: int) -> list[dict[str, Any]]:
    today = local_today()
    rows = db.session.execute(
        select(PostAssignment, DutyPost.name, DutyPost.duties)
        .join(DutyPost, DutyPost.id == PostAssignment.post_id)
        .where(PostAssignment.member_id == member_id)
        .order_by(PostAssignment.starts_on.desc(), PostAssignment.id.desc())
    ).all()
    areas = area_names([a.id for a, _, _ in rows])
    return [
        {
            "a": a,
            "post": name,
            "duties": duties,
            "areas": areas.get(a.id, []),
            "state": a.state(today),
        }
        for a, name, duties in rows
    ]


def member_pairs(member_id: int) -> list[dict[str, Any]]:
    visits = (
        select(HelpVisit.pair_id, func.count().label("n")).group_by(HelpVisit.pair_id).subquery()
    )
    rows = db.session.execute(
        select(HelpPair, Place.name, func.coalesce(visits.c.n, 0))
        .join(Place, Place.id == HelpPair.building_id)
        .outerjoin(visits, visits.c.pair_id == HelpPair.id)
        .where(HelpPair.member_id == member_id)
        .order_by(HelpPair.starts_on.desc(), HelpPair.id.desc())
    ).all()
    today = local_today()
    return [
        {"p": p, "building": building, "visits": n, "open": p.is_open(today)}
        for p, building, n in rows
    ]


def member_reviews(member_id: int) -> list[FiveGoodReview]:
    return list(
        db.session.execute(
            select(FiveGoodReview)
            .where(FiveGoodReview.member_id == member_id)
            .order_by(FiveGoodReview.year.desc())
        ).scalars()
    )


def building_panel(building_id: int, user: Any) -> dict[str, Any]:
    """A building's responsible members (current posts whose 责任区 holds it) and its pairs."""
    today = local_today()
    responsible = db.session.execute(
        select(
            PostAssignment.id,
            PostAssignment.member_id,
            PostAssignment.ends_on,
            Member.name,
            Member.phone,
            DutyPost.name.label("post_name"),
        )
        .join(PostArea, PostArea.assignment_id == PostAssignment.id)
        .join(Member, Member.id == PostAssignment.member_id)
        .join(DutyPost, DutyPost.id == PostAssignment.post_id)
        .where(
            PostArea.building_id == building_id,
            _state_clause("current", today),
            PostAssignment.starts_on <= today,
            member_scope_filter(user),
        )
        .order_by(DutyPost.position, Member.name, PostAssignment.id)
    ).all()
    visits = (
        select(HelpVisit.pair_id, func.count().label("n")).group_by(HelpVisit.pair_id).subquery()
    )
    pairs = db.session.execute(
        select(
            HelpPair.id,
            HelpPair.helped_name,
            HelpPair.need_kind,
            HelpPair.last_visit_on,
            HelpPair.member_id,
            Member.name.label("member_name"),
            func.coalesce(visits.c.n, 0).label("visits"),
        )
        .join(Member, Member.id == HelpPair.member_id)
        .outerjoin(visits, visits.c.pair_id == HelpPair.id)
        .where(
            HelpPair.building_id == building_id,
            _pair_clause("open", today, 0),
            member_scope_filter(user),
        )
        .order_by(HelpPair.id)
    ).all()
    return {"responsible": responsible, "pairs": pairs}


def five_good_by_member(year: int, member_ids: list[int]) -> dict[int, FiveGoodReview]:
    if not member_ids:
        return {}
    rows = db.session.execute(
        select(FiveGoodReview).where(
            FiveGoodReview.year == year, FiveGoodReview.member_id.in_(member_ids)
        )
    ).scalars()
    return {r.member_id: r for r in rows}
