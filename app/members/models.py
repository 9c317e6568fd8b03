"""The member record (党员登记卡) and its history."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    DDL,
    JSON,
    Column,
    Date,
    ForeignKey,
    Index,
    LargeBinary,
    String,
    Text,
    event,
    false,
    func,
)
from sqlalchemy.orm import Mapped, mapped_column

from app.columns import Created, Updated, Versioned, label_of
from app.extensions import db
from app.timeutil import utcnow

CATEGORIES = {
    "direct": "直管",
    "dual": "双管",
    "shared": "共管",
    "takeover": "接管",
    "coordinated": "协管",
}
STATUSES = {
    "active": "正常",
    # A status (long-term away), not the 流出 headline: see app.members.management.HEADLINES.
    "flowed_out": "长期外出",
    "lost_contact": "失联",
    "transferred_out": "已转出",
    "deceased": "已故",
    "withdrawn": "已出党",
}
EMPLOYMENTS = {
    "in_service": "在职",
    "retired": "离退休",
    "laid_off": "下岗",
    "waiting_post": "待岗",
    "contract_terminated": "解除劳动合同",
    "unplaced_veteran": "未安置复转军人",
    "unemployed_graduate": "未就业大中专毕业生",
    "resident": "其他/居民",
}
TAKEOVER_EMPLOYMENTS = {
    "laid_off",
    "waiting_post",
    "contract_terminated",
    "unplaced_veteran",
    "unemployed_graduate",
}
RELATION_LOCATIONS = {
    "community": "本社区",
    "work_unit": "工作单位",
    "original_unit": "原单位",
    "elsewhere": "其他党组织",
}
MOBILITIES = {"none": "无", "flow_in": "流入", "flow_out": "流出"}
MEMBER_TYPES = {"formal": "正式党员", "probationary": "预备党员"}
SEXES = {"M": "男", "F": "女"}
# What the history table records; each aspect's value is a small JSON object.
HISTORY_ASPECTS = {
    "category": "五管分类",
    "placement": "网格与组织",
    "status": "状态",
    "mobility": "流动情况",
    "liaison": "联络人",
}


class Member(Versioned, Updated, db.Model):
    __tablename__ = "member"

    id: Mapped[int] = mapped_column(primary_key=True)

    # Identity
    name: Mapped[str] = mapped_column(String(50))
    name_pinyin: Mapped[str] = mapped_column(String(200), default="", index=True)
    name_initials: Mapped[str] = mapped_column(String(50), default="", index=True)
    sex: Mapped[str] = mapped_column(String(1))
    ethnicity: Mapped[str] = mapped_column(String(20), default="汉族")
    native_place: Mapped[str | None] = mapped_column(String(100))
    birth_date: Mapped[date]
    # The resident ID number is stored encrypted; the keyed hash is used for look-ups.
    id_number_enc: Mapped[bytes] = mapped_column(LargeBinary)
    id_hash: Mapped[str] = mapped_column(String(64), unique=True)
    id_prefix6: Mapped[str] = mapped_column(String(6))
    # Last 4 characters only as a keyed hash (for search): with the plaintext first 6 and the
    # birth date they would rebuild the whole number. ``id_last4`` decrypts for display.
    id_last4_hash: Mapped[str] = mapped_column(String(64), index=True)
    phone: Mapped[str | None] = mapped_column(String(20))
    phone_last4: Mapped[str | None] = mapped_column(String(4), index=True)
    second_phone: Mapped[str | None] = mapped_column(String(30))
    education: Mapped[str | None] = mapped_column(String(30))
    degree: Mapped[str | None] = mapped_column(String(30))

    # Party information
    joined_on: Mapped[date | None]
    introducers: Mapped[str | None] = mapped_column(String(100))
    member_type: Mapped[str] = mapped_column(String(16), default="formal")
    full_member_on: Mapped[date | None]
    party_post: Mapped[str | None] = mapped_column(String(50))
    relation_location: Mapped[str] = mapped_column(String(16), default="community")
    relation_org_name: Mapped[str | None] = mapped_column(String(100))

    # Situation
    employment: Mapped[str] = mapped_column(String(24), default="resident")
    work_unit: Mapped[str | None] = mapped_column(String(100))
    work_unit_org: Mapped[str | None] = mapped_column(String(100))
    work_unit_contact: Mapped[str | None] = mapped_column(String(100))
    original_unit: Mapped[str | None] = mapped_column(String(100))
    employer: Mapped[str | None] = mapped_column(String(100))
    monthly_income_fen: Mapped[int | None]
    hardship: Mapped[str | None] = mapped_column(String(200))
    aid_received: Mapped[str | None] = mapped_column(String(200))
    dues_fen: Mapped[int | None]
    dues_reduced: Mapped[bool] = mapped_column(default=False)
    dues_paid_until: Mapped[date | None]

    # Mobility (流动情况)
    mobility: Mapped[str] = mapped_column(String(16), default="none")
    mobility_place: Mapped[str | None] = mapped_column(String(100))
    mobility_since: Mapped[date | None]
    mobility_expected_return: Mapped[date | None]
    # A trip ticked deliberately as open-ended (长期外出, 返回时间不定): no planned return.
    mobility_open_ended: Mapped[bool] = mapped_column(default=False, server_default=false())
    mobility_occupation: Mapped[str | None] = mapped_column(String(100))
    mobility_contact: Mapped[str | None] = mapped_column(String(100))
    origin_org_contact: Mapped[str | None] = mapped_column(String(100))

    # Status and five-management category
    status: Mapped[str] = mapped_column(String(16), default="active")
    category: Mapped[str] = mapped_column(String(16), default="direct")
    category_proposed: Mapped[str] = mapped_column(String(16), default="direct")
    category_override_reason: Mapped[str | None] = mapped_column(String(300))

    # Placement: places tree and org tree, denormalized for scope filtering.
    community_id: Mapped[int | None] = mapped_column(ForeignKey("place.id"))
    grid_id: Mapped[int | None] = mapped_column(ForeignKey("place.id"))
    building_id: Mapped[int | None] = mapped_column(ForeignKey("place.id"))
    room: Mapped[str | None] = mapped_column(String(30))
    address: Mapped[str | None] = mapped_column(String(200))
    branch_id: Mapped[int | None] = mapped_column(ForeignKey("org.id"))
    group_id: Mapped[int | None] = mapped_column(ForeignKey("org.id"))
    liaison_user_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    liaison_member_id: Mapped[int | None] = mapped_column(ForeignKey("member.id"))

    # Derived, kept current by the follow-up features.
    last_org_life_on: Mapped[date | None]
    last_thought_report_on: Mapped[date | None]
    last_contact_on: Mapped[date | None]

    notes: Mapped[str | None] = mapped_column(Text)
    source: Mapped[str] = mapped_column(String(16), default="staff")

    @property
    def id_last4(self) -> str:
        from app.crypto import decrypt

        return decrypt(self.id_number_enc)[-4:] if self.id_number_enc else ""

    @id_last4.setter
    def id_last4(self, value: str) -> None:
        from app.crypto import last4_hash

        self.id_last4_hash = last4_hash(value)

    __table_args__ = (
        # Keyset paging in pinyin order, and the common filters, inside a grid or branch scope.
        Index("ix_member_grid_sort", "grid_id", "name_pinyin", "id"),
        Index("ix_member_branch_sort", "branch_id", "name_pinyin", "id"),
        Index("ix_member_category_building", "category", "building_id", "name_pinyin", "id"),
        Index("ix_member_building", "building_id"),
        Index("ix_member_group", "group_id"),
        # Keyset paging inside a community (the usual staff scope, matched by place).
        Index("ix_member_community_sort", "community_id", "name_pinyin", "id"),
        # Counts by status and category per community, answered from the index alone.
        Index("ix_member_status_community", "status", "community_id", "category"),
        Index("ix_member_status_category", "status", "category"),
        Index("ix_member_sort", "name_pinyin", "id"),
        # The members changed since a past month, looked up by id (``app.members.stats``
        # ``member_counts(as_of=...)``): their category and status from this narrow index
        # instead of one wide table row each (migration 0028).
        Index("ix_member_id_status_category", "id", "status", "category"),
    )

    category_label = label_of(CATEGORIES, "category")
    status_label = label_of(STATUSES, "status")


# The latest ``effective_from`` of the member's category and status history rows, kept by the
# database triggers on ``member_history`` below (migration 0029). A column of the table that
# the ORM does not map, so the application never writes it. The members changed since a month
# are one range of it (``app.members.stats.member_counts(as_of=...)``), counted by status and
# category from an index alone: SQLite skips through the status/category prefix, PostgreSQL
# reads the date range.
history_changed_on = Column("history_changed_on", Date, nullable=True)
Member.__table__.append_column(history_changed_on)
Index(
    "ix_member_status_category_changed",
    Member.__table__.c.status,
    Member.__table__.c.category,
    history_changed_on,
).ddl_if(dialect="sqlite")
Index(
    "ix_member_changed_status_category",
    history_changed_on,
    Member.__table__.c.status,
    Member.__table__.c.category,
).ddl_if(dialect="postgresql")


# Name search as a street-wide admin (app/members/queries.py ``search_clause``): one surname is
# an equality on the first character, walked in pinyin order (the community column lets a staff
# scope be checked in the index); two or more characters narrow through the first two.
Index(
    "ix_member_name_first",
    func.substr(Member.name, 1, 1),
    Member.name_pinyin,
    Member.id,
    Member.community_id,
)
Index("ix_member_name_two", func.substr(Member.name, 1, 2))


class MemberHistory(db.Model):
    """Dated history of category, placement, status, mobility and liaison (SPEC §4).

    A row holds the value of one aspect from ``effective_from`` up to (not including)
    ``effective_to``; the open row (``effective_to`` is NULL) is the current value.
    """

    __tablename__ = "member_history"

    id: Mapped[int] = mapped_column(primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("member.id"))
    aspect: Mapped[str] = mapped_column(String(16))
    value: Mapped[dict] = mapped_column(JSON)
    effective_from: Mapped[date]
    effective_to: Mapped[date | None]
    reason: Mapped[str | None] = mapped_column(String(300))
    changed_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    changed_at: Mapped[datetime] = mapped_column(default=utcnow)

    __table_args__ = (
        Index("ix_member_history_member", "member_id", "aspect", "effective_from"),
        # "As of" reports: the rows valid at a date, and the members changed since, from the
        # index alone.
        Index("ix_member_history_asof", "aspect", "effective_from", "effective_to", "member_id"),
        # The rows closed after a date: the few members changed since a past month who existed
        # then (``app.members.history.existing_changed_since``), from the index alone.
        Index("ix_member_history_closed", "aspect", "effective_to", "effective_from", "member_id"),
    )


# ``member.history_changed_on`` follows every write to ``member_history`` (the ORM, bulk
# inserts, the importer, a restore): the same triggers as migration 0029.
HISTORY_CHANGED_TRIGGERS = {
    "sqlite": (
        """CREATE TRIGGER tr_member_history_changed_insert AFTER INSERT ON member_history
        WHEN NEW.aspect IN ('category', 'status')
        BEGIN
            UPDATE member SET history_changed_on = NEW.effective_from
            WHERE id = NEW.member_id
              AND (history_changed_on IS NULL OR history_changed_on < NEW.effective_from);
        END""",
        """CREATE TRIGGER tr_member_history_changed_update
        AFTER UPDATE OF member_id, aspect, effective_from ON member_history
        BEGIN
            UPDATE member SET history_changed_on = (
                SELECT max(h.effective_from) FROM member_history h
                WHERE h.member_id = member.id AND h.aspect IN ('category', 'status'))
            WHERE id IN (OLD.member_id, NEW.member_id);
        END""",
        """CREATE TRIGGER tr_member_history_changed_delete AFTER DELETE ON member_history
        WHEN OLD.aspect IN ('category', 'status')
        BEGIN
            UPDATE member SET history_changed_on = (
                SELECT max(h.effective_from) FROM member_history h
                WHERE h.member_id = member.id AND h.aspect IN ('category', 'status'))
            WHERE id = OLD.member_id;
        END""",
    ),
    "postgresql": (
        """CREATE OR REPLACE FUNCTION member_history_changed() RETURNS trigger AS $$
        BEGIN
            IF TG_OP IN ('UPDATE', 'DELETE') THEN
                UPDATE member SET history_changed_on = (
                    SELECT max(h.effective_from) FROM member_history h
                    WHERE h.member_id = OLD.member_id AND h.aspect IN ('category', 'status'))
                WHERE id = OLD.member_id;
            END IF;
            IF TG_OP IN ('INSERT', 'UPDATE') AND NEW.aspect IN ('category', 'status') THEN
                UPDATE member SET history_changed_on = NEW.effective_from
                WHERE id = NEW.member_id
                  AND (history_changed_on IS NULL OR history_changed_on < NEW.effective_from);
            END IF;
            RETURN NULL;
        END
        $$ LANGUAGE plpgsql""",
        """CREATE TRIGGER tr_member_history_changed
        AFTER INSERT OR DELETE OR UPDATE OF member_id, aspect, effective_from ON member_history
        FOR EACH ROW EXECUTE FUNCTION member_history_changed()""",
    ),
}
for _dialect, _statements in HISTORY_CHANGED_TRIGGERS.items():
    for _statement in _statements:
        event.listen(
            MemberHistory.__table__, "after_create", DDL(_statement).execute_if(dialect=_dialect)
        )


class ChangeRequest(Created, db.Model):
    """A member's self-service edit (phone, address, employer) waiting for staff review."""

    __tablename__ = "change_request"

    id: Mapped[int] = mapped_column(primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("member.id"), index=True)
    changes: Mapped[dict] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(16), default="pending", index=True)
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    decided_at: Mapped[datetime | None]
    reason: Mapped[str | None] = mapped_column(String(300))
