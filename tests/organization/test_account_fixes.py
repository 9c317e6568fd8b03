"""账号与权限 as a new admin meets it (issue 12: items 4 and 5)."""

from __future__ import annotations

import re

import pytest

from app.extensions import db
from app.organization import accounts, services

HX = {"HX-Request": "true"}


@pytest.fixture
def admin(auth, structure):
    auth.login_as("admin")
    return auth


def _create(admin, headers=None):
    return admin.client.post(
        "/admin/users/new",
        data={
            "csrf_token": admin.token(),
            "username": "li_gw",
            "display_name": "李网格",
            "role": "grid_worker",
        },
        headers=headers or {},
    )


def test_created_account_replaces_the_page_content_not_the_form(admin):
    response = _create(admin, HX)
    body = response.get_data(as_text=True)
    assert response.status_code == 200
    # a fragment for the page's main area: no second top bar or navigation
    assert "<html" not in body and "mainnav" not in body and "新建账号" not in body
    assert body.count("账号已创建") == 1 and 'data-testid="initial-password"' in body
    assert response.headers["HX-Retarget"] == "#main"
    assert response.headers["HX-Reswap"] == "innerHTML"
    user = db.session.execute(db.select(accounts.User).filter_by(username="li_gw")).scalar_one()
    assert response.headers["HX-Push-Url"] == f"/admin/users/{user.id}"


def test_created_account_without_javascript_is_one_whole_page(admin):
    response = _create(admin)
    body = response.get_data(as_text=True)
    assert response.status_code == 200
    assert body.count('class="mainnav"') == 1 and body.count("<html") == 1
    assert "账号已创建" in body and "创建账号</button>" not in body


def test_grid_choices_name_their_community(admin, structure):
    for key in ("a", "b"):
        services.create_node("place", structure[key]["community"].id, "第一网格")
    db.session.commit()
    user, _ = accounts.create_account("wang_staff", "王工作", "staff")
    db.session.commit()
    html = admin.client.get(f"/admin/users/{user.id}").get_data(as_text=True)
    options = re.findall(r"<option[^>]*>([^<]*)</option>", html)
    grid_options = [o for o in options if o.startswith("网格：")]
    assert "网格：甲社区 / 第一网格" in grid_options
    assert "网格：乙社区 / 第一网格" in grid_options
    assert "网格：甲社区 / 甲一网格" in grid_options
    assert not [o for o in grid_options if o.startswith("网格： /")]
    assert len(grid_options) == len(set(grid_options))
