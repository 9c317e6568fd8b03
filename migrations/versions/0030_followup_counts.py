"""Covering indexes for the follow-up lists' whole-street counts

Revision ID: 0030_followup_counts
Revises: 0029_changed

- ``ix_member_followup_counts``: every column the three work lists' counts read (thought
  reports, contacts, alerts), so counting a whole street scans this narrow index instead of
  the wide member rows (and PostgreSQL can answer from the index alone).
- ``ix_org_event_attendance_absent``: the absences up to a cut-off as one range, read once for
  the whole count instead of one lookup per member.

Indexes only: nothing to fill, no data changed. Downgrade drops both indexes.
"""

from alembic import op

revision = "0030_followup_counts"
down_revision = "0029_changed"
branch_labels = None
depends_on = None

FOLLOWUP_COUNTS = [
    "status",
    "category",
    "mobility",
    "last_thought_report_on",
    "last_contact_on",
    "mobility_since",
    "created_at",
    "last_org_life_on",
    "dues_paid_until",
    "id",
]


def upgrade() -> None:
    op.create_index("ix_member_followup_counts", "member", FOLLOWUP_COUNTS)
    op.create_index(
        "ix_org_event_attendance_absent", "org_event_attendance", ["status", "held_on", "member_id"]
    )


def downgrade() -> None:
    op.drop_index("ix_org_event_attendance_absent", table_name="org_event_attendance")
    op.drop_index("ix_member_followup_counts", table_name="member")
