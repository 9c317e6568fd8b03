"""Security baseline: headers, CSP, htmx configuration, no-store, production config."""

from __future__ import annotations

import json
import re

import pytest

from app import create_app


def test_security_headers_on_every_page(client):
    response = client.get("/login")
    csp = response.headers["Content-Security-Policy"]
    script_src = re.search(r"script-src ([^;]+)", csp).group(1)
    assert "unsafe-inline" not in script_src and "unsafe-eval" not in script_src
    assert "'unsafe-inline'" not in csp
    assert "frame-ancestors 'none'" in csp
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] == "same-origin"
    assert "HX-Request" in response.headers["Vary"]
    assert "Strict-Transport-Security" not in response.headers  # only in production


def test_no_inline_scripts_or_styles(client, auth):
    auth.login_as("admin")
    for path in ("/login", "/home", "/admin/audit/", "/account/password"):
        html = client.get(path, follow_redirects=True).get_data(as_text=True)
        assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", html), path
        assert " style=" not in html, path
        assert " onclick=" not in html, path


def test_htmx_config(client):
    html = client.get("/login").get_data(as_text=True)
    raw = re.search(r"<meta name=\"htmx-config\" content='([^']+)'>", html).group(1)
    config = json.loads(raw)
    assert config["historyCacheSize"] == 0
    assert config["allowEval"] is False
    assert config["includeIndicatorStyles"] is False
    assert {"code": "422", "swap": True} in config["responseHandling"]
    # CSRF token for htmx requests travels in a header set on <body>.
    assert re.search(r"<body[^>]+hx-headers='\{\"X-CSRFToken\": \"[^\"]+\"\}'", html)


def test_htmx_cdn_by_default_local_by_setting():
    cdn = create_app("testing", HTMX_LOCAL=False).test_client().get("/login").get_data(as_text=True)
    assert "cdn.jsdelivr.net/npm/htmx.org@2.0.11/dist/htmx.min.js" in cdn
    assert 'integrity="sha384-' in cdn
    local_app = create_app("testing", HTMX_LOCAL=True)
    local = local_app.test_client().get("/login")
    html = local.get_data(as_text=True)
    assert "/static/vendor/htmx-2.0.11.min.js" in html
    assert "cdn.jsdelivr.net" not in html
    assert "cdn.jsdelivr.net" not in local.headers["Content-Security-Policy"]


def test_csp_allows_only_the_exact_htmx_file_from_the_cdn():
    """Not the whole CDN origin (anyone can publish a package there): the one pinned file."""
    response = create_app("testing", HTMX_LOCAL=False).test_client().get("/login")
    assert response.headers["Content-Security-Policy"] == (
        "default-src 'self'; "
        "script-src 'self' https://cdn.jsdelivr.net/npm/htmx.org@2.0.11/dist/htmx.min.js; "
        "style-src 'self'; img-src 'self' data:; font-src 'self'; connect-src 'self'; "
        "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
    )
    # The page loads exactly the file the policy allows.
    html = response.get_data(as_text=True)
    assert '<script src="https://cdn.jsdelivr.net/npm/htmx.org@2.0.11/dist/htmx.min.js"' in html
    local = create_app("testing", HTMX_LOCAL=True).test_client().get("/login")
    assert "script-src 'self';" in local.headers["Content-Security-Policy"]


def test_authenticated_pages_are_not_cached(client, auth):
    assert "no-store" not in client.get("/login").headers.get("Cache-Control", "")
    auth.login_as("staff")
    assert client.get("/home").headers["Cache-Control"] == "no-store"


def test_csrf_header_accepted_for_htmx(client, auth):
    auth.login_as("staff")
    token = auth.token()
    response = client.post("/logout", headers={"X-CSRFToken": token, "HX-Request": "true"})
    assert response.status_code == 302
    response = client.post("/logout", headers={"HX-Request": "true"})
    assert response.status_code in (400, 401)


