"""Structure admin (both trees, links, import) and the staff's own places, in scope.

Thin routes: parse, authorize, call one service, commit, render.
"""

from __future__ import annotations

from pathlib import Path

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_login import current_user
from sqlalchemy import func, select

from app.audit import record
from app.auth.models import User
from app.extensions import db
from app.htmx import client_redirect, is_htmx, is_partial, render_page_or_block, trigger
from app.members.models import Member
from app.organization import importer, services
from app.organization.forms import (
    AddNodeForm,
    GroupLinkForm,
    ImportForm,
    MoveForm,
    NodeForm,
    RenameForm,
    WorkerForm,
    choices,
)
from app.organization.models import ORG_CHILD_KINDS, PLACE_CHILD_KINDS, Org, Place
from app.organization.scope import (
    breadcrumb,
    get_in_scope_or_404,
    member_scope_filter,
    place_scope_filter,
    scope_of,
)
from app.organization.services import TreeError
from app.security import admin_required, staff_required

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
    except TreeError as exc:
        form.set_error(exc.field if exc.field in form._fields else "name", exc.message)
        return None


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
        except TreeError as exc:
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
        ctx["workers"] = services.workers_of(node)
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
        except TreeError as exc:
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
    except TreeError as exc:
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
            services.restore_node(node)
        else:
            services.retire_node(node)
    except TreeError as exc:
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
        services.delete_node(node)
    except TreeError as exc:
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
        services.link_building_group(node, form.group_id.data or None)
    except TreeError as exc:
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
        services.appoint_grid_worker(node, user)
    except TreeError as exc:
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
        services.remove_grid_worker(node, user)
    except TreeError:
        abort(404)
    return _done(
        url_for(".node", tree="place", node_id=node.id), f"已取消 {user.display_name} 的网格员任命"
    )


# ---- import -------------------------------------------------------------------------------


def _import_dir() -> Path:
    configured = current_app.config.get("ORG_IMPORT_DIR")
    return Path(configured) if configured else Path(current_app.instance_path) / "imports"


@bp.route("/admin/org/import", methods=["GET", "POST"])
@admin_required
def import_upload():
    form = ImportForm(formdata=request.form if request.method == "POST" else None)
    if request.method == "GET":
        return render_template("organization/import.html", form=form, preview=None)
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        form.set_error("file", "请选择要导入的文件")
    else:
        data = upload.stream.read(importer.MAX_BYTES + 1)
        try:
            rows = importer.parse_rows(importer.read_table(upload.filename, data))
        except importer.ImportFileError as exc:
            form.set_error("file", exc.args[0])
        else:
            street = form.street.data or importer.DEFAULT_STREET
            preview = importer.analyze(rows, street)
            db.session.rollback()
            token = importer.save_upload(
                _import_dir(), current_user.id, upload.filename, data, rows, street
            )
            return render_page_or_block(
                "organization/import.html",
                "result",
                form=form,
                preview=preview,
                token=token,
                filename=upload.filename,
            )
    return render_page_or_block(
        "organization/import.html", "upload", status=422, form=form, preview=None
    )


def _stored_upload(token: str) -> dict:
    payload = importer.load_upload(_import_dir(), token, current_user.id)
    if payload is None:
        abort(404)
    return payload


@bp.route("/admin/org/import/<token>", methods=["POST"])
@admin_required
def import_commit(token: str):
    payload = _stored_upload(token)
    if payload["committed"]:
        flash("该文件已经导入过了", "warning")
        return _done(url_for(".tree", tree="place"))
    preview = importer.analyze(payload["rows"], payload["street"], apply=True, user=current_user)
    record(
        "org_import",
        object_type="structure",
        after={"file": payload["filename"], "sha256": payload["sha256"], **preview.counts},
    )
    importer.mark_committed(_import_dir(), token, payload)
    counts = preview.counts
    return _done(
        url_for(".tree", tree="place"),
        f"导入完成：新建 {counts['create']} 个楼栋，更新 {counts['update']} 行，"
        f"无变化 {counts['unchanged']} 行，有误 {counts['rejected']} 行（未导入）",
    )


@bp.route("/admin/org/import/<token>/rejected.xlsx")
@admin_required
def import_rejected(token: str):
    payload = _stored_upload(token)
    preview = importer.analyze(payload["rows"], payload["street"])
    db.session.rollback()
    data = importer.rejected_xlsx(preview)
    return Response(
        data,
        mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        headers={"Content-Disposition": "attachment; filename=rejected-rows.xlsx"},
    )


# ---- places in the user's own scope (staff, grid workers, admins) -------------------------


def _place_in_scope(place_id: int) -> Place:
    return get_in_scope_or_404(Place, place_id, current_user, place_scope_filter)


def _member_counts(column, ids: list[int]) -> dict[int, int]:  # noqa: ANN001
    if not ids:
        return {}
    rows = db.session.execute(
        select(column, func.count())
        .where(column.in_(ids), member_scope_filter(current_user))
        .group_by(column)
    ).all()
    return dict(rows)


@bp.route("/places")
@staff_required
def places():
    scope = scope_of(current_user)
    q = (request.args.get("q") or "").strip()[:50]
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
        workers=services.workers_of(node) if node.kind == "grid" else [],
    )


@bp.route("/places/<int:place_id>/counts")
@staff_required
def place_counts(place_id: int):
    node = _place_in_scope(place_id)
    column = {
        "community": Member.community_id,
        "grid": Member.grid_id,
        "building": Member.building_id,
    }[node.kind]
    members = db.session.scalar(
        select(func.count()).where(column == node.id, member_scope_filter(current_user))
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
        numbers={"members": members or 0, "buildings": buildings or 0},
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
