"""Structure import in the browser: upload, preview, confirm, rejected rows."""

from __future__ import annotations

from pathlib import Path

from flask import (
    Response,
    current_app,
    flash,
    render_template,
    request,
    url_for,
)
from flask_login import current_user

from app.audit import record
from app.errors import DomainError, errors_onto, render_form
from app.htmx import render_page_or_block
from app.organization import importer
from app.organization.blueprint import bp, done
from app.organization.forms import ImportForm
from app.security import admin_required
from app.spreadsheets import upload_or_404


def _import_dir() -> Path:
    configured = current_app.config.get("ORG_IMPORT_DIR")
    return Path(configured) if configured else Path(current_app.instance_path) / "imports"


@bp.route("/admin/org/import", methods=["GET", "POST"])
@admin_required
def import_upload():
    form = ImportForm(formdata=request.form if request.method == "POST" else None)
    if request.method == "GET":
        return render_template("organization/import.html", form=form, preview=None)
    with errors_onto(form):
        upload = request.files.get("file")
        if upload is None or not upload.filename:
            raise DomainError("请选择要导入的文件", "file")
        data = upload.stream.read(importer.MAX_BYTES + 1)
        try:
            rows = importer.parse_rows(importer.read_table(upload.filename, data))
        except importer.ImportFileError as exc:
            raise DomainError(exc.args[0], "file") from exc
        street = form.street.data or importer.DEFAULT_STREET
        preview = importer.analyze(rows, street)  # a dry run: nothing is written
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
    return render_form("organization/import.html", "upload", form, preview=None)


def _stored_upload(token: str) -> dict:
    return upload_or_404(_import_dir(), token, current_user.id)


@bp.route("/admin/org/import/<token>", methods=["POST"])
@admin_required
def import_commit(token: str):
    payload = _stored_upload(token)
    if payload["committed"]:
        flash("该文件已经导入过了", "warning")
        return done(url_for(".tree", tree="place"))
    preview = importer.analyze(payload["rows"], payload["street"], apply=True, user=current_user)
    record(
        "org_import",
        object_type="structure",
        after={"file": payload["filename"], "sha256": payload["sha256"], **preview.counts},
    )
    importer.mark_committed(_import_dir(), token, payload)
    counts = preview.counts
    return done(
        url_for(".tree", tree="place"),
        f"导入完成：新建 {counts['create']} 个楼栋，更新 {counts['update']} 行，"
        f"无变化 {counts['unchanged']} 行，有误 {counts['rejected']} 行（未导入）",
    )


@bp.route("/admin/org/import/<token>/rejected.xlsx")
@admin_required
def import_rejected(token: str):
    payload = _stored_upload(token)
    preview = importer.analyze(payload["rows"], payload["street"])  # a dry run
    data = importer.rejected_xlsx(preview)
    return Response(
        data,
        mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        headers={"Content-Disposition": "attachment; filename=rejected-rows.xlsx"},
    )
