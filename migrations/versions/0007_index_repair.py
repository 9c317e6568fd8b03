"""repair the follow-up attendance indexes of databases that ran the old 0004_followup

``0004_followup`` was edited in place twice after release: the attendance index
``ix_org_event_attendance_member`` changed its columns (and ``ix_org_event_attendance_status``
went away), then ``ix_org_event_attendance_event`` was added after 0005 existed. A database that
reached 0005 before those edits has the old shape. This revision looks at what exists and brings
it to the current shape; on a database that already has it, it changes nothing.

Revision ID: 0007_index_repair
Revises: 0006_followup_part2
Create Date: 2026-12-04 03:50:00

"""

import sqlalchemy as sa
from alembic import op

revision = "0007_index_repair"
down_revision = "0006_followup_part2"
branch_labels = None
depends_on = None

TABLE = "org_event_attendance"
# The current shape: name -> columns (all non-unique).
WANTED = {
    "ix_org_event_attendance_member": ["member_id", "status", "held_on"],
    "ix_org_event_attendance_event": ["event_id", "status"],
}
# Names the old versions created that the current shape no longer has.
OBSOLETE = ("ix_org_event_attendance_status",)


def upgrade():
    existing = {
        index["name"]: (list(index["column_names"]), bool(index.get("unique")))
        for index in sa.inspect(op.get_bind()).get_indexes(TABLE)
    }
    for name in OBSOLETE:
        if name in existing:
            op.drop_index(name, table_name=TABLE)
    for name, columns in WANTED.items():
        if existing.get(name) == (columns, False):
            continue
        if name in existing:
            op.drop_index(name, table_name=TABLE)
        op.create_index(name, TABLE, columns, unique=False)


def downgrade():
    # Nothing to undo: the shape 0007 produces is the one 0004_followup now declares.
    pass
