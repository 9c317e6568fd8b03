"""trips: a flow-out can be ticked as open-ended (长期外出, 返回时间不定)

Revision ID: 0014_trips
Revises: 0012_rate_limits

The trip stays on the member record (mobility, place, since, planned return, occupation,
contact, liaison): the one place every feature reads through app.members.management. This adds
the deliberate open-ended tick. Existing rows get False (no data changes).
"""

import sqlalchemy as sa
from alembic import op

revision = "0014_trips"
down_revision = "0012_rate_limits"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("member") as batch:
        batch.add_column(
            sa.Column(
                "mobility_open_ended", sa.Boolean(), nullable=False, server_default=sa.false()
            )
        )


def downgrade():
    with op.batch_alter_table("member") as batch:
        batch.drop_column("mobility_open_ended")
