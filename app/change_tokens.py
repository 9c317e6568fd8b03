"""Change tokens every worker process on this host reads without a query.

Each worker process keeps two things that any change, made in any process, must end at once:
the signed-in users' rows (``app/auth/session_cache.py``: logout, a password change,
deactivation, a role change end old sessions at the next request) and the computed figures of
``app/cache.py`` (scopes, filter choices, counters). Each has a *change token*, ``USER`` and
``DATA``; a kept value is used only under the token it was kept with.

Where the tokens live:

- **In the database** (``setting`` rows ``user_version`` and ``data_version``). Every flush that
  changes a user (or any data) writes a new random token in the same transaction, so the
  database always holds the truth; reading it costs one query per request.
- **In a small file mapped into memory** (``TOKEN_FILE``, default ``instance/change-tokens``,
  one 8-byte slot per token). After a transaction that changed users or data commits, the
  committing process writes fresh random bytes into the slot — before its request answers.
  Every process on the host maps the same file (one page of the page cache), so the next
  request in any worker sees the new bytes; reading them is a memory read: no query, no system
  call. ``flask`` commands commit through the same ORM and write the slot too; a restore
  (``flask backup restore``) writes both.

Why a kept value is never stale: a request reads the slot *before* it reads what it keeps (the
user's row, a figure), and a change writes the slot only *after* its commit, so a value kept
under some slot bytes is at least as new as the change that wrote them. This needs statement
snapshots — PostgreSQL's READ COMMITTED, SQLite reading outside a write transaction — the
defaults here. Random bytes, not a counter: two changes written at once can never leave the
value an earlier reader saw.

Safety nets:

- a transaction that has changed users (or data) and is not committed yet reads the database
  token inside itself instead (as before), so what it reads of its own uncommitted changes is
  never kept under the file's token, and is lost with a rollback;
- every ``TOKEN_RECHECK_SECONDS`` (5 s) each process reads the database tokens once more and
  adds them to its key: a change the file did not hear of (made on another host or from
  another instance folder, or the file deleted and created again, which is also noticed then)
  is seen within that time rather than never;
- ``TOKEN_STORE=database``: no file; every request reads both database tokens in one query.
  Use it when the application runs on more than one host against one database (a file is
  shared only by the processes of one host);
- a file that cannot be created or mapped falls back to the database (logged once).

A change made outside the application (SQL typed by hand) is seen at the next change made
through it, or after a restart.
"""

from __future__ import annotations

import logging
import mmap
import os
import secrets
import time
from pathlib import Path

from flask import Flask, current_app, g, has_app_context, has_request_context
from sqlalchemy import event, select
from sqlalchemy.orm import Session

from app.extensions import db

USER = "user_version"
DATA = "data_version"
_SLOTS = {USER: 0, DATA: 8}
SIZE = 64
_PENDING = "linli_pending_tokens"  # session.info: tokens changed by the open transaction
_STATE = "linli_change_tokens"
logger = logging.getLogger(__name__)


class TokenFile:
    """One 8-byte slot per token in a small file mapped into memory (shared by the host)."""

    def __init__(self, path: Path):
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            if os.fstat(fd).st_size < SIZE:
                os.ftruncate(fd, SIZE)  # zeros; never shrinks a file others have mapped
            self._map = mmap.mmap(fd, SIZE)
            self.inode = os.fstat(fd).st_ino
        finally:
            os.close(fd)
        self.path = path

    def read(self, name: str) -> bytes:
        start = _SLOTS[name]
        return self._map[start : start + 8]

    def bump(self, name: str) -> None:
        start = _SLOTS[name]
        self._map[start : start + 8] = secrets.token_bytes(8)

    def replaced(self) -> bool:
        """The path no longer names the mapped file (deleted, or created again)."""
        try:
            return os.stat(self.path).st_ino != self.inode
        except OSError:
            return True


