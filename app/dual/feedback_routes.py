"""Staff pages of 双管: feedback sheets (list, one member's sheet, PDFs per member and per work
unit), the periodic notice to work units, the work units' requests for the community's opinion."""

from __future__ import annotations

from datetime import timedelta

from flask import abort, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import and_, func, or_, select

from app.audit import record
from app.certificates.blueprint import _pdf_response
from app.dual import documents, queries, services
from app.dual.blueprint import bp, done, scoped_member, scoped_opinion
from app.dual.forms import AnswerForm, RatingForm, ReturnedForm, SentForm
from app.dual.models import SHEET_STATUSES, FeedbackSheet, OpinionRequest
from app.errors import errors_onto, form_status
from app.extensions import db
from app.forms import validated
from app.htmx import render_page_or_block
from app.members.models import Member
from app.organization.scope import member_scope_filter
from app.paging import keyset_page
from app.security import mark_personal, staff_required
from app.settings import get_setting
from app.spreadsheets import write_xlsx, xlsx_download
from app.timeutil import local_today

BATCH_LIMIT = 300


def _period() -> queries.Period:
    period = queries.parse_period(request.args.get("period"))
    if period is None:
        period = queries.previous_period() if request.args.get("due") else queries.current_period()
    return period


@bp.route("/feedback")
@staff_required
def feedback():
    mark_personal()
    period = _period()
    status = request.args.get("status") or ""
    employer = (request.args.get("employer") or "").strip()[:100]
    sheet = and_(FeedbackSheet.member_id == Member.id, FeedbackSheet.period_key == period.key)
    where = queries.dual_members_filter(current_user)
    if status == "pending":
        where.append(or_(FeedbackSheet.id.is_(None), FeedbackSheet.status == "pending"))
    elif status == "late":
        limit = local_today() - timedelta(days=int(get_setting("dual_feedback_return_days")))
        where += [FeedbackSheet.status == "sent", FeedbackSheet.sent_on <= limit]
    elif status in SHEET_STATUSES:
        where.append(FeedbackSheet.status == status)
    if employer:
        where.append(Member.work_unit == employer)
    stmt = (
        select(
            Member.id,
            Member.name,
            Member.work_unit,
            FeedbackSheet.status,
            FeedbackSheet.rating,
            FeedbackSheet.sent_on,
            FeedbackSheet.returned_on,
        )
        .outerjoin(FeedbackSheet, sheet)
        .where(*where)
    )
    page = keyset_page(stmt, [Member.id])
    employers = db.session.execute(
        select(Member.work_unit, func.count())
        .where(*queries.dual_members_filter(current_user), Member.work_unit.is_not(None))
        .group_by(Member.work_unit)
        .order_by(func.count().desc(), Member.work_unit)
        .limit(50)
    ).all()
    return render_page_or_block(
        "dual/feedback.html",
        "results",
        page=page,
        period=period,
        periods=queries.recent_periods(),
        chosen=status,
        statuses=SHEET_STATUSES,
        employer=employer,
        employers=employers,
    )


def _sheet_context(member: Member, period: queries.Period, **forms) -> dict:
    sheet = services.sheet_for(member, period)
    figures = queries.figures_for([member], period)[member.id]
    rating = forms.get("rating_form") or RatingForm(
        formdata=None,
        rating=sheet.rating if sheet else None,
        comment=sheet.comment if sheet else None,
    )
    sent = forms.get("sent_form") or SentForm(formdata=None, sent_on=local_today())
    returned = forms.get("returned_form") or ReturnedForm(formdata=None, returned_on=local_today())
    return {
        "member": member,
        "period": period,
        "sheet": sheet,
        "figures": figures,
        "rating_form": rating,
        "sent_form": sent,
        "returned_form": returned,
    }


def _sheet_page(member: Member, period: queries.Period, form=None, **forms):  # noqa: ANN001, ANN202
    status = form_status(form) if form is not None else 200
    return render_page_or_block(
        "dual/sheet.html", "content", status=status, **_sheet_context(member, period, **forms)
    )


@bp.route("/members/<int:member_id>/feedback", methods=["GET", "POST"])
@staff_required
def sheet(member_id: int):
    mark_personal()
    m = scoped_member(member_id)
    period = _period()
    if request.method == "GET":
        return _sheet_page(m, period)
    form = RatingForm()
    if validated(form):
        with errors_onto(form):
            services.rate(m, period, form.rating.data, (form.comment.data or "").strip() or None)
            return done(url_for("dual.sheet", member_id=m.id, period=period.key))
    return _sheet_page(m, period, form, rating_form=form)


@bp.route("/members/<int:member_id>/feedback/sent", methods=["POST"])
@staff_required
def sheet_sent(member_id: int):
    m = scoped_member(member_id)
    period = _period()
    form = SentForm()
    if validated(form):
        with errors_onto(form):
            services.mark_sent(m, period, form.sent_on.data, form.via.data)
            return done(url_for("dual.sheet", member_id=m.id, period=period.key))
    return _sheet_page(m, period, form, sent_form=form)


