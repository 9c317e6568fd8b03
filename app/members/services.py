"""Changing member records: create, update, classify, override, reveal.

Field validation lives in validation.py, the history rows and "as of" views in history.py.

Plain functions: they validate with the pure rules (identity.py, rules.py), change the session,
``flush``, write the audit entry with ``record()`` and never commit — the request (or the CLI
command) owns the transaction.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sqlalchemy import exists, select
from sqlalchemy.exc import IntegrityError
from werkzeug.exceptions import Forbidden

from app.audit import record
from app.certificates.models import Certificate
from app.crypto import decrypt, encrypt, keyed_hash, last4_hash
from app.errors import Conflict, DomainError
from app.extensions import db
from app.members.history import aspect_value, json_value, record_history
from app.members.models import CATEGORIES, Member, MemberHistory
from app.members.rules import (
    ClassificationFacts,
    classify,
    name_keys,
)
from app.members.validation import (
    ASPECT_FIELDS,
    CLASSIFICATION_FIELDS,
    FIELDS,
    LOST_CONTACT_LEAVE,
    LOST_CONTACT_SET,
    NEW_MEMBER_DEFAULTS,
    PHONE_FIELDS,
    PLACEMENT_FIELDS,
    clean,
    clean_new,
    clean_text,
    derive_placement,
    snapshot,
)
from app.security import ID_CHANGED, ID_RECORDED, mask_phone
from app.settings import get_setting
from app.timeutil import local_today, utcnow
from app.uow import flush_or_conflict


class DuplicateMemberError(DomainError):
    """A member with the same ID number already exists."""

    def __init__(self, existing_id: int):
        super().__init__({"id_number": "该身份证号已登记为党员，请在名册中查找并更新原记录"})
        self.existing_id = existing_id


@dataclass
class ConflictError(Conflict):
    """Someone else saved the member first: ``current`` holds the newer values."""

    member_id: int
    current_version: int | None
    current: dict[str, Any] = field(default_factory=dict)

    def __str__(self) -> str:
        return "该党员信息已被他人修改"


def find_by_id_number(id_number: str) -> Member | None:
    return db.session.execute(
        select(Member).where(Member.id_hash == keyed_hash(id_number))
    ).scalar_one_or_none()


def _set_id_number(member: Member, value: str) -> None:
    member.id_number_enc = encrypt(value)
    member.id_hash = keyed_hash(value)
    member.id_prefix6 = value[:6]
    member.id_last4 = value[-4:]


def _audit_value(key: str, value: Any) -> Any:
    if key in PHONE_FIELDS:
        return mask_phone(value)
    return value


# ---- classification -----------------------------------------------------------------------


def has_open_certificate(member: Member) -> bool:
    if member.id is None:
        return False
    return bool(
        db.session.execute(
            select(
                exists().where(Certificate.member_id == member.id, Certificate.status == "issued")
            )
        ).scalar()
    )


def proposed_category(member: Member, today: date) -> str:
    facts = ClassificationFacts.of(member, has_open_certificate(member))
    return classify(facts, today, int(get_setting("flow_out_coordinated_months")))


def _apply_classification(member: Member, today: date) -> None:
    """Re-evaluate the proposal; an override keeps its category but the proposal is updated."""
    member.category_proposed = proposed_category(member, today)
    if not member.category_override_reason:
        member.category = member.category_proposed


def _one_update(func):  # noqa: ANN001, ANN202
    """Apply a change without autoflush: one UPDATE (one version bump) at the final ``_flush``.

    Autoflush in the middle would bump the version twice and could raise ``StaleDataError``
    outside ``_flush``, where it would not become a ``ConflictError``.
    """

    @functools.wraps(func)
    def wrapper(*args, **kwargs):  # noqa: ANN202
        with db.session.no_autoflush:
            return func(*args, **kwargs)

    return wrapper


@_one_update
def reclassify(
    member: Member, user: Any, effective: date | None = None, reason: str | None = None
) -> bool:
    """Re-evaluate the category (e.g. after a certificate is issued or returned).

    Returns True when the category or the proposal changed.
    """
    effective = effective or local_today()
    before = (member.category, member.category_proposed)
    _apply_classification(member, effective)
    if (member.category, member.category_proposed) == before:
        return False
    record_history(member, "category", user, effective, reason or "自动重新分类")
    record(
        "member_reclassify",
        member,
        user=user,
        before={"category": before[0], "category_proposed": before[1]},
        after={"category": member.category, "category_proposed": member.category_proposed},
    )
    _flush(member)
    return True


def reclassify_due(
    user: Any, today: date | None = None, everyone: bool = False, apply: bool = True
) -> list[int]:
    """Members whose proposed category is no longer what the rules give today — a flow-out
    crossing the ``flow_out_coordinated_months`` threshold as time passes, or (``everyone``)
    any member after a rule setting changed — re-evaluated through ``reclassify`` (history and
    audit for each). The facts are read in one query, so only the members that change are
    loaded. Returns their ids (with ``apply=False`` only finds them)."""
    today = today or local_today()
    months = int(get_setting("flow_out_coordinated_months"))
    open_certificates = set(
        db.session.execute(
            select(Certificate.member_id).where(Certificate.status == "issued")
        ).scalars()
    )
    query = select(
        Member.id,
        Member.employment,
        Member.relation_location,
        Member.mobility,
        Member.mobility_since,
        Member.mobility_expected_return,
        Member.mobility_open_ended,
        Member.category_proposed,
    )
    if not everyone:
        query = query.where(Member.mobility == "flow_out")
    due = []
    for row in db.session.execute(query):
        facts = ClassificationFacts.of(row, row.id in open_certificates)
        if classify(facts, today, months) != row.category_proposed:
            due.append(row.id)
    if apply:
        for start in range(0, len(due), 500):
            chunk = due[start : start + 500]
            for member in db.session.execute(select(Member).where(Member.id.in_(chunk))).scalars():
                reclassify(member, user, effective=today, reason="按规则定期重新分类")
    return due


# ---- create / update ----------------------------------------------------------------------


def create_member(
    data: dict[str, Any], user: Any, effective: date | None = None, source: str = "staff"
) -> Member:
    today = local_today()
    effective = effective or today
    values = clean_new(data, today)
    errors: dict[str, str] = {}
    derive_placement(values, errors)
    if errors:
        raise DomainError(errors)
    id_number = values.pop("id_number")
    existing = find_by_id_number(id_number)
    if existing is not None:
        raise DuplicateMemberError(existing.id)

    member = Member(source=source)
    _set_id_number(member, id_number)
    for key, value in values.items():
        setattr(member, key, value)
    member.name_pinyin, member.name_initials = name_keys(member.name)
    member.phone_last4 = member.phone[-4:] if member.phone else None
    for key, default in NEW_MEMBER_DEFAULTS:
        if getattr(member, key) is None:
            setattr(member, key, default)
    member.category_override_reason = None
    _apply_classification(member, today)
    # A concurrent create of the same ID number passes the look-up above and fails on the
    # unique hash: the savepoint keeps the caller's transaction usable and the user gets the
    # same duplicate message.
    try:
        with db.session.begin_nested():
            db.session.add(member)
            db.session.flush()
    except IntegrityError:
        if member in db.session:
            db.session.expunge(member)
        existing = find_by_id_number(id_number)
        if existing is None:
            raise
        raise DuplicateMemberError(existing.id) from None
    for aspect in ASPECT_FIELDS:
        record_history(member, aspect, user, effective, "新建党员记录")
    after = {k: _audit_value(k, v) for k, v in values.items() if v is not None}
    after["id_number"] = ID_RECORDED
    after["category"] = member.category
    record("member_create", member, user=user, after=after)
    db.session.flush()
    return member


def _insert_many(table, rows: list[dict[str, Any]]) -> None:  # noqa: ANN001
    """INSERT many rows (same keys) as one DBAPI ``executemany``: the columns' own bind
    processors (dates, JSON …) are applied once per value, without SQLAlchemy compiling and
    processing parameters row by row (that took half of a 100,000-row import)."""
    if not rows:
        return
    connection = db.session.connection()
    dialect = connection.dialect
    names = list(rows[0])
    quote = dialect.identifier_preparer.quote
    placeholder = "?" if dialect.paramstyle == "qmark" else "%s"
    # Table and column names come from the model's metadata, never from input.
    columns = ", ".join(quote(n) for n in names)
    values = ", ".join([placeholder] * len(names))
    sql = f"INSERT INTO {quote(table.name)} ({columns}) VALUES ({values})"  # noqa: S608
    processors = [table.c[n].type._cached_bind_processor(dialect) for n in names]
    pairs = list(zip(names, processors, strict=True))
    params = [
        tuple(proc(row[name]) if proc is not None else row[name] for name, proc in pairs)
        for row in rows
    ]
    connection.exec_driver_sql(sql, params)


def bulk_create(
    rows: list[dict[str, Any]],
    user: Any,
    effective: date,
    reason: str,
    source: str = "import",
    batch: int = 2000,
) -> list[int]:
    """Insert many new members at once: ``rows`` are values from ``clean_new`` with placement
    ids already resolved (building → grid → community, group → branch) and no existing ID
    numbers. Same defaults, name keys, encryption and classification as ``create_member``, and
    the same opening history row for every aspect; no per-member audit entry — the caller
    records one entry for the whole batch. Returns the new ids in order."""
    if not rows:
        return []
    today = local_today()
    months = int(get_setting("flow_out_coordinated_months"))
    columns = set(FIELDS) - {"id_number"}
    user_id = getattr(user, "id", None)
    member_table = Member.__table__
    history_table = MemberHistory.__table__
    ids: list[int] = []
    name_cache: dict[str, tuple[str, str]] = {}  # names repeat: pinyin once per name
    now = utcnow()
    for start in range(0, len(rows), batch):
        chunk = rows[start : start + batch]
        records = []
        for values in chunk:
            item = {key: None for key in columns}
            item.update({k: v for k, v in values.items() if k in columns})
            for key, default in NEW_MEMBER_DEFAULTS:
                if item.get(key) is None:
                    item[key] = default
            id_number = values["id_number"]
            item.update(
                id_number_enc=encrypt(id_number),
                id_hash=keyed_hash(id_number),
                id_prefix6=id_number[:6],
                id_last4_hash=last4_hash(id_number[-4:]),
                phone_last4=item["phone"][-4:] if item.get("phone") else None,
                dues_reduced=bool(item.get("dues_reduced")),
                mobility_open_ended=bool(item.get("mobility_open_ended")),
                source=source,
                version=1,
                created_at=now,
                updated_at=now,
                category_override_reason=None,
            )
            if item["name"] not in name_cache:
                name_cache[item["name"]] = name_keys(item["name"])
            item["name_pinyin"], item["name_initials"] = name_cache[item["name"]]
            facts = ClassificationFacts.of(item)
            item["category"] = item["category_proposed"] = classify(facts, today, months)
            records.append(item)
        # A plain executemany (RETURNING would send one statement per row on SQLite), then the
        # new ids by their unique keyed hash.
        _insert_many(member_table, records)
        by_hash = dict(
            db.session.execute(
                select(member_table.c.id_hash, member_table.c.id).where(
                    member_table.c.id_hash.in_([item["id_hash"] for item in records])
                )
            ).all()
        )
        new_ids = [by_hash[item["id_hash"]] for item in records]
        history = []
        for member_id, item in zip(new_ids, records, strict=True):
            for aspect, keys in ASPECT_FIELDS.items():
                history.append(
                    {
                        "member_id": member_id,
                        "aspect": aspect,
                        "value": {key: json_value(item.get(key)) for key in keys},
                        "effective_from": effective,
                        "effective_to": None,
                        "reason": reason,
                        "changed_by_id": user_id,
                        "changed_at": now,
                    }
                )
        _insert_many(history_table, history)
        ids.extend(new_ids)
    return ids


@_one_update
def update_member(
    member: Member,
    changes: dict[str, Any],
    user: Any,
    expected_version: int | None,
    reason: str | None = None,
    effective: date | None = None,
    *,
    via_lost_contact_case: bool = False,
) -> dict[str, tuple[Any, Any]]:
    """Apply ``changes``; returns {field: (before, after)} of what actually changed.

    Raises ``ConflictError`` when the member was saved by someone else since ``expected_version``
    was read, ``DomainError`` for invalid data. The status 失联 is set and left only through a
    lost-contact case (``via_lost_contact_case``, passed by ``app.followup.lost_contact``).
    """
    today = local_today()
    effective = effective or today
    if expected_version is not None and expected_version != member.version:
        raise ConflictError(member.id, member.version, snapshot(member))
    if effective > today:
        raise DomainError({"effective_on": "生效日期不能晚于今天"})
    base = snapshot(member)
    changes = dict(changes)
    if "id_number" in changes and not clean_text(changes["id_number"]):
        changes.pop("id_number")  # left empty on the form: unchanged
    values = clean(changes, base, today)
    errors: dict[str, str] = {}
    if any(k in values for k in PLACEMENT_FIELDS):
        derive_placement(values, errors)
    if not via_lost_contact_case:
        _check_lost_contact(member, base.get("status"), values.get("status"), errors)
    id_number = values.pop("id_number", None)
    if id_number is not None:
        if keyed_hash(id_number) == member.id_hash:
            id_number = None
        else:
            other = find_by_id_number(id_number)
            if other is not None and other.id != member.id:
                errors["id_number"] = "该身份证号已登记为其他党员，请核对"
    if errors:
        raise DomainError(errors)

    changed: dict[str, tuple[Any, Any]] = {
        key: (base.get(key), value) for key, value in values.items() if base.get(key) != value
    }
    if id_number is not None:
        _set_id_number(member, id_number)
        changed["id_number"] = (ID_RECORDED, ID_CHANGED)
    if not changed:
        return {}
    before_aspects = {aspect: aspect_value(member, aspect) for aspect in ASPECT_FIELDS}
    for key in changed:
        if key != "id_number":
            setattr(member, key, values[key])
    if "name" in changed:
        member.name_pinyin, member.name_initials = name_keys(member.name)
    if "phone" in changed:
        member.phone_last4 = member.phone[-4:] if member.phone else None
    if CLASSIFICATION_FIELDS & changed.keys():
        old = member.category
        _apply_classification(member, today)
        if member.category != old:
            changed["category"] = (old, member.category)
    for aspect in ASPECT_FIELDS:
        if aspect_value(member, aspect) != before_aspects[aspect]:
            record_history(member, aspect, user, effective, reason)
    record(
        "member_update",
        member,
        user=user,
        before={k: _audit_value(k, b) for k, (b, _) in changed.items()},
        after={k: _audit_value(k, a) for k, (_, a) in changed.items()},
        detail=reason,
    )
    _flush(member)
    return changed


def _check_lost_contact(
    member: Member, before: str | None, after: str | None, errors: dict[str, str]
) -> None:
    """失联 only through a case: not set directly; not left while a case is open."""
    if after is None or after == before:
        return
    if after == "lost_contact":
        errors["status"] = LOST_CONTACT_SET
    elif before == "lost_contact" and member.id is not None:
        from app.followup.models import LostContactCase

        open_case = db.session.execute(
            select(LostContactCase.id).where(
                LostContactCase.member_id == member.id, LostContactCase.stage != "closed"
            )
        ).first()
        if open_case is not None:
            errors["status"] = LOST_CONTACT_LEAVE


def _flush(member: Member) -> None:
    """Flush; a concurrent save becomes a ``ConflictError`` (``fresh_conflict`` reads the
    newer values after the rollback)."""
    member_id = member.id
    flush_or_conflict(lambda: ConflictError(member_id, None, {}))


def fresh_conflict(conflict: ConflictError) -> ConflictError:
    """After the rollback: the values someone else saved, for the conflict message."""
    if conflict.current_version is None:
        fresh = db.session.get(Member, conflict.member_id, populate_existing=True)
        if fresh is not None:
            conflict.current_version, conflict.current = fresh.version, snapshot(fresh)
    return conflict


@_one_update
def override_category(
    member: Member,
    category: str,
    reason: str | None,
    user: Any,
    expected_version: int | None = None,
    effective: date | None = None,
) -> None:
    """Staff set the category by hand, with a written reason (kept until cleared)."""
    errors = {}
    if category not in CATEGORIES:
        errors["category"] = "请选择五管分类"
    reason = clean_text(reason)
    if not reason:
        errors["reason"] = "调整分类必须填写理由"
    elif len(reason) > 300:
        errors["reason"] = "理由不能超过 300 个字"
    if errors:
        raise DomainError(errors)
    if expected_version is not None and expected_version != member.version:
        raise ConflictError(member.id, member.version, snapshot(member))
    effective = effective or local_today()
    before = {"category": member.category, "reason": member.category_override_reason}
    member.category = category
    member.category_override_reason = reason
    member.category_proposed = proposed_category(member, effective)
    record_history(member, "category", user, effective, reason)
    record(
        "member_category_override",
        member,
        user=user,
        before=before,
        after={"category": category, "reason": reason},
    )
    _flush(member)


@_one_update
def clear_override(
    member: Member, user: Any, reason: str | None = None, effective: date | None = None
) -> None:
    """Back to the proposed category."""
    effective = effective or local_today()
    before = {"category": member.category, "reason": member.category_override_reason}
    member.category_override_reason = None
    _apply_classification(member, effective)
    record_history(member, "category", user, effective, reason or "恢复系统建议分类")
    record(
        "member_category_clear",
        member,
        user=user,
        before=before,
        after={"category": member.category},
    )
    _flush(member)


# ---- reveal -------------------------------------------------------------------------------


def reveal_id_number(member: Member, user: Any) -> str:
    """The full ID number, for roles allowed to see it; every attempt is audited."""
    if not getattr(user, "can_reveal", False):
        record("member_reveal", member, user=user, result="denied")
        raise Forbidden()
    record("member_reveal", member, user=user, detail="查看完整身份证号和手机号")
    return decrypt(member.id_number_enc)
