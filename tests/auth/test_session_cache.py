"""The signed-in user without a query of its own per request (app/auth/session_cache.py): the
user-version and data-version tokens are read from the change-token file (app/change_tokens.py);
the user's row is read again only after a change to a user — and every such change (ORM or bulk
statement) still ends old sessions at the next request (in every worker:
tests/auth/test_change_tokens.py)."""

from __future__ import annotations

import pytest
from sqlalchemy import event, update

from app.auth.models import User
from app.extensions import db


@pytest.fixture
def statements(app):
    """The SQL statements run during the ``with`` block of the returned recorder."""

    class Recorder:
        def __enter__(self):
            self.seen: list[str] = []
            event.listen(db.engine, "before_cursor_execute", self._hook)
            return self

        def __exit__(self, *exc):
            event.remove(db.engine, "before_cursor_execute", self._hook)

        def _hook(self, conn, cursor, statement, *args):  # noqa: ANN001, ANN002
            self.seen.append(" ".join(statement.split()))

        def reading(self, table: str) -> list[str]:
            return [s for s in self.seen if s.startswith("SELECT") and f"FROM {table}" in s]

    return Recorder


def test_a_signed_in_page_reads_no_token_and_no_user_row(client, auth, statements):
    auth.login_as("staff")
    client.get("/members/")  # warm
    with statements() as warm:
        assert client.get("/members/").status_code == 200
    assert warm.reading('"user"') == [] and warm.reading("user ") == []
    assert warm.reading("setting") == []  # both tokens come from the change-token file


def test_a_trivial_signed_in_route_runs_no_query(client, auth, statements):
    auth.login_as("admin")
    client.get("/")  # warm
    with statements() as warm:
        response = client.get("/")
    assert response.status_code == 302 and response.headers["Location"].endswith("/home")
    assert warm.seen == []


def test_a_trivial_signed_in_route_opens_no_database_session(client, auth):
    """The kept user joins a session only when the request begins one: a redirect builds none."""
    from sqlalchemy.orm import Session

    auth.login_as("admin")
    client.get("/")  # warm
    begun = []

    def record(session, transaction):  # noqa: ANN001
        begun.append(transaction)

    event.listen(Session, "after_transaction_create", record)
    try:
        assert client.get("/").status_code == 302
        assert begun == []
        assert client.get("/home").status_code == 200
        assert begun  # a page that reads the database begins one
    finally:
        event.remove(Session, "after_transaction_create", record)


def test_the_kept_user_is_the_sessions_own_object_once_the_database_is_used(app, client, auth):
    """A query for the signed-in user in a request returns ``current_user`` itself, so a change
    made through either is one change."""
    from flask import request_finished
    from flask_login import current_user

    auth.login_as("staff")
    client.get("/home")  # warm: the row is kept
    seen = []

    def check(sender, response, **extra):  # noqa: ANN001, ANN003
        user = current_user._get_current_object()
        seen.append(db.session.get(User, user.id) is user)

    request_finished.connect(check, app)
    try:
        assert client.get("/members/").status_code == 200
    finally:
        request_finished.disconnect(check, app)
    assert seen == [True]


CHANGES = {
    "logout elsewhere (session version)": lambda user: setattr(
        user, "session_version", user.session_version + 1
    ),
    "deactivated": lambda user: setattr(user, "active", False),
}


@pytest.mark.parametrize("change", list(CHANGES))
def test_a_change_to_the_user_ends_the_session_at_the_next_request(client, auth, change):
    user = auth.login_as("staff")
    assert client.get("/members/").status_code == 200  # the row is now kept
    CHANGES[change](db.session.get(User, user.id))
    db.session.commit()
    response = client.get("/members/")
    assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_a_bulk_update_of_users_ends_the_session_too(client, auth):
    user = auth.login_as("staff")
    assert client.get("/members/").status_code == 200
    db.session.execute(update(User).where(User.id == user.id).values(active=False))
    db.session.commit()
    response = client.get("/members/")
    assert response.status_code == 302


def test_a_role_change_is_seen_at_the_next_request(client, auth):
    user = auth.login_as("admin")
    assert client.get("/admin/users/").status_code == 200
    db.session.get(User, user.id).role = "staff"
    db.session.commit()
    assert client.get("/admin/users/").status_code in (403, 404)
