from __future__ import annotations

from flask import Blueprint, Response, redirect, render_template, url_for
from flask_login import current_user, login_required
from sqlalchemy import func, select

from app.extensions import db
from app.members.models import CATEGORIES, Member
from app.timeutil import local_today

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
    from app.members.management import headline_counts, managed_clause
    from app.organization.scope import member_scope_filter

    scope = member_scope_filter(current_user)
    counts = dict(
        db.session.execute(
            select(Member.category, func.count())
            .where(scope, managed_clause())
            .group_by(Member.category)
        ).all()
    )
    panels = [(key, label, counts.get(key, 0)) for key, label in CATEGORIES.items()]
    return render_template(
        "main/home.html",
        panels=panels,
        headlines=headline_counts([scope], local_today()),
        links=headline_links(),
    )


def headline_links(**filters: object) -> dict[str, str]:
    """The list behind each headline number (the member list with the same definition)."""
    return {
        "on_roster": url_for("members.index", **filters),
        "managed": url_for("members.index", status="managed", **filters),
        "lost_contact": url_for("followup.lost_list"),
        "away": url_for("members.index", mobility="away", **filters),
    }


@bp.route("/healthz")
def healthz():
    return Response("ok", mimetype="text/plain")
