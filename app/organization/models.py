"""The two linked trees: party organizations (org) and places (community → grid → building)."""

from __future__ import annotations

from sqlalchemy import ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, declared_attr, mapped_column

from app.columns import Created, Retirable, label_of
from app.extensions import db

ORG_KINDS = {
    "street_committee": "街道党工委",
    "community_committee": "社区党委",
    "branch": "党支部",
    "group": "党小组",
}
# Which kind may sit directly under which.
ORG_CHILD_KINDS = {
    None: {"street_committee"},
    "street_committee": {"community_committee"},
    "community_committee": {"branch"},
    "branch": {"group"},
    "group": set(),
}

PLACE_KINDS = {"community": "社区", "grid": "网格", "building": "楼栋"}
PLACE_CHILD_KINDS = {
    None: {"community"},
    "community": {"grid"},
    "grid": {"building"},
    "building": set(),
}


class TreeNode(Retirable, Created):
    """A node of one of the two trees: adjacency list (``parent_id`` in the same table) and
    ``position`` among its siblings; ``name`` and the optional unique ``code``."""

    name: Mapped[str] = mapped_column(String(100))
    code: Mapped[str | None] = mapped_column(String(32), unique=True)
    position: Mapped[int] = mapped_column(default=0)

    @declared_attr
    def parent_id(cls) -> Mapped[int | None]:  # noqa: N805
        return mapped_column(ForeignKey(f"{cls.__tablename__}.id"), index=True)


class Org(TreeNode, db.Model):
    """A node of the party-organization tree (adjacency list + position)."""

    __tablename__ = "org"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(32))
    # 联合党支部: a branch for members of small non-public enterprises / social organizations.
    is_joint: Mapped[bool] = mapped_column(default=False)
    # A community committee is linked to its community in the places tree.
    place_id: Mapped[int | None] = mapped_column(ForeignKey("place.id"), index=True)
    contact_name: Mapped[str | None] = mapped_column(String(50))
    contact_phone: Mapped[str | None] = mapped_column(String(30))

    __table_args__ = (Index("ix_org_parent_position", "parent_id", "position"),)

    @property
    def kind_label(self) -> str:
        if self.kind == "branch" and self.is_joint:
            return "联合党支部"
        return ORG_KINDS.get(self.kind, self.kind)


class Place(TreeNode, db.Model):
    """A node of the places tree: community → grid → building."""

    __tablename__ = "place"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))
    address: Mapped[str | None] = mapped_column(String(200))
    # Buildings only: the party group built in this building (a building has at most one group).
    group_id: Mapped[int | None] = mapped_column(ForeignKey("org.id", use_alter=True), index=True)

    __table_args__ = (Index("ix_place_parent_position", "parent_id", "position"),)

    kind_label = label_of(PLACE_KINDS, "kind")


class GridWorker(Created, db.Model):
    """Appointment of a user as grid worker (网格员) of a grid."""

    __tablename__ = "grid_worker"

    id: Mapped[int] = mapped_column(primary_key=True)
    grid_id: Mapped[int] = mapped_column(ForeignKey("place.id"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id"), index=True)

    __table_args__ = (UniqueConstraint("grid_id", "user_id"),)


class UserScope(Created, db.Model):
    """One element of a staff user's scope: an org node (with its subtree) or a place node."""

    __tablename__ = "user_scope"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id"), index=True)
    org_id: Mapped[int | None] = mapped_column(ForeignKey("org.id"))
    place_id: Mapped[int | None] = mapped_column(ForeignKey("place.id"))

    __table_args__ = (UniqueConstraint("user_id", "org_id", "place_id"),)
