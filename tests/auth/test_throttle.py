"""Login throttling (security findings 4 and 5): guesses are reserved atomically before the
password is checked, the lock is per (typed username, source address) with a slower account-wide
limit, unknown and known usernames answer alike, and every lock is audited."""

from __future__ import annotations

import html as html_lib
import re
import threading

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select, text

from app.audit.models import AuditEntry
from app.auth import services
from app.extensions import db
from tests.conftest import PASSWORD, PG_URL, csrf_token, make_app

ERROR_RE = re.compile(r'<p class="error" id="password-error" role="alert">(.*?)</p>', re.S)
TOKEN_RE = re.compile(r'(name="csrf_token"[^>]*value=")[^"]+(")|("X-CSRFToken": ")[^"]+(")')


def message(response) -> str:
    match = ERROR_RE.search(response.get_data(as_text=True))
    assert match, response.get_data(as_text=True)[:2000]
    return html_lib.unescape(match.group(1))


def from_source(app: Flask, ip: str) -> FlaskClient:
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = ip
    return client


def attempt(client: FlaskClient, username: str, password: str):
    token = csrf_token(client, "/login")
    return client.post(
        "/login", data={"username": username, "password": password, "csrf_token": token}
    )


@pytest.fixture
def evaluations(monkeypatch):
    """Counts every password evaluation: real checks and the dummy check for unknown users."""
    counter = {"n": 0}
    real_verify, real_dummy = services.verify_password, services.dummy_verify

    def verify(password_hash, password):
        counter["n"] += 1
        return real_verify(password_hash, password)

    def dummy(password):
        counter["n"] += 1
        return real_dummy(password)

    monkeypatch.setattr(services, "verify_password", verify)
    monkeypatch.setattr(services, "dummy_verify", dummy)
    return counter


def lock_entries() -> list[AuditEntry]:
    db.session.expire_all()
    query = select(AuditEntry).where(AuditEntry.action == "login_lock").order_by(AuditEntry.id)
    return list(db.session.execute(query).scalars())


# ---- finding 4: a burst of concurrent guesses ---------------------------------------------


@pytest.fixture
def shared_app(tmp_path):
    """A database file (or the PostgreSQL server) that several threads use at once."""
    uri = PG_URL or f"sqlite:///{tmp_path / 'burst.db'}"
    application = make_app(SQLALCHEMY_DATABASE_URI=uri)
    with application.app_context():
        if PG_URL:
            db.drop_all()
        db.create_all()
        services.create_user("secretary", "王书记", "admin", PASSWORD, must_change_password=False)
        db.session.commit()
        yield application
        db.session.remove()
        if PG_URL:
            tables = ", ".join(f'"{t.name}"' for t in db.metadata.sorted_tables)
            with db.engine.begin() as conn:
                conn.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
        else:
            with db.engine.begin() as conn:
                conn.exec_driver_sql("PRAGMA foreign_keys=OFF")
            db.drop_all()
        db.engine.dispose()


