"""Roster import and export (SPEC §11): the spreadsheet communities already keep.

Reading goes through ``app.spreadsheets`` (content-checked type, zip-bomb guard, UTF-8/GBK CSV).
``parse_rows`` maps the header (SPEC §11's names and the synonyms in ``SYNONYMS``) and cleans
every cell (trimmed, full-width digits/letters made half-width). ``analyze`` classifies every
row against the database — create / update / unchanged / rejected with the reason per cell —
using the member services' own validators (``services.clean_new`` for new members,
``services.clean`` on top of the stored values for existing ones); ``analyze(..., apply=True)``
runs the same walk and writes, so preview and commit agree.

Semantics of a cell (documented in the README):
- rows are matched on the ID number (keyed hash); a second row with the same number is rejected;
- an empty cell (or a column the file does not have) leaves the stored value unchanged; only
  流动情况 follows SPEC §11: empty means 无 (and a member coming back has the old
  destination and date cleared);
- places and organizations are matched by name inside the row's community (社区 → 网格 → 楼栋;
  所在支部 / 所在党小组 under that community's committee) and are never created here (that is
  the structure import's job);
- 五管分类 is computed by the portal and ignored on import; 状态 is optional.

Writing: new members are inserted in bulk by ``services.bulk_create`` (same defaults, name keys,
encryption, classification and opening history rows as ``create_member``) and the whole import
is one audit entry with its counts; updates go through ``services.update_member`` one by one
(each with its history rows and its own audit entry, reason 名册导入).
"""

from __future__ import annotations

import contextlib
import gc
import re
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from sqlalchemy import case, select

from app.crypto import decrypt, keyed_hash
from app.errors import DomainError
from app.extensions import db
from app.members import services
from app.members.identity import IdNumberError, parse_id_number
from app.members.models import (
    CATEGORIES,
    EMPLOYMENTS,
    MOBILITIES,
    RELATION_LOCATIONS,
    STATUSES,
    Member,
)
from app.organization.models import Org, Place
from app.organization.scope import member_scope_filter, scope_of
from app.security import mask_id_blob, mask_phone
from app.spreadsheets import (
    IMPORT_STATUS_LABELS,
    ImportFileError,
    ImportPreview,
    ImportRow,
    clean_cell,
    map_header,
    read_table,
    write_xlsx,
)
from app.timeutil import local_today