@bp.route("/members/<int:member_id>/feedback/returned", methods=["POST"])
@staff_required
def sheet_returned(member_id: int):
    m = scoped_member(member_id)
    period = _period()
    form = ReturnedForm()
    if validated(form):
        with errors_onto(form):
            note = (form.employer_note.data or "").strip() or None
            services.mark_returned(m, period, form.returned_on.data, note)
            return done(url_for("dual.sheet", member_id=m.id, period=period.key))
    return _sheet_page(m, period, form, returned_form=form)


@bp.route("/members/<int:member_id>/feedback.pdf")
@staff_required
def sheet_pdf(member_id: int):
    m = scoped_member(member_id)
    period = _period()
    data = documents.html_to_pdf(documents.feedback_html([m], period))
    record("dual_feedback_print", m, detail=period.key)
    return _pdf_response(data, f"feedback-{m.id}-{period.key}.pdf")


def _employer_members(employer: str) -> list[Member]:
    if not employer:
        abort(404)
    members = (
        db.session.execute(
            select(Member)
            .where(*queries.dual_members_filter(current_user), Member.work_unit == employer)
            .order_by(Member.name_pinyin, Member.id)
            .limit(BATCH_LIMIT + 1)
        )
        .scalars()
        .all()
    )
    if not members or len(members) > BATCH_LIMIT:
        abort(404)
    return list(members)


@bp.route("/feedback/employer.pdf")
@staff_required
def employer_pdf():
    """One PDF per work unit: a cover letter listing its members, then one sheet each."""
    employer = (request.args.get("employer") or "").strip()
    members = _employer_members(employer)
    period = _period()
    data = documents.html_to_pdf(documents.feedback_html(members, period, cover=True))
    record(
        "dual_feedback_print",
        object_type="member",
        detail=f"{employer} {period.key} n={len(members)}",
    )
    return _pdf_response(data, f"feedback-employer-{period.key}.pdf")


# ---- 活动情况定期通报 -----------------------------------------------------------------------------


@bp.route("/notice")
@staff_required
def notice():
    period = _period()
    employers = db.session.execute(
        select(Member.work_unit, func.count())
        .where(*queries.dual_members_filter(current_user), Member.work_unit.is_not(None))
        .group_by(Member.work_unit)
        .order_by(Member.work_unit)
        .limit(500)
    ).all()
    return render_template(
        "dual/notice.html", period=period, periods=queries.recent_periods(), employers=employers
    )


@bp.route("/notice.xlsx")
@staff_required
def notice_xlsx():
    employer = (request.args.get("employer") or "").strip()
    members, period = _employer_members(employer), _period()
    rows = documents.notice_rows(members, period)
    data = write_xlsx(
        ["姓名", "工作单位", "认领岗位", "服务次数", "服务时长（小时）", "参加活动（次）"],
        [
            [r["name"], r["work_unit"], r["posts"], r["services"], r["hours"], r["activities"]]
            for r in rows
        ],
        sheet="活动情况通报",
    )
    record("dual_notice_export", object_type="member", detail=f"{employer} {period.key} xlsx")
    return xlsx_download(data, f"notice-{period.key}.xlsx")


@bp.route("/notice.pdf")
@staff_required
def notice_pdf():
    employer = (request.args.get("employer") or "").strip()
    members, period = _employer_members(employer), _period()
    data = documents.notice_pdf(members, period, employer)
    record("dual_notice_export", object_type="member", detail=f"{employer} {period.key} pdf")
    return _pdf_response(data, f"notice-{period.key}.pdf")


# ---- 考察党员干部听取社区意见 ---------------------------------------------------------------------


@bp.route("/opinions")
@staff_required
def opinions():
    stmt = (
        select(
            OpinionRequest.id,
            OpinionRequest.employer,
            OpinionRequest.purpose,
            OpinionRequest.requested_on,
            OpinionRequest.answered_on,
            Member.name,
        )
        .join(Member, Member.id == OpinionRequest.member_id)
        .where(member_scope_filter(current_user))
    )
    if request.args.get("open") == "1":
        stmt = stmt.where(OpinionRequest.answered_on.is_(None))
    page = keyset_page(stmt, [OpinionRequest.id], descending=True)
    return render_page_or_block("dual/opinions.html", "results", page=page)


@bp.route("/opinions/<int:opinion_id>", methods=["GET", "POST"])
@staff_required
def opinion(opinion_id: int):
    mark_personal()
    row = scoped_opinion(opinion_id)
    member = db.session.get(Member, row.member_id)
    if request.method == "GET":
        form = AnswerForm(
            formdata=None, answer=row.answer, answered_on=row.answered_on or local_today()
        )
        return render_template("dual/opinion.html", row=row, member=member, form=form)
    form = AnswerForm()
    if validated(form):
        with errors_onto(form):
            services.answer_opinion(row, form.answer.data.strip(), form.answered_on.data)
            return done(url_for("dual.opinion", opinion_id=row.id))
    return render_page_or_block(
        "dual/opinion.html", "content", status=form_status(form), row=row, member=member, form=form
    )


@bp.route("/opinions/<int:opinion_id>/reply.pdf")
@staff_required
def opinion_pdf(opinion_id: int):
    row = scoped_opinion(opinion_id)
    data = documents.opinion_pdf(row)
    record("dual_opinion_print", row)
    return _pdf_response(data, f"opinion-{row.id}.pdf")
