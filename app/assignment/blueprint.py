"""The assignment blueprint and what its route modules share."""

from __future__ import annotations

from typing import Any

from flask import Blueprint
from flask_login import current_user
from sqlalchemy import select
from sqlalchemy.orm import aliased
from wtforms import SelectChoice

from app import reminders
from app.assignment import worklist
from app.assignment.forms import TargetForm
from app.extensions import db
from app.htmx import trigger
from app.organization.models import Org, Place
from app.organization.scope import (
    org_scope_filter,
    place_scope_filter,
)
from app.templating import NAV_LIVE_BADGES

bp = Blueprint("assignment", __name__, url_prefix="/assignment")
# The navigation's "待分配" entry shows the open items, refreshed live after each change.
NAV_LIVE_BADGES["assignment.unassigned"] = ("assignment.counts", "assignment-changed")
reminders.register(
    "unassigned",
    "待分配的党员（楼栋、党小组或联络人）",
    lambda user: worklist.unassigned_counts(user)["total"],
    "assignment.unassigned",
    order=20,
)

PREVIEW_PAGE = 100
MAX_SELECTED = 5000
EVENT = "assignment-changed"
GRID = aliased(Place, name="grid")
BUILDING = aliased(Place, name="building")
BRANCH = aliased(Org, name="branch")
GROUP = aliased(Org, name="grp")


def _changed(response):  # noqa: ANN001, ANN202
    trigger(response, EVENT)
    return trigger(response, "members-changed")


def _fill_choices(form: TargetForm, keep_label: str = "请选择楼栋") -> None:
    form.grid.choices = _select(_grid_choices())
    form.building_id.choices = _select(_building_choices(form.grid.data, keep_label))
    branches, groups = _org_choices()
    form.branch_id.choices, form.group_id.choices = _select(branches), _select(groups)


def _grid_choices() -> list[tuple[Any, str]]:
    rows = db.session.execute(
        select(Place.id, Place.name)
        .where(Place.kind == "grid", Place.retired_at.is_(None), place_scope_filter(current_user))
        .order_by(Place.position, Place.id)
    ).all()
    return [("", "请选择网格")] + [(r.id, r.name) for r in rows]


def _building_choices(grid_id: int | None, keep_label: str = "请选择楼栋") -> list:
    choices: list[tuple[Any, str]] = [("", keep_label)]
    if not grid_id:
        return choices
    rows = db.session.execute(
        select(Place.id, Place.name, Org.name.label("group_name"))
        .outerjoin(Org, Org.id == Place.group_id)
        .where(
            Place.kind == "building",
            Place.parent_id == grid_id,
            Place.retired_at.is_(None),
            place_scope_filter(current_user),
        )
        .order_by(Place.position, Place.id)
    ).all()
    return choices + [
        (r.id, f"{r.name}（{r.group_name}）" if r.group_name else f"{r.name}（未建党小组）")
        for r in rows
    ]


def _org_choices() -> tuple[list, list]:
    branches = db.session.execute(
        select(Org.id, Org.name)
        .where(Org.kind == "branch", Org.retired_at.is_(None), org_scope_filter(current_user))
        .order_by(Org.position, Org.id)
    ).all()
    groups = db.session.execute(
        select(Org.id, Org.name, BRANCH.name.label("branch_name"))
        .join(BRANCH, BRANCH.id == Org.parent_id)
        .where(Org.kind == "group", Org.retired_at.is_(None), org_scope_filter(current_user))
        .order_by(BRANCH.position, BRANCH.id, Org.position, Org.id)
    ).all()
    return (
        [("", "请选择党支部")] + [(r.id, r.name) for r in branches],
        [("", "不指定（按楼栋或只编入支部）")]
        + [(r.id, f"{r.branch_name} › {r.name}") for r in groups],
    )


def _select(choices: list[tuple[Any, str]]) -> list[SelectChoice]:
    return [SelectChoice(value, label) for value, label in choices]
