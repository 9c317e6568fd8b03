"""The database storage of the rate-limit counters (app/ratelimit.py) and the storage choice.

The storage needs a database that a second connection sees: a SQLite file here, or the
PostgreSQL test database when TEST_DATABASE_URL is set (the in-memory SQLite of the other
tests is one connection, and keeps the in-memory counters).
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
from flask import Flask
from limits.storage import MemoryStorage, RedisStorage
from sqlalchemy import create_engine, delete, select, text

from app import create_app
from app.extensions import db, limiter
from app.ratelimit import DatabaseStorage, RateLimitCounter, storage_uri
from app.settings import Setting
from tests.conftest import PASSWORD, IsolatedClient

PG_URL = os.environ.get("TEST_DATABASE_URL", "")
T0 = 1_000_000.0


class Clock:
    def __init__(self, now: float = T0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def _clean(application: Flask) -> None:
    with application.app_context():
        db.session.remove()
        with db.engine.begin() as conn:
            if PG_URL:  # the shared test database: empty it as tests/conftest.py does
                tables = ", ".join(f'"{t.name}"' for t in db.metadata.sorted_tables)
                conn.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
            else:
                conn.execute(delete(RateLimitCounter))
        db.engine.dispose()


@pytest.fixture
def make_shared_app(tmp_path) -> Iterator:
    """Apps on a database a second connection sees, with the schema and no counters."""
    made = []

    def factory(**overrides) -> Flask:
        url = PG_URL or f"sqlite:///{tmp_path / 'limits.db'}"
        application = create_app("testing", SQLALCHEMY_DATABASE_URI=url, **overrides)
        application.test_client_class = IsolatedClient
        made.append(application)
        with application.app_context():
            db.create_all()
        _clean(application)
        return application

    yield factory
    for application in made:
        _clean(application)


@pytest.fixture
def shared_app(make_shared_app) -> Iterator[Flask]:
    application = make_shared_app()
    with application.app_context():
        yield application


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def storage(shared_app, clock) -> DatabaseStorage:
    return DatabaseStorage("linli-db://", clock=clock)


def _rows() -> dict[str, int]:
    with db.engine.connect() as conn:
        return dict(conn.execute(select(RateLimitCounter.key, RateLimitCounter.count)).all())


def test_incr_counts_per_key_and_get_reads_the_count(storage):
    assert [storage.incr("a", 60) for _ in range(3)] == [1, 2, 3]
    assert storage.incr("a", 60, amount=2) == 5
    assert storage.incr("b", 60) == 1
    assert storage.get("a") == 5
    assert storage.get("b") == 1
    assert storage.get("never") == 0
    assert _rows() == {"a": 5, "b": 1}


def test_the_window_ends_at_its_expiry_and_the_next_hit_starts_a_new_one(storage, clock):
    storage.incr("k", 60)
    clock.now = T0 + 30
    assert storage.incr("k", 60) == 2  # the same window: its end does not move
    assert storage.get_expiry("k") == T0 + 60
    clock.now = T0 + 59.9
    assert storage.get("k") == 2
    clock.now = T0 + 60
    assert storage.get("k") == 0
    assert storage.get_expiry("k") == T0 + 60  # no window: "now"
    assert storage.incr("k", 60) == 1
    assert storage.get_expiry("k") == T0 + 120


def test_clear_and_reset(storage):
    storage.incr("a", 60)
    storage.incr("b", 60)
    storage.incr("b", 60)
    storage.clear("b")
    assert storage.get("b") == 0
    assert storage.get("a") == 1
    storage.incr("c", 60)
    assert storage.reset() == 2
    assert _rows() == {}


def test_check_tells_whether_the_database_answers(storage, tmp_path):
    assert storage.check() is True
    broken = create_engine(f"sqlite:///{tmp_path / 'no' / 'such' / 'dir.db'}")
    assert DatabaseStorage("linli-db://", engine=broken).check() is False


def test_expired_rows_are_deleted_at_most_once_a_minute(storage, clock):
    storage.incr("old", 10)  # the first count sweeps; the next sweep is due at T0 + 60
    clock.now = T0 + 30
    storage.incr("live", 600)
    assert set(_rows()) == {"old", "live"}  # expired, but no sweep yet
    assert storage.get("old") == 0
    clock.now = T0 + 60
    storage.incr("live", 600)
    assert _rows() == {"live": 2}


def test_a_long_key_is_stored_hashed(storage):
    key = "LIMITER/" + "2001:db8::1/" * 40
    assert storage.incr(key, 60) == 1
    assert storage.incr(key, 60) == 2
    assert storage.get(key) == 2
    (stored,) = _rows()
    assert stored.startswith("sha256:") and len(stored) <= 255


def test_counting_neither_commits_nor_rolls_back_the_request_session(storage, shared_app):
    db.session.add(Setting(key="rate-limit-probe", value=1))
    if PG_URL:
        # PostgreSQL: even a flushed, uncommitted write of the session is left alone.
        # (SQLite: the limiter counts before the view writes, so no write lock is held.)
        db.session.flush()
    assert storage.incr("k", 60) == 1
    db.session.rollback()
    assert storage.get("k") == 1  # the count stays although the session rolled back
    assert db.session.get(Setting, "rate-limit-probe") is None  # and it committed nothing


def test_counters_are_shared_by_two_storages_on_the_same_database(shared_app, clock):
    engine = create_engine(shared_app.config["SQLALCHEMY_DATABASE_URI"])
    try:
        first = DatabaseStorage("linli-db://", engine=engine, clock=clock)
        second = DatabaseStorage("linli-db://", clock=clock)  # the app's engine
        assert [first.incr("k", 60), second.incr("k", 60), first.incr("k", 60)] == [1, 2, 3]
    finally:
        engine.dispose()


# ---- the storage chosen at app creation ----------------------------------------------------


def test_storage_uri_prefers_redis_then_the_database():
    def uri(**config) -> str:
        app = Flask(__name__)
        app.config.update({"RATELIMIT_STORAGE_URI": "", "REDIS_URL": "", **config})
        return storage_uri(app)

    assert uri(SQLALCHEMY_DATABASE_URI="sqlite:////srv/linli.db") == "linli-db://"
    assert uri(SQLALCHEMY_DATABASE_URI="postgresql+psycopg://u@h/linli") == "linli-db://"
    assert uri(SQLALCHEMY_DATABASE_URI="sqlite://") == "memory://"
    assert uri(SQLALCHEMY_DATABASE_URI="sqlite:///:memory:") == "memory://"
    assert (
        uri(SQLALCHEMY_DATABASE_URI="sqlite:////srv/linli.db", REDIS_URL="redis://r:6379/0")
        == "redis://r:6379/0"
    )
    assert (
        uri(
            SQLALCHEMY_DATABASE_URI="sqlite:////srv/linli.db",
            REDIS_URL="redis://r:6379/0",
            RATELIMIT_STORAGE_URI="memcached://m:11211",
        )
        == "memcached://m:11211"
    )


def test_the_limiter_uses_redis_when_redis_url_is_set(make_shared_app):
    # Before the fix the limiter's own storage_uri="memory://" overrode REDIS_URL.
    make_shared_app(
        RATELIMIT_ENABLED=True, RATELIMIT_STORAGE_URI="", REDIS_URL="redis://127.0.0.1:1/0"
    )
    assert isinstance(limiter.storage, RedisStorage)


def test_the_limiter_uses_the_database_without_redis(make_shared_app):
    make_shared_app(RATELIMIT_ENABLED=True, RATELIMIT_STORAGE_URI="", REDIS_URL="")
    assert isinstance(limiter.storage, DatabaseStorage)
    create_app("testing", SQLALCHEMY_DATABASE_URI="sqlite://", RATELIMIT_ENABLED=True)
    assert isinstance(limiter.storage, MemoryStorage)  # in-memory SQLite: in-memory counters


def test_login_limit_counts_in_the_database(make_shared_app):
    application = make_shared_app(
        RATELIMIT_ENABLED=True,
        RATELIMIT_STORAGE_URI="",
        LOGIN_RATE_LIMIT="3 per minute",
        WTF_CSRF_ENABLED=False,
    )
    with application.app_context():
        from app.auth import services

        services.create_user("limited", "测试", "staff", PASSWORD, must_change_password=False)
        db.session.commit()
        client = application.test_client()
        statuses = [
            client.post("/login", data={"username": "limited", "password": "wrong"}).status_code
            for _ in range(5)
        ]
        assert statuses == [422, 422, 422, 429, 429]
        assert sum(_rows().values()) == 5  # every attempt counted, in the table
