"""Changes to the two trees, the building ↔ group link, grid workers and staff scopes.

Plain functions: they validate, flush and write the audit entry; the caller commits.
Validation problems raise ``DomainError`` with a Chinese message (and the form field it belongs to).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from flask import has_request_context
from flask_login import current_user
from sqlalchemy import func, or_, select, true
from sqlalchemy.orm import aliased

from app.audit import record
from app.errors import DomainError
from app.extensions import db
from app.members.management import headline_counts, headline_dict
from app.members.models import Member, MemberHistory
from app.organization.models import (
    ORG_CHILD_KINDS,
    ORG_KINDS,
    PLACE_CHILD_KINDS,
    PLACE_KINDS,
    Org,
    Place,
)
from app.organization.scope import breadcrumb, forget_scopes, subtree_ids, subtree_select
from app.timeutil import local_today

TREES = {"org": Org, "place": Place}
CHILD_KINDS = {"org": ORG_CHILD_KINDS, "place": PLACE_CHILD_KINDS}
KIND_LABELS = {"org": ORG_KINDS, "place": PLACE_KINDS}
NAME_MAX = 100
ADDRESS_MAX = 200


# ---- reading ------------------------------------------------------------------------------


def model_for(tree: str) -> type[Org] | type[Place]:
    try:
        return TREES[tree]
    except KeyError as exc:
        raise DomainError("未知的树") from exc


def tree_of(node: Org | Place) -> str:
    return "org" if isinstance(node, Org) else "place"


def get_node(tree: str, node_id: int | None) -> Org | Place | None:
    if node_id is None or tree not in TREES:
        return None
    return db.session.get(TREES[tree], node_id)


def kind_label(tree: str, kind: str | None) -> str:
    return KIND_LABELS[tree].get(kind or "", kind or "")


def children_of(tree: str, parent_id: int | None) -> list:
    model = model_for(tree)
    query = select(model).where(
        model.parent_id == parent_id if parent_id else model.parent_id.is_(None)
    )
    return list(db.session.execute(query.order_by(model.position, model.id)).scalars())


def child_counts(tree: str, ids: list[int]) -> dict[int, int]:
    """How many children each of ``ids`` has (one query)."""
    if not ids:
        return {}
    model = model_for(tree)
    rows = db.session.execute(
        select(model.parent_id, func.count())
        .where(model.parent_id.in_(ids))
        .group_by(model.parent_id)
    ).all()
    return dict(rows)


def community_id_of(node: Org | Place) -> int | None:
    """The community (a place id) an org node or a place belongs to."""
    if isinstance(node, Place):
        if node.kind == "community":
            return node.id
        for ancestor in breadcrumb(Place, node.id):
            if ancestor.kind == "community":
                return ancestor.id
        return None
    if node.kind == "community_committee":
        return node.place_id
    for ancestor in breadcrumb(Org, node.id):
        if ancestor.kind == "community_committee":
            return ancestor.place_id
    return None


def node_members_clause(tree: str, node: Org | Place):  # noqa: ANN201
    """The members a node of the trees counts: a place's members by place (属地, as the scopes
    match them); a community committee linked to its community counts that community's
    members (the same number as the community's); the street committee counts everyone (its
    communities' members and its branches' where the tree has more than one street); a
    branch or group counts its members by membership."""
    if tree == "place":
        column = {
            "community": Member.community_id,
            "grid": Member.grid_id,
            "building": Member.building_id,
        }[node.kind]
        return column == node.id
    if node.kind == "community_committee" and node.place_id:
        return Member.community_id == node.place_id
    sub = subtree_select(Org, node.id)
    if node.parent_id is None and node.kind == "street_committee":
        if _only_street(node):
            return true()
        communities = select(Org.place_id).where(
            Org.id.in_(sub), Org.kind == "community_committee", Org.place_id.is_not(None)
        )
        return or_(
            Member.community_id.in_(communities),
            Member.branch_id.in_(sub),
            Member.group_id.in_(sub),
        )
    return or_(Member.branch_id.in_(sub), Member.group_id.in_(sub))


def _only_street(node: Org) -> bool:
    return (
        db.session.execute(
            select(Org.id).where(
                Org.parent_id.is_(None), Org.kind == "street_committee", Org.id != node.id
            )
        ).first()
        is None
    )


def node_counts(tree: str, node: Org | Place) -> dict:
    """Members (the headline numbers) and buildings held by a node and its subtree."""
    sub = subtree_select(model_for(tree), node.id)
    if tree == "place":
        buildings = (
            db.session.scalar(
                select(func.count()).where(Place.id.in_(sub), Place.kind == "building")
            )
            if node.kind != "building"
            else 0
        )
    else:
        buildings = db.session.scalar(
            select(func.count()).where(Place.kind == "building", Place.group_id.in_(sub))
        )
    headlines = headline_counts([node_members_clause(tree, node)], local_today())
    return {
        "headlines": headlines,
        "members": headline_dict(headlines)["on_roster"],
        "buildings": buildings or 0,
    }


def org_choices(kinds: set[str]) -> list[Org]:
    query = select(Org).where(Org.kind.in_(kinds), Org.retired_at.is_(None))
    return list(db.session.execute(query.order_by(Org.position, Org.id)).scalars())


def groups_of_community(community_id: int | None) -> list[tuple[Org, Org]]:
    """(branch, group) pairs under the community committee linked to ``community_id``."""
    if community_id is None:
        return []
    committee_ids = select(Org.id).where(
        Org.kind == "community_committee", Org.place_id == community_id
    )
    branch = aliased(Org)
    rows = db.session.execute(
        select(branch, Org)
        .join(Org, Org.parent_id == branch.id)
        .where(
            branch.parent_id.in_(committee_ids),
            Org.kind == "group",
            Org.retired_at.is_(None),
        )
        .order_by(branch.position, branch.id, Org.position, Org.id)
    ).all()
    return [(b, g) for b, g in rows]


def move_targets(tree: str, node: Org | Place) -> list:
    """Nodes that may become the new parent of ``node`` (right kind, active, not itself)."""
    model = model_for(tree)
    parent_kinds = {k for k, kids in CHILD_KINDS[tree].items() if node.kind in kids and k}
    if not parent_kinds:
        return []
    query = select(model).where(
        model.kind.in_(parent_kinds), model.retired_at.is_(None), model.id != node.id
    )
    return list(db.session.execute(query.order_by(model.position, model.id)).scalars())


# ---- creating and editing -----------------------------------------------------------------


def clean_name(value: str | None, field_name: str = "name", label: str = "名称") -> str:
    from app.members.identity import normalize_text

    name = " ".join(normalize_text(value).split())
    if not name:
        raise DomainError(f"请填写{label}", field_name)
    if len(name) > NAME_MAX:
        raise DomainError(f"{label}不能超过 {NAME_MAX} 个字", field_name)
    return name


def _snapshot(node: Org | Place) -> dict:
    data = {
        "kind": node.kind,
        "name": node.name,
        "parent_id": node.parent_id,
        "code": node.code,
        "retired": node.retired_at is not None,
    }
    if isinstance(node, Place):
        data |= {"address": node.address, "group_id": node.group_id}
    else:
        data |= {
            "is_joint": node.is_joint,
            "place_id": node.place_id,
            "contact_name": node.contact_name,
            "contact_phone": node.contact_phone,
        }
    return data


def _check_sibling_name(tree: str, parent_id: int | None, name: str, exclude: int | None = None):
    model = model_for(tree)
    query = select(model.id).where(
        model.parent_id == parent_id if parent_id else model.parent_id.is_(None),
        model.name == name,
    )
    if exclude:
        query = query.where(model.id != exclude)
    if db.session.execute(query.limit(1)).first():
        raise DomainError(f"同一上级下已有名为「{name}」的节点", "name")


def _check_code(tree: str, code: str | None, exclude: int | None = None) -> str | None:
    from app.members.identity import normalize_text

    code = normalize_text(code) or None
    if code is None:
        return None
    if len(code) > 32:
        raise DomainError("编码不能超过 32 个字符", "code")
    model = model_for(tree)
    query = select(model.id).where(model.code == code)
    if exclude:
        query = query.where(model.id != exclude)
    if db.session.execute(query.limit(1)).first():
        raise DomainError(f"编码「{code}」已被使用", "code")
    return code


def _check_committee_place(place_id: int | None, exclude_org: int | None = None) -> int | None:
    if not place_id:
        return None
    place = db.session.get(Place, place_id)
    if place is None or place.kind != "community":
        raise DomainError("请选择一个社区", "place_id")
    query = select(Org.name).where(Org.place_id == place_id, Org.kind == "community_committee")
    if exclude_org:
        query = query.where(Org.id != exclude_org)
    other = db.session.execute(query.limit(1)).scalar()
    if other:
        raise DomainError(f"社区「{place.name}」已由「{other}」关联", "place_id")
    return place_id


def create_node(
    tree: str,
    parent_id: int | None,
    name: str | None,
    *,
    kind: str | None = None,
    code: str | None = None,
    address: str | None = None,
    is_joint: bool = False,
    place_id: int | None = None,
    contact_name: str | None = None,
    contact_phone: str | None = None,
) -> Org | Place:
    model = model_for(tree)
    parent = get_node(tree, parent_id) if parent_id else None
    if parent_id and parent is None:
        raise DomainError("上级节点不存在", "parent_id")
    if parent is not None and parent.retired_at is not None:
        raise DomainError(f"上级「{parent.name}」已停用，不能添加下级", "parent_id")
    allowed = CHILD_KINDS[tree][parent.kind if parent else None]
    if not allowed:
        raise DomainError(f"「{kind_label(tree, parent.kind)}」下不能再添加下级", "name")
    kind = kind or next(iter(sorted(allowed)))
    if kind not in allowed:
        where = f"「{kind_label(tree, parent.kind)}」下" if parent else "最上层"
        raise DomainError(f"{where}不能添加「{kind_label(tree, kind)}」", "kind")
    name = clean_name(name)
    _check_sibling_name(tree, parent_id, name)
    node = model(
        parent_id=parent_id,
        kind=kind,
        name=name,
        code=_check_code(tree, code),
        position=_next_position(tree, parent_id),
    )
    if isinstance(node, Place):
        node.address = _clean_address(address) if kind == "building" else None
    else:
        node.is_joint = bool(is_joint) and kind == "branch"
        node.contact_name = (contact_name or "").strip()[:50] or None
        node.contact_phone = (contact_phone or "").strip()[:30] or None
        if kind == "community_committee":
            node.place_id = _check_committee_place(place_id)
    db.session.add(node)
    db.session.flush()
    record(f"{tree}_create", node, after=_snapshot(node))
    return node


def _clean_address(value: str | None) -> str | None:
    from app.members.identity import normalize_text

    address = " ".join(normalize_text(value).split()) or None
    if address and len(address) > ADDRESS_MAX:
        raise DomainError(f"地址不能超过 {ADDRESS_MAX} 个字", "address")
    return address


def _next_position(tree: str, parent_id: int | None) -> int:
    model = model_for(tree)
    current = db.session.scalar(
        select(func.max(model.position)).where(
            model.parent_id == parent_id if parent_id else model.parent_id.is_(None)
        )
    )
    return (current or 0) + 1


def rename_node(node: Org | Place, name: str | None) -> Org | Place:
    tree = tree_of(node)
    name = clean_name(name)
    if name == node.name:
        return node
    _check_sibling_name(tree, node.parent_id, name, exclude=node.id)
    before = {"name": node.name}
    node.name = name
    db.session.flush()
    record(f"{tree}_rename", node, before=before, after={"name": name})
    return node


def update_node(node: Org | Place, **fields) -> Org | Place:
    """Edit a node's details: name, code, address (buildings), contacts, joint flag, community."""
    tree = tree_of(node)
    before = _snapshot(node)
    name = clean_name(fields.get("name"))
    if name != node.name:
        _check_sibling_name(tree, node.parent_id, name, exclude=node.id)
    node.name = name
    node.code = _check_code(tree, fields.get("code"), exclude=node.id)
    if isinstance(node, Place):
        if node.kind == "building":
            node.address = _clean_address(fields.get("address"))
    else:
        node.contact_name = (fields.get("contact_name") or "").strip()[:50] or None
        node.contact_phone = (fields.get("contact_phone") or "").strip()[:30] or None
        if node.kind == "branch":
            node.is_joint = bool(fields.get("is_joint"))
        if node.kind == "community_committee" and "place_id" in fields:
            node.place_id = _check_committee_place(fields.get("place_id"), exclude_org=node.id)
    after = _snapshot(node)
    if after != before:
        db.session.flush()
        changed = [k for k in after if after[k] != before.get(k)]
        record(
            f"{tree}_update",
            node,
            before={k: before[k] for k in changed},
            after={k: after[k] for k in changed},
        )
    return node


