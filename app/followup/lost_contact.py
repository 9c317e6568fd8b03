"""失联党员 (SPEC §9, seed 000): the rules — who is proposed as lost-contact, how long a case
has been hidden (the seed's "> 1 year" and "> 2 years" counts), the stage moves and the
suspension dates — and the services that open, work on and close cases.

The portal only proposes and flags; people decide (the national rule suspends the membership
of a lost-contact member, restorable within 2 years).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import and_, case, exists, func, or_, select

from app.audit import record
from app.errors import Conflict, DomainError
from app.extensions import db
from app.followup.dues import behind_cutoff
from app.followup.models import (
    LOST_CONTACT_KINDS,
    LOST_CONTACT_METHODS,
    LOST_CONTACT_OUTCOMES,
    LOST_CONTACT_REASONS,
    LostContactAttempt,
    LostContactCase,
)
from app.members.management import away_clause, dues_here_clause
from app.members.models import Member
from app.timeutil import add_months, month_start
from app.uow import flush_or_conflict

STALE_CASE = "该失联登记已被他人修改，请刷新页面后重新操作"

# Stages of a case in order (摸底 → 核实 → 验收).
STAGE_ORDER = ("survey", "verify", "closed")
OPEN_STAGES = ("survey", "verify")
# Outcomes that close a case and the member status each one leads to (None: the status the
# member had before the case). A closed case never leaves the member 失联: every 失联 member
# has an open case (app.members.management.HEADLINES).
OUTCOME_STATUS = {
    "restored": "active",
    "membership_restored": "active",
    "removed": "withdrawn",
    "transferred": "transferred_out",
    "deceased": "deceased",
    "other": None,
}
# 停止党籍 does not close a case: it is recorded on the open case (``move_stage``), which stays
# open until the membership is restored or the member removed (within 2 years).
NOT_CLOSING = {"suspended": "停止党籍不结案：请在“阶段”中填写停止党籍日期；恢复党籍或除名时再验收"}
# Months out of contact after which suspending the membership may be considered.
SUSPEND_AFTER_MONTHS = 6
RESTORE_YEARS = 2


def add_years(d: date, years: int) -> date:
    """The same day ``years`` later (29 February → 28 February in a common year)."""
    try:
        return d.replace(year=d.year + years)
    except ValueError:
        return d.replace(year=d.year + years, day=28)


def hidden_over(since: date, today: date, years: int) -> bool:
    """Hidden for more than ``years`` whole years (exactly one year is not "more than")."""
    return since < add_years(today, -years)


def hidden_cutoffs(today: date) -> tuple[date, date]:
    """``since`` before the first date → hidden > 1 year; before the second → > 2 years."""
    return add_years(today, -1), add_years(today, -2)


def proposal_cutoff(today: date, months: int) -> tuple[date, date]:
    """(last org life before, dues paid up to a month before): a member with neither org life
    since the first date nor dues paid from the second month on is proposed as lost-contact."""
    return _months_ago(today, months), behind_cutoff(today, months)


def _months_ago(today: date, months: int) -> date:
    """The same day ``months`` earlier (clamped to the month's end)."""
    first = add_months(month_start(today), -months)
    day = today.day
    while True:
        try:
            return first.replace(day=day)
        except ValueError:
            day -= 1


def is_candidate(
    last_org_life_on: date | None, dues_paid_until: date | None, today: date, months: int = 6
) -> bool:
    """No org life and no dues for ``months`` months (nothing recorded counts as none)."""
    org_before, dues_before = proposal_cutoff(today, months)
    no_org_life = last_org_life_on is None or last_org_life_on < org_before
    no_dues = dues_paid_until is None or dues_paid_until < dues_before
    return no_org_life and no_dues


def can_move(stage: str, to: str) -> bool:
    """Open cases move between 摸底 and 核实 (back to survey when verification fails); closing
    (验收) goes through ``close`` with an outcome."""
    return stage in OPEN_STAGES and to in OPEN_STAGES and to != stage


@dataclass(frozen=True)
class Flag:
    level: str  # "info", "warn" or "alert"
    text: str


def restore_deadline(suspended_on: date) -> date:
    return add_years(suspended_on, RESTORE_YEARS)


def flags(
    *,
    since: date,
    stage: str,
    outcome: str | None,
    suspended_on: date | None,
    today: date,
) -> list[Flag]:
    """What the case page and the list show next to a case (dates, not decisions)."""
    out: list[Flag] = []
    if suspended_on is not None and outcome not in {"membership_restored", "removed", "deceased"}:
        deadline = restore_deadline(suspended_on)
        if today <= deadline:
            out.append(Flag("warn", f"已停止党籍，恢复期限至 {deadline.isoformat()}"))
        else:
            out.append(
                Flag(
                    "alert",
                    f"停止党籍已满 {RESTORE_YEARS} 年（{deadline.isoformat()} 到期），"
                    "可研究按自行脱党除名",
                )
            )
        return out
    if stage in OPEN_STAGES:
        if hidden_over(since, today, 2):
            out.append(Flag("alert", "失联超过 2 年"))
        elif hidden_over(since, today, 1):
            out.append(Flag("warn", "失联超过 1 年"))
        if since <= _months_ago(today, SUSPEND_AFTER_MONTHS):
            out.append(Flag("info", f"失联已满 {SUSPEND_AFTER_MONTHS} 个月，可研究是否停止党籍"))
    return out


def share(part: int, total: int) -> str:
    """Percentage as the seed reports it ("61%"), "—" without a total."""
    if not total:
        return "—"
    return f"{(part * 100 * 2 + total) // (2 * total)}%"


# ---- services ---------------------------------------------------------------------------------


# Members that may be proposed: in the community's care, not already followed by an open case.
PROPOSE_STATUSES = ("active", "flowed_out")


def open_case_exists():  # noqa: ANN201
    return exists().where(LostContactCase.member_id == Member.id, LostContactCase.stage != "closed")


def proposal_filter(today: date, months: int):  # noqa: ANN201
    """Members with no org life and no dues for ``months`` months and no open case — counted
    only where both are due here (management picture): not members whose dues and org life are
    at their work unit or home organization, nor members away on a trip (they take part at the
    destination)."""
    org_before, dues_before = proposal_cutoff(today, months)
    return and_(
        Member.status.in_(PROPOSE_STATUSES),
        dues_here_clause(),
        ~away_clause(today),
        or_(Member.last_org_life_on.is_(None), Member.last_org_life_on < org_before),
        or_(Member.dues_paid_until.is_(None), Member.dues_paid_until < dues_before),
        ~open_case_exists(),
    )


def open_case_of(member: Member) -> LostContactCase | None:
    return db.session.execute(
        select(LostContactCase).where(
            LostContactCase.member_id == member.id, LostContactCase.stage != "closed"
        )
    ).scalar_one_or_none()


def _set_status(member: Member, status: str, user: Any, effective: date, reason: str) -> None:
    """Change the member's status through the member service (history and audit)."""
    from app.members.services import update_member

    if member.status == status:
        return
    try:
        update_member(
            member,
            {"status": status},
            user,
            None,
            reason=reason,
            effective=effective,
            via_lost_contact_case=True,
        )
    except Conflict:
        raise
    except DomainError as error:  # the member record refused the change: say so above the form
        raise DomainError("无法更新党员状态：" + error.message) from None


def status_before_case(member: Member) -> str:
    """The status the member had before becoming 失联 (from the history), else 正常."""
    from app.members.models import MemberHistory

    for value in db.session.execute(
        select(MemberHistory.value)
        .where(MemberHistory.member_id == member.id, MemberHistory.aspect == "status")
        .order_by(MemberHistory.effective_from.desc(), MemberHistory.id.desc())
    ).scalars():
        status = (value or {}).get("status")
        if status in PROPOSE_STATUSES:
            return status
    return "active"


def _check_text(errors: dict[str, str], key: str, value: str | None, limit: int, required: bool):
    value = (value or "").strip()
    if required and not value:
        errors[key] = "请填写此项"
    elif len(value) > limit:
        errors[key] = f"请控制在 {limit} 字以内"
    return value or None


def _check_day(errors: dict[str, str], key: str, value: date | None, label: str, today: date):
    """A required date no later than today (its message under ``key``); True when it is."""
    if value is None:
        errors[key] = f"请填写{label}"
    elif value > today:
        errors[key] = f"{label}不能晚于今天"
    else:
        return True
    return False


def open_case(
    member: Member,
    user: Any,
    *,
    kind: str,
    reason: str,
    reason_note: str | None,
    since: date | None,
    today: date,
) -> LostContactCase:
    """Open a case (摸底); the member's status becomes 失联 (with history)."""
    errors: dict[str, str] = {}
    if kind not in LOST_CONTACT_KINDS:
        errors["kind"] = "请选择失联类型"
    if reason not in LOST_CONTACT_REASONS:
        errors["reason"] = "请选择失联原因"
    note = _check_text(errors, "reason_note", reason_note, 200, reason == "other")
    _check_day(errors, "since", since, "失联起始日期", today)
    if member.status not in PROPOSE_STATUSES and member.status != "lost_contact":
        errors["kind"] = "该党员当前状态不能登记为失联"
    if open_case_of(member) is not None:
        errors["kind"] = "该党员已有未结案的失联登记"
    if errors:
        raise DomainError(errors)
    case_ = LostContactCase(
        member_id=member.id,
        kind=kind,
        reason=reason,
        reason_note=note,
        since=since,
        stage="survey",
        opened_on=today,
        opened_by_id=getattr(user, "id", None),
    )
    db.session.add(case_)
    db.session.flush()
    _set_status(
        member, "lost_contact", user, today, f"登记为失联党员（{LOST_CONTACT_KINDS[kind]}）"
    )
    record(
        "lost_contact_open",
        case_,
        user=user,
        after={"member_id": member.id, "kind": kind, "reason": reason, "since": since},
    )
    db.session.flush()
    return case_


def add_attempt(
    case_: LostContactCase,
    user: Any,
    *,
    method: str,
    attempted_on: date | None,
    summary: str | None,
    today: date,
) -> LostContactAttempt:
    errors: dict[str, str] = {}
    if case_.stage == "closed":
        errors["method"] = "该失联登记已结案"
    if method not in LOST_CONTACT_METHODS:
        errors["method"] = "请选择查找方式"
    if _check_day(errors, "attempted_on", attempted_on, "查找日期", today) and (
        attempted_on < case_.opened_on.replace(year=case_.opened_on.year - 5)
    ):
        errors["attempted_on"] = "查找日期过早，请核对"
    text = _check_text(errors, "summary", summary, 2000, True)
    if errors:
        raise DomainError(errors)
    attempt = LostContactAttempt(
        case_id=case_.id,
        attempted_on=attempted_on,
        method=method,
        summary=text,
        recorded_by_id=getattr(user, "id", None),
    )
    db.session.add(attempt)
    db.session.flush()
    record(
        "lost_contact_attempt",
        case_,
        user=user,
        after={"attempt_id": attempt.id, "method": method, "attempted_on": attempted_on},
    )
    return attempt


def move_stage(
    case_: LostContactCase,
    user: Any,
    *,
    to: str,
    suspended_on: date | None,
    expected_version: int | None,
    today: date,
) -> bool:
    """Move an open case between 摸底 and 核实, and/or record the date the membership was
    suspended (停止党籍). Returns whether anything changed."""
    if expected_version is not None and expected_version != case_.version:
        raise Conflict(STALE_CASE)
    errors: dict[str, str] = {}
    if case_.stage == "closed":
        errors["stage"] = "该失联登记已结案"
    elif to != case_.stage and not can_move(case_.stage, to):
        errors["stage"] = "请选择有效的阶段"
    if suspended_on is not None and suspended_on > today:
        errors["suspended_on"] = "停止党籍日期不能晚于今天"
    elif suspended_on is not None and suspended_on < case_.since:
        errors["suspended_on"] = "停止党籍日期不能早于失联起始日期"
    if errors:
        raise DomainError(errors)
    before = {"stage": case_.stage, "suspended_on": case_.suspended_on}
    after = {"stage": to, "suspended_on": suspended_on}
    if before == after:
        return False
    case_.stage, case_.suspended_on = to, suspended_on
    record("lost_contact_stage", case_, user=user, before=before, after=after)
    flush_or_conflict(lambda: Conflict(STALE_CASE))
    return True


def close_case(
    case_: LostContactCase,
    user: Any,
    *,
    outcome: str,
    note: str | None,
    closed_on: date | None,
    expected_version: int | None,
    today: date,
) -> None:
    """验收: close with an outcome; the member's status follows the outcome (with history)."""
    if expected_version is not None and expected_version != case_.version:
        raise Conflict(STALE_CASE)
    errors: dict[str, str] = {}
    if case_.stage == "closed":
        errors["outcome"] = "该失联登记已结案"
    if outcome in NOT_CLOSING:
        errors["outcome"] = NOT_CLOSING[outcome]
    elif outcome not in LOST_CONTACT_OUTCOMES:
        errors["outcome"] = "请选择结果"
    text = _check_text(errors, "outcome_note", note, 2000, outcome == "other")
    if _check_day(errors, "closed_on", closed_on, "验收日期", today) and (
        closed_on < case_.opened_on
    ):
        errors["closed_on"] = "验收日期不能早于登记日期"
    if errors:
        raise DomainError(errors)
    before = {"stage": case_.stage, "outcome": None}
    case_.stage, case_.outcome, case_.outcome_note = "closed", outcome, text
    case_.closed_on, case_.closed_by_id = closed_on, getattr(user, "id", None)
    if outcome == "suspended" and case_.suspended_on is None:
        case_.suspended_on = closed_on
    flush_or_conflict(lambda: Conflict(STALE_CASE))
    member = db.session.get(Member, case_.member_id)
    status = OUTCOME_STATUS.get(outcome) or (member and status_before_case(member))
    if status and member is not None:
        label = LOST_CONTACT_OUTCOMES[outcome]
        _set_status(member, status, user, closed_on, f"失联登记验收：{label}")
    record(
        "lost_contact_close",
        case_,
        user=user,
        before=before,
        after={"stage": "closed", "outcome": outcome, "closed_on": closed_on},
        detail=text,
    )
    db.session.flush()


def counts_by_kind(scope_where, today: date) -> dict[str, dict[str, Any]]:  # noqa: ANN001
    """Open cases per kind with the seed's "hidden > 1 year / > 2 years" counts and shares,
    from one GROUP BY query; plus a ``total`` row."""
    over1, over2 = hidden_cutoffs(today)
    rows = db.session.execute(
        select(
            LostContactCase.kind,
            func.count(),
            func.sum(case((LostContactCase.since < over1, 1), else_=0)),
            func.sum(case((LostContactCase.since < over2, 1), else_=0)),
        )
        .join(Member, Member.id == LostContactCase.member_id)
        .where(LostContactCase.stage != "closed", scope_where)
        .group_by(LostContactCase.kind)
    ).all()
    found = {kind: (n, int(a or 0), int(b or 0)) for kind, n, a, b in rows}
    out: dict[str, dict[str, Any]] = {}
    totals = [0, 0, 0]
    for kind, label in LOST_CONTACT_KINDS.items():
        n, a, b = found.get(kind, (0, 0, 0))
        totals = [totals[0] + n, totals[1] + a, totals[2] + b]
        out[kind] = {
            "label": label,
            "open": n,
            "over1": a,
            "over2": b,
            "share1": share(a, n),
            "share2": share(b, n),
        }
    n, a, b = totals
    out["total"] = {
        "label": "合计",
        "open": n,
        "over1": a,
        "over2": b,
        "share1": share(a, n),
        "share2": share(b, n),
    }
    return out
