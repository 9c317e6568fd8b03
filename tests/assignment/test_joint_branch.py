"""Members of a 联合党支部 or of a branch other than their building's are never moved by the
building's proposal without a deliberate confirmation, and are not "missing a group" when
their branch has no groups."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select

from app.assignment import services, worklist
from app.assignment.services import Target
from app.audit.models import AuditEntry
from app.errors import DomainError
from app.extensions import db
from app.members.models import Member, MemberHistory
from app.organization.models import Org

HX = {"HX-Request": "true"}


@pytest.fixture
def joint(tree):
    """The community's 非公企业联合党支部: a branch without party groups."""
    branch = Org(
        kind="branch", name="非公企业联合党支部", parent_id=tree["committee"].id, is_joint=True
    )
    db.session.add(branch)
    db.session.commit()
    return branch


@pytest.fixture
def admin(make_user):
    return make_user("admin")


def placement_rows(member_id: int) -> int:
    return db.session.execute(
        select(func.count()).where(
            MemberHistory.member_id == member_id, MemberHistory.aspect == "placement"
        )
    ).scalar_one()


def audit_rows() -> list[AuditEntry]:
    return list(
        db.session.execute(
            select(AuditEntry).where(AuditEntry.action == "member_placement")
        ).scalars()
    )


def state(member_id: int) -> tuple:
    db.session.expire_all()
    m = db.session.get(Member, member_id)
    return m.branch_id, m.group_id, m.version


# ---- the service ------------------------------------------------------------------------------


def test_proposal_does_not_move_a_joint_branch_member_without_confirmation(
    tree, joint, make_member, admin
):
    m = make_member(building=tree["building_a"], branch=joint)
    before = state(m.id)
    with pytest.raises(DomainError) as exc:
        services.place_members([m.id], Target(org_mode="auto"), admin)
    message = exc.value.errors["confirm"]
    assert "联合党支部" in message
    assert "从 非公企业联合党支部 调到 第一小区党支部 · 1号楼党小组" in message
    db.session.rollback()
    assert state(m.id) == before
    assert placement_rows(m.id) == 1 and audit_rows() == []


def test_confirmed_transfer_moves_with_history_and_audit(tree, joint, make_member, admin):
    m = make_member(building=tree["building_a"], branch=joint)
    plan = services.place_members([m.id], Target(org_mode="auto"), admin, confirm=True)
    db.session.commit()
    assert plan.counts()["move"] == 1
    branch_id, group_id, _ = state(m.id)
    assert (branch_id, group_id) == (tree["branch_a"].id, tree["group_a"].id)
    assert placement_rows(m.id) == 2
    (entry,) = audit_rows()
    assert entry.before["branch_id"] == joint.id
    assert entry.after["branch_id"] == tree["branch_a"].id
    assert "确认调离原党支部" in entry.detail


def test_member_of_another_branch_is_not_moved_by_his_buildings_proposal(tree, make_member, admin):
    # Lives in building 1 (branch A's group) but belongs to branch B.
    m = make_member(building=tree["building_a"], branch=tree["branch_b"])
    with pytest.raises(DomainError) as exc:
        services.place_members([m.id], Target(org_mode="auto"), admin)
    assert "从 第二小区党支部 调到 第一小区党支部 · 1号楼党小组" in exc.value.errors["confirm"]
    db.session.rollback()
    assert state(m.id)[0] == tree["branch_b"].id
    # A new building for him proposes a new branch too: still a deliberate step.
    m2 = make_member(branch=tree["branch_a"])  # a branch but no building yet
    with pytest.raises(DomainError):
        services.place_members([m2.id], Target(building_id=tree["building_b"].id), admin)


def test_member_of_his_buildings_branch_follows_a_move_of_house(tree, make_member, admin):
    """Moving house from building 1 to building 9 still brings branch B's group at once."""
    m = make_member(building=tree["building_a"], group=tree["group_a"])
    plan = services.place_members([m.id], Target(building_id=tree["building_b"].id), admin)
    assert plan.counts()["move"] == 1 and not plan.held
    assert state(m.id)[:2] == (tree["branch_b"].id, tree["group_b"].id)


