"""The absences index made partial

Revision ID: 0034_absences_partial
Revises: 0033_care_due_order

``ix_org_event_attendance_absent`` (0030) was (status, held_on, member_id): SQLite then used it
to skip through the status values for any attendance read by date (the 二卡三簿 ledger's year of
org life, 24 → 790 ms). Only the absences are indexed now, by date (``WHERE status =
'absent'``): the follow-up counts still read the absences up to a cut-off as one range, and
nothing else can pick it.

An index only: nothing to fill, no data changed. Downgrade restores the 0030 index.
"""

import sqlalchemy as sa
from alembic import op

revision = "0034_absences_partial"
down_revision = "0033_care_due_order"
branch_labels = None
depends_on = None

ABSENT = sa.text("status = 'absent'")


def upgrade() -> None:
    op.drop_index("ix_org_event_attendance_absent", table_name="org_event_attendance")
    op.create_index(
        "ix_org_event_attendance_absent",
        "org_event_attendance",
        ["held_on", "member_id"],
        sqlite_where=ABSENT,
        postgresql_where=ABSENT,
    )


def downgrade() -> None:
    op.drop_index("ix_org_event_attendance_absent", table_name="org_event_attendance")
    op.create_index(
        "ix_org_event_attendance_absent", "org_event_attendance", ["status", "held_on", "member_id"]
    )
