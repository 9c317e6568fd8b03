"""Retiring, restoring and deleting nodes of the trees (never silently deleting a node that still holds something)."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

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
from app.organization.services import (
    _snapshot,
    get_node,
    kind_label,
    model_for,
    node_counts,
    tree_of,
)
from app.timeutil import utcnow

# ---- retiring and deleting ----------------------------------------------------------------


def retire_node(node: Org | Place) -> Org | Place:
    tree = tree_of(node)
    if node.retired_at is not None:
        raise DomainError("该节点已停用")
    model = model_for(tree)
    active_children = db.session.scalar(
        select(func.count()).where(model.parent_id == node.id, model.retired_at.is_(None))
    )
    if active_children:
        raise DomainError(
            f"该{node.kind_label}下还有 {active_children} 个在用的下级，请先停用或移走它们"
        )
    node.retired_at = utcnow()
    db.session.flush()
    record(f"{tree}_retire", node, before={"retired": False}, after={"retired": True})
    return node


def restore_node(node: Org | Place) -> Org | Place:
    tree = tree_of(node)
    if node.retired_at is None:
        raise DomainError("该节点未停用")
    parent = get_node(tree, node.parent_id)
    if parent is not None and parent.retired_at is not None:
        raise DomainError(f"上级「{parent.name}」已停用，请先恢复上级")
    node.retired_at = None
    db.session.flush()
    record(f"{tree}_restore", node, before={"retired": True}, after={"retired": False})
    return node


def holders(node: Org | Place) -> list[str]:
    """What still holds a node, in words (empty list: the node may be deleted)."""
    tree = tree_of(node)
    model = model_for(tree)
    parts: list[str] = []
    kids = db.session.execute(
        select(model.kind, func.count()).where(model.parent_id == node.id).group_by(model.kind)
    ).all()
    counts = node_counts(tree, node)
    for kind, count in kids:
        if not (tree == "place" and kind == "building"):
            parts.append(f"{count} 个{kind_label(tree, kind)}")
    if counts["buildings"]:
        prefix = "" if tree == "place" else "关联的"
        parts.append(f"{counts['buildings']} 个{prefix}楼栋")
    if counts["members"]:
        parts.append(f"{counts['members']} 名党员")
    scope_column = UserScope.org_id if tree == "org" else UserScope.place_id
    scopes = db.session.scalar(select(func.count()).where(scope_column == node.id))
    if scopes:
        parts.append(f"{scopes} 个账号的管理范围")
    if tree == "place":
        workers = db.session.scalar(select(func.count()).where(GridWorker.grid_id == node.id))
        if workers:
            parts.append(f"{workers} 名网格员")
        committee = db.session.scalar(select(Org.name).where(Org.place_id == node.id).limit(1))
        if committee:
            parts.append(f"关联的「{committee}」")
    return parts


def holders_message(node: Org | Place, parts: list[str]) -> str:
    return f"该{node.kind_label}下还有{'、'.join(parts)}，不能删除；可以改为停用。"


def delete_node(node: Org | Place) -> None:
    """Hard delete, only for an empty node; otherwise say what holds it."""
    parts = holders(node)
    if parts:
        raise DomainError(holders_message(node, parts))
    tree = tree_of(node)
    before = _snapshot(node)
    node_id = node.id
    try:
        with db.session.begin_nested():
            db.session.delete(node)
            db.session.flush()
    except IntegrityError as exc:
        raise DomainError(f"该{node.kind_label}仍被其他记录引用，不能删除；可以改为停用。") from exc
    record(f"{tree}_delete", object_type=tree, object_id=node_id, before=before)
    forget_scopes()
