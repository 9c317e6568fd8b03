"""Change requests (SPEC §15): a member asks to change phone, address or employer; staff in
scope approve (applied through ``app.members.services.update_member``) or reject with a reason.

The diff is kept in ``ChangeRequest.changes``::

    {"fields": {"phone": {"old": "138...", "new": "139..."}, ...},
     "base_version": 3, "note": "换了新号码"}

``old`` is the member's value when the request was made: approving compares it with the value
now, so a record changed meanwhile is reported as a conflict instead of being overwritten.
One pending request per member: a new request replaces the pending one (status ``cancelled``
with the reason "已被新的申请替换"), so a member who made a typo just submits again.
Plain functions: they flush and audit, the request commits.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Select, func, select, update

from app.audit import record
from app.errors import Conflict, DomainError
from app.extensions import db
from app.members import services as members
from app.members import validation
from app.members.models import ChangeRequest, Member
from app.organization.scope import member_scope_filter
from app.security import mask_phone
from app.timeutil import local_today, utcnow

# The fields a member may ask to change, in form order.
EDITABLE = ("phone", "second_phone", "room", "address", "work_unit", "employer")
LABELS = {key: validation.FIELD_LABELS[key] for key in EDITABLE}
STATUSES = {"pending": "待审核", "approved": "已通过", "rejected": "未通过", "cancelled": "已撤回"}
REVIEW_REASON = "党员申请变更"
REPLACED_REASON = "已被新的申请替换"
NOTE_LIMIT = 200
REASON_LIMIT = 300
NEUTRAL_BASE: dict[str, Any] = {"member_type": "formal", "mobility": "none"}


@dataclass
class ChangeConflict(Conflict):
    """The member's record changed since the request: field -> (value at request, value now)."""

    fields: dict[str, tuple[Any, Any]] = field(default_factory=dict)

    def __str__(self) -> str:
        if not self.fields:
            return "该党员信息刚刚被他人修改，请刷新后重试"
        parts = [
            f"{LABELS[k]}现为“{display(k, now) or '空'}”（申请时为“{display(k, old) or '空'}”）"
            for k, (old, now) in self.fields.items()
        ]
        return "党员提交申请后，档案已被修改：" + "；".join(parts)


def display(key: str, value: Any, masked: bool = False) -> str:
    if value in (None, ""):
        return ""
    return mask_phone(value) if masked and key in validation.PHONE_FIELDS else str(value)


def _audit_fields(fields: dict[str, dict[str, Any]]) -> dict[str, Any]:
    return {
        k: {"old": display(k, v["old"], True), "new": display(k, v["new"], True)}
        for k, v in fields.items()
    }


# ---- reading ------------------------------------------------------------------------------


def own_member(user: Any) -> Member | None:
    member_id = getattr(user, "member_id", None)
    return db.session.get(Member, member_id) if member_id else None


def current_values(member: Member) -> dict[str, Any]:
    return {key: getattr(member, key) for key in EDITABLE}


def pending_request(member: Member) -> ChangeRequest | None:
    return db.session.execute(
        select(ChangeRequest).where(
            ChangeRequest.member_id == member.id, ChangeRequest.status == "pending"
        )
    ).scalar_one_or_none()


def member_requests(member: Member, limit: int = 20) -> list[ChangeRequest]:
    return list(
        db.session.execute(
            select(ChangeRequest)
            .where(ChangeRequest.member_id == member.id)
            .order_by(ChangeRequest.id.desc())
            .limit(limit)
        ).scalars()
    )


def fields_of(request: ChangeRequest) -> dict[str, dict[str, Any]]:
    return (request.changes or {}).get("fields", {})


def diff_rows(request: ChangeRequest, member: Member | None = None) -> list[dict[str, Any]]:
    """The diff for display: label, old, new, the value now and whether it changed meanwhile."""
    clashes = conflicts(request, member) if member is not None else {}
    return [
        {
            "key": key,
            "label": LABELS.get(key, key),
            "old": d["old"],
            "new": d["new"],
            "now": getattr(member, key) if member is not None else None,
            "clash": key in clashes,
        }
        for key, d in fields_of(request).items()
    ]


def in_scope(user: Any) -> Select:
    """Change requests of the members in ``user``'s scope (the one scope mechanism)."""
    return (
        select(ChangeRequest)
        .join(Member, Member.id == ChangeRequest.member_id)
        .where(member_scope_filter(user))
    )


def pending_count(user: Any) -> int:
    return db.session.execute(
        select(func.count())
        .select_from(ChangeRequest)
        .join(Member, Member.id == ChangeRequest.member_id)
        .where(ChangeRequest.status == "pending", member_scope_filter(user))
    ).scalar_one()


