"""共管 and 协管: care plans, illness events and visits; contacts with the other organization,
mobile-member stations and their members

Revision ID: 0027_care
Revises: 0022_assessment

New tables only (no data changes).
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0027_care'
down_revision = '0022_assessment'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('mobile_station',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('community_id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('place', sa.String(length=100), nullable=False),
    sa.Column('contact', sa.String(length=100), nullable=True),
    sa.Column('notes', sa.String(length=300), nullable=True),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['community_id'], ['place.id'], name=op.f('fk_mobile_station_community_id_place')),
    sa.ForeignKeyConstraint(['created_by_id'], ['user.id'], name=op.f('fk_mobile_station_created_by_id_user')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_mobile_station'))
    )
    with op.batch_alter_table('mobile_station', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_mobile_station_community_id'), ['community_id'], unique=False)

    op.create_table('care_event',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('member_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('occurred_on', sa.Date(), nullable=False),
    sa.Column('note', sa.String(length=300), nullable=True),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['created_by_id'], ['user.id'], name=op.f('fk_care_event_created_by_id_user')),
    sa.ForeignKeyConstraint(['member_id'], ['member.id'], name=op.f('fk_care_event_member_id_member')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_care_event'))
    )
    with op.batch_alter_table('care_event', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_care_event_member_id'), ['member_id'], unique=False)

    op.create_table('care_plan',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('member_id', sa.Integer(), nullable=False),
    sa.Column('health', sa.String(length=16), nullable=False),
    sa.Column('unit_org_name', sa.String(length=100), nullable=True),
    sa.Column('unit_contact', sa.String(length=100), nullable=True),
    sa.Column('abilities', sa.JSON(), nullable=False),
    sa.Column('notes', sa.String(length=300), nullable=True),
    sa.Column('updated_by_id', sa.Integer(), nullable=True),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['member_id'], ['member.id'], name=op.f('fk_care_plan_member_id_member')),
    sa.ForeignKeyConstraint(['updated_by_id'], ['user.id'], name=op.f('fk_care_plan_updated_by_id_user')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_care_plan')),
    sa.UniqueConstraint('member_id', name=op.f('uq_care_plan_member_id'))
    )
    op.create_table('mobile_contact',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('member_id', sa.Integer(), nullable=False),
    sa.Column('contacted_on', sa.Date(), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('direction', sa.String(length=16), nullable=False),
    sa.Column('channel', sa.String(length=16), nullable=False),
    sa.Column('org_name', sa.String(length=100), nullable=False),
    sa.Column('summary', sa.Text(), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['created_by_id'], ['user.id'], name=op.f('fk_mobile_contact_created_by_id_user')),
    sa.ForeignKeyConstraint(['member_id'], ['member.id'], name=op.f('fk_mobile_contact_member_id_member')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_mobile_contact'))
    )
    with op.batch_alter_table('mobile_contact', schema=None) as batch_op:
        batch_op.create_index('ix_mobile_contact_member_date', ['member_id', 'contacted_on'], unique=False)

    op.create_table('mobile_station_member',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('station_id', sa.Integer(), nullable=False),
    sa.Column('member_id', sa.Integer(), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['created_by_id'], ['user.id'], name=op.f('fk_mobile_station_member_created_by_id_user')),
    sa.ForeignKeyConstraint(['member_id'], ['member.id'], name=op.f('fk_mobile_station_member_member_id_member')),
    sa.ForeignKeyConstraint(['station_id'], ['mobile_station.id'], name=op.f('fk_mobile_station_member_station_id_mobile_station')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_mobile_station_member')),
    sa.UniqueConstraint('member_id', name=op.f('uq_mobile_station_member_member_id'))
    )
    with op.batch_alter_table('mobile_station_member', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_mobile_station_member_station_id'), ['station_id'], unique=False)

    op.create_table('care_visit',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('member_id', sa.Integer(), nullable=False),
    sa.Column('visited_on', sa.Date(), nullable=False),
    sa.Column('occasion', sa.String(length=32), nullable=False),
    sa.Column('occasion_label', sa.String(length=50), nullable=False),
    sa.Column('event_id', sa.Integer(), nullable=True),
    sa.Column('visitors', sa.String(length=200), nullable=False),
    sa.Column('unit_co_visitor', sa.String(length=100), nullable=True),
    sa.Column('brought', sa.String(length=300), nullable=True),
    sa.Column('follow_up', sa.Text(), nullable=True),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['created_by_id'], ['user.id'], name=op.f('fk_care_visit_created_by_id_user')),
    sa.ForeignKeyConstraint(['event_id'], ['care_event.id'], name=op.f('fk_care_visit_event_id_care_event')),
    sa.ForeignKeyConstraint(['member_id'], ['member.id'], name=op.f('fk_care_visit_member_id_member')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_care_visit'))
    )
    with op.batch_alter_table('care_visit', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_care_visit_event_id'), ['event_id'], unique=False)
        batch_op.create_index('ix_care_visit_member_date', ['member_id', 'visited_on'], unique=False)
        batch_op.create_index('ix_care_visit_member_occasion', ['member_id', 'occasion'], unique=False)



def downgrade():
    with op.batch_alter_table('care_visit', schema=None) as batch_op:
        batch_op.drop_index('ix_care_visit_member_occasion')
        batch_op.drop_index('ix_care_visit_member_date')
        batch_op.drop_index(batch_op.f('ix_care_visit_event_id'))

    op.drop_table('care_visit')
    with op.batch_alter_table('mobile_station_member', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_mobile_station_member_station_id'))

    op.drop_table('mobile_station_member')
    with op.batch_alter_table('mobile_contact', schema=None) as batch_op:
        batch_op.drop_index('ix_mobile_contact_member_date')

    op.drop_table('mobile_contact')
    op.drop_table('care_plan')
    with op.batch_alter_table('care_event', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_care_event_member_id'))

    op.drop_table('care_event')
    with op.batch_alter_table('mobile_station', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_mobile_station_community_id'))

    op.drop_table('mobile_station')
