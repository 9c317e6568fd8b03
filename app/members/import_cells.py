"""One roster row's cells → member field values: the accepted words for each coded column,
and places and organizations matched by name inside the row's community (never created here —
that is the structure import's job). Problems go into an ``errors`` dict keyed by member field;
``map_errors`` moves them onto the roster's columns."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from app.extensions import db
from app.members.import_rows import parse_roster_date
from app.members.models import EMPLOYMENTS, STATUSES
from app.organization.models import Org, Place
from app.security import mask_phone

SEX_VALUES = {"男": "M", "女": "F", "M": "M", "F": "F", "男性": "M", "女性": "F"}
MEMBER_TYPE_VALUES = {"正式": "formal", "正式党员": "formal", "预备": "probationary"}
MEMBER_TYPE_VALUES["预备党员"] = "probationary"
EMPLOYMENT_VALUES = {label: key for key, label in EMPLOYMENTS.items()} | {
    "其他": "resident",
    "居民": "resident",
    "其它": "resident",
    "退休": "retired",
    "离休": "retired",
    "离退休人员": "retired",
    "下岗职工": "laid_off",
    "下岗失业": "laid_off",
    "失业": "laid_off",
    "复转军人": "unplaced_veteran",
    "未就业毕业生": "unemployed_graduate",
    "未就业高校毕业生": "unemployed_graduate",
}
RELATION_VALUES = {"本社区": "community", "工作单位": "work_unit", "原单位": "original_unit"}
RELATION_VALUES |= {"社区": "community", "原工作单位": "original_unit"}
MOBILITY_VALUES = {"": "none", "无": "none", "流入": "flow_in", "流出": "flow_out"}
# Older spreadsheets say 已流出 for the status now labelled 长期外出.
STATUS_VALUES = {label: key for key, label in STATUSES.items()} | {
    "在册": "active",
    "已流出": "flowed_out",
}
# Where a service's error on a member field is shown: the roster column.
FIELD_COLUMN = {
    "name": "name",
    "id_number": "id_number",
    "birth_date": "id_number",
    "sex": "sex",
    "ethnicity": "ethnicity",
    "phone": "phone",
    "joined_on": "joined_on",
    "full_member_on": "full_member_on",
    "member_type": "member_type",
    "employment": "employment",
    "work_unit": "work_unit",
    "work_unit_org": "work_unit_org",
    "relation_location": "relation",
    "relation_org_name": "relation",
    "mobility": "mobility",
    "mobility_place": "mobility_place",
    "mobility_since": "mobility_since",
    "mobility_expected_return": "mobility_since",
    "community_id": "community",
    "grid_id": "grid",
    "building_id": "building",
    "room": "room",
    "branch_id": "branch",
    "group_id": "group",
    "notes": "notes",
    "status": "status",
}


class RosterPlaces:
    """Places and orgs by name (one query each), for matching the rows' names."""

    def __init__(self) -> None:
        places = db.session.execute(
            select(Place.id, Place.kind, Place.name, Place.parent_id, Place.retired_at).order_by(
                Place.retired_at.is_not(None), Place.position, Place.id
            )
        ).all()
        by_id = {p.id: p for p in places}
        self.community: dict[str, Any] = {}
        self.grid: dict[tuple, Any] = {}
        self.building: dict[tuple, Any] = {}
        self.building_in_community: dict[tuple, list] = {}
        self.place_parent = {p.id: p.parent_id for p in places}
        self.place_name = {p.id: p.name for p in places}
        for p in places:
            if p.kind == "community" and p.parent_id is None:
                self.community.setdefault(p.name, p)
        for p in places:
            parent = by_id.get(p.parent_id)
            if p.kind == "grid" and parent is not None and parent.kind == "community":
                self.grid.setdefault((parent.name, p.name), p)
        for p in places:
            grid = by_id.get(p.parent_id)
            community = by_id.get(grid.parent_id) if grid is not None else None
            if p.kind == "building" and community is not None and community.kind == "community":
                self.building.setdefault((community.name, grid.name, p.name), p)
                self.building_in_community.setdefault((community.name, p.name), []).append(p)
        orgs = db.session.execute(
            select(
                Org.id, Org.kind, Org.name, Org.parent_id, Org.place_id, Org.retired_at
            ).order_by(Org.retired_at.is_not(None), Org.position, Org.id)
        ).all()
        org_by_id = {o.id: o for o in orgs}
        self.org_name = {o.id: o.name for o in orgs}
        self.org_parent = {o.id: o.parent_id for o in orgs}
        community_name = {p.id: p.name for p in places if p.kind == "community"}
        committee_community = {
            o.id: community_name[o.place_id]
            for o in orgs
            if o.kind == "community_committee" and o.place_id in community_name
        }
        self.branch: dict[tuple, Any] = {}
        self.group: dict[tuple, Any] = {}
        self.group_in_community: dict[tuple, list] = {}
        for o in orgs:
            if o.kind == "branch" and o.parent_id in committee_community:
                self.branch.setdefault((committee_community[o.parent_id], o.name), o)
        for o in orgs:
            branch = org_by_id.get(o.parent_id)
            if o.kind == "group" and branch is not None and branch.parent_id in committee_community:
                community = committee_community[branch.parent_id]
                self.group.setdefault((community, branch.name, o.name), o)
                self.group_in_community.setdefault((community, o.name), []).append(o)
        self.only_community = next(iter(self.community)) if len(self.community) == 1 else None


