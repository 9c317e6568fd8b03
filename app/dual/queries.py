"""What the 双管 pages and documents read: scopes, periods, a member's figures for a period.

Hours count only from confirmed service records (``Service.status == "confirmed"``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from sqlalchemy import ColumnElement, and_, false, func, or_, select, true

from app.dual.models import Claim, FeedbackSheet, Need, Service, SignIn
from app.extensions import db
from app.followup.models import OrgEventAttendance
from app.members.models import Member
from app.organization.models import Place
from app.organization.scope import member_scope_filter, scope_of
from app.settings import get_setting
from app.timeutil import local_date, local_today

ACTIVE = ("active", "flowed_out")


# ---- scope -----------------------------------------------------------------------------------


def community_ids_of(user) -> set[int] | None:  # noqa: ANN001
    """The communities whose needs a staff user works with (None: every community)."""
    scope = scope_of(user)
    if scope.everything:
        return None
    ids = set(scope.community_ids)
    if scope.grid_ids:
        ids |= set(
            db.session.execute(
                select(Place.parent_id).where(Place.id.in_(sorted(scope.grid_ids)))
            ).scalars()
        )
    return {i for i in ids if i}


def need_scope_filter(user) -> ColumnElement[bool]:  # noqa: ANN001
    ids = community_ids_of(user)
    if ids is None:
        return true()
    return Need.community_id.in_(sorted(ids)) if ids else false()


def dual_members_filter(user) -> list[ColumnElement[bool]]:  # noqa: ANN001
    """双管 members under management in the user's scope (the category comes from the
    management picture's classification, stored on the record)."""
    return [Member.category == "dual", Member.status.in_(ACTIVE), member_scope_filter(user)]


# ---- periods ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Period:
    key: str
    start: date
    end: date

    @property
    def label(self) -> str:
        if self.key.endswith("H1"):
            return f"{self.key[:4]}年上半年"
        if self.key.endswith("H2"):
            return f"{self.key[:4]}年下半年"
        return f"{self.key}年度"


def period_of(day: date, yearly: bool | None = None) -> Period:
    if yearly is None:
        yearly = bool(get_setting("dual_feedback_yearly"))
    if yearly:
        return Period(str(day.year), date(day.year, 1, 1), date(day.year, 12, 31))
    if day.month <= 6:
        return Period(f"{day.year}H1", date(day.year, 1, 1), date(day.year, 6, 30))
    return Period(f"{day.year}H2", date(day.year, 7, 1), date(day.year, 12, 31))


def parse_period(key: str | None) -> Period | None:
    """A period from its key (2026, 2026H1, 2026H2); None for anything else."""
    key = (key or "").strip().upper()
    if len(key) == 4 and key.isdigit():
        return period_of(date(int(key), 1, 1), yearly=True)
    if len(key) == 6 and key[:4].isdigit() and key[4:] in ("H1", "H2"):
        return period_of(date(int(key[:4]), 1 if key[4:] == "H1" else 7, 1), yearly=False)
    return None


def current_period() -> Period:
    return period_of(local_today())


def previous_period(period: Period | None = None) -> Period:
    period = period or current_period()
    from datetime import timedelta

    return period_of(period.start - timedelta(days=1), yearly=len(period.key) == 4)


def recent_periods(count: int = 4) -> list[Period]:
    periods = [current_period()]
    while len(periods) < count:
        periods.append(previous_period(periods[-1]))
    return periods


# ---- figures per member ----------------------------------------------------------------------


@dataclass
class Figures:
    """A member's 双管 record for a period: posts, confirmed hours, activities, 报到 date."""

    posts: list[str] = field(default_factory=list)
    minutes: int = 0
    services: list[Service] = field(default_factory=list)
    activities: int = 0
    reported_on: date | None = None

    @property
    def hours(self) -> float:
        return round(self.minutes / 60, 1)


