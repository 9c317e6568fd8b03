"""An index for the members behind on dues

Revision ID: 0032_dues_behind
Revises: 0031_reminder_counts

``ix_member_dues_behind``: the members who pay here (relation location, status) by the month
their dues are paid until, with their mobility. The whole street's "behind" count and the
lost-contact proposals read two ranges of it (never paid, paid until before the cut-off)
instead of every member's row.

An index only: nothing to fill, no data changed. Downgrade drops it.
"""

from alembic import op

revision = "0032_dues_behind"
down_revision = "0031_reminder_counts"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index(
        "ix_member_dues_behind",
        "member",
        ["relation_location", "status", "dues_paid_until", "mobility"],
    )


def downgrade() -> None:
    op.drop_index("ix_member_dues_behind", table_name="member")
