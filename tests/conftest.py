"""Shared fixtures: an app on a known, empty database (SQLite or PostgreSQL), clients, users.

Set TEST_DATABASE_URL to a PostgreSQL URL to run the suite there: the schema is created once
per session and every test's rows are truncated afterwards. Without it each test gets a fresh
in-memory SQLite database.
"""

from __future__ import annotations

import contextvars
import os
import re
from collections.abc import Callable, Iterator

import pytest
from flask import Flask, request_finished
from flask.testing import FlaskClient
from sqlalchemy import event, text
from werkzeug.test import TestResponse

from app import create_app
from app.auth import services as auth_services
from app.extensions import db

PASSWORD = "Test-Passw0rd!"  # meets the staff rules
PG_URL = os.environ.get("TEST_DATABASE_URL", "")
_pg_schema_ready = False


class IsolatedClient(FlaskClient):
    """Each request runs in its own context, like in production.

    The ``app`` fixture keeps an application context pushed for the test body; without this,
    requests would share its ``g`` (cached CSRF token, logged-in user, scope) and its session.
    """

    def open(self, *args, **kwargs):
        return contextvars.Context().run(super().open, *args, **kwargs)


def make_app(**overrides) -> Flask:
    application = create_app("testing", **overrides)
    application.test_client_class = IsolatedClient
    return application


def pytest_sessionfinish(session, exitstatus):  # noqa: ANN001
    """The test process's change-token file (config.TestingConfig) goes with it."""
    from pathlib import Path

    from config import TestingConfig

    Path(TestingConfig.TOKEN_FILE).unlink(missing_ok=True)


@pytest.fixture
def app() -> Iterator[Flask]:
    global _pg_schema_ready
    application = make_app()
    with application.app_context():
        if PG_URL:
            if not _pg_schema_ready:
                db.drop_all()
                db.create_all()
                _pg_schema_ready = True
        else:
            db.create_all()
        yield application
        db.session.remove()
        if PG_URL:
            tables = ", ".join(f'"{t.name}"' for t in db.metadata.sorted_tables)
            with db.engine.begin() as conn:
                conn.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
        else:
            with db.engine.begin() as conn:  # the two trees reference each other
                conn.exec_driver_sql("PRAGMA foreign_keys=OFF")
            db.drop_all()
        db.engine.dispose()


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def runner(app: Flask):
    return app.test_cli_runner()


CSRF_RE = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"|"X-CSRFToken": "([^"]+)"')


def csrf_token(client: FlaskClient, path: str = "/login") -> str:
    """The CSRF token of the client's current session, read from a rendered page."""
    html = client.get(path, follow_redirects=True).get_data(as_text=True)
    match = CSRF_RE.search(html)
    assert match, f"no CSRF token on {path}"
    return match.group(1) or match.group(2)


def search(
    client: FlaskClient, path: str, text: str, *, htmx: bool = False, **filters
) -> TestResponse:
    """Search a list the way its search form does (app/search_text.py): POST the text with
    the filters; without htmx, follow the redirect to the list's ``s=<token>`` address."""
    data = {"csrf_token": csrf_token(client, "/home"), "q": text, **filters}
    if htmx:
        return client.post(path, data=data, headers={"HX-Request": "true"})
    return client.post(path, data=data, follow_redirects=True)


@pytest.fixture
def make_user(app: Flask) -> Callable:
    counter = {"n": 0}

    def factory(role: str = "staff", username: str | None = None, **fields):
        counter["n"] += 1
        username = username or f"{role}{counter['n']}"
        fields.setdefault("must_change_password", False)
        user = auth_services.create_user(
            username, fields.pop("display_name", f"测试{role}"), role, PASSWORD, **fields
        )
        db.session.commit()
        return user

    return factory


class Auth:
    def __init__(self, client: FlaskClient, make_user: Callable):
        self.client = client
        self.make_user = make_user
        self.user = None

    def login(self, username: str, password: str = PASSWORD, **kw):
        token = csrf_token(self.client, "/login")
        return self.client.post(
            "/login", data={"username": username, "password": password, "csrf_token": token}, **kw
        )

    def login_as(self, role: str, **fields):
        self.user = self.make_user(role, **fields)
        response = self.login(self.user.username)
        assert response.status_code == 302, response.get_data(as_text=True)
        return self.user

    def logout(self):
        token = csrf_token(self.client, "/home")
        return self.client.post("/logout", data={"csrf_token": token})

    def token(self, path: str = "/home") -> str:
        return csrf_token(self.client, path)


@pytest.fixture
def auth(client: FlaskClient, make_user: Callable) -> Auth:
    return Auth(client, make_user)


def record_calls(monkeypatch, owner, name: str) -> list:  # noqa: ANN001
    """Replace ``owner.name`` with a wrapper that records its first argument's ``id`` per call
    (e.g. which user's counts were computed) and returns the list it fills."""
    calls: list = []
    real = getattr(owner, name)

    def recording(first, *args, **kwargs):  # noqa: ANN001, ANN002, ANN003, ANN202
        calls.append(first.id)
        return real(first, *args, **kwargs)

    monkeypatch.setattr(owner, name, recording)
    return calls


@pytest.fixture
def count_queries(app: Flask):
    """Count SQL statements executed inside the ``with`` block.

    Every request answered inside the block must succeed (status < 400), or have the status
    given as ``count_queries(status=404)``: an error page is cheap, and would pass a "the
    count does not grow" test for the wrong reason.
    """

    class Counter:
        def __init__(self, status: int | None = None):
            self.count = 0
            self.status = status
            self.statuses: list[int] = []

        def __enter__(self):
            event.listen(db.engine, "before_cursor_execute", self._hook)
            request_finished.connect(self._answered, app)
            return self

        def __exit__(self, exc_type, *exc):
            event.remove(db.engine, "before_cursor_execute", self._hook)
            request_finished.disconnect(self._answered, app)
            if exc_type is None:
                wrong = [
                    s
                    for s in self.statuses
                    if (s != self.status if self.status is not None else s >= 400)
                ]
                assert not wrong, f"requests inside count_queries answered {wrong}"

        def _hook(self, *args, **kwargs):
            self.count += 1

        def _answered(self, sender, response, **extra):
            self.statuses.append(response.status_code)

    return Counter