def test_bulk_plan_holds_transfers_until_confirmed(tree, joint, make_member, admin):
    plain = make_member(building=tree["building_a"])
    member = make_member(building=tree["building_a"], branch=joint)
    target = Target(org_mode="auto")
    plan = services.plan_moves([plain.id, member.id], target, admin)
    assert plan.counts()["move"] == 1 and plan.counts()["held"] == 1
    assert [m.member_id for m in plan.held] == [member.id]
    services.apply_plan(plan, admin)  # only the plain member moves
    db.session.commit()
    assert state(plain.id)[1] == tree["group_a"].id
    assert state(member.id)[:2] == (joint.id, None)
    confirmed = services.plan_moves([member.id], target, admin, confirm_transfers=True)
    assert confirmed.counts()["move"] == 1 and not confirmed.held
    services.apply_plan(confirmed, admin)
    db.session.commit()
    assert state(member.id)[:2] == (tree["branch_a"].id, tree["group_a"].id)


# ---- the counters -----------------------------------------------------------------------------


def test_members_of_a_branch_without_groups_are_not_missing_a_group(
    tree, joint, make_member, admin
):
    make_member(building=tree["building_a"], branch=joint)  # joint branch, no groups
    bare = Org(kind="branch", name="老年党支部", parent_id=tree["committee"].id)
    db.session.add(bare)
    db.session.commit()
    make_member(building=tree["building_a"], branch=bare)  # a branch with no groups either
    other = make_member(building=tree["building_a"], branch=tree["branch_b"])  # B has groups
    nobody = make_member(building=tree["building_a"])  # no branch at all
    counts = worklist.unassigned_counts(admin)
    assert counts["group"] == 2 and counts["total"] == 2
    ids = worklist.unassigned_page(admin, "group", None, 50)
    assert sorted(ids) == sorted([other.id, nobody.id])
    # A retired group does not count as the branch having groups.
    group = Org(kind="group", name="撤销的小组", parent_id=joint.id)
    db.session.add(group)
    db.session.commit()
    assert worklist.unassigned_counts(admin)["group"] == 3
    group.retired_at = func.now()
    db.session.commit()
    assert worklist.unassigned_counts(admin)["group"] == 2


# ---- the pages --------------------------------------------------------------------------------


def test_one_click_in_the_work_list_needs_a_second_confirmation(
    client, auth, tree, joint, make_member
):
    auth.login_as("admin")
    m = make_member(name="张跨支", building=tree["building_a"], branch=tree["branch_b"])
    make_member(name="李联合", building=tree["building_a"], branch=joint)
    html = client.get("/assignment/?kind=group").get_data(as_text=True)
    assert "张跨支" in html and "李联合" not in html  # the joint branch has no groups
    assert "从 第二小区党支部 调到 第一小区党支部 · 1号楼党小组" in html
    token = auth.token("/assignment/")
    data = {"csrf_token": token, "inline": "1", "org_mode": "auto", "version": m.version}
    first = client.post(f"/assignment/members/{m.id}/place", data=data, headers=HX)
    text = first.get_data(as_text=True)
    assert first.status_code == 422
    assert "从 第二小区党支部 调到 第一小区党支部 · 1号楼党小组" in text
    assert 'name="confirm" value="1"' in text
    assert state(m.id)[0] == tree["branch_b"].id
    second = client.post(
        f"/assignment/members/{m.id}/place", data={**data, "confirm": "1"}, headers=HX
    )
    assert second.status_code == 200 and second.get_data(as_text=True).strip() == ""
    assert state(m.id)[:2] == (tree["branch_a"].id, tree["group_a"].id)
    counts = client.get("/assignment/counts?kind=group", headers=HX).get_data(as_text=True)
    assert re.search(r'data-kind="group">0<', counts)


