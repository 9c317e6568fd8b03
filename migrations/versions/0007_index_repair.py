"""repair the follow-up attendance indexes of databases that passed through the old 0004

Revision ID: 0007_index_repair
Revises: 0006_followup_part2

``0004_followup`` was edited after release: at first it created ``ix_org_event_attendance_member``
on (member_id, held_on) and ``ix_org_event_attendance_status`` on (status, held_on, member_id);
later the member index became (member_id, status, held_on), the status index went and
``ix_org_event_attendance_event`` on (event_id, status) came. A database upgraded before those
edits kept the old shape. This migration looks at what exists (names and columns) and brings
any database to the current shape; on a current database it changes nothing. It never drops
data, only indexes.
"""

import sqlalchemy as sa
from alembic import op

revision = "0007_index_repair"
down_revision = "0006_followup_part2"
branch_labels = None
depends_on = None

TABLE = "org_event_attendance"
WANTED = {
    "ix_org_event_attendance_member": ["member_id", "status", "held_on"],
    "ix_org_event_attendance_event": ["event_id", "status"],
}
OBSOLETE = ("ix_org_event_attendance_status",)


def upgrade():
    bind = op.get_bind()
    existing = {
        index["name"]: list(index["column_names"]) for index in sa.inspect(bind).get_indexes(TABLE)
    }
    for name in OBSOLETE:
        if name in existing:
            op.drop_index(name, table_name=TABLE)
    for name, columns in WANTED.items():
        if name in existing and existing[name] != columns:
            op.drop_index(name, table_name=TABLE)
            existing.pop(name)
        if name not in existing:
            op.create_index(name, TABLE, columns, unique=False)


def downgrade():
    # Nothing to undo: the repaired shape is the one 0004 creates today.
    pass
