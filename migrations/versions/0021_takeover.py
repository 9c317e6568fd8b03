"""takeover: training records, job leads and referrals, 五个一 evidence (接管 members)

Revision ID: 0021_takeover
Revises: 0020_received_letters

New tables only; no existing data changes.
"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0021_takeover"
down_revision = "0020_received_letters"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "job_lead",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("community_id", sa.Integer(), nullable=False),
        sa.Column("employer", sa.String(length=100), nullable=False),
        sa.Column("post", sa.String(length=100), nullable=False),
        sa.Column("contact", sa.String(length=100), nullable=False),
        sa.Column("valid_until", sa.Date(), nullable=False),
        sa.Column("notes", sa.Text(), nullable=True),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["community_id"], ["place.id"], name=op.f("fk_job_lead_community_id_place")
        ),
        sa.ForeignKeyConstraint(
            ["created_by_id"], ["user.id"], name=op.f("fk_job_lead_created_by_id_user")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_job_lead")),
    )
    with op.batch_alter_table("job_lead", schema=None) as batch_op:
        batch_op.create_index(
            "ix_job_lead_community", ["community_id", "valid_until", "id"], unique=False
        )

    op.create_table(
        "five_one_evidence",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("member_id", sa.Integer(), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("item", sa.String(length=16), nullable=False),
        sa.Column("done_on", sa.Date(), nullable=False),
        sa.Column("note", sa.String(length=200), nullable=False),
        sa.Column("recorded_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["member_id"], ["member.id"], name=op.f("fk_five_one_evidence_member_id_member")
        ),
        sa.ForeignKeyConstraint(
            ["recorded_by_id"], ["user.id"], name=op.f("fk_five_one_evidence_recorded_by_id_user")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_five_one_evidence")),
        sa.UniqueConstraint(
            "member_id", "year", "item", name=op.f("uq_five_one_evidence_member_id_year_item")
        ),
    )
    op.create_table(
        "job_referral",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("member_id", sa.Integer(), nullable=False),
        sa.Column("job_lead_id", sa.Integer(), nullable=True),
        sa.Column("employer", sa.String(length=100), nullable=False),
        sa.Column("post", sa.String(length=100), nullable=False),
        sa.Column("referred_on", sa.Date(), nullable=False),
        sa.Column("outcome", sa.String(length=16), nullable=False),
        sa.Column("outcome_on", sa.Date(), nullable=True),
        sa.Column("note", sa.String(length=200), nullable=True),
        sa.Column("recorded_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["job_lead_id"], ["job_lead.id"], name=op.f("fk_job_referral_job_lead_id_job_lead")
        ),
        sa.ForeignKeyConstraint(
            ["member_id"], ["member.id"], name=op.f("fk_job_referral_member_id_member")
        ),
        sa.ForeignKeyConstraint(
            ["recorded_by_id"], ["user.id"], name=op.f("fk_job_referral_recorded_by_id_user")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_job_referral")),
    )
    with op.batch_alter_table("job_referral", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_job_referral_job_lead_id"), ["job_lead_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_job_referral_member_id"), ["member_id"], unique=False)

    op.create_table(
        "training_record",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("member_id", sa.Integer(), nullable=False),
        sa.Column("course", sa.String(length=100), nullable=False),
        sa.Column("provider", sa.String(length=100), nullable=False),
        sa.Column("started_on", sa.Date(), nullable=False),
        sa.Column("ended_on", sa.Date(), nullable=True),
        sa.Column("certificate", sa.String(length=100), nullable=True),
        sa.Column("recorded_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["member_id"], ["member.id"], name=op.f("fk_training_record_member_id_member")
        ),
        sa.ForeignKeyConstraint(
            ["recorded_by_id"], ["user.id"], name=op.f("fk_training_record_recorded_by_id_user")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_training_record")),
    )
    with op.batch_alter_table("training_record", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_training_record_member_id"), ["member_id"], unique=False
        )


def downgrade():
    with op.batch_alter_table("training_record", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_training_record_member_id"))

    op.drop_table("training_record")
    with op.batch_alter_table("job_referral", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_job_referral_member_id"))
        batch_op.drop_index(batch_op.f("ix_job_referral_job_lead_id"))

    op.drop_table("job_referral")
    op.drop_table("five_one_evidence")
    with op.batch_alter_table("job_lead", schema=None) as batch_op:
        batch_op.drop_index("ix_job_lead_community")

    op.drop_table("job_lead")
