"""Registrations: drafts, submit (idempotent, one open registration per person), review decisions.

Plain functions: they change the session, ``flush``, write the audit entry and never commit —
the request owns the transaction.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from flask import current_app
from itsdangerous import BadSignature, URLSafeTimedSerializer
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
from app.organization.models import Place
from app.organization.scope import place_scope_filter
from app.registration import rules
from app.registration.models import OPEN_STATUSES, REGISTRATION_KINDS, Registration
from app.security import ID_RECORDED, mask_phone
from app.settings import get_setting
from app.timeutil import utcnow

DRAFT_MAX_AGE = 24 * 3600  # seconds a half-filled form stays usable
PASSWORD_ALPHABET = "23456789abcdefghjkmnpqrstuvwxyzABCDEFGHJKMNPQRSTUVWXYZ"  # noqa: S105


OPEN_EXISTS = (
    "该身份证号已有一份正在办理的报到登记，请不要重复提交。"
    "可凭登记时获得的查询码和手机号“查询进度”，或联系社区工作人员。"
)


# ---- drafts: what was typed so far, carried in a signed hidden field ---------------------------


@dataclass
class Draft:
    kind: str
    key: str = field(default_factory=lambda: secrets.token_urlsafe(24))
    values: dict[str, str] = field(default_factory=dict)
    registration_id: int | None = None  # correcting a returned registration

    def dump(self) -> str:
        return _serializer().dumps(
            {"k": self.kind, "i": self.key, "v": self.values, "r": self.registration_id}
        )

    @classmethod
    def load(cls, token: str | None) -> Draft | None:
        if not token or len(token) > 20_000:
            return None
        try:
            data = _serializer().loads(token, max_age=DRAFT_MAX_AGE)
        except BadSignature:
            return None
        if not isinstance(data, dict) or data.get("k") not in REGISTRATION_KINDS:
            return None
        values = data.get("v") if isinstance(data.get("v"), dict) else {}
        return cls(
            kind=data["k"],
            key=str(data.get("i") or ""),
            values={str(k): str(v) for k, v in values.items()},
            registration_id=data.get("r") if isinstance(data.get("r"), int) else None,
        )


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.secret_key, salt="registration-draft")


def draft_context(draft: Draft, today: date) -> dict[str, Any]:
    """Cleaned values of the draft's valid fields (e.g. the ID number for the age rule)."""
    return rules.clean_fields(draft.kind, rules.all_fields(draft.kind), draft.values, today).values


# ---- places for the residence step ---------------------------------------------------------------


def active_places(kind: str, parent_id: int | None = None) -> list[Place]:
    query = select(Place).where(Place.kind == kind, Place.retired_at.is_(None))
    if parent_id is not None:
        query = query.where(Place.parent_id == parent_id)
    return list(db.session.execute(query.order_by(Place.position, Place.name, Place.id)).scalars())


def place_errors(values: dict[str, Any]) -> dict[str, str]:
    """The chosen community, grid and building must be active and belong together."""
    errors: dict[str, str] = {}
    ids = [values.get(k) for k in ("community_id", "grid_id", "building_id")]
    places = {
        p.id: p
        for p in db.session.execute(select(Place).where(Place.id.in_([i for i in ids if i])))
        .scalars()
        .all()
    }
    community, grid, building = (places.get(i) if i else None for i in ids)
    if ids[0] and (community is None or community.kind != "community" or community.retired_at):
        errors["community_id"] = "请选择社区"
    if ids[1] and (
        grid is None or grid.kind != "grid" or grid.retired_at or grid.parent_id != ids[0]
    ):
        errors["grid_id"] = "所选网格不属于该社区，请重新选择"
    if ids[2] and (
        building is None
        or building.kind != "building"
        or building.retired_at
        or not ids[1]
        or building.parent_id != ids[1]
    ):
        errors["building_id"] = "所选楼栋不属于该网格，请重新选择"
    return errors


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


def submit(
    kind: str, values: dict[str, Any], idempotency_key: str, user: Any = None
) -> tuple[Registration, bool]:
    """Create the registration; returns (registration, created).

    The same idempotency key returns the registration made the first time; a second open
    registration for the same ID number raises ``DomainError``. Under concurrency the
    unique indexes decide: the caller catches ``IntegrityError`` and calls ``after_conflict``.
    """
    existing = by_idempotency_key(idempotency_key)
    if existing is not None:
        return existing, False
    id_hash = keyed_hash(values["id_number"])
    if open_for_id_hash(id_hash) is not None:
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
    if user is not None and getattr(user, "member_id", None):
        registration.member_id = user.member_id
    db.session.add(registration)
    db.session.flush()
    record(
        "registration_submit",
        registration,
        user=user,
        after={
            "kind": kind,
            "name": values["name"],
            "id_number": ID_RECORDED,
            "phone": mask_phone(values["phone"]),
            "consent_version": registration.consent_version,
        },
    )
    return registration, True


