"""民主评议 (annual appraisal): the counts per branch and a branch's bulk form.

Thin views over ``app.followup.appraisal``.
"""

from __future__ import annotations

from flask import abort, flash, request, url_for
from flask_login import current_user
from sqlalchemy import select

from app.assessment.services import evidence_for as assessment_evidence
from app.extensions import db
from app.followup import appraisal
from app.followup.blueprint import (
    _done,
    bp,
)
from app.htmx import render_page_or_block
from app.members.models import CATEGORIES, MOBILITIES
from app.organization.models import Org
from app.organization.scope import (
    get_in_scope_or_404,
    member_scope_filter,
    org_scope_filter,
)
from app.security import mark_personal, staff_required
from app.timeutil import local_today

# ==== 民主评议 =================================================================================


def _year() -> int:
    today = local_today()
    return appraisal.parse_year(request.args.get("year"), today) or appraisal.default_year(today)


def _branches() -> list:
    return db.session.execute(
        select(Org.id, Org.name)
        .where(Org.kind == "branch", Org.retired_at.is_(None), org_scope_filter(current_user))
        .order_by(Org.position, Org.id)
    ).all()


@bp.route("/appraisal")
@staff_required
def appraisal_index():
    """Counts per branch for a year; each branch opens its bulk form."""
    year = _year()
    branches = _branches()
    counts = appraisal.branch_counts(
        year, [b.id for b in branches], member_scope_filter(current_user)
    )
    totals = {k: sum(c[k] for c in counts.values()) for k in (*appraisal.GRADE_ORDER, "ungraded")}
    return render_page_or_block(
        "followup/appraisal.html",
        "results",
        year=year,
        years=appraisal.year_choices(local_today()),
        branches=branches,
        counts=counts,
        totals=totals,
        grades=appraisal.GRADE_LABELS,
    )


@bp.route("/appraisal/branches/<int:branch_id>", methods=["GET", "POST"])
@staff_required
def appraisal_branch(branch_id: int):
    """Grades of one branch's members for a year, entered at once."""
    mark_personal()
    branch = get_in_scope_or_404(Org, branch_id, current_user, org_scope_filter)
    if branch.kind != "branch":
        abort(404)
    today = local_today()
    scope = member_scope_filter(current_user)
    if request.method == "POST":
        year = appraisal.parse_year(request.form.get("year"), today)
    else:
        year = _year()
    errors: dict[int, str] = {}
    status = 200
    saved = None
    if request.method == "POST" and year is None:
        flash("请选择有效的评议年度", "error")
        year, status = appraisal.default_year(today), 422
    rows = appraisal.branch_rows(branch.id, year, scope)
    if request.method == "POST" and status == 200:
        submitted: dict[int, str] = {}
        for row in rows:
            key = f"grade_{row['id']}"
            if key not in request.form:
                continue
            grade = appraisal.parse_grade(request.form.get(key))
            if grade is None:
                errors[row["id"]] = "请选择有效的等次"
            else:
                submitted[row["id"]] = grade
        if errors:
            status = 422
            for row in rows:
                if row["id"] in submitted:
                    row["grade"] = submitted[row["id"]]
        else:
            saved = appraisal.save_grades(
                current_user, year, branch.id, submitted, {r["id"] for r in rows}
            )
            flash(
                f"已保存 {len(saved)} 名党员的评议等次" if saved else "评议等次没有变化",
                "success" if saved else "info",
            )
            return _done(url_for("followup.appraisal_branch", branch_id=branch.id, year=year))
    return render_page_or_block(
        "followup/appraisal_branch.html",
        "form",
        status=status,
        branch=branch,
        year=year,
        years=appraisal.year_choices(today),
        rows=rows,
        errors=errors,
        grades=appraisal.GRADE_LABELS,
        counts=appraisal.counts([r["grade"] for r in rows], len(rows)),
        assessment=assessment_evidence([(r["id"], r["category"]) for r in rows], year),
        categories=CATEGORIES,
        mobilities=MOBILITIES,
    )
