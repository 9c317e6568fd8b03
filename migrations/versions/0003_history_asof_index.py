"""member_history as-of index covers member_id

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-22 04:15:00

"""

from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("member_history", schema=None) as batch_op:
        batch_op.drop_index("ix_member_history_asof")
        batch_op.create_index(
            "ix_member_history_asof",
            ["aspect", "effective_from", "effective_to", "member_id"],
            unique=False,
        )
    op.execute("ANALYZE")


def downgrade():
    with op.batch_alter_table("member_history", schema=None) as batch_op:
        batch_op.drop_index("ix_member_history_asof")
        batch_op.create_index(
            "ix_member_history_asof", ["aspect", "effective_from", "effective_to"], unique=False
        )