@pytest.mark.parametrize("username", ["secretary", "13912345678"], ids=["known", "unknown"])
def test_burst_of_40_concurrent_wrong_passwords_evaluates_at_most_5(
    shared_app, monkeypatch, username
):
    """40 threads, each its own client (and request context), post a wrong password at once.

    Every evaluation waits at a gate until either a sixth evaluation starts (the bug: the test
    then fails) or every other request has answered, so the requests overlap for certain and the
    result does not depend on timing."""
    total = 40
    lock = threading.Lock()
    state = {"evaluations": 0, "in_check": 0, "done": 0}
    gate = threading.Event()
    real_verify, real_dummy = services.verify_password, services.dummy_verify

    def release_if_settled() -> None:  # called with ``lock`` held
        if state["evaluations"] > 5 or state["done"] + state["in_check"] == total:
            gate.set()

    def gated(check):
        def wrapper(*args):
            with lock:
                state["evaluations"] += 1
                state["in_check"] += 1
                release_if_settled()
            gate.wait(60)
            try:
                return check(*args)
            finally:
                with lock:
                    state["in_check"] -= 1

        return wrapper

    monkeypatch.setattr(services, "verify_password", gated(real_verify))
    monkeypatch.setattr(services, "dummy_verify", gated(real_dummy))
    barrier = threading.Barrier(total)
    results: list[tuple[int, str]] = []

    def worker() -> None:
        try:
            client = shared_app.test_client()
            token = csrf_token(client, "/login")
            barrier.wait()
            response = client.post(
                "/login",
                data={"username": username, "password": "Wrong-Passw0rd!", "csrf_token": token},
            )
            results.append((response.status_code, message(response)))
        finally:
            with lock:
                state["done"] += 1
                release_if_settled()

    threads = [threading.Thread(target=worker) for _ in range(total)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert state["evaluations"] == 5, state
    assert len(results) == total
    assert {code for code, _ in results} == {422}
    locked = [m for _, m in results if "已锁定" in m]
    assert len(locked) >= total - 5
    assert len(lock_entries()) == 1
    # The lock holds: the right password from the same address is not even checked.
    if username == "secretary":
        client = shared_app.test_client()
        assert attempt(client, username, PASSWORD).status_code == 422
        assert state["evaluations"] == 5


# ---- finding 5: no user enumeration, no lock-out by strangers -------------------------------


def test_unknown_and_known_usernames_get_byte_identical_answers(app, make_user, clock):
    make_user("member", username="13800001111")
    answers = {}
    for username in ("13800001111", "13900002222"):
        client = from_source(app, "10.0.0.7")
        pages = []
        for _ in range(7):
            response = attempt(client, username, "Wrong-Passw0rd!")
            page = response.get_data(as_text=True).replace(username, "<U>")
            pages.append((response.status_code, TOKEN_RE.sub(r"\1\2\3\4", page), message(response)))
        answers[username] = pages
    known, unknown = answers["13800001111"], answers["13900002222"]
    assert [m for _, _, m in known] == [m for _, _, m in unknown]
    assert known == unknown
    assert "用户名或密码错误" in known[0][2]
    assert "已锁定" in known[-1][2]


def test_a_lock_from_one_address_does_not_stop_the_right_password_from_another(
    app, make_user, evaluations
):
    secretary = make_user("admin", username="secretary")
    stranger = from_source(app, "203.0.113.9")
    for _ in range(5):
        attempt(stranger, secretary.username, "Wrong-Passw0rd!")
    assert evaluations["n"] == 5
    assert "已锁定" in message(attempt(stranger, secretary.username, "Wrong-Passw0rd!"))
    # The stranger cannot try further, not even the right password, from that address ...
    assert attempt(stranger, secretary.username, PASSWORD).status_code == 422
    assert evaluations["n"] == 5
    # ... while the secretary, at the office, logs in.
    office = from_source(app, "10.1.2.3")
    assert attempt(office, secretary.username, PASSWORD).status_code == 302


def test_the_slower_account_wide_limit_engages_across_addresses(app, make_user, evaluations, clock):
    user = make_user("staff", username="wang")
    # 5 addresses × 4 wrong guesses: no address is locked, 20 guesses on the account.
    for n in range(5):
        client = from_source(app, f"198.51.100.{n + 1}")
        for _ in range(4):
            response = attempt(client, user.username, "Wrong-Passw0rd!")
            assert "已锁定" not in message(response)
    assert evaluations["n"] == 20
    assert [e.detail for e in lock_entries()] == ["account throttled"]
    fresh = from_source(app, "198.51.100.99")
    # From now on each further guess waits, and the wait grows: 2 s, 4 s, 8 s ...
    first = message(attempt(fresh, user.username, "Wrong-Passw0rd!"))
    assert "请 2 秒后再试" in first
    assert evaluations["n"] == 20  # refused without checking the password
    clock.advance(seconds=2)
    attempt(fresh, user.username, "Wrong-Passw0rd!")
    assert evaluations["n"] == 21
    clock.advance(seconds=3)
    assert "请 1 秒后再试" in message(attempt(fresh, user.username, PASSWORD))
    assert evaluations["n"] == 21
    clock.advance(seconds=1)
    assert attempt(fresh, user.username, PASSWORD).status_code == 302
    entries = lock_entries()
    assert len(entries) == 1
    assert entries[0].after["scope"] == "account"
    assert entries[0].user_id == user.id


def test_the_account_wide_wait_is_capped(app, evaluations, clock):
    app.config["LOGIN_ACCOUNT_DELAY_CAP"] = 60
    client_n, waits = 0, []
    for guess in range(40):
        if guess % 4 == 0:
            client_n += 1
            client = from_source(app, f"192.0.2.{client_n}")
        response = attempt(client, "nobody", "Wrong-Passw0rd!")
        text_ = message(response)
        match = re.search(r"请 (\d+) 秒后再试|请 (\d+) 分钟后再试", text_)
        if match:
            wait = int(match.group(1) or 0) or int(match.group(2)) * 60
            waits.append(wait)
            clock.advance(seconds=wait)
    assert evaluations["n"] > 25
    assert waits[:5] == [2, 4, 8, 16, 32]
    assert max(waits) == 60 and waits[-1] == 60


def test_every_lock_is_audited_and_a_typed_phone_number_is_masked(app, make_user, clock):
    for _ in range(5):
        attempt(from_source(app, "10.0.0.9"), "13912345678", "Wrong-Passw0rd!")
    entries = lock_entries()
    assert len(entries) == 1
    entry = entries[0]
    assert entry.result == "locked"
    assert entry.ip == "10.0.0.9"
    assert entry.after["scope"] == "source"
    assert entry.after["username"] == "139****5678"
    assert len(entry.after["username_hash"]) >= 16
    assert entry.after["until"].startswith("2026-03-09T02:30")
    # The typed number is nowhere in the audit log.
    db.session.expire_all()
    for row in db.session.execute(select(AuditEntry)).scalars():
        blob = repr((row.username, row.object_id, row.detail, row.before, row.after))
        assert "13912345678" not in blob
    # A known account's lock names the account; a second lock after expiry is audited again.
    user = make_user("staff", username="li")
    for _ in range(5):
        attempt(from_source(app, "10.0.0.10"), user.username, "Wrong-Passw0rd!")
    clock.advance(minutes=31)
    for _ in range(5):
        attempt(from_source(app, "10.0.0.10"), user.username, "Wrong-Passw0rd!")
    entries = lock_entries()
    assert [e.user_id for e in entries] == [None, user.id, user.id]
    assert entries[1].after["username"] == "li"


def test_success_resets_the_count(app, make_user, evaluations):
    user = make_user("staff")
    client = from_source(app, "10.0.0.11")
    for _ in range(4):
        attempt(client, user.username, "Wrong-Passw0rd!")
    assert attempt(client, user.username, PASSWORD).status_code == 302
    other = from_source(app, "10.0.0.11")
    for _ in range(4):
        response = attempt(other, user.username, "Wrong-Passw0rd!")
        assert "已锁定" not in message(response)
    assert evaluations["n"] == 9


def test_username_case_and_spaces_do_not_give_fresh_guesses(app, make_user, evaluations):
    make_user("staff", username="Zhang")
    client = from_source(app, "10.0.0.12")
    for typed in ("zhang", "ZHANG", " Zhang", "zHang ", "Zhang"):
        attempt(client, typed, "Wrong-Passw0rd!")
    assert "已锁定" in message(attempt(client, "zhang", PASSWORD))
    assert evaluations["n"] == 5


def test_the_source_is_the_forwarded_address_behind_a_trusted_proxy(app, make_user):
    from werkzeug.middleware.proxy_fix import ProxyFix

    app.wsgi_app = ProxyFix(app.wsgi_app, x_for=1)  # what TRUSTED_PROXIES=1 sets up
    user = make_user("staff")
    client = app.test_client()

    def post(password: str, forwarded_for: str):
        token = csrf_token(client, "/login")
        return client.post(
            "/login",
            data={"username": user.username, "password": password, "csrf_token": token},
            headers={"X-Forwarded-For": forwarded_for},
        )

    for _ in range(5):
        post("Wrong-Passw0rd!", "203.0.113.50")
    assert "已锁定" in message(post(PASSWORD, "203.0.113.50"))
    assert post(PASSWORD, "198.51.100.20").status_code == 302
    assert lock_entries()[0].ip == "203.0.113.50"


def test_an_administrator_password_reset_lifts_the_locks(app, make_user):
    from app.organization.accounts import reset_password

    user = make_user("staff")
    client = from_source(app, "10.0.0.13")
    for _ in range(5):
        attempt(client, user.username, "Wrong-Passw0rd!")
    assert "已锁定" in message(attempt(client, user.username, PASSWORD))
    new_password = reset_password(user)
    db.session.commit()
    response = attempt(client, user.username, new_password)
    assert response.status_code == 302