def figures_for(members: list[Member], period: Period) -> dict[int, Figures]:
    """Figures of many members in four queries (claims, confirmed services, sign-ins and org
    life attended)."""
    ids = [m.id for m in members]
    out = {m.id: Figures(reported_on=local_date(m.created_at)) for m in members}
    if not ids:
        return out
    for member_id, title in db.session.execute(
        select(Claim.member_id, Need.title)
        .join(Need, Need.id == Claim.need_id)
        .where(Claim.member_id.in_(ids), Claim.status == "claimed")
        .order_by(Claim.id)
    ):
        out[member_id].posts.append(title)
    for service in db.session.execute(
        select(Service)
        .where(
            Service.member_id.in_(ids),
            Service.status == "confirmed",
            Service.served_on.between(period.start, period.end),
        )
        .order_by(Service.served_on, Service.id)
    ).scalars():
        figures = out[service.member_id]
        figures.minutes += service.minutes
        figures.services.append(service)
    for member_id, n in db.session.execute(
        select(SignIn.member_id, func.count())
        .where(SignIn.member_id.in_(ids), *utc_between(SignIn.signed_in_at, period))
        .group_by(SignIn.member_id)
    ):
        out[member_id].activities += n
    for member_id, n in db.session.execute(
        select(OrgEventAttendance.member_id, func.count())
        .where(
            OrgEventAttendance.member_id.in_(ids),
            OrgEventAttendance.status == "present",
            OrgEventAttendance.held_on.between(period.start, period.end),
        )
        .group_by(OrgEventAttendance.member_id)
    ):
        out[member_id].activities += n
    return out


def utc_between(column, period: Period) -> list[ColumnElement[bool]]:  # noqa: ANN001
    """``column`` (naive UTC) falls on a local day of ``period``."""
    from datetime import UTC, datetime, time, timedelta

    from app.timeutil import LOCAL_TZ

    def utc(day: date) -> datetime:
        local = datetime.combine(day, time.min, tzinfo=LOCAL_TZ)
        return local.astimezone(UTC).replace(tzinfo=None)

    return [column >= utc(period.start), column < utc(period.end + timedelta(days=1))]


def confirmed_minutes(member_id: int, period: Period) -> int:
    return int(
        db.session.execute(
            select(func.coalesce(func.sum(Service.minutes), 0)).where(
                Service.member_id == member_id,
                Service.status == "confirmed",
                Service.served_on.between(period.start, period.end),
            )
        ).scalar_one()
    )


# ---- reminders -------------------------------------------------------------------------------


def sheets_to_send(user) -> int:  # noqa: ANN001
    """双管 members in scope whose sheet for the last finished period is not sent yet."""
    period = previous_period()
    sent = select(FeedbackSheet.member_id).where(
        FeedbackSheet.period_key == period.key, FeedbackSheet.status != "pending"
    )
    return db.session.execute(
        select(func.count())
        .select_from(Member)
        .where(*dual_members_filter(user), Member.id.not_in(sent))
    ).scalar_one()


def sheets_not_returned(user) -> int:  # noqa: ANN001
    from datetime import timedelta

    limit = local_today() - timedelta(days=int(get_setting("dual_feedback_return_days")))
    return db.session.execute(
        select(func.count())
        .select_from(FeedbackSheet)
        .join(Member, Member.id == FeedbackSheet.member_id)
        .where(
            FeedbackSheet.status == "sent",
            FeedbackSheet.sent_on <= limit,
            member_scope_filter(user),
        )
    ).scalar_one()


def needs_with_free_places(user) -> int:  # noqa: ANN001
    return db.session.execute(
        select(func.count())
        .select_from(Need)
        .where(
            Need.status == "open",
            Need.claimed < Need.places,
            need_scope_filter(user),
            or_(Need.ends_on.is_(None), Need.ends_on >= local_today()),
        )
    ).scalar_one()


def open_need_clause() -> ColumnElement[bool]:
    return and_(Need.status == "open", or_(Need.ends_on.is_(None), Need.ends_on >= local_today()))
