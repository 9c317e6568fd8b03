"""assessment: the staff's qualitative grade of a member's year (目标考核)

Revision ID: 0022_assessment
Revises: 0021_takeover

A new table; no existing data changes.
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0022_assessment'
down_revision = '0021_takeover'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('assessment_grade',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('member_id', sa.Integer(), nullable=False),
    sa.Column('year', sa.Integer(), nullable=False),
    sa.Column('grade', sa.String(length=16), nullable=False),
    sa.Column('note', sa.String(length=200), nullable=True),
    sa.Column('recorded_by_id', sa.Integer(), nullable=True),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['member_id'], ['member.id'], name=op.f('fk_assessment_grade_member_id_member')),
    sa.ForeignKeyConstraint(['recorded_by_id'], ['user.id'], name=op.f('fk_assessment_grade_recorded_by_id_user')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_assessment_grade')),
    sa.UniqueConstraint('member_id', 'year', name=op.f('uq_assessment_grade_member_id_year'))
    )


def downgrade():
    op.drop_table('assessment_grade')
