"""Builders for the organization tests (also used by the access matrix)."""

from __future__ import annotations

from datetime import date

from app.crypto import last4_hash
from app.extensions import db
from app.organization import appointments, services


def build_world() -> dict:
    """Street → two communities, each with a grid, two buildings, a branch and a group."""
    street = services.create_node("org", None, "测试街道党工委")
    world = {"street": street}
    for key, label in (("a", "甲"), ("b", "乙")):
        community = services.create_node("place", None, f"{label}社区")
        grid = services.create_node("place", community.id, f"{label}一网格")
        b1 = services.create_node("place", grid.id, f"{label}1号楼", address=f"{label}路1号")
        b2 = services.create_node("place", grid.id, f"{label}2号楼")
        committee = services.create_node(
            "org", street.id, f"{label}社区党委", place_id=community.id
        )
        branch = services.create_node("org", committee.id, f"{label}第一支部")
        group = services.create_node("org", branch.id, f"{label}1号楼党小组")
        appointments.link_building_group(b1, group.id)
        world[key] = {
            "community": community,
            "grid": grid,
            "b1": b1,
            "b2": b2,
            "committee": committee,
            "branch": branch,
            "group": group,
        }
    db.session.commit()
    return world


_counter = {"n": 0}


def make_member(**fields):
    """A minimal member row (the members feature owns the real factory)."""
    from app.crypto import encrypt
    from app.members.models import Member

    _counter["n"] += 1
    n = _counter["n"]
    id_number = f"11010119900101{n:04d}"
    member = Member(
        name=fields.pop("name", f"党员{n}"),
        sex="M",
        birth_date=date(1990, 1, 1),
        id_number_enc=encrypt(id_number),
        id_hash=f"org-test-hash-{n}",
        id_prefix6=id_number[:6],
        id_last4_hash=last4_hash(id_number[-4:]),
        **fields,
    )
    db.session.add(member)
    db.session.flush()
    return member


def place_member(part: dict, building: str = "b1", **fields):
    """A member living in ``part[building]`` with the matching grid, community and org."""
    return make_member(
        community_id=part["community"].id,
        grid_id=part["grid"].id,
        building_id=part[building].id,
        branch_id=part["branch"].id,
        group_id=part["group"].id if building == "b1" else None,
        **fields,
    )


def unlink_trees() -> None:
    """Cut the org ↔ place links so SQLite's drop_all can drop the cyclic tables."""
    from sqlalchemy import update

    from app.organization.models import Org, Place

    db.session.rollback()
    db.session.execute(update(Place).values(group_id=None))
    db.session.execute(update(Org).values(place_id=None))
    db.session.commit()
