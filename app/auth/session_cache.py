"""The signed-in user without a query on every request.

Each request needs the user (to check the session version, the account being active, the role).
The user's row is kept per process under the ``USER`` change token of ``app/change_tokens.py``:

- any change to a ``user`` row — logout and password change (the session version), deactivation,
  a role or scope edit, a login's ``last_login_at`` — flushed through the ORM, or a bulk
  UPDATE/DELETE on the table, writes a new random ``user_version`` into the ``setting`` table in
  the same transaction and, once committed, new bytes into the host's change-token file;
- every request reads the token — from the mapped file, no query — before it reads the row; a
  kept row is used only under the token it was read with, so a change made by any worker or by
  the command line ends old sessions at the next request, as when the row was read every time.
  With ``TOKEN_STORE=database`` (several hosts) the token is read from the database: one query.

A trivial signed-in request therefore runs no query at all while no user changed; the idle and
absolute timeouts live in the signed session cookie (``app/auth/routes.py``) and need none.
"""

from __future__ import annotations

import secrets
from typing import Any

from flask import current_app, g, has_request_context
from sqlalchemy import event, insert, update
from sqlalchemy.orm import Session, make_transient_to_detached
from sqlalchemy.orm.base import manager_of_class
from sqlalchemy.orm.util import identity_key

from app import change_tokens
from app.auth.models import User
from app.extensions import db
from app.timeutil import utcnow

USER_VERSION_KEY = change_tokens.USER
STORE = "linli_users"
LIMIT = 4096
_COLUMNS = tuple(column.key for column in User.__table__.columns)


def get_user(user_id: int) -> User | None:
    """The user ``user_id`` in this request's session: from the process's copy while the
    user-version token is unchanged, else read (and kept)."""
    token = change_tokens.current(USER_VERSION_KEY)  # before the row
    store: dict[int, tuple[str, dict[str, Any]]] = current_app.extensions.setdefault(STORE, {})
    kept = store.get(user_id)
    if kept is not None and kept[0] == token:
        started = db.session.registry.has()
        if started:
            present = db.session.identity_map.get(identity_key(User, user_id))
            if present is not None:
                return present
        # As a query would load it: the values straight into the instance (no attribute
        # events, a quarter of User(**values)), then persistent and clean, without a query.
        copy = manager_of_class(User).new_instance()
        copy.__dict__.update(kept[1])
        make_transient_to_detached(copy)
        if started:
            db.session.add(copy)
        else:
            # Joins the request's session when that session first begins (below), so a
            # request that never touches the database never builds one.
            g._signed_in_copy = copy
        return copy
    user = db.session.get(User, user_id)
    if user is None:
        return None
    if len(store) >= LIMIT:
        store.clear()
    store[user_id] = (token, {key: getattr(user, key) for key in _COLUMNS})
    return user


def _renew(session: Session) -> None:
    from app.settings.models import Setting

    table = Setting.__table__
    token = secrets.token_hex(8)
    bumped = session.execute(
        update(table)
        .where(table.c.key == USER_VERSION_KEY)
        .values(value=token, updated_at=utcnow())
    )
    if bumped.rowcount == 0:
        session.execute(
            insert(table).values(key=USER_VERSION_KEY, value=token, updated_at=utcnow())
        )
    change_tokens.changed(session, USER_VERSION_KEY)
    change_tokens.forget()


@event.listens_for(Session, "after_transaction_create")
def _attach_signed_in_copy(session: Session, transaction) -> None:  # noqa: ANN001
    """The kept user joins the request's session as its first transaction begins: before any
    query runs in it, so a query for that user finds this very object, and a change made to
    it before is flushed as if it had been attached all along."""
    if transaction.parent is not None or not has_request_context():
        return
    copy = g.get("_signed_in_copy")
    if copy is None or not db.session.registry.has() or db.session.registry() is not session:
        return
    del g._signed_in_copy
    session.add(copy)


@event.listens_for(Session, "after_flush")
def _user_changed(session: Session, flush_context) -> None:  # noqa: ANN001
    if any(isinstance(obj, User) for obj in (*session.new, *session.dirty, *session.deleted)):
        _renew(session)


@event.listens_for(Session, "do_orm_execute")
def _users_bulk_written(state) -> None:  # noqa: ANN001
    if state.is_update or state.is_delete or state.is_insert:
        table = getattr(state.statement, "table", None)
        if getattr(table, "name", None) == User.__tablename__:
            _renew(state.session)
