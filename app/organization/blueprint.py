"""The organization blueprint and what its route modules share."""

from __future__ import annotations

from flask import (
    Blueprint,
    Response,
    abort,
    flash,
    redirect,
)
from sqlalchemy import select

from app.errors import DomainError
from app.extensions import db
from app.htmx import client_redirect, is_htmx, trigger
from app.organization import services
from app.organization.forms import (
    AddNodeForm,
    choices,
)
from app.organization.models import ORG_CHILD_KINDS, PLACE_CHILD_KINDS, Org, Place

bp = Blueprint("organization", __name__)

TREE_TITLES = {"org": "党组织", "place": "网格与楼栋"}
CHILD_KINDS = {"org": ORG_CHILD_KINDS, "place": PLACE_CHILD_KINDS}


def _tree_arg(tree: str) -> str:
    if tree not in services.TREES:
        abort(404)
    return tree


def _node_or_404(tree: str, node_id: int):  # noqa: ANN202
    node = services.get_node(_tree_arg(tree), node_id)
    if node is None:
        abort(404)
    return node


def _done(url: str, message: str | None = None, event: str = "tree-changed") -> Response:
    """After a successful change: flash, then go to ``url`` (a client redirect under htmx)."""
    if message:
        flash(message, "success")
    response = client_redirect(url) if is_htmx() else redirect(url, code=303)
    return trigger(response, event)


def _child_kind(tree: str, node) -> str | None:  # noqa: ANN001
    kinds = CHILD_KINDS[tree][node.kind if node is not None else None]
    return next(iter(sorted(kinds))) if kinds else None


def _free_communities(exclude_org: int | None = None) -> list[tuple[int, str]]:
    taken = select(Org.place_id).where(Org.place_id.is_not(None))
    if exclude_org:
        taken = taken.where(Org.id != exclude_org)
    rows = db.session.execute(
        select(Place.id, Place.name)
        .where(Place.kind == "community", Place.retired_at.is_(None), Place.id.not_in(taken))
        .order_by(Place.position, Place.id)
    ).all()
    return [(0, "（暂不关联）")] + [(pid, name) for pid, name in rows]


def _add_form(tree: str, node, formdata=None) -> AddNodeForm:  # noqa: ANN001
    # A prefix per parent keeps ids unique when several add forms share a page.
    form = AddNodeForm(formdata=formdata, prefix=f"add{node.id if node is not None else 0}")
    form.name.label.text = f"添加{services.kind_label(tree, _child_kind(tree, node))}"
    if tree == "org" and _child_kind(tree, node) == "community_committee":
        form.place_id.choices = choices(_free_communities())
    return form


def _children_context(tree: str, node, form: AddNodeForm | None = None) -> dict:  # noqa: ANN001
    kids = services.children_of(tree, node.id if node is not None else None)
    return {
        "tree": tree,
        "parent": node,
        "kids": kids,
        "kid_counts": services.child_counts(tree, [k.id for k in kids]),
        "child_kind": _child_kind(tree, node),
        "child_kind_label": services.kind_label(tree, _child_kind(tree, node)),
        "add_form": form or _add_form(tree, node),
        "child_kinds": CHILD_KINDS[tree],
        "tree_titles": TREE_TITLES,
    }


def _create_child(tree: str, parent, form: AddNodeForm):  # noqa: ANN001, ANN202
    """Validate and create; returns the new node or None (errors put on ``form``)."""
    if not form.validate():
        return None
    try:
        return services.create_node(
            tree,
            parent.id if parent is not None else None,
            form.name.data,
            address=form.address.data,
            is_joint=form.is_joint.data,
            place_id=form.place_id.data or None,
        )
    except DomainError as exc:
        form.set_error(exc.field if exc.field in form._fields else "name", exc.message)
        return None
