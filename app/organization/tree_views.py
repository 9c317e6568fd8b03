"""What the structure admin pages show: the forms with their choices, the children of a node
(with the form that adds one) and the node page. Used by ``routes``."""

from __future__ import annotations

from flask import Response, abort, render_template
from sqlalchemy import select

from app.auth.models import User
from app.extensions import db
from app.htmx import render_page_or_block
from app.organization import appointments, services
from app.organization.forms import (
    ActionForm,
    AddNodeForm,
    GroupLinkForm,
    MoveForm,
    NodeForm,
    RenameForm,
    WorkerForm,
    choices,
)
from app.organization.models import ORG_CHILD_KINDS, PLACE_CHILD_KINDS, Org, Place
from app.organization.scope import breadcrumb

TREE_TITLES = {"org": "党组织", "place": "网格与楼栋"}
CHILD_KINDS = {"org": ORG_CHILD_KINDS, "place": PLACE_CHILD_KINDS}


def tree_arg(tree: str) -> str:
    if tree not in services.TREES:
        abort(404)
    return tree


def node_or_404(tree: str, node_id: int, kind: str | None = None):  # noqa: ANN201
    """The node of ``tree`` (of ``kind``, when given), else 404."""
    node = services.get_node(tree_arg(tree), node_id)
    if node is None or (kind is not None and node.kind != kind):
        abort(404)
    return node


def child_kind(tree: str, node) -> str | None:  # noqa: ANN001
    kinds = CHILD_KINDS[tree][node.kind if node is not None else None]
    return next(iter(sorted(kinds))) if kinds else None


def free_communities(exclude_org: int | None = None) -> list[tuple[int, str]]:
    """Communities no community committee is linked to yet (the choices of a new link)."""
    taken = select(Org.place_id).where(Org.place_id.is_not(None))
    if exclude_org:
        taken = taken.where(Org.id != exclude_org)
    rows = db.session.execute(
        select(Place.id, Place.name)
        .where(Place.kind == "community", Place.retired_at.is_(None), Place.id.not_in(taken))
        .order_by(Place.position, Place.id)
    ).all()
    return [(0, "（暂不关联）")] + [(pid, name) for pid, name in rows]


# ---- forms ----------------------------------------------------------------------------------


def add_form(tree: str, node, formdata=None) -> AddNodeForm:  # noqa: ANN001
    # A prefix per parent keeps ids unique when several add forms share a page.
    form = AddNodeForm(formdata=formdata, prefix=f"add{node.id if node is not None else 0}")
    form.name.label.text = f"添加{services.kind_label(tree, child_kind(tree, node))}"
    if tree == "org" and child_kind(tree, node) == "community_committee":
        form.place_id.choices = choices(free_communities())
    return form


def rename_form(node, **kw) -> RenameForm:  # noqa: ANN001
    return RenameForm(prefix=f"rename{node.id}", **kw)


def node_form(tree: str, node, formdata=None) -> NodeForm:  # noqa: ANN001
    data = {
        "name": node.name,
        "code": node.code,
        "address": getattr(node, "address", None),
        "contact_name": getattr(node, "contact_name", None),
        "contact_phone": getattr(node, "contact_phone", None),
        "is_joint": getattr(node, "is_joint", False),
        "place_id": getattr(node, "place_id", None) or 0,
    }
    form = NodeForm(formdata=formdata, data=data)
    if tree == "org" and node.kind == "community_committee":
        form.place_id.choices = choices(free_communities(exclude_org=node.id))
    return form


def move_form(tree: str, node, formdata=None) -> MoveForm:  # noqa: ANN001
    form = MoveForm(formdata=formdata, data={"parent_id": node.parent_id or 0})
    targets = services.move_targets(tree, node)
    labels = {}
    if tree == "place" and node.kind == "building":
        communities = {
            p.id: p.name
            for p in db.session.execute(select(Place).where(Place.kind == "community")).scalars()
        }
        labels = {t.id: f"{communities.get(t.parent_id, '')} / {t.name}" for t in targets}
    form.parent_id.choices = choices(
        [(0, "请选择")] + [(t.id, labels.get(t.id, t.name)) for t in targets]
    )
    return form


def group_form(node: Place, formdata=None) -> GroupLinkForm:  # noqa: ANN001
    form = GroupLinkForm(formdata=formdata, data={"group_id": node.group_id or 0})
    pairs = services.groups_of_community(services.community_id_of(node))
    form.group_id.choices = choices(
        [(0, "（不关联）")] + [(g.id, f"{b.name} / {g.name}") for b, g in pairs]
    )
    return form


def worker_form(formdata=None) -> WorkerForm:  # noqa: ANN001
    form = WorkerForm(formdata=formdata)
    users = db.session.execute(
        select(User)
        .where(User.role.in_(("grid_worker", "staff")), User.active.is_(True))
        .order_by(User.role, User.username)
    ).scalars()
    form.user_id.choices = choices(
        [(0, "请选择账号")]
        + [(u.id, f"{u.display_name}（{u.username}，{u.role_label}）") for u in users]
    )
    return form


# ---- what the pages render ------------------------------------------------------------------


def children_context(tree: str, node, form: AddNodeForm | None = None) -> dict:  # noqa: ANN001
    kids = services.children_of(tree, node.id if node is not None else None)
    kind = child_kind(tree, node)
    return {
        "tree": tree,
        "parent": node,
        "kids": kids,
        "kid_counts": services.child_counts(tree, [k.id for k in kids]),
        "child_kind": kind,
        "child_kind_label": services.kind_label(tree, kind),
        "add_form": form or add_form(tree, node),
        "child_kinds": CHILD_KINDS[tree],
        "tree_titles": TREE_TITLES,
    }


def row_response(tree: str, node, form: RenameForm | None = None, status: int = 200) -> Response:  # noqa: ANN001
    """One row of the tree (with its rename form while renaming)."""
    return Response(
        render_template(
            "organization/_row.html",
            tree=tree,
            node=node,
            kid_count=services.child_counts(tree, [node.id]).get(node.id, 0),
            child_kinds=CHILD_KINDS[tree],
            rename_form=form,
        ),
        status=status,
        mimetype="text/html",
    )


def node_page(tree: str, node, *, status: int = 200, block: str | None = None, **forms) -> Response:  # noqa: ANN001
    """The node page (or one of its panels, ``block``, for htmx) with the given forms."""
    ctx = children_context(tree, node, forms.get("add_form"))
    ctx.update(
        node=node,
        crumbs=breadcrumb(services.model_for(tree), node.id),
        form=forms.get("form") or node_form(tree, node),
        move_form=forms.get("move_form") or move_form(tree, node),
        danger_form=forms.get("danger_form") or ActionForm(),
    )
    if tree == "place" and node.kind == "building":
        ctx["group_form"] = forms.get("group_form") or group_form(node)
        ctx["group"] = db.session.get(Org, node.group_id) if node.group_id else None
    if tree == "place" and node.kind == "grid":
        ctx["worker_form"] = forms.get("worker_form") or worker_form()
        ctx["workers"] = appointments.workers_of(node)
    if tree == "org" and node.kind == "community_committee" and node.place_id:
        ctx["community"] = db.session.get(Place, node.place_id)
    if tree == "org" and node.kind == "group":
        ctx["linked_buildings"] = (
            db.session.execute(
                select(Place).where(Place.group_id == node.id).order_by(Place.name).limit(100)
            )
            .scalars()
            .all()
        )
    if block:
        return render_page_or_block("organization/node.html", block, status=status, **ctx)
    return Response(
        render_template("organization/node.html", **ctx), status=status, mimetype="text/html"
    )
