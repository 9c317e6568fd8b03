"""Street-wide name search: indexes on the first one and two characters of a member's name

Revision ID: 0024_speed
Revises: 0026_dual

A search for a surname as a whole-street admin was an OR of pinyin ranges (a surname with two
readings, such as 王 wáng / yù) checked against the name row by row and sorted. The list now asks
for the name's first character (one surname) or first two characters (a longer text) by
equality: ``ix_member_name_first`` walks one surname in pinyin order (with ``community_id`` so a
community scope is checked in the index), ``ix_member_name_two`` narrows a longer prefix.

Expression indexes on both SQLite and PostgreSQL; nothing to fill (the expressions are computed
from the existing names). Downgrade drops the two indexes.
"""

import sqlalchemy as sa
from alembic import op

revision = "0024_speed"
down_revision = "0026_dual"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index(
        "ix_member_name_first",
        "member",
        [sa.text("substr(name, 1, 1)"), "name_pinyin", "id", "community_id"],
    )
    op.create_index("ix_member_name_two", "member", [sa.text("substr(name, 1, 2)")])


def downgrade() -> None:
    op.drop_index("ix_member_name_two", table_name="member")
    op.drop_index("ix_member_name_first", table_name="member")
