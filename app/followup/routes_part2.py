"""Follow-up pages, part 2: 党费 (dues), 失联党员 (lost-contact cases), 民主评议 (appraisal).

Thin views: parse, load inside the user's scope (404 outside), call one service from
``dues`` / ``lost_contact`` / ``appraisal``, commit, render.
"""

from __future__ import annotations

import io
from datetime import date
from typing import Any

from flask import Blueprint, flash, redirect, request, send_file, url_for
from flask_login import current_user
from flask_wtf import FlaskForm
from sqlalchemy import func, select, tuple_
from sqlalchemy.orm import aliased
from wtforms import (
    DateField,
    HiddenField,
    IntegerField,
    RadioField,
    SelectChoice,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.validators import InputRequired, Length, NumberRange, Optional

from app.audit import record
from app.extensions import db
from app.followup import appraisal, dues, lost_contact
from app.followup.models import (
    LOST_CONTACT_KINDS,
    LOST_CONTACT_METHOD_HINTS,
    LOST_CONTACT_OUTCOMES,
    LOST_CONTACT_REASONS,
    LOST_CONTACT_STAGES,
    LostContactAttempt,
    LostContactCase,
)
from app.forms import localize_errors
from app.htmx import client_redirect, is_htmx, render_page_or_block
from app.members.models import CATEGORIES, EMPLOYMENTS, MOBILITIES, STATUSES, Member
from app.members.services import PINYIN_ORDER, keyset_after
from app.organization.models import Org, Place
from app.organization.scope import (
    get_in_scope_or_404,
    member_scope_filter,
    org_scope_filter,
    place_scope_filter,
)
from app.security import mark_personal, mask_id_blob, mask_phone, staff_required
from app.settings import get_setting
from app.timeutil import local_today

bp = Blueprint("followup_part2", __name__, url_prefix="/followup")

PAGE_SIZE = 50
EXPORT_LIMIT = 200_000
GRID = aliased(Place, name="grid")
BRANCH = aliased(Org, name="branch")


def _int(value: str | None) -> int | None:
    try:
        return int(value) if value else None
    except (TypeError, ValueError):
        return None


def _choices(pairs) -> list[SelectChoice]:  # noqa: ANN001
    return [SelectChoice(value, label) for value, label in pairs]


def _member(member_id: int) -> Member:
    return get_in_scope_or_404(Member, member_id, current_user, member_scope_filter)


def _grids() -> list:
    return db.session.execute(
        select(Place.id, Place.name)
        .where(Place.kind == "grid", Place.retired_at.is_(None), place_scope_filter(current_user))
        .order_by(Place.position, Place.id)
    ).all()


def _done(target: str):  # noqa: ANN202
    """After a change: the page again (htmx: a client redirect, so forms carry new versions)."""
    if is_htmx():
        return client_redirect(target)
    return redirect(target, code=303)


# ==== 党费 =====================================================================================

BEHIND_CHOICES = (1, 3, 6, 12)
DUES_TABS = {"behind": "欠缴党费", "unconfirmed": "党费标准待确认"}


def _dues_filters() -> dict[str, Any]:
    tab = request.args.get("tab")
    months = _int(request.args.get("months"))
    return {
        "tab": tab if tab in DUES_TABS else "behind",
        "months": months if months in BEHIND_CHOICES else 1,
        "grid": _int(request.args.get("grid")),
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
        GRID.name.label("grid_name"),
        BRANCH.name.label("branch_name"),
    ]
    if f["tab"] == "unconfirmed":
        columns.append(dues.proposed_fen_sql(dues.settings()).label("proposed_fen"))
    return (
        select(*columns)
        .outerjoin(GRID, GRID.id == Member.grid_id)
        .outerjoin(BRANCH, BRANCH.id == Member.branch_id)
        .where(*_dues_where(f))
    )


def _dues_order(f: dict[str, Any]) -> tuple:
    """Pinyin order. The "amount to confirm" rows are rare and found by computing the proposal
    for every member: there a scan of the table and a sort of the few matches beats walking
    the whole pinyin index (the expression keeps the planner off that index; same order)."""
    if f["tab"] == "unconfirmed":
        return (func.coalesce(Member.name_pinyin, ""), Member.id)
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
    after = _int(request.args.get("after"))
    scope = member_scope_filter(current_user)
    query = _dues_select(f).where(*keyset_after(after, scope)).order_by(*_dues_order(f))
    found = db.session.execute(query.limit(PAGE_SIZE + 1)).all()
    more = len(found) > PAGE_SIZE
    today = local_today()
    rows = [_dues_row(r, today) for r in found[:PAGE_SIZE]]
    context: dict[str, Any] = {
        "f": f,
        "rows": rows,
        "more": more,
        "next_url": url_for("followup_part2.dues_list", **_args(f), after=rows[-1]["id"])
        if more
        else None,
    }
    if after:
        return render_page_or_block("followup/part2/dues.html", "rows", **context)
    if not more and not after:
        context["total"] = len(rows)
    else:
        context["total"] = db.session.execute(
            select(func.count()).select_from(Member).where(*_dues_where(f))
        ).scalar_one()
    context.update(
        tabs=DUES_TABS,
        behind_choices=BEHIND_CHOICES,
        grids=_grids(),
        brackets=dues.bracket_rows(dues.settings()),
        export_url=url_for("followup_part2.dues_export", **_args(f)),
    )
    return render_page_or_block("followup/part2/dues.html", "results", **context)


def _args(f: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in f.items() if v not in (None, "")}


@bp.route("/dues/export.xlsx")
@staff_required
def dues_export():
    """The list as XLSX with the same filters (ID numbers and phones masked); audited."""
    from app.spreadsheets import XLSX_MIMETYPE, write_xlsx

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
    db.session.commit()
    response = send_file(
        io.BytesIO(data),
        mimetype=XLSX_MIMETYPE,
        as_attachment=True,
        download_name=f"dues-{f['tab']}-{today.isoformat()}.xlsx",
    )
    response.headers["Cache-Control"] = "no-store"
    return response


class StandardForm(FlaskForm):
    mode = RadioField(
        "党费标准",
        choices=_choices([("confirm", "按测算金额确认"), ("reduce", "困难减免")]),
        default="confirm",
        validators=[InputRequired("请选择")],
    )
    amount = StringField("减免后每月党费（元）", validators=[Optional(), Length(max=20)])
    reason = StringField("减免原因（困难情况）", validators=[Optional()])
    version = HiddenField()


class PaymentForm(FlaskForm):
    months = IntegerField(
        "交纳月数",
        default=1,
        validators=[
            InputRequired("请填写交纳月数"),
            NumberRange(1, dues.MAX_MONTHS, f"一次可交 1 至 {dues.MAX_MONTHS} 个月"),
        ],
    )
    amount = StringField("实交金额（元）", validators=[Optional(), Length(max=20)])
    paid_on = DateField("交纳日期", validators=[InputRequired("请填写交纳日期")])
    paid_by_member_id = HiddenField()
    note = StringField(
        "备注", validators=[Optional(), Length(max=200, message="备注请控制在 200 字以内")]
    )


def _amount(form_field, errors_key: str, errors: dict[str, str]) -> int | None:  # noqa: ANN001
    raw = (form_field.data or "").strip()
    if not raw:
        return None
    try:
        return dues.yuan_to_fen(raw)
    except ValueError:
        errors[errors_key] = "请填写金额，如 12.50（最多两位小数）"
        return None


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
    return render_page_or_block(
        "followup/part2/dues_member.html", "content", **_dues_member_context(m)
    )


@bp.route("/dues/members/<int:member_id>/standard", methods=["POST"])
@staff_required
def dues_standard(member_id: int):
    mark_personal()
    m = _member(member_id)
    form = StandardForm()
    errors: dict[str, str] = {}
    if not form.validate():
        localize_errors(form)
        return _standard_error(m, form)
    reduce = form.mode.data == "reduce"
    amount = _amount(form.amount, "amount", errors) if reduce else None
    if errors:
        form.amount.errors = [errors["amount"]]
        return _standard_error(m, form)
    try:
        changed = dues.set_standard(
            m,
            current_user,
            reduced=reduce,
            amount_fen=amount,
            reason=form.reason.data,
            expected_version=_int(form.version.data),
        )
    except dues.DuesError as exc:
        db.session.rollback()
        for key, message in exc.errors.items():
            form[key].errors = [message]
        return _standard_error(_member(member_id), form)
    except dues.DuesConflict:
        db.session.rollback()
        form.form_errors.append("该党员信息已被他人修改，请刷新页面后重新操作")
        return _standard_error(_member(member_id), form, 409)
    db.session.commit()
    flash("已保存党费标准" if changed else "党费标准没有变化", "success" if changed else "info")
    return _done(url_for("followup_part2.dues_member", member_id=member_id))


def _standard_error(m: Member, form: StandardForm, status: int = 422):  # noqa: ANN202
    return render_page_or_block(
        "followup/part2/dues_member.html",
        "standard",
        status=status,
        **_dues_member_context(m, standard_form=form),
    )


def _payer(raw: str | None) -> Member | None:
    payer_id = _int(raw)
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
    if not form.validate():
        localize_errors(form)
        return _payment_error(m, form, payer)
    errors: dict[str, str] = {}
    amount = _amount(form.amount, "amount", errors)
    if form.paid_by_member_id.data and payer is None:
        errors["note"] = "代交人不在您的管理范围内，请重新选择"
    if errors:
        for key, message in errors.items():
            form[key].errors = [message]
        return _payment_error(m, form, payer)
    try:
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
    except dues.DuesError as exc:
        db.session.rollback()
        for key, message in exc.errors.items():
            form[key].errors = [message]
        return _payment_error(_member(member_id), form, payer)
    except dues.DuesConflict:
        db.session.rollback()
        form.form_errors.append("该党员信息已被他人修改，请刷新页面后重新操作")
        return _payment_error(_member(member_id), form, payer, 409)
    db.session.commit()
    flash(
        f"已登记 {m.name} 的党费 {dues.fen_to_yuan(payment.amount_fen)} 元，"
        f"党费交至 {dues.month_label(payment.to_month)}",
        "success",
    )
    return _done(url_for("followup_part2.dues_member", member_id=member_id))


def _payment_error(m: Member, form: PaymentForm, payer, status: int = 422):  # noqa: ANN001, ANN202
    return render_page_or_block(
        "followup/part2/dues_member.html",
        "payment",
        status=status,
        **_dues_member_context(m, payment_form=form, payer=payer),
    )


@bp.route("/dues/members/<int:member_id>/payers")
@staff_required
def dues_payers(member_id: int):
    """Who paid (代交): members of the scope by name, pinyin or initials prefix."""
    from flask import render_template

    mark_personal()
    m = _member(member_id)
    q = (request.args.get("q") or request.args.get("payer_q") or "").strip()[:20]
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
        "followup/part2/_payers.html",
        q=q,
        rows=[
            {"id": r.id, "name": r.name, "phone": mask_phone(r.phone), "grid": r.grid_name}
            for r in rows
        ],
    )