# Column key → header written on export (SPEC §11's names, in its order).
COLUMNS = {
    "name": "姓名",
    "sex": "性别",
    "ethnicity": "民族",
    "id_number": "身份证号",
    "phone": "手机号",
    "joined_on": "入党日期",
    "full_member_on": "转正日期",
    "member_type": "党员类型(正式/预备)",
    "employment": "就业状态",
    "work_unit": "工作单位",
    "work_unit_org": "单位党组织",
    "relation": "组织关系所在",
    "mobility": "流动情况(无/流入/流出)",
    "mobility_place": "流动去向或来源",
    "mobility_since": "流动开始日期",
    "community": "社区",
    "grid": "网格",
    "building": "楼栋",
    "room": "房号",
    "branch": "所在支部",
    "group": "所在党小组",
    "notes": "备注",
}
EXTRA_COLUMNS = {"category": "五管分类", "status": "状态"}
ALL_COLUMNS = {**COLUMNS, **EXTRA_COLUMNS}
SHORT_LABELS = {
    key: re.sub(r"[（(].*[)）]$", "", label) for key, label in ALL_COLUMNS.items()
}  # 党员类型(正式/预备) → 党员类型, for messages
REQUIRED_HEADERS = ("name", "id_number")
SYNONYMS = {
    **{SHORT_LABELS[key]: key for key in ALL_COLUMNS},
    "名字": "name",
    "党员姓名": "name",
    "身份证": "id_number",
    "身份证号码": "id_number",
    "公民身份号码": "id_number",
    "证件号码": "id_number",
    "手机": "phone",
    "手机号码": "phone",
    "联系电话": "phone",
    "电话": "phone",
    "入党时间": "joined_on",
    "转正时间": "full_member_on",
    "党员类别": "member_type",
    "正式/预备": "member_type",
    "就业情况": "employment",
    "人员类别": "employment",
    "工作单位名称": "work_unit",
    "单位": "work_unit",
    "工作单位党组织": "work_unit_org",
    "单位党组织名称": "work_unit_org",
    "组织关系所在地": "relation",
    "组织关系": "relation",
    "党组织关系所在": "relation",
    "组织关系所在党组织": "relation",
    "流动状态": "mobility",
    "是否流动": "mobility",
    "流动去向": "mobility_place",
    "流动来源": "mobility_place",
    "流入来源": "mobility_place",
    "流出去向": "mobility_place",
    "流动去向/来源": "mobility_place",
    "流动日期": "mobility_since",
    "流入日期": "mobility_since",
    "流出日期": "mobility_since",
    "外出日期": "mobility_since",
    "所在社区": "community",
    "所属社区": "community",
    "社区名称": "community",
    "所在网格": "grid",
    "所属网格": "grid",
    "网格名称": "grid",
    "楼号": "building",
    "楼栋号": "building",
    "所在楼栋": "building",
    "门牌号": "room",
    "房间号": "room",
    "室号": "room",
    "支部": "branch",
    "党支部": "branch",
    "所属支部": "branch",
    "党小组": "group",
    "楼栋党小组": "group",
    "所属党小组": "group",
    "说明": "notes",
    "五管": "category",
    "管理类别": "category",
    "党员状态": "status",
}
STATUS_LABELS = IMPORT_STATUS_LABELS
# A roster of 100,000 members is about 20 MB as CSV; XLSX sheets expand ~10× when unzipped.
MAX_BYTES = 40 * 1024 * 1024
MAX_UNCOMPRESSED = 400 * 1024 * 1024
MAX_ROWS = 200_000
IMPORT_REASON = "名册导入"

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
STATUS_VALUES = {label: key for key, label in STATUSES.items()} | {"在册": "active"}
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
# The member fields a roster row can set, and what is compared to find "unchanged".
ROW_FIELDS = (
    "name",
    "sex",
    "ethnicity",
    "phone",
    "joined_on",
    "full_member_on",
    "member_type",
    "employment",
    "work_unit",
    "work_unit_org",
    "relation_location",
    "relation_org_name",
    "mobility",
    "mobility_place",
    "mobility_since",
    "mobility_expected_return",
    "community_id",
    "grid_id",
    "building_id",
    "room",
    "branch_id",
    "group_id",
    "notes",
    "status",
)
EXISTING_COLUMNS = ("id", "version", "birth_date", *ROW_FIELDS)


# ---- cells --------------------------------------------------------------------------------

_YMD = re.compile(r"^(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?$")
_YM = re.compile(r"^(\d{4})\s*[-/.年]\s*(\d{1,2})\s*月?$")
_COMPACT = re.compile(r"^(\d{4})(\d{2})(\d{2})$")
_SERIAL = re.compile(r"^\d{1,5}(\.\d+)?$")
EXCEL_EPOCH = date(1899, 12, 30)
DATE_ERROR = "日期无法识别，请写成 2001-07-01、2001/7/1、2001.7.1 或 2001年7月1日"


def parse_roster_date(text: str) -> date | None:
    """A roster date: ``2001-07-01``, ``2001/7/1``, ``2001.7.1``, ``2001年7月1日``, ``20010701``,
    an Excel date serial (``37073``), or a month alone (``2001.07`` → 1 July 2001, as old
    rosters record party dates). Empty → None; anything else raises ``ValueError``."""
    text = (text or "").strip()
    if not text:
        return None
    text = text.split(" ")[0] if re.match(r"^\d{4}-\d{2}-\d{2} \d", text) else text
    for pattern in (_YMD, _COMPACT):
        match = pattern.match(text)
        if match:
            year, month, day = (int(x) for x in match.groups())
            break
    else:
        match = _YM.match(text)
        if match:
            year, month, day = int(match.group(1)), int(match.group(2)), 1
        elif _SERIAL.match(text):
            serial = int(float(text))
            if not 1 <= serial <= 2958465:
                raise ValueError(DATE_ERROR)
            return EXCEL_EPOCH + timedelta(days=serial)
        else:
            raise ValueError(DATE_ERROR)
    if year < 1900:
        raise ValueError(DATE_ERROR)
    try:
        return date(year, month, day)
    except ValueError:
        raise ValueError("不是一个真实的日期") from None


# ---- reading ------------------------------------------------------------------------------


