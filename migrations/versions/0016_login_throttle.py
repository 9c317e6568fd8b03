"""login throttle: failed-login counters per (typed username, source) and per username

Revision ID: 0016_login_throttle
Revises: 0015_keys

The old per-account columns (user.failed_logins, user.locked_until) stay; login no longer uses
them.
"""

import sqlalchemy as sa
from alembic import op

revision = "0016_login_throttle"
down_revision = "0015_keys"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "login_throttle",
        sa.Column("username_key", sa.String(length=64), nullable=False),
        sa.Column("source", sa.String(length=64), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("locked_until", sa.Float(), nullable=True),
        sa.Column("last_at", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("username_key", "source", name=op.f("pk_login_throttle")),
    )
    op.create_index("ix_login_throttle_last_at", "login_throttle", ["last_at"], unique=False)


def downgrade():
    op.drop_index("ix_login_throttle_last_at", table_name="login_throttle")
    op.drop_table("login_throttle")
