"""The one cache for computed figures, keyed by one data-version token.

Any change to the data (a flush of any model except the audit log, user accounts and print-job
progress, or a bulk INSERT/UPDATE/DELETE statement on such a table) writes a new random token
into the ``setting`` table and, once committed, into the host's change-token file
(``app/change_tokens.py``), so every worker process sees it on its next request — without a
query — and its cached figures (scopes, filter choices, counters, dashboards) are recomputed.
(A random token rather than a counter: two concurrent changes can never leave the same value
behind.)
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Hashable
from typing import Any, TypeVar

from flask import current_app, g, has_request_context
from sqlalchemy import event, insert, update
from sqlalchemy.orm import Session

from app import change_tokens
from app.timeutil import utcnow

VERSION_KEY = change_tokens.DATA
CACHE_LIMIT = 4096
T = TypeVar("T")

# Changes to these do not change any cached figure.
_QUIET_TABLES = frozenset({"audit_entry", "user", "print_job"})


def data_version() -> str:
    """The current token (read before what it guards; a change made by this request, until
    committed, makes it the database's token as this transaction sees it)."""
    return change_tokens.current(VERSION_KEY)


def cached(name: str, key: Hashable, compute: Callable[[], T]) -> T:
    """``compute()`` once per (name, key) and data version, per application and process."""
    if not has_request_context():
        return compute()
    store: dict[Any, Any] = current_app.extensions.setdefault("linli_cache", {})
    full_key = (name, key, data_version())
    try:
        return store[full_key]
    except KeyError:
        pass
    value = compute()
    if len(store) >= CACHE_LIMIT:
        store.clear()
    store[full_key] = value
    return value


def forget() -> None:
    """This request reads the token again (after a change it made)."""
    change_tokens.forget()
    if has_request_context():
        g.pop("_scopes", None)


def _renew(session: Session) -> None:
    """Write a new token in the session's transaction."""
    from app.settings import Setting

    table = Setting.__table__
    token = secrets.token_hex(8)
    bumped = session.execute(
        update(table).where(table.c.key == VERSION_KEY).values(value=token, updated_at=utcnow())
    )
    if bumped.rowcount == 0:
        session.execute(insert(table).values(key=VERSION_KEY, value=token, updated_at=utcnow()))
    change_tokens.changed(session, VERSION_KEY)
    forget()


@event.listens_for(Session, "after_flush")
def _bump_version(session: Session, flush_context) -> None:  # noqa: ANN001
    changed = any(
        getattr(obj, "__tablename__", None) not in _QUIET_TABLES
        for obj in (*session.new, *session.dirty, *session.deleted)
    )
    if changed:
        _renew(session)


@event.listens_for(Session, "do_orm_execute")
def _bump_on_bulk_write(state) -> None:  # noqa: ANN001
    """Bulk INSERT/UPDATE/DELETE statements (no objects flushed) renew the token too."""
    if not (state.is_insert or state.is_update or state.is_delete):
        return
    table = getattr(state.statement, "table", None)
    name = getattr(table, "name", None)
    if name in _QUIET_TABLES or name == "setting":
        return
    _renew(state.session)
