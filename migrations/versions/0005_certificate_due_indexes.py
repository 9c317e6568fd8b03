"""certificate indexes for the due lists and reminders (check due, expiring)

Revision ID: 0005_certificate_due_indexes
Revises: 0004_followup
Create Date: 2026-11-22 05:55:00

"""

from alembic import op

revision = "0005_certificate_due_indexes"
down_revision = "0004_followup"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("certificate", schema=None) as batch_op:
        batch_op.create_index(
            "ix_certificate_status_due", ["status", "next_verification_due"], unique=False
        )
        batch_op.create_index(
            "ix_certificate_status_valid", ["status", "valid_until"], unique=False
        )
    op.execute("ANALYZE")


def downgrade():
    with op.batch_alter_table("certificate", schema=None) as batch_op:
        batch_op.drop_index("ix_certificate_status_valid")
        batch_op.drop_index("ix_certificate_status_due")
