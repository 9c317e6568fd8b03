"""rate-limit counters shared by every worker process (app/ratelimit.py)

Revision ID: 0012_rate_limits
Revises: 0010_audit_chain
"""

import sqlalchemy as sa
from alembic import op

revision = "0012_rate_limits"
down_revision = "0010_audit_chain"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "rate_limit_counter",
        sa.Column("key", sa.String(length=255), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.Column("expires_at", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_rate_limit_counter")),
    )
    op.create_index(
        op.f("ix_rate_limit_counter_expires_at"), "rate_limit_counter", ["expires_at"], unique=False
    )


def downgrade():
    op.drop_index(op.f("ix_rate_limit_counter_expires_at"), table_name="rate_limit_counter")
    op.drop_table("rate_limit_counter")
