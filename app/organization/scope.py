"""The one scope mechanism: what part of the trees a user may see and work on (SPEC §12).

Every feature filters its queries with ``member_scope_filter`` / ``place_scope_filter`` /
``org_scope_filter`` and loads single objects with ``get_in_scope_or_404``.
"""

from __future__ import annotations

from dataclasses import dataclass

from flask import g, has_request_context
from sqlalchemy import (
    ColumnElement,
    false,
    literal,
    or_,
    select,
    true,
)

from app.cache import cached, forget
from app.extensions import db
from app.organization.models import GridWorker, Org, Place, UserScope


@dataclass(frozen=True)
class Scope:
    """What a user may see. Members are matched *by place* (属地): a community's members are
    the ones placed in it; branch membership adds members only for scopes that do not cover
    the branch's community (branch- or group-level scopes) and for joint branches (联合党支部),
    whose members may live anywhere.
    """

    everything: bool
    org_ids: frozenset[int]  # every org node in scope (subtrees expanded)
    community_ids: frozenset[int] = frozenset()  # communities wholly in scope
    grid_ids: frozenset[int] = frozenset()  # every grid in scope (also those in communities)
    extra_grid_ids: frozenset[int] = frozenset()  # grids in scope outside community_ids
    member_branch_ids: frozenset[int] = frozenset()  # branches matched by membership
    member_group_ids: frozenset[int] = frozenset()  # groups matched by membership

    @property
    def empty(self) -> bool:
        return not self.everything and not self.org_ids and not self.grid_ids

    @property
    def place_ids(self) -> frozenset[int]:
        """Communities and grids in scope (buildings are implied by their grid)."""
        return self.community_ids | self.grid_ids


EMPTY = Scope(False, frozenset())
EVERYTHING = Scope(True, frozenset())


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


def _place_subtree_above_buildings(root_ids: set[int]) -> list[tuple[int, str]]:
    """(id, kind) of the given places and their descendants, without buildings."""
    tree = (
        select(Place.id, Place.kind)
        .where(Place.id.in_(root_ids), Place.kind != "building")
        .cte("place_subtree", recursive=True)
    )
    tree = tree.union_all(
        select(Place.id, Place.kind).where(Place.parent_id == tree.c.id, Place.kind != "building")
    )
    return [(row.id, row.kind) for row in db.session.execute(select(tree.c.id, tree.c.kind))]


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
        db.session.execute(
            select(GridWorker.grid_id).where(GridWorker.user_id == user.id)
        ).scalars()
    )
    orgs: dict[int, tuple[str, int | None, int | None, bool]] = {}
    if org_roots:
        tree = (
            select(Org.id, Org.kind, Org.parent_id, Org.place_id, Org.is_joint)
            .where(Org.id.in_(org_roots))
            .cte("org_subtree", recursive=True)
        )
        tree = tree.union_all(
            select(Org.id, Org.kind, Org.parent_id, Org.place_id, Org.is_joint).where(
                Org.parent_id == tree.c.id
            )
        )
        for row in db.session.execute(select(tree)):
            orgs[row.id] = (row.kind, row.parent_id, row.place_id, row.is_joint)
    # A community committee's scope covers its community's places too.
    place_roots |= {place_id for _, _, place_id, _ in orgs.values() if place_id}
    places = _place_subtree_above_buildings(place_roots) if place_roots else []
    community_ids = {pid for pid, kind in places if kind == "community"}
    grid_ids = {pid for pid, kind in places if kind == "grid"}
    extra_grid_ids = grid_ids - _grids_of(community_ids)
    # Branches/groups matched by membership: those whose committee's community is not
    # covered, joint branches, and groups whose branch is not itself in scope.
    covered = {oid for oid, (kind, _, pid, _) in orgs.items() if pid in community_ids}
    branch_ids = {
        oid
        for oid, (kind, parent, _, joint) in orgs.items()
        if kind == "branch" and (parent not in covered or joint)
    }
    group_ids = {
        oid for oid, (kind, parent, _, _) in orgs.items() if kind == "group" and parent not in orgs
    }
    return Scope(
        False,
        frozenset(orgs),
        frozenset(community_ids),
        frozenset(grid_ids),
        frozenset(extra_grid_ids),
        frozenset(branch_ids),
        frozenset(group_ids),
    )


def _grids_of(community_ids: set[int]) -> set[int]:
    if not community_ids:
        return set()
    return set(
        db.session.execute(
            select(Place.id).where(Place.parent_id.in_(sorted(community_ids)), Place.kind == "grid")
        ).scalars()
    )


# Scopes change rarely and cost several tree queries to compute, so they are cached with the
# one cache of ``app.cache`` (keyed by the data-version token), and once per request in ``g``.


def scope_of(user) -> Scope:  # noqa: ANN001
    """The user's scope: computed once per request, cached across requests until the data
    changes."""
    if user is None or not getattr(user, "is_authenticated", False):
        return EMPTY
    if user.role == "admin":
        return EVERYTHING
    if not has_request_context():
        return compute_scope(user)
    request_cache = g.setdefault("_scopes", {})
    if user.id not in request_cache:
        request_cache[user.id] = cached("scope", (user.id, user.role), lambda: compute_scope(user))
    return request_cache[user.id]


def scope_cached(user, name: str, args: tuple, compute):  # noqa: ANN001, ANN202
    """``compute()`` once per user scope and data state (e.g. the grid and branch choices of a
    filter form)."""
    return cached(name, (args, user.id, user.role), compute)


def forget_scopes() -> None:
    """Drop this request's cached scopes (after a scope or tree change)."""
    forget()


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
    if scope.extra_grid_ids:
        clauses.append(Member.grid_id.in_(sorted(scope.extra_grid_ids)))
    if scope.member_branch_ids:
        clauses.append(Member.branch_id.in_(sorted(scope.member_branch_ids)))
    if scope.member_group_ids:
        clauses.append(Member.group_id.in_(sorted(scope.member_group_ids)))
    if not clauses:
        return false()
    return or_(*clauses) if len(clauses) > 1 else clauses[0]


def place_scope_filter(user, column=None) -> ColumnElement[bool]:  # noqa: ANN001
    """Communities and grids in scope, and the buildings under those grids."""
    scope = scope_of(user)
    column = column if column is not None else Place.id
    if scope.everything:
        return true()
    if not scope.place_ids:
        return false()
    buildings = select(Place.id).where(Place.parent_id.in_(sorted(scope.grid_ids)))
    return or_(column.in_(sorted(scope.place_ids)), column.in_(buildings))


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
    return db.one_or_404(select(model).where(model.id == object_id, scope_filter(user)))


def get_of_member_in_scope_or_404(model, object_id: int, user):  # noqa: ANN001
    """Load one row of ``model`` that belongs to a member (``model.member_id``) in the user's
    scope (a certificate, a transfer letter, a lost-contact case); anything else answers 404."""
    from app.members.models import Member

    return db.one_or_404(
        select(model)
        .join(Member, Member.id == model.member_id)
        .where(model.id == object_id, member_scope_filter(user))
    )
