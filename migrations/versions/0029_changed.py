"""The date of each member's latest category or status change, kept by triggers

Revision ID: 0029_changed
Revises: 0028_slow

``member.history_changed_on`` is the latest ``effective_from`` among the member's category and
status rows of ``member_history``. Triggers on ``member_history`` keep it after every insert,
update and delete, whoever writes (the application, bulk inserts, imports, a restore), so the
application never writes it. The "as of a month" counts find the members changed since that
month as one range of it (an index with status and category: SQLite skips through the
status/category prefix, PostgreSQL reads the date range), instead of looking up every changed
member by id.

Upgrade fills the column from the existing history (no other data changes). Downgrade drops
the triggers, the index and the column.
"""

import sqlalchemy as sa
from alembic import op

revision = "0029_changed"
down_revision = "0028_slow"
branch_labels = None
depends_on = None

INDEX = {
    "sqlite": ("ix_member_status_category_changed", ["status", "category", "history_changed_on"]),
    "postgresql": (
        "ix_member_changed_status_category",
        ["history_changed_on", "status", "category"],
    ),
}

FILL = """UPDATE member SET history_changed_on = (
    SELECT max(h.effective_from) FROM member_history h
    WHERE h.member_id = member.id AND h.aspect IN ('category', 'status'))"""

TRIGGERS = {
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

DROP = {
    "sqlite": (
        "DROP TRIGGER IF EXISTS tr_member_history_changed_insert",
        "DROP TRIGGER IF EXISTS tr_member_history_changed_update",
        "DROP TRIGGER IF EXISTS tr_member_history_changed_delete",
    ),
    "postgresql": (
        "DROP TRIGGER IF EXISTS tr_member_history_changed ON member_history",
        "DROP FUNCTION IF EXISTS member_history_changed()",
    ),
}


def upgrade() -> None:
    dialect = op.get_bind().dialect.name
    op.add_column("member", sa.Column("history_changed_on", sa.Date(), nullable=True))
    op.execute(FILL)
    for statement in TRIGGERS.get(dialect, ()):
        op.execute(statement)
    if dialect in INDEX:
        name, columns = INDEX[dialect]
        op.create_index(name, "member", columns)


def downgrade() -> None:
    dialect = op.get_bind().dialect.name
    if dialect in INDEX:
        op.drop_index(INDEX[dialect][0], table_name="member")
    for statement in DROP.get(dialect, ()):
        op.execute(statement)
    op.drop_column("member", "history_changed_on")
