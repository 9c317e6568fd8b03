"""Changing member records: create, update, classify, override, reveal, history, "as of".

Plain functions: they validate with the pure rules (identity.py, rules.py), change the session,
``flush``, write the audit entry with ``record()`` and never commit — the request (or the CLI
command) owns the transaction.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sqlalchemy import and_, exists, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import aliased
from sqlalchemy.orm.exc import StaleDataError
from werkzeug.exceptions import Forbidden

from app.audit import record
from app.certificates.models import Certificate
from app.crypto import decrypt, encrypt, keyed_hash, last4_hash
from app.errors import Conflict, DomainError
from app.extensions import db
from app.members.identity import IdNumberError, normalize_mobile, normalize_phone, parse_id_number
from app.members.models import (
    CATEGORIES,
    EMPLOYMENTS,
    MEMBER_TYPES,
    MOBILITIES,
    RELATION_LOCATIONS,
    SEXES,
    STATUSES,
    Member,
    MemberHistory,
)
from app.members.rules import (
    ClassificationFacts,
    classify,
    identity_errors,
    month_end,
    name_keys,
    party_date_errors,
)
from app.names import name_problem
from app.organization.models import Org, Place
from app.security import ID_CHANGED, ID_RECORDED, mask_phone
from app.settings import get_setting
from app.timeutil import local_today, utcnow

TEXT_FIELDS = (
    "name",
    "ethnicity",
    "native_place",
    "education",
    "degree",
    "introducers",
    "party_post",
    "relation_org_name",
    "work_unit",
    "work_unit_org",
    "work_unit_contact",
    "original_unit",
    "employer",
    "hardship",
    "aid_received",
    "mobility_place",
    "mobility_occupation",
    "mobility_contact",
    "origin_org_contact",
    "room",
    "address",
    "notes",
)
CHOICE_FIELDS: dict[str, dict[str, str]] = {
    "sex": SEXES,
    "member_type": MEMBER_TYPES,
    "relation_location": RELATION_LOCATIONS,
    "employment": EMPLOYMENTS,
    "mobility": MOBILITIES,
    "status": STATUSES,
}
DATE_FIELDS = (
    "birth_date",
    "joined_on",
    "full_member_on",
    "mobility_since",
    "mobility_expected_return",
    "dues_paid_until",
)
INT_FIELDS = ("monthly_income_fen", "dues_fen")
BOOL_FIELDS = ("dues_reduced",)
PLACEMENT_FIELDS = ("community_id", "grid_id", "building_id", "branch_id", "group_id")
LIAISON_FIELDS = ("liaison_user_id", "liaison_member_id")
PHONE_FIELDS = ("phone", "second_phone")
# Everything a caller may set (plus "id_number", the raw resident ID number).
FIELDS = (
    TEXT_FIELDS
    + tuple(CHOICE_FIELDS)
    + DATE_FIELDS
    + INT_FIELDS
    + BOOL_FIELDS
    + PLACEMENT_FIELDS
    + LIAISON_FIELDS
    + PHONE_FIELDS
)
TEXT_LIMITS = {
    "name": 50,
    "ethnicity": 20,
    "education": 30,
    "degree": 30,
    "party_post": 50,
    "introducers": 100,
    "room": 30,
    "address": 200,
    "hardship": 200,
    "aid_received": 200,
}
FIELD_LABELS = {
    "name": "姓名",
    "id_number": "身份证号",
    "sex": "性别",
    "birth_date": "出生日期",
    "ethnicity": "民族",
    "native_place": "籍贯",
    "phone": "手机号",
    "second_phone": "其他电话",
    "education": "学历",
    "degree": "学位",
    "joined_on": "入党日期",
    "introducers": "入党介绍人",
    "member_type": "党员类型",
    "full_member_on": "转正日期",
    "party_post": "党内职务",
    "relation_location": "组织关系所在",
    "relation_org_name": "组织关系所在党组织",
    "employment": "就业状态",
    "work_unit": "工作单位",
    "work_unit_org": "单位党组织",
    "work_unit_contact": "单位联系人",
    "original_unit": "原工作单位",
    "employer": "现工作单位或服务场所",
    "monthly_income_fen": "月收入",
    "hardship": "困难情况",
    "aid_received": "帮扶情况",
    "dues_fen": "党费标准",
    "dues_reduced": "党费减免",
    "dues_paid_until": "党费交至",
    "mobility": "流动情况",
    "mobility_place": "流入来源或流出去向",
    "mobility_since": "流动开始日期",
    "mobility_expected_return": "预计返回日期",
    "mobility_occupation": "外出从事职业",
    "mobility_contact": "外出期间联系方式",
    "origin_org_contact": "原党组织联系人",
    "status": "状态",
    "category": "五管分类",
    "community_id": "社区",
    "grid_id": "网格",
    "building_id": "楼栋",
    "room": "房号",
    "address": "地址",
    "branch_id": "党支部",
    "group_id": "党小组",
    "liaison_user_id": "联络人（工作人员）",
    "liaison_member_id": "联络人（党员）",
    "notes": "备注",
    "reason": "理由",
    "category_proposed": "系统建议分类",
}
ASPECT_FIELDS: dict[str, tuple[str, ...]] = {
    "category": ("category", "category_proposed", "category_override_reason"),
    "placement": PLACEMENT_FIELDS,
    "status": ("status",),
    "mobility": ("mobility", "mobility_place", "mobility_since", "mobility_expected_return"),
    "liaison": LIAISON_FIELDS,
}
# Changes to these fields can change the proposed five-management category.
CLASSIFICATION_FIELDS = {
    "employment",
    "relation_location",
    "mobility",
    "mobility_since",
    "mobility_expected_return",
}


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


# ---- validation ---------------------------------------------------------------------------


def _text(value: Any) -> str | None:
    if value is None:
        return None
    text = str(value).strip()
    return text or None


def clean(data: dict[str, Any], base: dict[str, Any], today: date) -> dict[str, Any]:
    """Validate ``data`` on top of ``base`` (the current values); return the cleaned changes.

    Raises ``DomainError`` with every problem found, field by field.
    """
    errors: dict[str, str] = {}
    out: dict[str, Any] = {}
    for key, value in data.items():
        if key == "id_number":
            continue
        if key not in FIELDS:
            raise KeyError(f"unknown member field {key!r}")
        if key in TEXT_FIELDS:
            value = _text(value)
            limit = TEXT_LIMITS.get(key, 100 if key != "notes" else 5000)
            if value and len(value) > limit:
                errors[key] = f"{FIELD_LABELS[key]}不能超过 {limit} 个字"
            elif key == "name" and (problem := name_problem(value)):
                errors[key] = problem
        elif key in CHOICE_FIELDS:
            if value not in CHOICE_FIELDS[key]:
                errors[key] = f"请选择{FIELD_LABELS[key]}"
        elif key in PHONE_FIELDS:
            value = _text(value)
            if value:
                try:
                    value = (normalize_mobile if key == "phone" else normalize_phone)(value)
                except ValueError as exc:
                    errors[key] = str(exc)
        elif key in INT_FIELDS and value is not None and (not isinstance(value, int) or value < 0):
            errors[key] = f"{FIELD_LABELS[key]}应为不小于 0 的金额"
        out[key] = value
    merged = {**base, **out}
    if "name" in data and not merged.get("name"):
        errors["name"] = "请填写姓名"

    if "id_number" in data:
        try:
            parsed = parse_id_number(data["id_number"], today=today)
        except IdNumberError as exc:
            errors["id_number"] = str(exc)
        else:
            out["id_number"] = parsed.value
            # Birth date and sex come from the number; given values must agree with it.
            errors.update(
                identity_errors(
                    parsed.birth_date, parsed.sex, out.get("birth_date"), out.get("sex")
                )
            )
            out["birth_date"] = merged["birth_date"] = parsed.birth_date
            out["sex"] = merged["sex"] = parsed.sex
    elif "birth_date" in out or "sex" in out:
        errors.update(
            identity_errors(base["birth_date"], base["sex"], out.get("birth_date"), out.get("sex"))
        )

    for key, message in party_date_errors(
        merged.get("birth_date"),
        merged.get("joined_on"),
        merged.get("full_member_on"),
        merged.get("member_type") or "formal",
        today,
    ).items():
        errors.setdefault(key, message)

    mobility = merged.get("mobility") or "none"
    since, back = merged.get("mobility_since"), merged.get("mobility_expected_return")
    if mobility != "none":
        if since is None:
            errors.setdefault("mobility_since", "流入或流出时请填写流动开始日期")
        elif since > today:
            errors.setdefault("mobility_since", "流动开始日期不能晚于今天")
        elif back is not None and back < since:
            errors.setdefault("mobility_expected_return", "预计返回日期不能早于流动开始日期")
        if not merged.get("mobility_place"):
            place = "流入来源" if mobility == "flow_in" else "流出去向"
            errors.setdefault("mobility_place", f"请填写{place}")
    if merged.get("relation_location") == "elsewhere" and not merged.get("relation_org_name"):
        errors.setdefault("relation_org_name", "组织关系在其他党组织时，请填写该党组织名称")
    if errors:
        raise DomainError(errors)
    return out


def validation_errors(member: Member, changes: dict[str, Any]) -> dict[str, str]:
    """The rule errors ``update_member`` would raise for ``changes``, without changing anything."""
    changes = {k: v for k, v in changes.items() if k != "id_number" or _text(v)}
    try:
        clean(changes, snapshot(member), local_today())
    except DomainError as exc:
        return exc.errors
    return {}


def _derive_placement(values: dict[str, Any], errors: dict[str, str]) -> None:
    """A building implies its grid and community; a group implies its branch."""
    if values.get("building_id"):
        building = db.session.get(Place, values["building_id"])
        if building is None or building.kind != "building":
            errors["building_id"] = "所选楼栋不存在"
        else:
            grid = db.session.get(Place, building.parent_id) if building.parent_id else None
            values["grid_id"] = grid.id if grid else None
            values["community_id"] = grid.parent_id if grid else None
    elif values.get("grid_id"):
        grid = db.session.get(Place, values["grid_id"])
        if grid is None or grid.kind != "grid":
            errors["grid_id"] = "所选网格不存在"
        else:
            values["community_id"] = grid.parent_id
    if values.get("group_id"):
        group = db.session.get(Org, values["group_id"])
        if group is None or group.kind != "group":
            errors["group_id"] = "所选党小组不存在"
        else:
            values["branch_id"] = group.parent_id
    elif values.get("branch_id"):
        branch = db.session.get(Org, values["branch_id"])
        if branch is None or branch.kind != "branch":
            errors["branch_id"] = "所选党支部不存在"


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


# ---- history ------------------------------------------------------------------------------


def _json(value: Any) -> Any:
    return value.isoformat() if isinstance(value, date) else value


def aspect_value(member: Member, aspect: str) -> dict[str, Any]:
    return {key: _json(getattr(member, key)) for key in ASPECT_FIELDS[aspect]}


def record_history(
    member: Member,
    aspect: str,
    user: Any,
    effective: date,
    reason: str | None = None,
) -> MemberHistory | None:
    """Close the open history row of ``aspect`` and open one with the member's current value.

    Nothing happens when the value did not change. The one helper for all five aspects.
    """
    value = aspect_value(member, aspect)
    open_row = db.session.execute(
        select(MemberHistory).where(
            MemberHistory.member_id == member.id,
            MemberHistory.aspect == aspect,
            MemberHistory.effective_to.is_(None),
        )
    ).scalar_one_or_none()
    if open_row is not None:
        if open_row.value == value:
            return None
        if effective < open_row.effective_from:
            raise DomainError(
                {
                    "effective_on": "生效日期不能早于上一次变更的生效日期"
                    f"（{open_row.effective_from.isoformat()}）"
                }
            )
        open_row.effective_to = effective
    row = MemberHistory(
        member_id=member.id,
        aspect=aspect,
        value=value,
        effective_from=effective,
        reason=reason,
        changed_by_id=getattr(user, "id", None),
    )
    db.session.add(row)
    return row


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
    facts = ClassificationFacts(
        employment=member.employment or "resident",
        relation_location=member.relation_location or "community",
        mobility=member.mobility or "none",
        mobility_since=member.mobility_since,
        mobility_expected_return=member.mobility_expected_return,
        has_open_certificate=has_open_certificate(member),
    )
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
        Member.category_proposed,
    )
    if not everyone:
        query = query.where(Member.mobility == "flow_out")
    due = []
    for row in db.session.execute(query):
        facts = ClassificationFacts(
            employment=row.employment or "resident",
            relation_location=row.relation_location or "community",
            mobility=row.mobility or "none",
            mobility_since=row.mobility_since,
            mobility_expected_return=row.mobility_expected_return,
            has_open_certificate=row.id in open_certificates,
        )
        if classify(facts, today, months) != row.category_proposed:
            due.append(row.id)
    if apply:
        for start in range(0, len(due), 500):
            chunk = due[start : start + 500]
            for member in db.session.execute(select(Member).where(Member.id.in_(chunk))).scalars():
                reclassify(member, user, effective=today, reason="按规则定期重新分类")
    return due


# ---- create / update ----------------------------------------------------------------------


def snapshot(member: Member) -> dict[str, Any]:
    return {key: getattr(member, key) for key in FIELDS + ("category",)}


NEW_MEMBER_BASE = {
    "birth_date": None,
    "sex": None,
    "member_type": "formal",
    "mobility": "none",
    "relation_location": "community",
    "employment": "resident",
}
NEW_MEMBER_DEFAULTS = (
    ("ethnicity", "汉族"),
    ("member_type", "formal"),
    ("relation_location", "community"),
    ("employment", "resident"),
    ("mobility", "none"),
    ("status", "active"),
)


def clean_new(data: dict[str, Any], today: date) -> dict[str, Any]:
    """The validation of a new member's data (the rules ``create_member`` applies, without the
    database checks): returns the cleaned values, ``id_number`` normalized, or raises
    ``DomainError``. The roster import calls this for every row it would create."""
    missing = {}
    if not _text(data.get("name")):
        missing["name"] = "请填写姓名"
    if not _text(data.get("id_number")):
        missing["id_number"] = "请填写身份证号"
    try:
        values = clean(
            {k: v for k, v in data.items() if v is not None or k == "id_number"},
            NEW_MEMBER_BASE,
            today,
        )
    except DomainError as exc:
        raise DomainError({**missing, **exc.errors}) from None
    if missing:
        raise DomainError(missing)
    return values


def create_member(
    data: dict[str, Any], user: Any, effective: date | None = None, source: str = "staff"
) -> Member:
    today = local_today()
    effective = effective or today
    values = clean_new(data, today)
    errors: dict[str, str] = {}
    _derive_placement(values, errors)
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
                source=source,
                version=1,
                created_at=now,
                updated_at=now,
                category_override_reason=None,
            )
            if item["name"] not in name_cache:
                name_cache[item["name"]] = name_keys(item["name"])
            item["name_pinyin"], item["name_initials"] = name_cache[item["name"]]
            facts = ClassificationFacts(
                employment=item["employment"],
                relation_location=item["relation_location"],
                mobility=item["mobility"],
                mobility_since=item["mobility_since"],
                mobility_expected_return=item["mobility_expected_return"],
            )
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
                        "value": {key: _json(item.get(key)) for key in keys},
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
) -> dict[str, tuple[Any, Any]]:
    """Apply ``changes``; returns {field: (before, after)} of what actually changed.

    Raises ``ConflictError`` when the member was saved by someone else since ``expected_version``
    was read, ``DomainError`` for invalid data.
    """
    today = local_today()
    effective = effective or today
    if expected_version is not None and expected_version != member.version:
        raise ConflictError(member.id, member.version, snapshot(member))
    if effective > today:
        raise DomainError({"effective_on": "生效日期不能晚于今天"})
    base = snapshot(member)
    changes = dict(changes)
    if "id_number" in changes and not _text(changes["id_number"]):
        changes.pop("id_number")  # left empty on the form: unchanged
    values = clean(changes, base, today)
    errors: dict[str, str] = {}
    if any(k in values for k in PLACEMENT_FIELDS):
        _derive_placement(values, errors)
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


def _flush(member: Member) -> None:
    """Flush; a concurrent save (version mismatch in the UPDATE) becomes a ``ConflictError``
    (the caller rolls back, then ``fresh_conflict`` reads the newer values)."""
    member_id = member.id
    try:
        db.session.flush()
    except StaleDataError:
        raise ConflictError(member_id, None, {}) from None


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
    reason = _text(reason)
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


# ---- "as of" a month ----------------------------------------------------------------------


def changed_since(month: str | date):
    """SELECT of the members whose category or status changed after the end of ``month``
    (or who were created after it): only these differ from today's values as of that month."""
    end = month_end(month)
    return select(MemberHistory.member_id).where(
        MemberHistory.aspect.in_(("category", "status")), MemberHistory.effective_from > end
    )  # no DISTINCT: used with IN / NOT IN, and it would steer SQLite off the as-of index


def as_of(month: str | date, members=None):  # noqa: ANN001
    """Subquery (member_id, category, status) as of the end of ``month`` (YYYY-MM or a date).

    Members who did not exist yet at that time have no row. ``members`` (a SELECT of member
    ids) restricts the subquery to those members.
    """
    end = month_end(month)
    cat = aliased(MemberHistory)
    st = aliased(MemberHistory)

    def valid(h):  # noqa: ANN001, ANN202
        return and_(h.effective_from <= end, or_(h.effective_to.is_(None), h.effective_to > end))

    return (
        select(
            cat.member_id.label("member_id"),
            cat.value["category"].as_string().label("category"),
            st.value["status"].as_string().label("status"),
        )
        .select_from(cat)
        .join(st, and_(st.member_id == cat.member_id, st.aspect == "status", valid(st)))
        .where(
            cat.aspect == "category",
            valid(cat),
            *([cat.member_id.in_(members)] if members is not None else []),
        )
        .subquery("as_of")
    )
