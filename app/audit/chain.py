"""The audit log's hash chain: tampering that the append-only triggers cannot stop (someone who
can write the database drops the trigger and edits or deletes rows) becomes visible.

Each audit row written since the chain started carries ``seq`` (1, 2, 3 … without gaps),
``prev_hash`` (the previous row's ``row_hash``) and ``row_hash`` = HMAC-SHA256 over
``prev_hash`` and the row's content, keyed with a key derived from ``DATA_KEY`` (so a row cannot
be re-hashed without the application's key): the HKDF sub-key ``audit-chain``; rows up to
``audit_chain.legacy_seq`` (written before migration 0015_keys) verify with the old SHA-256
derivation of the same key, so upgrading rewrites no audit row. The head (last seq and hash) lives in the one row
of ``audit_chain``; rows are chained at flush time while that row is locked, so concurrent
writers append one after the other. ``verify()`` walks the chain and reports the first broken
link; ``flask audit verify`` and the admin audit page show the result.

Rows written before the chain started (``seq`` NULL) are not covered; the README says so.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, event, func, inspect, select, text
from sqlalchemy.orm import Session

from app.audit.models import GENESIS, AuditChain, AuditEntry
from app.extensions import db
from app.timeutil import utcnow

BATCH = 2000


def _key() -> bytes:
    from app.crypto import AUDIT_CHAIN, derived_key

    return derived_key(AUDIT_CHAIN)


def _legacy_key() -> bytes:
    from app.crypto import AUDIT_CHAIN, derived_legacy_key

    return derived_legacy_key(AUDIT_CHAIN)


def _canonical(entry: Any) -> bytes:
    at = entry.at.isoformat(timespec="microseconds") if entry.at else ""
    content = [
        entry.seq,
        at,
        entry.user_id,
        entry.username,
        entry.action,
        entry.object_type,
        entry.object_id,
        entry.result,
        entry.before,
        entry.after,
        entry.detail,
        entry.ip,
    ]
    return json.dumps(content, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode()


def row_hash(key: bytes, prev_hash: str, entry: Any) -> str:
    return hmac.new(key, prev_hash.encode() + b"\n" + _canonical(entry), hashlib.sha256).hexdigest()


_READY: set[str] = set()


def _chain_ready(session: Session) -> bool:
    """Whether this database has the chain (a backup taken of an older schema has not: its
    rows are written unchained, as before the chain started)."""
    connection = session.connection()
    key = connection.engine.url.render_as_string(hide_password=False)
    if key in _READY:
        return True
    inspector = inspect(connection)
    ready = inspector.has_table("audit_chain") and "seq" in {
        c["name"] for c in inspector.get_columns("audit_entry")
    }
    if ready:
        _READY.add(key)
    return ready


@event.listens_for(Session, "before_flush")
def _chain_new_entries(session: Session, flush_context, instances) -> None:  # noqa: ANN001
    entries = [obj for obj in session.new if isinstance(obj, AuditEntry) and obj.seq is None]
    if not entries or not _chain_ready(session):
        return
    entries.sort(key=lambda e: getattr(e, "_order", 0))
    for entry in entries:
        if entry.at is None:
            entry.at = utcnow()
    table = AuditChain.__table__
    # Claim the sequence numbers first: the UPDATE locks the head row (PostgreSQL) or takes the
    # write lock (SQLite) until this transaction ends, so chains never fork.
    claimed = session.execute(
        table.update()
        .where(table.c.id == 1)
        .values(seq=table.c.seq + len(entries))
        .returning(table.c.seq, table.c.last_hash)
    ).first()
    if claimed is None:
        session.execute(table.insert().values(id=1, seq=len(entries), last_hash=GENESIS))
        claimed = (len(entries), GENESIS)
    last_seq, prev = claimed
    key = _key()
    for number, entry in enumerate(entries, start=last_seq - len(entries) + 1):
        entry.seq = number
        entry.prev_hash = prev
        entry.row_hash = prev = row_hash(key, prev, entry)
    session.execute(table.update().where(table.c.id == 1).values(last_hash=prev))


@dataclass
class Verification:
    ok: bool
    checked: int
    last_seq: int
    unchained: int  # rows from before the chain started
    broken_seq: int | None = None
    broken_id: int | None = None
    reason: str = ""
    at: datetime | None = None

    def summary(self) -> str:
        if self.ok:
            return f"审计链完整：已校验 {self.checked} 条记录（链首之前的 {self.unchained} 条不在链中）"
        where = f"第 {self.broken_seq} 条" if self.broken_seq else "链尾"
        return f"审计链被破坏：{where}（记录号 {self.broken_id or '—'}）{self.reason}"


def verify() -> Verification:
    """Walk the chain in order; the first row whose link or content does not match is reported."""
    key, legacy = _key(), _legacy_key()
    head = db.session.execute(
        select(AuditChain.seq, AuditChain.last_hash, AuditChain.legacy_seq)
    ).first()
    head_seq, head_hash, legacy_seq = head if head else (0, GENESIS, 0)
    unchained = db.session.execute(
        select(func.count()).select_from(AuditEntry).where(AuditEntry.seq.is_(None))
    ).scalar_one()
    prev, expected, checked, last_id = GENESIS, 1, 0, None
    columns = [c for c in AuditEntry.__table__.c]
    while True:
        rows = db.session.execute(
            select(*columns).where(AuditEntry.seq >= expected).order_by(AuditEntry.seq).limit(BATCH)
        ).all()
        if not rows:
            break
        for entry in rows:
            if entry.seq != expected:
                return Verification(
                    False,
                    checked,
                    head_seq,
                    unchained,
                    expected,
                    None,
                    f"缺少第 {expected} 条（已被删除）",
                )
            if entry.prev_hash != prev:
                return Verification(
                    False, checked, head_seq, unchained, entry.seq, entry.id, "与上一条的链接不符"
                )
            row_key = legacy if entry.seq <= (legacy_seq or 0) else key
            if not hmac.compare_digest(entry.row_hash or "", row_hash(row_key, prev, entry)):
                return Verification(
                    False, checked, head_seq, unchained, entry.seq, entry.id, "内容已被改动"
                )
            prev, expected, checked, last_id = entry.row_hash, expected + 1, checked + 1, entry.id
    if checked != head_seq or prev != head_hash:
        return Verification(
            False,
            checked,
            head_seq,
            unchained,
            None,
            last_id,
            f"链尾记录缺失（链首记载 {head_seq} 条，实有 {checked} 条）",
        )
    return Verification(True, checked, head_seq, unchained)


class ChainBroken(RuntimeError):
    pass


def rechain(candidates: list[bytes]) -> int:
    """Re-hash every chained row with the current key (key rotation, ``flask keys rotate``).

    Each row is first checked against ``candidates`` (the old and current keys, either
    derivation): a missing row, a broken link or a row no candidate key matches raises
    ``ChainBroken`` and the caller rolls back, so a tampered row is never re-hashed into a
    valid chain. The append-only triggers are lifted for this transaction only.
    """
    session = db.session.connection()  # plain statements: the ORM refuses audit updates
    dialect = session.dialect.name
    table = AuditChain.__table__
    head = session.execute(
        table.update()
        .where(table.c.id == 1)
        .values(seq=table.c.seq)  # lock the head: no row is appended meanwhile
        .returning(table.c.seq, table.c.last_hash)
    ).first()
    if head is None:
        return 0
    head_seq, head_hash = head
    key = _key()
    entries = AuditEntry.__table__
    columns = list(entries.c)
    for sql in disable_append_only_sql(dialect):
        session.execute(text(sql))
    old_prev = new_prev = GENESIS
    expected = 1
    while True:
        rows = session.execute(
            select(*columns).where(entries.c.seq >= expected).order_by(entries.c.seq).limit(BATCH)
        ).all()
        if not rows:
            break
        changes = []
        for entry in rows:
            if entry.seq != expected or entry.prev_hash != old_prev:
                raise ChainBroken(f"audit chain broken at seq {expected}")
            if not any(
                hmac.compare_digest(entry.row_hash or "", row_hash(k, old_prev, entry))
                for k in candidates
            ):
                raise ChainBroken(f"audit row seq {entry.seq} (id {entry.id}) was changed")
            new_hash = row_hash(key, new_prev, entry)
            changes.append({"rid": entry.id, "prev_hash": new_prev, "row_hash": new_hash})
            old_prev, new_prev, expected = entry.row_hash, new_hash, expected + 1
        session.execute(
            entries.update()
            .where(entries.c.id == bindparam("rid"))
            .values(prev_hash=bindparam("prev_hash"), row_hash=bindparam("row_hash")),
            changes,
        )
    if expected - 1 != head_seq or old_prev != head_hash:
        raise ChainBroken(f"audit chain tail missing (head says {head_seq}, found {expected - 1})")
    for sql in enable_append_only_sql(dialect):
        session.execute(text(sql))
    session.execute(table.update().where(table.c.id == 1).values(last_hash=new_prev, legacy_seq=0))
    return head_seq


def append_row(connection, values: dict[str, Any]) -> None:  # noqa: ANN001
    """Append one chained audit row through a plain connection (migrations)."""
    from types import SimpleNamespace

    table = AuditChain.__table__
    claimed = connection.execute(
        table.update()
        .where(table.c.id == 1)
        .values(seq=table.c.seq + 1)
        .returning(table.c.seq, table.c.last_hash)
    ).first()
    if claimed is None:
        connection.execute(table.insert().values(id=1, seq=1, last_hash=GENESIS))
        claimed = (1, GENESIS)
    seq, prev = claimed
    row = {name: values.get(name) for name in (c.name for c in AuditEntry.__table__.c)}
    row.pop("id")
    row.update(seq=seq, prev_hash=prev)
    row["row_hash"] = row_hash(_key(), prev, SimpleNamespace(**row))
    connection.execute(AuditEntry.__table__.insert().values(**row))
    connection.execute(table.update().where(table.c.id == 1).values(last_hash=row["row_hash"]))


def disable_append_only_sql(dialect: str) -> list[str]:
    """For tests and the one-time redaction migration only."""
    if dialect == "postgresql":
        return ["ALTER TABLE audit_entry DISABLE TRIGGER audit_entry_no_change"]
    return ["DROP TRIGGER audit_entry_no_update", "DROP TRIGGER audit_entry_no_delete"]


def enable_append_only_sql(dialect: str) -> list[str]:
    from app.audit.models import append_only_ddl

    if dialect == "postgresql":
        return ["ALTER TABLE audit_entry ENABLE TRIGGER audit_entry_no_change"]
    return append_only_ddl(dialect)


STATE_KEY = "audit_chain_verified"


def remember(result: Verification) -> None:
    """Keep the latest verification for the audit page (a row in ``setting``)."""
    from app.settings import Setting
    from app.timeutil import utcnow

    value = {
        "ok": result.ok,
        "checked": result.checked,
        "summary": result.summary(),
        "at": utcnow().isoformat(timespec="seconds"),
    }
    row = db.session.get(Setting, STATE_KEY)
    if row is None:
        db.session.add(Setting(key=STATE_KEY, value=value))
    else:
        row.value = value


def last_verification() -> dict | None:
    from app.settings import Setting

    row = db.session.get(Setting, STATE_KEY)
    return row.value if row is not None else None
