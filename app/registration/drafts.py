"""The public form's working state: the draft carried in a signed hidden field, and the places
offered in the residence step."""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from flask import current_app
from itsdangerous import BadSignature, URLSafeTimedSerializer
from sqlalchemy import select

from app.extensions import db
from app.organization.models import Place
from app.params import parse_int
from app.registration import rules
from app.registration.models import REGISTRATION_KINDS

DRAFT_MAX_AGE = 24 * 3600  # seconds a half-filled form stays usable


# ---- drafts: what was typed so far, carried in a signed hidden field ---------------------------


@dataclass
class Draft:
    kind: str
    key: str = field(default_factory=lambda: secrets.token_urlsafe(24))
    values: dict[str, str] = field(default_factory=dict)
    registration_id: int | None = None  # correcting a returned registration

    def dump(self) -> str:
        return _serializer().dumps(
            {"k": self.kind, "i": self.key, "v": self.values, "r": self.registration_id}
        )

    @classmethod
    def load(cls, token: str | None) -> Draft | None:
        if not token or len(token) > 20_000:
            return None
        try:
            data = _serializer().loads(token, max_age=DRAFT_MAX_AGE)
        except BadSignature:
            return None
        if not isinstance(data, dict) or data.get("k") not in REGISTRATION_KINDS:
            return None
        values = data.get("v") if isinstance(data.get("v"), dict) else {}
        return cls(
            kind=data["k"],
            key=str(data.get("i") or ""),
            values={str(k): str(v) for k, v in values.items()},
            registration_id=data.get("r") if isinstance(data.get("r"), int) else None,
        )


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.secret_key, salt="registration-draft")


def draft_context(draft: Draft, today: date) -> dict[str, Any]:
    """Cleaned values of the draft's valid fields (e.g. the ID number for the age rule)."""
    return rules.clean_fields(draft.kind, rules.all_fields(draft.kind), draft.values, today).values


# ---- places for the residence step ---------------------------------------------------------------


def active_places(kind: str, parent_id: int | None = None) -> list[Place]:
    query = select(Place).where(Place.kind == kind, Place.retired_at.is_(None))
    if parent_id is not None:
        query = query.where(Place.parent_id == parent_id)
    return list(db.session.execute(query.order_by(Place.position, Place.name, Place.id)).scalars())


def derive_grid(values: dict[str, str]) -> None:
    """Members pick their building, never a grid: the grid is the building's (none without a
    building). Replaces whatever grid a draft or a form carried."""
    building_id = parse_int(values.get("building_id"))
    building = db.session.get(Place, building_id) if building_id else None
    grid_id = building.parent_id if building is not None and building.kind == "building" else None
    values["grid_id"] = str(grid_id) if grid_id else ""


def place_errors(values: dict[str, Any]) -> dict[str, str]:
    """The chosen community, grid and building must be active and belong together."""
    errors: dict[str, str] = {}
    ids = [values.get(k) for k in ("community_id", "grid_id", "building_id")]
    places = {
        p.id: p
        for p in db.session.execute(select(Place).where(Place.id.in_([i for i in ids if i])))
        .scalars()
        .all()
    }
    community, grid, building = (places.get(i) if i else None for i in ids)
    if ids[0] and (community is None or community.kind != "community" or community.retired_at):
        errors["community_id"] = "请选择社区"
    grid_wrong = bool(ids[1]) and (
        grid is None or grid.kind != "grid" or grid.retired_at or grid.parent_id != ids[0]
    )
    building_wrong = bool(ids[2]) and (
        building is None
        or building.kind != "building"
        or building.retired_at
        or not ids[1]
        or building.parent_id != ids[1]
    )
    # The grid is derived from the building (``derive_grid``): either is the building's fault.
    if grid_wrong or building_wrong:
        errors["building_id"] = "所选楼栋不属于该社区，请重新查找并选择"
    return errors
