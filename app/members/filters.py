"""The member list's place and organization filters as two cascades that scale to a street:
社区 → 网格 → 楼栋 and 党支部 → 党小组.

A select lists only the children of the chosen parent, so a whole-street admin sees a few dozen
choices instead of every grid and branch of the street. With more than one community in scope
the grids and branches appear once a community is chosen; with one community (most staff) its
grids and branches are listed at once.

The chosen values are settled before the query (``settle``):
- a child whose parent was changed is dropped (a building of the old grid after choosing
  another grid, a branch of another community after choosing a community);
- a missing parent is derived from the child (a link with only ``building=`` shows its grid
  and community chosen). A branch never implies a community: a joint branch (联合党支部) has
  members living anywhere, so its sibling branches are listed instead.

Both the settling and the choices are cached until the trees or the scope change.
"""

from __future__ import annotations

from typing import Any, NamedTuple

from sqlalchemy import select

from app.cache import cached
from app.extensions import db
from app.organization.models import Org, Place
from app.organization.scope import org_scope_filter, place_scope_filter, scope_cached

CASCADE_KEYS = ("community", "grid", "building", "branch", "group")


class Choice(NamedTuple):
    id: int
    name: str


def _parents(model, ids: tuple[int, ...]) -> dict[int, tuple[int | None, str]]:  # noqa: ANN001
    """``{id: (parent_id, kind)}`` of the given nodes."""
    rows = db.session.execute(
        select(model.id, model.parent_id, model.kind).where(model.id.in_(ids))
    ).all()
    return {row[0]: (row[1], row[2]) for row in rows}


def _settle(community: int, grid: int, building: int, branch: int, group: int) -> tuple:
    def parent(model, node: int, kind: str) -> int:  # noqa: ANN001
        found = _parents(model, (node,)).get(node)
        return found[0] if found and found[1] == kind and found[0] else 0

    if building:
        of = parent(Place, building, "building")
        if grid and grid != of:
            building = 0  # the grid was changed: its old building goes
        elif not grid:
            grid = of
    if grid:
        of = parent(Place, grid, "grid")
        if community and community != of:
            grid = building = 0  # the community was changed
        elif not community:
            community = of
    if group:
        of = parent(Org, group, "group")
        if branch and branch != of:
            group = 0
        elif not branch:
            branch = of
    if branch and community:
        committee = parent(Org, branch, "branch")
        place = db.session.execute(
            select(Org.place_id).where(Org.id == committee)
        ).scalar_one_or_none()
        if place != community:
            branch = group = 0
    return community, grid, building, branch, group


def settle(f: dict[str, Any]) -> dict[str, Any]:
    """``f`` with its cascade made consistent (see the module docstring); a new dict."""
    ids = tuple(int(f.get(key) or 0) for key in CASCADE_KEYS)
    if not any(ids):
        return f
    settled = cached("member_filter_cascade", ids, lambda: _settle(*ids))
    return {**f, **{key: value or "" for key, value in zip(CASCADE_KEYS, settled, strict=True)}}


def options(user, f: dict[str, Any]) -> dict[str, Any]:  # noqa: ANN001
    """The choices of the five selects for settled filters ``f``, inside ``user``'s scope.
    Each list is cached on its own (a new building reuses its community's grids and branches)."""
    community, grid, branch = f["community"] or 0, f["grid"] or 0, f["branch"] or 0

    def one(name: str, *args: Any) -> Any:
        return scope_cached(user, "member_filter_" + name, args, lambda: LOADERS[name](user, *args))

    communities = one("communities")
    pick = len(communities) > 1
    if not pick:
        grids, branches = one("grids", None), one("branches", None, 0)
    else:
        grids = one("grids", community) if community else []
        branches = one("branches", community, 0 if community else branch)
    return {
        "communities": communities if pick else [],
        "grids": grids,
        "buildings": one("buildings", grid) if grid else [],
        "branches": branches,
        "groups": one("groups", branch) if branch else [],
        "pick_community": pick,
    }


def _rows(stmt) -> list[Choice]:  # noqa: ANN001
    return [Choice(row[0], row[1]) for row in db.session.execute(stmt)]


def _places(user, kind: str, *where) -> list[Choice]:  # noqa: ANN001, ANN002
    return _rows(
        select(Place.id, Place.name)
        .where(Place.kind == kind, place_scope_filter(user), *where)
        .order_by(Place.position, Place.id)
    )


def _orgs(user, kind: str, *where) -> list[Choice]:  # noqa: ANN001, ANN002
    return _rows(
        select(Org.id, Org.name)
        .where(Org.kind == kind, org_scope_filter(user), *where)
        .order_by(Org.position, Org.id)
    )


def _branches(user, community: int | None, sibling_of: int) -> list[Choice]:  # noqa: ANN001
    """Every branch in scope (``community`` None), a community's branches, or — a branch
    chosen without a community — that branch's siblings; [] when nothing narrows them."""
    if community is None:
        return _orgs(user, "branch")
    if community:
        committees = select(Org.id).where(
            Org.kind == "community_committee", Org.place_id == community
        )
        return _orgs(user, "branch", Org.parent_id.in_(committees))
    if sibling_of:
        parent = select(Org.parent_id).where(Org.id == sibling_of).scalar_subquery()
        return _orgs(user, "branch", Org.parent_id == parent)
    return []


LOADERS = {
    "communities": lambda user: _places(user, "community"),
    "grids": lambda user, community: _places(
        user, "grid", *([Place.parent_id == community] if community else [])
    ),
    "buildings": lambda user, grid: _places(user, "building", Place.parent_id == grid),
    "branches": _branches,
    "groups": lambda user, branch: _orgs(user, "group", Org.parent_id == branch),
}
