"""Roster export (SPEC §11): the members of a list as the same spreadsheet the import reads,
plus 五管分类 and 状态."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import aliased

from app.crypto import decrypt
from app.extensions import db
from app.members.import_rows import ALL_COLUMNS
from app.members.models import (
    CATEGORIES,
    EMPLOYMENTS,
    MOBILITIES,
    RELATION_LOCATIONS,
    STATUSES,
    Member,
)
from app.organization.models import Org, Place
from app.security import mask_id_blob, mask_phone
from app.spreadsheets import write_xlsx


def _label(mapping: dict[str, str], key: str | None) -> str:
    return mapping.get(key or "", "") if key else ""


def export_rows(where: list, reveal: bool = True, asof=None):  # noqa: ANN001, ANN201
    """Members matching ``where`` (the list's filter clauses), as roster rows in pinyin order.

    ``reveal`` False masks ID numbers and phones (browser export without reveal permission).
    Yields lists of cells: ``COLUMNS`` then 五管分类 and 状态. ``asof`` is the list's "as of"
    subquery when a past month is chosen (its filters refer to it).
    """
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