# ---- moving -------------------------------------------------------------------------------


@dataclass
class MoveResult:
    node: Org | Place
    members_moved: int = 0
    links_cleared: int = 0
    notes: list[str] = field(default_factory=list)

    @property
    def message(self) -> str:
        text = f"已将「{self.node.name}」移到新的上级下"
        if self.members_moved:
            text += f"，{self.members_moved} 名党员的隶属关系已随之调整并记入历史"
        if self.links_cleared:
            text += f"；{self.links_cleared} 个楼栋原关联的党小组不在新社区，已解除关联，请重新关联"
        return text + "。"


def move_node(
    tree: str, node: Org | Place, new_parent_id: int | None, *, today: date | None = None
) -> MoveResult:
    model = model_for(tree)
    today = today or local_today()
    if not new_parent_id:
        raise DomainError("请选择新的上级", "parent_id")
    if new_parent_id == node.parent_id:
        raise DomainError("新的上级与原上级相同", "parent_id")
    # Cycles first: a node can never go under itself or one of its descendants.
    if new_parent_id in subtree_ids(model, {node.id}):
        raise DomainError("不能把节点移到它自己或它的下级之下", "parent_id")
    parent = get_node(tree, new_parent_id)
    if parent is None:
        raise DomainError("新的上级不存在", "parent_id")
    if parent.retired_at is not None:
        raise DomainError(f"「{parent.name}」已停用，不能作为上级", "parent_id")
    if node.kind not in CHILD_KINDS[tree][parent.kind]:
        raise DomainError(
            f"「{kind_label(tree, parent.kind)}」下不能放「{kind_label(tree, node.kind)}」",
            "parent_id",
        )
    _check_sibling_name(tree, parent.id, node.name, exclude=node.id)

    old_community = community_id_of(node)
    before = {"parent_id": node.parent_id}
    result = MoveResult(node)
    if tree == "org":
        new_community = community_id_of(parent)
        if old_community != new_community:
            groups = subtree_select(Org, node.id)
            linked = db.session.scalar(
                select(func.count()).where(Place.kind == "building", Place.group_id.in_(groups))
            )
            if linked:
                raise DomainError(
                    f"「{node.name}」下的党小组关联了 {linked} 个楼栋，不能移到其他社区；"
                    "请先解除楼栋关联",
                    "parent_id",
                )
        node.parent_id = parent.id
        node.position = _next_position(tree, parent.id)
        db.session.flush()
        if node.kind == "group":
            result.members_moved = _move_members(
                Member.group_id == node.id, {"branch_id": parent.id}, today, "党小组调整隶属支部"
            )
    else:
        new_community = parent.id if parent.kind == "community" else community_id_of(parent)
        node.parent_id = parent.id
        node.position = _next_position(tree, parent.id)
        db.session.flush()
        if node.kind == "grid":
            buildings = select(Place.id).where(Place.parent_id == node.id)
            where = or_(Member.grid_id == node.id, Member.building_id.in_(buildings))
            changes = {"community_id": new_community, "grid_id": node.id}
            reason = "网格调整所属社区"
        else:  # building
            where = Member.building_id == node.id
            changes = {"community_id": new_community, "grid_id": parent.id}
            reason = "楼栋调整所属网格"
        if old_community != new_community:
            result.links_cleared = _clear_foreign_links(node, new_community)
        result.members_moved = _move_members(where, changes, today, reason)
    record(
        f"{tree}_move",
        node,
        before=before,
        after={
            "parent_id": parent.id,
            "members_moved": result.members_moved,
            "links_cleared": result.links_cleared,
        },
    )
    forget_scopes()
    return result


