"""Tree rules: kinds, cycles, moves with member history, retire/delete, links, scopes."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import select

from app.audit.models import AuditEntry
from app.errors import DomainError
from app.extensions import db
from app.members.models import MemberHistory
from app.organization import appointments, retiring, services
from app.organization.models import Org, Place
from app.organization.scope import breadcrumb, subtree_ids
from tests.organization.factories import make_member, place_member


def test_subtree_and_breadcrumb_via_recursive_cte(structure):
    a = structure["a"]
    ids = subtree_ids(Org, {structure["street"].id})
    assert {a["committee"].id, a["branch"].id, a["group"].id} <= ids
    assert [n.name for n in breadcrumb(Org, a["group"].id)] == [
        "测试街道党工委",
        "甲社区党委",
        "甲第一支部",
        "甲1号楼党小组",
    ]
    assert [n.name for n in breadcrumb(Place, a["b1"].id)] == ["甲社区", "甲一网格", "甲1号楼"]
    assert subtree_ids(Place, {a["grid"].id}) == {a["grid"].id, a["b1"].id, a["b2"].id}


def test_wrong_child_kind_refused(structure):
    a = structure["a"]
    with pytest.raises(DomainError, match="不能添加"):
        services.create_node("org", a["branch"].id, "x", kind="community_committee")
    with pytest.raises(DomainError, match="不能再添加下级"):
        services.create_node("place", a["b1"].id, "房间")
    with pytest.raises(DomainError, match="不能添加"):
        services.create_node("place", None, "网格", kind="grid")


def test_create_validates_name_and_siblings(structure):
    a = structure["a"]
    with pytest.raises(DomainError, match="请填写名称"):
        services.create_node("place", a["grid"].id, "  ")
    with pytest.raises(DomainError, match="已有名为"):
        services.create_node("place", a["grid"].id, "甲1号楼")
    node = services.create_node("place", a["grid"].id, "３号楼", address=" 甲路３号 ")
    assert node.name == "3号楼" and node.address == "甲路3号" and node.kind == "building"
    assert node.position > a["b2"].position


def test_cycles_and_moving_under_itself_refused(structure):
    a = structure["a"]
    with pytest.raises(DomainError, match="它自己或它的下级"):
        services.move_node("org", structure["street"], a["group"].id)
    with pytest.raises(DomainError, match="它自己或它的下级"):
        services.move_node("org", a["branch"], a["branch"].id)
    with pytest.raises(DomainError, match="它自己或它的下级"):
        services.move_node("place", a["community"], a["b1"].id)


def test_move_to_wrong_kind_refused(structure):
    a, b = structure["a"], structure["b"]
    with pytest.raises(DomainError, match="下不能放"):
        services.move_node("place", a["b1"], b["community"].id)
    with pytest.raises(DomainError, match="下不能放"):
        services.move_node("org", a["group"], b["committee"].id)


def test_moving_grid_to_other_community_moves_members_with_history(structure):
    a, b = structure["a"], structure["b"]
    member = place_member(a)
    db.session.add(
        MemberHistory(
            member_id=member.id,
            aspect="placement",
            value=services.placement_value(member),
            effective_from=date(2020, 1, 1),
        )
    )
    db.session.commit()
    result = services.move_node("place", a["grid"], b["community"].id, today=date(2026, 3, 1))
    db.session.commit()
    db.session.expire_all()
    assert member.community_id == b["community"].id
    assert member.grid_id == a["grid"].id
    assert result.members_moved == 1
    # The building's group belongs to community A: the link is cleared, not left dangling.
    assert result.links_cleared == 1 and a["b1"].group_id is None
    rows = (
        db.session.execute(
            select(MemberHistory)
            .where(MemberHistory.member_id == member.id)
            .order_by(MemberHistory.id)
        )
        .scalars()
        .all()
    )
    assert rows[0].effective_to == date(2026, 3, 1)
    assert rows[1].effective_to is None and rows[1].effective_from == date(2026, 3, 1)
    assert rows[1].value["community_id"] == b["community"].id
    assert db.session.scalar(select(AuditEntry).where(AuditEntry.action == "place_move"))


def test_moving_building_to_other_grid_updates_members(structure):
    a = structure["a"]
    other = services.create_node("place", a["community"].id, "甲二网格")
    member = place_member(a, "b2")
    services.move_node("place", a["b2"], other.id)
    db.session.commit()
    db.session.expire_all()
    assert member.grid_id == other.id and member.community_id == a["community"].id
    assert a["b2"].parent_id == other.id


def test_moving_group_to_other_branch_moves_members_branch(structure):
    a = structure["a"]
    branch2 = services.create_node("org", a["committee"].id, "甲第二支部")
    member = place_member(a)
    result = services.move_node("org", a["group"], branch2.id)
    db.session.commit()
    db.session.expire_all()
    assert member.branch_id == branch2.id and member.group_id == a["group"].id
    assert result.members_moved == 1


def test_group_with_buildings_cannot_move_to_other_community(structure):
    a, b = structure["a"], structure["b"]
    with pytest.raises(DomainError, match="关联了 1 个楼栋"):
        services.move_node("org", a["group"], b["branch"].id)


def test_delete_refused_while_holding_with_message(structure):
    a = structure["a"]
    place_member(a)
    place_member(a, "b2")
    with pytest.raises(DomainError) as info:
        retiring.delete_node(a["grid"])
    assert info.value.message == "该网格下还有2 个楼栋、2 名党员，不能删除；可以改为停用。"
    with pytest.raises(DomainError, match="1 个关联的楼栋"):
        retiring.delete_node(a["group"])
    with pytest.raises(DomainError, match="1 个党小组"):
        retiring.delete_node(a["branch"])


def test_delete_empty_node_and_audit(structure):
    a = structure["a"]
    node = services.create_node("place", a["grid"].id, "临时楼")
    node_id = node.id
    retiring.delete_node(node)
    db.session.commit()
    assert db.session.get(Place, node_id) is None
    entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "place_delete"))
    assert entry.object_id == str(node_id) and entry.before["name"] == "临时楼"


def test_retire_requires_children_retired_and_restore(structure):
    a = structure["a"]
    with pytest.raises(DomainError, match="在用的下级"):
        retiring.retire_node(a["grid"])
    retiring.retire_node(a["b1"])
    retiring.retire_node(a["b2"])
    retiring.retire_node(a["grid"])
    with pytest.raises(DomainError, match="已停用，不能添加下级"):
        services.create_node("place", a["grid"].id, "新楼")
    with pytest.raises(DomainError, match="请先恢复上级"):
        retiring.restore_node(a["b1"])
    retiring.restore_node(a["grid"])
    retiring.restore_node(a["b1"])
    assert a["grid"].retired_at is None and a["b1"].retired_at is None


def test_building_has_one_group_of_its_own_community(structure):
    a, b = structure["a"], structure["b"]
    with pytest.raises(DomainError, match="不属于该楼栋所在的社区"):
        appointments.link_building_group(a["b2"], b["group"].id)
    with pytest.raises(DomainError, match="请选择一个党小组"):
        appointments.link_building_group(a["b2"], a["branch"].id)
    group2 = services.create_node("org", a["branch"].id, "甲2号楼党小组")
    appointments.link_building_group(a["b1"], group2.id)
    assert a["b1"].group_id == group2.id  # replaced: still exactly one group
    appointments.link_building_group(a["b1"], None)
    assert a["b1"].group_id is None


def test_committee_links_one_community(structure):
    a = structure["a"]
    with pytest.raises(DomainError, match="已由"):
        services.create_node("org", structure["street"].id, "重复党委", place_id=a["community"].id)


def test_grid_workers_and_scopes(structure, make_user):
    a = structure["a"]
    worker = make_user("grid_worker")
    member_user = make_user("member")
    appointments.appoint_grid_worker(a["grid"], worker)
    with pytest.raises(DomainError, match="已是该网格的网格员"):
        appointments.appoint_grid_worker(a["grid"], worker)
    with pytest.raises(DomainError, match="请选择一个网格员"):
        appointments.appoint_grid_worker(a["grid"], member_user)
    with pytest.raises(DomainError, match="只能在网格上"):
        appointments.appoint_grid_worker(a["b1"], worker)
    appointments.remove_grid_worker(a["grid"], worker)
    assert appointments.grids_of(worker) == []
    staff = make_user("staff")
    scope = appointments.add_scope(staff, org_id=a["committee"].id)
    with pytest.raises(DomainError, match="已在该账号的管理范围内"):
        appointments.add_scope(staff, org_id=a["committee"].id)
    with pytest.raises(DomainError, match="只能是社区或网格"):
        appointments.add_scope(staff, place_id=a["b1"].id)
    with pytest.raises(DomainError, match="只有党务工作者和网格员"):
        appointments.add_scope(make_user("admin"), org_id=a["committee"].id)
    appointments.remove_scope(staff, scope.id)
    db.session.commit()
    actions = set(db.session.execute(select(AuditEntry.action)).scalars())
    assert {"grid_worker_appoint", "grid_worker_remove", "scope_add", "scope_remove"} <= actions


def test_every_tree_change_is_audited(structure):
    a = structure["a"]
    services.rename_node(a["b2"], "甲二号楼")
    services.update_node(a["b2"], name="甲二号楼", address="新地址", code="B-2")
    db.session.commit()
    actions = list(db.session.execute(select(AuditEntry.action)).scalars())
    assert "org_create" in actions and "place_create" in actions
    assert "place_rename" in actions and "place_update" in actions and "place_group_link" in actions


def test_each_of_two_streets_counts_its_own_communities_members(structure):
    """A district-size tree has several street committees: each holds its communities'
    members, no longer everyone (one street still counts everyone, without a subquery)."""
    from sqlalchemy import func

    from app.members.models import Member

    place_member(structure["a"])
    place_member(structure["a"])
    place_member(structure["b"])
    db.session.commit()

    def held(node) -> int:  # noqa: ANN001
        clause = services.node_members_clause("org", node)
        return db.session.execute(select(func.count(Member.id)).where(clause)).scalar_one()

    assert held(structure["street"]) == 3
    other = services.create_node("org", None, "第二街道党工委")
    community = services.create_node("place", None, "丙社区")
    services.create_node("org", other.id, "丙社区党委", place_id=community.id)
    make_member(community_id=community.id)
    db.session.commit()
    assert held(structure["street"]) == 3
    assert held(other) == 1
