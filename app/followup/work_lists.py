"""The follow-up work lists (thought reports overdue, contacts overdue, alerts): cutoffs, counts and keyset pages."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from typing import Any, NamedTuple

from sqlalchemy import (
    ColumnElement,
    Index,
    Select,
    and_,
    exists,
    false,
    func,
    literal_column,
    or_,
    select,
)
from sqlalchemy.orm import aliased

from app import timeutil
from app.extensions import db
from app.followup import rules
from app.followup.models import (
    OrgEventAttendance,
)
from app.followup.services import ACTIVE, LIST_KINDS
from app.members.models import Member
from app.members.queries import PINYIN_ORDER
from app.organization.models import Org, Place
from app.organization.scope import member_scope_filter, scope_cached
from app.paging import continue_after
from app.settings import get_setting
from app.timeutil import local_date, local_today

# ---- work lists --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Cutoffs:
    """The dates the list rules compare with, for one day and the current settings."""

    today: date
    thought: dict[str, int]  # category → months ("default" for the rest)
    contact_months: int
    absent_months: int
    dues_months: int

    @classmethod
    def current(cls, today: date | None = None) -> Cutoffs:
        setting = get_setting("thought_report_months") or {}
        return cls(
            today=today or local_today(),
            thought={str(k): int(v) for k, v in setting.items()},
            contact_months=int(get_setting("contact_log_months")),
            absent_months=int(get_setting("alert_absent_months")),
            # One setting for both alerts (the party's rule: six months of either).
            dues_months=int(get_setting("alert_absent_months")),
        )

    def thought_months(self, category: str) -> int:
        return rules.thought_report_months(category, self.thought)


def _utc_start(day: date) -> datetime:
    """The stored (naive UTC) instant the local ``day`` begins: a timestamp before it falls on
    an earlier local day (``created_at`` compared with a date cut-off)."""
    local = datetime.combine(day, time.min, timeutil.LOCAL_TZ)
    return local.astimezone(UTC).replace(tzinfo=None)


def _before(stamp, baseline_dt, cutoff: date) -> ColumnElement[bool]:  # noqa: ANN001
    """SQL for ``rules.is_overdue``: the stamp (or, without one, the baseline timestamp) is
    before the cut-off."""
    return or_(
        stamp < cutoff,
        and_(stamp.is_(None), baseline_dt < _utc_start(cutoff)),
    )


def thought_overdue_clause(c: Cutoffs) -> ColumnElement[bool]:
    special = {k: v for k, v in c.thought.items() if k != "default"}
    parts = [
        and_(
            Member.category == category,
            _before(
                Member.last_thought_report_on,
                Member.created_at,
                rules.overdue_cutoff(c.today, rules.thought_report_months(category, c.thought)),
            ),
        )
        for category in sorted(special)
    ]
    default_cutoff = rules.overdue_cutoff(c.today, rules.thought_report_months("", c.thought))
    rest = _before(Member.last_thought_report_on, Member.created_at, default_cutoff)
    parts.append(and_(Member.category.not_in(sorted(special)), rest) if special else rest)
    return and_(Member.status == ACTIVE, or_(*parts))


def contact_overdue_clause(c: Cutoffs) -> ColumnElement[bool]:
    cutoff = rules.overdue_cutoff(c.today, c.contact_months)
    return and_(
        Member.status == ACTIVE,
        Member.mobility != "none",
        or_(
            Member.last_contact_on < cutoff,
            and_(Member.last_contact_on.is_(None), Member.mobility_since < cutoff),
            and_(
                Member.last_contact_on.is_(None),
                Member.mobility_since.is_(None),
                Member.created_at < _utc_start(cutoff),
            ),
        ),
    )


def _absence(member, c: Cutoffs) -> list[ColumnElement[bool]]:  # noqa: ANN001
    """``rules.absent_too_long`` as conditions on an attendance row and its ``member``: an
    absence at or before the cut-off that came after the member's last presence
    (``last_org_life_on``). The status is written into the SQL (not bound) so that the partial
    index of absences can serve it."""
    cutoff = rules.overdue_cutoff(c.today, c.absent_months)
    return [
        OrgEventAttendance.member_id == member.id,
        OrgEventAttendance.status == literal_column("'absent'"),
        OrgEventAttendance.held_on <= cutoff,
        or_(
            member.last_org_life_on.is_(None), OrgEventAttendance.held_on > member.last_org_life_on
        ),
    ]


def absence_clause(c: Cutoffs, whole_scope: bool = False) -> ColumnElement[bool]:
    """The member was absent too long. Per member (a page of a list: a few index lookups), or,
    with ``whole_scope``, as one set (counting every member of a street: the absences up to the
    cut-off read once from ``ix_org_event_attendance_absent`` instead of one lookup for each of
    ~100,000 members)."""
    if not whole_scope:
        return exists(select(OrgEventAttendance.id).where(*_absence(Member, c)))
    absent = aliased(Member, name="absent_member")
    return Member.id.in_(
        select(OrgEventAttendance.member_id)
        .join(absent, absent.id == OrgEventAttendance.member_id)
        .where(*_absence(absent, c))
    )


def dues_clause(c: Cutoffs) -> ColumnElement[bool]:
    return Member.dues_paid_until < rules.dues_cutoff(c.today, c.dues_months)


def alert_clause(c: Cutoffs, whole_scope: bool = False) -> ColumnElement[bool]:
    return and_(
        Member.status == ACTIVE, or_(dues_clause(c), absence_clause(c, whole_scope=whole_scope))
    )


# The three lists' counts (``count_lists``) over a whole street read these columns only: the
# scan stays in this index instead of the wide member rows (migration 0030). The absences up
# to a cut-off are one range of the second, partial index (``absence_clause``; migration 0034).
Index(
    "ix_member_followup_counts",
    Member.status,
    Member.category,
    Member.mobility,
    Member.last_thought_report_on,
    Member.last_contact_on,
    Member.mobility_since,
    Member.created_at,
    Member.last_org_life_on,
    Member.dues_paid_until,
    Member.id,
)
Index(
    "ix_org_event_attendance_absent",
    OrgEventAttendance.held_on,
    OrgEventAttendance.member_id,
    sqlite_where=OrgEventAttendance.status == literal_column("'absent'"),
    postgresql_where=OrgEventAttendance.status == literal_column("'absent'"),
)


def list_clause(kind: str, c: Cutoffs, whole_scope: bool = False) -> ColumnElement[bool]:
    """A work list's condition; ``whole_scope`` when every member of the scope is tested (the
    counts), not a page."""
    if kind == "thought":
        return thought_overdue_clause(c)
    if kind == "contact":
        return contact_overdue_clause(c)
    if kind == "alert":
        return alert_clause(c, whole_scope=whole_scope)
    return false()


def list_where(kind: str, user, filters: dict[str, Any], c: Cutoffs) -> list:  # noqa: ANN001
    where = [member_scope_filter(user), list_clause(kind, c)]
    for key, column in (("grid", Member.grid_id), ("branch", Member.branch_id)):
        if filters.get(key):
            where.append(column == filters[key])
    return where


def list_counts(user, c: Cutoffs | None = None) -> dict[str, int]:  # noqa: ANN001
    """How many members each list holds, inside the user's scope (one query; a whole street
    takes a few hundred ms, so the figures are kept until the data or the day change)."""
    c = c or Cutoffs.current()
    key = (c.today, tuple(sorted(c.thought.items())), c.contact_months, c.absent_months)
    return scope_cached(user, "followup_list_counts", key, lambda: count_lists(user, c))


def count_lists(user, c: Cutoffs) -> dict[str, int]:  # noqa: ANN001
    """``list_counts`` computed (no cache)."""
    scope = member_scope_filter(user)
    columns = [
        func.count().filter(list_clause(kind, c, whole_scope=True)).label(kind)
        for kind in LIST_KINDS
    ]
    row = db.session.execute(select(*columns).where(scope, Member.status == ACTIVE)).one()
    return {kind: int(getattr(row, kind)) for kind in LIST_KINDS}


GRID = aliased(Place, name="grid")
BRANCH = aliased(Org, name="branch")


def with_grid_and_branch(stmt: Select) -> Select:
    """``stmt`` (rows of members) with their grid's and branch's names, ``grid_name`` and
    ``branch_name``: the place columns every follow-up list shows."""
    return (
        stmt.add_columns(GRID.name.label("grid_name"), BRANCH.name.label("branch_name"))
        .outerjoin(GRID, GRID.id == Member.grid_id)
        .outerjoin(BRANCH, BRANCH.id == Member.branch_id)
    )


class WorkRow(NamedTuple):
    id: int
    name: str
    category: str
    mobility: str
    phone: str | None
    grid_name: str | None
    branch_name: str | None
    last_on: date | None
    due_on: date | None
    days_overdue: int
    reasons: tuple[str, ...]
    mobility_place: str | None


def list_page(
    kind: str,
    user,  # noqa: ANN001
    filters: dict[str, Any],
    after: int | None,
    limit: int,
    c: Cutoffs | None = None,
) -> tuple[list[WorkRow], bool]:
    """One page of a work list in pinyin order (keyset on name_pinyin, id), with what makes
    each member due: the last date, the due date and, on the alert list, the reasons."""
    c = c or Cutoffs.current()
    where = list_where(kind, user, filters, c)
    # The cursor is looked up inside the scope (where[0]): one from outside reveals nothing.
    where += continue_after(select(Member.id).where(where[0]), PINYIN_ORDER, after)
    # A scope made of alternatives (a community OR a joint branch …) is read per alternative
    # in its index order, as the member list does: a few hundred index entries, not the scope.
    from app.members.queries import merged_page

    rows = db.session.execute(
        with_grid_and_branch(
            select(
                Member.id,
                Member.name,
                Member.category,
                Member.mobility,
                Member.mobility_place,
                Member.mobility_since,
                Member.phone,
                Member.created_at,
                Member.last_thought_report_on,
                Member.last_contact_on,
                Member.last_org_life_on,
                Member.dues_paid_until,
            )
        )
        .where(*merged_page(where, limit + 1))
        .order_by(*PINYIN_ORDER)
        .limit(limit + 1)
    ).all()
    more = len(rows) > limit
    rows = rows[:limit]
    runs = _absence_runs([r.id for r in rows]) if kind == "alert" else {}
    out = []
    for r in rows:
        baseline = local_date(r.created_at)
        reasons: tuple[str, ...] = ()
        if kind == "thought":
            months = c.thought_months(r.category)
            last_on, due_on = r.last_thought_report_on, None
            due_on = rules.due_date(last_on, baseline, months)
        elif kind == "contact":
            last_on = r.last_contact_on
            due_on = rules.due_date(last_on, r.mobility_since or baseline, c.contact_months)
        else:
            last_on, due_on = r.last_org_life_on, None
            reasons = alert_reasons(r.dues_paid_until, runs.get(r.id), c)
        days = max(0, (c.today - due_on).days) if due_on else 0
        out.append(
            WorkRow(
                r.id,
                r.name,
                r.category,
                r.mobility,
                r.phone,
                r.grid_name,
                r.branch_name,
                last_on,
                due_on,
                days,
                reasons,
                r.mobility_place,
            )
        )
    return out, more


def _absence_runs(member_ids: list[int]) -> dict[int, date]:
    """For a page of members: the start of their current run of absences (one query)."""
    if not member_ids:
        return {}
    rows = db.session.execute(
        select(OrgEventAttendance.member_id, func.min(OrgEventAttendance.held_on))
        .join(Member, Member.id == OrgEventAttendance.member_id)
        .where(
            OrgEventAttendance.member_id.in_(member_ids),
            OrgEventAttendance.status == "absent",
            or_(
                Member.last_org_life_on.is_(None),
                OrgEventAttendance.held_on > Member.last_org_life_on,
            ),
        )
        .group_by(OrgEventAttendance.member_id)
    ).all()
    return {member_id: start for member_id, start in rows}


def alert_reasons(paid_until: date | None, run_start: date | None, c: Cutoffs) -> tuple[str, ...]:
    """Why a member is on the alert list, in words."""
    reasons = []
    if rules.absent_too_long(run_start, c.today, c.absent_months):
        assert run_start is not None
        reasons.append(
            f"自 {run_start:%Y年%m月%d日} 起连续未参加组织生活（已满 {c.absent_months} 个月）"
        )
    if rules.dues_unpaid_too_long(paid_until, c.today, c.dues_months):
        assert paid_until is not None
        months = rules.unpaid_months(paid_until, c.today)
        reasons.append(f"党费交至 {paid_until:%Y年%m月}，已 {months} 个月未交纳")
    return tuple(reasons)
