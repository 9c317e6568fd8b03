"""member indexes for the dues, lost-contact and appraisal work lists

Revision ID: 0006_followup_part2
Revises: 0005_certificate_due_indexes
Create Date: 2026-11-22 06:05:00

"""

from alembic import op

revision = "0006_followup_part2"
down_revision = "0005_certificate_due_indexes"
branch_labels = None
depends_on = None


def upgrade():
    op.create_index("ix_member_status_dues", "member", ["status", "dues_paid_until"])
    op.create_index(
        "ix_member_status_orglife_dues",
        "member",
        ["status", "last_org_life_on", "dues_paid_until"],
    )
    op.create_index("ix_member_branch_status", "member", ["branch_id", "status"])
    op.execute("ANALYZE")


def downgrade():
    op.drop_index("ix_member_branch_status", table_name="member")
    op.drop_index("ix_member_status_orglife_dues", table_name="member")
    op.drop_index("ix_member_status_dues", table_name="member")
