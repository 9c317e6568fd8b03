"""Assignment (SPEC §7): members to building → grid, branch and building party group; liaisons.

"党支部建在小区、党小组建在楼栋": a member's building proposes the group (and its branch); staff
confirm or change it. One member or thousands go through the same two steps: ``plan_moves``
(checks every rule, changes nothing — the preview) and ``apply_plan`` (set-based UPDATEs guarded
by each member's version, dated history rows, one audit entry per member). Services flush and
record; the request commits.

A member already in a branch of his own (a 联合党支部, or a branch other than his building's:
``management.own_branch``) is never taken out of it without a deliberate confirmation: the plan
holds such a move (``Move.transfer``, outcome "held") unless ``confirm_transfers`` is given.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sqlalchemy import (
    Select,
    and_,
    exists,
    func,
    insert,
    select,
    tuple_,
    update,
)
from sqlalchemy.orm import aliased

from app.audit import record
from app.errors import DomainError
from app.extensions import db
from app.members import management
from app.members import services as member_services
from app.members.models import STATUSES, Member, MemberHistory
from app.members.validation import ASPECT_FIELDS
from app.organization.models import Org, Place
from app.organization.scope import (
    member_scope_filter,
    org_scope_filter,
    place_scope_filter,
)
from app.timeutil import local_today, utcnow

PLACEMENT_KEYS: tuple[str, ...] = ASPECT_FIELDS["placement"]
# Org relation held outside the community (in-service members' work unit, flow-in members'
# home organization): building and grid, but no branch or group — they report (报到) there.
RELATION_ELSEWHERE = frozenset({"work_unit", "elsewhere"})
PLACEABLE_STATUSES = frozenset({"active", "flowed_out", "lost_contact"})
LIAISON_STATUSES = ("active", "flowed_out", "lost_contact")
ORG_MODES = {
    "auto": "按楼栋建议（党小组建在楼栋）",
    "keep": "党支部和党小组保持不变",
    "set": "指定党支部 / 党小组",
    "clear": "移出党支部和党小组",
}
UNASSIGNED_KINDS = {
    "building": "缺楼栋",
    "group": "缺党小组",
    "liaison": "缺联络人",
}
CHUNK = 500


class BatchFailed(Exception):
    """Some members cannot be moved; nothing was applied. ``plan`` lists them."""

    def __init__(self, plan: Plan):
        super().__init__(f"{len(plan.failed)} 名党员无法调整")
        self.plan = plan


ConflictError = member_services.ConflictError


# ---- the target -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Target:
    """Where to put members. ``building_id`` None keeps each member's building."""

    building_id: int | None = None
    org_mode: str = "auto"
    branch_id: int | None = None
    group_id: int | None = None


@dataclass(frozen=True)
class BuildingInfo:
    id: int
    grid_id: int | None
    community_id: int | None
    group_id: int | None
    branch_id: int | None  # the branch of the building's group


@dataclass
class ResolvedTarget:
    target: Target
    building: BuildingInfo | None
    branch_id: int | None
    group_id: int | None


def _buildings(ids: set[int]) -> dict[int, BuildingInfo]:
    ids = {i for i in ids if i}
    if not ids:
        return {}
    grid = aliased(Place)
    group = aliased(Org)
    out: dict[int, BuildingInfo] = {}
    for chunk in chunks(sorted(ids)):
        rows = db.session.execute(
            select(Place.id, Place.parent_id, grid.parent_id, Place.group_id, group.parent_id)
            .outerjoin(grid, grid.id == Place.parent_id)
            .outerjoin(group, and_(group.id == Place.group_id, group.retired_at.is_(None)))
            .where(Place.id.in_(chunk), Place.kind == "building")
        ).all()
        for bid, grid_id, community_id, group_id, branch_id in rows:
            has_group = group_id is not None and branch_id is not None
            out[bid] = BuildingInfo(
                bid,
                grid_id,
                community_id,
                group_id if has_group else None,
                branch_id if has_group else None,
            )
    return out


