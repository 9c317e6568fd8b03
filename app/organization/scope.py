"""The one scope mechanism: what part of the trees a user may see and work on (SPEC §12).

Every feature filters its queries with ``member_scope_filter`` / ``place_scope_filter`` /
``org_scope_filter`` and loads single objects with ``get_in_scope_or_404``.
"""

from __future__ import annotations

from dataclasses import dataclass

from flask import abort, g, has_request_context
from sqlalchemy import ColumnElement, false, literal, or_, select, true

from app.extensions import db
from app.organization.models import GridWorker, Org, Place, UserScope


@dataclass(frozen=True)
class Scope:
    everything: bool
    org_ids: frozenset[int]
    place_ids: frozenset[int]  # communities, grids and the buildings below them
    grid_ids: frozenset[int]
    community_ids: frozenset[int] = frozenset()

    @property
    def empty(self) -> bool:
        return not self.everything and not self.org_ids and not self.grid_ids


EMPTY = Scope(False, frozenset(), frozenset(), frozenset())
EVERYTHING = Scope(True, frozenset(), frozenset(), frozenset())


def subtree_ids(model: type[Org] | type[Place], root_ids: set[int] | frozenset[int]) -> set[int]:
    """Ids of the given nodes and all their descendants (recursive CTE)."""
    if not root_ids:
        return set()
    tree = select(model.id).where(model.id.in_(root_ids)).cte("subtree", recursive=True)
    tree = tree.union_all(select(model.id).where(model.parent_id == tree.c.id))
    return set(db.session.execute(select(tree.c.id)).scalars())


def subtree_select(model: type[Org] | type[Place], root_id: int):
    """A SELECT of the ids of one node and its descendants, for use inside other queries."""
    tree = select(model.id).where(model.id == root_id).cte("subtree", recursive=True)
    tree = tree.union_all(select(model.id).where(model.parent_id == tree.c.id))
    return select(tree.c.id)


def breadcrumb(model: type[Org] | type[Place], node_id: int) -> list:
    """The node and its ancestors, root first (recursive CTE up the parent links)."""
    up = select(model.id, model.parent_id, literal(0).label("depth"))
    up = up.where(model.id == node_id).cte("ancestors", recursive=True)
    up = up.union_all(
        select(model.id, model.parent_id, (up.c.depth + 1).label("depth")).where(
            model.id == up.c.parent_id
        )
    )
    rows = db.session.execute(
        select(model).join(up, model.id == up.c.id).order_by(up.c.depth.desc())
    ).scalars()
    return list(rows)


def compute_scope(user) -> Scope:  # noqa: ANN001
    if user is None or not getattr(user, "is_authenticated", False):
        return EMPTY
    if user.role == "admin":
        return EVERYTHING
    if user.role not in {"staff", "grid_worker"}:
        return EMPTY
    rows = db.session.execute(
        select(UserScope.org_id, UserScope.place_id).where(UserScope.user_id == user.id)
    ).all()
    org_roots = {org_id for org_id, _ in rows if org_id}
    place_roots = {place_id for _, place_id in rows if place_id}
    place_roots |= set(
        db.session.execute(select(GridWorker.grid_id).where(GridWorker.user_id == user.id))
        .scalars()
        .all()
    )
    org_ids = subtree_ids(Org, org_roots)
    # A community committee's scope covers its community's places too.
    if org_ids:
        place_roots |= set(
            db.session.execute(
                select(Org.place_id).where(Org.id.in_(org_ids), Org.place_id.is_not(None))
            ).scalars()
        )
    place_ids = subtree_ids(Place, place_roots)
    grid_ids: set[int] = set()
    community_ids: set[int] = set()
    if place_ids:
        for place_id, kind in db.session.execute(
            select(Place.id, Place.kind).where(
                Place.id.in_(place_ids), Place.kind.in_(("grid", "community"))
            )
        ):
            (grid_ids if kind == "grid" else community_ids).add(place_id)
    return Scope(
        False,
        frozenset(org_ids),
        frozenset(place_ids),
        frozenset(grid_ids),
        frozenset(community_ids),
    )


def scope_of(user) -> Scope:  # noqa: ANN001
    """The user's scope, computed once per request."""
    if not has_request_context():
        return compute_scope(user)
    cache = g.setdefault("_scopes", {})
    key = getattr(user, "id", None)
    if key not in cache:
        cache[key] = compute_scope(user)
    return cache[key]


def forget_scopes() -> None:
    """Drop this request's cached scopes (after a scope or tree change)."""
    if has_request_context():
        g.pop("_scopes", None)


def member_scope_filter(user) -> ColumnElement[bool]:  # noqa: ANN001
    from app.members.models import Member

    scope = scope_of(user)
    if scope.everything:
        return true()
    if scope.empty:
        return false()
    clauses = []
    if scope.community_ids:
        clauses.append(Member.community_id.in_(sorted(scope.community_ids)))
    if scope.grid_ids:
        clauses.append(Member.grid_id.in_(sorted(scope.grid_ids)))
    if scope.org_ids:
        ids = sorted(scope.org_ids)
        clauses.append(Member.branch_id.in_(ids))
        clauses.append(Member.group_id.in_(ids))
    return or_(*clauses)


def place_scope_filter(user, column=None) -> ColumnElement[bool]:  # noqa: ANN001
    scope = scope_of(user)
    column = column if column is not None else Place.id
    if scope.everything:
        return true()
    if not scope.place_ids:
        return false()
    # place_ids already holds the whole subtree: communities, grids and their buildings.
    return column.in_(sorted(scope.place_ids))


def org_scope_filter(user, column=None) -> ColumnElement[bool]:  # noqa: ANN001
    scope = scope_of(user)
    column = column if column is not None else Org.id
    if scope.everything:
        return true()
    if not scope.org_ids:
        return false()
    return column.in_(sorted(scope.org_ids))


def get_in_scope_or_404(model, object_id: int, user, scope_filter):  # noqa: ANN001
    """Load one object that must lie in the user's scope; anything else answers 404."""
    obj = db.session.execute(
        select(model).where(model.id == object_id, scope_filter(user))
    ).scalar_one_or_none()
    if obj is None:
        abort(404)
    return obj
