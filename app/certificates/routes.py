"""Certificates and printed documents: staff pages, PDF downloads, batch jobs, public verification."""

from __future__ import annotations

from typing import Any

from flask import request
from flask_login import current_user
from sqlalchemy import or_, select
from wtforms import SelectChoice

from app import search_text
from app.audit import record
from app.certificates import letters, services, trips
from app.certificates.blueprint import (
    DUE_FILTERS,
    bp,
)
from app.certificates.forms import (
    BatchForm,
)
from app.certificates.models import (
    CERTIFICATE_STATUSES,
    Certificate,
    PrintJob,
)
from app.extensions import db
from app.htmx import is_partial, render_page_or_block
from app.members.models import Member
from app.organization.models import Org, Place
from app.organization.scope import (
    member_scope_filter,
    org_scope_filter,
    place_scope_filter,
)
from app.paging import keyset_page
from app.params import parse_int
from app.search_text import searchable
from app.security import mark_personal, staff_required
from app.settings import get_setting
from app.timeutil import local_today

# ---- list ------------------------------------------------------------------------------------


def read_filters(args) -> dict[str, Any]:  # noqa: ANN001
    f: dict[str, Any] = {"status": "", "branch": "", "grid": "", "due": "", "q": ""}
    if args.get("status") in CERTIFICATE_STATUSES:
        f["status"] = args["status"]
    if args.get("due") in DUE_FILTERS:
        f["due"] = args["due"]
    f["branch"] = parse_int(args.get("branch")) or ""
    f["grid"] = parse_int(args.get("grid")) or ""
    f["q"] = (args.get("q") or "").strip()[:32]
    return f


def _where(f: dict[str, Any]) -> list:
    today = local_today()
    where = [member_scope_filter(current_user)]
    if f["status"]:
        where.append(Certificate.status == f["status"])
    if f["branch"]:
        where.append(Member.branch_id == f["branch"])
    if f["grid"]:
        where.append(Member.grid_id == f["grid"])
    if f["due"]:
        where += services.due_clauses(f["due"], today)
    if f["q"]:
        q = f["q"].replace("\\", "").replace("%", "").replace("_", "")
        where.append(or_(Certificate.number.like(f"%{q}%"), Member.name.like(f"{q}%")))
    return where


@bp.route("/certificates/", methods=["GET", "POST"])
@staff_required
@searchable
def index():
    mark_personal()
    f = read_filters(search_text.args())
    branch = Org
    stmt = (
        select(
            Certificate.id,
            Certificate.number,
            Certificate.status,
            Certificate.issued_on,
            Certificate.valid_until,
            Certificate.next_verification_due,
            Certificate.destination,
            Member.id.label("member_id"),
            Member.name,
            branch.name.label("branch_name"),
        )
        .join(Member, Member.id == Certificate.member_id)
        .outerjoin(branch, branch.id == Member.branch_id)
        .where(*_where(f))
    )
    # Newest first: (issued_on, id) descending.
    page = keyset_page(stmt, [Certificate.issued_on, Certificate.id], descending=True)
    context: dict[str, Any] = {
        "page": page,
        "rows": page.rows,
        "filters": f,
        "statuses": CERTIFICATE_STATUSES,
        "due_filters": DUE_FILTERS,
        "today": local_today(),
    }
    if not is_partial():
        context.update(_filter_options())
        context["threshold"] = int(get_setting("flow_out_coordinated_months"))
        context["candidates"] = _candidates(context["threshold"])
        context["counts"] = letters.counts_by_status(member_scope_filter(current_user))
        context["batch_form"] = _batch_form(context)
        context["jobs"] = _my_jobs()
    return render_page_or_block("certificates/index.html", "results", **context)


def _filter_options() -> dict[str, Any]:
    branches = db.session.execute(
        select(Org.id, Org.name)
        .where(Org.kind == "branch", org_scope_filter(current_user))
        .order_by(Org.position, Org.id)
    ).all()
    grids = db.session.execute(
        select(Place.id, Place.name)
        .where(Place.kind == "grid", place_scope_filter(current_user))
        .order_by(Place.position, Place.id)
    ).all()
    return {"branches": branches, "grids": grids}


def _batch_form(context: dict) -> BatchForm:
    form = BatchForm(formdata=None)
    everything = SelectChoice("", "全部（我的范围）")
    form.branch.choices = [everything] + [
        SelectChoice(str(b.id), b.name) for b in context["branches"]
    ]
    form.grid.choices = [everything] + [SelectChoice(str(g.id), g.name) for g in context["grids"]]
    # After a batch that found nothing, the page comes back with the user's choices.
    for name in ("kind", "layout", "branch", "grid"):
        value = request.args.get(name)
        if value and value in {str(c.value) for c in getattr(form, name).choices}:
            getattr(form, name).data = value
    return form


