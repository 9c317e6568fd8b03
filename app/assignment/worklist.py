"""The unassigned work list (待分配): members missing a building, group or liaison; cached counts and pages."""

from __future__ import annotations

from typing import Any

from sqlalchemy import (
    ColumnElement,
    and_,
    case,
    func,
    or_,
    select,
)

from app.assignment.services import LIAISON_STATUSES, RELATION_ELSEWHERE, UNASSIGNED_KINDS
from app.cache import cached
from app.extensions import db
from app.members import management
from app.members import queries as member_queries
from app.members.models import Member
from app.organization.scope import (
    member_scope_filter,
    scope_of,
)

# ---- the unassigned work list ---------------------------------------------------------------


def unassigned_clause(kind: str, indexed: bool = True) -> ColumnElement[bool]:
    """Members still missing a building, a group or a liaison.

    Members of a branch without any party group (a 联合党支部, typically) are not missing a
    group (``management.groupless_branch_clause``).

    ``indexed=False`` hides the "is NULL" tests from the index (``coalesce``): inside a narrow
    scope the planner should walk the scope's indexes, not every member without a group.
    """

    def missing(column):  # noqa: ANN001, ANN202
        return column.is_(None) if indexed else func.coalesce(column, 0) == 0

    if kind == "building":
        return and_(Member.status == "active", missing(Member.building_id))
    if kind == "group":
        return and_(
            Member.status == "active",
            missing(Member.group_id),
            Member.relation_location.not_in(sorted(RELATION_ELSEWHERE)),
            ~management.groupless_branch_clause(),
        )
    if kind == "liaison":
        return and_(
            Member.category == "coordinated",
            Member.status.in_(LIAISON_STATUSES),
            Member.liaison_user_id.is_(None),
            Member.liaison_member_id.is_(None),
        )
    return or_(*(unassigned_clause(k, indexed) for k in UNASSIGNED_KINDS))


def use_index(user: Any) -> bool:
    """Whole-database scopes search the "missing" indexes; narrow scopes their own."""
    return scope_of(user).everything


def _cached(name: str, user: Any, extra: tuple, compute):  # noqa: ANN001, ANN202
    """``compute()`` once per scope and data version (app.cache)."""
    return cached(f"assignment_{name}", (scope_of(user), extra), compute)


def unassigned_counts(user: Any) -> dict[str, int]:
    """Counters per kind for the user's scope, cached until the next member change (the
    navigation badge asks on every staff page)."""
    return dict(_cached("counts", user, (), lambda: _count_unassigned(user)))


def unassigned_page(user: Any, kind: str, after: int | None, size: int) -> list[int]:
    """Ids of one page (``size`` + 1 to tell whether more follow) of the work list, in pinyin
    order, keyset after member ``after``; cached like the counters."""

    def compute() -> list[int]:
        scope = member_scope_filter(user)
        where = [
            scope,
            unassigned_clause(kind, use_index(user)),
            *member_queries.keyset_after(after, scope),
        ]
        return list(
            db.session.execute(
                select(Member.id)
                .where(*where)
                .order_by(*member_queries.PINYIN_ORDER)
                .limit(size + 1)
            ).scalars()
        )

    return list(_cached("page", user, (kind, after, size), compute))


def _count_unassigned(user: Any) -> dict[str, int]:
    scope = member_scope_filter(user)
    if use_index(user):
        counts = {}
        for kind in UNASSIGNED_KINDS:
            counts[kind] = db.session.execute(
                select(func.count()).select_from(Member).where(scope, unassigned_clause(kind))
            ).scalar_one()
        counts["total"] = db.session.execute(
            select(func.count()).select_from(Member).where(scope, unassigned_clause("all"))
        ).scalar_one()
        return counts
    # One pass over the members of the scope, all four counters at once.
    kinds = [*UNASSIGNED_KINDS, "all"]
    row = db.session.execute(
        select(
            *(
                func.coalesce(func.sum(case((unassigned_clause(k, False), 1), else_=0)), 0)
                for k in kinds
            )
        ).where(scope)
    ).one()
    counts = dict(zip(kinds, row, strict=True))
    counts["total"] = counts.pop("all")
    return counts
