"""Staff pages of 双管: needs and posts, who claimed them, the sign-in QR, service records."""

from __future__ import annotations

from flask import render_template, request, url_for
from flask_login import current_user
from sqlalchemy import select
from wtforms import SelectChoice

from app.dual import queries, services, signin
from app.dual.blueprint import bp, done, scoped_member, scoped_need, scoped_service
from app.dual.forms import DecideForm, NeedForm, OpinionForm, ServiceForm
from app.dual.models import (
    NEED_KINDS,
    SERVICE_STATUSES,
    Claim,
    FeedbackSheet,
    Need,
    OpinionRequest,
    Service,
    SignIn,
)
from app.errors import DomainError, errors_onto, form_status, render_form
from app.extensions import db
from app.forms import validated
from app.htmx import render_page_or_block
from app.members.models import Member
from app.organization.models import Place
from app.organization.scope import member_scope_filter
from app.paging import keyset_page
from app.security import mark_personal, staff_required
from app.timeutil import local_today

# ---- needs and posts -------------------------------------------------------------------------


@bp.route("/needs")
@staff_required
def needs():
    kind = request.args.get("kind") if request.args.get("kind") in NEED_KINDS else None
    free = request.args.get("free") == "1"
    where = [queries.need_scope_filter(current_user)]
    if kind:
        where.append(Need.kind == kind)
    if free:
        where += [queries.open_need_clause(), Need.claimed < Need.places]
    stmt = select(
        Need.id,
        Need.kind,
        Need.title,
        Need.place,
        Need.slots,
        Need.starts_on,
        Need.ends_on,
        Need.places,
        Need.claimed,
        Need.status,
    ).where(*where)
    page = keyset_page(stmt, [Need.id], descending=True)
    return render_page_or_block(
        "dual/needs.html", "results", page=page, kinds=NEED_KINDS, kind=kind, free=free
    )


def _communities() -> list[SelectChoice]:
    ids = queries.community_ids_of(current_user)
    stmt = select(Place.id, Place.name).where(Place.kind == "community", Place.retired_at.is_(None))
    if ids is not None:
        stmt = stmt.where(Place.id.in_(sorted(ids)))
    return [
        SelectChoice(r.id, r.name)
        for r in db.session.execute(stmt.order_by(Place.position, Place.id))
    ]


@bp.route("/needs/new", methods=["GET", "POST"])
@staff_required
def need_new():
    form = NeedForm()
    form.community_id.choices = _communities()
    if request.method == "POST" and validated(form):
        with errors_onto(form):
            data = {k: v for k, v in form.data.items() if k not in ("csrf_token", "community_id")}
            data = {
                k: (v.strip() or None) if isinstance(v, str) and k != "kind" else v
                for k, v in data.items()
            }
            need = services.publish_need(data, form.community_id.data, current_user)
            return done(url_for("dual.need", need_id=need.id))
    return render_form("dual/need_form.html", "form_block", form)


@bp.route("/needs/<int:need_id>")
@staff_required
def need(need_id: int):
    mark_personal()
    need = scoped_need(need_id)
    claims = db.session.execute(
        select(Claim, Member.name, Member.phone, Member.work_unit)
        .join(Member, Member.id == Claim.member_id)
        .where(Claim.need_id == need.id)
        .order_by(Claim.id)
    ).all()
    signins = db.session.execute(
        select(SignIn, Member.name)
        .join(Member, Member.id == SignIn.member_id)
        .where(SignIn.need_id == need.id)
        .order_by(SignIn.id)
    ).all()
    return render_template("dual/need.html", need=need, claims=claims, signins=signins)


@bp.route("/needs/<int:need_id>/close", methods=["POST"])
@staff_required
def need_close(need_id: int):
    need = scoped_need(need_id)
    services.close_need(need)
    return done(url_for("dual.need", need_id=need.id))


@bp.route("/needs/<int:need_id>/qr")
@staff_required
def need_qr(need_id: int):
    """The sign-in QR for staff to show on a phone or print; it refreshes itself every
    minute with a fresh code."""
    import segno

    from app.certificates.documents import public_base_url

    need = scoped_need(need_id)
    url = f"{public_base_url()}{url_for('dual.signin_page', t=signin.code_for(need.id))}"
    from app.settings import get_setting

    return render_template(
        "dual/qr.html",
        need=need,
        url=url,
        # scalable (viewBox, no fixed size): the CSS makes it fill a phone's width
        svg=segno.make(url, error="m").svg_inline(border=2, dark="#000", omitsize=True),
        minutes=get_setting("dual_signin_minutes"),
    )


