"""The member's side of 双管 (社区服务, on a phone): browse needs and posts, claim and withdraw,
report a service, see own hours; sign in and out of an activity by scanning its QR."""

from __future__ import annotations

from flask import abort, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import select

from app.dual import queries, services
from app.dual.blueprint import bp, done, member_need, own_member
from app.dual.forms import ServiceForm, SignInForm
from app.dual.models import Claim, Need, Service, SignIn
from app.errors import DomainError, errors_onto, form_status, put_errors
from app.extensions import db
from app.forms import validated
from app.htmx import render_page_or_block
from app.paging import keyset_page
from app.security import mark_personal, roles_required
from app.timeutil import local_today


def _mine_context(member) -> dict:  # noqa: ANN001
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
        Need.skills,
    ).where(Need.community_id == member.community_id, queries.open_need_clause())
    page = keyset_page(stmt, [Need.id], descending=True, size=20)
    mine = {
        need_id
        for need_id in db.session.execute(
            select(Claim.need_id).where(Claim.member_id == member.id, Claim.status == "claimed")
        ).scalars()
    }
    claimed = (
        db.session.execute(
            select(Need)
            .join(Claim, Claim.need_id == Need.id)
            .where(Claim.member_id == member.id, Claim.status == "claimed")
            .order_by(Claim.id.desc())
        )
        .scalars()
        .all()
    )
    records = (
        db.session.execute(
            select(Service)
            .where(Service.member_id == member.id)
            .order_by(Service.id.desc())
            .limit(20)
        )
        .scalars()
        .all()
    )
    period = queries.current_period()
    return {
        "member": member,
        "page": page,
        "mine": mine,
        "claimed": claimed,
        "records": records,
        "period": period,
        "hours": round(queries.confirmed_minutes(member.id, period) / 60, 1),
    }


@bp.route("/mine", methods=["GET", "POST"])
@roles_required("member")
def mine():
    mark_personal()
    member = own_member()
    if member is None:
        if request.method == "POST":
            abort(404)
        return render_template("dual/mine.html", member=None)
    form = ServiceForm(formdata=None if request.method == "GET" else request.form)
    if request.method == "GET":
        form.served_on.data = local_today()
    elif validated(form):
        with errors_onto(form):
            services.record_service(member, form.data, current_user, by_staff=False)
            return done(url_for("dual.mine"))
    return render_page_or_block(
        "dual/mine.html",
        "needs_block",
        status=form_status(form),
        form=form,
        **_mine_context(member),
    )


@bp.route("/mine/needs/<int:need_id>/claim", methods=["POST"])
@roles_required("member")
def claim(need_id: int):
    need = member_need(need_id)
    services.claim(need, own_member())
    return done(url_for("dual.mine"))


@bp.route("/mine/needs/<int:need_id>/withdraw", methods=["POST"])
@roles_required("member")
def withdraw(need_id: int):
    need = member_need(need_id)
    services.withdraw(need, own_member())
    return done(url_for("dual.mine"))


@bp.route("/signin", methods=["GET", "POST"])
@roles_required("member")
def signin_page():
    """What the activity QR opens: the activity, and a button to sign in (or out)."""
    mark_personal()
    member = own_member()
    if member is None:
        abort(404)
    form = SignInForm(formdata=request.form if request.method == "POST" else None)
    code = request.form.get("t") if request.method == "POST" else request.args.get("t", "")
    form.t.data = code
    need, row, message = None, None, None
    try:
        need = services._need_of_code(code, member)
        row = services._signin_of(need.id, member.id)
        if request.method == "POST":
            with errors_onto(form):
                if row is None:
                    row = services.sign_in(code, member)
                    message = "签到成功"
                else:
                    services.sign_out(code, member)
                    message = "签退成功，服务时长待社区确认"
    except DomainError as error:
        db.session.rollback()
        put_errors(form, error)
    status = form_status(form)
    if need is not None and row is not None:
        row = services._signin_of(need.id, member.id)
    return render_template(
        "dual/signin.html", form=form, need=need, row=row, message=message
    ), status


_ = SignIn
