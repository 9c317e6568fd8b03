"""htmx contract and the admin pages: fragments, 422 with messages, import flow, accounts."""

from __future__ import annotations

import io

import pytest
from sqlalchemy import select

from app.audit.models import AuditEntry
from app.auth.models import User
from app.extensions import db
from app.organization.models import GridWorker, Org, Place, UserScope
from tests.organization.factories import place_member
from tests.organization.test_import import ROWS, csv_bytes

HX = {"HX-Request": "true"}


@pytest.fixture
def admin(auth, structure):
    auth.login_as("admin")
    return auth


def post(auth, url, data=None, **kw):
    return auth.client.post(url, data={"csrf_token": auth.token(), **(data or {})}, **kw)


def test_tree_page_full_and_partial(admin, structure):
    html = admin.client.get("/admin/org").get_data(as_text=True)
    assert "<html" in html and "测试街道党工委" in html and "甲社区党委" in html
    html = admin.client.get("/admin/org?tree=place").get_data(as_text=True)
    assert "甲一网格" in html and "甲1号楼" not in html  # buildings load when expanded
    grid = structure["a"]["grid"]
    response = admin.client.get(f"/admin/org/place/{grid.id}/children", headers=HX)
    fragment = response.get_data(as_text=True)
    assert response.status_code == 200 and "<html" not in fragment and "甲1号楼" in fragment
    assert "HX-Request" in response.headers["Vary"]
    boosted = admin.client.get(
        f"/admin/org/place/{grid.id}/children", headers={**HX, "HX-Boosted": "true"}
    )
    assert "<html" in boosted.get_data(as_text=True)


def test_breadcrumbs_and_counts(admin, structure):
    a = structure["a"]
    place_member(a)
    db.session.commit()
    html = admin.client.get(f"/admin/org/org/{a['group'].id}").get_data(as_text=True)
    assert html.index("测试街道党工委") < html.index("甲社区党委") < html.index("甲第一支部")
    counts = admin.client.get(f"/admin/org/place/{a['grid'].id}/counts", headers=HX)
    assert 'data-figure="on_roster">1<' in counts.get_data(
        as_text=True
    ) and "楼栋 2" in counts.get_data(as_text=True)


def test_inline_add_child_and_422(admin, structure):
    grid = structure["a"]["grid"]
    url = f"/admin/org/place/{grid.id}/children"
    p = f"add{grid.id}-"
    response = post(admin, url, {p + "name": "甲3号楼", p + "address": "甲路3号"}, headers=HX)
    assert response.status_code == 200 and "甲3号楼" in response.get_data(as_text=True)
    assert "tree-changed" in response.headers["HX-Trigger"]
    response = post(admin, url, {p + "name": "甲3号楼"}, headers=HX)
    body = response.get_data(as_text=True)
    assert response.status_code == 422 and "<html" not in body
    assert "同一上级下已有名为「甲3号楼」的节点" in body and 'aria-invalid="true"' in body
    response = post(admin, url, {p + "name": ""}, headers=HX)
    assert response.status_code == 422 and "请填写名称" in response.get_data(as_text=True)
    # Without JavaScript: a full page, then a redirect.
    response = post(admin, url, {p + "name": "甲4号楼"})
    assert response.status_code == 303


def test_add_root_and_wrong_kind(admin, structure):
    response = post(admin, "/admin/org?tree=place", {"add0-name": "丙社区"}, headers=HX)
    assert response.status_code == 200 and "丙社区" in response.get_data(as_text=True)
    b1 = structure["a"]["b1"]
    response = post(
        admin, f"/admin/org/place/{b1.id}/children", {f"add{b1.id}-name": "x"}, headers=HX
    )
    assert response.status_code == 422 and "不能再添加下级" in response.get_data(as_text=True)


def test_inline_rename(admin, structure):
    b2 = structure["a"]["b2"]
    form = admin.client.get(f"/admin/org/place/{b2.id}/name", headers=HX).get_data(as_text=True)
    assert "<form" in form and "<html" not in form
    response = post(
        admin, f"/admin/org/place/{b2.id}/name", {f"rename{b2.id}-name": "甲1号楼"}, headers=HX
    )
    assert response.status_code == 422 and "已有名为" in response.get_data(as_text=True)
    response = post(
        admin, f"/admin/org/place/{b2.id}/name", {f"rename{b2.id}-name": "甲二号楼"}, headers=HX
    )
    assert response.status_code == 200 and "甲二号楼" in response.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(Place, b2.id).name == "甲二号楼"


