"""Certificates and printed documents: staff pages, PDF downloads, batch jobs, public verification."""

from __future__ import annotations

import io
from datetime import date
from pathlib import Path
from typing import Any

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    flash,
    make_response,
    redirect,
    render_template,
    request,
    send_file,
    url_for,
)
from flask_login import current_user
from sqlalchemy import or_, select
from wtforms import SelectChoice

from app import reminders, uow
from app.audit import record
from app.certificates import documents, jobs, services
from app.certificates.forms import (
    BatchForm,
    CheckForm,
    CloseForm,
    IncomingForm,
    IssueForm,
    ReissueForm,
    ReturnSlipForm,
    TransferForm,
)
from app.certificates.models import (
    CERTIFICATE_STATUSES,
    Certificate,
    CertificateCheck,
    PrintJob,
    TransferLetter,
)
from app.extensions import db, limiter
from app.forms import localize_errors
from app.htmx import client_redirect, is_partial, render_page_or_block
from app.members.models import Member
from app.organization.models import Org, Place
from app.organization.scope import (
    get_in_scope_or_404,
    member_scope_filter,
    org_scope_filter,
    place_scope_filter,
)
from app.paging import keyset_page
from app.params import parse_int
from app.security import mark_personal, mask_name, staff_required
from app.settings import get_setting
from app.timeutil import format_local, local_today

bp = Blueprint("certificates", __name__)

VERIFY_LIMIT = "30 per minute; 300 per hour"
DUE_FILTERS = services.DUE_FILTERS
for _order, (_due, _label, _overdue) in enumerate(
    (
        ("overdue", "活动证查验已逾期", True),
        ("soon", "30 天内需查验的活动证", False),
        ("expiring", "90 天内到期的活动证", False),
    ),
    start=30,
):
    reminders.register(
        f"certificates_{_due}",
        _label,
        lambda user, due=_due: services.due_counts(user)[due],
        "certificates.index",
        overdue=_overdue,
        order=_order,
        due=_due,
    )
LAYOUTS = {"a5": "A5 折页本", "a4": "A4"}


@bp.app_template_filter("cn_date")
def _cn_date(value: date | None) -> str:
    return documents.cn_date(value)


@bp.app_template_filter("local_time")
def _local_time(value) -> str:  # noqa: ANN001
    return format_local(value)


def _scoped_certificate(cert_id: int) -> Certificate:
    """A certificate whose member is in the user's scope, else 404."""
    cert = db.session.execute(
        select(Certificate)
        .join(Member, Member.id == Certificate.member_id)
        .where(Certificate.id == cert_id, member_scope_filter(current_user))
    ).scalar_one_or_none()
    if cert is None:
        abort(404)
    return cert


def _scoped_member(member_id: int) -> Member:
    return get_in_scope_or_404(Member, member_id, current_user, member_scope_filter)


def _pdf_response(pdf: bytes, filename: str, inline: bool = True) -> Response:
    response = send_file(
        io.BytesIO(pdf),
        mimetype="application/pdf",
        as_attachment=not inline,
        download_name=filename,
    )
    response.headers["Cache-Control"] = "no-store"
    return response


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


@bp.route("/certificates/")
@staff_required
def index():
    mark_personal()
    f = read_filters(request.args)
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
        context["candidates"] = _candidates()
        context["counts"] = services.counts_by_status(member_scope_filter(current_user))
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
    return form


def _candidates() -> list:
    """Flow-out members in scope without an open certificate (who may need one)."""
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


# ---- issue -----------------------------------------------------------------------------------


@bp.route("/certificates/issue/<int:member_id>", methods=["GET", "POST"])
@staff_required
def issue(member_id: int):
    mark_personal()
    member = _scoped_member(member_id)
    form = IssueForm()
    if request.method == "GET":
        data = services.prefill(member)
        for key, value in data.items():
            if key in form._fields:
                form[key].data = value
        form.expected_return.data = member.mobility_expected_return
    status = 200
    errors: dict[str, str] = {}
    if form.validate_on_submit():
        data = {k: form[k].data for k in form._fields if k != "csrf_token"}
        errors = services.issue_errors(member, data)
        if not errors:
            cert = uow.retrying(lambda: services.issue_certificate(member, data, current_user))
            flash(f"已发证，证号 {cert.number}", "success")
            url = url_for("certificates.detail", cert_id=cert.id)
            return client_redirect(url) if is_partial() else redirect(url, code=303)
        for key, message in errors.items():
            if key in form._fields:
                form[key].errors = [*form[key].errors, message]
        status = 422
    elif request.method == "POST":
        status = 422
    localize_errors(form)
    return render_page_or_block(
        "certificates/issue.html",
        "form",
        status=status,
        form=form,
        member=member,
        member_error=errors.get("member"),
        threshold=int(get_setting("flow_out_coordinated_months")),
    )


