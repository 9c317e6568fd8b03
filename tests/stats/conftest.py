"""Dashboard fixtures: the members' tree (community 金川 with two grids and two branches) plus a
second community 和平 outside the community staff's scope, and a few members, certificates and
registrations with known numbers."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from app.certificates.models import Certificate
from app.extensions import db
from app.organization.models import Org, Place
from app.timeutil import local_today
from tests.members.conftest import (  # noqa: F401  (shared fixtures)
    grid_worker_of,
    id_number,
    make_member,
    staff_of,
    tree,
)


@pytest.fixture
def world(tree, make_member):  # noqa: F811
    """金川 (in scope): grid A / branch A: 2 direct, 1 retired (shared), 1 flowing out;
    grid B / branch B: 1 laid-off (takeover), 1 flowing in. 和平 (outside): 3 retired."""
    other = Place(kind="community", name="和平社区")
    db.session.add(other)
    db.session.flush()
    other_grid = Place(kind="grid", name="和平一网格", parent_id=other.id, position=1)
    db.session.add(other_grid)
    db.session.flush()
    other_building = Place(kind="building", name="和平1号楼", parent_id=other_grid.id)
    other_committee = Org(kind="community_committee", name="和平社区党委", place_id=other.id)
    db.session.add_all([other_building, other_committee])
    db.session.flush()
    other_branch = Org(kind="branch", name="和平第一支部", parent_id=other_committee.id)
    db.session.add(other_branch)
    db.session.commit()
    since = local_today() - timedelta(days=200)
    a = {"building": tree["building_a"], "group": tree["group_a"]}
    b = {"building": tree["building_b"], "group": tree["group_b"]}
    members = {
        "direct1": make_member(name="甲一", **a),
        "direct2": make_member(name="甲二", **a),
        "retired": make_member(name="甲三", employment="retired", **a),
        "out": make_member(
            name="甲四",
            mobility="flow_out",
            mobility_since=since,
            mobility_place="深圳",
            **a,
        ),
        "laid_off": make_member(name="乙一", employment="laid_off", **b),
        "in": make_member(
            name="乙二",
            mobility="flow_in",
            mobility_since=since,
            mobility_place="兰州",
            relation_location="elsewhere",
            relation_org_name="兰州某党支部",
            **b,
        ),
    }
    outside = [
        make_member(
            name=f"丙{n}", employment="retired", building=other_building, branch=other_branch
        )
        for n in range(3)
    ]
    today = local_today()
    for n, (member, status, due) in enumerate(
        (
            (members["out"], "issued", today - timedelta(days=3)),  # verification overdue
            (members["direct1"], "returned", today + timedelta(days=100)),
            (outside[0], "issued", today - timedelta(days=3)),
        ),
        start=1,
    ):
        db.session.add(
            Certificate(
                number=f"T{n}-2026-0001",
                serial=f"stats-serial-{n}-0123456789abcdef",
                short_code=f"STATS00{n}",
                member_id=member.id,
                status=status,
                issuing_org_name="测试支部",
                issued_on=today - timedelta(days=30),
                valid_until=today + timedelta(days=700),
                next_verification_due=due,
            )
        )
    db.session.commit()
    return {
        **tree,
        "members": members,
        "outside": outside,
        "other": other,
        "other_grid": other_grid,
        "other_branch": other_branch,
    }


def make_registration(community: Place, grid: Place, building: Place, n: int):
    from app.registration.services import submit

    registration, _ = submit(
        "flow_in",
        {
            "name": f"报到{n}",
            "id_number": id_number(date(1985, 3, n), 300 + n),
            "phone": f"1370000{n:04d}",
            "community_id": community.id,
            "grid_id": grid.id,
            "building_id": building.id,
            "sensitive_consent": True,
        },
        f"stats-{n}",
    )
    db.session.commit()
    return registration