# ==== 失联党员 =================================================================================

LOST_STAGE_FILTERS = {"open": "未结案", **LOST_CONTACT_STAGES, "all": "全部"}


def _case(case_id: int) -> LostContactCase:
    found = db.session.execute(
        select(LostContactCase)
        .join(Member, Member.id == LostContactCase.member_id)
        .where(LostContactCase.id == case_id, member_scope_filter(current_user))
    ).scalar_one_or_none()
    if found is None:
        from flask import abort

        abort(404)
    return found


@bp.route("/lost")
@staff_required
def lost_list():
    """Cases of the scope, longest hidden first, with the seed's duration counts."""
    mark_personal()
    kind = request.args.get("kind") or ""
    kind = kind if kind in LOST_CONTACT_KINDS else ""
    stage = request.args.get("stage") or "open"
    stage = stage if stage in LOST_STAGE_FILTERS else "open"
    after = _int(request.args.get("after"))
    scope = member_scope_filter(current_user)
    today = local_today()
    where = [scope]
    if kind:
        where.append(LostContactCase.kind == kind)
    if stage == "open":
        where.append(LostContactCase.stage != "closed")
    elif stage != "all":
        where.append(LostContactCase.stage == stage)
    order = (LostContactCase.since, LostContactCase.id)
    if after:
        last = db.session.execute(
            select(*order)
            .join(Member, Member.id == LostContactCase.member_id)
            .where(LostContactCase.id == after, scope)
        ).first()
        if last is not None:
            where.append(tuple_(*order) > tuple_(*last))
    found = db.session.execute(
        select(
            LostContactCase.id,
            LostContactCase.kind,
            LostContactCase.reason,
            LostContactCase.since,
            LostContactCase.stage,
            LostContactCase.outcome,
            LostContactCase.suspended_on,
            LostContactCase.opened_on,
            Member.id.label("member_id"),
            Member.name,
            GRID.name.label("grid_name"),
            BRANCH.name.label("branch_name"),
        )
        .join(Member, Member.id == LostContactCase.member_id)
        .outerjoin(GRID, GRID.id == Member.grid_id)
        .outerjoin(BRANCH, BRANCH.id == Member.branch_id)
        .where(*where)
        .order_by(*order)
        .limit(PAGE_SIZE + 1)
    ).all()
    more = len(found) > PAGE_SIZE
    rows = [
        {
            "id": r.id,
            "member_id": r.member_id,
            "name": r.name,
            "kind": LOST_CONTACT_KINDS.get(r.kind, r.kind),
            "reason": LOST_CONTACT_REASONS.get(r.reason, r.reason),
            "since": r.since,
            "stage": r.stage,
            "stage_label": LOST_CONTACT_STAGES.get(r.stage, r.stage),
            "outcome": LOST_CONTACT_OUTCOMES.get(r.outcome or "", ""),
            "place": " · ".join(x for x in (r.grid_name, r.branch_name) if x),
            "flags": lost_contact.flags(
                since=r.since,
                stage=r.stage,
                outcome=r.outcome,
                suspended_on=r.suspended_on,
                today=today,
            ),
        }
        for r in found[:PAGE_SIZE]
    ]
    args = {"kind": kind or None, "stage": stage}
    context: dict[str, Any] = {
        "rows": rows,
        "more": more,
        "next_url": url_for("followup_part2.lost_list", **args, after=rows[-1]["id"])
        if more
        else None,
    }
    if after:
        return render_page_or_block("followup/part2/lost.html", "rows", **context)
    context.update(
        kind=kind,
        stage=stage,
        kinds=LOST_CONTACT_KINDS,
        stages=LOST_STAGE_FILTERS,
        counts=lost_contact.counts_by_kind(scope, today),
    )
    return render_page_or_block("followup/part2/lost.html", "results", **context)


