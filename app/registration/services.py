"""Registrations: drafts, submit (idempotent, one open registration per person), review decisions.

Plain functions: they change the session, ``flush``, write the audit entry and never commit —
the request owns the transaction.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import func, or_, select

from app.audit import record
from app.auth.models import User
from app.auth.services import create_user
from app.crypto import decrypt, encrypt, keyed_hash
from app.errors import DomainError
from app.extensions import db
from app.members import services as member_services
from app.members.models import (
    Member,
)
from app.members.validation import FIELD_LABELS
from app.organization.scope import place_scope_filter
from app.registration import rules
from app.registration.changes import member_changes, with_group
from app.registration.models import MERGED, OPEN_STATUSES, Registration
from app.security import ID_RECORDED, mask_phone
from app.settings import get_setting
from app.timeutil import utcnow

PASSWORD_ALPHABET = "23456789abcdefghjkmnpqrstuvwxyzABCDEFGHJKMNPQRSTUVWXYZ"  # noqa: S105


OPEN_EXISTS = (
    "该身份证号已有一份正在办理的报到登记，请不要重复提交。"
    "可凭登记时获得的查询码和手机号“查询进度”，或联系社区工作人员。"
)


# ---- submit ------------------------------------------------------------------------------------


def _json(values: dict[str, Any]) -> dict[str, Any]:
    out = {}
    for key, value in values.items():
        if key in ("id_number", "consent", "sensitive_consent"):
            continue
        out[key] = value.isoformat() if isinstance(value, date) else value
    return out


def by_idempotency_key(key: str) -> Registration | None:
    return db.session.execute(
        select(Registration).where(Registration.idempotency_key == key)
    ).scalar_one_or_none()


def open_for_id_hash(id_hash: str) -> Registration | None:
    return db.session.execute(
        select(Registration).where(
            Registration.id_hash == id_hash, Registration.status.in_(OPEN_STATUSES)
        )
    ).scalar_one_or_none()


def proves_identity(registration: Registration, values: dict[str, Any], user: Any = None) -> bool:
    """May this submitter be told that ``registration`` exists? Only the person who gave the
    phone number recorded on it (or who sent it while logged in, or the member whose own ID
    number it is, logged in)."""
    if values.get("phone") and values["phone"] == registration.phone:
        return True
    if user is None:
        return False
    if registration.submitted_by_user_id and registration.submitted_by_user_id == user.id:
        return True
    member_id = getattr(user, "member_id", None)
    if member_id:
        member = db.session.get(Member, member_id)
        return member is not None and member.id_hash == registration.id_hash
    return False


def submit(
    kind: str, values: dict[str, Any], idempotency_key: str, user: Any = None
) -> tuple[Registration, bool]:
    """Create the registration; returns (registration, created).

    The same idempotency key returns the registration made the first time. When the ID number
    already has an open registration, its owner (``proves_identity``) gets ``DomainError``
    (OPEN_EXISTS); anyone else's submission is kept as a merged submission of that registration
    for the staff, and answered like any other — the form never tells a stranger that an ID
    number has a pending registration. Under concurrency the unique indexes decide: the caller
    catches ``IntegrityError`` and calls ``after_conflict``.
    """
    existing = by_idempotency_key(idempotency_key)
    if existing is not None:
        return existing, False
    id_hash = keyed_hash(values["id_number"])
    open_registration = open_for_id_hash(id_hash)
    if open_registration is not None and proves_identity(open_registration, values, user):
        raise DomainError({"id_number": OPEN_EXISTS})
    now = utcnow()
    registration = Registration(
        tracking_code=rules.new_tracking_code(),
        idempotency_key=idempotency_key,
        kind=kind,
        status="submitted",
        data=_json(values),
        name=values["name"],
        id_number_enc=encrypt(values["id_number"]),
        id_hash=id_hash,
        phone=values["phone"],
        community_id=values.get("community_id"),
        grid_id=values.get("grid_id"),
        building_id=values.get("building_id"),
        submitted_by_user_id=getattr(user, "id", None),
        consent_version=str(get_setting("consent_version")),
        consent_at=now,
        sensitive_consent=bool(values.get("sensitive_consent")),
    )
    if open_registration is not None:
        registration.status = MERGED
        registration.merged_into_id = open_registration.id
    if user is not None and getattr(user, "member_id", None):
        registration.member_id = user.member_id
    db.session.add(registration)
    db.session.flush()
    after = {
        "kind": kind,
        "name": values["name"],
        "id_number": ID_RECORDED,
        "phone": mask_phone(values["phone"]),
        "consent_version": registration.consent_version,
    }
    if open_registration is None:
        record("registration_submit", registration, user=user, after=after)
    else:
        record(
            "registration_merge",
            registration,
            user=user,
            after={**after, "status": MERGED, "merged_into": open_registration.id},
            detail=f"同一身份证号已有正在办理的登记 #{open_registration.id}，"
            "提交人手机号与该登记不同：作为另一次提交并入，未告知提交人",
        )
    return registration, True


def after_conflict(idempotency_key: str) -> Registration | None:
    """After a unique-index violation: the registration this form made already (the same key),
    or None: try again (a tracking-code collision, or another open registration of the person
    made meanwhile — the next ``submit`` tells its owner or merges)."""
    return by_idempotency_key(idempotency_key)


def resubmit(registration: Registration, values: dict[str, Any], user: Any = None) -> None:
    """A returned registration, corrected by the member, goes back to the queue.

    Corrected to an ID number with another open registration: its owner is told (OPEN_EXISTS);
    anyone else's correction is merged into that registration, like a new submission."""
    if registration.status != "returned":
        return  # already resubmitted (double click) or decided: nothing to do
    id_hash = keyed_hash(values["id_number"])
    other = None
    if id_hash != registration.id_hash:
        other = open_for_id_hash(id_hash)
        if other is not None and other.id != registration.id:
            if proves_identity(other, values, user):
                raise DomainError({"id_number": OPEN_EXISTS})
        else:
            other = None
    before = {"status": registration.status, "reason": registration.decision_reason}
    consent_version = str(get_setting("consent_version"))
    # The status first: an autoflush must never see the new ID number on an open row twice.
    if other is None:
        registration.status = "submitted"
    else:
        registration.status = MERGED
        registration.merged_into_id = other.id
        _repoint(registration, other)
    registration.data = _json(values)
    registration.name = values["name"]
    registration.id_number_enc = encrypt(values["id_number"])
    registration.id_hash = id_hash
    registration.phone = values["phone"]
    registration.community_id = values.get("community_id")
    registration.grid_id = values.get("grid_id")
    registration.building_id = values.get("building_id")
    registration.consent_version = consent_version
    registration.consent_at = utcnow()
    registration.sensitive_consent = bool(values.get("sensitive_consent"))
    registration.decision_reason = None
    db.session.flush()
    record(
        "registration_resubmit" if other is None else "registration_merge",
        registration,
        user=user,
        before=before,
        after={"status": registration.status}
        | ({"merged_into": other.id} if other is not None else {}),
    )