def _in_scope(model, object_id: int, scope_filter, user) -> bool:  # noqa: ANN001
    return bool(
        db.session.execute(
            select(exists().where(model.id == object_id, scope_filter(user, model.id)))
        ).scalar()
    )


def resolve_target(target: Target, user: Any) -> ResolvedTarget:
    """Check the target against the trees and the user's scope (the same for every member)."""
    errors: dict[str, str] = {}
    if target.org_mode not in ORG_MODES:
        errors["org_mode"] = "请选择党支部和党小组的处理方式"
    building = None
    if target.building_id:
        place = db.session.get(Place, target.building_id)
        if place is None or place.kind != "building" or place.retired_at is not None:
            errors["building_id"] = "所选楼栋不存在或已撤销"
        elif not _in_scope(Place, place.id, place_scope_filter, user):
            errors["building_id"] = "所选楼栋不在您的管理范围内，不能把党员调出您负责的网格"
        else:
            building = _buildings({place.id}).get(place.id)
    branch_id = group_id = None
    if target.org_mode == "set":
        if target.group_id:
            group = db.session.get(Org, target.group_id)
            if group is None or group.kind != "group" or group.retired_at is not None:
                errors["group_id"] = "所选党小组不存在或已撤销"
            else:
                group_id, branch_id = group.id, group.parent_id
                if target.branch_id and target.branch_id != group.parent_id:
                    errors["group_id"] = "所选党小组不属于所选党支部"
        if target.branch_id and "group_id" not in errors:
            branch = db.session.get(Org, target.branch_id)
            if branch is None or branch.kind != "branch" or branch.retired_at is not None:
                errors["branch_id"] = "所选党支部不存在或已撤销"
            else:
                branch_id = branch.id
        if not branch_id and not errors:
            errors["branch_id"] = "请选择党支部（或党小组）"
        # An explicitly chosen branch must be in the user's org scope; the group proposed by
        # a building inside the user's place scope is always allowed.
        proposed = building is not None and building.branch_id == branch_id
        if (
            branch_id
            and not errors
            and not proposed
            and not _in_scope(Org, branch_id, org_scope_filter, user)
        ):
            errors["branch_id"] = "所选党支部不在您的管理范围内"
    if errors:
        raise DomainError(errors)
    return ResolvedTarget(target, building, branch_id, group_id)


# ---- planning (the preview) -----------------------------------------------------------------


@dataclass
class Move:
    member_id: int
    name: str
    version: int
    before: dict[str, int | None]
    after: dict[str, int | None]
    outcome: str = "move"  # move | held (a transfer waiting for confirmation) | unchanged | failed
    warnings: list[str] = field(default_factory=list)
    error: str | None = None
    report_group_id: int | None = None  # "报到" attachment for members whose relation is elsewhere
    # Takes the member out of a branch of his own (joint, or not his building's): why it is his.
    transfer: str | None = None


@dataclass
class Plan:
    target: Target
    effective: date
    reason: str | None
    moves: list[Move]

    @property
    def moving(self) -> list[Move]:
        return [m for m in self.moves if m.outcome == "move"]

    @property
    def held(self) -> list[Move]:
        """Transfers out of a member's own branch, not confirmed: planned, not applied."""
        return [m for m in self.moves if m.outcome == "held"]

    @property
    def unchanged(self) -> list[Move]:
        return [m for m in self.moves if m.outcome == "unchanged"]

    @property
    def failed(self) -> list[Move]:
        return [m for m in self.moves if m.outcome == "failed"]

    @property
    def warned(self) -> list[Move]:
        return [m for m in self.moves if m.warnings and m.outcome == "move"]

    def counts(self) -> dict[str, int]:
        return {
            "total": len(self.moves),
            "move": len(self.moving),
            "held": len(self.held),
            "unchanged": len(self.unchanged),
            "failed": len(self.failed),
            "warned": len(self.warned),
        }


