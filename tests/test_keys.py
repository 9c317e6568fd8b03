"""Keys (security issue findings 1 and 3): no key in the code, development keys in a private
instance file, weak or shared keys refused, HKDF sub-keys, old data still readable."""

from __future__ import annotations

import hashlib
import json
import os
import re
import stat
import subprocess
import sys
from datetime import date
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from flask import Flask
from flask_migrate import upgrade
from itsdangerous import Signer
from sqlalchemy import create_engine, select, text

from app import create_app, crypto
from app.auth import services as auth_services
from app.extensions import db
from config import KEY_NAMES, new_key
from tests.conftest import PASSWORD, csrf_token

ROOT = Path(__file__).resolve().parent.parent
OLD_DEV_DEFAULT = "dev-secret-not-for-production"  # the public default before this fix
PG_URL = os.environ.get("TEST_DATABASE_URL", "")


def _strong() -> dict[str, str]:
    return {name: new_key() for name in KEY_NAMES}


@pytest.fixture
def no_keys_in_environment(monkeypatch):
    """The configuration as loaded in a shell that sets no key."""
    import importlib

    import config

    for name in (*KEY_NAMES, "LINLI_KEY_FILE"):
        monkeypatch.delenv(name, raising=False)
    importlib.reload(config)
    yield
    monkeypatch.undo()
    importlib.reload(config)


def _dev_app(key_file: Path, **overrides) -> Flask:
    """The development configuration, its key file at ``key_file``."""
    return create_app(
        "development",
        KEY_FILE=str(key_file),
        SQLALCHEMY_DATABASE_URI="sqlite://",
        RATELIMIT_ENABLED=False,
        **overrides.pop("keys", {}),
        **overrides,
    )


# ---- finding 1: the public development key ------------------------------------------------


def _login_cookie_payload(application: Flask) -> dict:
    client = application.test_client()
    token = csrf_token(client, "/login")
    response = client.post(
        "/login", data={"username": "root", "password": PASSWORD, "csrf_token": token}
    )
    assert response.status_code == 302
    serializer = application.session_interface.get_signing_serializer(application)
    return serializer.loads(client.get_cookie("linli_session").value)


def _signed_with(secret: str, payload: dict) -> str:
    signer = Flask("forger")
    signer.secret_key = secret
    return signer.session_interface.get_signing_serializer(signer).dumps(payload)


def test_old_development_key_signs_no_session(tmp_path, no_keys_in_environment):
    application = _dev_app(tmp_path / "keys.json")
    with application.app_context():
        db.create_all()
        auth_services.create_user("root", "管理员", "admin", PASSWORD, must_change_password=False)
        db.session.commit()
        payload = _login_cookie_payload(application)
        assert payload["_user_id"]
        # The same session signed with the app's own key opens the admin pages (the payload
        # is a real one) ...
        client = application.test_client()
        client.set_cookie("linli_session", _signed_with(application.secret_key, payload))
        assert client.get("/admin/users/").status_code == 200
        # ... signed with the old public default it opens nothing.
        client = application.test_client()
        client.set_cookie("linli_session", _signed_with(OLD_DEV_DEFAULT, payload))
        response = client.get("/admin/users/")
        assert response.status_code == 302 and "/login" in response.headers["Location"]
        db.session.remove()
        db.drop_all()


def test_no_key_is_written_in_the_code():
    sources = [ROOT / "config.py", ROOT / "wsgi.py", *sorted((ROOT / "app").rglob("*.py"))]
    names = "(?:SECRET_KEY|ID_HASH_KEY|DATA_KEY)"
    literal = r"""\s*["'][^"']"""  # a non-empty string literal
    assignment = re.compile(
        rf"""\b{names}\s*={literal}|environ\.get\(\s*["']{names}["']\s*,{literal}"""
        rf"""|["']{names}["']\s*:{literal}|secret_key\s*={literal}"""
    )
    for path in sources:
        source = path.read_text(encoding="utf-8")
        assert OLD_DEV_DEFAULT not in source, path
        assert not assignment.search(source), (path, assignment.search(source))


