"""Structure admin: both trees (党组织, 网格与楼栋) — add, rename, edit, move, retire, delete,
link a building's group and appoint grid workers.

Thin routes: parse, authorize, call one service, render; the unit of work commits.
"""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for

from app.auth.models import User
from app.errors import DomainError, errors_onto, form_status
from app.extensions import db
from app.htmx import is_partial, render_page_or_block, trigger
from app.organization import appointments, retiring, services
from app.organization.blueprint import bp, done
from app.organization.forms import ActionForm, AddNodeForm
from app.organization.tree_views import (
    add_form,
    children_context,
    group_form,
    move_form,
    node_form,
    node_or_404,
    node_page,
    rename_form,
    row_response,
    worker_form,
)
from app.security import admin_required


def _create_child(tree: str, parent, form: AddNodeForm):  # noqa: ANN001, ANN202
    """Create the child the (validated) add form describes."""
    return services.create_node(
        tree,
        parent.id if parent is not None else None,
        form.name.data,
        address=form.address.data,
        is_joint=form.is_joint.data,
        place_id=form.place_id.data or None,
    )


def _post_add_form(tree: str, parent, finish):  # noqa: ANN001, ANN202
    """The add-child form of ``parent`` (None: a root), the child created from a valid POST.
    Returns ``(form, created, response)``: after a full-page create, ``finish(child)`` is the
    response; after an htmx create, a fresh form and ``created``."""
    posted = request.method == "POST"
    form = add_form(tree, parent, request.form if posted else None)
    if posted and form.validate():
        with errors_onto(form):
            child = _create_child(tree, parent, form)
            if not is_partial():
                return form, False, finish(child)
            return add_form(tree, parent), True, None
    return form, False, None


def _tree_added(tree_name: str, node):  # noqa: ANN001, ANN202
    flash(f"已添加「{node.name}」", "success")
    return redirect(url_for(".tree", tree=tree_name), code=303)


# ---- the tree page ------------------------------------------------------------------------


@bp.route("/admin/org", methods=["GET", "POST"])
@admin_required
def tree():
    tree_name = request.args.get("tree", "org")
    if tree_name not in services.TREES:
        tree_name = "org"
    form, created, response = _post_add_form(
        tree_name, None, lambda node: _tree_added(tree_name, node)
    )
    if response is not None:
        return response
    ctx = children_context(tree_name, None, form)
    # With few roots (one street committee), their first level is shown open; with many
    # (30 communities) each opens on demand, so the page never renders every grid.
    roots = ctx["kids"] if len(ctx["kids"]) <= 3 else []
    ctx["open_children"] = {root.id: children_context(tree_name, root) for root in roots}
    response = render_page_or_block(
        "organization/tree.html", "tree", status=form_status(form), **ctx
    )
    return trigger(response, "tree-changed") if created else response


@bp.route("/admin/org/<tree>/<int:node_id>/children", methods=["GET", "POST"])
@admin_required
def children(tree: str, node_id: int):
    node = node_or_404(tree, node_id)
    form, created, response = _post_add_form(
        tree,
        node,
        lambda child: done(url_for(".node", tree=tree, node_id=node.id), f"已添加「{child.name}」"),
    )
    if response is not None:
        return response
    if is_partial():
        response = render_page_or_block(
            "organization/node.html",
            "children",
            status=form_status(form),
            **children_context(tree, node, form),
        )
        return trigger(response, "tree-changed") if created else response
    return node_page(tree, node, status=form_status(form), add_form=form)


@bp.route("/admin/org/<tree>/<int:node_id>/row")
@admin_required
def row(tree: str, node_id: int):
    node = node_or_404(tree, node_id)
    if not is_partial():
        return redirect(url_for(".node", tree=tree, node_id=node.id))
    return row_response(tree, node)


@bp.route("/admin/org/<tree>/<int:node_id>/name", methods=["GET", "POST"])
@admin_required
def rename(tree: str, node_id: int):
    node = node_or_404(tree, node_id)
    if request.method == "GET":
        if not is_partial():
            return redirect(url_for(".node", tree=tree, node_id=node.id))
        return row_response(tree, node, rename_form(node, data={"name": node.name}))
    form = rename_form(node, formdata=request.form)
    if form.validate():
        with errors_onto(form):
            services.rename_node(node, form.name.data)
            if is_partial():
                return trigger(row_response(tree, node), "tree-changed")
            return done(url_for(".node", tree=tree, node_id=node.id), "名称已修改")
    if is_partial():
        return row_response(tree, node, form, status=form_status(form))
    # Without JavaScript the rename came from the node page: show it with the edit form.
    edit = node_form(tree, node)
    edit.name.data, edit.name.errors = form.name.data, list(form.name.errors)
    edit.form_errors.extend(form.form_errors)
    return node_page(tree, node, status=form_status(form), form=edit)