def find_by_code_and_phone(code: str, phone: str) -> Registration | None:
    code = rules.normalize_tracking_code(code)
    try:
        from app.members.identity import normalize_mobile

        phone = normalize_mobile(phone)
    except ValueError:
        return None
    if not code:
        return None
    return db.session.execute(
        select(Registration).where(Registration.tracking_code == code, Registration.phone == phone)
    ).scalar_one_or_none()


def form_values(registration: Registration) -> dict[str, str]:
    """The registration's data as form text (for a correction); the ID number is retyped."""
    out = {}
    for key, value in (registration.data or {}).items():
        if value is None:
            continue
        out[key] = str(value)
    return out


# ---- review ------------------------------------------------------------------------------------


def scope_filter(user: Any):  # noqa: ANN201
    """Registrations whose community or grid lies in the user's scope."""
    return or_(
        place_scope_filter(user, Registration.community_id),
        place_scope_filter(user, Registration.grid_id),
    )


def pending_count(user: Any) -> int:
    return db.session.execute(
        select(func.count())
        .select_from(Registration)
        .where(Registration.status == "submitted", scope_filter(user))
    ).scalar_one()


@dataclass
class Decision:
    registration: Registration
    ok: bool
    message: str
    member: Member | None = None
    created: bool = False
    username: str | None = None
    initial_password: str | None = None


def _decidable(registration: Registration, action: str) -> str | None:
    allowed = {"approve": ("submitted",), "return": ("submitted",), "reject": OPEN_STATUSES}
    if registration.status not in allowed[action]:
        return f"该登记当前状态为“{registration.status_label}”，不能{ACTION_LABELS[action]}"
    return _waiting_message(registration)


ACTION_LABELS = {"approve": "通过", "reject": "不予通过", "return": "退回修改"}


