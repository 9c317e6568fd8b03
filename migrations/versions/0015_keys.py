"""HKDF sub-keys: stored ID numbers re-encrypted and re-hashed; audit chain derivation versioned

Revision ID: 0015_keys
Revises: 0014_trips

The sub-keys for ID-number encryption, look-up hashes and the audit chain were SHA-256(label,
key); they are now derived with HKDF (app/crypto.py). With the application's configured keys:

- every ``member`` and ``registration`` ID number is decrypted (old or new derivation) and
  encrypted again, and ``id_hash`` / ``id_last4_hash`` are recomputed, so every look-up and
  uniqueness check finds them. A number the configured DATA_KEY cannot open at all (the key was
  changed before this upgrade) is left as it is and reported: run ``flask keys rotate`` with
  ``OLD_DATA_KEY`` afterwards.
- audit rows are not rewritten: ``audit_chain.legacy_seq`` records the last row chained with
  the old derivation, and ``verify`` checks rows up to it with that derivation. One chained
  audit row (``keys_migrate``) records the counts.

Downgrade encrypts and hashes the numbers with the old derivation again; audit rows written
after the upgrade were chained with the HKDF key and do not verify with the old code.
"""

import logging

import sqlalchemy as sa
from alembic import op

revision = "0015_keys"
down_revision = "0014_trips"
branch_labels = None
depends_on = None

log = logging.getLogger("alembic.runtime.migration")


def upgrade():
    from app.audit.chain import append_row
    from app.keys import rekey_id_numbers
    from app.timeutil import utcnow

    bind = op.get_bind()
    op.add_column(
        "audit_chain",
        sa.Column("legacy_seq", sa.Integer(), server_default="0", nullable=False),
    )
    chain = sa.table("audit_chain", sa.column("seq", sa.Integer), sa.column("legacy_seq", sa.Integer))
    bind.execute(chain.update().values(legacy_seq=chain.c.seq))
    result = rekey_id_numbers(bind)
    if result.unreadable:
        log.warning(
            "0015_keys: %d ID numbers cannot be opened with the configured DATA_KEY (first: %s);"
            " they are unchanged: run `flask keys rotate` with OLD_DATA_KEY set to the key they"
            " were written with",
            len(result.unreadable),
            result.unreadable[0],
        )
    has_chain = bind.execute(sa.select(sa.func.count()).select_from(chain)).scalar_one()
    if result.members or result.registrations or result.unreadable or has_chain:
        append_row(
            bind,
            {
                "at": utcnow(),
                "action": "keys_migrate",
                "object_type": "system",
                "result": "ok" if not result.unreadable else "partial",
                "after": result.as_dict(),
                "detail": "密钥派生改为 HKDF：身份证号已重新加密并重算检索哈希；此前的审计记录按原派生方式校验",
            },
        )


def downgrade():
    from app import crypto

    bind = op.get_bind()
    data_keys = [crypto.derived_key(crypto.DATA), crypto.derived_legacy_key(crypto.DATA)]
    data_key = crypto.derived_legacy_key(crypto.DATA)
    hash_key = crypto.derived_legacy_key(crypto.ID_HASH)
    for name in ("member", "registration"):
        table = sa.table(
            name,
            sa.column("id", sa.Integer),
            sa.column("id_number_enc", sa.LargeBinary),
            sa.column("id_hash", sa.String),
            sa.column("id_last4_hash", sa.String),
        )
        rows = bind.execute(sa.select(table.c.id, table.c.id_number_enc)).all()
        changes = []
        for row in rows:
            number = row.id_number_enc and crypto.decrypt_with(data_keys, bytes(row.id_number_enc))
            if not number:
                continue
            change = {
                "rid": row.id,
                "id_number_enc": crypto.encrypt_with(data_key, number),
                "id_hash": crypto.hash_with(hash_key, number),
            }
            if name == "member":
                change["id_last4_hash"] = crypto.hash_with(hash_key, crypto.last4_text(number[-4:]))
            changes.append(change)
        if changes:
            values = {k: sa.bindparam(k) for k in changes[0] if k != "rid"}
            bind.execute(table.update().where(table.c.id == sa.bindparam("rid")).values(values), changes)
    with op.batch_alter_table("audit_chain", schema=None) as batch_op:
        batch_op.drop_column("legacy_seq")