def test_move_delete_retire_through_routes(admin, structure):
    a, b = structure["a"], structure["b"]
    place_member(a)
    db.session.commit()
    url = f"/admin/org/place/{a['grid'].id}"
    response = post(admin, url + "/delete", headers=HX)
    body = response.get_data(as_text=True)
    assert response.status_code == 422 and "该网格下还有2 个楼栋、1 名党员，不能删除" in body
    response = post(admin, url + "/move", {"parent_id": a["b1"].id}, headers=HX)
    assert response.status_code == 422 and "它自己或它的下级" in response.get_data(as_text=True)
    response = post(admin, url + "/move", {"parent_id": b["community"].id}, headers=HX)
    assert response.status_code == 200 and response.headers["HX-Redirect"] == url
    db.session.expire_all()
    assert db.session.get(Place, a["grid"].id).parent_id == b["community"].id
    response = post(admin, url + "/retire", headers=HX)
    assert response.status_code == 422 and "在用的下级" in response.get_data(as_text=True)


def test_edit_link_group_and_appoint(admin, structure, make_user):
    a, b = structure["a"], structure["b"]
    response = post(
        admin, f"/admin/org/place/{a['b2'].id}/group", {"group_id": b["group"].id}, headers=HX
    )
    assert response.status_code == 422 and "不属于该楼栋所在的社区" in response.get_data(
        as_text=True
    )
    response = post(admin, f"/admin/org/place/{a['b2'].id}/group", {"group_id": a["group"].id})
    assert response.status_code == 303
    worker = make_user("grid_worker")
    response = post(admin, f"/admin/org/place/{a['grid'].id}/workers", {"user_id": worker.id})
    assert response.status_code == 303
    response = post(
        admin, f"/admin/org/place/{a['grid'].id}/workers", {"user_id": worker.id}, headers=HX
    )
    assert response.status_code == 422 and "已是该网格的网格员" in response.get_data(as_text=True)
    response = post(
        admin, f"/admin/org/place/{a['b1'].id}", {"name": "", "address": "x"}, headers=HX
    )
    assert response.status_code == 422 and "请填写名称" in response.get_data(as_text=True)
    response = post(
        admin, f"/admin/org/org/{a['branch'].id}", {"name": "甲联合支部", "is_joint": "y"}
    )
    assert response.status_code == 303
    db.session.expire_all()
    assert db.session.get(Org, a["branch"].id).kind_label == "联合党支部"
    assert db.session.get(Place, a["b2"].id).group_id == a["group"].id
    assert db.session.scalar(select(GridWorker).where(GridWorker.user_id == worker.id))


def test_import_preview_commit_and_rejected_download(admin, app, tmp_path, make_user):
    app.config["ORG_IMPORT_DIR"] = str(tmp_path)
    rows = [*ROWS, ["", "第一网格", "9号楼", "", "", "", ""]]
    data = csv_bytes(rows, encoding="gbk")

    def upload():
        return admin.client.post(
            "/admin/org/import",
            data={"csrf_token": admin.token(), "file": (io.BytesIO(data), "结构.csv")},
            content_type="multipart/form-data",
            headers=HX,
        )

    response = upload()
    body = response.get_data(as_text=True)
    assert response.status_code == 200 and "<html" not in body
    assert "必填" in body and "确认导入" in body
    assert "built-in method" not in body  # the 更新 count is a number, not dict.update
    token = body.split("/admin/org/import/")[1].split('"')[0].split("/")[0]
    assert db.session.scalar(select(Place).where(Place.name == "幸福社区")) is None
    rejected = admin.client.get(f"/admin/org/import/{token}/rejected.xlsx")
    assert rejected.status_code == 200 and rejected.data[:2] == b"PK"
    # The token is bound to the admin who uploaded.
    other = app.test_client()
    other_admin = make_user("admin")
    from tests.conftest import csrf_token

    other.post(
        "/login",
        data={
            "username": other_admin.username,
            "password": "Test-Passw0rd!",
            "csrf_token": csrf_token(other),
        },
    )
    assert other.get(f"/admin/org/import/{token}/rejected.xlsx").status_code == 404
    response = post(admin, f"/admin/org/import/{token}")
    assert response.status_code == 303
    db.session.expire_all()
    assert db.session.scalar(select(Place).where(Place.name == "幸福社区")) is not None
    assert db.session.scalar(select(AuditEntry).where(AuditEntry.action == "org_import"))
    body = upload().get_data(as_text=True)
    assert "没有需要写入的变化" in body