def _clear_foreign_links(node: Place, new_community: int | None) -> int:
    """Buildings under ``node`` linked to a group of another community lose that link."""
    allowed_groups = {g.id for _b, g in groups_of_community(new_community)}
    buildings = db.session.execute(
        select(Place).where(
            Place.id.in_(subtree_select(Place, node.id)),
            Place.kind == "building",
            Place.group_id.is_not(None),
        )
    ).scalars()
    cleared = 0
    for building in buildings:
        if building.group_id not in allowed_groups:
            record(
                "place_group_unlink",
                building,
                before={"group_id": building.group_id},
                after={"group_id": None},
                detail="楼栋移到其他社区",
            )
            building.group_id = None
            cleared += 1
    return cleared


def placement_value(member: Member) -> dict:
    return {
        "community_id": member.community_id,
        "grid_id": member.grid_id,
        "building_id": member.building_id,
        "branch_id": member.branch_id,
        "group_id": member.group_id,
    }


def _move_members(where, changes: dict, today: date, reason: str) -> int:  # noqa: ANN001
    """Apply placement ``changes`` to the members matched by ``where``, with history rows."""
    members = db.session.execute(select(Member).where(where)).scalars().all()
    user_id = current_user.id if has_request_context() and current_user.is_authenticated else None
    moved = 0
    for member in members:
        if all(getattr(member, k) == v for k, v in changes.items()):
            continue
        for key, value in changes.items():
            setattr(member, key, value)
        open_rows = db.session.execute(
            select(MemberHistory).where(
                MemberHistory.member_id == member.id,
                MemberHistory.aspect == "placement",
                MemberHistory.effective_to.is_(None),
            )
        ).scalars()
        for row in open_rows:
            row.effective_to = today
        db.session.add(
            MemberHistory(
                member_id=member.id,
                aspect="placement",
                value=placement_value(member),
                effective_from=today,
                reason=reason,
                changed_by_id=user_id,
            )
        )
        moved += 1
    db.session.flush()
    return moved