@bp.route("/certificates/record/<int:member_id>", methods=["GET", "POST"])
@staff_required
def record_incoming(member_id: int):
    """登记外地活动证: a flow-in member's certificate from their home organization."""
    mark_personal()
    member = _scoped_member(member_id)
    form = IncomingForm()
    if request.method == "GET":
        form.contact_phone.data = member.phone
        form.occupation.data = member.mobility_occupation
    status = 200
    errors: dict[str, str] = {}
    if form.validate_on_submit():
        data = {k: form[k].data for k in form._fields if k != "csrf_token"}
        errors = services.incoming_errors(member, data, local_today())
        if not errors:
            cert = services.record_incoming(member, data, current_user)
            flash(f"已登记外地活动证 {cert.number}", "success")
            url = url_for("certificates.detail", cert_id=cert.id)
            return client_redirect(url) if is_partial() else redirect(url, code=303)
        for key, message in errors.items():
            if key in form._fields:
                form[key].errors = [*form[key].errors, message]
        status = 422
    elif request.method == "POST":
        status = 422
    localize_errors(form)
    return render_page_or_block(
        "certificates/record_in.html",
        "form",
        status=status,
        form=form,
        member=member,
        member_error=errors.get("member"),
    )


# ---- detail and lifecycle ---------------------------------------------------------------------


def _detail_context(cert: Certificate, **forms) -> dict[str, Any]:
    member = db.session.get(Member, cert.member_id)
    checks = db.session.execute(
        select(CertificateCheck)
        .where(CertificateCheck.certificate_id == cert.id)
        .order_by(CertificateCheck.checked_on.desc(), CertificateCheck.id.desc())
    ).scalars()
    from app.audit.models import AuditEntry

    events = db.session.execute(
        select(AuditEntry)
        .where(AuditEntry.object_type == "certificate", AuditEntry.object_id == str(cert.id))
        .order_by(AuditEntry.id.desc())
        .limit(50)
    ).scalars()
    check_form = forms.get("check_form") or CheckForm(formdata=None)
    if check_form.checked_on.data is None:
        check_form.checked_on.data = local_today()
    return {
        "cert": cert,
        "member": member,
        "status_label": CERTIFICATE_STATUSES.get(cert.status, cert.status),
        "checks": list(checks),
        "events": list(events),
        "chain": services.history_chain(cert),
        "check_form": check_form,
        "close_form": forms.get("close_form") or CloseForm(formdata=None),
        "reissue_form": forms.get("reissue_form") or ReissueForm(formdata=None),
        "interval_label": services.INTERVALS.get(cert.verification_interval_months, ""),
        "verify_url": documents.verify_url(cert),
        "layouts": LAYOUTS,
        "today": local_today(),
        "error": forms.get("error"),
    }


@bp.route("/certificates/<int:cert_id>")
@staff_required
def detail(cert_id: int):
    mark_personal()
    cert = _scoped_certificate(cert_id)
    return render_template("certificates/detail.html", **_detail_context(cert))


def _lifecycle(cert: Certificate, action, message: str, **forms):  # noqa: ANN001
    """Run one lifecycle service; refused transitions re-render the actions with 422."""
    try:
        action()
    except services.LifecycleError as exc:
        db.session.rollback()
        cert = db.session.get(Certificate, cert.id)
        return render_page_or_block(
            "certificates/detail.html",
            "actions",
            status=422,
            **_detail_context(cert, error=str(exc), **forms),
        )
    flash(message, "success")
    url = url_for("certificates.detail", cert_id=cert.id)
    return client_redirect(url) if is_partial() else redirect(url, code=303)


@bp.route("/certificates/<int:cert_id>/check", methods=["POST"])
@staff_required
def check(cert_id: int):
    cert = _scoped_certificate(cert_id)
    form = CheckForm()
    if not form.validate():
        localize_errors(form)
        return render_page_or_block(
            "certificates/detail.html",
            "actions",
            status=422,
            **_detail_context(cert, check_form=form),
        )
    return _lifecycle(
        cert,
        lambda: services.record_check(
            cert, current_user, form.checked_on.data, form.organization.data, form.opinion.data
        ),
        "已登记查验记录",
        check_form=form,
    )


