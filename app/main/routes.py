from __future__ import annotations

from flask import Blueprint, Response, redirect, render_template, url_for
from flask_login import current_user, login_required
from sqlalchemy import func, select

from app.extensions import db
from app.members.models import CATEGORIES, Member

bp = Blueprint("main", __name__)


@bp.route("/")
def index():
    if current_user.is_authenticated:
        return redirect(url_for("main.home"))
    return redirect(url_for("auth.login"))


@bp.route("/home")
@login_required
def home():
    if current_user.role == "member":
        member = db.session.get(Member, current_user.member_id) if current_user.member_id else None
        return render_template("main/member_home.html", member=member)
    from app.organization.scope import member_scope_filter

    counts = dict(
        db.session.execute(
            select(Member.category, func.count())
            .where(member_scope_filter(current_user), Member.status == "active")
            .group_by(Member.category)
        ).all()
    )
    panels = [(key, label, counts.get(key, 0)) for key, label in CATEGORIES.items()]
    return render_template("main/home.html", panels=panels, total=sum(counts.values()))


@bp.route("/healthz")
def healthz():
    return Response("ok", mimetype="text/plain")
