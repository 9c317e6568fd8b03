# ruff: noqa: F811  (pytest fixtures imported from the members conftest)
"""The audit log names who did what to which object (issue 12, item 11): the acting user's name
and username, objects as a Chinese kind with a readable name (member names masked), looked up
for the whole page at once; filters are pickers (object kinds, actions) and a name search."""

from __future__ import annotations

import re

import pytest

from app.audit import record
from app.extensions import db
from tests.members.conftest import make_member, tree  # noqa: F401


def rows(html: str) -> str:
    return html.split('<tbody class="page-rows">')[1].split("</tbody>")[0]


def row_of(html: str, needle: str) -> str:
    return next(r for r in rows(html).split("<tr>") if needle in r)


@pytest.fixture
def admin(auth):
    return auth.login_as("admin", username="lihua", display_name="李华")


def test_actor_is_named_not_numbered(client, admin, make_user):
    clerk = make_user("staff", username="wangfang", display_name="王芳")
    record("user_create", clerk, user=admin)
    db.session.commit()
    html = client.get("/admin/audit/?action=user_create").get_data(as_text=True)
    row = row_of(html, "创建账号")
    assert "李华" in row and "lihua" in row  # who: name and username
    assert "账号" in row and "王芳（wangfang）" in row  # what: kind and name
    assert "user #" not in rows(html) and ">user<" not in rows(html)


@pytest.mark.parametrize(
    ("make_object", "kind", "name"),
    [
        (lambda t, m: m(name="张晓明", building=t["building_a"]), "党员", "张*明"),
        (lambda t, m: t["branch_a"], "党组织", "第一小区党支部"),
        (lambda t, m: t["building_a"], "地点（社区/网格/楼栋）", "1号楼"),
    ],
)
def test_objects_have_a_chinese_kind_and_a_readable_name(
    client,
    admin,
    tree,
    make_member,
    make_object,
    kind,
    name,  # noqa: F811
):
    obj = make_object(tree, make_member)
    record("export", obj, user=admin)
    db.session.commit()
    html = client.get("/admin/audit/?action=export").get_data(as_text=True)
    row = row_of(html, "导出")
    assert f'<span class="audit-kind">{kind}</span>' in row
    assert name in row and f"#{obj.id}" in row


def test_member_names_are_masked_and_link_to_the_card(client, admin, tree, make_member):  # noqa: F811
    member = make_member(name="张晓明", building=tree["building_a"])
    record("member_reveal", member, user=admin)
    db.session.commit()
    html = client.get("/admin/audit/?object=member").get_data(as_text=True)
    row = row_of(html, "查看完整证件号")
    assert "张晓明" not in row
    assert f'<a href="/members/{member.id}">张*明</a>' in row


def test_unknown_objects_show_kind_and_id(client, admin):
    record("org_delete", object_type="org", object_id=987654)
    record("member_view", object_type="member", object_id="not-a-number")
    record("setting_change", object_type="setting", object_id="contact_log_months")
    db.session.commit()
    html = rows(client.get("/admin/audit/").get_data(as_text=True))
    assert '党组织</span> <span class="muted small">#987654' in html
    assert "#not-a-number" in html
    assert "系统设置" in html


def test_names_are_looked_up_per_page_not_per_row(
    client,
    admin,
    tree,
    make_member,
    make_user,
    count_queries,  # noqa: F811
):
    def add(n: int) -> None:
        for _ in range(n):
            member = make_member(building=tree["building_a"])
            user = make_user("staff")
            record("member_update", member, user=user)
            record("user_create", user, user=admin)
            record("org_rename", tree["branch_a"], user=user)
        db.session.commit()

    add(2)
    client.get("/admin/audit/")  # warm up
    with count_queries() as few:
        client.get("/admin/audit/")
    add(12)
    client.get("/admin/audit/")  # warm up again: new users renew the cached session user
    with count_queries() as many:
        html = client.get("/admin/audit/").get_data(as_text=True)
    assert rows(html).count("<tr>") > 40
    assert many.count == few.count


def test_object_filter_is_a_select_of_chinese_kinds(client, admin, tree, make_member):  # noqa: F811
    member = make_member(building=tree["building_a"])
    record("member_reveal", member, user=admin)
    db.session.commit()
    html = client.get("/admin/audit/").get_data(as_text=True)
    picker = re.search(r'<select name="object">(.*?)</select>', html, re.S).group(1)
    assert '<option value="member">党员</option>' in picker
    assert '<option value="certificate">流动党员活动证</option>' in picker
    assert "如 user、member" not in html
    only = rows(client.get("/admin/audit/?object=member").get_data(as_text=True))
    assert "查看完整证件号" in only and "登录" not in only
    chosen = client.get("/admin/audit/?object=member").get_data(as_text=True)
    assert '<option value="member" selected>党员</option>' in chosen


def test_action_picker_has_chinese_labels(client, admin):
    html = client.get("/admin/audit/").get_data(as_text=True)
    picker = re.search(r'<select name="action">(.*?)</select>', html, re.S).group(1)
    assert '<option value="login">登录</option>' in picker
    assert '<option value="user_create">创建账号</option>' in picker


@pytest.mark.parametrize(
    ("typed", "sees_wang", "sees_zhao"),
    [
        ("王", True, False),  # part of the display name
        ("wangf", True, False),  # part of the username
        ("WANGF", True, False),  # in any case
        ("zhaolei", False, True),  # the whole username
        ("%", False, False),  # wildcards are typed text, not patterns
        ("李", False, False),
    ],
)
def test_user_filter_matches_names(client, admin, make_user, typed, sees_wang, sees_zhao):
    wang = make_user("staff", username="wangfang", display_name="王芳")
    zhao = make_user("staff", username="zhaolei", display_name="赵磊")
    record("member_export", object_type="roster", user=wang, detail="wang-export")
    record("member_export", object_type="roster", user=zhao, detail="zhao-export")
    db.session.commit()
    html = rows(client.get("/admin/audit/", query_string={"user": typed}).get_data(as_text=True))
    assert ("wang-export" in html) is sees_wang
    assert ("zhao-export" in html) is sees_zhao


def test_user_picker_is_a_search_box_not_a_list(client, admin, make_user):
    for i in range(30):
        make_user("staff", display_name=f"员工{i}")
    html = client.get("/admin/audit/").get_data(as_text=True)
    assert re.search(r'<input type="search" name="user"[^>]*placeholder="姓名或用户名"', html)
    assert "员工29" not in html.split('<section id="audit-results"')[0]
