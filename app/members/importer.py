"""Roster import and export (SPEC §11): the spreadsheet communities already keep.

Reading the file and its columns is ``import_rows``, a row's cells → member fields
``import_cells``, the export ``roster_export``. ``analyze`` classifies every
row against the database — create / update / unchanged / rejected with the reason per cell —
using the member services' own validators (``validation.clean_new`` for new members,
``validation.clean`` on top of the stored values for existing ones); ``analyze(..., apply=True)``
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
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sqlalchemy import case, select

from app.crypto import keyed_hash
from app.errors import DomainError
from app.extensions import db
from app.members import services, validation
from app.members.identity import IdNumberError, parse_id_number
from app.members.import_cells import RosterPlaces, convert_row, map_errors
from app.members.import_rows import (  # noqa: F401  (callers use importer.<name>)
    ALL_COLUMNS,
    COLUMNS,
    MAX_BYTES,
    SHORT_LABELS,
    parse_roster_date,
    read_roster,
)
from app.members.models import Member
from app.members.roster_export import export_xlsx  # noqa: F401  (callers use importer.<name>)
from app.organization.scope import member_scope_filter, scope_of
from app.spreadsheets import ImportPreview, ImportRow, write_xlsx
from app.timeutil import local_today

IMPORT_REASON = "名册导入"
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


# ---- analysing and applying ---------------------------------------------------------------


class RowResult(ImportRow):
    column_labels = SHORT_LABELS


@dataclass
class Preview(ImportPreview):
    columns: list[str] = field(default_factory=list)
    created_ids: list[int] = field(default_factory=list)


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
    places = RosterPlaces()
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
        data = convert_row(v, places, existing, errors)
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
                values = validation.clean_new({**data, "id_number": v.get("id_number")}, today)
            except DomainError as exc:
                row.errors = map_errors(exc.errors, present)
                row.status = "rejected"
                continue
            if "community_id" in data:  # placement ids are resolved here, by name
                for key in validation.PLACEMENT_FIELDS:
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
            cleaned = validation.clean({**candidate, "id_number": v["id_number"]}, base, today)
        except DomainError as exc:
            row.errors = map_errors(exc.errors, present)
            row.status = "rejected"
            continue
        cleaned.pop("id_number", None)
        for key in ("birth_date", "sex"):
            if key not in candidate:
                cleaned.pop(key, None)
        changes = {k: val for k, val in cleaned.items() if base.get(k) != val}
        if changes:
            row.status = "update"
            row.changes = [validation.FIELD_LABELS.get(k, k) for k in changes]
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