def convert_row(
    v: dict[str, str], places: RosterPlaces, existing: Any, errors: dict
) -> dict[str, Any]:
    """Roster cells → member field values (only what the row sets); problems go to ``errors``."""
    data: dict[str, Any] = {}
    for key in ("name", "ethnicity", "work_unit", "work_unit_org", "room", "notes"):
        if v.get(key):
            data[key] = v[key]
    if v.get("phone"):
        phone = v["phone"]
        if existing is not None and existing.phone and phone == mask_phone(existing.phone):
            pass  # a masked browser export: unchanged
        else:
            data["phone"] = phone
    if v.get("sex"):
        if v["sex"] in SEX_VALUES:
            data["sex"] = SEX_VALUES[v["sex"]]
        else:
            errors["sex"] = "应为 男 或 女"
    for key in ("joined_on", "full_member_on", "mobility_since"):
        if v.get(key):
            try:
                data[key] = parse_roster_date(v[key])
            except ValueError as exc:
                errors[key] = str(exc)
    if v.get("member_type"):
        if v["member_type"] in MEMBER_TYPE_VALUES:
            data["member_type"] = MEMBER_TYPE_VALUES[v["member_type"]]
        else:
            errors["member_type"] = "应为 正式 或 预备"
    if v.get("employment"):
        if v["employment"] in EMPLOYMENT_VALUES:
            data["employment"] = EMPLOYMENT_VALUES[v["employment"]]
        else:
            errors["employment"] = "应为 " + "、".join(EMPLOYMENTS.values()) + " 之一"
    if v.get("relation"):
        relation = RELATION_VALUES.get(v["relation"])
        if relation is not None:
            data["relation_location"] = relation
        else:  # the name of another party organization: the relation is held elsewhere
            data["relation_location"] = "elsewhere"
            data["relation_org_name"] = v["relation"]
    if "mobility" in v:
        if v["mobility"] in MOBILITY_VALUES:
            data["mobility"] = MOBILITY_VALUES[v["mobility"]]
            if (
                data["mobility"] == "none"
                and existing is not None
                and existing.mobility != "none"
                and not v.get("mobility_since")
            ):
                # Came back: the old destination and dates no longer apply.
                data.update(mobility_place=None, mobility_since=None, mobility_expected_return=None)
        else:
            errors["mobility"] = "应为 无、流入 或 流出"
    if v.get("mobility_place"):
        data["mobility_place"] = v["mobility_place"]
    if v.get("status"):
        if v["status"] in STATUS_VALUES:
            data["status"] = STATUS_VALUES[v["status"]]
        else:
            errors["status"] = "应为 " + "、".join(STATUSES.values()) + " 之一"
    place_ids(v, places, data, errors)
    return data


def place_ids(v: dict[str, str], places: RosterPlaces, data: dict, errors: dict) -> None:
    community_name = v.get("community") or ""
    grid_name, building_name = v.get("grid") or "", v.get("building") or ""
    branch_name, group_name = v.get("branch") or "", v.get("group") or ""
    if not community_name and (grid_name or building_name or branch_name or group_name):
        if places.only_community is None:
            errors["community"] = "填写了网格、楼栋或支部时须同时填写社区"
            return
        community_name = places.only_community
    if community_name:
        community = places.community.get(community_name)
        if community is None:
            errors["community"] = f"社区「{community_name}」不存在（请先建立组织与网格）"
            return
        if building_name:
            if grid_name:
                building = places.building.get((community_name, grid_name, building_name))
            else:
                found = places.building_in_community.get((community_name, building_name), [])
                building = found[0] if len(found) == 1 else None
                if len(found) > 1:
                    errors["grid"] = f"社区内有多个「{building_name}」，请填写网格"
                    return
            if building is None:
                target = (
                    "grid"
                    if grid_name and (community_name, grid_name) not in places.grid
                    else "building"
                )
                label = grid_name if target == "grid" else building_name
                errors[target] = f"「{label}」在「{community_name}」中不存在"
                return
            grid_id = places.place_parent[building.id]
            data.update(building_id=building.id, grid_id=grid_id, community_id=community.id)
        elif grid_name:
            grid = places.grid.get((community_name, grid_name))
            if grid is None:
                errors["grid"] = f"网格「{grid_name}」在「{community_name}」中不存在"
                return
            data.update(building_id=None, grid_id=grid.id, community_id=community.id)
        else:
            data.update(building_id=None, grid_id=None, community_id=community.id)
    if group_name:
        if branch_name:
            group = places.group.get((community_name, branch_name, group_name))
            if group is None and (community_name, branch_name) not in places.branch:
                errors["branch"] = f"支部「{branch_name}」不在「{community_name}」党组织下"
                return
        else:
            found = places.group_in_community.get((community_name, group_name), [])
            group = found[0] if len(found) == 1 else None
        if group is None:
            errors["group"] = f"党小组「{group_name}」不存在或不在所填支部下"
            return
        data.update(group_id=group.id, branch_id=places.org_parent[group.id])
    elif branch_name:
        branch = places.branch.get((community_name, branch_name))
        if branch is None:
            errors["branch"] = f"支部「{branch_name}」不在「{community_name}」党组织下"
            return
        data.update(branch_id=branch.id, group_id=None)


def map_errors(errors: dict[str, str], columns: set[str]) -> dict[str, str]:
    out: dict[str, str] = {}
    for key, message in errors.items():
        column = FIELD_COLUMN.get(key, "id_number")
        if column == "sex" and "sex" not in columns:
            column = "id_number"
        out.setdefault(column, message)
    return out
