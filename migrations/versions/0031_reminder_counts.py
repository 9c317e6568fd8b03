"""Indexes for two reminders' whole-street counts

Revision ID: 0031_reminder_counts
Revises: 0030_followup_counts

- ``ix_member_care_due``: 共管 visits due compare the members' birth dates with each occasion;
  read from this index instead of the wide member rows.
- ``ix_member_probation``: probationary members not yet full members, by the day they joined
  (the 流动预备党员转正到期 reminder), found without reading every member.

Indexes only: nothing to fill, no data changed. Downgrade drops both indexes.
"""

from alembic import op

revision = "0031_reminder_counts"
down_revision = "0030_followup_counts"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_member_care_due", "member", ["category", "status", "birth_date", "id"])
    op.create_index("ix_member_probation", "member", ["member_type", "full_member_on", "joined_on"])


def downgrade() -> None:
    op.drop_index("ix_member_probation", table_name="member")
    op.drop_index("ix_member_care_due", table_name="member")
