"""registration.merged_into_id: another submission for an ID number with an open registration

Revision ID: 0017_registration_merge
Revises: 0016_login_throttle

A submission by someone who cannot show the pending registration is theirs (a different phone
number) is kept as a row with status 'merged' pointing at the open registration, for the staff
to adopt or discard; the partial unique index on open registrations is unchanged.

SQLite cannot add a foreign key with ALTER TABLE through Alembic's constraint operation, and a
batch rebuild would have to recreate the partial unique index; the column is added with an
inline REFERENCES clause there instead (SQLite allows that for a nullable column).
"""

import sqlalchemy as sa
from alembic import op

revision = "0017_registration_merge"
down_revision = "0016_login_throttle"
branch_labels = None
depends_on = None


def upgrade():
    if op.get_bind().dialect.name == "sqlite":
        op.execute(
            "ALTER TABLE registration ADD COLUMN merged_into_id INTEGER "
            "REFERENCES registration (id)"
        )
    else:
        op.add_column("registration", sa.Column("merged_into_id", sa.Integer(), nullable=True))
        op.create_foreign_key(
            op.f("fk_registration_merged_into_id_registration"),
            "registration",
            "registration",
            ["merged_into_id"],
            ["id"],
        )
    op.create_index(
        op.f("ix_registration_merged_into_id"), "registration", ["merged_into_id"], unique=False
    )


def downgrade():
    op.drop_index(op.f("ix_registration_merged_into_id"), table_name="registration")
    if op.get_bind().dialect.name == "sqlite":
        op.execute("ALTER TABLE registration DROP COLUMN merged_into_id")
    else:
        op.drop_constraint(
            op.f("fk_registration_merged_into_id_registration"), "registration", type_="foreignkey"
        )
        op.drop_column("registration", "merged_into_id")
