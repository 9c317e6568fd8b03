"""The one unit of work: a request's changes are committed in one place.

Services change objects, ``flush()`` and raise ``DomainError``; they never commit or roll back.
After a view returns, ``commit_request`` commits when the request wrote something and the
response is a success (< 400); an error response (a 4xx form, a 404, a 500) rolls it back.
A view that must keep its writes on an error answer (the failed-login counter) calls
``keep()``; work that must only happen once the data is committed (enqueueing a job another
process reads) is registered with ``on_commit(callback)``.

CLI commands and background jobs own their transactions and commit themselves.

On PostgreSQL a transaction begins at the first statement that writes or locks, not at the
first read (``begin_at_first_write``) — what Python's SQLite driver does on SQLite. A request
that only reads then costs one round trip per query instead of three (BEGIN, the query,
ROLLBACK). Under READ COMMITTED every statement reads its own snapshot either way, so the reads
see the same data; writes, locks, savepoints and server-side cursors still run inside a
transaction that the commit or rollback above ends.
"""

from __future__ import annotations

import re
import secrets
import time
from collections.abc import Callable
from typing import Any, TypeVar

from flask import Flask, Response, g
from sqlalchemy import event
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from app.extensions import db

_WROTE = "linli_wrote"
T = TypeVar("T")


@event.listens_for(Session, "after_flush")
def _mark_written(session: Session, flush_context) -> None:  # noqa: ANN001
    session.info[_WROTE] = True


@event.listens_for(Session, "after_transaction_end")
def _clear_written(session: Session, transaction) -> None:  # noqa: ANN001
    # Only when the whole transaction ends: a savepoint's end leaves the request's writes
    # (committed with the request) where they are.
    if transaction.parent is None:
        session.info.pop(_WROTE, None)


def keep() -> None:
    """Commit this request's writes even if it answers with an error status."""
    g._uow_keep = True


def on_commit(callback: Callable[[], None]) -> None:
    """Run ``callback`` after this request's changes are committed (not at all on rollback)."""
    g.setdefault("_uow_on_commit", []).append(callback)


def retrying(work: Callable[[], T], attempts: int = 10) -> T:
    """Run ``work`` (the request's numbering write) again when it collides with a concurrent
    request: a unique number taken meanwhile (IntegrityError: only this attempt is undone, in a
    savepoint) or, on SQLite, a snapshot made stale by another writer ("database is locked":
    the request's transaction starts over — call this before the request writes anything else).
    """
    session = db.session()
    for attempt in range(attempts):
        try:
            with session.begin_nested():
                return work()
        except IntegrityError:
            if attempt == attempts - 1:
                raise
        except OperationalError:
            session.rollback()
            if attempt == attempts - 1:
                raise
        time.sleep(0.02 * (attempt + 1) + secrets.randbelow(20) / 1000)
    raise AssertionError("unreachable")


def flush_or_conflict(conflict: Callable[[], Exception]) -> None:
    """Flush; a concurrent save (a version mismatch in the UPDATE: someone saved first)
    raises ``conflict()`` instead (a ``Conflict`` saying what happened)."""
    try:
        db.session.flush()
    except StaleDataError:
        raise conflict() from None


def _has_writes(session: Session) -> bool:
    return bool(session.info.get(_WROTE) or session.new or session.dirty or session.deleted)


def commit_request(response: Response) -> Response:
    if not db.session.registry.has():
        return response  # the request never opened a session (a signed-in redirect, say)
    session = db.session()
    if not _has_writes(session):
        return response
    if response.status_code < 400 or g.get("_uow_keep"):
        session.commit()
        for callback in g.pop("_uow_on_commit", []):
            callback()
    else:
        session.rollback()
    return response


# A statement that only reads: a SELECT that takes no row lock and no advisory lock. Anything
# else (INSERT, UPDATE, DELETE, DDL, SAVEPOINT, WITH …, SELECT … FOR UPDATE) begins a
# transaction first.
_PLAIN_READ = re.compile(r"\s*SELECT\b", re.IGNORECASE)
_LOCKING = re.compile(r"\bFOR\s+(?:NO\s+KEY\s+|KEY\s+)?(?:UPDATE|SHARE)\b|pg_advisory", re.I)


def postgresql_options(app: Flask) -> None:
    """Connections to PostgreSQL start outside a transaction (``begin_at_first_write`` opens
    one when it is needed); the engine's other options are kept."""
    if not str(app.config.get("SQLALCHEMY_DATABASE_URI", "")).startswith("postgresql"):
        return
    options = dict(app.config.get("SQLALCHEMY_ENGINE_OPTIONS") or {})
    options.setdefault("isolation_level", "AUTOCOMMIT")
    app.config["SQLALCHEMY_ENGINE_OPTIONS"] = options


def begin_at_first_write(conn, cursor, statement: str, parameters, context, executemany) -> None:  # noqa: ANN001, ARG001, PLR0913
    """PostgreSQL in autocommit mode: BEGIN before the first statement that is not a plain
    read (and before a server-side cursor, which needs a transaction). The commit or rollback
    that SQLAlchemy then sends ends it (psycopg sends them whenever a transaction is open)."""
    info: Any = getattr(cursor.connection, "info", None)
    if info is None or not hasattr(info, "transaction_status"):
        return  # not psycopg (SQLite begins before a write by itself)
    if info.transaction_status != _IDLE:
        return
    server_side = type(cursor).__name__.endswith("ServerCursor")
    if server_side or not _PLAIN_READ.match(statement) or _LOCKING.search(statement):
        cursor.connection.execute("BEGIN")


try:
    from psycopg.pq import TransactionStatus

    _IDLE = TransactionStatus.IDLE
except ImportError:  # pragma: no cover - psycopg is installed with the application
    _IDLE = None


def init_app(app: Flask) -> None:
    options = app.config.get("SQLALCHEMY_ENGINE_OPTIONS") or {}
    if options.get("isolation_level") == "AUTOCOMMIT" and _IDLE is not None:
        # The application's own engines only: an engine made in true autocommit mode (e.g.
        # to CREATE DATABASE) must not get a BEGIN.
        with app.app_context():
            for engine in db.engines.values():
                event.listen(engine, "before_cursor_execute", begin_at_first_write)
    # Registered first, so it runs after every other after_request hook (Flask runs them in
    # reverse order): headers and the like are set on a response whose data is committed.
    app.after_request_funcs.setdefault(None, []).insert(0, commit_request)