def _reason(reason: str | None) -> str:
    text = (reason or "").strip()
    if not text:
        raise DomainError({"reason": "请填写理由，该理由会告知报到人"})
    if len(text) > 300:
        raise DomainError({"reason": "理由不能超过 300 个字"})
    return text


def _close(registration: Registration, status: str, user: Any, reason: str | None) -> None:
    registration.status = status
    registration.decision_reason = reason
    registration.decided_by_id = getattr(user, "id", None)
    registration.decided_at = utcnow()


def reject(registration: Registration, user: Any, reason: str | None) -> Decision:
    text = _reason(reason)
    problem = _decidable(registration, "reject")
    if problem:
        return Decision(registration, False, problem)
    before = registration.status
    _close(registration, "rejected", user, text)
    db.session.flush()
    record(
        "registration_reject",
        registration,
        user=user,
        before={"status": before},
        after={"status": "rejected"},
        detail=text,
    )
    return Decision(registration, True, "已不予通过")


def return_for_correction(registration: Registration, user: Any, reason: str | None) -> Decision:
    text = _reason(reason)
    problem = _decidable(registration, "return")
    if problem:
        return Decision(registration, False, problem)
    _close(registration, "returned", user, text)
    db.session.flush()
    record(
        "registration_return",
        registration,
        user=user,
        before={"status": "submitted"},
        after={"status": "returned"},
        detail=text,
    )
    return Decision(registration, True, "已退回修改")


def approve(registration: Registration, user: Any) -> Decision:
    """Create or update the member, propose category and placement, create the login."""
    problem = _decidable(registration, "approve")
    if problem:
        return Decision(registration, False, problem)
    id_number = decrypt(registration.id_number_enc)
    changes = member_changes(registration)
    existing = member_services.find_by_id_number(id_number)
    if existing is not None and user is not None and not _in_scope(existing, user):
        return Decision(
            registration,
            False,
            "该身份证号已登记为其他社区（不在您管理范围内）的党员，请联系该社区或上级管理员处理",
        )
    relation = changes.get("relation_location") or (
        existing.relation_location if existing else "community"
    )
    with_group(changes, relation)
    reason = f"报到审核通过（{registration.kind_label}，查询码 {registration.tracking_code}）"
    try:
        if existing is None:
            member = member_services.create_member(
                {**changes, "id_number": id_number}, user, source="registration"
            )
            created = True
        else:
            member = existing
            if existing.notes and changes.get("notes"):
                changes["notes"] = f"{existing.notes}\n{changes['notes']}"
            member_services.update_member(member, changes, user, None, reason=reason)
            created = False
    except member_services.ConflictError:
        return Decision(registration, False, "该党员记录正被他人修改，请稍后再试")
    except DomainError as exc:
        detail = "；".join(f"{FIELD_LABELS.get(k, k)}：{v}" for k, v in exc.errors.items())
        return Decision(registration, False, f"无法写入党员名册：{detail}")
    username, password = _ensure_login(member, user)
    _close(registration, "approved", user, None)
    registration.member_id = member.id
    db.session.flush()
    record(
        "registration_approve",
        registration,
        user=user,
        before={"status": "submitted"},
        after={
            "status": "approved",
            "member_id": member.id,
            "member_created": created,
            "category": member.category,
            "login": username,
        },
    )
    message = "已通过，已新建党员记录" if created else "已通过，已更新原有党员记录"
    return Decision(registration, True, message, member, created, username, password)


def _in_scope(member: Member, user: Any) -> bool:
    from app.organization.scope import member_scope_filter

    return (
        db.session.execute(
            select(Member.id).where(Member.id == member.id, member_scope_filter(user))
        ).first()
        is not None
    )


def _ensure_login(member: Member, user: Any) -> tuple[str | None, str | None]:
    """The member's login: username = the phone number (or a generated one), a one-time password
    shown once to the approving staff user; the first login must set a new password."""
    has_login = db.session.execute(
        select(User.id).where(User.member_id == member.id)
    ).scalar_one_or_none()
    if has_login is not None:
        return None, None
    username = member.phone or ""
    taken = lambda name: db.session.execute(  # noqa: E731
        select(User.id).where(func.lower(User.username) == name.lower())
    ).first()
    if not username or taken(username):
        while True:
            username = "dy" + "".join(secrets.choice("0123456789") for _ in range(8))
            if not taken(username):
                break
    password = "".join(secrets.choice(PASSWORD_ALPHABET) for _ in range(10))
    create_user(
        username,
        member.name,
        "member",
        password,
        must_change_password=True,
        member_id=member.id,
        phone=member.phone,
    )
    return username, password


