"""Transfer letters (组织关系介绍信, SPEC §15) and the small queries the certificate pages use."""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import func, select, update

from app.audit import record
from app.certificates.models import (
    Certificate,
    ReceivedLetter,
    TransferLetter,
)
from app.certificates.numbering import _insert_numbered, community_code
from app.certificates.services import TRANSFER_MAX_DAYS, issuing_org_for
from app.errors import DomainError
from app.extensions import db
from app.members.models import Member
from app.timeutil import local_today

# ---- transfer letters (组织关系介绍信, SPEC §15) -------------------------------------------------


def transfer_errors(data: dict[str, Any]) -> dict[str, str]:
    errors = {}
    if not (data.get("to_org_name") or "").strip():
        errors["to_org_name"] = "请填写接收党组织"
    days = data.get("valid_days")
    if days is None or not 1 <= int(days) <= TRANSFER_MAX_DAYS:
        errors["valid_days"] = "有效期为 1 至 92 天（最长三个月）"
    return errors


def issue_transfer_letter(member: Member, data: dict[str, Any], user: Any) -> TransferLetter:
    errors = transfer_errors(data)
    if errors:
        raise DomainError("；".join(errors.values()))
    org = issuing_org_for(member)
    issued_on = data.get("issued_on") or local_today()
    letter = TransferLetter(
        member_id=member.id,
        to_org_name=data["to_org_name"].strip(),
        from_org_name=(org.name if org else "") or "本社区党组织",
        dues_paid_until=data.get("dues_paid_until") or member.dues_paid_until,
        issued_on=issued_on,
        valid_days=int(data["valid_days"]),
        status="issued",
        created_by_id=getattr(user, "id", None),
    )
    _insert_numbered(letter, f"JS-{community_code(member)}-{issued_on.year}-")
    record("transfer_letter_issue", letter, user=user, after={"number": letter.number})
    return letter


def record_return_slip(letter: TransferLetter, user: Any, returned_on: date) -> TransferLetter:
    if letter.status != "issued":
        raise DomainError("该介绍信的回执已登记")
    if returned_on < letter.issued_on or returned_on > local_today():
        raise DomainError("回执日期应在开具日期与今天之间")
    letter.returned_on = returned_on
    letter.status = "returned"
    db.session.flush()
    record("transfer_letter_return", letter, user=user, after={"returned_on": returned_on})
    return letter


# ---- incoming letters and their 回执 -----------------------------------------------------------


def received_letter_defaults(member: Member) -> dict[str, Any]:
    """What the member's approved 组织关系转入 registration recorded about the letter they brought:
    the number, the issuing organization and the day it was received (the day of approval)."""
    from app.registration.changes import documents_brought
    from app.registration.models import Registration
    from app.timeutil import local_date

    brought = documents_brought(member.id)
    decided = db.session.execute(
        select(Registration.decided_at)
        .where(
            Registration.member_id == member.id,
            Registration.status == "approved",
            Registration.kind == "relation_transfer_in",
        )
        .order_by(Registration.decided_at.desc())
        .limit(1)
    ).scalar()
    return {
        "number": brought.get("transfer_letter_no"),
        "from_org_name": brought.get("from_org"),
        "received_on": local_date(decided) if decided else local_today(),
    }


def record_received_letter(member: Member, data: dict[str, Any], user: Any) -> ReceivedLetter:
    number = (data.get("number") or "").strip()
    if db.session.execute(
        select(ReceivedLetter.id).where(
            ReceivedLetter.member_id == member.id, ReceivedLetter.number == number
        )
    ).first():
        raise DomainError("该党员的这封介绍信已经登记过", field="number")
    if data["received_on"] > local_today():
        raise DomainError("收到日期不能晚于今天", field="received_on")
    org = issuing_org_for(member)
    letter = ReceivedLetter(
        member_id=member.id,
        number=number,
        from_org_name=data["from_org_name"].strip(),
        to_org_name=(org.name if org else "") or "本社区党组织",
        received_on=data["received_on"],
        created_by_id=getattr(user, "id", None),
    )
    db.session.add(letter)
    db.session.flush()
    record("received_letter_record", letter, user=user, after={"number": number})
    return letter


def record_reply_sent(letter: ReceivedLetter, user: Any, sent_on: date) -> ReceivedLetter:
    if letter.reply_sent_on is not None:
        raise DomainError("回执已登记寄出", field="sent_on")
    if sent_on < letter.received_on or sent_on > local_today():
        raise DomainError("寄出日期应在收到介绍信之后、今天之前", field="sent_on")
    letter.reply_sent_on = sent_on
    db.session.flush()
    record("received_letter_reply", letter, user=user, after={"reply_sent_on": sent_on})
    return letter


# ---- small queries used by pages --------------------------------------------------------------


def counts_by_status(scope_clause) -> dict[str, int]:  # noqa: ANN001
    rows = db.session.execute(
        select(Certificate.status, func.count())
        .join(Member, Member.id == Certificate.member_id)
        .where(scope_clause)
        .group_by(Certificate.status)
    ).all()
    return dict(rows)


def bump_job(job_id: int, done: int) -> None:
    """Progress of a print job (atomic increment)."""
    from app.certificates.models import PrintJob

    db.session.execute(update(PrintJob).where(PrintJob.id == job_id).values(done=done))
