"""Changes to the 双管 records. Services flush, audit and raise DomainError; never commit."""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import select, update

from app.audit import record
from app.dual import signin
from app.dual.models import (
    RATINGS,
    SEND_METHODS,
    Claim,
    FeedbackSheet,
    Need,
    OpinionRequest,
    Service,
    SignIn,
)
from app.dual.queries import Period
from app.errors import Conflict, DomainError
from app.extensions import db
from app.members.models import Member
from app.timeutil import local_date, local_today, utcnow

MAX_MINUTES = 24 * 60


# ---- needs and claims ------------------------------------------------------------------------


def publish_need(data: dict[str, Any], community_id: int, user: Any) -> Need:
    if data.get("starts_on") and data.get("ends_on") and data["ends_on"] < data["starts_on"]:
        raise DomainError("结束日期不能早于开始日期", field="ends_on")
    need = Need(community_id=community_id, created_by_id=getattr(user, "id", None), **data)
    db.session.add(need)
    db.session.flush()
    record("dual_need_create", need, after={"title": need.title, "places": need.places})
    return need


def close_need(need: Need) -> None:
    need.status = "closed"
    db.session.flush()
    record("dual_need_close", need)


def claim(need: Need, member: Member) -> Claim:
    """Claim a place: the guarded UPDATE takes one of the need's places or fails, so two
    members claiming the last place at once never both get it."""
    existing = db.session.execute(
        select(Claim).where(Claim.need_id == need.id, Claim.member_id == member.id)
    ).scalar_one_or_none()
    if existing is not None and existing.status == "claimed":
        raise DomainError("您已认领这项服务")
    if need.status != "open" or (need.ends_on and need.ends_on < local_today()):
        raise DomainError("这项服务已结束认领")
    taken = db.session.execute(
        update(Need)
        .where(Need.id == need.id, Need.status == "open", Need.claimed < Need.places)
        .values(claimed=Need.claimed + 1)
        .execution_options(synchronize_session=False)
    ).rowcount
    if not taken:
        raise Conflict("名额已满，无法认领")
    if existing is None:
        existing = Claim(need_id=need.id, member_id=member.id)
        db.session.add(existing)
    else:
        existing.status, existing.withdrawn_at, existing.claimed_at = "claimed", None, utcnow()
    db.session.flush()
    db.session.refresh(need)
    record("dual_claim", existing, after={"need": need.id, "member": member.id})
    return existing


def withdraw(need: Need, member: Member) -> None:
    existing = db.session.execute(
        select(Claim).where(
            Claim.need_id == need.id, Claim.member_id == member.id, Claim.status == "claimed"
        )
    ).scalar_one_or_none()
    if existing is None:
        raise DomainError("您没有认领这项服务")
    existing.status, existing.withdrawn_at = "withdrawn", utcnow()
    db.session.execute(
        update(Need)
        .where(Need.id == need.id, Need.claimed > 0)
        .values(claimed=Need.claimed - 1)
        .execution_options(synchronize_session=False)
    )
    db.session.flush()
    db.session.refresh(need)
    record("dual_claim_withdraw", existing)


# ---- sign-in by QR ---------------------------------------------------------------------------


def sign_in(code: str, member: Member) -> SignIn:
    """Sign ``member`` in to the activity of a fresh ``code``; one sign-in per member and
    activity (a replayed code answers with the existing sign-in, never a second row)."""
    need = _need_of_code(code, member)
    existing = _signin_of(need.id, member.id)
    if existing is not None:
        raise DomainError("您已签到过这项活动", field="t")
    row = SignIn(need_id=need.id, member_id=member.id, signed_in_at=utcnow())
    db.session.add(row)
    db.session.flush()
    record("dual_sign_in", row, after={"need": need.id, "member": member.id})
    return row