@bp.route("/certificates/<int:cert_id>/close", methods=["POST"])
@staff_required
def close(cert_id: int):
    cert = _scoped_certificate(cert_id)
    form = CloseForm()
    if not form.validate():
        return render_page_or_block(
            "certificates/detail.html",
            "actions",
            status=422,
            **_detail_context(cert, close_form=form),
        )
    label = services.CLOSE_ACTIONS.get(form.action.data, "")
    return _lifecycle(
        cert,
        lambda: services.close(cert, current_user, form.action.data, form.reason.data),
        f"活动证已{label}",
        close_form=form,
    )


@bp.route("/certificates/<int:cert_id>/renew", methods=["POST"])
@staff_required
def renew(cert_id: int):
    cert = _scoped_certificate(cert_id)
    return _lifecycle(cert, lambda: services.renew(cert, current_user), "有效期已延长，请重新打印")


@bp.route("/certificates/<int:cert_id>/reissue", methods=["POST"])
@staff_required
def reissue(cert_id: int):
    cert = _scoped_certificate(cert_id)
    form = ReissueForm()
    if not form.validate():
        return render_page_or_block(
            "certificates/detail.html",
            "actions",
            status=422,
            **_detail_context(cert, reissue_form=form),
        )
    holder: dict[str, Certificate] = {}

    def work() -> None:
        holder["new"] = services.reissue(cert, current_user, form.reason.data)

    try:
        work()
    except services.LifecycleError as exc:
        db.session.rollback()
        return render_page_or_block(
            "certificates/detail.html",
            "actions",
            status=422,
            **_detail_context(db.session.get(Certificate, cert_id), error=str(exc)),
        )
    flash(f"已补发新证，证号 {holder['new'].number}；原证已注销", "success")
    url = url_for("certificates.detail", cert_id=holder["new"].id)
    return client_redirect(url) if is_partial() else redirect(url, code=303)


@bp.route("/certificates/<int:cert_id>/pdf")
@staff_required
def pdf(cert_id: int):
    cert = _scoped_certificate(cert_id)
    if cert.direction != "out":
        abort(404)  # issued elsewhere: never printed here
    layout = request.args.get("layout", "a5")
    if layout not in LAYOUTS:
        layout = "a5"
    data = documents.certificate_pdf(cert, layout=layout)
    record("certificate_print", cert, detail=f"layout={layout}")
    return _pdf_response(data, f"certificate-{cert.number}-{layout}.pdf")


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


@bp.route("/certificates/register")
@staff_required
def register():
    mark_personal()
    f = read_filters(request.args)
    page = keyset_page(_register_query(f), [Certificate.id], descending=True)
    link_filters = {k: v for k, v in f.items() if v}
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
    from app.spreadsheets import write_xlsx

    f = read_filters(request.args)
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
    response = send_file(
        io.BytesIO(data),
        mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        as_attachment=True,
        download_name=f"register-{local_today().isoformat()}.xlsx",
    )
    response.headers["Cache-Control"] = "no-store"
    return response


# ---- member documents -------------------------------------------------------------------------


@bp.route("/certificates/member/<int:member_id>")
@staff_required
def member(member_id: int):
    mark_personal()
    m = _scoped_member(member_id)
    certs = db.session.execute(
        select(Certificate).where(Certificate.member_id == m.id).order_by(Certificate.id.desc())
    ).scalars()
    letters = db.session.execute(
        select(TransferLetter)
        .where(TransferLetter.member_id == m.id)
        .order_by(TransferLetter.id.desc())
    ).scalars()
    return render_template(
        "certificates/member.html",
        member=m,
        certs=list(certs),
        letters=list(letters),
        statuses=CERTIFICATE_STATUSES,
        open_cert=services.open_certificate(m),
    )


@bp.route("/certificates/member/<int:member_id>/contact-card.pdf")
@staff_required
def contact_card(member_id: int):
    m = _scoped_member(member_id)
    data = documents.html_to_pdf(documents.contact_cards_html([m]))
    record("document_print", m, detail="contact_card")
    return _pdf_response(data, f"contact-card-{m.id}.pdf")


@bp.route("/certificates/member/<int:member_id>/feedback.pdf")
@staff_required
def feedback(member_id: int):
    m = _scoped_member(member_id)
    data = documents.html_to_pdf(documents.feedback_sheets_html([m], documents.current_quarter()))
    record("document_print", m, detail="feedback_sheet")
    return _pdf_response(data, f"feedback-{m.id}.pdf")


