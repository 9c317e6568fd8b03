"""Assignment fixtures: the members feature's tree and factories, plus a second community."""

from __future__ import annotations

import pytest

from app.extensions import db
from app.organization.models import Org, Place
from tests.members.conftest import (  # noqa: F401  (fixtures re-used here)
    grid_worker_of,
    id_number,
    make_member,
    staff_of,
    tree,
)


@pytest.fixture
def other(tree):  # noqa: F811
    """A second community (outside a first-community staff user's scope) with its own trees."""
    community = Place(kind="community", name="富蕴社区", code="C2")
    db.session.add(community)
    db.session.flush()
    grid = Place(kind="grid", name="富蕴一网格", parent_id=community.id)
    db.session.add(grid)
    db.session.flush()
    committee = Org(
        kind="community_committee",
        name="富蕴社区党委",
        parent_id=tree["committee"].parent_id,
        place_id=community.id,
    )
    db.session.add(committee)
    db.session.flush()
    branch = Org(kind="branch", name="富蕴第一支部", parent_id=committee.id)
    db.session.add(branch)
    db.session.flush()
    group = Org(kind="group", name="富蕴1号楼党小组", parent_id=branch.id)
    db.session.add(group)
    db.session.flush()
    building = Place(kind="building", name="富蕴1号楼", parent_id=grid.id, group_id=group.id)
    bare = Place(kind="building", name="2号楼", parent_id=tree["grid_a"].id)
    db.session.add_all([building, bare])
    db.session.commit()
    return {
        "community": community,
        "grid": grid,
        "committee": committee,
        "branch": branch,
        "group": group,
        "building": building,
        "bare": bare,  # a building of grid A without a party group
    }