def after_conflict(idempotency_key: str, id_number: str) -> Registration | None:
    """After a unique-index violation: the registration this form made already (the same key),
    or ``DomainError`` (another open registration of the person); None: try again."""
    existing = by_idempotency_key(idempotency_key)
    if existing is not None:
        return existing
    if open_for_id_hash(keyed_hash(id_number)) is not None:
        raise DomainError({"id_number": OPEN_EXISTS})
    return None


def resubmit(registration: Registration, values: dict[str, Any], user: Any = None) -> None:
    """A returned registration, corrected by the member, goes back to the queue."""
    if registration.status != "returned":
        return  # already resubmitted (double click) or decided: nothing to do
    id_hash = keyed_hash(values["id_number"])
    if id_hash != registration.id_hash:
        other = open_for_id_hash(id_hash)
        if other is not None and other.id != registration.id:
            raise DomainError({"id_number": OPEN_EXISTS})
    before = {"status": registration.status, "reason": registration.decision_reason}
    registration.data = _json(values)
    registration.name = values["name"]
    registration.id_number_enc = encrypt(values["id_number"])
    registration.id_hash = id_hash
    registration.phone = values["phone"]
    registration.community_id = values.get("community_id")
    registration.grid_id = values.get("grid_id")
    registration.building_id = values.get("building_id")
    registration.consent_version = str(get_setting("consent_version"))
    registration.consent_at = utcnow()
    registration.sensitive_consent = bool(values.get("sensitive_consent"))
    registration.status = "submitted"
    registration.decision_reason = None
    db.session.flush()
    record(
        "registration_resubmit",
        registration,
        user=user,
        before=before,
        after={"status": "submitted"},
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


def _date(value: Any) -> date | None:
    if not value:
        return None
    try:
        return date.fromisoformat(str(value))
    except ValueError:
        return None


def member_changes(registration: Registration) -> dict[str, Any]:
    """What approving writes into the member record (SPEC §4 fields), by kind."""
    d = registration.data or {}
    kind = registration.kind
    changes: dict[str, Any] = {
        "name": d.get("name"),
        "phone": d.get("phone"),
        "member_type": d.get("member_type") or "formal",
        "joined_on": _date(d.get("joined_on")),
        "full_member_on": _date(d.get("full_member_on")),
    }
    for key in ("second_phone", "ethnicity", "education", "party_post", "room", "address"):
        if d.get(key):
            changes[key] = d[key]
    if d.get("building_id"):
        changes["building_id"] = d["building_id"]
    elif d.get("grid_id"):
        changes["grid_id"] = d["grid_id"]
    notes: list[str] = []
    if kind == "in_service_report":
        changes.update(
            employment="in_service",
            relation_location=d.get("relation_location") or "work_unit",
            work_unit=d.get("work_unit"),
            work_unit_org=d.get("work_unit_org"),
            work_unit_contact=d.get("work_unit_contact"),
        )
    elif kind == "relation_transfer_in":
        changes.update(
            employment=d.get("employment") or "resident",
            relation_location="community",
            relation_org_name=None,
        )
        if d.get("original_unit"):
            changes["original_unit"] = d["original_unit"]
        notes.append(
            f"组织关系转入：介绍信编号 {d.get('transfer_letter_no')}，转自 {d.get('from_org')}"
        )
    elif kind == "flow_in":
        changes.update(
            relation_location="elsewhere",
            relation_org_name=d.get("origin_org"),
            origin_org_contact=d.get("origin_org_contact"),
            mobility="flow_in",
            mobility_place=d.get("origin_place"),
            mobility_since=_date(d.get("mobility_since")),
            mobility_expected_return=_date(d.get("expected_until")),
            mobility_occupation=d.get("occupation"),
        )
        if d.get("employer"):
            changes["employer"] = d["employer"]
        if d.get("certificate_no"):
            notes.append(f"流动党员活动证编号 {d['certificate_no']}")
    elif kind == "flow_out_report":
        changes.update(
            mobility="flow_out",
            mobility_place=d.get("destination"),
            mobility_since=_date(d.get("mobility_since")),
            mobility_expected_return=_date(d.get("expected_return")),
            mobility_occupation=d.get("occupation"),
            mobility_contact=d.get("contact_there"),
        )
    if notes:
        changes["notes"] = "；".join(notes)
    return changes


def _with_group(changes: dict[str, Any], relation_location: str | None) -> None:
    """The building proposes the group (and so the branch) for members whose relation is here."""
    if relation_location != "community" or not changes.get("building_id"):
        return
    building = db.session.get(Place, changes["building_id"])
    if building is not None and building.group_id:
        changes["group_id"] = building.group_id


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
    return None


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
    _with_group(changes, relation)
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