def decide(registration: Registration, action: str, user: Any, reason: str | None) -> Decision:
    if action == "approve":
        return approve(registration, user)
    if action == "reject":
        return reject(registration, user, reason)
    if action == "return":
        return return_for_correction(registration, user, reason)
    raise DomainError({"action": "未知的操作"})


# ---- merged submissions (同一身份证号的另一次提交) ------------------------------------------------


def merged_submissions(registration: Registration) -> list[Registration]:
    """Other submissions for the same ID number waiting with ``registration``, oldest first."""
    return list(
        db.session.execute(
            select(Registration)
            .where(Registration.merged_into_id == registration.id, Registration.status == MERGED)
            .order_by(Registration.id)
        ).scalars()
    )


def merged_counts(ids: list[int]) -> dict[int, int]:
    """How many merged submissions wait with each of these registrations (for the queue)."""
    if not ids:
        return {}
    return dict(
        db.session.execute(
            select(Registration.merged_into_id, func.count())
            .where(Registration.merged_into_id.in_(ids), Registration.status == MERGED)
            .group_by(Registration.merged_into_id)
        ).all()
    )


def _repoint(old: Registration, new: Registration) -> None:
    """The merged submissions waiting with ``old`` now wait with ``new``."""
    for row in merged_submissions(old):
        if row.id != new.id:
            row.merged_into_id = new.id


def _waiting_message(registration: Registration) -> str | None:
    count = len(merged_submissions(registration))
    if not count:
        return None
    return (
        f"同一身份证号还有 {count} 份另一次提交未处理，"
        "请先在登记页面核实并“以此次提交为准”或“作废”，再作决定"
    )


SUBMISSION_ACTIONS = {"adopt": "以此次提交为准", "discard": "作废此次提交"}


def _submission_problem(primary: Registration, submission: Registration) -> str | None:
    if submission.merged_into_id != primary.id or submission.status != MERGED:
        return "该提交已被处理，请刷新后查看"
    return None


def adopt_submission(primary: Registration, submission: Registration, user: Any) -> Decision:
    """The staff take the other submission over: it becomes the open registration of the
    person and ``primary`` (if still open) waits with it as a merged submission — never two
    open registrations of one ID number."""
    problem = _submission_problem(primary, submission)
    if problem:
        return Decision(submission, False, problem)
    current = open_for_id_hash(submission.id_hash)
    if current is not None and current.id != primary.id:
        return Decision(submission, False, "同一身份证号已有另一份正在办理的登记，请先处理那一份")
    before = {"primary": primary.id, "primary_status": primary.status}
    _repoint(primary, submission)
    if primary.status in OPEN_STATUSES:
        primary.status = MERGED
        primary.merged_into_id = submission.id
        db.session.flush()  # the open slot of the ID number is free before it is taken
    submission.status = "submitted"
    submission.merged_into_id = None
    db.session.flush()
    record(
        "registration_merged_adopt",
        submission,
        user=user,
        before=before,
        after={"status": "submitted", "primary_status": primary.status},
        detail=f"以同一身份证号的另一次提交为准（原登记 #{primary.id}）",
    )
    return Decision(submission, True, "已改为以此次提交为准，原登记作为另一次提交保留在其下")


def discard_submission(
    primary: Registration, submission: Registration, user: Any, reason: str | None
) -> Decision:
    """The staff discard the other submission: it is closed as not approved (the reason is what
    its submitter reads on the status page)."""
    text = _reason(reason)
    problem = _submission_problem(primary, submission)
    if problem:
        return Decision(submission, False, problem)
    _close(submission, "rejected", user, text)
    db.session.flush()
    record(
        "registration_merged_discard",
        submission,
        user=user,
        before={"status": MERGED, "merged_into": primary.id},
        after={"status": "rejected"},
        detail=text,
    )
    return Decision(submission, True, "已作废此次提交")


def decide_submission(
    primary: Registration, submission: Registration, action: str, user: Any, reason: str | None
) -> Decision:
    if action == "adopt":
        return adopt_submission(primary, submission, user)
    if action == "discard":
        return discard_submission(primary, submission, user, reason)
    raise DomainError({"action": "未知的操作"})
