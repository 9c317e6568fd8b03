"""Login throttling (SPEC §12): a guess is counted before the password is checked.

Two counters per typed username (normalized: trimmed, lower case; stored only as a keyed hash),
both rows of ``login_throttle``:

* per source address: ``LOCKOUT_THRESHOLD`` (5) guesses, then that username is locked for
  ``LOCKOUT_MINUTES`` (30) from that address only — a stranger's five POSTs do not lock the
  secretary out at the office;
* account-wide (``source = "*"``, all addresses together): ``LOGIN_ACCOUNT_THRESHOLD`` (20)
  guesses, then each further guess waits ``LOGIN_ACCOUNT_DELAY_BASE`` seconds, doubling per
  guess up to ``LOGIN_ACCOUNT_DELAY_CAP`` — slow enough to stop guessing from many addresses,
  never a long lock of the real user.

A guess is *reserved* by one atomic upsert (``INSERT … ON CONFLICT DO UPDATE … WHERE failures <
limit RETURNING failures``) before the password is evaluated, and the lock is decided on the
returned count, so a burst of simultaneous requests gets at most 5 evaluations however many
workers answer it. A request that cannot reserve a guess is answered without checking the
password. A successful login clears both counters; counters are forgotten after a quiet period.

The counters are keyed by the typed string, not the account, so an unknown username behaves
exactly like a known one (same answers, same lock) and login does not tell which exist.

Reservations run in their own short transaction, committed at once: the row lock (PostgreSQL) or
write lock (SQLite) is held for one statement, not through the password hash and the rest of the
request, and a guess stays counted whatever happens to the request afterwards.
"""

from __future__ import annotations

import hmac
import math
from dataclasses import dataclass
from datetime import UTC, datetime

from flask import current_app
from sqlalchemy import and_, case, delete, null, or_, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection

from app.auth.models import LoginThrottle
from app.extensions import db
from app.timeutil import utcnow

ACCOUNT = "*"  # the source of the account-wide row
_T = LoginThrottle.__table__


def normalize(username: str) -> str:
    return (username or "").strip().lower()


def username_key(username: str) -> str:
    from app.crypto import LOGIN_THROTTLE, derived_key

    key = derived_key(LOGIN_THROTTLE)
    return hmac.new(key, normalize(username).encode(), "sha256").hexdigest()


def now_seconds() -> float:
    return utcnow().replace(tzinfo=UTC).timestamp()


def to_datetime(seconds: float) -> datetime:
    """Naive UTC, as every stored timestamp of the application."""
    return datetime.fromtimestamp(seconds, UTC).replace(tzinfo=None)


@dataclass
class Guess:
    """A reserved guess: the password may be checked once."""

    key: str
    source: str
    count: int  # this source's guesses, this one included
    account_count: int  # all sources' guesses, this one included
    locked_until: float | None  # set when this guess is the last one the source gets
    next_at: float | None  # account-wide: the next guess is not taken before


@dataclass
class Refusal:
    """No guess left: ``scope`` "source" (locked) or "account" (wait)."""

    key: str
    source: str
    scope: str
    until: float | None


def _config() -> dict:
    cfg = current_app.config
    return {
        "threshold": cfg["LOCKOUT_THRESHOLD"],
        "lock": cfg["LOCKOUT_MINUTES"] * 60,
        "account_threshold": cfg["LOGIN_ACCOUNT_THRESHOLD"],
        "base": cfg["LOGIN_ACCOUNT_DELAY_BASE"],
        "cap": cfg["LOGIN_ACCOUNT_DELAY_CAP"],
        "window": cfg["LOGIN_ACCOUNT_WINDOW_HOURS"] * 3600,
    }


def account_delay(count: int, cfg: dict) -> float | None:
    """Seconds the next guess waits after the account's ``count``-th guess."""
    if count < cfg["account_threshold"]:
        return None
    steps = count - cfg["account_threshold"]
    return min(cfg["cap"], cfg["base"] * 2 ** min(steps, 60))


def _insert():
    dialect = postgresql if db.engine.dialect.name == "postgresql" else sqlite
    return dialect.insert(_T)


def _row(key: str, source: str):
    return and_(_T.c.username_key == key, _T.c.source == source)