def _candidates(threshold: int) -> list:
    """Flow-out members in scope without an open certificate whose trip is long enough for
    one (the card rule of ``trips.trip_length_errors``, as SQL)."""
    has_open = (
        select(Certificate.id)
        .where(Certificate.member_id == Member.id, Certificate.status == "issued")
        .exists()
    )
    return db.session.execute(
        select(Member.id, Member.name, Member.mobility_place, Member.mobility_since)
        .where(
            member_scope_filter(current_user),
            Member.mobility == "flow_out",
            Member.status.in_(("active", "flowed_out")),
            trips.card_trip_clause(threshold, local_today()),
            ~has_open,
        )
        .order_by(Member.mobility_since, Member.id)
        .limit(20)
    ).all()


def _my_jobs() -> list[PrintJob]:
    return list(
        db.session.execute(
            select(PrintJob)
            .where(PrintJob.created_by_id == current_user.id)
            .order_by(PrintJob.id.desc())
            .limit(5)
        ).scalars()
    )


# ---- issuance register (发证登记簿) ------------------------------------------------------------


def _register_query(f: dict[str, Any]):
    return (
        select(
            Certificate.id,
            Certificate.number,
            Certificate.status,
            Certificate.issued_on,
            Certificate.left_on,
            Certificate.reason,
            Certificate.destination,
            Certificate.valid_until,
            Certificate.issuing_org_name,
            Member.name,
            Org.name.label("branch_name"),
        )
        .join(Member, Member.id == Certificate.member_id)
        .outerjoin(Org, Org.id == Member.branch_id)
        .where(Certificate.direction == "out", *_where(f))
    )


def _register_rows(f: dict[str, Any]):
    return db.session.execute(_register_query(f).order_by(Certificate.id.desc())).all()


@bp.route("/certificates/register", methods=["GET", "POST"])
@staff_required
@searchable
def register():
    mark_personal()
    f = read_filters(search_text.args())
    page = keyset_page(_register_query(f), [Certificate.id], descending=True)
    link_filters = search_text.link_args(f)
    context = {
        "page": page,
        "rows": page.rows,
        "filters": f,
        "link_filters": link_filters,
        "statuses": CERTIFICATE_STATUSES,
    }
    return render_page_or_block("certificates/register.html", "content", **context)


@bp.route("/certificates/register.xlsx")
@staff_required
def register_export():
    from app.spreadsheets import write_xlsx, xlsx_download

    f = read_filters(search_text.args())
    rows = _register_rows(f)
    headers = [
        "证号",
        "姓名",
        "所在支部",
        "发证日期",
        "外出原因",
        "流入地",
        "外出时间",
        "有效期至",
        "状态",
    ]
    data = write_xlsx(
        headers,
        (
            [
                r.number,
                r.name,
                r.branch_name or r.issuing_org_name or "",
                r.issued_on.isoformat(),
                r.reason or "",
                r.destination or "",
                r.left_on.isoformat() if r.left_on else "",
                r.valid_until.isoformat(),
                CERTIFICATE_STATUSES.get(r.status, r.status),
            ]
            for r in rows
        ),
        sheet="发证登记簿",
    )
    record(
        "certificate_register_export",
        object_type="certificate",
        detail=f"rows={len(rows)} filters={ {k: v for k, v in f.items() if v} }",
    )
    return xlsx_download(data, f"register-{local_today().isoformat()}.xlsx")


# ---- liaisons to check (待核对联络人) -----------------------------------------------------------


@bp.route("/certificates/liaisons-review")
@staff_required
def liaisons_review():
    """Valid cards whose holder has no liaison link: the name typed on the card (before trips were
    one thing) matched no single staff account or member. Staff pick the liaison; the row then
    leaves the list."""
    mark_personal()
    stmt = (
        select(
            Member.id,
            Member.name,
            Certificate.number,
            Certificate.liaison_name,
            Certificate.liaison_phone,
        )
        .join(Certificate, Certificate.member_id == Member.id)
        .where(
            member_scope_filter(current_user),
            Certificate.direction == "out",
            Certificate.status == "issued",
            Member.liaison_user_id.is_(None),
            Member.liaison_member_id.is_(None),
        )
    )
    page = keyset_page(stmt, [Member.id])
    return render_page_or_block("certificates/liaisons_review.html", "results", page=page)
