"""audit log hash chain: seq, prev_hash, row_hash on audit_entry and the chain head

Revision ID: 0010_audit_chain
Revises: 0009_id_protection

Columns are added without batch mode so SQLite keeps the append-only triggers (a batch
operation would recreate the table without them). Rows written before this migration stay
unchained (seq NULL); the chain starts with the first row written after it.
"""

import sqlalchemy as sa
from alembic import op

revision = "0010_audit_chain"
down_revision = "0009_id_protection"
branch_labels = None
depends_on = None


def upgrade():
    op.add_column("audit_entry", sa.Column("seq", sa.Integer(), nullable=True))
    op.add_column("audit_entry", sa.Column("prev_hash", sa.String(length=64), nullable=True))
    op.add_column("audit_entry", sa.Column("row_hash", sa.String(length=64), nullable=True))
    op.create_index("ix_audit_entry_seq", "audit_entry", ["seq"], unique=True)
    op.create_table(
        "audit_chain",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("last_hash", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_chain")),
    )


def downgrade():
    op.drop_table("audit_chain")
    op.drop_index("ix_audit_entry_seq", table_name="audit_entry")
    # SQLite cannot drop columns without recreating the table (which would drop the triggers).
    if op.get_bind().dialect.name != "sqlite":
        op.drop_column("audit_entry", "row_hash")
        op.drop_column("audit_entry", "prev_hash")
        op.drop_column("audit_entry", "seq")
