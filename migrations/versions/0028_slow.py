"""Covering indexes for whole-street computations over the member and history tables

Revision ID: 0028_slow
Revises: 0024_speed

- ``ix_member_dues_standard``: the 党费 "amount to confirm" list computes the proposed amount
  for every member who pays here; the index holds every column that test reads, so the scan
  stays in the index and only the few members whose amount differs are read from the table.
- ``ix_member_id_status_category``: the "as of a month" counts look up the members changed
  since that month by id; their category and status now come from this narrow index instead
  of one wide member row each.
- ``ix_member_history_closed``: of the members changed since that month, only those who
  existed then need their values as of then; they are found by the rows closed after the
  month (a small range of this index) instead of looking up every member changed or created.
- ``ix_member_dashboard_pass``: the dashboard's one pass (flow-in / flow-out, the unassigned
  counters) reads these columns only; it scans the index instead of the table.

Indexes only: nothing to fill, no data changed. Downgrade drops the four indexes.
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


HISTORY_CLOSED = ["aspect", "effective_to", "effective_from", "member_id"]


def upgrade() -> None:
    for name, columns in INDEXES.items():
        op.create_index(name, "member", columns)
    op.create_index("ix_member_history_closed", "member_history", HISTORY_CLOSED)


def downgrade() -> None:
    op.drop_index("ix_member_history_closed", table_name="member_history")
    for name in reversed(INDEXES):
        op.drop_index(name, table_name="member")