def test_import_refuses_bad_file_with_422(admin):
    response = admin.client.post(
        "/admin/org/import",
        data={"csrf_token": admin.token(), "file": (io.BytesIO(b"not a zip"), "x.xlsx")},
        content_type="multipart/form-data",
        headers=HX,
    )
    body = response.get_data(as_text=True)
    assert response.status_code == 422 and "文件内容不是 Excel" in body and "<html" not in body
    response = post(admin, "/admin/org/import", headers=HX)
    assert response.status_code == 422 and "请选择要导入的文件" in response.get_data(as_text=True)


def test_accounts_create_reset_deactivate_scope(admin, structure):
    a = structure["a"]
    response = post(
        admin,
        "/admin/users/new",
        {"username": "li_gw", "display_name": "李网格", "role": "grid_worker"},
    )
    body = response.get_data(as_text=True)
    assert response.status_code == 200 and "初始密码只显示这一次" in body
    password = body.split('data-testid="initial-password">')[1].split("<")[0]
    user = db.session.scalar(select(User).where(User.username == "li_gw"))
    assert user.must_change_password and password not in str(user.password_hash)
    response = post(
        admin,
        "/admin/users/new",
        {"username": "li_gw", "display_name": "x", "role": "staff"},
        headers=HX,
    )
    assert response.status_code == 422 and "已存在" in response.get_data(as_text=True)
    response = post(admin, f"/admin/users/{user.id}/grids", {"grid_id": a["grid"].id})
    assert response.status_code == 303
    response = post(admin, f"/admin/users/{user.id}/scopes", {"target": f"org:{a['committee'].id}"})
    assert response.status_code == 303
    response = post(
        admin, f"/admin/users/{user.id}/scopes", {"target": f"place:{a['b1'].id}"}, headers=HX
    )
    assert response.status_code == 422 and "只能是社区或网格" in response.get_data(as_text=True)
    page = admin.client.get(f"/admin/users/{user.id}").get_data(as_text=True)
    assert "甲一网格" in page and "甲社区党委" in page
    response = post(admin, f"/admin/users/{user.id}/password")
    new_password = (
        response.get_data(as_text=True).split('data-testid="initial-password">')[1].split("<")[0]
    )
    assert new_password != password
    response = post(admin, f"/admin/users/{user.id}/active", {"active": "0"})
    assert response.status_code == 303
    response = post(admin, f"/admin/users/{admin.user.id}/active", {"active": "0"}, headers=HX)
    assert response.status_code == 422 and "不能停用自己的账号" in response.get_data(as_text=True)
    db.session.expire_all()
    assert not db.session.get(User, user.id).active
    assert db.session.scalar(select(UserScope).where(UserScope.user_id == user.id))
    actions = set(db.session.execute(select(AuditEntry.action)).scalars())
    assert {
        "user_create",
        "password_reset",
        "user_deactivate",
        "scope_add",
        "grid_worker_appoint",
    } <= actions


def test_tree_page_query_count_is_pinned(admin, structure, count_queries):
    from app.organization import services

    for i in range(5):
        community = services.create_node("place", None, f"社区{i}")
        services.create_node("org", structure["street"].id, f"社区{i}党委", place_id=community.id)
    db.session.commit()
    admin.client.get("/admin/org")  # warm up
    with count_queries() as counter:
        response = admin.client.get("/admin/org")
    assert response.status_code == 200
    few = counter.count
    for i in range(5, 25):
        services.create_node("org", structure["street"].id, f"社区{i}党委")
    db.session.commit()
    with count_queries() as counter:
        admin.client.get("/admin/org")
    assert counter.count == few  # no query per node
    assert few <= 8, few
    node = structure["a"]["grid"]
    with count_queries() as counter:
        admin.client.get(f"/admin/org/place/{node.id}/children", headers=HX)
    assert counter.count <= 5, counter.count