def test_development_creates_the_key_file_once_with_mode_600(tmp_path, no_keys_in_environment):
    key_file = tmp_path / "instance" / "secret_keys.json"
    first = _dev_app(key_file)
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    stored = json.loads(key_file.read_text())
    assert set(stored) == set(KEY_NAMES)
    assert len(set(stored.values())) == 3
    for name in KEY_NAMES:
        assert first.config[name] == stored[name]
    assert str(key_file) in first.config["KEY_SOURCE"]
    content = key_file.read_bytes()
    second = _dev_app(key_file)
    assert key_file.read_bytes() == content
    assert [second.config[n] for n in KEY_NAMES] == [first.config[n] for n in KEY_NAMES]
    # Another installation gets other keys.
    other = _dev_app(tmp_path / "other.json")
    assert other.config["SECRET_KEY"] != first.config["SECRET_KEY"]


def test_a_key_file_readable_by_others_is_made_private(tmp_path, no_keys_in_environment):
    key_file = tmp_path / "keys.json"
    key_file.write_text(json.dumps(_strong()))
    key_file.chmod(0o644)
    _dev_app(key_file)
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600


def test_development_refuses_the_old_public_key(tmp_path):
    with pytest.raises(RuntimeError, match="SECRET_KEY"):
        _dev_app(tmp_path / "keys.json", keys={"SECRET_KEY": OLD_DEV_DEFAULT})


