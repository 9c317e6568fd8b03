"""Rate-limit counters shared by every worker process (SPEC §12: login throttled per IP).

Flask-Limiter keeps its counters in a ``limits`` storage. The in-memory one is per process, so
with gunicorn's ``-w 4`` a limit of 30 per minute let 120 through. ``storage_uri`` picks a
shared one when the app is created:

* ``REDIS_URL`` set: Redis (the ``redis`` client is the ``production`` extra);
* otherwise the app's own database, through :class:`DatabaseStorage` (``linli-db://``), a
  fixed-window counter per key in the table ``rate_limit_counter``;
* an in-memory SQLite database (the test suite) cannot be shared, so it keeps ``memory://``.

``RATELIMIT_STORAGE_URI``, when configured, wins over both.

Each count is one atomic ``INSERT .. ON CONFLICT DO UPDATE .. RETURNING`` in its own short
transaction on its own pooled connection: it never commits or rolls back the request's session
(app/uow.py does that once per request), so a 429 neither loses nor commits anybody's work, and
the counter stays counted whatever the request does afterwards. Expired rows are deleted at
most once a minute per process, in the same transaction as a count.
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections.abc import Callable

from flask import Flask, has_app_context
from flask_limiter import Limiter
from limits.storage import Storage
from sqlalchemy import Float, Integer, String, case, delete, func, select, text
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Mapped, mapped_column

from app.extensions import db

SCHEME = "linli-db"
KEY_LENGTH = 255
SWEEP_EVERY = 60.0  # seconds between two deletions of expired rows (per process)


class RateLimitCounter(db.Model):
    """One fixed window of one limit key: how many hits, and when the window ends."""

    __tablename__ = "rate_limit_counter"

    key: Mapped[str] = mapped_column(String(KEY_LENGTH), primary_key=True)
    count: Mapped[int] = mapped_column(Integer, nullable=False)
    # Seconds since the epoch (the storage API speaks in epoch seconds).
    expires_at: Mapped[float] = mapped_column(Float, nullable=False, index=True)


def _stored_key(key: str) -> str:
    """Flask-Limiter's key (prefix/address/endpoint/limit); a long one is hashed to fit."""
    if len(key) <= KEY_LENGTH:
        return key
    return "sha256:" + hashlib.sha256(key.encode()).hexdigest()


class DatabaseStorage(Storage):
    """A ``limits`` storage for the fixed-window strategy on SQLite or PostgreSQL.

    The engine is the current app's (``db.engine``) unless one is given, so the one limiter
    object serves whichever app handles the request.
    """

    STORAGE_SCHEME = [SCHEME]

    def __init__(
        self,
        uri: str | None = None,
        wrap_exceptions: bool = False,
        engine: Engine | None = None,
        clock: Callable[[], float] = time.time,
        **options: float | str | bool,
    ) -> None:
        super().__init__(uri, wrap_exceptions=wrap_exceptions, **options)
        self._engine = engine
        self.clock = clock
        self._next_sweep = 0.0
        self._sweep_lock = threading.Lock()

    @property
    def base_exceptions(self) -> type[Exception] | tuple[type[Exception], ...]:
        return SQLAlchemyError

    @property
    def engine(self) -> Engine:
        if self._engine is not None:
            return self._engine
        if not has_app_context():
            raise RuntimeError("DatabaseStorage needs an engine or an application context")
        return db.engine

    def _due_for_sweep(self, now: float) -> bool:
        with self._sweep_lock:
            if now < self._next_sweep:
                return False
            self._next_sweep = now + SWEEP_EVERY
            return True

    def incr(self, key: str, expiry: int, amount: int = 1) -> int:
        now = self.clock()
        table = RateLimitCounter.__table__
        engine = self.engine
        insert = (postgresql if engine.dialect.name == "postgresql" else sqlite).insert
        stmt = insert(table).values(key=_stored_key(key), count=amount, expires_at=now + expiry)
        expired = table.c.expires_at <= now
        stmt = stmt.on_conflict_do_update(
            index_elements=[table.c.key],
            set_={
                "count": case((expired, amount), else_=table.c.count + amount),
                "expires_at": case((expired, now + expiry), else_=table.c.expires_at),
            },
        ).returning(table.c.count)
        with engine.begin() as conn:
            count = conn.execute(stmt).scalar_one()
            if self._due_for_sweep(now):
                conn.execute(delete(table).where(table.c.expires_at <= now))
        return count

    def _live_row(self, key: str):  # noqa: ANN202
        table = RateLimitCounter.__table__
        query = select(table.c.count, table.c.expires_at).where(
            table.c.key == _stored_key(key), table.c.expires_at > self.clock()
        )
        with self.engine.connect() as conn:
            return conn.execute(query).first()

    def get(self, key: str) -> int:
        row = self._live_row(key)
        return row.count if row else 0

    def get_expiry(self, key: str) -> float:
        row = self._live_row(key)
        return row.expires_at if row else self.clock()

    def check(self) -> bool:
        try:
            with self.engine.connect() as conn:
                conn.execute(text("SELECT 1"))
        except SQLAlchemyError:
            return False
        return True

    def reset(self) -> int | None:
        table = RateLimitCounter.__table__
        with self.engine.begin() as conn:
            number = conn.execute(select(func.count()).select_from(table)).scalar_one()
            conn.execute(delete(table))
        return number

    def clear(self, key: str) -> None:
        table = RateLimitCounter.__table__
        with self.engine.begin() as conn:
            conn.execute(delete(table).where(table.c.key == _stored_key(key)))


def drop_idle_request_hook(app: Flask, limiter: Limiter) -> None:
    """Remove Flask-Limiter's before-request check when it has nothing to check.

    Every limit in Linli decorates its view (login, registration, verification), and the
    decorator checks it when the view runs. The extension's before-request hook serves only
    default, application and blueprint-wide limits; with none of those it still resolves and
    filters limits on every request, about a fifth of a signed-in redirect's cost. It stays
    whenever such a limit exists, so adding one later keeps working.
    """
    manager = limiter.limit_manager  # the groups as declared, not evaluated (no request here)
    if manager._default_limits or manager._application_limits or manager._blueprint_limits:
        return
    for table in (app.before_request_funcs, app.teardown_request_funcs):
        # The teardown only resets the limiter's state kept on the request context, which
        # ends with the request anyway (and builds that state first when no limit made it).
        table[None] = [
            hook for hook in table.get(None, []) if getattr(hook, "__self__", None) is not limiter
        ]
    # Its after-request hook writes X-RateLimit headers (off here) and applies deduct_when
    # conditions (none here); the decorated limits count in the view.
    if not app.config.get("RATELIMIT_HEADERS_ENABLED"):
        hooks = app.after_request_funcs.get(None, [])
        app.after_request_funcs[None] = [
            hook for hook in hooks if getattr(hook, "args", ())[:1] != (limiter,)
        ]


def storage_uri(app: Flask) -> str:
    """Where the app's rate-limit counters live (see the module docstring)."""
    if app.config.get("RATELIMIT_STORAGE_URI"):
        return app.config["RATELIMIT_STORAGE_URI"]
    if app.config.get("REDIS_URL"):
        return app.config["REDIS_URL"]
    url = make_url(app.config["SQLALCHEMY_DATABASE_URI"])
    if url.get_backend_name() == "sqlite" and (
        url.database in (None, "", ":memory:") or url.query.get("mode") == "memory"
    ):
        return "memory://"
    return f"{SCHEME}://"
