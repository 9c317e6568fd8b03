"""Issuing a 活动证 and its lifecycle: detail, checks, renewal, re-issue, return, transfer, revocation; recording a card from elsewhere."""

from __future__ import annotations

from typing import Any

from flask import (
    abort,
    flash,
    render_template,
    request,
    url_for,
)
from flask_login import current_user
from sqlalchemy import select

from app import uow
from app.audit import record
from app.certificates import documents, services, trips
from app.certificates.blueprint import (
    LAYOUTS,
    _pdf_response,
    _scoped_certificate,
    _scoped_member,
    bp,
)
from app.certificates.forms import (
    CheckForm,
    CloseForm,
    IncomingForm,
    IssueForm,
    ReissueForm,
)
from app.certificates.models import (
    CERTIFICATE_STATUSES,
    Certificate,
    CertificateCheck,
)
from app.errors import DomainError, errors_onto, render_form
from app.extensions import db
from app.forms import localize_errors, validated
from app.htmx import render_page_or_block, see_other
from app.members.models import Member
from app.registration.changes import brought_date, documents_brought
from app.security import mark_personal, staff_required
from app.settings import get_setting
from app.timeutil import local_today

# ---- issue -----------------------------------------------------------------------------------


def _card_form(form, member: Member, template: str, errors_of, save, done, **context):  # noqa: ANN001
    """The issue / record forms: rule errors next to their fields, the saved card's page."""
    if form.validate_on_submit():
        data = {k: form[k].data for k in form._fields if k != "csrf_token"}
        with errors_onto(form):
            errors = errors_of(data)
            if errors:
                raise DomainError(errors)
            cert = save(data)
            flash(done(cert), "success")
            url = url_for("certificates.detail", cert_id=cert.id)
            return see_other(url)
    localize_errors(form)
    return render_form(template, "form", form, member=member, **context)


@bp.route("/certificates/issue/<int:member_id>", methods=["GET", "POST"])
@staff_required
def issue(member_id: int):
    mark_personal()
    member = _scoped_member(member_id)
    form = IssueForm()
    form.liaison.choices = trips.liaison_choices(member, current_user)
    if request.method == "GET":
        for key, value in services.prefill(member).items():
            if key in form._fields:
                form[key].data = value
        form.expected_return.data = member.mobility_expected_return
    return _card_form(
        form,
        member,
        "certificates/issue.html",
        lambda data: services.issue_errors(member, data),
        lambda data: uow.retrying(lambda: services.issue_certificate(member, data, current_user)),
        lambda cert: f"已发证，证号 {cert.number}",
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
        brought = documents_brought(member.id)  # what the 流入党员登记 recorded
        form.number.data = brought.get("certificate_no")
        form.issuing_org_name.data = (
            brought.get("certificate_org") or brought.get("origin_org") or member.relation_org_name
        )
        form.valid_until.data = brought_date(brought.get("certificate_valid_until"))
    return _card_form(
        form,
        member,
        "certificates/record_in.html",
        lambda data: services.incoming_errors(member, data, local_today()),
        lambda data: services.record_incoming(member, data, current_user),
        lambda cert: f"已登记外地活动证 {cert.number}",
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
        "fingerprint": documents.certificate_fingerprint(cert, member)
        if cert.direction == "out"
        else "",
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
    except DomainError as exc:
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
    return see_other(url)


@bp.route("/certificates/<int:cert_id>/check", methods=["POST"])
@staff_required
def check(cert_id: int):
    cert = _scoped_certificate(cert_id)
    form = CheckForm()
    if not validated(form):
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
    except DomainError as exc:
        db.session.rollback()
        return render_page_or_block(
            "certificates/detail.html",
            "actions",
            status=422,
            **_detail_context(db.session.get(Certificate, cert_id), error=str(exc)),
        )
    flash(f"已补发新证，证号 {holder['new'].number}；原证已注销", "success")
    url = url_for("certificates.detail", cert_id=holder["new"].id)
    return see_other(url)


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
