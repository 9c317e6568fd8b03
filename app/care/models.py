"""共管 records: a retired member's care plan, illness events, and the visit log (走访慰问)."""

from __future__ import annotations

from datetime import date

from sqlalchemy import JSON, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from app.columns import CreatedBy, Updated, label_of
from app.extensions import db

HEALTH = {
    "healthy": "健康",
    "limited": "行动不便",
    "bedridden": "长期卧床",
    "alone": "独居",
}
# What a retired member can still do for the community (seed 003: 民事调解、治安防范、美化社区 …).
ABILITIES = {
    "mediation": "民事调解",
    "security": "治安防范",
    "beautify": "美化社区",
    "publicity": "政策宣传",
    "liaison": "联系群众",
    "teaching": "关心下一代",
}
EVENT_KINDS = {"illness": "生病", "hospital": "住院"}


class CarePlan(Updated, db.Model):
    """One per member: health, the former unit's party organization (单位为辅), abilities.

    The former work unit's *name* stays on the member record (``original_unit``); this plan
    keeps only the unit's party organization and its contact person, which the record lacks.
    """

    __tablename__ = "care_plan"

    id: Mapped[int] = mapped_column(primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("member.id"), unique=True)
    health: Mapped[str] = mapped_column(String(16), default="healthy")
    unit_org_name: Mapped[str | None] = mapped_column(String(100))
    unit_contact: Mapped[str | None] = mapped_column(String(100))
    abilities: Mapped[list] = mapped_column(JSON, default=list)
    notes: Mapped[str | None] = mapped_column(String(300))
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))

    health_label = label_of(HEALTH, "health")

    @property
    def ability_labels(self) -> list[str]:
        return [ABILITIES.get(a, a) for a in self.abilities or []]


class CareEvent(CreatedBy, db.Model):
    """Illness or hospitalisation: a visit is due from ``occurred_on`` until one is logged."""

    __tablename__ = "care_event"

    id: Mapped[int] = mapped_column(primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("member.id"), index=True)
    kind: Mapped[str] = mapped_column(String(16))
    occurred_on: Mapped[date]
    note: Mapped[str | None] = mapped_column(String(300))

    kind_label = label_of(EVENT_KINDS, "kind")


class CareVisit(CreatedBy, db.Model):
    """A visit (走访慰问): who went, what was brought or arranged, the follow-up."""

    __tablename__ = "care_visit"

    id: Mapped[int] = mapped_column(primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("member.id"))
    visited_on: Mapped[date]
    occasion: Mapped[str] = mapped_column(String(32), default="other")
    occasion_label: Mapped[str] = mapped_column(String(50), default="日常走访")
    event_id: Mapped[int | None] = mapped_column(ForeignKey("care_event.id"), index=True)
    visitors: Mapped[str] = mapped_column(String(200))
    unit_co_visitor: Mapped[str | None] = mapped_column(String(100))
    brought: Mapped[str | None] = mapped_column(String(300))
    follow_up: Mapped[str | None] = mapped_column(Text)

    __table_args__ = (
        Index("ix_care_visit_member_occasion", "member_id", "occasion"),
        Index("ix_care_visit_member_date", "member_id", "visited_on"),
    )
