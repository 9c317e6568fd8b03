"""直管: duty posts, member posts with their 责任区, 结对帮扶 pairs and visits, 争五好 reviews

Revision ID: 0025_direct
Revises: 0027_care

New tables only; nothing existing changes. Downgrade drops them.
"""

import sqlalchemy as sa
from alembic import op

revision = "0025_direct"
down_revision = "0027_care"
branch_labels = None
depends_on = None


def _user_fk(column: str, table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint([column], ["user.id"], name=f"fk_{table}_{column}_user")


def upgrade():
    op.create_table(
        "duty_post",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("community_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=50), nullable=False),
        sa.Column("duties", sa.Text(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("retired_at", sa.DateTime(), nullable=True),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["community_id"], ["place.id"], name="fk_duty_post_community_id_place"
        ),
        _user_fk("created_by_id", "duty_post"),
        sa.PrimaryKeyConstraint("id", name="pk_duty_post"),
        sa.UniqueConstraint("community_id", "name", name="uq_duty_post_community_id_name"),
    )
    op.create_index("ix_duty_post_community_id", "duty_post", ["community_id"])
    op.create_table(
        "post_assignment",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("member_id", sa.Integer(), nullable=False),
        sa.Column("post_id", sa.Integer(), nullable=False),
        sa.Column("starts_on", sa.Date(), nullable=False),
        sa.Column("ends_on", sa.Date(), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("serial", sa.String(length=40), nullable=False),
        sa.Column("note", sa.String(length=200), nullable=True),
        sa.Column("decided_by_id", sa.Integer(), nullable=True),
        sa.Column("refuse_reason", sa.String(length=200), nullable=True),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["member_id"], ["member.id"], name="fk_post_assignment_member_id_member"
        ),
        sa.ForeignKeyConstraint(
            ["post_id"], ["duty_post.id"], name="fk_post_assignment_post_id_duty_post"
        ),
        _user_fk("decided_by_id", "post_assignment"),
        _user_fk("created_by_id", "post_assignment"),
        sa.PrimaryKeyConstraint("id", name="pk_post_assignment"),
        sa.UniqueConstraint("serial", name="uq_post_assignment_serial"),
    )
    op.create_index("ix_post_assignment_member_id", "post_assignment", ["member_id"])
    op.create_index("ix_post_assignment_post_id", "post_assignment", ["post_id"])
    op.create_index("ix_post_assignment_status_id", "post_assignment", ["status", "id"])
    op.create_table(
        "post_area",
        sa.Column("assignment_id", sa.Integer(), nullable=False),
        sa.Column("building_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["assignment_id"],
            ["post_assignment.id"],
            name="fk_post_area_assignment_id_post_assignment",
        ),
        sa.ForeignKeyConstraint(["building_id"], ["place.id"], name="fk_post_area_building_id_place"),
        sa.PrimaryKeyConstraint("assignment_id", "building_id", name="pk_post_area"),
    )
    op.create_index("ix_post_area_building_id", "post_area", ["building_id"])
    op.create_table(
        "help_pair",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("member_id", sa.Integer(), nullable=False),
        sa.Column("helped_name", sa.String(length=50), nullable=False),
        sa.Column("helped_phone", sa.String(length=20), nullable=True),
        sa.Column("building_id", sa.Integer(), nullable=False),
        sa.Column("room", sa.String(length=30), nullable=True),
        sa.Column("need_kind", sa.String(length=24), nullable=False),
        sa.Column("need_note", sa.String(length=200), nullable=True),
        sa.Column("starts_on", sa.Date(), nullable=False),
        sa.Column("ends_on", sa.Date(), nullable=True),
        sa.Column("last_visit_on", sa.Date(), nullable=True),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["member_id"], ["member.id"], name="fk_help_pair_member_id_member"),
        sa.ForeignKeyConstraint(["building_id"], ["place.id"], name="fk_help_pair_building_id_place"),
        _user_fk("created_by_id", "help_pair"),
        sa.PrimaryKeyConstraint("id", name="pk_help_pair"),
    )
    op.create_index("ix_help_pair_member_id", "help_pair", ["member_id"])
    op.create_index("ix_help_pair_building_id", "help_pair", ["building_id"])
    op.create_table(
        "help_visit",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("pair_id", sa.Integer(), nullable=False),
        sa.Column("visited_on", sa.Date(), nullable=False),
        sa.Column("content", sa.Text(), nullable=False),
        sa.Column("visitor", sa.String(length=50), nullable=False),
        sa.Column("recorded_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["pair_id"], ["help_pair.id"], name="fk_help_visit_pair_id_help_pair"),
        _user_fk("recorded_by_id", "help_visit"),
        sa.PrimaryKeyConstraint("id", name="pk_help_visit"),
    )
    op.create_index("ix_help_visit_pair_id", "help_visit", ["pair_id"])
    op.create_table(
        "five_good_review",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("member_id", sa.Integer(), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("good_citizen", sa.Boolean(), nullable=False),
        sa.Column("good_member", sa.Boolean(), nullable=False),
        sa.Column("good_worker", sa.Boolean(), nullable=False),
        sa.Column("good_neighbor", sa.Boolean(), nullable=False),
        sa.Column("good_parent", sa.Boolean(), nullable=False),
        sa.Column("assessment", sa.String(length=16), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("recorded_by_id", sa.Integer(), nullable=True),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["member_id"], ["member.id"], name="fk_five_good_review_member_id_member"
        ),
        _user_fk("recorded_by_id", "five_good_review"),
        sa.PrimaryKeyConstraint("id", name="pk_five_good_review"),
        sa.UniqueConstraint("member_id", "year", name="uq_five_good_review_member_id_year"),
    )
    op.create_index("ix_five_good_review_year_id", "five_good_review", ["year", "id"])


def downgrade():
    for table in (
        "five_good_review",
        "help_visit",
        "help_pair",
        "post_area",
        "post_assignment",
        "duty_post",
    ):
        op.drop_table(table)
