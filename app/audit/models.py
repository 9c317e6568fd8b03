"""Append-only audit log."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, FetchedValue, ForeignKey, Index, Integer, String, event
from sqlalchemy.orm import Mapped, Session, mapped_column

from app.extensions import db
from app.timeutil import utcnow


class AuditEntry(db.Model):
    __tablename__ = "audit_entry"

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"), index=True)
    username: Mapped[str | None] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(64), index=True)
    object_type: Mapped[str | None] = mapped_column(String(32))
    object_id: Mapped[str | None] = mapped_column(String(64))
    result: Mapped[str] = mapped_column(String(16), default="ok")
    before: Mapped[dict | None] = mapped_column(JSON)
    after: Mapped[dict | None] = mapped_column(JSON)
    detail: Mapped[str | None] = mapped_column(String(500))
    ip: Mapped[str | None] = mapped_column(String(64))
    # The hash chain (app/audit/chain.py); NULL on rows written before it started. Left out
    # of an INSERT that does not set them (FetchedValue), so a database of an older schema
    # (a backup being taken or restored) still takes audit rows.
    seq: Mapped[int | None] = mapped_column(server_default=FetchedValue())
    prev_hash: Mapped[str | None] = mapped_column(String(64), server_default=FetchedValue())
    row_hash: Mapped[str | None] = mapped_column(String(64), server_default=FetchedValue())

    # Never fetch the chain columns back after an INSERT (see above).
    __mapper_args__ = {"eager_defaults": False}
    __table_args__ = (
        Index("ix_audit_entry_object", "object_type", "object_id"),
        Index("ix_audit_entry_seq", "seq", unique=True),
    )


GENESIS = "0" * 64


class AuditChain(db.Model):
    """The chain's head: one row (id 1)."""

    __tablename__ = "audit_chain"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    seq: Mapped[int] = mapped_column(Integer, default=0)
    last_hash: Mapped[str] = mapped_column(String(64), default=GENESIS)
    # Rows up to this seq were chained with the key derivation before 0015_keys (SHA-256);
    # later rows with the HKDF sub-key. Server default only, so an INSERT leaves it out.
    legacy_seq: Mapped[int] = mapped_column(Integer, server_default="0")


class AuditImmutableError(RuntimeError):
    pass


@event.listens_for(AuditEntry, "before_update")
def _refuse_update(mapper, connection, target):  # noqa: ANN001
    raise AuditImmutableError("audit entries cannot be changed")


@event.listens_for(AuditEntry, "before_delete")
def _refuse_delete(mapper, connection, target):  # noqa: ANN001
    raise AuditImmutableError("audit entries cannot be deleted")


# Database-level guard: triggers refuse UPDATE and DELETE on audit rows on both engines.
SQLITE_TRIGGERS = [
    "CREATE TRIGGER audit_entry_no_update BEFORE UPDATE ON audit_entry "
    "BEGIN SELECT RAISE(ABORT, 'audit entries are append-only'); END",
    "CREATE TRIGGER audit_entry_no_delete BEFORE DELETE ON audit_entry "
    "BEGIN SELECT RAISE(ABORT, 'audit entries are append-only'); END",
]
POSTGRES_TRIGGERS = [
    "CREATE OR REPLACE FUNCTION audit_entry_append_only() RETURNS trigger AS $$ "
    "BEGIN RAISE EXCEPTION 'audit entries are append-only'; END; $$ LANGUAGE plpgsql",
    "CREATE TRIGGER audit_entry_no_change BEFORE UPDATE OR DELETE ON audit_entry "
    "FOR EACH ROW EXECUTE FUNCTION audit_entry_append_only()",
]


def append_only_ddl(dialect_name: str) -> list[str]:
    return POSTGRES_TRIGGERS if dialect_name == "postgresql" else SQLITE_TRIGGERS


@event.listens_for(AuditEntry.__table__, "after_create")
def _create_triggers(target, connection, **kw):  # noqa: ANN001
    for statement in append_only_ddl(connection.dialect.name):
        connection.exec_driver_sql(statement)


@event.listens_for(Session, "do_orm_execute")
def _refuse_bulk_changes(state):  # noqa: ANN001
    if (state.is_update or state.is_delete) and any(
        getattr(mapper, "class_", None) is AuditEntry for mapper in state.all_mappers
    ):
        raise AuditImmutableError("audit entries cannot be changed")
