"""Member fixtures: a small places/org tree and a ``make_member`` factory through the service."""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from datetime import date, timedelta

import pytest
from sqlalchemy import update

from app.extensions import db
from app.members.identity import check_char
from app.members.services import create_member
from app.organization.models import GridWorker, Org, Place, UserScope


def id_number(birth: date, seq: int, sex: str = "M", region: str = "620302") -> str:
    """A valid 18-character resident ID number (sequence 0–499 keeps it unique per birth date)."""
    order = (seq % 500) * 2 + (1 if sex == "M" else 0)
    first17 = f"{region}{birth:%Y%m%d}{order:03d}"
    return first17 + check_char(first17)


@pytest.fixture
def tree(app):
    """One community with grids A and B (one building each), a branch with one group each."""
    community = Place(kind="community", name="金川社区", code="C1")
    db.session.add(community)
    db.session.flush()
    grid_a = Place(kind="grid", name="第一网格", parent_id=community.id, position=1)
    grid_b = Place(kind="grid", name="第二网格", parent_id=community.id, position=2)
    db.session.add_all([grid_a, grid_b])
    db.session.flush()
    street = Org(kind="street_committee", name="滨河街道党工委")
    db.session.add(street)
    db.session.flush()
    committee = Org(
        kind="community_committee", name="金川社区党委", parent_id=street.id, place_id=community.id
    )
    db.session.add(committee)
    db.session.flush()
    branch_a = Org(kind="branch", name="第一小区党支部", parent_id=committee.id)
    branch_b = Org(kind="branch", name="第二小区党支部", parent_id=committee.id)
    db.session.add_all([branch_a, branch_b])
    db.session.flush()
    group_a = Org(kind="group", name="1号楼党小组", parent_id=branch_a.id)
    group_b = Org(kind="group", name="9号楼党小组", parent_id=branch_b.id)
    db.session.add_all([group_a, group_b])
    db.session.flush()
    building_a = Place(kind="building", name="1号楼", parent_id=grid_a.id, group_id=group_a.id)
    building_b = Place(kind="building", name="9号楼", parent_id=grid_b.id, group_id=group_b.id)
    db.session.add_all([building_a, building_b])
    db.session.commit()
    yield {
        "community": community,
        "grid_a": grid_a,
        "grid_b": grid_b,
        "building_a": building_a,
        "building_b": building_b,
        "branch_a": branch_a,
        "branch_b": branch_b,
        "group_a": group_a,
        "group_b": group_b,
        "committee": committee,
    }
    # Break the place <-> org reference cycle so the tables can be dropped after the test.
    db.session.rollback()
    db.session.execute(update(Place).values(group_id=None))
    db.session.execute(update(Org).values(place_id=None))
    db.session.commit()


@pytest.fixture
def grid_worker_of(make_user) -> Callable:
    """A grid worker appointed to one grid."""

    def factory(grid: Place, **fields):
        user = make_user("grid_worker", **fields)
        db.session.add(GridWorker(grid_id=grid.id, user_id=user.id))
        db.session.commit()
        return user

    return factory


@pytest.fixture
def staff_of(make_user) -> Callable:
    """A staff user whose scope is one org or place node."""

    def factory(org: Org | None = None, place: Place | None = None, **fields):
        user = make_user("staff", **fields)
        db.session.add(
            UserScope(
                user_id=user.id,
                org_id=org.id if org else None,
                place_id=place.id if place else None,
            )
        )
        db.session.commit()
        return user

    return factory


@pytest.fixture
def make_member(app) -> Callable:
    """Create a member through ``create_member`` (valid, unique ID numbers) and commit."""
    counter = {"n": 0}

    def factory(user=None, effective: date | None = None, commit: bool = True, **data):
        counter["n"] += 1
        n = counter["n"]
        birth = data.pop("birth", date(1960, 1, 1) + timedelta(days=97 * n))
        sex = data.pop("sex_", "M" if n % 2 else "F")
        data.setdefault("name", f"测试{n}")
        data.setdefault("id_number", id_number(birth, n, sex))
        raw = str(data["id_number"] or "")
        if len(raw) == 18 and raw[6:14].isdigit():
            with contextlib.suppress(ValueError):
                birth = date(int(raw[6:10]), int(raw[10:12]), int(raw[12:14]))
        data.setdefault("phone", f"139{n:08d}")
        data.setdefault("joined_on", birth + timedelta(days=365 * 25 + 10))
        for key in ("building", "group", "grid", "branch"):
            if key in data:
                data[f"{key}_id"] = data.pop(key).id
        member = create_member(data, user, effective=effective)
        if commit:
            db.session.commit()
        return member

    return factory
