"""Structure import in the browser: upload, preview, confirm, rejected rows."""

from __future__ import annotations

from pathlib import Path

from flask import (
    Response,
    abort,
    current_app,
    flash,
    render_template,
    request,
    url_for,
)
from flask_login import current_user

from app.audit import record
from app.extensions import db
from app.htmx import render_page_or_block
from app.organization import importer
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
    ImportForm,
)
from app.security import admin_required

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
