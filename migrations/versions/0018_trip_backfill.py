"""trips and liaisons from the cards already issued

Revision ID: 0018_trip_backfill
Revises: 0017_registration_merge

Before trips were one thing, issuing a 活动证 did not record the trip on the member and the
card's liaison was free text. For every valid card issued here (direction "out", status
"issued"):

- a member whose record says 流动情况 = 无 gets the card's trip: 流出, the card's destination,
  the day they left (or the issue date) and 长期外出 (the card does not say when they return;
  staff correct it on 修改信息);
- a member with no liaison link gets the staff user or member whose name is the card's liaison
  name, where exactly one active staff account or exactly one member of the same community
  has that name. The rest are listed for staff on 待核对联络人 (/assignment/liaisons/review).

Only empty fields are filled; nothing is overwritten, so the downgrade changes nothing.
"""

import sqlalchemy as sa
from alembic import op

revision = "0018_trip_backfill"
down_revision = "0017_registration_merge"
branch_labels = None
depends_on = None

member = sa.table(
    "member",
    sa.column("id", sa.Integer),
    sa.column("name", sa.String),
    sa.column("status", sa.String),
    sa.column("community_id", sa.Integer),
    sa.column("mobility", sa.String),
    sa.column("mobility_place", sa.String),
    sa.column("mobility_since", sa.Date),
    sa.column("mobility_open_ended", sa.Boolean),
    sa.column("liaison_user_id", sa.Integer),
    sa.column("liaison_member_id", sa.Integer),
)
certificate = sa.table(
    "certificate",
    sa.column("member_id", sa.Integer),
    sa.column("direction", sa.String),
    sa.column("status", sa.String),
    sa.column("destination", sa.String),
    sa.column("left_on", sa.Date),
    sa.column("issued_on", sa.Date),
    sa.column("liaison_name", sa.String),
)
user = sa.table(
    "user",
    sa.column("id", sa.Integer),
    sa.column("display_name", sa.String),
    sa.column("role", sa.String),
    sa.column("active", sa.Boolean),
)


def upgrade():
    bind = op.get_bind()
    cards = bind.execute(
        sa.select(
            member.c.id,
            member.c.community_id,
            member.c.mobility,
            member.c.liaison_user_id,
            member.c.liaison_member_id,
            certificate.c.destination,
            certificate.c.left_on,
            certificate.c.issued_on,
            certificate.c.liaison_name,
        )
        .join(certificate, certificate.c.member_id == member.c.id)
        .where(certificate.c.direction == "out", certificate.c.status == "issued")
    ).all()
    staff = {}
    for row in bind.execute(
        sa.select(user.c.id, user.c.display_name).where(
            user.c.role.in_(("staff", "grid_worker", "admin")), user.c.active.is_(True)
        )
    ):
        staff.setdefault((row.display_name or "").strip(), []).append(row.id)
    for card in cards:
        if (card.mobility or "none") == "none":
            bind.execute(
                member.update()
                .where(member.c.id == card.id)
                .values(
                    mobility="flow_out",
                    mobility_place=card.destination,
                    mobility_since=card.left_on or card.issued_on,
                    mobility_open_ended=True,
                )
            )
        name = (card.liaison_name or "").strip()
        if card.liaison_user_id or card.liaison_member_id or not name:
            continue
        users = staff.get(name, [])
        if len(users) == 1:
            bind.execute(
                member.update().where(member.c.id == card.id).values(liaison_user_id=users[0])
            )
            continue
        if users:
            continue  # several staff accounts of that name: staff decide
        same = bind.execute(
            sa.select(member.c.id).where(
                member.c.name == name,
                member.c.id != card.id,
                member.c.status == "active",
                member.c.community_id == card.community_id,
            )
        ).all()
        if len(same) == 1:
            bind.execute(
                member.update().where(member.c.id == card.id).values(liaison_member_id=same[0].id)
            )


def downgrade():
    pass  # only empty fields were filled