def parse_rows(table: list[list[str]]) -> tuple[list[dict], list[str]]:
    """Header-mapped rows ``[{"line": 2, "values": {...}}, ...]`` (line numbers as in the file)
    and the columns the file has."""
    header_at = next((i for i, row in enumerate(table) if any(clean_cell(c) for c in row)), None)
    if header_at is None:
        raise ImportFileError("文件中没有任何内容")
    mapping = map_header(table[header_at], SYNONYMS)
    missing = [SHORT_LABELS[c] for c in REQUIRED_HEADERS if c not in mapping.values()]
    if missing:
        raise ImportFileError(
            f"缺少必需的列：{'、'.join(missing)}（第一行应为表头，如：姓名、性别、身份证号、手机号……）"
        )
    rows = []
    items = list(mapping.items())
    for offset, cells in enumerate(table[header_at + 1 :], start=header_at + 2):
        width = len(cells)
        values = {column: clean_cell(cells[index]) for index, column in items if index < width}
        if not any(values.values()):
            continue
        rows.append({"line": offset, "values": values})
        if len(rows) > MAX_ROWS:
            raise ImportFileError(f"一次最多导入 {MAX_ROWS} 行，请拆分文件")
    if not rows:
        raise ImportFileError("文件中只有表头，没有数据行")
    return rows, [c for c in ALL_COLUMNS if c in mapping.values()]


def read_roster(filename: str, data: bytes) -> tuple[list[dict], list[str]]:
    table = read_table(filename, data, max_bytes=MAX_BYTES, max_uncompressed=MAX_UNCOMPRESSED)
    return parse_rows(table)


# ---- analysing and applying ---------------------------------------------------------------


class RowResult(ImportRow):
    column_labels = SHORT_LABELS


@dataclass
class Preview(ImportPreview):
    columns: list[str] = field(default_factory=list)
    created_ids: list[int] = field(default_factory=list)


class _Places:
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


def _convert(v: dict[str, str], places: _Places, existing: Any, errors: dict) -> dict[str, Any]:
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
    _place_ids(v, places, data, errors)
    return data


def _place_ids(v: dict[str, str], places: _Places, data: dict, errors: dict) -> None:
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


def _target_in_scope(scope, data: dict, existing: Any) -> bool:  # noqa: ANN001
    """Would the member (after the row) still be placed inside the user's scope?"""
    if scope.everything:
        return True

    def get(key: str):  # noqa: ANN202
        if key in data:
            return data[key]
        return getattr(existing, key) if existing is not None else None

    return (
        get("community_id") in scope.community_ids
        or get("grid_id") in scope.grid_ids
        or get("branch_id") in scope.member_branch_ids
        or get("group_id") in scope.member_group_ids
    )


def _map_errors(errors: dict[str, str], columns: set[str]) -> dict[str, str]:
    out: dict[str, str] = {}
    for key, message in errors.items():
        column = FIELD_COLUMN.get(key, "id_number")
        if column == "sex" and "sex" not in columns:
            column = "id_number"
        out.setdefault(column, message)
    return out


def _load_existing(hashes: list[str], user) -> dict[str, Any]:  # noqa: ANN001
    """Stored members for the file's ID numbers, in chunks (one indexed query per 500)."""
    found: dict[str, Any] = {}
    cols = [getattr(Member, c) for c in EXISTING_COLUMNS]
    visible = member_scope_filter(user) if user is not None else None
    extra = [case((visible, True), else_=False).label("in_scope")] if visible is not None else []
    for start in range(0, len(hashes), 500):
        chunk = hashes[start : start + 500]
        for row in db.session.execute(
            select(Member.id_hash, *cols, *extra).where(Member.id_hash.in_(chunk))
        ):
            found[row.id_hash] = row
    return found


