"""目标考核 pages: the branches of the scope, and one branch's table (grades, XLSX, PDF)."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, flash, request, url_for
from flask_login import current_user
from sqlalchemy import select

from app import work
from app.assessment import (
    indicators,  # noqa: F401  (registers the built-in indicators)
    services,
)
from app.assessment.models import GRADES
from app.audit import record
from app.certificates.blueprint import _pdf_response
from app.certificates.engine import render_pdf
from app.extensions import db
from app.followup import appraisal
from app.htmx import render_page_or_block, see_other
from app.members.models import CATEGORIES
from app.organization.models import Org
from app.organization.scope import get_in_scope_or_404, member_scope_filter, org_scope_filter
from app.paging import keyset_page
from app.security import mark_personal, staff_required
from app.spreadsheets import write_xlsx, xlsx_download
from app.timeutil import local_today

bp = Blueprint("assessment", __name__, url_prefix="/assessment")

for _category in CATEGORIES:
    work.register(_category, "目标考核（按支部）", "assessment.index", order=90)


def _year() -> int:
    today = local_today()
    year = appraisal.parse_year(request.values.get("year"), today)
    return year or appraisal.default_year(today)


@bp.route("/")
@staff_required
def index():
    year = _year()
    stmt = select(Org.id, Org.name, Org.position).where(
        Org.kind == "branch", Org.retired_at.is_(None), org_scope_filter(current_user)
    )
    page = keyset_page(
        stmt,
        [Org.position, Org.id],
        url=lambda cursor: url_for("assessment.index", year=year, after=cursor),
    )
    return render_page_or_block(
        "assessment/index.html",
        "results",
        page=page,
        year=year,
        years=appraisal.year_choices(local_today()),
    )


def _branch(branch_id: int) -> Org:
    branch = get_in_scope_or_404(Org, branch_id, current_user, org_scope_filter)
    if branch.kind != "branch":
        abort(404)
    return branch


def _context(branch: Org, year: int, rows: list[dict[str, Any]], **extra: Any) -> dict[str, Any]:
    columns: dict[str, list] = {}
    for row in rows:
        columns.setdefault(row["category"], [r.indicator for r in row["results"]])
    return {
        "branch": branch,
        "year": year,
        "years": appraisal.year_choices(local_today()),
        "rows": rows,
        "grades": GRADES,
        "categories": CATEGORIES,
        "columns": columns,
        "errors": {},
        **extra,
    }


@bp.route("/branches/<int:branch_id>", methods=["GET", "POST"])
@staff_required
def branch(branch_id: int):
    mark_personal()
    org = _branch(branch_id)
    year = _year()
    rows = services.branch_table(org.id, year, member_scope_filter(current_user))
    if request.method == "GET":
        return render_page_or_block("assessment/branch.html", "form", **_context(org, year, rows))
    submitted: dict[int, tuple[str, str]] = {}
    errors: dict[int, str] = {}
    for row in rows:
        key = f"grade_{row['id']}"
        if key not in request.form:
            continue
        grade = services.parse_grade(request.form.get(key))
        note = (request.form.get(f"note_{row['id']}") or "").strip()
        if grade is None:
            errors[row["id"]] = "请选择有效的评价"
        elif len(note) > 200:
            errors[row["id"]] = "说明不能超过 200 个字"
        else:
            submitted[row["id"]] = (grade, note)
        row["grade"], row["note"] = request.form.get(key) or "", note
    if errors:
        return render_page_or_block(
            "assessment/branch.html", "form", status=422, **_context(org, year, rows, errors=errors)
        )
    saved = services.save_grades(current_user, year, org.id, submitted, {r["id"] for r in rows})
    flash(f"已保存 {saved} 名党员的定性评价" if saved else "定性评价没有变化", "success")
    return see_other(url_for("assessment.branch", branch_id=org.id, year=year))


def _flat(rows: list[dict[str, Any]]) -> tuple[list[str], list[list[str]]]:
    header = ["姓名", "类别", "指标", "达标", "定性评价", "说明"]
    out = []
    for r in rows:
        indicators_text = "；".join(
            f"{x.indicator.label} {x.text}（目标 {x.target}{x.indicator.unit}）{'达标' if x.met else ('' if not x.applies else '未达标')}"
            for x in r["results"]
        )
        out.append(
            [
                r["name"],
                CATEGORIES.get(r["category"], ""),
                indicators_text,
                f"{r['met']}/{r['applicable']}",
                GRADES.get(r["grade"], ""),
                r["note"],
            ]
        )
    return header, out


@bp.route("/branches/<int:branch_id>.xlsx")
@staff_required
def branch_xlsx(branch_id: int):
    org = _branch(branch_id)
    year = _year()
    rows = services.branch_table(org.id, year, member_scope_filter(current_user))
    header, data = _flat(rows)
    record("assessment_export", object_type="org", object_id=org.id, detail=f"year={year}")
    return xlsx_download(
        write_xlsx(header, data, sheet="目标考核"), f"assessment-{org.id}-{year}.xlsx"
    )


@bp.route("/branches/<int:branch_id>.pdf")
@staff_required
def branch_pdf(branch_id: int):
    org = _branch(branch_id)
    year = _year()
    rows = services.branch_table(org.id, year, member_scope_filter(current_user))
    pdf = render_pdf(
        "assessment.html",
        {
            "branch": org.name,
            "year": year,
            "rows": rows,
            "categories": CATEGORIES,
            "grades": GRADES,
            "today": local_today().isoformat(),
        },
    )
    record("assessment_print", object_type="org", object_id=org.id, detail=f"year={year}")
    db.session.flush()
    return _pdf_response(pdf, f"assessment-{org.id}-{year}.pdf")
