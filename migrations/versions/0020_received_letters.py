"""received letters: incoming 组织关系介绍信 and the 回执 sent back for them

Revision ID: 0020_received_letters
Revises: 0019_numbers

A new table; no existing data changes. The letter's number and issuing organization were
already kept on the approved 组织关系转入 registration (documents_brought) and prefill it.
"""

import sqlalchemy as sa
from alembic import op

revision = "0020_received_letters"
down_revision = "0019_numbers"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "received_letter",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("member_id", sa.Integer(), nullable=False),
        sa.Column("number", sa.String(length=40), nullable=False),
        sa.Column("from_org_name", sa.String(length=100), nullable=False),
        sa.Column("to_org_name", sa.String(length=100), nullable=False),
        sa.Column("received_on", sa.Date(), nullable=False),
        sa.Column("reply_sent_on", sa.Date(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["member_id"], ["member.id"], name=op.f("fk_received_letter_member_id_member")
        ),
        sa.ForeignKeyConstraint(
            ["created_by_id"], ["user.id"], name=op.f("fk_received_letter_created_by_id_user")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_received_letter")),
        sa.UniqueConstraint("member_id", "number", name=op.f("uq_received_letter_member_id_number")),
    )
    op.create_index(
        op.f("ix_received_letter_member_id"), "received_letter", ["member_id"], unique=False
    )


def downgrade():
    op.drop_index(op.f("ix_received_letter_member_id"), table_name="received_letter")
    op.drop_table("received_letter")
