"""How assignment plans are worded for people: names of places and orgs, before/after, transfers."""

from __future__ import annotations

from sqlalchemy import select

from app.assignment.services import Move, chunks
from app.extensions import db
from app.organization.models import Org, Place


def transfer_message(held: list[Move]) -> str:
    """Why nothing was done: a held transfer, from where to where."""
    move = held[0]
    who = "该党员" if len(held) == 1 else f"{len(held)} 名党员需要确认，其中{move.name}"
    return (
        f"{who}{move.transfer}，将{transfer_text(move, names_for([move]))}。"
        "调离原党支部需要确认，本次未作任何修改。"
    )


# ---- names for showing plans ----------------------------------------------------------------


def names_for(moves: list[Move]) -> dict[str, dict[int, str]]:
    place_ids: set[int] = set()
    org_ids: set[int] = set()
    for move in moves:
        for value in (move.before, move.after):
            place_ids |= {value.get(k) for k in ("community_id", "grid_id", "building_id")}
            org_ids |= {value.get(k) for k in ("branch_id", "group_id")}
        org_ids.add(move.report_group_id)
    return {"places": _names(Place, place_ids), "orgs": _names(Org, org_ids)}


def _names(model, ids: set) -> dict[int, str]:  # noqa: ANN001
    ids = {i for i in ids if i}
    out: dict[int, str] = {}
    for chunk in chunks(sorted(ids)):
        out.update(
            db.session.execute(select(model.id, model.name).where(model.id.in_(chunk))).all()
        )
    return out


def org_text(value: dict, names: dict[str, dict[int, str]]) -> str:
    orgs = names["orgs"]
    parts = [orgs.get(value.get(k)) for k in ("branch_id", "group_id")]
    return " · ".join(p for p in parts if p) or "不编入党支部"


def transfer_text(move: Move, names: dict[str, dict[int, str]]) -> str:
    """ "从 X 调到 Y": the branch (and group) a move takes the member from and to."""
    return f"从 {org_text(move.before, names)} 调到 {org_text(move.after, names)}"


def describe(value: dict, names: dict[str, dict[int, str]]) -> str:
    places, orgs = names["places"], names["orgs"]
    parts = [places.get(value.get(k)) for k in ("grid_id", "building_id")]
    org = [orgs.get(value.get(k)) for k in ("branch_id", "group_id")]
    place_text = " · ".join(p for p in parts if p) or "未分配楼栋"
    org_text = " · ".join(p for p in org if p) or "未编入党支部"
    return f"{place_text}｜{org_text}"
