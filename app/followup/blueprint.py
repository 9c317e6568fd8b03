"""The follow-up blueprint and the small helpers its route modules share (routes, dues_routes,
lost_routes, appraisal_routes)."""

from __future__ import annotations

from flask import Blueprint, redirect
from flask_login import current_user
from sqlalchemy import select
from wtforms import (
    SelectChoice,
)

from app.extensions import db
from app.htmx import client_redirect, is_htmx
from app.members.models import Member
from app.organization.models import Place
from app.organization.scope import (
    get_in_scope_or_404,
    member_scope_filter,
    place_scope_filter,
)

bp = Blueprint("followup", __name__, url_prefix="/followup")

EXPORT_LIMIT = 200_000


def _choices(pairs) -> list[SelectChoice]:  # noqa: ANN001
    return [SelectChoice(value, label) for value, label in pairs]


def _member(member_id: int) -> Member:
    return get_in_scope_or_404(Member, member_id, current_user, member_scope_filter)


def _grids() -> list:
    return db.session.execute(
        select(Place.id, Place.name)
        .where(Place.kind == "grid", Place.retired_at.is_(None), place_scope_filter(current_user))
        .order_by(Place.position, Place.id)
    ).all()


def _done(target: str):  # noqa: ANN202
    """After a change: the page again (htmx: a client redirect, so forms carry new versions)."""
    if is_htmx():
        return client_redirect(target)
    return redirect(target, code=303)
