"""Liaisons (联络人) of mobile members: candidates, assigning one, and a liaison's own list."""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Select,
    exists,
    or_,
    select,
)

from app.assignment.services import LIAISON_STATUSES
from app.auth.models import User
from app.errors import DomainError
from app.extensions import db
from app.members import queries as member_queries
from app.members import services as member_services
from app.members.models import Member
from app.organization.models import GridWorker, UserScope
from app.organization.scope import (
    member_scope_filter,
    scope_of,
)

# ---- liaisons -------------------------------------------------------------------------------


def needs_liaison(member: Member) -> bool:
    return member.category == "coordinated" or (member.mobility or "none") != "none"


def _staff_candidates_filter(user: Any) -> ColumnElement[bool]:
    """Staff users whose own scope overlaps the user's scope (admins: every staff user)."""
    scope = scope_of(user)
    if scope.everything:
        return User.id.is_not(None)
    clauses = [User.id == getattr(user, "id", None)]
    if scope.org_ids or scope.place_ids:
        clauses.append(
            User.id.in_(
                select(UserScope.user_id).where(
                    or_(
                        UserScope.org_id.in_(sorted(scope.org_ids) or [-1]),
                        UserScope.place_id.in_(sorted(scope.place_ids) or [-1]),
                    )
                )
            )
        )
    if scope.grid_ids:
        clauses.append(
            User.id.in_(
                select(GridWorker.user_id).where(GridWorker.grid_id.in_(sorted(scope.grid_ids)))
            )
        )
    return or_(*clauses)


def liaison_candidates(member: Member, user: Any, q: str, limit: int = 10) -> dict[str, list]:
    """Staff users (overlapping scope) and active members (in scope) matching ``q``."""
    from app.members.queries import search_clause

    q = (q or "").strip()[:40]
    staff_query = select(User.id, User.display_name, User.role).where(
        User.role.in_(("staff", "grid_worker", "admin")),
        User.active.is_(True),
        _staff_candidates_filter(user),
    )
    if q:
        like = "%" + q.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        staff_query = staff_query.where(
            or_(
                User.display_name.like(like, escape="\\"),
                User.username.like(like, escape="\\"),
            )
        )
    staff = db.session.execute(staff_query.order_by(User.display_name).limit(limit)).all()
    members = []
    clause = search_clause(q) if q else None
    if clause is not None:
        members = db.session.execute(
            select(Member.id, Member.name, Member.building_id)
            .where(
                member_scope_filter(user),
                Member.status == "active",
                Member.mobility == "none",
                Member.id != member.id,
                clause,
            )
            .order_by(*member_queries.PINYIN_ORDER)
            .limit(limit)
        ).all()
    return {"staff": staff, "members": members}


def set_liaison(
    member: Member,
    user: Any,
    *,
    liaison_user_id: int | None = None,
    liaison_member_id: int | None = None,
    expected_version: int | None = None,
    reason: str | None = None,
    effective: date | None = None,
) -> bool:
    """Give a mobile member exactly one liaison: a staff user or an active member.

    History aspect "liaison" and the audit entry come from the member service; a concurrent
    save raises ``ConflictError``. Returns False when the liaison was already that person.
    """
    if not needs_liaison(member):
        raise DomainError({"liaison": "只有协管（流动）党员需要指定联络人"})
    if bool(liaison_user_id) == bool(liaison_member_id):
        raise DomainError({"liaison": "请选择一位联络人（工作人员或党员，只能选一位）"})
    if liaison_user_id:
        ok = db.session.execute(
            select(
                exists().where(
                    User.id == liaison_user_id,
                    User.role.in_(("staff", "grid_worker", "admin")),
                    User.active.is_(True),
                    _staff_candidates_filter(user),
                )
            )
        ).scalar()
        if not ok:
            raise DomainError({"liaison": "所选工作人员不存在、已停用或不在您的管理范围内"})
    else:
        if liaison_member_id == member.id:
            raise DomainError({"liaison": "党员不能担任自己的联络人"})
        ok = db.session.execute(
            select(
                exists().where(
                    Member.id == liaison_member_id,
                    Member.status == "active",
                    member_scope_filter(user),
                )
            )
        ).scalar()
        if not ok:
            raise DomainError({"liaison": "所选党员不存在、不是在册正常状态或不在您的管理范围内"})
    changed = member_services.update_member(
        member,
        {"liaison_user_id": liaison_user_id, "liaison_member_id": liaison_member_id},
        user,
        expected_version,
        reason=(reason or "").strip() or "指定联络人",
        effective=effective,
    )
    return bool(changed)


def my_members_query(user: Any) -> Select:
    """The members a user keeps in touch with as liaison (staff account or member account)."""
    if getattr(user, "role", None) == "member":
        if not user.member_id:
            return select(Member).where(Member.id.is_(None))
        cond = Member.liaison_member_id == user.member_id
    else:
        cond = Member.liaison_user_id == user.id
    return select(Member).where(cond, Member.status.in_(LIAISON_STATUSES))