@contextlib.contextmanager
def _no_gc():
    """Hundreds of thousands of small dicts, none cyclic: the cyclic collector's repeated full
    scans would cost a quarter of the run."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def analyze(
    rows: list[dict],
    columns: list[str],
    *,
    user=None,  # noqa: ANN001
    apply: bool = False,
    effective: date | None = None,
) -> Preview:
    """Classify each row; with ``apply`` also write the changes (the caller commits).

    ``user`` is the signed-in user (rows outside their scope are rejected) or None for the
    operator's command line (no scope limit).
    """
    with _no_gc():
        return _analyze(rows, columns, user=user, apply=apply, effective=effective)


def _analyze(
    rows: list[dict],
    columns: list[str],
    *,
    user=None,  # noqa: ANN001
    apply: bool = False,
    effective: date | None = None,
) -> Preview:
    """Classify each row; with ``apply`` also write the changes (the caller commits).

    ``user`` is the signed-in user (rows outside their scope are rejected) or None for the
    operator's command line (no scope limit).
    """
    today = local_today()
    effective = effective or today
    present = set(columns)
    places = _Places()
    scope = scope_of(user) if user is not None else None
    preview = Preview([], columns=list(columns))
    if "category" in present:
        preview.notes.append(
            "「五管分类」列由系统按规则计算，导入时不读取（人工调整请在党员登记卡中操作）"
        )

    # Pass 1: the ID numbers, so the stored members are loaded in a few queries.
    hashes: list[str | None] = []
    for raw in rows:
        try:
            number = parse_id_number(raw["values"].get("id_number"), today=today).value
        except IdNumberError:
            hashes.append(None)
        else:
            hashes.append(keyed_hash(number))
    existing_by_hash = _load_existing([h for h in hashes if h], user)

    seen: dict[str, int] = {}
    creates: list[dict[str, Any]] = []
    updates: list[tuple[int, int, dict[str, Any]]] = []
    for raw, id_hash in zip(rows, hashes, strict=True):
        v = raw["values"]
        row = RowResult(raw["line"], v)
        preview.rows.append(row)
        existing = existing_by_hash.get(id_hash) if id_hash else None
        errors: dict[str, str] = {}
        if id_hash and id_hash in seen:
            errors["id_number"] = f"与第 {seen[id_hash]} 行身份证号重复"
        elif "*" in (v.get("id_number") or ""):
            errors["id_number"] = "身份证号被部分隐藏（导出时无查看权限），请填写完整的身份证号"
        data = _convert(v, places, existing, errors)
        if existing is not None and scope is not None and not existing.in_scope:
            errors.setdefault("id_number", "该党员不在您的管辖范围内，不能通过导入修改")
        if not errors and scope is not None and not _target_in_scope(scope, data, existing):
            errors["community"] = (
                "所填社区或网格不在您的管辖范围内"
                if v.get("community") or v.get("grid")
                else "请填写您管辖范围内的社区和网格"
            )
        if errors:
            row.errors = errors
            row.status = "rejected"
            continue
        if existing is None:
            try:
                values = services.clean_new({**data, "id_number": v.get("id_number")}, today)
            except DomainError as exc:
                row.errors = _map_errors(exc.errors, present)
                row.status = "rejected"
                continue
            if "community_id" in data:  # placement ids are resolved here, by name
                for key in services.PLACEMENT_FIELDS:
                    values[key] = data.get(key)
            seen[id_hash] = row.line
            row.status = "create"
            creates.append(values)
            continue
        seen[id_hash] = row.line
        base = {key: getattr(existing, key) for key in EXISTING_COLUMNS}
        candidate = {k: val for k, val in data.items() if base.get(k) != val}
        # The ID number is checked with the same rules (sex and birth date must agree with it).
        try:
            cleaned = services.clean({**candidate, "id_number": v["id_number"]}, base, today)
        except DomainError as exc:
            row.errors = _map_errors(exc.errors, present)
            row.status = "rejected"
            continue
        cleaned.pop("id_number", None)
        for key in ("birth_date", "sex"):
            if key not in candidate:
                cleaned.pop(key, None)
        changes = {k: val for k, val in cleaned.items() if base.get(k) != val}
        if changes:
            row.status = "update"
            row.changes = [services.FIELD_LABELS.get(k, k) for k in changes]
            updates.append((existing.id, existing.version, changes))
        else:
            row.status = "unchanged"

    if apply:
        preview.created_ids = services.bulk_create(creates, user, effective, IMPORT_REASON)
        for start in range(0, len(updates), 500):
            chunk = updates[start : start + 500]
            members = {
                m.id: m
                for m in db.session.execute(
                    select(Member).where(Member.id.in_([u[0] for u in chunk]))
                ).scalars()
            }
            for member_id, version, changes in chunk:
                services.update_member(
                    members[member_id], changes, user, version, reason=IMPORT_REASON
                )
        db.session.flush()
    return preview


# ---- rejected rows, export ----------------------------------------------------------------


def rejected_xlsx(preview: Preview) -> bytes:
    """The rejected rows as an importable file: the file's columns, plus 行号 and 原因."""
    columns = [c for c in ALL_COLUMNS if c in preview.columns]
    header = [*(ALL_COLUMNS[c] for c in columns), "原因", "原行号"]
    rows = (
        [*(row.values.get(c, "") for c in columns), row.reason, row.line]
        for row in preview.rejected
    )
    return write_xlsx(header, rows, "有误的行")


