"""Comparing a registration with an existing member record (what would change on approval), and
with another submission for the same ID number."""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import select

from app.extensions import db
from app.members.models import (
    Member,
)
from app.members.validation import CHOICE_FIELDS
from app.organization.models import Place
from app.registration import rules
from app.registration.changes import member_changes
from app.registration.models import Registration
from app.security import mask_phone
from app.timeutil import local_today

# ---- comparison with an existing record ---------------------------------------------------------

DIFF_FIELDS = (
    ("name", "姓名"),
    ("phone", "手机号"),
    ("member_type", "党员类型"),
    ("joined_on", "入党日期"),
    ("full_member_on", "转正日期"),
    ("employment", "就业状态"),
    ("relation_location", "组织关系所在"),
    ("relation_org_name", "组织关系所在党组织"),
    ("work_unit", "工作单位"),
    ("work_unit_org", "单位党组织"),
    ("mobility", "流动情况"),
    ("mobility_place", "流入来源或流出去向"),
    ("mobility_since", "流动开始日期"),
    ("mobility_expected_return", "预计返回日期"),
    ("mobility_occupation", "从事职业"),
    ("building_id", "楼栋"),
    ("room", "房号"),
)
CHOICE_LABELS = CHOICE_FIELDS  # the member record's coded fields and their labels


def _show(key: str, value: Any, places: dict[int, str]) -> str:
    if value is None or value == "":
        return "—"
    if key == "phone":
        return mask_phone(value)
    if key in CHOICE_LABELS:
        return CHOICE_LABELS[key].get(value, value)
    if key == "building_id":
        return places.get(value, str(value))
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def diff_rows(registration: Registration, member: Member | None) -> list[dict[str, Any]]:
    """Side by side: what approving would write, and the member record as it is."""
    changes = member_changes(registration)
    ids = {changes.get("building_id"), getattr(member, "building_id", None)} - {None}
    places = (
        dict(db.session.execute(select(Place.id, Place.name).where(Place.id.in_(ids))).all())
        if ids
        else {}
    )
    rows = []
    for key, text in DIFF_FIELDS:
        if key not in changes and member is None:
            continue
        new = changes.get(key) if key in changes else None
        old = getattr(member, key, None) if member is not None else None
        shown_new = _show(key, new, places) if key in changes else "（不变）"
        shown_old = _show(key, old, places) if member is not None else ""
        rows.append(
            {
                "label": text,
                "new": shown_new,
                "old": shown_old,
                "differs": member is not None and key in changes and new != old,
            }
        )
    return rows


def today() -> date:
    return local_today()


# ---- comparison with another submission for the same ID number -----------------------------------

_NOT_COMPARED = {"consent", "sensitive_consent", "id_number"}


def _submission_value(registration: Registration, name: str, places: dict[int, str]) -> str:
    value = (registration.data or {}).get(name)
    if value is None or value == "":
        return "—"
    if name == "phone":
        return mask_phone(value)
    if name in ("community_id", "grid_id", "building_id"):
        return places.get(value, str(value))
    if name in rules.CHOICES:
        return rules.CHOICES[name].get(value, value)
    return str(value)


def submission_rows(registration: Registration, other: Registration) -> list[dict[str, Any]]:
    """Side by side: the registration under review and another submission for the same ID
    number, field by field over both kinds' fields (the ID number is the same by definition)."""
    names = [n for n in rules.all_fields(registration.kind) if n not in _NOT_COMPARED]
    names += [n for n in rules.all_fields(other.kind) if n not in _NOT_COMPARED and n not in names]
    ids = {
        (r.data or {}).get(n)
        for r in (registration, other)
        for n in ("community_id", "grid_id", "building_id")
    } - {None, ""}
    places = (
        dict(db.session.execute(select(Place.id, Place.name).where(Place.id.in_(ids))).all())
        if ids
        else {}
    )
    rows = [
        {
            "label": "登记类型",
            "new": other.kind_label,
            "old": registration.kind_label,
            "differs": other.kind != registration.kind,
        }
    ]
    for name in names:
        raw_old = (registration.data or {}).get(name) or None
        raw_new = (other.data or {}).get(name) or None
        if raw_old is None and raw_new is None:
            continue
        kind = other.kind if name in rules.all_fields(other.kind) else registration.kind
        rows.append(
            {
                "label": rules.label(kind, name),
                "new": _submission_value(other, name, places),
                "old": _submission_value(registration, name, places),
                "differs": raw_old != raw_new,  # on the values: masked phones may look alike
            }
        )
    return rows
