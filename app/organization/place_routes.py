"""我的网格: the places in the user's own scope (staff, grid workers, admins), counts and the export."""

from __future__ import annotations

from flask import (
    Response,
    render_template,
)
from flask_login import current_user
from sqlalchemy import func, select

from app import search_text
from app.audit import record
from app.extensions import db
from app.htmx import is_partial, render_page_or_block
from app.members.management import headline_counts, on_roster_clause
from app.members.models import Member
from app.organization import appointments, importer
from app.organization.blueprint import bp
from app.organization.models import Org, Place
from app.organization.scope import (
    breadcrumb,
    get_in_scope_or_404,
    member_scope_filter,
    place_scope_filter,
    scope_of,
)
from app.search_text import searchable
from app.security import staff_required
from app.timeutil import local_today

# ---- places in the user's own scope (staff, grid workers, admins) -------------------------


def _place_in_scope(place_id: int) -> Place:
    return get_in_scope_or_404(Place, place_id, current_user, place_scope_filter)


def _member_counts(column, ids: list[int]) -> dict[int, int]:  # noqa: ANN001
    """在册党员 of each child (the roster records placed there, inside the user's scope)."""
    if not ids:
        return {}
    rows = db.session.execute(
        select(column, func.count())
        .where(column.in_(ids), member_scope_filter(current_user), on_roster_clause())
        .group_by(column)
    ).all()
    return dict(rows)


@bp.route("/places", methods=["GET", "POST"])
@staff_required
@searchable
def places():
    scope = scope_of(current_user)
    q = search_text.text()[:50]
    in_scope = place_scope_filter(current_user)
    results = []
    if q:
        results = (
            db.session.execute(
                select(Place)
                .where(
                    in_scope,
                    Place.kind.in_(("grid", "building")),
                    Place.name.contains(q, autoescape=True),
                )
                .order_by(Place.kind.desc(), Place.name)
                .limit(50)
            )
            .scalars()
            .all()
        )
    communities = (
        db.session.execute(
            select(Place)
            .where(in_scope, Place.kind == "community")
            .order_by(Place.position, Place.id)
        )
        .scalars()
        .all()
    )
    grids = (
        db.session.execute(
            select(Place).where(in_scope, Place.kind == "grid").order_by(Place.position, Place.id)
        )
        .scalars()
        .all()
    )
    by_community: dict[int | None, list[Place]] = {}
    for grid in grids:
        by_community.setdefault(grid.parent_id, []).append(grid)
    known = {c.id for c in communities}
    # A grid worker's grids may lie in a community outside their scope: show its name only.
    extra = [cid for cid in by_community if cid not in known]
    names = (
        dict(db.session.execute(select(Place.id, Place.name).where(Place.id.in_(extra))).all())
        if extra
        else {}
    )
    sections = [(c.id, c.name, by_community.get(c.id, [])) for c in communities]
    sections += [(cid, names.get(cid, ""), by_community[cid]) for cid in extra]
    building_counts = (
        dict(
            db.session.execute(
                select(Place.parent_id, func.count())
                .where(
                    Place.parent_id.in_([g.id for g in grids]), Place.kind == "building", in_scope
                )
                .group_by(Place.parent_id)
            ).all()
        )
        if grids
        else {}
    )
    return render_page_or_block(
        "organization/places.html",
        "results",
        # The scope's headline numbers (the same as on 工作台), in the page head only.
        headlines=None
        if is_partial()
        else headline_counts([member_scope_filter(current_user)], local_today()),
        q=q,
        results=results,
        sections=sections,
        building_counts=building_counts,
        everything=scope.everything,
    )


@bp.route("/places/<int:place_id>")
@staff_required
def place(place_id: int):
    node = _place_in_scope(place_id)
    kids = (
        db.session.execute(
            select(Place)
            .where(Place.parent_id == node.id, place_scope_filter(current_user))
            .order_by(Place.position, Place.id)
        )
        .scalars()
        .all()
    )
    column = {"community": Member.grid_id, "grid": Member.building_id}.get(node.kind)
    member_counts = _member_counts(column, [k.id for k in kids]) if column is not None else {}
    if is_partial():
        return render_page_or_block(
            "organization/place.html", "children", node=node, kids=kids, member_counts=member_counts
        )
    crumbs = [c for c in breadcrumb(Place, node.id)]
    visible = set(
        db.session.execute(
            select(Place.id).where(
                Place.id.in_([c.id for c in crumbs]), place_scope_filter(current_user)
            )
        ).scalars()
    )
    group = db.session.get(Org, node.group_id) if node.group_id else None
    return render_template(
        "organization/place.html",
        node=node,
        kids=kids,
        member_counts=member_counts,
        crumbs=crumbs,
        visible=visible,
        group=group,
        workers=appointments.workers_of(node) if node.kind == "grid" else [],
    )


@bp.route("/places/<int:place_id>/counts")
@staff_required
def place_counts(place_id: int):
    node = _place_in_scope(place_id)
    from app.organization.services import node_members_clause

    headlines = headline_counts(
        [node_members_clause("place", node), member_scope_filter(current_user)], local_today()
    )
    buildings = 0
    if node.kind != "building":
        from app.organization.scope import subtree_select

        buildings = db.session.scalar(
            select(func.count()).where(
                Place.id.in_(subtree_select(Place, node.id)),
                Place.kind == "building",
                place_scope_filter(current_user),
            )
        )
    return render_template(
        "organization/_counts.html",
        tree="place",
        node=node,
        numbers={"headlines": headlines, "buildings": buildings or 0},
    )


@bp.route("/places/export.xlsx")
@staff_required
def places_export():
    rows = importer.structure_rows(place_scope_filter(current_user))
    record("export", object_type="structure", after={"rows": len(rows), "format": "xlsx"})
    data = importer.write_xlsx(list(importer.COLUMNS.values()), rows, "楼栋")
    return Response(
        data,
        mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        headers={"Content-Disposition": "attachment; filename=structure.xlsx"},
    )