@bp.route("/certificates/member/<int:member_id>/transfer", methods=["GET", "POST"])
@staff_required
def transfer_new(member_id: int):
    mark_personal()
    m = _scoped_member(member_id)
    form = TransferForm()
    if request.method == "GET":
        form.dues_paid_until.data = m.dues_paid_until
        form.valid_days.data = int(get_setting("transfer_letter_valid_days"))
    status = 200
    if form.validate_on_submit():
        data = {
            "to_org_name": form.to_org_name.data,
            "dues_paid_until": form.dues_paid_until.data,
            "valid_days": form.valid_days.data,
        }
        letter = uow.retrying(lambda: services.issue_transfer_letter(m, data, current_user))
        flash(f"已开具介绍信，编号 {letter.number}", "success")
        url = url_for("certificates.transfer", letter_id=letter.id)
        return client_redirect(url) if is_partial() else redirect(url, code=303)
    if request.method == "POST":
        status = 422
    localize_errors(form)
    return render_page_or_block(
        "certificates/transfer_new.html", "form", status=status, form=form, member=m
    )


def _scoped_letter(letter_id: int) -> TransferLetter:
    letter = db.session.execute(
        select(TransferLetter)
        .join(Member, Member.id == TransferLetter.member_id)
        .where(TransferLetter.id == letter_id, member_scope_filter(current_user))
    ).scalar_one_or_none()
    if letter is None:
        abort(404)
    return letter


@bp.route("/certificates/transfer/<int:letter_id>", methods=["GET", "POST"])
@staff_required
def transfer(letter_id: int):
    mark_personal()
    letter = _scoped_letter(letter_id)
    form = ReturnSlipForm()
    status, error = 200, None
    if request.method == "GET":
        form.returned_on.data = local_today()
    elif form.validate_on_submit():
        try:
            services.record_return_slip(letter, current_user, form.returned_on.data)
        except services.LifecycleError as exc:
            db.session.rollback()
            letter = _scoped_letter(letter_id)
            error, status = str(exc), 422
        else:
            flash("回执已登记", "success")
            return redirect(url_for("certificates.transfer", letter_id=letter.id), code=303)
    else:
        status = 422
        localize_errors(form)
    ctx = documents.transfer_letter_context(letter)
    return render_page_or_block(
        "certificates/transfer.html",
        "content",
        status=status,
        letter=letter,
        ctx=ctx,
        form=form,
        error=error,
        member=db.session.get(Member, letter.member_id),
    )


@bp.route("/certificates/transfer/<int:letter_id>/pdf")
@staff_required
def transfer_pdf(letter_id: int):
    letter = _scoped_letter(letter_id)
    data = documents.transfer_letter_pdf(letter)
    record("transfer_letter_print", letter)
    return _pdf_response(data, f"transfer-{letter.number}.pdf")


# ---- roster and batch printing ----------------------------------------------------------------


def _members_for(branch: int | None, grid: int | None, **extra) -> list[int]:
    where = [member_scope_filter(current_user), Member.status.in_(("active", "flowed_out"))]
    if branch:
        where.append(Member.branch_id == branch)
    if grid:
        where.append(Member.grid_id == grid)
    if extra.get("category"):
        where.append(Member.category == extra["category"])
    return list(
        db.session.execute(
            select(Member.id).where(*where).order_by(Member.name_pinyin, Member.id)
        ).scalars()
    )


@bp.route("/certificates/roster.pdf")
@staff_required
def roster():
    branch, grid = parse_int(request.args.get("branch")), parse_int(request.args.get("grid"))
    ids = _members_for(branch, grid)
    if len(ids) > 300:
        flash("名单超过 300 人，请使用批量打印在后台生成", "error")
        return redirect(url_for("certificates.index"), code=303)
    members = (
        db.session.execute(
            select(Member).where(Member.id.in_(ids)).order_by(Member.name_pinyin, Member.id)
        )
        .scalars()
        .all()
    )
    title = _title(branch, grid)
    data = documents.html_to_pdf(documents.roster_html(list(members), title))
    record("roster_print", object_type="member", detail=f"{title} rows={len(ids)}")
    return _pdf_response(data, "roster.pdf")


def _title(branch: int | None, grid: int | None) -> str:
    org = db.session.get(Org, branch) if branch else None
    place = db.session.get(Place, grid) if grid else None
    parts = [x.name for x in (org, place) if x is not None]
    return " · ".join(parts) + " 党员名册" if parts else "党员名册"


