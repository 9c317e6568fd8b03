"""The admin pages' forms through the one unit of work (nothing written on a 422, whole-form
messages shown, no 500 for odd ids) and the paged account list (加载更多)."""

from __future__ import annotations

import re

from sqlalchemy import func, select

from app.audit.models import AuditEntry
from app.auth.models import User
from app.extensions import db
from app.organization.models import GridWorker, Place, UserScope
from tests.organization.test_routes import HX, admin, post  # noqa: F401  (fixture)

HUGE = "99999999999999999999999"


def test_odd_ids_in_selects_are_field_messages_not_500(admin, structure, make_user):  # noqa: F811
    a = structure["a"]
    staff = make_user("staff")
    for target in (f"org:{HUGE}", "org:²", "place:-3", "org:abc", "nonsense"):
        response = post(admin, f"/admin/users/{staff.id}/scopes", {"target": target}, headers=HX)
        assert response.status_code == 422, target
        assert "请选择一个党组织或一个社区/网格" in response.get_data(as_text=True)
    for value in (HUGE, "x"):
        for url, name in (
            (f"/admin/users/{staff.id}/grids", "grid_id"),
            (f"/admin/org/place/{a['b2'].id}/group", "group_id"),
            (f"/admin/org/place/{a['grid'].id}/workers", "user_id"),
            (f"/admin/org/place/{a['grid'].id}/move", "parent_id"),
        ):
            response = post(admin, url, {name: value}, headers=HX)
            assert response.status_code == 422, (url, value)
            assert 'aria-invalid="true"' in response.get_data(as_text=True)
    assert db.session.scalar(select(func.count()).select_from(UserScope)) == 0
    assert db.session.scalar(select(func.count()).select_from(GridWorker)) == 0


def test_a_refused_action_writes_nothing_and_says_why(admin, structure):  # noqa: F811
    a = structure["a"]
    before = db.session.scalar(select(func.count()).select_from(AuditEntry))
    response = post(admin, f"/admin/org/place/{a['grid'].id}/retire", headers=HX)
    body = response.get_data(as_text=True)
    assert response.status_code == 422 and 'id="danger-panel"' in body
    assert 'class="form-errors"' in body and "在用的下级" in body
    db.session.expire_all()
    assert db.session.get(Place, a["grid"].id).retired_at is None
    assert db.session.scalar(select(func.count()).select_from(AuditEntry)) == before
    # Without JavaScript the whole node page comes back with the message.
    response = post(admin, f"/admin/org/place/{a['grid'].id}/retire")
    assert response.status_code == 422 and "<html" in response.get_data(as_text=True)


def test_rename_without_javascript_keeps_what_was_typed(admin, structure):  # noqa: F811
    b2 = structure["a"]["b2"]
    response = post(admin, f"/admin/org/place/{b2.id}/name", {f"rename{b2.id}-name": "甲1号楼"})
    html = response.get_data(as_text=True)
    assert response.status_code == 422 and "<html" in html
    assert "已有名为" in html and 'value="甲1号楼"' in html
    db.session.expire_all()
    assert db.session.get(Place, b2.id).name == "甲2号楼"


def test_account_list_loads_more(admin):  # noqa: F811
    for i in range(60):
        db.session.add(
            User(
                username=f"gw{i:03d}",
                display_name=f"网格员{i}",
                role="grid_worker",
                password_hash="x",
            )
        )
    db.session.commit()
    first = admin.client.get("/admin/users/?role=grid_worker")
    html = first.get_data(as_text=True)
    assert first.status_code == 200 and html.count('data-label="用户名"') == 50
    more = re.search(r'hx-get="(/admin/users/\?[^"]*after=\d+[^"]*)"', html).group(1)
    more = more.replace("&amp;", "&")
    assert "role=grid_worker" in more
    fragment = admin.client.get(more, headers=HX)
    body = fragment.get_data(as_text=True)
    assert fragment.status_code == 200 and "<html" not in body
    assert body.count('data-label="用户名"') == 10 and "加载更多" not in body
    names = re.findall(r'data-label="用户名">(gw\d+)<', html + body)
    assert names == [f"gw{i:03d}" for i in range(60)]
    # Opened directly (no JavaScript, a new tab): the whole page with the next rows.
    whole = admin.client.get(more)
    page = whole.get_data(as_text=True)
    assert whole.status_code == 200 and "<html" in page and "账号与权限" in page
    assert page.count('data-label="用户名"') == 10
    # A cursor that is garbage or huge is ignored: the first page.
    for cursor in ("abc", HUGE, "-1"):
        response = admin.client.get(f"/admin/users/?after={cursor}")
        assert response.status_code == 200
