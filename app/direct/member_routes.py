"""The 责任卡 (PDF and its public verification) and the member's own 我的岗位 page."""

from __future__ import annotations

import io

from flask import (
    abort,
    current_app,
    flash,
    make_response,
    render_template,
    request,
    send_file,
    url_for,
)
from flask_login import current_user
from sqlalchemy import select

from app import audit
from app.certificates.blueprint import VERIFY_LIMIT
from app.certificates.documents import cn_date, public_base_url, qr_svg
from app.certificates.engine import render_pdf
from app.direct import queries, services
from app.direct.blueprint import bp
from app.direct.forms import AssignForm
from app.direct.models import ASSIGNMENT_STATES, FIVE_GOOD_ITEMS, DutyPost, PostAssignment
from app.direct.routes import _assign_form, _assignment, _see
from app.errors import errors_onto, render_form
from app.extensions import db, limiter
from app.forms import validated
from app.htmx import render_page_or_block
from app.members.models import Member
from app.organization.models import Org, Place
from app.security import mark_personal, mask_name, mask_phone, roles_required, staff_required
from app.selfservice.services import own_member
from app.timeutil import local_today

# ---- 责任卡 ---------------------------------------------------------------------------------------


def verify_url(assignment: PostAssignment) -> str:
    # Built by hand like the certificate's: the printed address must be the public one.
    return f"{public_base_url()}/verify/duty/{services.token_for(assignment)}"


def card_context(a: PostAssignment) -> dict:
    member = db.session.get(Member, a.member_id)
    post = db.session.get(DutyPost, a.post_id)
    community = db.session.get(Place, member.community_id) if member.community_id else None
    committee = (
        db.session.execute(
            select(Org).where(
                Org.place_id == member.community_id, Org.kind == "community_committee"
            )
        ).scalar_one_or_none()
        if member.community_id
        else None
    )
    url = verify_url(a)
    return {
        "name": member.name,
        "phone": member.phone or "",
        "post": post.name,
        "duties": post.duties,
        "areas": queries.area_names([a.id]).get(a.id, []),
        "starts_on": cn_date(a.starts_on),
        "ends_on": cn_date(a.ends_on) if a.ends_on else "长期",
        "community": community.name if community else "",
        "issuer": committee.name if committee else (community.name if community else ""),
        "issuer_contact": (committee.contact_phone or "") if committee else "",
        "qr": qr_svg(url),
        "verify_url": url,
        "today": cn_date(local_today()),
    }


@bp.route("/direct/assignments/<int:assignment_id>/card.pdf")
@staff_required
def card_pdf(assignment_id: int):
    mark_personal()
    a = _assignment(assignment_id)
    if a.status != "active":
        abort(404)
    data = render_pdf("duty_card.html", card_context(a))
    audit.record("direct_card_print", a)
    response = send_file(
        io.BytesIO(data), mimetype="application/pdf", download_name=f"责任卡-{a.id}.pdf"
    )
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.route("/verify/duty/<token>")
@limiter.limit(lambda: current_app.config.get("VERIFY_RATE_LIMIT") or VERIFY_LIMIT)
def verify(token: str):
    """Public: the minimum — masked name, post, 责任区, valid or ended."""
    mark_personal()
    verdict = services.verify_token(token)
    shown = None
    a = verdict.assignment
    if a is not None:
        name = db.session.scalar(select(Member.name).where(Member.id == a.member_id))
        shown = {
            "name": mask_name(name),
            "post": db.session.scalar(select(DutyPost.name).where(DutyPost.id == a.post_id)),
            "areas": "、".join(queries.area_names([a.id]).get(a.id, [])),
            "period": f"{cn_date(a.starts_on)} 至 {cn_date(a.ends_on) if a.ends_on else '长期'}",
        }
    response = make_response(render_template("direct/verify.html", verdict=verdict, shown=shown))
    response.headers["X-Robots-Tag"] = "noindex, nofollow"
    return response


# ---- 我的岗位 (member self-service) -------------------------------------------------------------


@bp.route("/my/duties", methods=["GET", "POST"])
@roles_required("member")
def mine():
    mark_personal()
    member = own_member(current_user)
    if member is None:
        if request.method == "POST":
            abort(404)
        return render_template("direct/mine.html", member=None)
    form = _assign_form(member, AssignForm() if request.method == "POST" else None)
    if request.method == "POST" and validated(form):
        with errors_onto(form):
            services.assign_post(
                member,
                current_user,
                post_id=form.post_id.data,
                starts_on=form.starts_on.data,
                ends_on=form.ends_on.data,
                building_ids=form.buildings.data or [],
                note=form.note.data,
                requested=True,
            )
            flash("已提交申请，社区审核后生效", "success")
            return _see(url_for("direct.mine"))
    context = {
        "member": member,
        "assignments": queries.member_assignments(member.id),
        "pairs": queries.member_pairs(member.id),
        "reviews": queries.member_reviews(member.id),
        "states": ASSIGNMENT_STATES,
        "five_items": FIVE_GOOD_ITEMS,
        "mask_phone": mask_phone,
    }
    if request.method == "POST":
        return render_form("direct/mine.html", "request_block", form, **context)
    return render_page_or_block("direct/mine.html", "content", form=form, **context)
