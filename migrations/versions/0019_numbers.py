"""失联 only through a case: a lost-contact case for every 失联 member who has none (data only)

Revision ID: 0019_numbers
Revises: 0018_trip_backfill

Before this, the member form could set the status 失联 without opening a lost-contact case, so
统计 counted 失联 members the 失联党员 page did not show. The status is now set only by opening
a case; this migration opens the missing ones so the two counts agree. For each member with
status ``lost_contact`` and no open case it adds a case at stage 摸底 (survey), kind 花名册党员,
reason 其他 with a note saying it was added by the upgrade, ``since`` = the day the status
history says the member became 失联 (today if unknown), and one chained audit row
(``lost_contact_open``, user empty, detail naming this migration). Nothing is changed or deleted.

Downgrade leaves the cases: they are valid records under the older code too (never lose data).
"""

import logging

import sqlalchemy as sa
from alembic import op

revision = "0019_numbers"
down_revision = "0018_trip_backfill"
branch_labels = None
depends_on = None

log = logging.getLogger("alembic.runtime.migration")

NOTE = "升级时补建：该党员状态为失联但没有失联登记，请核实失联类型和原因"

member = sa.table("member", sa.column("id", sa.Integer), sa.column("status", sa.String))
history = sa.table(
    "member_history",
    sa.column("member_id", sa.Integer),
    sa.column("aspect", sa.String),
    sa.column("value", sa.JSON),
    sa.column("effective_from", sa.Date),
    sa.column("effective_to", sa.Date),
)
case_table = sa.table(
    "lost_contact_case",
    sa.column("id", sa.Integer),
    sa.column("version", sa.Integer),
    sa.column("member_id", sa.Integer),
    sa.column("kind", sa.String),
    sa.column("reason", sa.String),
    sa.column("reason_note", sa.String),
    sa.column("since", sa.Date),
    sa.column("stage", sa.String),
    sa.column("opened_on", sa.Date),
    sa.column("created_at", sa.DateTime),
    sa.column("updated_at", sa.DateTime),
)


def upgrade():
    from app.audit.chain import append_row
    from app.timeutil import local_today, utcnow

    bind = op.get_bind()
    open_case = (
        sa.select(case_table.c.id)
        .where(case_table.c.member_id == member.c.id, case_table.c.stage != "closed")
        .exists()
    )
    missing = (
        bind.execute(
            sa.select(member.c.id)
            .where(member.c.status == "lost_contact", ~open_case)
            .order_by(member.c.id)
        )
        .scalars()
        .all()
    )
    if not missing:
        return
    today = local_today()
    lost_since: dict[int, object] = {}
    for member_id, value, start in bind.execute(
        sa.select(history.c.member_id, history.c.value, history.c.effective_from).where(
            history.c.aspect == "status",
            history.c.effective_to.is_(None),
            history.c.member_id.in_(missing),
        )
    ):
        if (value or {}).get("status") == "lost_contact" and start is not None:
            lost_since[member_id] = min(start, today)
    now = utcnow()
    for member_id in missing:
        since = lost_since.get(member_id, today)
        case_id = bind.execute(
            case_table.insert()
            .values(
                version=1,
                member_id=member_id,
                kind="roster",
                reason="other",
                reason_note=NOTE,
                since=since,
                stage="survey",
                opened_on=today,
                created_at=now,
                updated_at=now,
            )
            .returning(case_table.c.id)
        ).scalar_one()
        append_row(
            bind,
            {
                "at": utcnow(),
                "action": "lost_contact_open",
                "object_type": "lost_contact_case",
                "object_id": str(case_id),
                "result": "ok",
                "after": {
                    "member_id": member_id,
                    "kind": "roster",
                    "reason": "other",
                    "since": since.isoformat(),
                },
                "detail": "数据迁移 0019_numbers：为没有失联登记的失联党员补建登记",
            },
        )
    log.info("0019_numbers: opened %d lost-contact cases for 失联 members without one", len(missing))


def downgrade():
    pass
