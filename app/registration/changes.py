"""What approving a registration writes into the member record (SPEC §4 fields), by kind."""

from __future__ import annotations

from datetime import date
from typing import Any

from app.extensions import db
from app.organization.models import Place
from app.registration.models import Registration


def brought_date(value: Any) -> date | None:
    """A date as the registration stored it (ISO text), or None."""
    return _date(value)


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
        # The letter's number and issuing organization stay structured on the registration
        # (documents_brought), not in 备注.
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
        # The card number stays structured on the registration (documents_brought) and prefills
        # 登记外地活动证.
    elif kind == "flow_out_report":
        changes.update(
            mobility="flow_out",
            mobility_place=d.get("destination"),
            mobility_since=_date(d.get("mobility_since")),
            mobility_expected_return=_date(d.get("expected_return")),
            mobility_occupation=d.get("occupation"),
            mobility_contact=d.get("contact_there"),
        )
    return changes


def with_group(changes: dict[str, Any], relation_location: str | None) -> None:
    """The building proposes the group (and so the branch) for members whose relation is here."""
    if relation_location != "community" or not changes.get("building_id"):
        return
    building = db.session.get(Place, changes["building_id"])
    if building is not None and building.group_id:
        changes["group_id"] = building.group_id


# What the member brought, as registered: the one place these facts are read from.
BROUGHT = {
    "transfer_letter_no": "组织关系介绍信编号",
    "from_org": "转出党组织",
    "certificate_no": "流动党员活动证编号",
    "certificate_org": "活动证发证党组织",
    "certificate_valid_until": "活动证有效期至",
    "origin_org": "原籍党组织",
    "origin_org_contact": "原籍党组织联系人",
    "expected_until": "预计在本社区居住至",
}


def documents_brought(member_id: int) -> dict[str, Any]:
    """The documents named on the member's latest approved 组织关系转入 / 流入党员登记:
    {field: value} for the fields in ``BROUGHT`` that were filled in."""
    from sqlalchemy import select

    data = db.session.execute(
        select(Registration.data)
        .where(
            Registration.member_id == member_id,
            Registration.status == "approved",
            Registration.kind.in_(("relation_transfer_in", "flow_in")),
        )
        .order_by(Registration.decided_at.desc(), Registration.id.desc())
        .limit(1)
    ).scalar()
    return {key: data[key] for key in BROUGHT if data and data.get(key)}
