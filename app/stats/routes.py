"""Statistics dashboard: the figures of the user's scope (or one community / branch / grid in
it), as server-rendered SVG bar charts with data tables, and their XLSX export (audited)."""

from __future__ import annotations

import re
from typing import Any

from flask import Blueprint, abort, request
from flask_login import current_user

from app.audit import record
from app.htmx import render_page_or_block
from app.members.rules import month_end
from app.organization.scope import scope_of
from app.security import mark_personal, staff_required
from app.spreadsheets import write_xlsx, xlsx_download
from app.stats import services
from app.timeutil import local_today

bp = Blueprint("stats", __name__, url_prefix="/stats")

MONTH_RE = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$")
EARLIEST_MONTH = "1949-10"


def read_as_of(value: str | None) -> str:
    """A past or current month ``YYYY-MM``; anything else is ignored (today's figures)."""
    value = (value or "").strip()
    if not MONTH_RE.match(value) or value < EARLIEST_MONTH:
        return ""
    return value if month_end(value) <= month_end(local_today()) else ""


def _scope_label(focus: services.Focus | None) -> str:
    if focus is not None:
        return focus.label
    return "全街道" if scope_of(current_user).everything else "我的管辖范围"


def _context() -> dict[str, Any]:
    mark_personal()  # small-area counts can point at a person: not kept in caches
    parsed = services.parse_focus(request.args.get("focus"))
    focus = services.resolve_focus(current_user, parsed) if parsed else None
    if parsed and focus is None:
        abort(404)  # a focus outside the user's scope
    as_of = read_as_of(request.args.get("as_of"))
    show = request.args.get("show", "")
    show = show if show in ("branch", "grid") else ""
    dash = services.dashboard(current_user, focus, as_of or None, show)
    return {
        "dash": dash,
        "focus": focus,
        "as_of": as_of,
        "show": show,
        "scope_label": _scope_label(focus),
        "today": local_today(),
    }


@bp.route("/")
@staff_required
def dashboard():
    context = _context()
    context["choices"] = services.focus_choices(current_user)
    context["kinds"] = services.FOCUS_KINDS
    context["whole_label"] = _scope_label(None)
    context["this_month"] = f"{local_today():%Y-%m}"
    return render_page_or_block("stats/dashboard.html", "body", **context)


@bp.route("/export.xlsx")
@staff_required
def export():
    context = _context()
    rows = services.export_rows(context["dash"], context["scope_label"])
    data = write_xlsx(services.EXPORT_HEADER, rows, sheet="统计分析")
    focus = context["focus"]
    record(
        "stats_export",
        object_type="stats",
        after={
            "focus": focus.token if focus else None,
            "as_of": context["as_of"] or None,
            "rows": len(rows),
            "format": "xlsx",
        },
        detail=f"导出统计数据（{context['scope_label']}）",
    )
    stamp = context["as_of"] or local_today().isoformat()
    filename = f"stats-{focus.token if focus else 'all'}-{stamp}.xlsx"
    return xlsx_download(data, filename)
