"""党费 (dues): the behind / to-confirm lists, their export, one member's standard and payments.

Thin views: parse, load inside the user's scope (404 outside), call one service of
``app.followup.dues``, render.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from flask import flash, request, url_for
from flask_login import current_user
from sqlalchemy import func, select

from app.audit import record
from app.errors import DomainError, errors_onto, render_form
from app.extensions import db
from app.followup import dues
from app.followup.blueprint import (
    EXPORT_LIMIT,
    _done,
    _grids,
    _member,
    bp,
)
from app.followup.forms import (
    PaymentForm,
    StandardForm,
)
from app.followup.work_lists import GRID, with_grid_and_branch
from app.forms import validated
from app.htmx import render_page_or_block
from app.members.management import picture_of
from app.members.models import EMPLOYMENTS, Member
from app.members.queries import FEW_ROWS_PINYIN_ORDER, PINYIN_ORDER
from app.organization.scope import (
    member_scope_filter,
)
from app.paging import keyset_page
from app.params import parse_int
from app.security import mark_personal, mask_id_blob, mask_phone, staff_required
from app.timeutil import local_today

# ==== 党费 =====================================================================================

BEHIND_CHOICES = (1, 3, 6, 12)
DUES_TABS = {"behind": "欠缴党费", "unconfirmed": "党费标准待确认"}


def _dues_filters() -> dict[str, Any]:
    tab = request.args.get("tab")
    months = parse_int(request.args.get("months"))
    return {
        "tab": tab if tab in DUES_TABS else "behind",
        "months": months if months in BEHIND_CHOICES else 1,
        "grid": parse_int(request.args.get("grid")),
    }


def _dues_where(f: dict[str, Any]) -> list:
    today = local_today()
    where = [member_scope_filter(current_user)]
    if f["tab"] == "unconfirmed":
        where.append(dues.unconfirmed_filter())
    else:
        where.append(dues.behind_filter(today, f["months"]))
    if f["grid"]:
        where.append(Member.grid_id == f["grid"])
    return where


def _dues_select(f: dict[str, Any]):  # noqa: ANN202
    columns = [
        Member.id,
        Member.name,
        Member.id_number_enc,
        Member.phone,
        Member.employment,
        Member.monthly_income_fen,
        Member.dues_fen,
        Member.dues_reduced,
        Member.dues_paid_until,
    ]
    if f["tab"] == "unconfirmed":
        columns.append(dues.proposed_fen_sql(dues.settings()).label("proposed_fen"))
    return with_grid_and_branch(select(*columns)).where(*_dues_where(f))


def _dues_order(f: dict[str, Any]) -> tuple:
    """Pinyin order. The "amount to confirm" rows are rare and found by computing the proposal
    for every member: there a scan of the table and a sort of the few matches beats walking
    the whole pinyin index (the expression keeps the planner off that index; same order)."""
    if f["tab"] == "unconfirmed":
        return FEW_ROWS_PINYIN_ORDER
    return PINYIN_ORDER


def _dues_row(r, today: date) -> dict[str, Any]:  # noqa: ANN001
    behind = dues.months_behind(r.dues_paid_until, today)
    return {
        "id": r.id,
        "name": r.name,
        "id_masked": mask_id_blob(r.id_number_enc),
        "phone": mask_phone(r.phone),
        "grid": r.grid_name or "",
        "branch": r.branch_name or "",
        "employment": EMPLOYMENTS.get(r.employment, r.employment),
        "dues": dues.fen_to_yuan(r.dues_fen) if r.dues_fen is not None else "",
        "reduced": r.dues_reduced,
        "paid_until": dues.month_label(r.dues_paid_until) or "无记录",
        "behind": behind,
        "proposed": dues.fen_to_yuan(getattr(r, "proposed_fen", None)),
    }


@bp.route("/dues")
@staff_required
def dues_list():
    """欠缴党费 / 党费标准待确认: members of the scope, pinyin order, keyset pages."""
    mark_personal()
    f = _dues_filters()
    page = keyset_page(
        _dues_select(f),
        list(_dues_order(f)),
        url=lambda cursor: url_for("followup.dues_list", **_args(f), after=cursor),
    )
    today = local_today()
    page.rows = [_dues_row(r, today) for r in page.rows]
    context: dict[str, Any] = {"f": f, "page": page, "rows": page.rows}
    if page.first and not page.more:
        context["total"] = len(page.rows)
    else:
        context["total"] = db.session.execute(
            select(func.count()).select_from(Member).where(*_dues_where(f))
        ).scalar_one()
    context.update(
        tabs=DUES_TABS,
        behind_choices=BEHIND_CHOICES,
        grids=_grids(),
        brackets=dues.bracket_rows(dues.settings()),
        export_url=url_for("followup.dues_export", **_args(f)),
    )
    return render_page_or_block("followup/dues.html", "results", **context)


def _args(f: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in f.items() if v not in (None, "")}


@bp.route("/dues/export.xlsx")
@staff_required
def dues_export():
    """The list as XLSX with the same filters (ID numbers and phones masked); audited."""
    from app.spreadsheets import write_xlsx, xlsx_download

    mark_personal()
    f = _dues_filters()
    today = local_today()
    found = db.session.execute(_dues_select(f).order_by(*_dues_order(f)).limit(EXPORT_LIMIT)).all()
    rows = [_dues_row(r, today) for r in found]
    unconfirmed = f["tab"] == "unconfirmed"
    headers = ["姓名", "身份证号", "手机号", "网格", "党支部", "就业状态", "每月党费（元）"]
    headers += ["测算党费（元）"] if unconfirmed else ["党费交至", "欠缴月数"]
    data = write_xlsx(
        headers,
        (
            [r["name"], r["id_masked"], r["phone"], r["grid"], r["branch"], r["employment"]]
            + [r["dues"] + ("（减免）" if r["reduced"] else "")]
            + (
                [r["proposed"]]
                if unconfirmed
                else [r["paid_until"], "" if r["behind"] is None else r["behind"]]
            )
            for r in rows
        ),
        sheet=DUES_TABS[f["tab"]],
    )
    record(
        "dues_export",
        object_type="member",
        detail=f"rows={len(rows)} filters={_args(f)}",
    )
    return xlsx_download(data, f"dues-{f['tab']}-{today.isoformat()}.xlsx")


def _amount(form_field) -> int | None:  # noqa: ANN001
    """The amount typed in yuan as fen (None when empty); a field message when unreadable."""
    raw = (form_field.data or "").strip()
    if not raw:
        return None
    try:
        return dues.yuan_to_fen(raw)
    except ValueError:
        raise DomainError({form_field.name: "请填写金额，如 12.50（最多两位小数）"}) from None


def _dues_member_context(m: Member, **extra) -> dict[str, Any]:
    proposal = dues.proposal_for(m)
    standard = extra.pop("standard_form", None) or StandardForm(
        formdata=None,
        mode="reduce" if m.dues_reduced else "confirm",
        amount=dues.fen_to_yuan(m.dues_fen) if m.dues_reduced and m.dues_fen is not None else "",
        reason=m.hardship if m.dues_reduced else "",
        version=str(m.version),
    )
    payment = extra.pop("payment_form", None) or PaymentForm(formdata=None, paid_on=local_today())
    start, end = dues.payment_months(m.dues_paid_until, 1, local_today())
    return {
        "member": m,
        "picture": picture_of(m, local_today()),
        "proposal": proposal,
        "stored": dues.fen_to_yuan(m.dues_fen) if m.dues_fen is not None else "",
        "matches": m.dues_fen is not None and m.dues_fen == proposal.fen,
        "income": dues.fen_to_yuan(m.monthly_income_fen) if m.monthly_income_fen else "",
        "employment": EMPLOYMENTS.get(m.employment, m.employment),
        "paid_until": dues.month_label(m.dues_paid_until) or "无记录",
        "behind": dues.months_behind(m.dues_paid_until, local_today()),
        "next_month": dues.month_label(start),
        "payments": dues.payments_of(m),
        "paid_for_others": dues.paid_for_others(m),
        "standard_form": standard,
        "payment_form": payment,
        "fen_to_yuan": dues.fen_to_yuan,
        "month_label": dues.month_label,
        "payer": extra.pop("payer", None),
        "phone_masked": mask_phone(m.phone),
        **extra,
    }


@bp.route("/dues/members/<int:member_id>")
@staff_required
def dues_member(member_id: int):
    mark_personal()
    m = _member(member_id)
    return render_page_or_block("followup/dues_member.html", "content", **_dues_member_context(m))


@bp.route("/dues/members/<int:member_id>/standard", methods=["POST"])
@staff_required
def dues_standard(member_id: int):
    mark_personal()
    m = _member(member_id)
    form = StandardForm()
    if validated(form):
        with errors_onto(form):  # a stale version: 409 with the message above the form
            reduce = form.mode.data == "reduce"
            changed = dues.set_standard(
                m,
                current_user,
                reduced=reduce,
                amount_fen=_amount(form.amount) if reduce else None,
                reason=form.reason.data,
                expected_version=parse_int(form.version.data),
            )
            flash(
                "已保存党费标准" if changed else "党费标准没有变化",
                "success" if changed else "info",
            )
            return _done(url_for("followup.dues_member", member_id=member_id))
    return render_form(
        "followup/dues_member.html",
        "standard",
        form,
        **_dues_member_context(m, standard_form=form),
    )


def _payer(raw: str | None) -> Member | None:
    payer_id = parse_int(raw)
    if not payer_id:
        return None
    return db.session.execute(
        select(Member).where(Member.id == payer_id, member_scope_filter(current_user))
    ).scalar_one_or_none()


@bp.route("/dues/members/<int:member_id>/payments", methods=["POST"])
@staff_required
def dues_payment(member_id: int):
    mark_personal()
    m = _member(member_id)
    form = PaymentForm()
    payer = _payer(form.paid_by_member_id.data)
    if validated(form):
        with errors_onto(form):  # a stale version: 409 with the message above the form
            errors: dict[str, str] = {}
            try:
                amount = _amount(form.amount)
            except DomainError as exc:
                errors.update(exc.errors)
            if form.paid_by_member_id.data and payer is None:
                errors["note"] = "代交人不在您的管理范围内，请重新选择"
            if errors:
                raise DomainError(errors)
            payment = dues.record_payment(
                m,
                current_user,
                months=form.months.data,
                amount_fen=amount,
                paid_on=form.paid_on.data,
                today=local_today(),
                paid_by=payer,
                note=form.note.data,
            )
            flash(
                f"已登记 {m.name} 的党费 {dues.fen_to_yuan(payment.amount_fen)} 元，"
                f"党费交至 {dues.month_label(payment.to_month)}",
                "success",
            )
            return _done(url_for("followup.dues_member", member_id=member_id))
    return render_form(
        "followup/dues_member.html",
        "payment",
        form,
        **_dues_member_context(m, payment_form=form, payer=payer),
    )


@bp.route("/dues/members/<int:member_id>/payers", methods=["POST"])
@staff_required
def dues_payers(member_id: int):
    """Who paid (代交): members of the scope by name, pinyin or initials prefix (POSTed: a name
    never travels in a URL)."""
    from flask import render_template

    mark_personal()
    m = _member(member_id)
    q = (request.form.get("q") or request.form.get("payer_q") or "").strip()[:20]
    rows = []
    if q:
        key = q.lower()
        rows = db.session.execute(
            select(Member.id, Member.name, Member.phone, GRID.name.label("grid_name"))
            .outerjoin(GRID, GRID.id == Member.grid_id)
            .where(
                member_scope_filter(current_user),
                Member.id != m.id,
                (Member.name.startswith(q, autoescape=True))
                | (Member.name_pinyin.startswith(key, autoescape=True))
                | (Member.name_initials.startswith(key, autoescape=True)),
            )
            .order_by(*PINYIN_ORDER)
            .limit(8)
        ).all()
    return render_template(
        "followup/_payers.html",
        q=q,
        rows=[
            {"id": r.id, "name": r.name, "phone": mask_phone(r.phone), "grid": r.grid_name}
            for r in rows
        ],
    )