@bp.route("/certificates/batch", methods=["POST"])
@staff_required
def batch():
    form = BatchForm()
    form.branch.choices = None
    form.grid.choices = None
    form.branch.validate_choice = False
    form.grid.validate_choice = False
    if not form.validate():
        flash("打印参数有误，请重新选择", "error")
        return redirect(url_for("certificates.index"), code=303)
    branch, grid = parse_int(form.branch.data), parse_int(form.grid.data)
    # The chosen branch / grid must lie in the user's scope.
    if (
        branch
        and not db.session.execute(
            select(Org.id).where(Org.id == branch, org_scope_filter(current_user))
        ).first()
    ):
        abort(404)
    if (
        grid
        and not db.session.execute(
            select(Place.id).where(Place.id == grid, place_scope_filter(current_user))
        ).first()
    ):
        abort(404)
    kind = form.kind.data
    if kind == "certificates":
        where = [member_scope_filter(current_user), Certificate.status == "issued"]
        if branch:
            where.append(Member.branch_id == branch)
        if grid:
            where.append(Member.grid_id == grid)
        ids = list(
            db.session.execute(
                select(Certificate.id)
                .join(Member, Member.id == Certificate.member_id)
                .where(*where)
                .order_by(Certificate.number)
            ).scalars()
        )
    elif kind == "feedback" or kind == "contact_cards":
        ids = _members_for(branch, grid, category="dual")
    else:
        ids = _members_for(branch, grid)
    if not ids:
        flash("所选范围内没有可打印的内容", "error")
        return redirect(url_for("certificates.index"), code=303)
    job = jobs.create_job(kind, ids, current_user, form.layout.data, _title(branch, grid))
    job_id = job.id
    uow.on_commit(lambda: jobs.enqueue(db.session.get(jobs.PrintJob, job_id)))  # after commit
    return redirect(url_for("certificates.job", token=job.token), code=303)


def _own_job(token: str) -> PrintJob:
    job = db.session.execute(select(PrintJob).where(PrintJob.token == token)).scalar_one_or_none()
    if job is None or (job.created_by_id != current_user.id and current_user.role != "admin"):
        abort(404)
    return job


@bp.route("/certificates/jobs/<token>")
@staff_required
def job(token: str):
    jobs.purge_expired()
    job = _own_job(token)
    return render_page_or_block(
        "certificates/job.html",
        "progress",
        job=job,
        kind_label=jobs.KIND_LABELS.get(job.kind, job.kind),
        status_label=jobs.STATUS_LABELS.get(job.status, job.status),
        percent=int(100 * job.done / job.total) if job.total else 0,
    )


@bp.route("/certificates/jobs/<token>/cancel", methods=["POST"])
@staff_required
def job_cancel(token: str):
    job = _own_job(token)
    if jobs.cancel(job, current_user):
        flash("已取消打印任务", "success")
    url = url_for("certificates.job", token=token)
    return client_redirect(url) if is_partial() else redirect(url, code=303)


@bp.route("/certificates/jobs/<token>/download")
@staff_required
def job_download(token: str):
    job = _own_job(token)
    if job.status != "done" or not job.result_path or not Path(job.result_path).exists():
        abort(404)
    record("print_job_download", job)
    response = send_file(
        job.result_path,
        mimetype="application/pdf",
        as_attachment=True,
        download_name=f"batch-{job.kind}-{job.id}.pdf",
    )
    response.headers["Cache-Control"] = "no-store"
    return response


# ---- public verification ----------------------------------------------------------------------


@bp.route("/verify/<token>")
@limiter.limit(lambda: current_app.config.get("VERIFY_RATE_LIMIT") or VERIFY_LIMIT)
def verify(token: str):
    mark_personal()
    verdict = services.verify_token(token)
    cert = verdict.certificate
    shown = None
    if cert is not None:
        member_name = db.session.execute(
            select(Member.name).where(Member.id == cert.member_id)
        ).scalar_one()
        shown = {
            "status": CERTIFICATE_STATUSES.get(cert.status, cert.status),
            "valid_until": documents.cn_date(cert.valid_until),
            "issuer": cert.issuing_org_name or "",
            "name": mask_name(member_name),
            "short_code": cert.short_code or "",
            "sha256": cert.pdf_sha256 or "",
        }
        if verdict.state == "expired":
            shown["status"] = CERTIFICATE_STATUSES["expired"]
    response = make_response(
        render_template("certificates/verify.html", verdict=verdict, shown=shown)
    )
    response.headers["X-Robots-Tag"] = "noindex, nofollow"
    return response