def _proposal_where() -> list:
    months = int(get_setting("alert_absent_months"))
    return [member_scope_filter(current_user), lost_contact.proposal_filter(local_today(), months)]


def _proposal_count() -> int:
    return db.session.execute(
        select(func.count()).select_from(Member).where(*_proposal_where())
    ).scalar_one()


@bp.route("/lost/proposals/count")
@staff_required
def lost_proposal_count():
    """The number on the list page's 建议登记 button, loaded after the page."""
    from flask import Response

    return Response(str(_proposal_count()), mimetype="text/plain")


@bp.route("/lost/proposals")
@staff_required
def lost_proposals():
    """建议登记为失联: no org life and no dues for the alert period; people decide."""
    mark_personal()
    after = _int(request.args.get("after"))
    scope = member_scope_filter(current_user)
    found = db.session.execute(
        select(
            Member.id,
            Member.name,
            Member.phone,
            Member.last_org_life_on,
            Member.dues_paid_until,
            Member.mobility,
            Member.mobility_place,
            GRID.name.label("grid_name"),
            BRANCH.name.label("branch_name"),
        )
        .outerjoin(GRID, GRID.id == Member.grid_id)
        .outerjoin(BRANCH, BRANCH.id == Member.branch_id)
        .where(*_proposal_where(), *keyset_after(after, scope))
        .order_by(*PINYIN_ORDER)
        .limit(PAGE_SIZE + 1)
    ).all()
    more = len(found) > PAGE_SIZE
    rows = [
        {
            "id": r.id,
            "name": r.name,
            "phone": mask_phone(r.phone),
            "last_org_life": r.last_org_life_on.isoformat() if r.last_org_life_on else "无记录",
            "paid_until": dues.month_label(r.dues_paid_until) or "无记录",
            "mobility": MOBILITIES.get(r.mobility, "") if r.mobility != "none" else "",
            "mobility_place": r.mobility_place or "",
            "place": " · ".join(x for x in (r.grid_name, r.branch_name) if x),
        }
        for r in found[:PAGE_SIZE]
    ]
    context: dict[str, Any] = {
        "rows": rows,
        "more": more,
        "next_url": url_for("followup_part2.lost_proposals", after=rows[-1]["id"])
        if more
        else None,
        "months": int(get_setting("alert_absent_months")),
    }
    if after:
        return render_page_or_block("followup/part2/lost_proposals.html", "rows", **context)
    context["total"] = _proposal_count() if more else len(rows)
    return render_page_or_block("followup/part2/lost_proposals.html", "results", **context)