def conflicts(request: ChangeRequest, member: Member) -> dict[str, tuple[Any, Any]]:
    """Requested fields whose value changed since the request was made."""
    return {
        key: (diff["old"], getattr(member, key))
        for key, diff in fields_of(request).items()
        if (getattr(member, key) or None) != (diff["old"] or None)
    }


# ---- member actions ----------------------------------------------------------------------


def submit_request(
    member: Member, data: dict[str, Any], user: Any, note: str | None = None
) -> ChangeRequest:
    """Validate the member's wished values and file them as the one pending request.

    Raises ``DomainError`` with field-by-field messages (the same rules as staff edits).
    """
    data = {key: data.get(key) for key in EDITABLE if key in data}
    try:
        # The field rules staff edits use; the record-wide checks (party dates, mobility) are
        # neutral here so a staff-side gap elsewhere in the record cannot block the member.
        cleaned = validation.clean(data, NEUTRAL_BASE, local_today())
    except DomainError as exc:
        raise DomainError(exc.errors) from None
    errors: dict[str, str] = {}
    if member.phone and not cleaned.get("phone", member.phone):
        errors["phone"] = "手机号不能为空，如已停用请填写新的手机号"
    note = (note or "").strip() or None
    if note and len(note) > NOTE_LIMIT:
        errors["note"] = f"说明不能超过 {NOTE_LIMIT} 个字"
    if errors:
        raise DomainError(errors)
    fields = {
        key: {"old": getattr(member, key), "new": value}
        for key, value in cleaned.items()
        if (getattr(member, key) or None) != (value or None)
    }
    if not fields:
        raise DomainError("您没有修改任何信息；请修改后再提交")
    previous = pending_request(member)
    if previous is not None:
        _close(previous, "cancelled", user, REPLACED_REASON)
        record("change_request_cancel", previous, user=user, detail=REPLACED_REASON)
    changes: dict[str, Any] = {"fields": fields, "base_version": member.version}
    if note:
        changes["note"] = note
    request = ChangeRequest(member_id=member.id, changes=changes, status="pending")
    db.session.add(request)
    db.session.flush()
    record("change_request_submit", request, user=user, after=_audit_fields(fields), detail=note)
    return request


def cancel_request(request: ChangeRequest, user: Any) -> None:
    if request.status != "pending":
        raise DomainError("该申请已处理，不能撤回")
    _close(request, "cancelled", user, "本人撤回")
    record("change_request_cancel", request, user=user, detail="本人撤回")


# ---- staff decisions -----------------------------------------------------------------------


def _close(request: ChangeRequest, status: str, user: Any, reason: str | None) -> None:
    """Move a pending request to ``status``; refuses when someone else decided it first.

    A conditional UPDATE (``WHERE status = 'pending'``): of two concurrent decisions exactly one
    succeeds, whatever the isolation level.
    """
    result = db.session.execute(
        update(ChangeRequest)
        .where(ChangeRequest.id == request.id, ChangeRequest.status == "pending")
        .values(
            status=status,
            decided_by_id=getattr(user, "id", None),
            decided_at=utcnow(),
            reason=reason,
        )
        .execution_options(synchronize_session="fetch")
    )
    if result.rowcount != 1:
        db.session.refresh(request)
        label = STATUSES.get(request.status, request.status)
        raise DomainError(f"该申请已被处理（{label}），请刷新后查看")


def approve(request: ChangeRequest, user: Any, force: bool = False) -> dict[str, tuple[Any, Any]]:
    """Apply the requested values to the member (history reason "党员申请变更") and close it.

    Raises ``ChangeConflict`` when a requested field changed since the request (unless
    ``force``: staff confirmed the member's new values win), ``DomainError`` otherwise.
    """
    if request.status != "pending":
        raise DomainError(f"该申请已被处理（{STATUSES.get(request.status, request.status)}）")
    member = db.session.get(Member, request.member_id)
    found = conflicts(request, member)
    if found and not force:
        raise ChangeConflict(found)
    _close(request, "approved", user, None)
    wished = {key: diff["new"] for key, diff in fields_of(request).items()}
    try:
        changed = members.update_member(
            member, wished, user, expected_version=member.version, reason=REVIEW_REASON
        )
    except members.ConflictError:
        raise ChangeConflict() from None
    except DomainError as exc:
        raise DomainError(exc.errors) from None
    record(
        "change_request_approve",
        request,
        user=user,
        after=_audit_fields(fields_of(request)),
        detail="确认采用党员申请的新值" if found else None,
    )
    return changed


def reject(request: ChangeRequest, user: Any, reason: str | None) -> None:
    reason = (reason or "").strip()
    if not reason:
        raise DomainError({"reason": "未通过时必须填写理由，党员会看到这条理由"})
    if len(reason) > REASON_LIMIT:
        raise DomainError({"reason": f"理由不能超过 {REASON_LIMIT} 个字"})
    _close(request, "rejected", user, reason)
    record("change_request_reject", request, user=user, detail=reason)
