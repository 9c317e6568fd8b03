"""Covering index for the 党费 "amount to confirm" list

Revision ID: 0028_slow
Revises: 0024_speed

- ``ix_member_dues_standard``: the 党费 "amount to confirm" list computes the proposed amount
  for every member who pays here; the index holds every column that test reads, so the scan
  stays in the index and only the few members whose amount differs are read from the table.

Indexes only: nothing to fill, no data changed. Downgrade drops the index.
"""

from alembic import op

revision = "0028_slow"
down_revision = "0024_speed"
branch_labels = None
depends_on = None

INDEXES = {
    "ix_member_dues_standard": [
        "relation_location",
        "status",
        "dues_reduced",
        "employment",
        "monthly_income_fen",
        "dues_fen",
        "mobility",
    ],
}


def upgrade() -> None:
    for name, columns in INDEXES.items():
        op.create_index(name, "member", columns)


def downgrade() -> None:
    for name in reversed(INDEXES):
        op.drop_index(name, table_name="member")
