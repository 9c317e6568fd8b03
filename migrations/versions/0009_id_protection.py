"""ID numbers cannot be rebuilt from plaintext: the last 4 as a keyed hash; audit rows redacted

Revision ID: 0009_id_protection
Revises: 0007_index_repair

- ``member.id_last4`` (plaintext) becomes ``member.id_last4_hash`` (keyed hash, for the last-4
  search), computed from the encrypted number with the application's keys. With the plaintext
  first 6 digits and the birth date, the last 4 rebuilt the whole number.
- Audit rows written so far kept ID numbers as first 6 + last 4 (``620302********1234``): a
  one-time redaction replaces every such mask in their ``before``/``after`` with the reference
  the application now writes, and records one audit row saying so. The append-only triggers are
  lifted for that statement only. The audit hash chain (0010) starts after this.
"""

import json
import re

import sqlalchemy as sa
from alembic import op

revision = "0009_id_protection"
down_revision = "0007_index_repair"
branch_labels = None
depends_on = None

MASK = re.compile(r"\b\d{6}\*{4,12}[\dXx]{4}\b|\b\d{6}\*{4,12}[\dXx]{3}[\dXx]\b")
REDACTED = "（已加密保存）"
BATCH = 2000


def _fill_hashes(bind) -> None:
    from app.crypto import decrypt, last4_hash

    member = sa.table(
        "member",
        sa.column("id", sa.Integer),
        sa.column("id_number_enc", sa.LargeBinary),
        sa.column("id_last4_hash", sa.String),
    )
    last = 0
    while True:
        rows = bind.execute(
            sa.select(member.c.id, member.c.id_number_enc)
            .where(member.c.id > last)
            .order_by(member.c.id)
            .limit(BATCH)
        ).all()
        if not rows:
            break
        bind.execute(
            member.update().where(member.c.id == sa.bindparam("mid")),
            [{"mid": r.id, "id_last4_hash": last4_hash(decrypt(r.id_number_enc)[-4:])} for r in rows],
        )
        last = rows[-1].id


def _redact(value):
    if isinstance(value, str):
        return MASK.sub(REDACTED, value)
    if isinstance(value, dict):
        return {k: _redact(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_redact(v) for v in value]
    return value


def _redact_audit(bind) -> int:
    audit = sa.table(
        "audit_entry",
        sa.column("id", sa.Integer),
        sa.column("before", sa.JSON),
        sa.column("after", sa.JSON),
        sa.column("detail", sa.String),
    )
    changes = []
    last = 0
    while True:
        rows = bind.execute(
            sa.select(audit.c.id, audit.c.before, audit.c.after, audit.c.detail)
            .where(audit.c.id > last)
            .order_by(audit.c.id)
            .limit(BATCH)
        ).all()
        if not rows:
            break
        for r in rows:
            text = json.dumps([r.before, r.after, r.detail], ensure_ascii=False)
            if MASK.search(text):
                changes.append(
                    {"aid": r.id, "before": _redact(r.before), "after": _redact(r.after),
                     "detail": _redact(r.detail)}
                )
        last = rows[-1].id
    if not changes:
        return 0
    dialect = bind.dialect.name
    if dialect == "postgresql":
        bind.exec_driver_sql("ALTER TABLE audit_entry DISABLE TRIGGER audit_entry_no_change")
    else:
        bind.exec_driver_sql("DROP TRIGGER IF EXISTS audit_entry_no_update")
    bind.execute(
        audit.update()
        .where(audit.c.id == sa.bindparam("aid"))
        .values(before=sa.bindparam("before"), after=sa.bindparam("after"),
                detail=sa.bindparam("detail")),
        changes,
    )
    if dialect == "postgresql":
        bind.exec_driver_sql("ALTER TABLE audit_entry ENABLE TRIGGER audit_entry_no_change")
    else:
        bind.exec_driver_sql(
            "CREATE TRIGGER audit_entry_no_update BEFORE UPDATE ON audit_entry "
            "BEGIN SELECT RAISE(ABORT, 'audit entries are append-only'); END"
        )
    return len(changes)


def upgrade():
    bind = op.get_bind()
    op.add_column("member", sa.Column("id_last4_hash", sa.String(length=64), nullable=True))
    _fill_hashes(bind)
    with op.batch_alter_table("member", schema=None) as batch_op:
        batch_op.drop_index("ix_member_id_last4")
        batch_op.drop_column("id_last4")
        batch_op.alter_column("id_last4_hash", existing_type=sa.String(length=64), nullable=False)
        batch_op.create_index("ix_member_id_last4_hash", ["id_last4_hash"], unique=False)
    redacted = _redact_audit(bind)
    if redacted:
        from datetime import UTC, datetime

        bind.execute(
            sa.table(
                "audit_entry",
                sa.column("at", sa.DateTime),
                sa.column("action", sa.String),
                sa.column("object_type", sa.String),
                sa.column("result", sa.String),
                sa.column("after", sa.JSON),
                sa.column("detail", sa.String),
            ).insert(),
            [{
                "at": datetime.now(UTC).replace(tzinfo=None),
                "action": "audit_redact",
                "object_type": "audit_entry",
                "result": "ok",
                "after": {"count": redacted},
                "detail": "一次性脱敏：审计记录中的身份证号（前6位+后4位）改为不含数字的说明",
            }],
        )


def downgrade():
    # The plaintext last 4 come back from the encrypted numbers; redacted audit rows stay redacted.
    from app.crypto import decrypt

    bind = op.get_bind()
    op.add_column("member", sa.Column("id_last4", sa.String(length=4), nullable=True))
    member = sa.table(
        "member", sa.column("id", sa.Integer), sa.column("id_number_enc", sa.LargeBinary),
        sa.column("id_last4", sa.String),
    )
    rows = bind.execute(sa.select(member.c.id, member.c.id_number_enc)).all()
    if rows:
        bind.execute(
            member.update().where(member.c.id == sa.bindparam("mid")),
            [{"mid": r.id, "id_last4": decrypt(r.id_number_enc)[-4:]} for r in rows],
        )
    with op.batch_alter_table("member", schema=None) as batch_op:
        batch_op.drop_index("ix_member_id_last4_hash")
        batch_op.drop_column("id_last4_hash")
        batch_op.alter_column("id_last4", existing_type=sa.String(length=4), nullable=False)
        batch_op.create_index("ix_member_id_last4", ["id_last4"], unique=False)
