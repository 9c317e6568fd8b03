"""Covering indexes for three whole-street computations over the member table

Revision ID: 0028_slow
Revises: 0024_speed

- ``ix_member_dues_standard``: the 党费 "amount to confirm" list computes the proposed amount
  for every member who pays here; the index holds every column that test reads, so the scan
  stays in the index and only the few members whose amount differs are read from the table.
- ``ix_member_id_status_category``: the "as of a month" counts look up the members changed
  since that month by id; their category and status now come from this narrow index instead
  of one wide member row each.
- ``ix_member_dashboard_pass``: the dashboard's one pass (flow-in / flow-out, the unassigned
  counters) reads these columns only; it scans the index instead of the table.

Indexes only: nothing to fill, no data changed. Downgrade drops the three indexes.
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
    "ix_member_id_status_category": ["id", "status", "category"],
    "ix_member_dashboard_pass": [
        "community_id",
        "mobility",
        "category",
        "status",
        "group_id",
        "building_id",
        "relation_location",
        "branch_id",
        "mobility_since",
        "liaison_user_id",
        "liaison_member_id",
    ],
}


def upgrade() -> None:
    for name, columns in INDEXES.items():
        op.create_index(name, "member", columns)


def downgrade() -> None:
    for name in reversed(INDEXES):
        op.drop_index(name, table_name="member")
