"""The 双管 blueprint, its hub links and reminder sources, and the scoped loaders its route
modules share."""

from __future__ import annotations

from flask import Blueprint, abort, redirect
from flask_login import current_user
from sqlalchemy import select

from app import reminders, work
from app.dual import queries
from app.dual.models import Need, OpinionRequest, Service
from app.extensions import db
from app.htmx import client_redirect, is_htmx
from app.members.models import Member
from app.organization.scope import (
    get_in_scope_or_404,
    get_of_member_in_scope_or_404,
    member_scope_filter,
)

bp = Blueprint("dual", __name__, url_prefix="/dual")

work.register("dual", "需求清单与服务岗位", "dual.needs", order=10)
work.register("dual", "服务记录与时长确认", "dual.services", order=20)
work.register("dual", "在职党员社区表现反馈单", "dual.feedback", order=30)
work.register("dual", "考察党员干部听取社区意见", "dual.opinions", order=40)
work.register("dual", "在职党员活动情况定期通报", "dual.notice", order=50)

reminders.register(
    "dual_sheets_to_send",
    "在职党员表现反馈单待发送",
    queries.sheets_to_send,
    "dual.feedback",
    order=60,
    status="pending",
    due="1",
)
reminders.register(
    "dual_sheets_not_returned",
    "表现反馈单逾期未回执",
    queries.sheets_not_returned,
    "dual.feedback",
    overdue=True,
    order=61,
    status="late",
)
reminders.register(
    "dual_needs_free",
    "尚有空余名额的社区需求",
    queries.needs_with_free_places,
    "dual.needs",
    order=62,
    free="1",
)


def scoped_need(need_id: int) -> Need:
    return get_in_scope_or_404(Need, need_id, current_user, queries.need_scope_filter)


def scoped_member(member_id: int) -> Member:
    return get_in_scope_or_404(Member, member_id, current_user, member_scope_filter)


def scoped_service(service_id: int) -> Service:
    return get_of_member_in_scope_or_404(Service, service_id, current_user)


def scoped_opinion(opinion_id: int) -> OpinionRequest:
    return get_of_member_in_scope_or_404(OpinionRequest, opinion_id, current_user)


def own_member() -> Member | None:
    member_id = getattr(current_user, "member_id", None)
    return db.session.get(Member, member_id) if member_id else None


def member_need(need_id: int) -> Need:
    """A need of the logged-in member's own community, else 404."""
    member = own_member()
    if member is None or member.community_id is None:
        abort(404)
    return db.one_or_404(
        select(Need).where(Need.id == need_id, Need.community_id == member.community_id)
    )


def done(target: str):  # noqa: ANN201
    if is_htmx():
        return client_redirect(target)
    return redirect(target, code=303)
