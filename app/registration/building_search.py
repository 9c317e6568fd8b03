"""Finding one's building by typing (the residence step of 报到).

Residents know their compound (小区), building number and street address, not the staff's grid
("第一网格"); a compound may even span two grids. So the form searches the buildings of the chosen
community by what people type — "文苑 2号楼", "文苑2号楼", "金川路8号", "2栋" — and the grid follows
from the building. Only active buildings of an active grid of the chosen community are offered,
with nothing but their name, address and grid (public page: nothing personal).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import aliased

from app.extensions import db
from app.organization.models import Place

MAX_QUERY = 40
MAX_SHOWN = 20
UNITS = ("号楼", "号", "栋", "幢", "座")  # after a number: "2号楼", "2栋" mean building 2
_TOKEN_RE = re.compile(r"(\d+)\s*(号楼|号|栋|幢|座)?|([^\d\s]+)")
_FILLERS = ("小区", "社区", "家属院", "楼")  # words people add that names often leave out


def normalize(text: str | None) -> str:
    """Full-width digits and letters to half-width, lower case, no punctuation noise."""
    text = unicodedata.normalize("NFKC", text or "").lower()
    return re.sub(r"[,，、;；/\\|()（）\-—·.。]+", " ", text)


def _patterns(query: str) -> list[re.Pattern[str]]:
    """One pattern per typed token; a building matches when every pattern is found."""
    patterns = []
    for number, unit, word in _TOKEN_RE.findall(normalize(query)[:MAX_QUERY]):
        if number:
            digits = number.lstrip("0") or "0"
            if unit:  # "2号楼" matches "2号楼", "2栋" — never "12号楼", "2单元" or "路2号"
                tail = "号" if unit == "号" else "(?:号楼|栋|幢|座)"
                patterns.append(re.compile(rf"(?<!\d)0*{digits}\s*{tail}"))
            else:
                patterns.append(re.compile(rf"(?<!\d)0*{digits}(?!\d)"))
            continue
        for filler in _FILLERS:  # "幸福里小区" also finds "幸福里2号楼"
            if word.endswith(filler) and len(word) > len(filler):
                word = word[: -len(filler)]
                break
        if word in UNITS or word in _FILLERS:
            continue  # "2 号楼" typed with a space: the number carries the meaning
        patterns.append(re.compile(re.escape(word)))
    return patterns


def matches(query: str, *texts: str | None) -> bool:
    """Does a building described by ``texts`` (name, address, grid) match what was typed?"""
    patterns = _patterns(query)
    if not patterns:
        return False
    haystack = " ".join(normalize(t) for t in texts if t)
    return all(p.search(haystack) for p in patterns)


def _natural(text: str) -> list:
    return [int(part) if part.isdigit() else part for part in re.split(r"(\d+)", text)]


@dataclass(frozen=True)
class BuildingChoice:
    id: int
    name: str
    address: str
    grid_id: int
    grid_name: str


def _choices(community_id: int, building_id: int | None = None) -> list[BuildingChoice]:
    grid = aliased(Place)
    stmt = (
        select(Place.id, Place.name, Place.address, grid.id, grid.name)
        .join(grid, grid.id == Place.parent_id)
        .where(
            Place.kind == "building",
            Place.retired_at.is_(None),
            grid.kind == "grid",
            grid.retired_at.is_(None),
            grid.parent_id == community_id,
        )
    )
    if building_id is not None:
        stmt = stmt.where(Place.id == building_id)
    return [
        BuildingChoice(
            id=row[0], name=row[1], address=row[2] or "", grid_id=row[3], grid_name=row[4]
        )
        for row in db.session.execute(stmt)
    ]


def find(community_id: int, query: str, limit: int = MAX_SHOWN) -> tuple[list[BuildingChoice], int]:
    """The community's buildings matching ``query`` (names matching first, in natural order:
    2号楼 before 10号楼) — at most ``limit`` of them — and how many matched in all."""
    if not _patterns(query):
        return [], 0
    found = [b for b in _choices(community_id) if matches(query, b.name, b.address, b.grid_name)]
    found.sort(key=lambda b: (not matches(query, b.name), _natural(b.name), b.id))
    return found[:limit], len(found)


def chosen(community_id: int | None, building_id: int | None) -> BuildingChoice | None:
    """The building already picked, if it is an active building of the community."""
    if not community_id or not building_id:
        return None
    rows = _choices(community_id, building_id)
    return rows[0] if rows else None


def picker(community_id: int | None, query: str, building_id: int | None) -> dict[str, Any]:
    """What the residence step's building list shows: the matches of ``query`` in the
    community, with the building already chosen kept (first) even when the text no longer
    finds it. Template context of ``registration/_building_matches.html``."""
    community = db.session.get(Place, community_id) if community_id else None
    if community is None or community.kind != "community" or community.retired_at:
        community = None
    query = " ".join((query or "").split())[:MAX_QUERY]
    found, total = find(community.id, query) if community and query else ([], 0)
    selected = chosen(community.id if community else None, building_id)
    options = list(found)
    if selected is not None and selected.id not in {b.id for b in found}:
        options.insert(0, selected)
    return {
        "building_q": query,
        "building_community": community,
        "building_options": options,
        "building_found": len(found),
        "building_total": total,
        "building_selected": selected.id if selected else None,
    }
