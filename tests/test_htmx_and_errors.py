"""htmx contract (partial vs boosted) and the Chinese error pages."""

from __future__ import annotations

from app.audit import record
from app.extensions import db


def _audit_rows(n):
    for i in range(n):
        record("login", object_type="user", object_id=i, result="ok" if i % 2 else "failed")
    db.session.commit()


def test_partial_request_returns_fragment_and_boosted_full_page(auth, client):
    auth.login_as("admin")
    _audit_rows(3)
    partial = client.get("/admin/audit/", headers={"HX-Request": "true"})
    assert partial.status_code == 200
    body = partial.get_data(as_text=True)
    assert "<html" not in body
    assert 'id="audit-results"' in body
    boosted = client.get("/admin/audit/", headers={"HX-Request": "true", "HX-Boosted": "true"})
    assert "<html" in boosted.get_data(as_text=True)
    assert "HX-Request" in partial.headers["Vary"]


def test_404_in_chinese_and_as_fragment_for_htmx(auth, client):
    response = client.get("/no/such/page")
    assert response.status_code == 404
    html = response.get_data(as_text=True)
    assert "页面不存在" in html and "<html" in html
    auth.login_as("staff")
    fragment = client.get("/no/such/page", headers={"HX-Request": "true"})
    assert fragment.status_code == 404
    assert "<html" not in fragment.get_data(as_text=True)
    assert "页面不存在" in fragment.get_data(as_text=True)


def test_403_in_chinese(auth, client):
    auth.login_as("staff")
    response = client.get("/admin/audit/")
    assert response.status_code == 403
    assert "没有权限" in response.get_data(as_text=True)


def test_405_and_csrf_errors_are_chinese(client):
    response = client.put("/login")
    assert response.status_code == 405
    assert "不支持该操作" in response.get_data(as_text=True)
    response = client.post("/login", data={})
    assert response.status_code == 400
    assert "安全校验失败" in response.get_data(as_text=True)


def test_unexpected_error_gives_chinese_500_without_traceback(app, client):
    @app.route("/boom-test")
    def boom():
        raise RuntimeError("secret internals")

    response = client.get("/boom-test")
    assert response.status_code == 500
    html = response.get_data(as_text=True)
    assert "系统繁忙" in html
    assert "secret internals" not in html and "Traceback" not in html


def test_422_for_invalid_form(auth, client):
    from tests.conftest import csrf_token

    token = csrf_token(client, "/login")
    response = client.post("/login", data={"username": "", "password": "", "csrf_token": token})
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert "请输入用户名" in html and "请输入密码" in html
    assert 'aria-invalid="true"' in html
    assert 'aria-describedby="username-error"' in html


def test_history_restore_gets_the_whole_page(auth, client):
    """Back button with htmx's history cache off re-fetches the page: it must be whole."""
    auth.login_as("admin")
    response = client.get(
        "/admin/audit/?result=ok",
        headers={"HX-Request": "true", "HX-History-Restore-Request": "true"},
    )
    assert "<html" in response.get_data(as_text=True)