def test_wsgi_without_linli_config_says_which_configuration_and_key_source(tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in ("LINLI_CONFIG", *KEY_NAMES)}
    key_file = tmp_path / "keys.json"
    env.update(
        LINLI_KEY_FILE=str(key_file),
        DATABASE_URL=f"sqlite:///{tmp_path / 'w.db'}",
        PYTHONPATH=str(ROOT),
    )
    done = subprocess.run(
        [sys.executable, "-c", "import wsgi"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    assert "LINLI_CONFIG is not set" in done.stderr
    assert "DEVELOPMENT" in done.stderr
    assert f"Keys come from: {key_file}" in done.stderr
    assert key_file.exists()


# ---- finding 3: weak keys -------------------------------------------------------------------


WEAK = [
    ("SECRET_KEY", {"SECRET_KEY": "a" * 32}),
    ("SECRET_KEY", {"SECRET_KEY": "changeme" * 4}),
    ("SECRET_KEY", {"SECRET_KEY": OLD_DEV_DEFAULT}),
    ("SECRET_KEY", {"SECRET_KEY": "secret"}),
    ("SECRET_KEY", {"SECRET_KEY": ""}),
    ("ID_HASH_KEY", {"ID_HASH_KEY": "1"}),
    ("ID_HASH_KEY", {"ID_HASH_KEY": ""}),
    ("DATA_KEY", {"DATA_KEY": "1"}),
    ("DATA_KEY", {"DATA_KEY": "abcdefghij" * 8}),
]


@pytest.mark.parametrize(("name", "weak"), WEAK)
def test_production_refuses_a_weak_or_missing_key(monkeypatch, name, weak):
    from config import ProductionConfig

    for key, value in {**_strong(), **weak}.items():
        monkeypatch.setattr(ProductionConfig, key, value)
    with pytest.raises(RuntimeError, match=name) as refused:
        create_app("production", SQLALCHEMY_DATABASE_URI="sqlite://")
    assert "拒绝启动" in str(refused.value)


def test_production_refuses_equal_keys(monkeypatch):
    from config import ProductionConfig

    same = new_key()
    for key in KEY_NAMES:
        monkeypatch.setattr(ProductionConfig, key, same)
    with pytest.raises(RuntimeError, match="SECRET_KEY and ID_HASH_KEY are equal"):
        create_app("production", SQLALCHEMY_DATABASE_URI="sqlite://")
    monkeypatch.setattr(ProductionConfig, "SECRET_KEY", new_key())
    with pytest.raises(RuntimeError, match="ID_HASH_KEY and DATA_KEY are equal"):
        create_app("production", SQLALCHEMY_DATABASE_URI="sqlite://")


@pytest.mark.parametrize(
    "generated",
    [
        lambda: __import__("secrets").token_urlsafe(48),
        lambda: __import__("secrets").token_hex(32),
        lambda: __import__("base64").b64encode(os.urandom(32)).decode(),
    ],
)
def test_production_accepts_generated_keys(monkeypatch, generated):
    from config import ProductionConfig

    for _ in range(20):  # many draws: the estimate must not refuse a real random key
        for key in KEY_NAMES:
            monkeypatch.setattr(ProductionConfig, key, generated())
        create_app("production", SQLALCHEMY_DATABASE_URI="sqlite://")


def test_hkdf_sub_keys_differ_per_purpose(app):
    keys = {p: crypto.derived_key(p) for p in (crypto.ID_HASH, crypto.DATA, crypto.AUDIT_CHAIN)}
    assert len(set(keys.values())) == 3
    assert all(len(k) == 32 for k in keys.values())
    expected = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=b"linli/v1/data").derive(
        app.config["DATA_KEY"].encode()
    )
    assert keys[crypto.DATA] == expected
    # Not the old single SHA-256.
    old = hashlib.sha256(b"linli-data\x00" + app.config["DATA_KEY"].encode()).digest()
    assert keys[crypto.DATA] != old == crypto.derived_legacy_key(crypto.DATA)


# ---- old data stays readable ----------------------------------------------------------------


def _fresh_url(tmp_path) -> str:
    if not PG_URL:
        return f"sqlite:///{tmp_path / 'keys.db'}"
    admin = create_engine(PG_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text("DROP DATABASE IF EXISTS linli_keys"))
        conn.execute(text("CREATE DATABASE linli_keys"))
    admin.dispose()
    return PG_URL.rsplit("/", 1)[0] + "/linli_keys"


def _legacy_derivation(monkeypatch) -> None:
    """Make the code write what the code before 0015_keys wrote (SHA-256 sub-keys)."""
    from app.audit import chain

    monkeypatch.setattr(crypto, "derived_key", crypto.derived_legacy_key)
    monkeypatch.setattr(chain, "_key", chain._legacy_key)


def _id_number(n: int) -> str:
    from app.members.identity import check_char

    first17 = f"620302{date(1970, 1, 1 + n):%Y%m%d}{n * 2 + 1:03d}"
    return first17 + check_char(first17)


def _make_members(numbers: list[str]) -> list[int]:
    from app.members.services import create_member
    from app.organization.models import Org, Place

    community = Place(kind="community", name="金川社区", code="C1")
    db.session.add(community)
    db.session.flush()
    grid = Place(kind="grid", name="第一网格", parent_id=community.id, position=1)
    street = Org(kind="street_committee", name="滨河街道党工委")
    db.session.add_all([grid, street])
    db.session.flush()
    branch = Org(kind="branch", name="第一党支部", parent_id=street.id)
    db.session.add(branch)
    db.session.flush()
    ids = []
    for n, number in enumerate(numbers):
        member = create_member(
            {
                "name": f"老数据{n}",
                "id_number": number,
                "phone": f"1390000000{n}",
                "joined_on": date(2000, 1, 1),
                "branch_id": branch.id,
                "grid_id": grid.id,
            },
            None,
        )
        ids.append(member.id)
    db.session.commit()
    return ids


def test_data_written_with_the_old_derivation_survives_the_upgrade(tmp_path, monkeypatch):
    from app.audit import chain, record
    from app.audit.models import AuditEntry
    from app.members.models import Member
    from app.members.queries import search_clause
    from app.members.services import find_by_id_number
    from app.registration.models import Registration
    from app.registration.services import open_for_id_hash

    url = _fresh_url(tmp_path)
    application = create_app("testing", SQLALCHEMY_DATABASE_URI=url)
    numbers = [_id_number(n) for n in range(3)]
    with application.app_context():
        upgrade(directory="migrations", revision="0014_trips")
        with db.engine.begin() as conn:  # the head as the old code left it
            conn.execute(
                text("INSERT INTO audit_chain (id, seq, last_hash) VALUES (1, 0, :h)"),
                {"h": "0" * 64},
            )
        with monkeypatch.context() as old_code:
            _legacy_derivation(old_code)
            member_ids = _make_members(numbers[:2])
            db.session.execute(
                Registration.__table__.insert().values(
                    tracking_code="T1",
                    idempotency_key="k1",
                    kind="arrival",
                    status="submitted",
                    data={},
                    name="报到人",
                    id_number_enc=crypto.encrypt(numbers[2]),
                    id_hash=crypto.keyed_hash(numbers[2]),
                    phone="13900000009",
                    consent_version="1",
                    consent_at=date(2024, 1, 1),
                    sensitive_consent=True,
                    created_at=date(2024, 1, 1),
                    updated_at=date(2024, 1, 1),
                    version=1,
                )
            )
            record("member_update", object_type="member", object_id=1, after={"x": 1})
            db.session.commit()
            old_enc = (
                db.session.execute(text("SELECT id_number_enc FROM member ORDER BY id"))
                .scalars()
                .all()
            )
            old_chain = db.session.execute(text("SELECT seq FROM audit_chain")).scalar_one()
            assert old_chain >= 3
            # Under the new derivation the old rows are not found by hash ...
        assert find_by_id_number(numbers[0]) is None
        # ... but already readable (the decrypt fallback).
        assert crypto.decrypt(old_enc[0]) == numbers[0]
        db.session.remove()

        upgrade(directory="migrations")

        for member_id, number in zip(member_ids, numbers, strict=False):
            found = find_by_id_number(number)
            assert found is not None and found.id == member_id
            assert crypto.decrypt(found.id_number_enc) == number
            # written with the HKDF key now
            assert crypto.decrypt_with([crypto.derived_key(crypto.DATA)], found.id_number_enc)
            by_last4 = db.session.scalars(select(Member.id).where(search_clause(number[-4:]))).all()
            assert member_id in by_last4
        registration = open_for_id_hash(crypto.keyed_hash(numbers[2]))
        assert registration is not None
        assert crypto.decrypt(registration.id_number_enc) == numbers[2]
        result = chain.verify()
        assert result.ok, result.summary()
        assert result.checked == old_chain + 1  # plus the migration's own row
        last = db.session.execute(
            select(AuditEntry).order_by(AuditEntry.seq.desc()).limit(1)
        ).scalar_one()
        assert last.action == "keys_migrate"
        assert last.after == {"members": 2, "registrations": 1, "unreadable": 0}
        # New rows chain on with the HKDF key and the whole chain still verifies.
        record("member_update", object_type="member", object_id=2, after={"x": 2})
        db.session.commit()
        assert chain.verify().ok
        db.session.remove()
        db.engine.dispose()


# ---- key rotation ---------------------------------------------------------------------------


def _rotate(app, runner, monkeypatch, old_data_key: str | None):
    if old_data_key:
        monkeypatch.setenv("OLD_DATA_KEY", old_data_key)
    else:
        monkeypatch.delenv("OLD_DATA_KEY", raising=False)
    return runner.invoke(args=["keys", "rotate"])


def test_rotate_re_encrypts_re_hashes_and_re_chains(app, runner, monkeypatch):
    from app.audit import chain, record
    from app.audit.models import AuditEntry
    from app.members.services import find_by_id_number

    numbers = [_id_number(n) for n in range(2)]
    _make_members(numbers)
    record("member_update", object_type="member", object_id=1, after={"x": 1})
    db.session.commit()
    old_data = app.config["DATA_KEY"]
    monkeypatch.setitem(app.config, "DATA_KEY", new_key())
    monkeypatch.setitem(app.config, "ID_HASH_KEY", new_key())
    assert find_by_id_number(numbers[0]) is None
    assert not chain.verify().ok

    # A wrong old key changes nothing.
    refused = _rotate(app, runner, monkeypatch, new_key())
    assert refused.exit_code != 0 and "nothing was changed" in refused.output
    assert find_by_id_number(numbers[0]) is None

    done = _rotate(app, runner, monkeypatch, old_data)
    assert done.exit_code == 0, done.output
    db.session.expire_all()
    for number in numbers:
        member = find_by_id_number(number)
        assert member is not None and crypto.decrypt(member.id_number_enc) == number
        assert (
            crypto.decrypt_with([crypto.hkdf_key(old_data, crypto.DATA)], member.id_number_enc)
            is None
        )
    assert chain.verify().ok
    last = db.session.execute(
        select(AuditEntry).order_by(AuditEntry.seq.desc()).limit(1)
    ).scalar_one()
    assert last.action == "keys_rotate"
    assert last.after["members"] == 2


def test_rotate_refuses_a_tampered_chain(app, runner, monkeypatch):
    from app.audit import chain, record
    from app.audit.chain import disable_append_only_sql, enable_append_only_sql

    record("member_update", object_type="member", object_id=1, after={"x": 1})
    record("member_update", object_type="member", object_id=2, after={"x": 2})
    db.session.commit()
    for ddl in disable_append_only_sql(db.engine.dialect.name):
        db.session.execute(text(ddl))
    db.session.execute(text("UPDATE audit_entry SET object_id = '9' WHERE seq = 1"))
    for ddl in enable_append_only_sql(db.engine.dialect.name):
        db.session.execute(text(ddl))
    db.session.commit()
    old_data = app.config["DATA_KEY"]
    monkeypatch.setitem(app.config, "DATA_KEY", new_key())
    refused = _rotate(app, runner, monkeypatch, old_data)
    assert refused.exit_code != 0 and "nothing was changed" in refused.output
    monkeypatch.setitem(app.config, "DATA_KEY", old_data)
    result = chain.verify()
    assert not result.ok and result.broken_seq == 1  # still reported where it was


def test_fallback_secret_keys_pass_the_same_checks(monkeypatch):
    from config import ProductionConfig

    for key, value in _strong().items():
        monkeypatch.setattr(ProductionConfig, key, value)
    for weak in (OLD_DEV_DEFAULT, "changeme" * 4, ProductionConfig.DATA_KEY):
        monkeypatch.setattr(ProductionConfig, "SECRET_KEY_FALLBACKS", [weak])
        with pytest.raises(RuntimeError, match="SECRET_KEY_FALLBACKS"):
            create_app("production", SQLALCHEMY_DATABASE_URI="sqlite://")


def test_a_rotated_secret_key_keeps_sessions_and_printed_qr_codes_valid(app, auth, client):
    from app.certificates.signing import _signer

    auth.login_as("admin")
    old = app.config["SECRET_KEY"]
    qr_token = _signer().sign("SERIAL123").decode()
    cookie = client.get_cookie("linli_session").value
    app.config["SECRET_KEY"] = app.secret_key = new_key()
    # Without the old key in the fallbacks: logged out, and the QR token is refused.
    assert client.get("/admin/users/").status_code == 302
    with pytest.raises(Exception, match="Signature"):
        _signer().unsign(qr_token)
    app.config["SECRET_KEY_FALLBACKS"] = [old]
    client.set_cookie("linli_session", cookie)
    assert client.get("/admin/users/").status_code == 200
    assert _signer().unsign(qr_token) == b"SERIAL123"
    # New signatures use the new key only.
    new_only = Signer(
        app.config["SECRET_KEY"], salt="linli.certificate.qr", digest_method=hashlib.sha256
    )
    assert new_only.unsign(_signer().sign("X")) == b"X"
