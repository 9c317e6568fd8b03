"""直管 practice (seed 003 §二(一)): posts with duties (设岗定责), a member's post for a period
over a 责任区 of buildings, 结对帮扶 pairs with their visit log, and the annual 争五好 review.

Scope follows the member: every row hangs off a member (``member_id``) except the posts, which
belong to a community (``community_id``).
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from app.columns import CreatedBy, RecordedBy, Retirable, Updated, label_of
from app.extensions import db

# The seed's five posts, with their duties in plain words (seed 003 §二(一)).
SEED_POSTS = (
    ("党的政策宣传员", "向责任区居民宣传党的路线方针政策和社区工作安排，张贴通知、入户讲解。"),
    ("民间纠纷调解员", "及时了解责任区内邻里、家庭矛盾，主动劝解调和，调解不了的报告社区。"),
    ("居民群众联系员", "经常走访责任区住户，听取意见和困难，向社区反映并跟进答复。"),
    ("社区治安保安员", "留意责任区治安和消防隐患，参与巡逻守望，发现问题及时报告。"),
    ("环境卫生监督员", "督促责任区保持楼道、院落整洁，劝阻乱堆乱放，带头参加卫生清扫。"),
)

ASSIGNMENT_STATUSES = {
    "requested": "待审核",
    "active": "在岗",
    "refused": "未通过",
}
# What a list shows: the stored status, with an active post past its end shown as 已到期.
ASSIGNMENT_STATES = {**ASSIGNMENT_STATUSES, "ended": "已结束", "upcoming": "未开始"}

NEED_KINDS = {
    "hardship": "困难家庭",
    "elderly_alone": "独居老人",
    "disabled": "残疾人",
    "left_behind_child": "留守儿童",
    "other": "其他",
}

FIVE_GOOD_ITEMS = {
    "good_citizen": "好公民",
    "good_member": "好党员",
    "good_worker": "好职工",
    "good_neighbor": "好邻居",
    "good_parent": "好家长",
}
FIVE_GOOD_ASSESSMENTS = {
    "excellent": "优秀",
    "good": "良好",
    "fair": "一般",
    "poor": "较差",
}


class DutyPost(Retirable, CreatedBy, db.Model):
    """A post a community defines (岗位) with its duty text."""

    __tablename__ = "duty_post"

    id: Mapped[int] = mapped_column(primary_key=True)
    community_id: Mapped[int] = mapped_column(ForeignKey("place.id"), index=True)
    name: Mapped[str] = mapped_column(String(50))
    duties: Mapped[str] = mapped_column(Text)
    position: Mapped[int] = mapped_column(default=0)

    __table_args__ = (UniqueConstraint("community_id", "name"),)


class PostAssignment(CreatedBy, Updated, db.Model):
    """A member holding a post for a period (start, optional end) over a 责任区."""

    __tablename__ = "post_assignment"

    id: Mapped[int] = mapped_column(primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("member.id"), index=True)
    post_id: Mapped[int] = mapped_column(ForeignKey("duty_post.id"), index=True)
    starts_on: Mapped[date]
    ends_on: Mapped[date | None]
    status: Mapped[str] = mapped_column(String(16), default="active")
    # The random serial the 责任卡's QR token signs (app/certificates/signing.py).
    serial: Mapped[str] = mapped_column(String(40), unique=True)
    note: Mapped[str | None] = mapped_column(String(200))
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    refuse_reason: Mapped[str | None] = mapped_column(String(200))

    __table_args__ = (Index("ix_post_assignment_status_id", "status", "id"),)

    status_label = label_of(ASSIGNMENT_STATUSES, "status")

    def state(self, today: date) -> str:
        if self.status != "active":
            return self.status
        if self.ends_on is not None and self.ends_on < today:
            return "ended"
        if self.starts_on > today:
            return "upcoming"
        return "active"


class PostArea(db.Model):
    """One building of an assignment's 责任区."""

    __tablename__ = "post_area"

    assignment_id: Mapped[int] = mapped_column(ForeignKey("post_assignment.id"), primary_key=True)
    building_id: Mapped[int] = mapped_column(ForeignKey("place.id"), primary_key=True, index=True)


class HelpPair(CreatedBy, Updated, db.Model):
    """结对帮扶: a member paired with a household or person in need."""

    __tablename__ = "help_pair"

    id: Mapped[int] = mapped_column(primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("member.id"), index=True)
    helped_name: Mapped[str] = mapped_column(String(50))
    helped_phone: Mapped[str | None] = mapped_column(String(20))
    building_id: Mapped[int] = mapped_column(ForeignKey("place.id"), index=True)
    room: Mapped[str | None] = mapped_column(String(30))
    need_kind: Mapped[str] = mapped_column(String(24))
    need_note: Mapped[str | None] = mapped_column(String(200))
    starts_on: Mapped[date]
    ends_on: Mapped[date | None]
    last_visit_on: Mapped[date | None]  # kept current by the visit service (reminders)

    need_label = label_of(NEED_KINDS, "need_kind")

    def is_open(self, today: date) -> bool:
        return self.ends_on is None or self.ends_on >= today


class HelpVisit(RecordedBy, db.Model):
    """One visit or piece of help of a pair: date, what was done, by whom."""

    __tablename__ = "help_visit"

    id: Mapped[int] = mapped_column(primary_key=True)
    pair_id: Mapped[int] = mapped_column(ForeignKey("help_pair.id"), index=True)
    visited_on: Mapped[date]
    content: Mapped[str] = mapped_column(Text)
    visitor: Mapped[str] = mapped_column(String(50))


class FiveGoodReview(RecordedBy, Updated, db.Model):
    """争五好: one review per member and year, five items (达到 or not), the assessment, a note."""

    __tablename__ = "five_good_review"

    id: Mapped[int] = mapped_column(primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("member.id"))
    year: Mapped[int]
    good_citizen: Mapped[bool] = mapped_column(default=False)
    good_member: Mapped[bool] = mapped_column(default=False)
    good_worker: Mapped[bool] = mapped_column(default=False)
    good_neighbor: Mapped[bool] = mapped_column(default=False)
    good_parent: Mapped[bool] = mapped_column(default=False)
    assessment: Mapped[str] = mapped_column(String(16))
    note: Mapped[str | None] = mapped_column(Text)

    __table_args__ = (
        UniqueConstraint("member_id", "year"),
        Index("ix_five_good_review_year_id", "year", "id"),
    )

    assessment_label = label_of(FIVE_GOOD_ASSESSMENTS, "assessment")

    @property
    def achieved(self) -> list[str]:
        return [label for key, label in FIVE_GOOD_ITEMS.items() if getattr(self, key)]