@bp.route("/admin/org/<tree>/<int:node_id>/counts")
@admin_required
def counts(tree: str, node_id: int):
    node = node_or_404(tree, node_id)
    numbers = services.node_counts(tree, node)
    return render_template("organization/_counts.html", tree=tree, node=node, numbers=numbers)


# ---- the node page ------------------------------------------------------------------------


@bp.route("/admin/org/<tree>/<int:node_id>", methods=["GET", "POST"])
@admin_required
def node(tree: str, node_id: int):
    node = node_or_404(tree, node_id)
    if request.method == "GET":
        return node_page(tree, node)
    form = node_form(tree, node, request.form)
    if form.validate():
        fields = {
            k: form[k].data for k in ("name", "code", "address", "contact_name", "contact_phone")
        }
        fields["is_joint"] = form.is_joint.data
        if tree == "org" and node.kind == "community_committee":
            fields["place_id"] = form.place_id.data or None
        with errors_onto(form):
            services.update_node(node, **fields)
            return done(url_for(".node", tree=tree, node_id=node.id), "已保存")
    return node_page(tree, node, status=form_status(form), block="edit", form=form)


@bp.route("/admin/org/<tree>/<int:node_id>/move", methods=["POST"])
@admin_required
def move(tree: str, node_id: int):
    node = node_or_404(tree, node_id)
    form = move_form(tree, node, request.form)
    with errors_onto(form):
        result = services.move_node(tree, node, form.parent_id.data or None)
        return done(url_for(".node", tree=tree, node_id=node.id), result.message)
    return node_page(tree, node, status=form_status(form), block="move", move_form=form)


@bp.route("/admin/org/<tree>/<int:node_id>/retire", methods=["POST"])
@admin_required
def retire(tree: str, node_id: int):
    node = node_or_404(tree, node_id)
    restore = request.form.get("action") == "restore"
    form = ActionForm()
    with errors_onto(form):
        if restore:
            retiring.restore_node(node)
        else:
            retiring.retire_node(node)
        message = f"已恢复「{node.name}」" if restore else f"已停用「{node.name}」"
        return done(url_for(".node", tree=tree, node_id=node.id), message)
    return node_page(tree, node, status=form_status(form), block="danger", danger_form=form)


@bp.route("/admin/org/<tree>/<int:node_id>/delete", methods=["POST"])
@admin_required
def delete(tree: str, node_id: int):
    node = node_or_404(tree, node_id)
    parent_id, name = node.parent_id, node.name
    form = ActionForm()
    with errors_onto(form):
        retiring.delete_node(node)
        target = (
            url_for(".node", tree=tree, node_id=parent_id)
            if parent_id
            else url_for(".tree", tree=tree)
        )
        return done(target, f"已删除「{name}」")
    return node_page(tree, node, status=form_status(form), block="danger", danger_form=form)


@bp.route("/admin/org/place/<int:node_id>/group", methods=["POST"])
@admin_required
def link_group(node_id: int):
    node = node_or_404("place", node_id, "building")
    form = group_form(node, request.form)
    with errors_onto(form):
        appointments.link_building_group(node, form.group_id.data or None)
        return done(url_for(".node", tree="place", node_id=node.id), "楼栋党小组已更新")
    return node_page("place", node, status=form_status(form), block="group", group_form=form)


@bp.route("/admin/org/place/<int:node_id>/workers", methods=["POST"])
@admin_required
def workers(node_id: int):
    node = node_or_404("place", node_id, "grid")
    form = worker_form(request.form)
    user = db.session.get(User, form.user_id.data) if form.user_id.data else None
    with errors_onto(form):
        appointments.appoint_grid_worker(node, user)
        return done(
            url_for(".node", tree="place", node_id=node.id),
            f"已任命 {user.display_name} 为网格员",
        )
    return node_page("place", node, status=form_status(form), block="workers", worker_form=form)


@bp.route("/admin/org/place/<int:node_id>/workers/<int:user_id>/remove", methods=["POST"])
@admin_required
def worker_remove(node_id: int, user_id: int):
    node = node_or_404("place", node_id, "grid")
    user = db.session.get(User, user_id)
    if user is None:
        abort(404)
    try:
        appointments.remove_grid_worker(node, user)
    except DomainError:
        abort(404)
    return done(
        url_for(".node", tree="place", node_id=node.id), f"已取消 {user.display_name} 的网格员任命"
    )
