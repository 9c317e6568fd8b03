"""Structure admin (both trees, links, import) and the staff's own places, in scope.

Thin routes: parse, authorize, call one service, commit, render.
"""

from __future__ import annotations

from flask import (
    Response,
    abort,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from sqlalchemy import select

from app.auth.models import User
from app.errors import DomainError
from app.extensions import db
from app.htmx import is_partial, render_page_or_block, trigger
from app.organization import appointments, retiring, services
from app.organization.blueprint import (  # noqa: F401
    CHILD_KINDS,
    TREE_TITLES,
    _add_form,
    _child_kind,
    _children_context,
    _create_child,
    _done,
    _free_communities,
    _node_or_404,
    _tree_arg,
    bp,
)
from app.organization.forms import (
    GroupLinkForm,
    MoveForm,
    NodeForm,
    RenameForm,
    WorkerForm,
    choices,
)
from app.organization.models import Org, Place
from app.organization.scope import (
    breadcrumb,
)
from app.security import admin_required

# ---- the tree page ------------------------------------------------------------------------


@bp.route("/admin/org", methods=["GET", "POST"])
@admin_required
def tree():
    tree_name = request.args.get("tree", "org")
    if tree_name not in services.TREES:
        tree_name = "org"
    form = _add_form(tree_name, None, request.form if request.method == "POST" else None)
    status = 200
    if request.method == "POST":
        node = _create_child(tree_name, None, form)
        if node is not None:
            form = _add_form(tree_name, None)
            if not is_partial():
                flash(f"已添加「{node.name}」", "success")
                return redirect(url_for(".tree", tree=tree_name), code=303)
        else:
            status = 422
    ctx = _children_context(tree_name, None, form)
    # With few roots (one street committee), their first level is shown open; with many
    # (30 communities) each opens on demand, so the page never renders every grid.
    roots = ctx["kids"] if len(ctx["kids"]) <= 3 else []
    ctx["open_children"] = {root.id: _children_context(tree_name, root) for root in roots}
    response = render_page_or_block("organization/tree.html", "tree", status=status, **ctx)
    return (
        trigger(response, "tree-changed")
        if request.method == "POST" and status == 200
        else response
    )


@bp.route("/admin/org/<tree>/<int:node_id>/children", methods=["GET", "POST"])
@admin_required
def children(tree: str, node_id: int):
    node = _node_or_404(tree, node_id)
    form = _add_form(tree, node, request.form if request.method == "POST" else None)
    status = 200
    if request.method == "POST":
        child = _create_child(tree, node, form)
        if child is None:
            status = 422
        else:
            if not is_partial():
                return _done(
                    url_for(".node", tree=tree, node_id=node.id), f"已添加「{child.name}」"
                )
            form = _add_form(tree, node)
    if is_partial():
        response = render_page_or_block(
            "organization/node.html",
            "children",
            status=status,
            **_children_context(tree, node, form),
        )
        return (
            trigger(response, "tree-changed")
            if status == 200 and request.method == "POST"
            else response
        )
    return _node_page(tree, node, status=status, add_form=form)


@bp.route("/admin/org/<tree>/<int:node_id>/row")
@admin_required
def row(tree: str, node_id: int):
    node = _node_or_404(tree, node_id)
    if not is_partial():
        return redirect(url_for(".node", tree=tree, node_id=node.id))
    return _row_response(tree, node)


def _row_response(tree: str, node, form: RenameForm | None = None, status: int = 200):  # noqa: ANN001, ANN202
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


def _rename_form(node, **kw) -> RenameForm:  # noqa: ANN001
    return RenameForm(prefix=f"rename{node.id}", **kw)


@bp.route("/admin/org/<tree>/<int:node_id>/name", methods=["GET", "POST"])
@admin_required
def rename(tree: str, node_id: int):
    node = _node_or_404(tree, node_id)
    if request.method == "GET":
        if not is_partial():
            return redirect(url_for(".node", tree=tree, node_id=node.id))
        return _row_response(tree, node, _rename_form(node, data={"name": node.name}))
    form = _rename_form(node, formdata=request.form)
    if form.validate():
        try:
            services.rename_node(node, form.name.data)
        except DomainError as exc:
            form.set_error("name", exc.message)
        else:
            if is_partial():
                return trigger(_row_response(tree, node), "tree-changed")
            return _done(url_for(".node", tree=tree, node_id=node.id), "名称已修改")
    db.session.rollback()
    if is_partial():
        return _row_response(tree, node, form, status=422)
    return _node_page(tree, node, status=422, form=_node_form(tree, node, request.form))


@bp.route("/admin/org/<tree>/<int:node_id>/counts")
@admin_required
def counts(tree: str, node_id: int):
    node = _node_or_404(tree, node_id)
    numbers = services.node_counts(tree, node)
    return render_template("organization/_counts.html", tree=tree, node=node, numbers=numbers)


# ---- the node page ------------------------------------------------------------------------


def _node_form(tree: str, node, formdata=None) -> NodeForm:  # noqa: ANN001
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
        form.place_id.choices = choices(_free_communities(exclude_org=node.id))
    return form


def _move_form(tree: str, node, formdata=None) -> MoveForm:  # noqa: ANN001
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


def _group_form(node: Place, formdata=None) -> GroupLinkForm:  # noqa: ANN001
    form = GroupLinkForm(formdata=formdata, data={"group_id": node.group_id or 0})
    pairs = services.groups_of_community(services.community_id_of(node))
    form.group_id.choices = choices(
        [(0, "（不关联）")] + [(g.id, f"{b.name} / {g.name}") for b, g in pairs]
    )
    return form


def _worker_form(formdata=None) -> WorkerForm:  # noqa: ANN001
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


def _node_page(tree: str, node, *, status: int = 200, block: str | None = None, **forms):  # noqa: ANN001, ANN202
    ctx = _children_context(tree, node, forms.get("add_form"))
    ctx.update(
        node=node,
        crumbs=breadcrumb(services.model_for(tree), node.id),
        form=forms.get("form") or _node_form(tree, node),
        move_form=forms.get("move_form") or _move_form(tree, node),
        danger_error=forms.get("danger_error"),
    )
    if tree == "place" and node.kind == "building":
        ctx["group_form"] = forms.get("group_form") or _group_form(node)
        ctx["group"] = db.session.get(Org, node.group_id) if node.group_id else None
    if tree == "place" and node.kind == "grid":
        ctx["worker_form"] = forms.get("worker_form") or _worker_form()
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


@bp.route("/admin/org/<tree>/<int:node_id>", methods=["GET", "POST"])
@admin_required
def node(tree: str, node_id: int):
    node = _node_or_404(tree, node_id)
    if request.method == "GET":
        return _node_page(tree, node)
    form = _node_form(tree, node, request.form)
    if form.validate():
        fields = {
            k: form[k].data for k in ("name", "code", "address", "contact_name", "contact_phone")
        }
        fields["is_joint"] = form.is_joint.data
        if tree == "org" and node.kind == "community_committee":
            fields["place_id"] = form.place_id.data or None
        try:
            services.update_node(node, **fields)
        except DomainError as exc:
            form.set_error(exc.field, exc.message)
        else:
            return _done(url_for(".node", tree=tree, node_id=node.id), "已保存")
    db.session.rollback()
    return _node_page(tree, node, status=422, block="edit", form=form)


@bp.route("/admin/org/<tree>/<int:node_id>/move", methods=["POST"])
@admin_required
def move(tree: str, node_id: int):
    node = _node_or_404(tree, node_id)
    form = _move_form(tree, node, request.form)
    try:
        result = services.move_node(tree, node, form.parent_id.data or None)
    except DomainError as exc:
        db.session.rollback()
        form.set_error("parent_id", exc.message)
        return _node_page(tree, node, status=422, block="move", move_form=form)
    return _done(url_for(".node", tree=tree, node_id=node.id), result.message)


@bp.route("/admin/org/<tree>/<int:node_id>/retire", methods=["POST"])
@admin_required
def retire(tree: str, node_id: int):
    node = _node_or_404(tree, node_id)
    restore = request.form.get("action") == "restore"
    try:
        if restore:
            retiring.restore_node(node)
        else:
            retiring.retire_node(node)
    except DomainError as exc:
        db.session.rollback()
        return _node_page(tree, node, status=422, block="danger", danger_error=exc.message)
    message = f"已恢复「{node.name}」" if restore else f"已停用「{node.name}」"
    return _done(url_for(".node", tree=tree, node_id=node.id), message)


@bp.route("/admin/org/<tree>/<int:node_id>/delete", methods=["POST"])
@admin_required
def delete(tree: str, node_id: int):
    node = _node_or_404(tree, node_id)
    parent_id, name = node.parent_id, node.name
    try:
        retiring.delete_node(node)
    except DomainError as exc:
        db.session.rollback()
        return _node_page(tree, node, status=422, block="danger", danger_error=exc.message)
    target = (
        url_for(".node", tree=tree, node_id=parent_id) if parent_id else url_for(".tree", tree=tree)
    )
    return _done(target, f"已删除「{name}」")


@bp.route("/admin/org/place/<int:node_id>/group", methods=["POST"])
@admin_required
def link_group(node_id: int):
    node = _node_or_404("place", node_id)
    if node.kind != "building":
        abort(404)
    form = _group_form(node, request.form)
    try:
        appointments.link_building_group(node, form.group_id.data or None)
    except DomainError as exc:
        db.session.rollback()
        form.set_error("group_id", exc.message)
        return _node_page("place", node, status=422, block="group", group_form=form)
    return _done(url_for(".node", tree="place", node_id=node.id), "楼栋党小组已更新")


@bp.route("/admin/org/place/<int:node_id>/workers", methods=["POST"])
@admin_required
def workers(node_id: int):
    node = _node_or_404("place", node_id)
    if node.kind != "grid":
        abort(404)
    form = _worker_form(request.form)
    user = db.session.get(User, form.user_id.data) if form.user_id.data else None
    try:
        appointments.appoint_grid_worker(node, user)
    except DomainError as exc:
        db.session.rollback()
        form.set_error("user_id", exc.message)
        return _node_page("place", node, status=422, block="workers", worker_form=form)
    return _done(
        url_for(".node", tree="place", node_id=node.id), f"已任命 {user.display_name} 为网格员"
    )


@bp.route("/admin/org/place/<int:node_id>/workers/<int:user_id>/remove", methods=["POST"])
@admin_required
def worker_remove(node_id: int, user_id: int):
    node = _node_or_404("place", node_id)
    user = db.session.get(User, user_id)
    if node.kind != "grid" or user is None:
        abort(404)
    try:
        appointments.remove_grid_worker(node, user)
    except DomainError:
        abort(404)
    return _done(
        url_for(".node", tree="place", node_id=node.id), f"已取消 {user.display_name} 的网格员任命"
    )
