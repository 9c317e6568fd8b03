"""Building ↔ group links, grid-worker appointments and user scopes."""

from __future__ import annotations

from sqlalchemy import select

from app.audit import record
from app.errors import DomainError
from app.extensions import db
from app.organization.models import (
    GridWorker,
    Org,
    Place,
    UserScope,
)
from app.organization.scope import forget_scopes
from app.organization.services import community_id_of

# ---- building ↔ group ---------------------------------------------------------------------


def link_building_group(building: Place, group_id: int | None) -> Place:
    if building.kind != "building":
        raise DomainError("只有楼栋可以关联党小组", "group_id")
    group = db.session.get(Org, group_id) if group_id else None
    if group_id and (group is None or group.kind != "group"):
        raise DomainError("请选择一个党小组", "group_id")
    if group is not None:
        if group.retired_at is not None:
            raise DomainError(f"党小组「{group.name}」已停用", "group_id")
        if community_id_of(group) != community_id_of(building):
            raise DomainError("所选党小组不属于该楼栋所在的社区", "group_id")
    if building.group_id == (group.id if group else None):
        return building
    before = {"group_id": building.group_id}
    building.group_id = group.id if group else None
    db.session.flush()
    record(
        "place_group_link" if group else "place_group_unlink",
        building,
        before=before,
        after={"group_id": building.group_id, "group": group.name if group else None},
    )
    return building


# ---- grid workers and scopes --------------------------------------------------------------

SCOPED_ROLES = {"staff", "grid_worker"}


def add_audited(action: str, row, after: dict, **audit):  # noqa: ANN001, ANN201
    """Add ``row`` (an appointment or a scope) with its audit entry; scopes are read again."""
    db.session.add(row)
    db.session.flush()
    record(action, row, after=after, **audit)
    forget_scopes()
    return row


def _delete_audited(action: str, row, before: dict) -> None:  # noqa: ANN001
    record(action, row, before=before)
    db.session.delete(row)
    db.session.flush()
    forget_scopes()


def appoint_grid_worker(grid: Place, user) -> GridWorker:  # noqa: ANN001
    if grid.kind != "grid":
        raise DomainError("只能在网格上任命网格员", "user_id")
    if user is None or user.role not in SCOPED_ROLES:
        raise DomainError("请选择一个网格员或党务工作者账号", "user_id")
    if not user.active:
        raise DomainError(f"账号 {user.username} 已停用", "user_id")
    exists = db.session.execute(
        select(GridWorker).where(GridWorker.grid_id == grid.id, GridWorker.user_id == user.id)
    ).scalar_one_or_none()
    if exists:
        raise DomainError(f"{user.display_name} 已是该网格的网格员", "user_id")
    return add_audited(
        "grid_worker_appoint",
        GridWorker(grid_id=grid.id, user_id=user.id),
        {"grid_id": grid.id, "grid": grid.name, "user": user.username},
    )


def remove_grid_worker(grid: Place, user) -> None:  # noqa: ANN001
    appointment = db.session.execute(
        select(GridWorker).where(GridWorker.grid_id == grid.id, GridWorker.user_id == user.id)
    ).scalar_one_or_none()
    if appointment is None:
        raise DomainError("该账号不是此网格的网格员")
    _delete_audited(
        "grid_worker_remove",
        appointment,
        {"grid_id": grid.id, "grid": grid.name, "user": user.username},
    )


def add_scope(user, *, org_id: int | None = None, place_id: int | None = None) -> UserScope:  # noqa: ANN001
    if user.role not in SCOPED_ROLES:
        raise DomainError(
            "管理员可以查看全部，党员账号没有管理范围；只有党务工作者和网格员需要设置范围"
        )
    if bool(org_id) == bool(place_id):
        raise DomainError("请选择一个党组织或一个社区/网格", "target")
    if org_id:
        node = db.session.get(Org, org_id)
        if node is None:
            raise DomainError("所选党组织不存在", "target")
    else:
        node = db.session.get(Place, place_id)
        if node is None or node.kind not in {"community", "grid"}:
            raise DomainError("管理范围只能是社区或网格", "target")
    if node.retired_at is not None:
        raise DomainError(f"「{node.name}」已停用", "target")
    exists = db.session.execute(
        select(UserScope.id).where(
            UserScope.user_id == user.id,
            UserScope.org_id == org_id if org_id else UserScope.org_id.is_(None),
            UserScope.place_id == place_id if place_id else UserScope.place_id.is_(None),
        )
    ).first()
    if exists:
        raise DomainError(f"「{node.name}」已在该账号的管理范围内", "target")
    return add_audited(
        "scope_add",
        UserScope(user_id=user.id, org_id=org_id or None, place_id=place_id or None),
        {"user": user.username, "org_id": org_id, "place_id": place_id, "name": node.name},
    )


def remove_scope(user, scope_id: int) -> None:  # noqa: ANN001
    scope = db.session.get(UserScope, scope_id)
    if scope is None or scope.user_id != user.id:
        raise DomainError("该管理范围不存在")
    _delete_audited(
        "scope_remove",
        scope,
        {"user": user.username, "org_id": scope.org_id, "place_id": scope.place_id},
    )


def scopes_of(user) -> list[tuple[UserScope, Org | Place]]:  # noqa: ANN001
    rows = db.session.execute(
        select(UserScope).where(UserScope.user_id == user.id).order_by(UserScope.id)
    ).scalars()
    result = []
    for scope in rows:
        node = (
            db.session.get(Org, scope.org_id)
            if scope.org_id
            else db.session.get(Place, scope.place_id)
        )
        result.append((scope, node))
    return result


def grids_of(user) -> list[Place]:  # noqa: ANN001
    return list(
        db.session.execute(
            select(Place)
            .join(GridWorker, GridWorker.grid_id == Place.id)
            .where(GridWorker.user_id == user.id)
            .order_by(Place.position, Place.id)
        ).scalars()
    )


def workers_of(grid: Place) -> list:
    from app.auth.models import User

    return list(
        db.session.execute(
            select(User)
            .join(GridWorker, GridWorker.user_id == User.id)
            .where(GridWorker.grid_id == grid.id)
            .order_by(User.username)
        ).scalars()
    )
