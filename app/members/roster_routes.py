"""Roster import (upload → preview → confirm, rejected rows as XLSX) and export in the browser.

Registered on the members blueprint (``members.import_upload`` …). Staff work inside their
scope: rows whose community/grid (or whose stored member) lies outside it are rejected with a
reason; the export holds the list's filters, and ID numbers and phones are masked unless the
user may reveal them. Every import and export is audited.
"""

from __future__ import annotations

from pathlib import Path

from flask import current_app, flash, request, url_for
from flask_login import current_user

from app import search_text
from app.audit import record
from app.extensions import db
from app.htmx import render_page_or_block, see_other
from app.members import importer
from app.members.blueprint import bp
from app.members.queries import filter_where, read_filters
from app.security import mark_personal, staff_required
from app.spreadsheets import (
    XLSX_MIMETYPE,
    ImportFileError,
    mark_committed,
    save_upload,
    upload_or_404,
    xlsx_download,
)

PREVIEW_ROWS = 300
ACCEPTED_TYPES = {
    "",
    "application/octet-stream",
    "text/csv",
    "text/plain",
    "application/csv",
    "application/vnd.ms-excel",  # what Windows browsers send for .csv
    XLSX_MIMETYPE,
    "application/zip",
}


def _import_dir() -> Path:
    configured = current_app.config.get("ROSTER_IMPORT_DIR")
    return (
        Path(configured) if configured else Path(current_app.instance_path) / "imports" / "roster"
    )


def _max_bytes() -> int:
    limit = current_app.config.get("MAX_CONTENT_LENGTH") or importer.MAX_BYTES
    return min(importer.MAX_BYTES, limit)


def _page(status: int = 200, **context):
    context.setdefault("preview", None)
    context.setdefault("error", None)
    context.setdefault("max_mb", _max_bytes() // 1024 // 1024)
    context.setdefault("labels", importer.SHORT_LABELS)
    block = "result" if context["preview"] is not None else "upload"
    return render_page_or_block("members/import.html", block, status=status, **context)


@bp.route("/import", methods=["GET", "POST"])
@staff_required
def import_upload():
    mark_personal()
    if request.method == "GET":
        return _page()
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        return _page(422, error="请选择要导入的文件")
    mimetype = (upload.mimetype or "").lower()
    if mimetype not in ACCEPTED_TYPES:
        return _page(422, error="只支持 .xlsx 和 .csv 文件")
    limit = _max_bytes()
    try:
        data = upload.stream.read(limit + 1)
    finally:
        upload.close()  # large uploads are spooled to a temporary file
    if len(data) > limit:
        return _page(422, error=f"文件超过 {limit // 1024 // 1024} MB，请拆分后再导入")
    try:
        rows, columns = importer.read_roster(upload.filename, data)
    except ImportFileError as exc:
        return _page(422, error=exc.args[0])
    preview = importer.analyze(rows, columns, user=current_user)
    db.session.rollback()
    token = save_upload(
        _import_dir(), current_user.id, upload.filename, data, rows, columns=columns
    )
    return _page(
        preview=preview, token=token, filename=Path(upload.filename).name, shown=_shown(preview)
    )


def _shown(preview: importer.Preview) -> list:
    """The rows worth looking at first: rejected, then created and updated (capped)."""
    order = {"rejected": 0, "update": 1, "create": 2}
    rows = [r for r in preview.rows if r.status != "unchanged"]
    rows.sort(key=lambda r: (order[r.status], r.line))
    return rows[:PREVIEW_ROWS]


def _stored(token: str) -> dict:
    return upload_or_404(_import_dir(), token, current_user.id)


@bp.route("/import/<token>", methods=["POST"])
@staff_required
def import_commit(token: str):
    payload = _stored(token)
    target = url_for("members.import_upload")
    if payload["committed"]:
        flash("该文件已经导入过了", "warning")
        return see_other(target)
    preview = importer.analyze(payload["rows"], payload["columns"], user=current_user, apply=True)
    counts = preview.counts
    record(
        "member_import",
        object_type="roster",
        after={
            "file": payload["filename"],
            "sha256": payload["sha256"],
            "rows": len(preview.rows),
            **counts,
        },
        detail="网页导入",
    )
    mark_committed(_import_dir(), token, payload)
    flash(
        f"导入完成：新建 {counts['create']} 人，更新 {counts['update']} 人，"
        f"无变化 {counts['unchanged']} 人，有误 {counts['rejected']} 行（未导入）",
        "success",
    )
    target = url_for("members.index")
    return see_other(target)


@bp.route("/import/<token>/rejected.xlsx")
@staff_required
def import_rejected(token: str):
    mark_personal()
    payload = _stored(token)
    preview = importer.analyze(payload["rows"], payload["columns"], user=current_user)
    db.session.rollback()
    record(
        "member_export",
        object_type="roster",
        after={"file": payload["filename"], "rows": len(preview.rejected), "kind": "rejected"},
        detail="下载导入有误的行",
    )
    return xlsx_download(importer.rejected_xlsx(preview), "rejected-rows.xlsx")


@bp.route("/export.xlsx")
@staff_required
def export():
    mark_personal()
    f = read_filters(search_text.args())
    where, asof = filter_where(f, current_user)
    reveal = bool(current_user.can_reveal)
    data, count = importer.export_xlsx(where, reveal=reveal, asof=asof)
    record(
        "member_export",
        object_type="roster",
        after={
            "rows": count,
            "filters": {k: v for k, v in f.items() if v},
            "format": "xlsx",
            "full_values": reveal,
        },
        detail="导出党员名册"
        + ("（完整证件号和手机号）" if reveal else "（证件号和手机号已隐藏）"),
    )
    return xlsx_download(data, "members.xlsx")


@bp.route("/counts")
@staff_required
def counts():
    """Members of the user's scope by category and by status, now or as of a past month."""
    from app.main.routes import headline_links
    from app.members import management
    from app.members.models import CATEGORIES, STATUSES
    from app.members.stats import member_counts
    from app.organization.scope import member_scope_filter
    from app.timeutil import local_today

    f = read_filters({"as_of": request.args.get("as_of", "")})
    scope = member_scope_filter(current_user)
    figures = member_counts([scope], f["as_of"] or None)
    if f["as_of"]:
        # As of a month: the same definitions counted from the history (流出 is today's only).
        headlines = management.make_headlines(
            {
                "on_roster": figures["total"],
                "managed": figures["managed"],
                "lost_contact": figures["by_status"].get(management.LOST_CONTACT, 0),
            }
        )
    else:
        headlines = management.headline_counts([scope], local_today())
    links = {
        key: url
        for key, url in headline_links(as_of=f["as_of"] or None).items()
        if not f["as_of"] or key != "lost_contact"
    }
    db.session.rollback()
    return render_page_or_block(
        "members/counts.html",
        "figures",
        figures=figures,
        headlines=headlines,
        links=links,
        as_of=f["as_of"],
        categories=CATEGORIES,
        statuses=STATUSES,
    )
