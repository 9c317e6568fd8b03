"""Re-keying of the stored ID numbers and of the audit chain.

- Migration 0015_keys moves data written with the old SHA-256 sub-key derivation to the HKDF
  sub-keys of the same configured keys (``rekey_id_numbers``); audit rows are not rewritten
  (``audit_chain.legacy_seq`` marks where the old derivation ends).
- ``flask keys rotate`` changes keys: with the old ``DATA_KEY`` in ``OLD_DATA_KEY`` it opens every
  stored ID number with the old or the new key, encrypts it again and recomputes its look-up
  hashes with the configured keys, checks the audit chain against the old and new keys and
  re-chains it with the new key, and records one audit row. It refuses (and changes nothing)
  when a number cannot be opened or the chain is broken.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

import click
import sqlalchemy as sa
from flask import Blueprint

from app import crypto

BATCH = 1000

_member = sa.table(
    "member",
    sa.column("id", sa.Integer),
    sa.column("id_number_enc", sa.LargeBinary),
    sa.column("id_hash", sa.String),
    sa.column("id_last4_hash", sa.String),
)
_registration = sa.table(
    "registration",
    sa.column("id", sa.Integer),
    sa.column("id_number_enc", sa.LargeBinary),
    sa.column("id_hash", sa.String),
)


@dataclass
class RekeyResult:
    members: int = 0
    registrations: int = 0
    unreadable: list[str] = field(default_factory=list)  # "member 12", "registration 3"

    def as_dict(self) -> dict:
        return {
            "members": self.members,
            "registrations": self.registrations,
            "unreadable": len(self.unreadable),
        }


def data_key_candidates(old_data_keys: list[str] | tuple[str, ...] = ()) -> list[bytes]:
    """Keys that may open a stored number: the current DATA_KEY's sub-key (HKDF, then the old
    derivation), then the same for each old DATA_KEY."""
    keys = [crypto.derived_key(crypto.DATA), crypto.derived_legacy_key(crypto.DATA)]
    for material in old_data_keys:
        keys += [crypto.hkdf_key(material, crypto.DATA), crypto.legacy_key(material, crypto.DATA)]
    return keys


def rekey_id_numbers(connection, old_data_keys: list[str] | tuple[str, ...] = ()) -> RekeyResult:  # noqa: ANN001
    """Encrypt every stored ID number again and recompute its hashes with the current keys.

    A number no candidate key opens is left as it is and listed in ``unreadable``.
    """
    candidates = data_key_candidates(old_data_keys)
    data_key = crypto.derived_key(crypto.DATA)
    hash_key = crypto.derived_key(crypto.ID_HASH)
    result = RekeyResult()
    for table, label in ((_member, "member"), (_registration, "registration")):
        last = 0
        while True:
            rows = connection.execute(
                sa.select(table.c.id, table.c.id_number_enc)
                .where(table.c.id > last)
                .order_by(table.c.id)
                .limit(BATCH)
            ).all()
            if not rows:
                break
            changes = []
            for row in rows:
                if row.id_number_enc is None:
                    continue
                number = crypto.decrypt_with(candidates, bytes(row.id_number_enc))
                if number is None:
                    result.unreadable.append(f"{label} {row.id}")
                    continue
                change = {
                    "rid": row.id,
                    "id_number_enc": crypto.encrypt_with(data_key, number),
                    "id_hash": crypto.hash_with(hash_key, number),
                }
                if label == "member":
                    change["id_last4_hash"] = crypto.hash_with(
                        hash_key, crypto.last4_text(number[-4:])
                    )
                changes.append(change)
            if changes:
                values = {k: sa.bindparam(k) for k in changes[0] if k != "rid"}
                connection.execute(
                    table.update().where(table.c.id == sa.bindparam("rid")).values(values),
                    changes,
                )
            if label == "member":
                result.members += len(changes)
            else:
                result.registrations += len(changes)
            last = rows[-1].id
    return result


bp = Blueprint("keys_cli", __name__, cli_group="keys")


@bp.cli.command("rotate")
def rotate_command() -> None:
    """After changing DATA_KEY and/or ID_HASH_KEY: re-encrypt, re-hash and re-chain.

    Put the previous DATA_KEY in OLD_DATA_KEY (leave it unset when only ID_HASH_KEY changed).
    """
    from app import audit
    from app.audit import chain
    from app.extensions import db

    old = os.environ.get("OLD_DATA_KEY", "")
    old_keys = [old] if old else []
    session = db.session
    try:
        result = rekey_id_numbers(session.connection(), old_keys)
        if result.unreadable:
            raise click.ClickException(
                f"{len(result.unreadable)} stored ID numbers cannot be opened with DATA_KEY"
                f"{' or OLD_DATA_KEY' if old else ''} (first: {result.unreadable[0]}); nothing"
                " was changed / 有身份证号无法用现有或旧的 DATA_KEY 解密，未做任何修改"
            )
        chain_keys = [crypto.derived_key(crypto.AUDIT_CHAIN), chain._legacy_key()]
        for material in old_keys:
            chain_keys += [
                crypto.hkdf_key(material, crypto.AUDIT_CHAIN),
                crypto.legacy_key(material, crypto.AUDIT_CHAIN),
            ]
        try:
            rechained = chain.rechain(chain_keys)
        except chain.ChainBroken as exc:
            raise click.ClickException(
                f"{exc}; nothing was changed / 审计链校验未通过，未做任何修改"
            ) from exc
        audit.record(
            "keys_rotate",
            object_type="system",
            after={**result.as_dict(), "audit_rows_rechained": rechained},
            detail="密钥轮换：身份证号重新加密并重算检索哈希，审计链用新密钥重新链接",
        )
        session.commit()
    except BaseException:
        session.rollback()
        raise
    click.echo(
        f"re-keyed {result.members} members, {result.registrations} registrations; "
        f"re-chained {rechained} audit rows / 已用新密钥重新加密 {result.members} 名党员、"
        f"{result.registrations} 份报到登记，重新链接 {rechained} 条审计记录"
    )