def sign_out(code: str, member: Member) -> Service:
    """Sign out (with a fresh code again): the time in between becomes a service record
    waiting for staff to confirm."""
    need = _need_of_code(code, member)
    row = _signin_of(need.id, member.id)
    if row is None:
        raise DomainError("您还没有签到", field="t")
    if row.signed_out_at is not None:
        raise DomainError("您已签退过这项活动", field="t")
    now = utcnow()
    minutes = max(int((now - row.signed_in_at).total_seconds() // 60), 1)
    service = Service(
        member_id=member.id,
        need_id=need.id,
        served_on=local_date(row.signed_in_at),
        minutes=min(minutes, MAX_MINUTES),
        content=need.title,
        source="signin",
        status="pending",
    )
    db.session.add(service)
    db.session.flush()
    row.signed_out_at, row.service_id = now, service.id
    db.session.flush()
    record("dual_sign_out", row, after={"minutes": service.minutes})
    return service


def _need_of_code(code: str, member: Member) -> Need:
    need_id = signin.need_of(code)
    need = db.session.get(Need, need_id)
    if need is None or need.community_id != member.community_id:
        raise DomainError("这个签到码不属于您所在社区的活动", field="t")
    if need.status != "open":
        raise DomainError("这项活动已结束", field="t")
    return need


def _signin_of(need_id: int, member_id: int) -> SignIn | None:
    return db.session.execute(
        select(SignIn).where(SignIn.need_id == need_id, SignIn.member_id == member_id)
    ).scalar_one_or_none()


# ---- service records -------------------------------------------------------------------------


def record_service(member: Member, data: dict[str, Any], user: Any, *, by_staff: bool) -> Service:
    """A service record: confirmed at once when staff record it, pending when the member
    reports it."""
    served_on: date = data["served_on"]
    if served_on > local_today():
        raise DomainError("服务日期不能晚于今天", field="served_on")
    minutes = round(float(data["hours"]) * 60)
    if not 0 < minutes <= MAX_MINUTES:
        raise DomainError("服务时长应在 0.1 到 24 小时之间", field="hours")
    service = Service(
        member_id=member.id,
        need_id=data.get("need_id"),
        served_on=served_on,
        minutes=minutes,
        content=data["content"],
        source="staff" if by_staff else "member",
        status="confirmed" if by_staff else "pending",
        created_by_id=getattr(user, "id", None),
    )
    if by_staff:
        service.confirmed_by_id, service.confirmed_at = getattr(user, "id", None), utcnow()
    db.session.add(service)
    db.session.flush()
    record("dual_service_create", service, after={"minutes": minutes, "status": service.status})
    return service


def decide_service(service: Service, confirm: bool, user: Any, hours: Any = None) -> None:
    if service.status != "pending":
        raise Conflict("这条服务记录已处理过")
    before = {"status": service.status, "minutes": service.minutes}
    if confirm and hours not in (None, ""):
        minutes = round(float(hours) * 60)
        if not 0 < minutes <= MAX_MINUTES:
            raise DomainError("服务时长应在 0.1 到 24 小时之间", field="hours")
        service.minutes = minutes
    service.status = "confirmed" if confirm else "rejected"
    service.confirmed_by_id, service.confirmed_at = getattr(user, "id", None), utcnow()
    db.session.flush()
    record(
        "dual_service_confirm" if confirm else "dual_service_reject",
        service,
        before=before,
        after={"status": service.status, "minutes": service.minutes},
    )


# ---- feedback sheets -------------------------------------------------------------------------


def sheet_for(member: Member, period: Period, create: bool = False) -> FeedbackSheet | None:
    sheet = db.session.execute(
        select(FeedbackSheet).where(
            FeedbackSheet.member_id == member.id, FeedbackSheet.period_key == period.key
        )
    ).scalar_one_or_none()
    if sheet is None and create:
        sheet = FeedbackSheet(
            member_id=member.id,
            period_key=period.key,
            period_start=period.start,
            period_end=period.end,
            employer=member.work_unit,
        )
        db.session.add(sheet)
        db.session.flush()
    return sheet


def rate(member: Member, period: Period, rating: str, comment: str | None) -> FeedbackSheet:
    if rating not in RATINGS:
        raise DomainError("请选择评价等次", field="rating")
    sheet = sheet_for(member, period, create=True)
    before = {"rating": sheet.rating, "comment": sheet.comment}
    sheet.rating, sheet.comment = rating, comment
    db.session.flush()
    record("dual_feedback_rate", sheet, before=before, after={"rating": rating})
    return sheet


def mark_sent(member: Member, period: Period, sent_on: date, via: str) -> FeedbackSheet:
    if via not in SEND_METHODS:
        raise DomainError("请选择送达方式", field="via")
    if sent_on > local_today():
        raise DomainError("发送日期不能晚于今天", field="sent_on")
    sheet = sheet_for(member, period, create=True)
    if sheet.rating is None:
        raise DomainError("请先填写社区评价，再标记为已发送", field="sent_on")
    if sheet.status == "returned":
        raise Conflict("这份反馈单已收到回执")
    sheet.status, sheet.sent_on, sheet.sent_via = "sent", sent_on, via
    db.session.flush()
    record("dual_feedback_sent", sheet, after={"sent_on": sent_on, "via": via})
    return sheet


def mark_returned(member: Member, period: Period, returned_on: date, note: str | None):
    sheet = sheet_for(member, period)
    if sheet is None or sheet.status != "sent":
        raise DomainError("反馈单尚未发送，不能登记回执", field="returned_on")
    if returned_on < sheet.sent_on or returned_on > local_today():
        raise DomainError("回执日期应在发送日期与今天之间", field="returned_on")
    sheet.status, sheet.returned_on, sheet.employer_note = "returned", returned_on, note
    db.session.flush()
    record("dual_feedback_returned", sheet, after={"returned_on": returned_on})
    return sheet


# ---- the work unit's request for the community's opinion --------------------------------------


def open_opinion(member: Member, data: dict[str, Any], user: Any) -> OpinionRequest:
    if data["requested_on"] > local_today():
        raise DomainError("来函日期不能晚于今天", field="requested_on")
    row = OpinionRequest(member_id=member.id, created_by_id=getattr(user, "id", None), **data)
    db.session.add(row)
    db.session.flush()
    record("dual_opinion_create", row, after={"employer": row.employer})
    return row


def answer_opinion(row: OpinionRequest, answer: str, answered_on: date) -> None:
    if answered_on < row.requested_on or answered_on > local_today():
        raise DomainError("答复日期应在来函日期与今天之间", field="answered_on")
    before = {"answer": row.answer}
    row.answer, row.answered_on = answer, answered_on
    db.session.flush()
    record("dual_opinion_answer", row, before=before)
