"""Changes of the 接管 work: training, job leads, referrals and their outcome, 五个一 evidence."""

from __future__ import annotations

from datetime import date
from typing import Any

from app.audit import record
from app.errors import DomainError
from app.extensions import db
from app.members.models import Member
from app.members.services import update_member
from app.takeover.models import (
    FIVE_ITEMS,
    REFERRAL_OUTCOMES,
    FiveOneEvidence,
    JobLead,
    JobReferral,
    TrainingRecord,
)
from app.timeutil import local_today


def _not_future(value: date | None, field: str, label: str) -> None:
    if value is not None and value > local_today():
        raise DomainError(f"{label}不能晚于今天", field=field)


def add_training(member: Member, data: dict[str, Any], user: Any) -> TrainingRecord:
    _not_future(data["started_on"], "started_on", "开始日期")
    ended = data.get("ended_on")
    if ended is not None and ended < data["started_on"]:
        raise DomainError("结束日期不能早于开始日期", field="ended_on")
    row = TrainingRecord(
        member_id=member.id,
        course=data["course"].strip(),
        provider=data["provider"].strip(),
        started_on=data["started_on"],
        ended_on=ended,
        certificate=(data.get("certificate") or "").strip() or None,
        recorded_by_id=getattr(user, "id", None),
    )
    db.session.add(row)
    db.session.flush()
    record("training_add", row, user=user, after={"member_id": member.id, "course": row.course})
    return row


def publish_lead(community_id: int, data: dict[str, Any], user: Any) -> JobLead:
    if data["valid_until"] < local_today():
        raise DomainError("有效期不能早于今天", field="valid_until")
    lead = JobLead(
        community_id=community_id,
        employer=data["employer"].strip(),
        post=data["post"].strip(),
        contact=data["contact"].strip(),
        valid_until=data["valid_until"],
        notes=(data.get("notes") or "").strip() or None,
        created_by_id=getattr(user, "id", None),
    )
    db.session.add(lead)
    db.session.flush()
    record(
        "job_lead_publish", lead, user=user, after={"employer": lead.employer, "post": lead.post}
    )
    return lead


def refer(member: Member, data: dict[str, Any], user: Any, lead: JobLead | None) -> JobReferral:
    _not_future(data["referred_on"], "referred_on", "推荐日期")
    employer = lead.employer if lead else (data.get("employer") or "").strip()
    post = lead.post if lead else (data.get("post") or "").strip()
    if not employer:
        raise DomainError("请选择岗位信息，或填写用人单位", field="employer")
    if not post:
        raise DomainError("请填写岗位", field="post")
    row = JobReferral(
        member_id=member.id,
        job_lead_id=lead.id if lead else None,
        employer=employer,
        post=post,
        referred_on=data["referred_on"],
        note=(data.get("note") or "").strip() or None,
        recorded_by_id=getattr(user, "id", None),
    )
    db.session.add(row)
    db.session.flush()
    record("job_referral_add", row, user=user, after={"member_id": member.id, "employer": employer})
    return row


def record_outcome(
    referral: JobReferral, member: Member, data: dict[str, Any], user: Any
) -> dict[str, tuple[Any, Any]]:
    """What came of a referral. 已录用 changes the member record through the normal member update
    (employment 在职, the new work unit; the relation moves only if staff say so), so the 五管
    proposal follows with its history. Returns the member fields that changed."""
    outcome = data["outcome"]
    if outcome not in REFERRAL_OUTCOMES or outcome == "pending":
        raise DomainError("请选择结果", field="outcome")
    if referral.outcome != "pending":
        raise DomainError("该推荐的结果已经登记", field="outcome")
    _not_future(data["outcome_on"], "outcome_on", "结果日期")
    if data["outcome_on"] < referral.referred_on:
        raise DomainError("结果日期不能早于推荐日期", field="outcome_on")
    referral.outcome = outcome
    referral.outcome_on = data["outcome_on"]
    changed: dict[str, tuple[Any, Any]] = {}
    if outcome == "hired":
        changes: dict[str, Any] = {"employment": "in_service", "work_unit": referral.employer}
        if data.get("relation_moves"):
            org = (data.get("work_unit_org") or "").strip()
            if not org:
                raise DomainError("组织关系转入新单位时，请填写单位党组织", field="work_unit_org")
            changes.update(relation_location="work_unit", work_unit_org=org)
        changed = update_member(
            member,
            changes,
            user,
            expected_version=None,
            reason=f"经推荐在{referral.employer}就业",
            effective=data["outcome_on"],
        )
    db.session.flush()
    record(
        "job_referral_outcome",
        referral,
        user=user,
        after={"outcome": outcome, "outcome_on": data["outcome_on"]},
    )
    return changed


def add_evidence(member: Member, data: dict[str, Any], user: Any) -> FiveOneEvidence:
    item = data["item"]
    if item not in FIVE_ITEMS:
        raise DomainError("请选择事项", field="item")
    _not_future(data["done_on"], "done_on", "日期")
    year = data["done_on"].year
    exists = db.session.execute(
        db.select(FiveOneEvidence.id).where(
            FiveOneEvidence.member_id == member.id,
            FiveOneEvidence.year == year,
            FiveOneEvidence.item == item,
        )
    ).first()
    if exists:
        raise DomainError(f"{year} 年的这一项已经确认过", field="item")
    row = FiveOneEvidence(
        member_id=member.id,
        year=year,
        item=item,
        done_on=data["done_on"],
        note=data["note"].strip(),
        recorded_by_id=getattr(user, "id", None),
    )
    db.session.add(row)
    db.session.flush()
    record("five_one_evidence", row, user=user, after={"member_id": member.id, "item": item})
    return row