class OpenCaseForm(FlaskForm):
    kind = SelectField(
        "失联类型",
        choices=_choices([("", "请选择"), *LOST_CONTACT_KINDS.items()]),
        validate_choice=False,
    )
    reason = SelectField(
        "失联原因",
        choices=_choices([("", "请选择"), *LOST_CONTACT_REASONS.items()]),
        validate_choice=False,
    )
    reason_note = StringField("原因说明", validators=[Optional()])
    since = DateField("失联起始日期", validators=[Optional()])


@bp.route("/lost/open/<int:member_id>", methods=["GET", "POST"])
@staff_required
def lost_open(member_id: int):
    mark_personal()
    m = _member(member_id)
    existing = lost_contact.open_case_of(m)
    if request.method == "GET" and existing is not None:
        return redirect(url_for("followup_part2.lost_case", case_id=existing.id))
    form = OpenCaseForm() if request.method == "POST" else OpenCaseForm(formdata=None)
    if request.method == "GET":
        form.since.data = m.last_org_life_on
    status = 200
    if request.method == "POST":
        valid = form.validate()
        localize_errors(form)
        if valid:
            try:
                case_ = lost_contact.open_case(
                    m,
                    current_user,
                    kind=form.kind.data or "",
                    reason=form.reason.data or "",
                    reason_note=form.reason_note.data,
                    since=form.since.data,
                    today=local_today(),
                )
            except lost_contact.CaseError as exc:
                db.session.rollback()
                m = _member(member_id)
                for key, message in exc.errors.items():
                    form[key].errors = [message]
            else:
                db.session.commit()
                flash(f"已将 {m.name} 登记为失联党员，请记录查找情况", "success")
                return _done(url_for("followup_part2.lost_case", case_id=case_.id))
        status = 422
    return render_page_or_block(
        "followup/part2/lost_open.html",
        "form",
        status=status,
        member=m,
        form=form,
        phone_masked=mask_phone(m.phone),
        last_org_life=m.last_org_life_on,
        paid_until=dues.month_label(m.dues_paid_until) or "无记录",
        status_label=STATUSES.get(m.status, m.status),
    )