def chunks(items: list, size: int = CHUNK):  # noqa: ANN202
    for start in range(0, len(items), size):
        yield items[start : start + size]


MEMBER_COLUMNS = (
    Member.id,
    Member.name,
    Member.version,
    Member.status,
    Member.relation_location,
    *(getattr(Member, key) for key in PLACEMENT_KEYS),
)


def _load_members(selection: list[int] | Select, user: Any) -> list:
    """Member rows of ``selection`` (ids, or a SELECT of ids) inside the user's scope."""
    scope = member_scope_filter(user)
    query = select(*MEMBER_COLUMNS).where(scope)
    if isinstance(selection, Select):
        return list(db.session.execute(query.where(Member.id.in_(selection))).all())
    rows = []
    for chunk in chunks(sorted(set(selection))):
        rows += db.session.execute(query.where(Member.id.in_(chunk))).all()
    return rows


def _open_since(member_ids: list[int]) -> dict[int, date]:
    """Start of each member's open placement history row."""
    out: dict[int, date] = {}
    for chunk in chunks(member_ids):
        out.update(
            db.session.execute(
                select(MemberHistory.member_id, func.max(MemberHistory.effective_from))
                .where(
                    MemberHistory.member_id.in_(chunk),
                    MemberHistory.aspect == "placement",
                    MemberHistory.effective_to.is_(None),
                )
                .group_by(MemberHistory.member_id)
            ).all()
        )
    return out


def plan_moves(
    selection: list[int] | Select,
    target: Target,
    user: Any,
    effective: date | None = None,
    reason: str | None = None,
    expected_versions: dict[int, int] | None = None,
    confirm_transfers: bool = False,
) -> Plan:
    """Who moves from where to where, with warnings and per-member failures; changes nothing.

    A move that would take a member out of a branch of his own is held (outcome "held") unless
    ``confirm_transfers``. Raises ``DomainError`` when the target itself is invalid.
    """
    today = local_today()
    effective = effective or today
    if effective > today:
        raise DomainError({"effective_on": "生效日期不能晚于今天"})
    reason = (reason or "").strip() or None
    if reason and len(reason) > 300:
        raise DomainError({"reason": "原因不能超过 300 个字"})
    resolved = resolve_target(target, user)
    rows = _load_members(selection, user)
    ids = [r.id for r in rows]
    buildings = _buildings({r.building_id for r in rows} | {target.building_id or 0})
    since = _open_since(ids)
    joint = _joint_branches({r.branch_id for r in rows})
    moves = [
        _plan_one(
            r, resolved, buildings, since, effective, expected_versions, joint, confirm_transfers
        )
        for r in rows
    ]
    if not isinstance(selection, Select):
        found = set(ids)
        for member_id in dict.fromkeys(selection):
            if member_id not in found:
                moves.append(
                    Move(
                        member_id,
                        "—",
                        0,
                        {},
                        {},
                        "failed",
                        error="未找到该党员，或不在您的管理范围内",
                    )
                )
    return Plan(target, effective, reason, moves)


def _joint_branches(ids: set[int]) -> set[int]:
    """Which of these branches are 联合党支部."""
    ids = {i for i in ids if i}
    out: set[int] = set()
    for chunk in chunks(sorted(ids)):
        out |= set(
            db.session.execute(
                select(Org.id).where(Org.id.in_(chunk), Org.is_joint.is_(True))
            ).scalars()
        )
    return out


def _transfer_reason(row: Any, joint: set[int], home: BuildingInfo | None) -> str | None:
    """Why the member's present branch is his own (``management.own_branch``), or None."""
    is_joint = row.branch_id in joint
    if not management.own_branch(row.branch_id, is_joint, home.branch_id if home else None):
        return None
    if is_joint:
        return "现属于联合党支部"
    if home is None:
        return "已编入党支部，但尚未分配楼栋"
    if home.branch_id is None:
        return "已编入党支部，所在楼栋尚未建立党小组"
    return "现属于其他党支部（不是所在楼栋党小组所属的党支部）"


