"""Trips and liaisons as the 活动证 sees them: the issue form's liaison choices, the trip-length
rule for a card, and the trip written on the member when a card is issued or handed back
(the member record is the one place a trip lives; see app.members.management)."""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import ColumnElement, and_, case, extract, literal, or_
from sqlalchemy.types import Date

from app.members.management import Liaison, liaison_of
from app.members.models import Member
from app.members.rules import months_between
from app.params import parse_int
from app.settings import get_setting
from app.timeutil import local_today


def liaison_value(liaison: Liaison | None) -> str:
    """A liaison as a form value: ``u:<user id>`` or ``m:<member id>``."""
    return f"{'u' if liaison.kind == 'user' else 'm'}:{liaison.id}" if liaison else ""


def parse_liaison(value: str | None) -> tuple[int | None, int | None]:
    """``u:12`` → (12, None); ``m:34`` → (None, 34); anything else → (None, None)."""
    kind, _, raw = (value or "").partition(":")
    number = parse_int(raw)
    if kind == "u":
        return number, None
    if kind == "m":
        return None, number
    return None, None


def liaison_choices(member: Member, user: Any) -> list[tuple[str, str]]:
    """The issue form's liaison choices: the member's liaison and the staff in scope."""
    from app.assignment.liaisons import liaison_candidates

    current = liaison_of(member)
    choices = [("", "请选择联络人")]
    if current is not None:
        choices.append((liaison_value(current), current.label))
    for staff in liaison_candidates(member, user, "", limit=200)["staff"]:
        value = f"u:{staff.id}"
        if current is None or value != liaison_value(current):
            choices.append((value, f"{staff.display_name}（工作人员）"))
    return choices


def away_months(left_on: date, expected_return: date | None) -> int | None:
    """Whole months between leaving and the expected return (None when open-ended)."""
    if expected_return is None:
        return None
    months = (expected_return.year - left_on.year) * 12 + expected_return.month - left_on.month
    if expected_return.day < left_on.day:
        months -= 1
    return months


def trip_length_errors(data: dict[str, Any]) -> dict[str, str]:
    """A card needs a planned return at least the threshold after leaving, or a trip that has
    lasted that long by the issue date, or a trip ticked deliberately as open-ended."""
    threshold = int(get_setting("flow_out_coordinated_months"))
    left, back = data["left_on"], data.get("expected_return")
    on = data.get("issued_on") or local_today()
    lasted = months_between(left, on) if left <= on else 0
    if data.get("open_ended"):
        if back is not None:
            return {"expected_return": "已勾选“长期外出（返回时间不定）”，请不要填写预计返回时间"}
        return {}
    if back is None:
        if lasted >= threshold:
            return {}
        return {
            "expected_return": f"请填写预计返回时间（外出满 {threshold} 个月才需办理活动证）；"
            "返回时间确实不定时，请勾选“长期外出（返回时间不定）”"
        }
    if max(away_months(left, back) or 0, lasted) < threshold:
        return {
            "expected_return": f"外出不满 {threshold} 个月的党员无需办理活动证，请做好外出报告登记"
        }
    return {}


def _months_sql(start, end):  # noqa: ANN001, ANN202
    """``away_months`` / ``months_between`` in SQL: whole months from ``start`` to ``end``."""
    return (
        (extract("year", end) - extract("year", start)) * 12
        + extract("month", end)
        - extract("month", start)
        - case((extract("day", end) < extract("day", start), 1), else_=0)
    )


def card_trip_clause(threshold: int, today: date) -> ColumnElement[bool]:
    """``trip_length_errors`` for many members at once (issued today, the trip as recorded on
    the member): open-ended, or planned or lasted at least ``threshold`` months."""
    left, back = Member.mobility_since, Member.mobility_expected_return
    lasted = and_(left <= today, _months_sql(left, literal(today, Date)) >= threshold)
    return or_(
        Member.mobility_open_ended.is_(True),
        and_(
            left.is_not(None),
            or_(lasted, and_(back.is_not(None), _months_sql(left, back) >= threshold)),
        ),
    )


def record_trip(member: Member, data: dict[str, Any], user: Any) -> None:
    """Issuing a card records the trip on the member (the one place every feature reads:
    mobility, destination, dates, open-ended tick) and the chosen liaison as a link."""
    from app.assignment.liaisons import set_liaison
    from app.members.services import update_member

    open_ended = bool(data.get("open_ended"))
    update_member(
        member,
        {
            "mobility": "flow_out",
            "mobility_place": (data.get("destination") or "").strip(),
            "mobility_since": data["left_on"],
            "mobility_expected_return": None if open_ended else data.get("expected_return"),
            "mobility_open_ended": open_ended,
            "mobility_occupation": (data.get("occupation") or "").strip()
            or member.mobility_occupation,
        },
        user,
        None,
        reason="发放流动党员活动证，登记外出",
    )
    user_id, member_id = parse_liaison(data.get("liaison"))
    if (user_id or member_id) and (user_id, member_id) != (
        member.liaison_user_id,
        member.liaison_member_id,
    ):
        set_liaison(
            member,
            user,
            liaison_user_id=user_id,
            liaison_member_id=member_id,
            reason="发放活动证时指定联络人",
        )


def end_trip(member: Member, user: Any, reason: str) -> None:
    """The member is back: the trip on the record is closed (history keeps it)."""
    from app.members.services import update_member

    update_member(
        member,
        {
            "mobility": "none",
            "mobility_place": None,
            "mobility_since": None,
            "mobility_expected_return": None,
            "mobility_open_ended": False,
        },
        user,
        None,
        reason=reason,
    )