class AttemptForm(FlaskForm):
    method = RadioField(
        "查找方式",
        choices=_choices(LOST_CONTACT_METHOD_HINTS.items()),
        validate_choice=False,
    )
    attempted_on = DateField("查找日期", validators=[Optional()])
    summary = TextAreaField("查找情况", validators=[Optional()])


class StageForm(FlaskForm):
    stage = SelectField(
        "阶段",
        choices=_choices((k, v) for k, v in LOST_CONTACT_STAGES.items() if k != "closed"),
        validate_choice=False,
    )
    suspended_on = DateField("停止党籍日期（如已停止）", validators=[Optional()])
    version = HiddenField()


class CloseForm(FlaskForm):
    outcome = SelectField(
        "验收结果",
        choices=_choices([("", "请选择"), *LOST_CONTACT_OUTCOMES.items()]),
        validate_choice=False,
    )
    closed_on = DateField("验收日期", validators=[Optional()])
    outcome_note = TextAreaField("说明", validators=[Optional()])
    version = HiddenField()


def _case_context(case_: LostContactCase, **extra) -> dict[str, Any]:
    member = db.session.get(Member, case_.member_id)
    attempts = (
        db.session.execute(
            select(LostContactAttempt)
            .where(LostContactAttempt.case_id == case_.id)
            .order_by(LostContactAttempt.attempted_on.desc(), LostContactAttempt.id.desc())
        )
        .scalars()
        .all()
    )
    today = local_today()
    attempt_form = extra.pop("attempt_form", None) or AttemptForm(
        formdata=None, attempted_on=today, method="ask"
    )
    stage_form = extra.pop("stage_form", None) or StageForm(
        formdata=None,
        stage="verify" if case_.stage == "survey" else case_.stage,
        suspended_on=case_.suspended_on,
        version=str(case_.version),
    )
    close_form = extra.pop("close_form", None) or CloseForm(
        formdata=None, closed_on=today, version=str(case_.version)
    )
    return {
        "case": case_,
        "member": member,
        "phone_masked": mask_phone(member.phone) if member else "",
        "attempts": attempts,
        "flags": lost_contact.flags(
            since=case_.since,
            stage=case_.stage,
            outcome=case_.outcome,
            suspended_on=case_.suspended_on,
            today=today,
        ),
        "stage_order": [(k, LOST_CONTACT_STAGES[k]) for k in lost_contact.STAGE_ORDER],
        "attempt_form": attempt_form,
        "stage_form": stage_form,
        "close_form": close_form,
        "is_open": case_.stage != "closed",
        **extra,
    }


@bp.route("/lost/<int:case_id>")
@staff_required
def lost_case(case_id: int):
    mark_personal()
    case_ = _case(case_id)
    return render_page_or_block("followup/part2/lost_case.html", "content", **_case_context(case_))