def _plan_one(
    row: Any,
    resolved: ResolvedTarget,
    buildings: dict[int, BuildingInfo],
    since: dict[int, date],
    effective: date,
    expected_versions: dict[int, int] | None,
    joint: set[int],
    confirm_transfers: bool,
) -> Move:
    target = resolved.target
    before = {key: getattr(row, key) for key in PLACEMENT_KEYS}
    move = Move(row.id, row.name, row.version, before, dict(before))
    if row.status not in PLACEABLE_STATUSES:
        move.outcome = "failed"
        move.error = f"该党员状态为“{STATUSES.get(row.status, row.status)}”，不能调整分配"
        return move
    if expected_versions is not None and expected_versions.get(row.id) != row.version:
        move.outcome = "failed"
        move.error = "该党员的分配已被他人修改，请刷新后重新操作"
        return move
    opened = since.get(row.id)
    if opened is not None and effective < opened:
        move.outcome = "failed"
        move.error = f"生效日期不能早于上一次调整的生效日期（{opened.isoformat()}）"
        return move

    after = move.after
    building = resolved.building or buildings.get(row.building_id)
    if resolved.building is not None:
        after["building_id"] = building.id
        after["grid_id"] = building.grid_id
        after["community_id"] = building.community_id
    if row.relation_location in RELATION_ELSEWHERE:
        if before["branch_id"] or before["group_id"]:
            move.warnings.append("组织关系不在本社区：将移出党支部和党小组，只保留楼栋和网格")
        else:
            move.warnings.append("组织关系不在本社区：只分配楼栋和网格，不编入党支部和党小组")
        after["branch_id"] = after["group_id"] = None
        move.report_group_id = building.group_id if building else None
    elif target.org_mode == "auto":
        if building is None:
            move.warnings.append("尚未分配楼栋，无法建议党小组：党支部和党小组保持不变")
        elif building.group_id is None:
            move.warnings.append("该楼栋尚未建立党小组：党支部和党小组保持不变")
        else:
            after["group_id"] = building.group_id
            after["branch_id"] = building.branch_id
    elif target.org_mode == "set":
        after["branch_id"] = resolved.branch_id
        group_id = resolved.group_id
        if group_id is None:
            if building is not None and building.branch_id == resolved.branch_id:
                group_id = building.group_id
            else:
                move.warnings.append("未指定党小组：只编入党支部")
        after["group_id"] = group_id
    elif target.org_mode == "clear":
        after["branch_id"] = after["group_id"] = None
    if after["building_id"] is None:
        move.warnings.append("尚未分配楼栋")
    if (
        after["branch_id"] != before["branch_id"]
        and row.relation_location not in RELATION_ELSEWHERE
    ):
        move.transfer = _transfer_reason(row, joint, buildings.get(row.building_id))
        if move.transfer and not confirm_transfers:
            move.outcome = "held"
            move.warnings.insert(0, f"{move.transfer}：调离原党支部需要确认")
    if after == before:
        move.outcome = "unchanged"
        move.warnings = [w for w in move.warnings if w.startswith("组织关系")]
        move.warnings.append("已在目标位置，无需调整")
    return move


# ---- applying -------------------------------------------------------------------------------