_FILES: dict[str, TokenFile] = {}  # one mapping per path and process


def _open(path: Path, again: bool = False) -> TokenFile | None:
    key = str(path)
    if again or key not in _FILES:
        try:
            _FILES[key] = TokenFile(path)
        except (OSError, ValueError) as exc:
            logger.warning(
                "change-token file %s unusable (%s): tokens are read from the database", path, exc
            )
            return None
    return _FILES[key]


class _State:
    """One application's view: its token file (or None: database) and the last recheck."""

    def __init__(self, app: Flask):
        store = app.config.get("TOKEN_STORE") or "file"
        if store not in {"file", "database"}:
            raise RuntimeError(f"TOKEN_STORE must be file or database, not {store!r}")
        self.path = Path(app.config.get("TOKEN_FILE") or Path(app.instance_path) / "change-tokens")
        self.file = None if store == "database" else _open(self.path)
        self.recheck = float(app.config.get("TOKEN_RECHECK_SECONDS") or 0)
        self.checked_at = time.monotonic()
        self.db_tokens: dict[str, str] = {}


def _state(app: Flask | None = None) -> _State:
    app = app or current_app
    state = app.extensions.get(_STATE)
    if state is None:
        state = app.extensions[_STATE] = _State(app)
    return state


def uses_file(app: Flask | None = None) -> bool:
    return _state(app).file is not None


def _read_database() -> dict[str, str]:
    from app.settings.models import Setting

    rows = dict(
        db.session.execute(
            select(Setting.key, Setting.value).where(Setting.key.in_((USER, DATA)))
        ).all()
    )
    return {name: str(rows.get(name) or "") for name in (USER, DATA)}


def database_tokens() -> dict[str, str]:
    """Both database tokens, read in one query once per request (again after a change)."""
    if has_request_context() and "_db_tokens" in g:
        return g._db_tokens
    tokens = _read_database()
    if has_request_context():
        g._db_tokens = tokens
    return tokens


def forget() -> None:
    """This request reads the database tokens again (after a change it made)."""
    if has_request_context():
        g.pop("_db_tokens", None)


def current(name: str) -> str:
    """The key under which values guarded by ``name`` (USER or DATA) are kept and found now.

    Read it before reading what it guards."""
    state = _state()
    if state.file is None or (
        db.session.registry.has() and name in db.session().info.get(_PENDING, ())
    ):
        return "db:" + database_tokens()[name]
    if state.recheck and time.monotonic() - state.checked_at >= state.recheck:
        _recheck(state)
    return state.file.read(name).hex() + state.db_tokens.get(name, "")


def _recheck(state: _State) -> None:
    state.checked_at = time.monotonic()
    state.db_tokens = _read_database()
    if state.file is not None and state.file.replaced():
        state.file = _open(state.path, again=True)


def changed(session: Session, name: str) -> None:
    """``session``'s open transaction changed what ``name`` guards: the token's slot is written
    after the commit (and this transaction reads the database token until then)."""
    session.info.setdefault(_PENDING, set()).add(name)


def bump(*names: str) -> None:
    """Write new bytes into the slots now (after a commit, or a change made outside the ORM)."""
    if has_app_context():
        state = _state()
        files = [state.file] if state.file is not None else []
    else:
        files = list(_FILES.values())
    for token_file in files:
        for name in names or tuple(_SLOTS):
            token_file.bump(name)


@event.listens_for(Session, "after_commit")
def _after_commit(session: Session) -> None:
    # Also after a savepoint is released (one bump too many is harmless; the real commit
    # bumps again): the pending names are only dropped when the whole transaction ends.
    pending = session.info.get(_PENDING)
    if pending:
        bump(*pending)


@event.listens_for(Session, "after_transaction_end")
def _after_transaction_end(session: Session, transaction) -> None:  # noqa: ANN001
    if transaction.parent is None:
        session.info.pop(_PENDING, None)