def _case_error(case_id: int, block: str, status: int = 422, **forms):  # noqa: ANN202
    return render_page_or_block(
        "followup/part2/lost_case.html",
        block,
        status=status,
        **_case_context(_case(case_id), **forms),
    )


@bp.route("/lost/<int:case_id>/attempts", methods=["POST"])
@staff_required
def lost_attempt(case_id: int):
    mark_personal()
    case_ = _case(case_id)
    form = AttemptForm()
    valid = form.validate()
    localize_errors(form)
    if not valid:
        return _case_error(case_id, "attempt", attempt_form=form)
    try:
        lost_contact.add_attempt(
            case_,
            current_user,
            method=form.method.data or "",
            attempted_on=form.attempted_on.data,
            summary=form.summary.data,
            today=local_today(),
        )
    except lost_contact.CaseError as exc:
        db.session.rollback()
        for key, message in exc.errors.items():
            form[key].errors = [message]
        return _case_error(case_id, "attempt", attempt_form=form)
    db.session.commit()
    flash("已记录查找情况", "success")
    return _done(url_for("followup_part2.lost_case", case_id=case_id))


@bp.route("/lost/<int:case_id>/stage", methods=["POST"])
@staff_required
def lost_stage(case_id: int):
    mark_personal()
    case_ = _case(case_id)
    form = StageForm()
    valid = form.validate()
    localize_errors(form)
    if not valid:
        return _case_error(case_id, "stage", stage_form=form)
    try:
        changed = lost_contact.move_stage(
            case_,
            current_user,
            to=form.stage.data or "",
            suspended_on=form.suspended_on.data,
            expected_version=_int(form.version.data),
            today=local_today(),
        )
    except lost_contact.CaseError as exc:
        db.session.rollback()
        for key, message in exc.errors.items():
            form[key].errors = [message]
        return _case_error(case_id, "stage", stage_form=form)
    except lost_contact.CaseConflict:
        db.session.rollback()
        form.form_errors.append("该失联登记已被他人修改，请刷新页面后重新操作")
        return _case_error(case_id, "stage", 409, stage_form=form)
    db.session.commit()
    flash("已更新阶段" if changed else "没有变化", "success" if changed else "info")
    return _done(url_for("followup_part2.lost_case", case_id=case_id))


@bp.route("/lost/<int:case_id>/close", methods=["POST"])
@staff_required
def lost_close(case_id: int):
    mark_personal()
    case_ = _case(case_id)
    form = CloseForm()
    valid = form.validate()
    localize_errors(form)
    if not valid:
        return _case_error(case_id, "close", close_form=form)
    try:
        lost_contact.close_case(
            case_,
            current_user,
            outcome=form.outcome.data or "",
            note=form.outcome_note.data,
            closed_on=form.closed_on.data,
            expected_version=_int(form.version.data),
            today=local_today(),
        )
    except lost_contact.CaseError as exc:
        db.session.rollback()
        for key, message in exc.errors.items():
            form[key].errors = [message]
        return _case_error(case_id, "close", close_form=form)
    except lost_contact.CaseConflict:
        db.session.rollback()
        form.form_errors.append("该失联登记已被他人修改，请刷新页面后重新操作")
        return _case_error(case_id, "close", 409, close_form=form)
    except Exception as exc:  # the member record refused the status change
        from app.members.services import MemberValidationError

        if not isinstance(exc, MemberValidationError):
            raise
        db.session.rollback()
        form.form_errors.append("无法更新党员状态：" + "；".join(exc.errors.values()))
        return _case_error(case_id, "close", close_form=form)
    db.session.commit()
    flash("已验收结案", "success")
    return _done(url_for("followup_part2.lost_case", case_id=case_id))


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
        "followup/part2/appraisal.html",
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
        from flask import abort

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
            db.session.commit()
            flash(
                f"已保存 {len(saved)} 名党员的评议等次" if saved else "评议等次没有变化",
                "success" if saved else "info",
            )
            return _done(url_for("followup_part2.appraisal_branch", branch_id=branch.id, year=year))
    return render_page_or_block(
        "followup/part2/appraisal_branch.html",
        "form",
        status=status,
        branch=branch,
        year=year,
        years=appraisal.year_choices(today),
        rows=rows,
        errors=errors,
        grades=appraisal.GRADE_LABELS,
        counts=appraisal.counts([r["grade"] for r in rows], len(rows)),
        categories=CATEGORIES,
        mobilities=MOBILITIES,
    )
