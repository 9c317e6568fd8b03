"""Member documents (receipt, contact card, feedback sheet, transfer letters), the roster printout and batch printing jobs."""

from __future__ import annotations

from pathlib import Path

from flask import (
    abort,
    flash,
    redirect,
    render_template,
    request,
    send_file,
    url_for,
)
from flask_login import current_user
from sqlalchemy import or_, select

from app import uow
from app.audit import record
from app.certificates import documents, jobs, letters, services
from app.certificates.blueprint import (
    _pdf_response,
    _scoped_member,
    bp,
)
from app.certificates.forms import (
    BatchForm,
    ReturnSlipForm,
    TransferForm,
)
from app.certificates.models import (
    CERTIFICATE_STATUSES,
    Certificate,
    PrintJob,
    ReceivedLetter,
    TransferLetter,
)
from app.errors import DomainError
from app.extensions import db
from app.forms import localize_errors
from app.htmx import render_page_or_block, see_other
from app.members.management import participant_clause
from app.members.models import Member
from app.organization.models import Org, Place
from app.organization.scope import (
    get_of_member_in_scope_or_404,
    member_scope_filter,
    org_scope_filter,
    place_scope_filter,
)
from app.params import parse_int
from app.security import mark_personal, staff_required
from app.settings import get_setting
from app.timeutil import local_today

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
    received = db.session.execute(
        select(ReceivedLetter)
        .where(ReceivedLetter.member_id == m.id)
        .order_by(ReceivedLetter.id.desc())
    ).scalars()
    return render_template(
        "certificates/member.html",
        member=m,
        certs=list(certs),
        letters=list(letters),
        received=list(received),
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
    data = documents.html_to_pdf(documents.feedback_sheets_html([m]))
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
        letter = uow.retrying(lambda: letters.issue_transfer_letter(m, data, current_user))
        flash(f"已开具介绍信，编号 {letter.number}", "success")
        url = url_for("certificates.transfer", letter_id=letter.id)
        return see_other(url)
    if request.method == "POST":
        status = 422
    localize_errors(form)
    return render_page_or_block(
        "certificates/transfer_new.html", "form", status=status, form=form, member=m
    )


def _scoped_letter(letter_id: int) -> TransferLetter:
    return get_of_member_in_scope_or_404(TransferLetter, letter_id, current_user)


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
            letters.record_return_slip(letter, current_user, form.returned_on.data)
        except DomainError as exc:
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
        # 双管 and flow-in members keep their relation elsewhere: they belong to a branch as
        # 报到 participants of its groups' buildings (management picture), not by branch_id.
        groups = select(Org.id).where(Org.parent_id == branch)
        buildings = select(Place.id).where(Place.group_id.in_(groups))
        where.append(or_(Member.branch_id == branch, participant_clause(buildings)))
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
        # Back to the page with the choices kept (the form is filled from these arguments).
        back = {"kind": kind, "layout": form.layout.data, "branch": branch, "grid": grid}
        return redirect(url_for("certificates.index", **back) + "#batch", code=303)
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
    return see_other(url)


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
