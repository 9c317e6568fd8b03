"""The 五管工作 hub page."""

from __future__ import annotations

from flask import Blueprint, render_template
from flask_login import current_user
from sqlalchemy import func, select

from app.extensions import db
from app.members.management import managed_clause
from app.members.models import CATEGORIES, Member
from app.organization.scope import member_scope_filter
from app.security import staff_required
from app.work import PRACTICE, links_for

bp = Blueprint("work", __name__, url_prefix="/work")


@bp.route("/")
@staff_required
def index():
    counts = dict(
        db.session.execute(
            select(Member.category, func.count())
            .where(member_scope_filter(current_user), managed_clause())
            .group_by(Member.category)
        ).all()
    )
    links = links_for(current_user.role)
    sections = [
        {
            "key": key,
            "label": label,
            "practice": PRACTICE[key],
            "count": counts.get(key, 0),
            "links": links.get(key, []),
        }
        for key, label in CATEGORIES.items()
    ]
    return render_template("work/index.html", sections=sections)