def apply_plan(plan: Plan, user: Any, skip_failed: bool = False) -> dict[str, int]:
    """Apply every planned move in the current transaction (the caller commits).

    Raises ``BatchFailed`` when a member cannot be moved (unless ``skip_failed``), and
    ``ConflictError`` when someone else changed a member since it was read — in both cases
    nothing has been written, so the caller rolls back and reports.
    """
    if plan.failed and not skip_failed:
        raise BatchFailed(plan)
    moves = plan.moving
    if not moves:
        return plan.counts()
    now = utcnow()
    table = Member.__table__
    by_after: dict[tuple, list[Move]] = defaultdict(list)
    for move in moves:
        by_after[tuple(move.after[k] for k in PLACEMENT_KEYS)].append(move)
    updated = 0
    # Set-based: one UPDATE per distinct destination, guarded by each member's version.
    for values, group in by_after.items():
        for chunk in chunks(group):
            result = db.session.execute(
                update(table)
                .where(
                    tuple_(table.c.id, table.c.version).in_(
                        [(m.member_id, m.version) for m in chunk]
                    )
                )
                .values(
                    **dict(zip(PLACEMENT_KEYS, values, strict=True)),
                    version=table.c.version + 1,
                    updated_at=now,
                )
                .execution_options(synchronize_session=False)
            )
            updated += result.rowcount
    if updated != len(moves):
        stale = _stale(moves)
        raise ConflictError(stale[0] if stale else moves[0].member_id, None, {})
    ids = [m.member_id for m in moves]
    user_id = getattr(user, "id", None)
    for chunk in chunks(ids):
        db.session.execute(
            update(MemberHistory)
            .where(
                MemberHistory.member_id.in_(chunk),
                MemberHistory.aspect == "placement",
                MemberHistory.effective_to.is_(None),
            )
            .values(effective_to=plan.effective)
            .execution_options(synchronize_session=False)
        )
    db.session.execute(
        insert(MemberHistory),
        [
            {
                "member_id": m.member_id,
                "aspect": "placement",
                "value": dict(m.after),
                "effective_from": plan.effective,
                "effective_to": None,
                "reason": plan.reason,
                "changed_by_id": user_id,
                "changed_at": now,
            }
            for m in moves
        ],
    )
    for move in moves:
        confirmed = f"{move.transfer}，确认调离原党支部" if move.transfer else None
        record(
            "member_placement",
            object_type="member",
            object_id=move.member_id,
            before=move.before,
            after=move.after,
            detail="；".join(p for p in (plan.reason, confirmed) if p) or None,
            user=user,
        )
    if len(plan.moves) > 1:
        record(
            "assignment_bulk_move",
            object_type="member",
            after={"target": plan.target.__dict__, **plan.counts()},
            detail=plan.reason,
            user=user,
        )
    db.session.flush()
    _expire_members(set(ids))
    return plan.counts()


def _stale(moves: list[Move]) -> list[int]:
    """Members whose stored version no longer matches the one the plan was made with."""
    planned = {m.member_id: m.version for m in moves}
    stale = []
    for chunk in chunks(list(planned)):
        for member_id, version in db.session.execute(
            select(Member.id, Member.version).where(Member.id.in_(chunk))
        ):
            if planned[member_id] != version:
                stale.append(member_id)
    return stale


def _expire_members(ids: set[int]) -> None:
    """ORM objects loaded before a Core UPDATE must reload (version, placement)."""
    for obj in list(db.session.identity_map.values()):
        if isinstance(obj, Member) and obj.id in ids:
            db.session.expire(obj)


def place_members(
    members: list[Member] | list[int] | Select,
    target: Target,
    user: Any,
    effective: date | None = None,
    reason: str | None = None,
    expected_versions: dict[int, int] | None = None,
    skip_failed: bool = False,
    confirm: bool = False,
) -> Plan:
    """Plan and apply in one go: one member from the card, or many from the member list.

    Taking a member out of a branch of his own needs ``confirm``; without it ``DomainError``
    (field ``confirm``) says from where to where, and nothing changes.
    """
    if isinstance(members, list):
        members = [m.id if isinstance(m, Member) else m for m in members]
    plan = plan_moves(members, target, user, effective, reason, expected_versions, confirm)
    if plan.held:
        from app.assignment.wording import transfer_message  # wording reads Move from here

        raise DomainError({"confirm": transfer_message(plan.held)})
    apply_plan(plan, user, skip_failed=skip_failed)
    return plan