def test_session_cookie_flags(client, auth):
    auth.login_as("staff")
    cookie = client.get_cookie("linli_session")
    assert cookie.http_only
    assert cookie.same_site == "Lax"


@pytest.mark.parametrize("secret", [None, "", "dev-secret-not-for-production", "short"])
def test_production_refuses_default_or_missing_secret(monkeypatch, secret):
    from config import ProductionConfig, new_key

    monkeypatch.setattr(ProductionConfig, "SECRET_KEY", secret)
    monkeypatch.setattr(ProductionConfig, "ID_HASH_KEY", new_key())
    monkeypatch.setattr(ProductionConfig, "DATA_KEY", new_key())
    with pytest.raises(RuntimeError, match="SECRET_KEY"):
        create_app("production")


def test_production_starts_with_real_secrets(monkeypatch):
    from config import ProductionConfig, new_key

    monkeypatch.setattr(ProductionConfig, "SECRET_KEY", new_key())
    monkeypatch.setattr(ProductionConfig, "ID_HASH_KEY", new_key())
    monkeypatch.setattr(ProductionConfig, "DATA_KEY", new_key())
    monkeypatch.setattr(ProductionConfig, "SQLALCHEMY_DATABASE_URI", "sqlite://")
    application = create_app("production")
    assert application.config["SESSION_COOKIE_SECURE"] is True
    response = application.test_client().get("/login")
    assert "max-age=31536000" in response.headers["Strict-Transport-Security"]


def test_config_from_environment(monkeypatch):
    import importlib

    import config

    monkeypatch.setenv("DATABASE_URL", "sqlite:////tmp/elsewhere.db")
    monkeypatch.setenv("HTMX_LOCAL", "1")
    monkeypatch.setenv("SECRET_KEY", "from-env")
    reloaded = importlib.reload(config)
    try:
        assert reloaded.DevelopmentConfig.SQLALCHEMY_DATABASE_URI == "sqlite:////tmp/elsewhere.db"
        assert reloaded.DevelopmentConfig.HTMX_LOCAL is True
        assert reloaded.DevelopmentConfig.SECRET_KEY == "from-env"
    finally:
        monkeypatch.undo()
        importlib.reload(config)


def test_unknown_config_name_is_refused():
    with pytest.raises(RuntimeError, match="LINLI_CONFIG"):
        create_app("staging")


def test_trusted_proxy_setting_uses_forwarded_client_ip():
    from app.audit.models import AuditEntry
    from app.extensions import db

    application = create_app("testing", TRUSTED_PROXIES=1, SQLALCHEMY_DATABASE_URI="sqlite://")
    with application.app_context():
        db.create_all()
        c = application.test_client()
        html = c.get("/login").get_data(as_text=True)
        token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', html).group(1)
        c.post(
            "/login",
            data={"username": "x", "password": "y", "csrf_token": token},
            headers={"X-Forwarded-For": "203.0.113.9"},
        )
        assert db.session.execute(db.select(AuditEntry.ip)).scalar() == "203.0.113.9"
        db.session.remove()
        db.drop_all()


def test_session_serializer_is_built_once_per_key_set(app, client, auth):
    """The cookie serializer is kept between requests, and a key rotation (the old key moved
    to SECRET_KEY_FALLBACKS) still reads the sessions signed with the old key."""
    interface = app.session_interface
    auth.login_as("staff")
    first = interface.get_signing_serializer(app)
    assert client.get("/home").status_code == 200
    assert interface.get_signing_serializer(app) is first

    old = app.config["SECRET_KEY"]
    app.config["SECRET_KEY_FALLBACKS"] = [old]
    app.secret_key = "r" * 64
    try:
        rotated = interface.get_signing_serializer(app)
        assert rotated is not first
        assert client.get("/home").status_code == 200  # the cookie signed with the old key
    finally:
        app.secret_key = old
        app.config["SECRET_KEY_FALLBACKS"] = []
