"""A staff user of community A cannot list, search, count, export or open anything of B."""

from __future__ import annotations

import io

import pytest
from python_calamine import CalamineWorkbook
from sqlalchemy import func, select

from app.extensions import db
from app.members.models import Member
from app.organization import appointments, services
from app.organization.scope import compute_scope, member_scope_filter, place_scope_filter
from tests.conftest import search
from tests.organization.factories import make_member, place_member


@pytest.fixture
def scoped(structure, make_user):
    a, b = structure["a"], structure["b"]
    staff = make_user("staff")
    appointments.add_scope(staff, org_id=a["committee"].id)
    worker = make_user("grid_worker")
    appointments.appoint_grid_worker(a["grid"], worker)
    for part in (a, b):
        place_member(part)
        place_member(part, "b2")
    db.session.commit()
    return {"staff": staff, "worker": worker, **structure}


def test_scope_sets(scoped):
    a, b = scoped["a"], scoped["b"]
    scope = compute_scope(scoped["staff"])
    assert a["community"].id in scope.community_ids and a["grid"].id in scope.grid_ids
    # Buildings are not materialized: they are in scope through their grid.
    assert a["b1"].id not in scope.place_ids and a["b1"].parent_id in scope.grid_ids
    assert b["b1"].parent_id not in scope.grid_ids
    assert a["group"].id in scope.org_ids and b["branch"].id not in scope.org_ids
    worker_scope = compute_scope(scoped["worker"])
    assert worker_scope.grid_ids == {a["grid"].id} and not worker_scope.org_ids
    assert a["community"].id not in worker_scope.place_ids


@pytest.mark.parametrize("who", ["staff", "worker"])
def test_member_and_place_counts_stay_inside(scoped, who):
    user = scoped[who]
    members = db.session.scalar(select(func.count(Member.id)).where(member_scope_filter(user)))
    assert members == 2
    from app.organization.models import Place

    names = set(db.session.execute(select(Place.name).where(place_scope_filter(user))).scalars())
    assert "甲1号楼" in names and not any(n.startswith("乙") for n in names)


def test_places_pages_stay_inside(scoped, auth):
    a, b = scoped["a"], scoped["b"]
    auth.login(scoped["staff"].username)
    client = auth.client
    html = client.get("/places").get_data(as_text=True)
    assert "甲一网格" in html and "乙" not in html
    html = search(client, "/places", "号楼").get_data(as_text=True)
    assert "甲1号楼" in html and "乙1号楼" not in html
    assert client.get(f"/places/{a['grid'].id}").status_code == 200
    for node in (b["community"], b["grid"], b["b1"]):
        assert client.get(f"/places/{node.id}").status_code == 404
        assert client.get(f"/places/{node.id}/counts").status_code == 404
    assert client.get("/places/999999").status_code == 404
    counts = client.get(f"/places/{a['community'].id}/counts").get_data(as_text=True)
    assert 'data-figure="on_roster">2<' in counts and "楼栋 2" in counts
    # Admin pages are not theirs at all.
    assert client.get(f"/admin/org/place/{a['grid'].id}").status_code == 403


def test_grid_worker_sees_only_their_grid(scoped, auth):
    a, b = scoped["a"], scoped["b"]
    other_grid = services.create_node("place", a["community"].id, "甲二网格")
    db.session.commit()
    auth.login(scoped["worker"].username)
    html = auth.client.get("/places").get_data(as_text=True)
    assert "甲一网格" in html and "甲二网格" not in html and "乙一网格" not in html
    assert auth.client.get(f"/places/{other_grid.id}").status_code == 404
    assert auth.client.get(f"/places/{a['community'].id}").status_code == 404
    assert auth.client.get(f"/places/{b['b1'].id}").status_code == 404


def test_export_stays_inside(scoped, auth):
    auth.login(scoped["staff"].username)
    response = auth.client.get("/places/export.xlsx")
    assert response.status_code == 200
    sheet = CalamineWorkbook.from_filelike(io.BytesIO(response.data)).get_sheet_by_index(0)
    rows = sheet.to_python()
    assert rows[0][:3] == ["社区", "网格", "楼栋"]
    assert {r[0] for r in rows[1:]} == {"甲社区"}
    assert len(rows) == 3


def test_members_are_matched_by_place_and_by_joint_or_lower_level_branches(structure, make_user):
    """属地: a committee's staff see members placed in its community; a joint branch's members
    count wherever they live; a branch-level scope follows branch membership."""
    a, b = structure["a"], structure["b"]
    joint = services.create_node("org", a["committee"].id, "甲联合党支部", is_joint=True)
    lives_in_a = place_member(a, name="甲居民")
    # Branch of A, but living in B: B's community, not A's committee, looks after them.
    in_b = {"community_id": b["community"].id, "grid_id": b["grid"].id, "building_id": b["b2"].id}
    moved = make_member(name="住乙属甲", branch_id=a["branch"].id, **in_b)
    # Joint branch of A, living in B: A's committee staff see them too.
    joint_member = make_member(name="联合支部党员", branch_id=joint.id, **in_b)
    committee_staff = make_user("staff")
    appointments.add_scope(committee_staff, org_id=a["committee"].id)
    branch_staff = make_user("staff")
    appointments.add_scope(branch_staff, org_id=a["branch"].id)
    db.session.commit()

    def visible(user):
        return set(
            db.session.execute(select(Member.name).where(member_scope_filter(user))).scalars()
        )

    assert visible(committee_staff) == {lives_in_a.name, joint_member.name}
    assert visible(branch_staff) == {lives_in_a.name, moved.name}


def test_cached_scope_follows_scope_and_tree_changes(structure, make_user, auth):
    """Scopes are cached across requests; any change to scopes or trees is seen at once."""
    a, b = structure["a"], structure["b"]
    staff = make_user("staff")
    appointments.add_scope(staff, org_id=a["committee"].id)
    db.session.commit()
    auth.login(staff.username)
    assert "乙社区" not in auth.client.get("/places").get_data(as_text=True)
    appointments.add_scope(staff, org_id=b["committee"].id)
    db.session.commit()
    assert "乙社区" in auth.client.get("/places").get_data(as_text=True)
    # A new grid in B shows up too (a tree change, not a scope change).
    services.create_node("place", b["community"].id, "乙新网格")
    db.session.commit()
    assert "乙新网格" in auth.client.get(f"/places/{b['community'].id}").get_data(as_text=True)