def _label(mapping: dict[str, str], key: str | None) -> str:
    return mapping.get(key or "", "") if key else ""


def export_rows(where: list, reveal: bool = True, asof=None):  # noqa: ANN001, ANN201
    """Members matching ``where`` (the list's filter clauses), as roster rows in pinyin order.

    ``reveal`` False masks ID numbers and phones (browser export without reveal permission).
    Yields lists of cells: ``COLUMNS`` then 五管分类 and 状态. ``asof`` is the list's "as of"
    subquery when a past month is chosen (its filters refer to it).
    """
    from sqlalchemy.orm import aliased

    community, grid, building = aliased(Place), aliased(Place), aliased(Place)
    branch, group = aliased(Org), aliased(Org)
    query = (
        select(
            Member.name,
            Member.sex,
            Member.ethnicity,
            Member.id_number_enc,
            Member.id_number_enc,
            Member.phone,
            Member.joined_on,
            Member.full_member_on,
            Member.member_type,
            Member.employment,
            Member.work_unit,
            Member.work_unit_org,
            Member.relation_location,
            Member.relation_org_name,
            Member.mobility,
            Member.mobility_place,
            Member.mobility_since,
            community.name.label("community"),
            grid.name.label("grid"),
            building.name.label("building"),
            Member.room,
            branch.name.label("branch"),
            group.name.label("group"),
            Member.notes,
            Member.category,
            Member.status,
        )
        .outerjoin(community, community.id == Member.community_id)
        .outerjoin(grid, grid.id == Member.grid_id)
        .outerjoin(building, building.id == Member.building_id)
        .outerjoin(branch, branch.id == Member.branch_id)
        .outerjoin(group, group.id == Member.group_id)
        .where(*where)
        .order_by(Member.name_pinyin, Member.id)
        .execution_options(yield_per=2000)
    )
    if asof is not None:
        query = query.join(asof, asof.c.member_id == Member.id)
    member_type_labels = {"formal": "正式", "probationary": "预备"}
    sexes = {"M": "男", "F": "女"}
    for r in db.session.execute(query):
        if reveal:
            id_number, phone = decrypt(r.id_number_enc), r.phone or ""
        else:
            id_number, phone = mask_id_blob(r.id_number_enc), mask_phone(r.phone)
        if r.relation_location == "elsewhere":
            relation = r.relation_org_name or RELATION_LOCATIONS["elsewhere"]
        else:
            relation = _label(RELATION_LOCATIONS, r.relation_location)
        yield [
            r.name,
            sexes.get(r.sex, ""),
            r.ethnicity or "",
            id_number,
            phone,
            r.joined_on.isoformat() if r.joined_on else "",
            r.full_member_on.isoformat() if r.full_member_on else "",
            member_type_labels.get(r.member_type, ""),
            _label(EMPLOYMENTS, r.employment),
            r.work_unit or "",
            r.work_unit_org or "",
            relation,
            _label(MOBILITIES, r.mobility),
            r.mobility_place or "",
            r.mobility_since.isoformat() if r.mobility_since else "",
            r.community or "",
            r.grid or "",
            r.building or "",
            r.room or "",
            r.branch or "",
            r.group or "",
            r.notes or "",
            _label(CATEGORIES, r.category),
            _label(STATUSES, r.status),
        ]


def export_xlsx(where: list, reveal: bool = True, asof=None) -> tuple[bytes, int]:  # noqa: ANN001
    """The roster as XLSX (same columns as the import, plus 五管分类 and 状态), and its row count."""
    rows = list(export_rows(where, reveal, asof))
    return write_xlsx(list(ALL_COLUMNS.values()), rows, "党员名册"), len(rows)
