"""The 直管 blueprint, its hub entries, reminders and template globals (card and place panels)."""

from __future__ import annotations

from flask import Blueprint

from app import reminders, work

bp = Blueprint("direct", __name__)

work.register("direct", "岗位与职责（设岗定责）", "direct.posts", order=10)
work.register("direct", "党员责任区与责任卡", "direct.assignments", order=20)
work.register("direct", "结对帮扶", "direct.pairs", order=30)
work.register("direct", "争五好评议", "direct.reviews", order=40)


def _count(state: str):  # noqa: ANN202
    def count(user) -> int:  # noqa: ANN001
        from app.direct import queries

        return queries.count_assignments(user, state)

    return count


def _idle_pairs(user) -> int:  # noqa: ANN001
    from app.direct import queries

    return queries.count_pairs(user, "idle")


reminders.register(
    "direct_requests", "党员申请的责任岗位待审核", _count("requested"), "direct.assignments",
    state="requested", order=60,
)  # fmt: skip
reminders.register(
    "direct_ending", "30 天内到期的党员责任岗位", _count("ending"), "direct.assignments",
    state="ending", order=61,
)  # fmt: skip
reminders.register(
    "direct_idle_pairs", "久未走访的结对帮扶", _idle_pairs, "direct.pairs",
    state="idle", order=62,
)  # fmt: skip


@bp.app_template_global("direct_member_panel")
def direct_member_panel(member_id: int) -> dict:
    from app.direct import queries
    from app.direct.models import ASSIGNMENT_STATES

    return {
        "states": ASSIGNMENT_STATES,
        "assignments": queries.member_assignments(member_id),
        "pairs": queries.member_pairs(member_id),
        "reviews": queries.member_reviews(member_id),
    }


@bp.app_template_global("direct_building_panel")
def direct_building_panel(building_id: int) -> dict:
    from flask_login import current_user

    from app.direct import queries
    from app.direct.models import NEED_KINDS

    return {**queries.building_panel(building_id, current_user), "kinds": NEED_KINDS}


@bp.app_template_global("five_good_of")
def five_good_of(year: int, member_ids: list[int]) -> dict:
    from app.direct import queries

    return queries.five_good_by_member(year, member_ids)
