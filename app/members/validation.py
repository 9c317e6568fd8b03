"""A member record's fields and their validation: labels, limits, choices, ``clean``.

Pure checks on top of the rules (identity.py, rules.py); the only database reads are the
placement look-ups (a building implies its grid and community, a group its branch).
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from app.errors import DomainError
from app.extensions import db
from app.members.identity import IdNumberError, normalize_mobile, normalize_phone, parse_id_number
from app.members.models import (
    EMPLOYMENTS,
    MEMBER_TYPES,
    MOBILITIES,
    RELATION_LOCATIONS,
    SEXES,
    STATUSES,
    Member,
)
from app.members.rules import identity_errors, party_date_errors
from app.names import name_problem
from app.organization.models import Org, Place
from app.timeutil import local_today

PLANNED_TRIP_DAYS = 366  # a flow-out may be recorded up to a year before it starts (计划外出)
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
BOOL_FIELDS = ("dues_reduced", "mobility_open_ended")
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
    "mobility_open_ended": "长期外出（返回时间不定）",
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
    "mobility": (
        "mobility",
        "mobility_place",
        "mobility_since",
        "mobility_expected_return",
        "mobility_open_ended",
    ),
    "liaison": LIAISON_FIELDS,
}
# Changes to these fields can change the proposed five-management category.
CLASSIFICATION_FIELDS = {
    "employment",
    "relation_location",
    "mobility",
    "mobility_since",
    "mobility_expected_return",
    "mobility_open_ended",
}


# ---- validation ---------------------------------------------------------------------------


def clean_text(value: Any) -> str | None:
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
            value = clean_text(value)
            limit = TEXT_LIMITS.get(key, 100 if key != "notes" else 5000)
            if value and len(value) > limit:
                errors[key] = f"{FIELD_LABELS[key]}不能超过 {limit} 个字"
            elif key == "name" and (problem := name_problem(value)):
                errors[key] = problem
        elif key in CHOICE_FIELDS:
            if value not in CHOICE_FIELDS[key]:
                errors[key] = f"请选择{FIELD_LABELS[key]}"
        elif key in PHONE_FIELDS:
            value = clean_text(value)
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
        elif since > today and mobility == "flow_in":
            errors.setdefault("mobility_since", "流入日期不能晚于今天")
        elif since > today + timedelta(days=PLANNED_TRIP_DAYS):
            errors.setdefault("mobility_since", "计划外出日期不能晚于一年以后")
        elif back is not None and back < since:
            errors.setdefault("mobility_expected_return", "预计返回日期不能早于流动开始日期")
    if merged.get("mobility_open_ended"):
        if mobility != "flow_out":
            out["mobility_open_ended"] = False  # only a flow-out can be open-ended
        elif back is not None:
            errors.setdefault(
                "mobility_expected_return",
                "已勾选“长期外出（返回时间不定）”，请不要填写预计返回日期",
            )
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
    changes = {k: v for k, v in changes.items() if k != "id_number" or clean_text(v)}
    try:
        clean(changes, snapshot(member), local_today())
    except DomainError as exc:
        return exc.errors
    return {}


def _node(model, key: str, kind: str, label: str, values: dict, errors: dict):  # noqa: ANN001, ANN202
    """The place or org ``values[key]`` names, if it is of ``kind``; else an error on ``key``."""
    node = db.session.get(model, values[key])
    if node is None or node.kind != kind:
        errors[key] = f"所选{label}不存在"
        return None
    return node


def derive_placement(values: dict[str, Any], errors: dict[str, str]) -> None:
    """A building implies its grid and community; a group implies its branch."""
    if values.get("building_id"):
        building = _node(Place, "building_id", "building", "楼栋", values, errors)
        if building is not None:
            grid = db.session.get(Place, building.parent_id) if building.parent_id else None
            values["grid_id"] = grid.id if grid else None
            values["community_id"] = grid.parent_id if grid else None
    elif values.get("grid_id"):
        grid = _node(Place, "grid_id", "grid", "网格", values, errors)
        if grid is not None:
            values["community_id"] = grid.parent_id
    if values.get("group_id"):
        group = _node(Org, "group_id", "group", "党小组", values, errors)
        if group is not None:
            values["branch_id"] = group.parent_id
    elif values.get("branch_id"):
        _node(Org, "branch_id", "branch", "党支部", values, errors)


def snapshot(member: Member) -> dict[str, Any]:
    return {key: getattr(member, key) for key in FIELDS + ("category",)}


# 失联 is set only by opening a lost-contact case (app.followup.lost_contact), so every 失联
# member has an open case and the two counts agree.
LOST_CONTACT_NEW = "新登记的党员不能直接设为失联：请先按其他状态保存，再在“失联党员”中登记失联"
LOST_CONTACT_SET = (
    "失联状态只能通过登记失联设置（会建立失联登记，便于跟踪查找）：请点击下方“登记失联”"
)
LOST_CONTACT_LEAVE = "该党员有未结案的失联登记，状态随验收结果变化：请在失联登记中验收结案"

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
    if not clean_text(data.get("name")):
        missing["name"] = "请填写姓名"
    if not clean_text(data.get("id_number")):
        missing["id_number"] = "请填写身份证号"
    try:
        values = clean(
            {k: v for k, v in data.items() if v is not None or k == "id_number"},
            NEW_MEMBER_BASE,
            today,
        )
    except DomainError as exc:
        raise DomainError({**missing, **exc.errors}) from None
    if values.get("status") == "lost_contact":
        missing["status"] = LOST_CONTACT_NEW
    if missing:
        raise DomainError(missing)
    return values
