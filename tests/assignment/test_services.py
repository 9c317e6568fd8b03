"""Placement, bulk moves, liaisons and the unassigned work list: every rule of SPEC §7."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import event, func, select

from app.assignment import liaisons, services, worklist
from app.assignment.services import BatchFailed, Target
from app.audit.models import AuditEntry
from app.errors import DomainError
from app.extensions import db
from app.members.models import Member, MemberHistory
from app.timeutil import local_today


def placement_rows(member_id: int) -> list[MemberHistory]:
    return list(
        db.session.execute(
            select(MemberHistory)
            .where(MemberHistory.member_id == member_id, MemberHistory.aspect == "placement")
            .order_by(MemberHistory.id)
        ).scalars()
    )


@pytest.fixture
def admin(make_user):
    return make_user("admin")


def test_building_proposes_group_and_branch_and_derives_grid(tree, make_member, admin):
    m = make_member()
    plan = services.place_members([m], Target(building_id=tree["building_a"].id), admin)
    db.session.commit()
    db.session.expire_all()
    m = db.session.get(Member, m.id)
    assert (m.building_id, m.grid_id, m.community_id) == (
        tree["building_a"].id,
        tree["grid_a"].id,
        tree["community"].id,
    )
    assert (m.group_id, m.branch_id) == (tree["group_a"].id, tree["branch_a"].id)
    assert plan.counts()["move"] == 1


def test_move_is_a_dated_history_row_and_audited(tree, make_member, admin):
    m = make_member(building=tree["building_a"], effective=date(2025, 1, 1))
    version = m.version
    day = local_today() - timedelta(days=3)
    services.place_members(
        [m], Target(building_id=tree["building_b"].id), admin, effective=day, reason="搬家"
    )
    db.session.commit()
    rows = placement_rows(m.id)
    assert len(rows) == 2
    assert rows[0].effective_to == day
    assert rows[1].effective_from == day and rows[1].effective_to is None
    assert rows[1].reason == "搬家" and rows[1].changed_by_id == admin.id
    assert rows[1].value == {
        "community_id": tree["community"].id,
        "grid_id": tree["grid_b"].id,
        "building_id": tree["building_b"].id,
        "branch_id": tree["branch_b"].id,
        "group_id": tree["group_b"].id,
    }
    entry = db.session.execute(
        select(AuditEntry).where(AuditEntry.action == "member_placement")
    ).scalar_one()
    assert entry.object_id == str(m.id) and entry.after["building_id"] == tree["building_b"].id
    db.session.expire_all()
    assert db.session.get(Member, m.id).version == version + 1


def test_unchanged_member_gets_no_history(tree, make_member, admin):
    m = make_member(building=tree["building_a"], group=tree["group_a"])
    plan = services.place_members([m], Target(building_id=tree["building_a"].id), admin)
    assert plan.counts()["unchanged"] == 1
    assert "已在目标位置，无需调整" in plan.moves[0].warnings
    assert len(placement_rows(m.id)) == 1


def test_group_must_belong_to_branch(tree, make_member, admin):
    m = make_member()
    with pytest.raises(DomainError) as exc:
        services.plan_moves(
            [m.id],
            Target(org_mode="set", branch_id=tree["branch_a"].id, group_id=tree["group_b"].id),
            admin,
        )
    assert exc.value.errors["group_id"] == "所选党小组不属于所选党支部"


@pytest.mark.parametrize(
    "target, field",
    [
        (lambda t: Target(building_id=t["grid_a"].id), "building_id"),
        (lambda t: Target(org_mode="set", branch_id=t["group_a"].id), "branch_id"),
        (lambda t: Target(org_mode="set", group_id=t["branch_a"].id), "group_id"),
        (lambda t: Target(org_mode="set"), "branch_id"),
        (lambda t: Target(org_mode="nonsense"), "org_mode"),
    ],
)
def test_target_must_exist_in_the_trees(tree, make_member, admin, target, field):
    m = make_member()
    with pytest.raises(DomainError) as exc:
        services.plan_moves([m.id], target(tree), admin)
    assert field in exc.value.errors


def test_branch_must_be_in_staff_scope(tree, other, make_member, staff_of):
    staff = staff_of(org=tree["committee"])
    m = make_member(building=tree["building_a"])
    with pytest.raises(DomainError) as exc:
        services.plan_moves([m.id], Target(org_mode="set", branch_id=other["branch"].id), staff)
    assert exc.value.errors["branch_id"] == "所选党支部不在您的管理范围内"
    plan = services.plan_moves([m.id], Target(org_mode="set", branch_id=tree["branch_b"].id), staff)
    assert plan.moves[0].after["branch_id"] == tree["branch_b"].id


def test_building_must_be_in_place_scope(tree, other, make_member, staff_of):
    staff = staff_of(org=tree["committee"])
    m = make_member(building=tree["building_a"])
    with pytest.raises(DomainError) as exc:
        services.plan_moves([m.id], Target(building_id=other["building"].id), staff)
    assert "不在您的管理范围内" in exc.value.errors["building_id"]


def test_grid_worker_cannot_move_members_out_of_their_grid(
    tree, other, make_member, grid_worker_of
):
    worker = grid_worker_of(tree["grid_a"])
    m = make_member(building=tree["building_a"])
    with pytest.raises(DomainError) as exc:
        services.plan_moves([m.id], Target(building_id=tree["building_b"].id), worker)
    assert "不能把党员调出您负责的网格" in exc.value.errors["building_id"]
    # Inside the grid it works, and the building's group is proposed even without org scope.
    plan = services.place_members([m.id], Target(building_id=other["bare"].id), worker)
    assert plan.counts()["move"] == 1
    # A member of another grid is not even visible.
    stranger = make_member(building=tree["building_b"])
    plan = services.plan_moves([stranger.id], Target(building_id=tree["building_a"].id), worker)
    assert plan.failed[0].error == "未找到该党员，或不在您的管理范围内"


def test_grid_worker_may_confirm_the_buildings_group(tree, make_member, grid_worker_of):
    worker = grid_worker_of(tree["grid_a"])
    m = make_member(building=tree["building_a"])
    plan = services.place_members(
        [m.id],
        Target(org_mode="set", branch_id=tree["branch_a"].id, building_id=tree["building_a"].id),
        worker,
    )
    assert plan.moves[0].after["group_id"] == tree["group_a"].id
    with pytest.raises(DomainError):
        services.plan_moves([m.id], Target(org_mode="set", branch_id=tree["branch_b"].id), worker)


@pytest.mark.parametrize("relation", ["work_unit", "elsewhere"])
def test_relation_elsewhere_gets_building_but_no_branch_or_group(
    tree, make_member, admin, relation
):
    extra = {"relation_org_name": "外地某党支部"} if relation == "elsewhere" else {}
    m = make_member(relation_location=relation, group=tree["group_b"], **extra)
    plan = services.place_members([m], Target(building_id=tree["building_a"].id), admin)
    move = plan.moves[0]
    assert move.after["building_id"] == tree["building_a"].id
    assert move.after["branch_id"] is None and move.after["group_id"] is None
    assert move.report_group_id == tree["group_a"].id  # "报到" attachment
    assert any("组织关系不在本社区" in w for w in move.warnings)


def test_building_without_group_keeps_org_with_warning(tree, other, make_member, admin):
    m = make_member(group=tree["group_a"])
    plan = services.plan_moves([m.id], Target(building_id=other["bare"].id), admin)
    assert plan.moves[0].after["group_id"] == tree["group_a"].id
    assert "该楼栋尚未建立党小组：党支部和党小组保持不变" in plan.moves[0].warnings


def test_org_modes_keep_and_clear(tree, make_member, admin):
    m = make_member(group=tree["group_a"])
    keep = services.plan_moves([m.id], Target(tree["building_b"].id, org_mode="keep"), admin)
    assert keep.moves[0].after["group_id"] == tree["group_a"].id
    clear = services.plan_moves([m.id], Target(org_mode="clear"), admin)
    assert clear.moves[0].after["branch_id"] is None


def test_inactive_member_cannot_be_moved(tree, make_member, admin):
    m = make_member(status="deceased")
    plan = services.plan_moves([m.id], Target(building_id=tree["building_a"].id), admin)
    assert plan.failed[0].error == "该党员状态为“已故”，不能调整分配"


def test_effective_date_rules(tree, make_member, admin):
    m = make_member(effective=local_today() - timedelta(days=10))
    with pytest.raises(DomainError):
        services.plan_moves(
            [m.id], Target(tree["building_a"].id), admin, effective=local_today() + timedelta(1)
        )
    plan = services.plan_moves(
        [m.id], Target(tree["building_a"].id), admin, effective=local_today() - timedelta(20)
    )
    assert "不能早于上一次调整" in plan.failed[0].error


def test_conflict_expected_version(tree, make_member, admin):
    m = make_member()
    with pytest.raises(BatchFailed) as exc:
        services.place_members(
            [m], Target(tree["building_a"].id), admin, expected_versions={m.id: m.version - 1}
        )
    assert "他人修改" in exc.value.plan.failed[0].error


def test_concurrent_moves_one_wins_no_duplicate_history(tree, make_member, admin, make_user):
    """Two staff plan a move of the same member; the second apply finds a newer version."""
    m = make_member()
    other_staff = make_user("admin")
    first = services.plan_moves([m.id], Target(tree["building_a"].id), admin)
    second = services.plan_moves([m.id], Target(tree["building_b"].id), other_staff)
    services.apply_plan(first, admin)
    db.session.commit()
    with pytest.raises(services.ConflictError):
        services.apply_plan(second, other_staff)
    db.session.rollback()
    rows = placement_rows(m.id)
    assert len(rows) == 2 and [r.effective_to is None for r in rows] == [False, True]
    assert rows[1].value["building_id"] == tree["building_a"].id
    assert db.session.get(Member, m.id).building_id == tree["building_a"].id


def test_bulk_move_of_1200_members_in_one_transaction(tree, make_member, admin):
    from tests.assignment.helpers import bulk_members

    ids = bulk_members(1200, tree)
    plan = services.plan_moves(ids, Target(building_id=tree["building_b"].id), admin)
    assert plan.counts() == {
        "total": 1200,
        "move": 1200,
        "held": 0,
        "unchanged": 0,
        "failed": 0,
        "warned": 0,
    }
    statements = []
    hook = lambda *args: statements.append(args[2])  # noqa: E731
    event.listen(db.engine, "before_cursor_execute", hook)
    services.apply_plan(plan, admin)
    event.remove(db.engine, "before_cursor_execute", hook)
    # Members and history rows are moved set-based; only the audit log has a row per member.
    assert len([s for s in statements if "audit_entry" not in s]) < 20
    db.session.commit()
    assert (
        db.session.execute(
            select(func.count()).where(Member.building_id == tree["building_b"].id)
        ).scalar_one()
        == 1200
    )
    assert (
        db.session.execute(
            select(func.count()).where(
                MemberHistory.aspect == "placement", MemberHistory.effective_to.is_(None)
            )
        ).scalar_one()
        == 1200
    )
    assert (
        db.session.execute(
            select(func.count()).where(AuditEntry.action == "member_placement")
        ).scalar_one()
        == 1200
    )


def test_bulk_with_failures_applies_nothing_or_skips_them(tree, make_member, admin):
    from tests.assignment.helpers import bulk_members

    ids = bulk_members(1000, tree)
    dead = make_member(status="deceased")
    plan = services.plan_moves([*ids, dead.id], Target(tree["building_b"].id), admin)
    with pytest.raises(BatchFailed) as exc:
        services.apply_plan(plan, admin)
    assert [m.member_id for m in exc.value.plan.failed] == [dead.id]
    db.session.rollback()
    assert (
        db.session.execute(
            select(func.count()).where(Member.building_id == tree["building_b"].id)
        ).scalar_one()
        == 0
    )
    counts = services.apply_plan(plan, admin, skip_failed=True)
    db.session.commit()
    assert counts["move"] == 1000 and counts["failed"] == 1
    assert db.session.get(Member, dead.id).building_id is None


def test_all_matching_filter_selection(tree, make_member, admin):
    from tests.assignment.helpers import bulk_members

    bulk_members(30, tree)
    make_member(building=tree["building_b"])
    query = select(Member.id).where(Member.building_id == tree["building_a"].id)
    plan = services.plan_moves(query, Target(building_id=tree["building_b"].id), admin)
    assert plan.counts()["move"] == 30


# ---- liaisons --------------------------------------------------------------------------------


def mobile(make_member, tree, **kw):
    return make_member(
        mobility="flow_in",
        mobility_place="甘肃金昌",
        mobility_since=date(2025, 1, 1),
        relation_location="elsewhere",
        relation_org_name="金昌某党支部",
        building=tree["building_a"],
        **kw,
    )


def test_liaison_exactly_one_with_history(tree, make_member, admin, staff_of):
    m = mobile(make_member, tree)
    assert m.category == "coordinated"
    staff = staff_of(org=tree["committee"])
    helper = make_member(building=tree["building_a"])
    liaisons.set_liaison(m, admin, liaison_user_id=staff.id, expected_version=m.version)
    db.session.commit()
    assert (m.liaison_user_id, m.liaison_member_id) == (staff.id, None)
    liaisons.set_liaison(m, admin, liaison_member_id=helper.id, expected_version=m.version)
    db.session.commit()
    assert (m.liaison_user_id, m.liaison_member_id) == (None, helper.id)
    rows = (
        db.session.execute(
            select(MemberHistory).where(
                MemberHistory.member_id == m.id, MemberHistory.aspect == "liaison"
            )
        )
        .scalars()
        .all()
    )
    assert [r.value for r in rows][-2:] == [
        {"liaison_user_id": staff.id, "liaison_member_id": None},
        {"liaison_user_id": None, "liaison_member_id": helper.id},
    ]
    with pytest.raises(DomainError):
        liaisons.set_liaison(m, admin, liaison_user_id=staff.id, liaison_member_id=helper.id)
    with pytest.raises(DomainError):
        liaisons.set_liaison(m, admin)


def test_liaison_rules(tree, other, make_member, admin, staff_of, make_user):
    m = mobile(make_member, tree)
    resident = make_member(building=tree["building_a"])
    with pytest.raises(DomainError, match="只有协管"):
        liaisons.set_liaison(resident, admin, liaison_user_id=admin.id)
    with pytest.raises(DomainError, match="自己"):
        liaisons.set_liaison(m, admin, liaison_member_id=m.id)
    dead = make_member(status="deceased")
    with pytest.raises(DomainError):
        liaisons.set_liaison(m, admin, liaison_member_id=dead.id)
    staff = staff_of(org=tree["committee"])
    foreign_staff = staff_of(org=other["committee"])
    with pytest.raises(DomainError, match="管理范围"):
        liaisons.set_liaison(m, staff, liaison_user_id=foreign_staff.id)
    foreign_member = make_member(building=other["building"])
    with pytest.raises(DomainError, match="管理范围"):
        liaisons.set_liaison(m, staff, liaison_member_id=foreign_member.id)
    found = liaisons.liaison_candidates(m, staff, "")
    assert staff.id in [u.id for u in found["staff"]]
    assert foreign_staff.id not in [u.id for u in found["staff"]]


def test_liaison_conflict(tree, make_member, admin):
    m = mobile(make_member, tree)
    with pytest.raises(services.ConflictError):
        liaisons.set_liaison(m, admin, liaison_user_id=admin.id, expected_version=m.version - 1)


def test_my_members(tree, make_member, admin, make_user):
    m = mobile(make_member, tree)
    helper = make_member(building=tree["building_a"])
    liaisons.set_liaison(m, admin, liaison_member_id=helper.id)
    db.session.commit()
    member_user = make_user("member", member_id=helper.id)
    assert [x.id for x in db.session.execute(liaisons.my_members_query(member_user)).scalars()] == [
        m.id
    ]
    assert db.session.execute(liaisons.my_members_query(admin)).scalars().all() == []


# ---- unassigned ------------------------------------------------------------------------------


def test_unassigned_counts(tree, other, make_member, admin, staff_of):
    make_member()  # no building, no group
    make_member(building=other["bare"])  # building without group: missing group
    make_member(building=tree["building_a"], group=tree["group_a"])  # complete
    make_member(relation_location="work_unit", building=tree["building_a"])  # needs no group
    mobile(make_member, tree)  # relation elsewhere, coordinated without liaison
    make_member(status="deceased")  # not active: not on the list
    make_member(building=other["building"])  # other community (no group): out of staff scope
    counts = worklist.unassigned_counts(admin)
    assert counts == {"building": 1, "group": 3, "liaison": 1, "total": 4}
    staff = staff_of(org=tree["committee"])
    # The member with no place and no branch is outside every scope but the admin's.
    assert worklist.unassigned_counts(staff)["total"] == 2