def _take_source_guess(conn: Connection, key: str, source: str, now: float, cfg: dict):
    expired = or_(
        and_(_T.c.locked_until.is_not(None), _T.c.locked_until <= now),
        _T.c.last_at <= now - cfg["lock"],
    )
    count = case((expired, 1), else_=_T.c.failures + 1)
    first_locks = cfg["threshold"] <= 1
    statement = (
        _insert()
        .values(
            username_key=key,
            source=source,
            failures=1,
            locked_until=now + cfg["lock"] if first_locks else None,
            last_at=now,
        )
        .on_conflict_do_update(
            index_elements=[_T.c.username_key, _T.c.source],
            set_={
                "failures": count,
                "locked_until": case((count >= cfg["threshold"], now + cfg["lock"]), else_=null()),
                "last_at": now,
            },
            where=or_(_T.c.failures < cfg["threshold"], expired),
        )
        .returning(_T.c.failures, _T.c.locked_until)
    )
    return conn.execute(statement).first()


def _take_account_guess(conn: Connection, key: str, now: float, cfg: dict):
    expired = _T.c.last_at <= now - cfg["window"]
    count = case((expired, 1), else_=_T.c.failures + 1)
    # The wait after this guess, decided in the same statement from the counted value.
    threshold, waits = cfg["account_threshold"], []
    n = threshold
    while (delay := account_delay(n, cfg)) < cfg["cap"]:
        waits.append((count == n, now + delay))
        n += 1
    next_at = case((count < threshold, null()), *waits, else_=now + cfg["cap"])
    first = account_delay(1, cfg)
    statement = (
        _insert()
        .values(
            username_key=key,
            source=ACCOUNT,
            failures=1,
            locked_until=None if first is None else now + first,
            last_at=now,
        )
        .on_conflict_do_update(
            index_elements=[_T.c.username_key, _T.c.source],
            set_={"failures": count, "locked_until": next_at, "last_at": now},
            where=or_(_T.c.locked_until.is_(None), _T.c.locked_until <= now, expired),
        )
        .returning(_T.c.failures, _T.c.locked_until)
    )
    return conn.execute(statement).first()


def reserve(username: str, source: str) -> Guess | Refusal:
    """Count a guess for ``username`` from ``source``, or refuse: the caller checks the password
    only with a ``Guess``. Commits at once (its own transaction)."""
    cfg = _config()
    key, now = username_key(username), now_seconds()
    source = (source or "unknown")[:64]
    with db.engine.connect() as conn:
        with conn.begin() as transaction:
            taken = _take_source_guess(conn, key, source, now, cfg)
            if taken is None:
                until = conn.execute(select(_T.c.locked_until).where(_row(key, source))).scalar()
                return Refusal(key, source, "source", until)
            account = _take_account_guess(conn, key, now, cfg)
            if account is None:
                # Not this source's guess either: undo it with the transaction.
                transaction.rollback()
            else:
                return Guess(key, source, taken[0], account[0], taken[1], account[1])
        until = conn.execute(select(_T.c.locked_until).where(_row(key, ACCOUNT))).scalar()
        return Refusal(key, source, "account", until)


def clear(key: str, source: str) -> None:
    """After a successful login: this source's and the account-wide counters start again.
    In the request's transaction (committed with the successful answer)."""
    db.session.execute(
        delete(LoginThrottle).where(
            LoginThrottle.username_key == key, LoginThrottle.source.in_([source, ACCOUNT])
        )
    )
    purge_stale()


def clear_username(username: str) -> None:
    """Every counter of ``username`` (an administrator reset the account's password)."""
    db.session.execute(
        delete(LoginThrottle).where(LoginThrottle.username_key == username_key(username))
    )


def purge_stale() -> None:
    """Forget counters nobody has used for longer than any of them counts."""
    cfg = _config()
    now = now_seconds()
    quiet = max(cfg["lock"], cfg["window"])
    db.session.execute(
        delete(LoginThrottle).where(
            LoginThrottle.last_at < now - quiet,
            or_(LoginThrottle.locked_until.is_(None), LoginThrottle.locked_until < now),
        )
    )


def wait_text(seconds: float) -> str:
    seconds = max(1, math.ceil(seconds))
    if seconds < 60:
        return f"{seconds} 秒"
    return f"{math.ceil(seconds / 60)} 分钟"


def mask_username(typed: str) -> str:
    """What the audit log says about a typed username that is no account: never its digits
    (it may be someone's phone number)."""
    from app.security import mask_phone

    value = (typed or "").strip()
    if len(value) == 11 and value.isdigit():
        return mask_phone(value)
    if len(value) <= 2:
        return "*" * len(value)
    return value[0] + "*" * (len(value) - 2) + value[-1]