# ---- service records -------------------------------------------------------------------------


@bp.route("/services", endpoint="services")
@staff_required
def services_list():
    mark_personal()
    status = request.args.get("status", "pending")
    status = status if status in SERVICE_STATUSES else "pending"
    stmt = (
        select(
            Service.id,
            Service.served_on,
            Service.minutes,
            Service.content,
            Service.source,
            Service.status,
            Member.id.label("member_id"),
            Member.name,
            Member.work_unit,
        )
        .join(Member, Member.id == Service.member_id)
        # the scope as a list of member ids: read once from the member indexes, instead of
        # testing every waiting record's member row
        .where(
            Service.status == status,
            Service.member_id.in_(select(Member.id).where(member_scope_filter(current_user))),
        )
    )
    page = keyset_page(stmt, [Service.id], descending=True)
    return render_page_or_block(
        "dual/services.html",
        "results",
        page=page,
        chosen=status,
        statuses=SERVICE_STATUSES,
        form=DecideForm(formdata=None),
    )


@bp.route("/services/<int:service_id>/confirm", methods=["POST"])
@staff_required
def service_confirm(service_id: int):
    service = scoped_service(service_id)
    form = DecideForm()
    if not validated(form):
        raise DomainError(form.hours.errors[0])
    services.decide_service(service, True, current_user, form.hours.data)
    return done(request.referrer or url_for("dual.services"))


@bp.route("/services/<int:service_id>/reject", methods=["POST"])
@staff_required
def service_reject(service_id: int):
    service = scoped_service(service_id)
    services.decide_service(service, False, current_user)
    return done(request.referrer or url_for("dual.services"))


# ---- one member's 双管 record -----------------------------------------------------------------


def _member_context(member: Member) -> dict:
    period = queries.parse_period(request.args.get("period")) or queries.current_period()
    figures = queries.figures_for([member], period)[member.id]
    recent = (
        db.session.execute(
            select(Service)
            .where(Service.member_id == member.id)
            .order_by(Service.id.desc())
            .limit(30)
        )
        .scalars()
        .all()
    )
    sheets = (
        db.session.execute(
            select(FeedbackSheet)
            .where(FeedbackSheet.member_id == member.id)
            .order_by(FeedbackSheet.period_start.desc())
        )
        .scalars()
        .all()
    )
    opinions = (
        db.session.execute(
            select(OpinionRequest)
            .where(OpinionRequest.member_id == member.id)
            .order_by(OpinionRequest.id.desc())
        )
        .scalars()
        .all()
    )
    return {
        "member": member,
        "period": period,
        "periods": queries.recent_periods(),
        "figures": figures,
        "recent": recent,
        "sheets": sheets,
        "opinions": opinions,
    }


@bp.route("/members/<int:member_id>", methods=["GET", "POST"])
@staff_required
def member(member_id: int):
    """The member's posts, services and hours; staff record a service here (confirmed)."""
    mark_personal()
    m = scoped_member(member_id)
    form = ServiceForm(formdata=None if request.method == "GET" else request.form)
    if request.method == "GET":
        form.served_on.data = local_today()
    elif validated(form):
        with errors_onto(form):
            services.record_service(m, form.data, current_user, by_staff=True)
            return done(url_for("dual.member", member_id=m.id))
    return render_form(
        "dual/member.html", "service_form", form, opinion_form=_opinion_form(), **_member_context(m)
    )


def _opinion_form(formdata=None) -> OpinionForm:  # noqa: ANN001
    return OpinionForm(formdata=formdata)


@bp.route("/members/<int:member_id>/opinions", methods=["POST"])
@staff_required
def opinion_new(member_id: int):
    m = scoped_member(member_id)
    form = OpinionForm()
    if validated(form):
        with errors_onto(form):
            data = {k: form.data[k] for k in ("employer", "purpose", "requested_on")}
            row = services.open_opinion(m, data, current_user)
            return done(url_for("dual.opinion", opinion_id=row.id))
    return render_page_or_block(
        "dual/member.html",
        "opinion_block",
        status=form_status(form),
        form=ServiceForm(formdata=None),
        opinion_form=form,
        **_member_context(m),
    )