def test_joint_member_page_shows_the_transfer_and_needs_the_tick(
    client, auth, tree, joint, make_member
):
    auth.login_as("admin")
    m = make_member(name="王非公", building=tree["building_a"], branch=joint)
    page = client.get(f"/assignment/members/{m.id}").get_data(as_text=True)
    # (The full page once lost this line: base.html's own ``current`` hid it.)
    assert "现在：<strong>第一网格 · 1号楼｜非公企业联合党支部</strong>" in page
    assert "从 非公企业联合党支部 调到 第一小区党支部 · 1号楼党小组" in page
    assert 'name="confirm"' in page
    token = auth.token(f"/assignment/members/{m.id}")
    data = {
        "csrf_token": token,
        "org_mode": "auto",
        "grid": tree["grid_a"].id,
        "building_id": tree["building_a"].id,
        "version": m.version,
    }
    refused = client.post(f"/assignment/members/{m.id}/place", data=data, headers=HX)
    assert refused.status_code == 422
    assert "联合党支部" in refused.get_data(as_text=True)
    assert state(m.id)[0] == joint.id
    # Keeping the branch (only the building) needs no tick.
    kept = client.post(
        f"/assignment/members/{m.id}/place", data={**data, "org_mode": "keep"}, headers=HX
    )
    assert kept.status_code == 200 and state(m.id)[0] == joint.id
    version = state(m.id)[2]
    done = client.post(
        f"/assignment/members/{m.id}/place",
        data={**data, "version": version, "confirm": "y"},
        headers=HX,
    )
    assert done.status_code == 200
    assert state(m.id)[:2] == (tree["branch_a"].id, tree["group_a"].id)


def _hidden(html: str) -> dict:
    data: dict = {}
    for name, value in re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', html):
        data.setdefault(name, []).append(value)
    return data


def test_bulk_preview_lists_transfers_separately_and_applies_them_only_when_confirmed(
    client, auth, tree, joint, make_member
):
    auth.login_as("admin")
    plain = make_member(building=tree["building_a"])
    member = make_member(name="赵联合", building=tree["building_a"], branch=joint)
    token = auth.token("/members/")
    page = client.post(
        "/assignment/bulk", data={"csrf_token": token, "member_id": [plain.id, member.id]}
    )
    form = _hidden(page.get_data(as_text=True))
    form["org_mode"] = "auto"
    preview = client.post("/assignment/bulk/preview", data=form, headers=HX)
    text = preview.get_data(as_text=True)
    assert preview.status_code == 200
    assert 'data-count="held">1<' in text and 'class="outcome-held"' in text
    assert "从 非公企业联合党支部 调到 第一小区党支部 · 1号楼党小组" in text
    assert 'name="confirm"' in text
    key = re.search(r'name="preview_key" value="([^"]+)"', text).group(1)
    done = client.post("/assignment/bulk/apply", data={**form, "preview_key": key}, headers=HX)
    assert done.status_code == 200
    assert "未调整 1 人" in done.get_data(as_text=True)
    assert state(plain.id)[1] == tree["group_a"].id
    assert state(member.id)[0] == joint.id
    again = client.post(
        "/assignment/bulk/apply",
        data={**form, "preview_key": key, "confirm": "1"},
        headers=HX,
    )
    assert again.status_code == 200
    assert state(member.id)[:2] == (tree["branch_a"].id, tree["group_a"].id)


def test_building_list_one_click_offers_to_keep_the_branch(client, auth, tree, make_member):
    """缺楼栋: giving a building to a member already in a branch (here B, the building is
    A's) asks first; "只分配楼栋，保留原党支部" sets the building and keeps his branch."""
    auth.login_as("admin")
    m = make_member(branch=tree["branch_b"])
    token = auth.token("/assignment/")
    data = {
        "csrf_token": token,
        "inline": "1",
        "org_mode": "auto",
        "version": m.version,
        "grid": tree["grid_a"].id,
        "building_id": tree["building_a"].id,
    }
    first = client.post(f"/assignment/members/{m.id}/place", data=data, headers=HX)
    text = first.get_data(as_text=True)
    assert first.status_code == 422 and "已编入党支部，但尚未分配楼栋" in text
    assert "只分配楼栋，保留原党支部" in text and 'name="org_mode" value="keep"' in text
    db.session.expire_all()
    assert db.session.get(Member, m.id).building_id is None
    kept = client.post(
        f"/assignment/members/{m.id}/place", data={**data, "org_mode": "keep"}, headers=HX
    )
    assert kept.status_code == 200
    db.session.expire_all()
    moved = db.session.get(Member, m.id)
    assert (moved.building_id, moved.branch_id) == (tree["building_a"].id, tree["branch_b"].id)
