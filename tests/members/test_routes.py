"""Member registry pages: list, search, paging, scope, masking, card, edit, override, reveal."""

from __future__ import annotations

import re
from datetime import date, timedelta

import pytest
from sqlalchemy import select

from app import paging
from app.audit.models import AuditEntry
from app.crypto import decrypt
from app.extensions import db
from app.members import services
from app.members.models import Member
from app.timeutil import local_today
from tests.conftest import search

TODAY = local_today()
HX = {"HX-Request": "true"}


def names_in(html: str) -> list[str]:
    return re.findall(r'class="member-name"><a href="/members/\d+">([^<]+)</a>', html)


@pytest.fixture
def two_grids(tree, make_member):
    """Three members in grid A, two in grid B."""
    a = [
        make_member(name=n, building=tree["building_a"], group=tree["group_a"])
        for n in ("张三", "张小明", "李四")
    ]
    b = [make_member(name=n, building=tree["building_b"]) for n in ("王五", "赵六")]
    return {"a": a, "b": b}


def test_list_is_scoped_to_the_grid_workers_grid(client, auth, tree, two_grids, grid_worker_of):
    worker = grid_worker_of(tree["grid_a"])
    auth.login(worker.username)
    response = client.get("/members/")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert sorted(names_in(html)) == sorted(["张三", "张小明", "李四"])
    assert "共 <strong>3</strong> 人" in html  # counts only in scope
    assert response.headers["Cache-Control"] == "no-store"
    # A guessed id of another grid's member answers 404, on every member route.
    other = two_grids["b"][0].id
    assert client.get(f"/members/{other}").status_code == 404
    assert client.get(f"/members/{other}/edit").status_code == 404
    token = auth.token()
    assert client.post(f"/members/{other}/reveal", data={"csrf_token": token}).status_code == 404
    assert (
        client.post(
            f"/members/{other}/category",
            data={"csrf_token": token, "category": "direct", "reason": "x"},
        ).status_code
        == 404
    )
    # Filtering by the other grid's id shows nothing.
    html = client.get(f"/members/?grid={tree['grid_b'].id}").get_data(as_text=True)
    assert names_in(html) == []


def test_staff_scoped_by_branch_sees_its_members(client, auth, tree, two_grids, staff_of):
    user = staff_of(org=tree["branch_a"])
    auth.login(user.username)
    html = client.get("/members/").get_data(as_text=True)
    assert sorted(names_in(html)) == sorted(["张三", "张小明", "李四"])


def test_staff_without_scope_sees_nobody(client, auth, two_grids):
    auth.login_as("staff")
    html = client.get("/members/").get_data(as_text=True)
    assert names_in(html) == [] and "没有符合条件的党员" in html


@pytest.mark.parametrize(
    ("q", "expected"),
    [
        ("张", ["张三", "张小明"]),
        ("张小", ["张小明"]),
        ("zx", ["张小明"]),
        ("ZXM", ["张小明"]),
        ("zhang", ["张三", "张小明"]),
        ("zhang xiao", ["张小明"]),
        ("ls", ["李四"]),
        ("%", []),
        ("_", []),
        ("王", ["王五"]),
        ("nobody", []),
    ],
)
def test_search(client, auth, two_grids, q, expected):
    auth.login_as("admin")
    html = search(client, "/members/", q, htmx=True).get_data(as_text=True)
    assert sorted(names_in(html)) == sorted(expected)


def test_search_by_last_four_digits_of_id_or_phone(client, auth, two_grids):
    auth.login_as("admin")
    target = two_grids["a"][2]
    for digits in (target.id_last4, target.phone[-4:]):
        html = search(client, "/members/", digits).get_data(as_text=True)
        assert "李四" in names_in(html)
    html = search(client, "/members/", decrypt(target.id_number_enc))
    assert names_in(html.get_data(as_text=True)) == ["李四"]


def test_partial_request_returns_the_results_fragment(client, auth, two_grids):
    auth.login_as("admin")
    response = client.get("/members/?category=direct", headers=HX)
    html = response.get_data(as_text=True)
    assert "<html" not in html and 'id="member-results"' in html
    assert "HX-Request" in response.headers["Vary"]
    boosted = client.get("/members/", headers={**HX, "HX-Boosted": "true"})
    assert "<html" in boosted.get_data(as_text=True)


def test_filters(client, auth, tree, two_grids, make_member):
    make_member(name="钱七", employment="retired", building=tree["building_b"])
    auth.login_as("admin")
    html = client.get("/members/?category=shared").get_data(as_text=True)
    assert names_in(html) == ["钱七"]
    html = client.get(f"/members/?building={tree['building_a'].id}").get_data(as_text=True)
    assert sorted(names_in(html)) == sorted(["张三", "张小明", "李四"])
    html = client.get(f"/members/?branch={tree['branch_a'].id}").get_data(as_text=True)
    assert len(names_in(html)) == 3
    assert "1号楼党小组" in html  # the branch's groups become a filter
    html = client.get(f"/members/?group={tree['group_a'].id}").get_data(as_text=True)
    assert len(names_in(html)) == 3
    html = client.get(f"/members/?group={tree['group_b'].id}").get_data(as_text=True)
    assert names_in(html) == []
    # Malformed filter values are ignored, never a 500.
    for bad in ("?grid=abc", "?category=evil", "?as_of=2026-13", "?after=xyz", "?as_of=abc"):
        assert client.get("/members/" + bad).status_code == 200


def test_masking_in_the_list(client, auth, two_grids):
    auth.login_as("admin")
    html = client.get("/members/").get_data(as_text=True)
    for member in two_grids["a"] + two_grids["b"]:
        number = decrypt(member.id_number_enc)
        assert number not in html and member.phone not in html
        assert f"{number[:6]}********{number[-4:]}" in html
        assert f"{member.phone[:3]}****{member.phone[-4:]}" in html


def test_keyset_paging(client, auth, make_member):
    for i in range(57):
        make_member(name=f"成员{i:02d}")
    auth.login_as("admin")
    first = client.get("/members/").get_data(as_text=True)
    page1 = names_in(first)
    assert len(page1) == 50 and "加载更多" in first
    next_url = re.search(r'hx-get="(/members/\?after=\d+)"', first).group(1)
    second = client.get(next_url, headers=HX).get_data(as_text=True)
    page2 = names_in(second)
    assert len(page2) == 7 and "加载更多" not in second
    assert "<html" not in second  # the results block; the link picks its rows (hx-select)
    assert 'hx-select=".page-rows > *"' in first
    # The same link opened directly (no JavaScript, a new tab) is a whole page.
    whole = client.get(next_url).get_data(as_text=True)
    assert "<html" in whole and names_in(whole) == page2
    assert not set(page1) & set(page2)
    ordered = [
        m.name
        for m in db.session.execute(
            select(Member).order_by(Member.name_pinyin, Member.id)
        ).scalars()
    ]
    assert page1 + page2 == ordered


def test_list_query_count_does_not_grow_with_rows(client, auth, tree, make_member, count_queries):
    auth.login_as("admin")

    def queries() -> int:
        with count_queries() as counter:
            assert client.get("/members/").status_code == 200
        return counter.count

    make_member(building=tree["building_a"], group=tree["group_a"])
    queries()  # warm: the filter choices are cached until the trees or the scope change
    few = queries()
    for _ in range(20):
        make_member(building=tree["building_b"], group=tree["group_b"])
    queries()  # the data changed: cached figures are computed again once
    assert queries() == few
    assert few <= 8


def test_as_of_shows_past_category(client, auth, make_member, make_user):
    staff = make_user("staff")
    long_ago = TODAY - timedelta(days=100)
    member = make_member(staff, name="周八", effective=long_ago)
    services.update_member(member, {"employment": "retired"}, staff, member.version)
    db.session.commit()
    auth.login_as("admin")
    past = (long_ago + timedelta(days=35)).strftime("%Y-%m")
    html = client.get(f"/members/?as_of={past}&category=direct").get_data(as_text=True)
    assert names_in(html) == ["周八"]
    html = client.get("/members/?category=direct").get_data(as_text=True)
    assert names_in(html) == []
    html = client.get("/members/?category=shared").get_data(as_text=True)
    assert names_in(html) == ["周八"]


def test_card_shows_sections_and_timeline(client, auth, tree, make_member, make_user):
    staff = make_user("staff", display_name="李干事")
    member = make_member(staff, name="孙九", building=tree["building_a"], group=tree["group_a"])
    services.override_category(member, "takeover", "失业两年", staff)
    db.session.commit()
    auth.login_as("admin")
    html = client.get(f"/members/{member.id}").get_data(as_text=True)
    for text in (
        "党员登记卡",
        "基本信息",
        "党籍信息",
        "就业与生活",
        "流动情况",
        "网格与组织",
        "五管分类",
        "变更记录",
        "第一网格",
        "1号楼党小组",
        "失业两年",
        "李干事",
        "人工调整分类",
    ):
        assert text in html, text
    number = decrypt(member.id_number_enc)
    assert number not in html and member.phone not in html


def edit_data(member, **overrides):
    data = {
        "version": str(member.version),
        "name": member.name,
        "phone": member.phone,
        "member_type": member.member_type,
        "joined_on": member.joined_on.isoformat() if member.joined_on else "",
        "relation_location": member.relation_location,
        "status": member.status,
        "employment": member.employment,
        "mobility": member.mobility,
        "ethnicity": member.ethnicity,
    }
    data.update(overrides)
    return data


def test_edit_saves_and_redirects(client, auth, make_member):
    member = make_member(name="吴十")
    auth.login_as("admin")
    assert 'name="version" type="hidden" value="1"' in client.get(
        f"/members/{member.id}/edit"
    ).get_data(as_text=True)
    data = edit_data(member, employment="laid_off", reason="企业破产", csrf_token=auth.token())
    response = client.post(f"/members/{member.id}/edit", data=data)
    assert response.status_code == 303
    db.session.expire_all()
    assert member.employment == "laid_off" and member.category == "takeover"
    assert member.version == 2


def test_edit_invalid_is_422_with_messages_and_keeps_input(client, auth, make_member):
    member = make_member()
    auth.login_as("admin")
    data = edit_data(
        member,
        phone="1381234",
        joined_on="2099-01-01",
        id_number="620302198001010011",
        monthly_income="很多",
        mobility_since="昨天",
        csrf_token=auth.token(),
    )
    response = client.post(f"/members/{member.id}/edit", data=data)
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "手机号应为 11 位" in html and 'value="1381234"' in html
    assert "校验位" in html and 'value="620302198001010011"' in html
    assert "请填写数字金额" in html and "请按 年-月-日 填写日期" in html
    assert "入党日期不能晚于今天" in html  # record rules show alongside the field errors
    # Service-level rules (dates) come back next to their fields too.
    data = edit_data(member, joined_on="2099-01-01", csrf_token=auth.token())
    response = client.post(f"/members/{member.id}/edit", data=data)
    assert response.status_code == 422
    assert "入党日期不能晚于今天" in response.get_data(as_text=True)
    db.session.expire_all()
    assert member.version == 1


def test_edit_conflict_shows_newer_values(client, auth, make_member, make_user):
    member = make_member(name="郑一")
    auth.login_as("admin")
    stale = edit_data(member, notes="我的备注", csrf_token=auth.token())
    other = make_user("staff")
    services.update_member(member, {"notes": "别人先保存的备注"}, other, member.version)
    db.session.commit()
    response = client.post(f"/members/{member.id}/edit", data=stale)
    html = response.get_data(as_text=True)
    assert response.status_code == 409
    assert "已被他人修改" in html and "别人先保存的备注" in html and "我的备注" in html
    assert 'name="version" type="hidden" value="2"' in html
    db.session.expire_all()
    assert member.notes == "别人先保存的备注"


def test_category_override_requires_reason(client, auth, make_member):
    member = make_member()
    auth.login_as("admin")
    url = f"/members/{member.id}/category"
    response = client.post(
        url, data={"csrf_token": auth.token(), "category": "takeover", "reason": ""}
    )
    assert response.status_code == 422
    assert "必须填写理由" in response.get_data(as_text=True)
    response = client.post(
        url,
        data={
            "csrf_token": auth.token(),
            "category": "takeover",
            "reason": "长期待业",
            "version": str(member.version),
        },
    )
    assert response.status_code == 303
    db.session.expire_all()
    assert member.category == "takeover" and member.category_override_reason == "长期待业"
    response = client.post(url, data={"csrf_token": auth.token(), "clear": "1"})
    assert response.status_code == 303
    db.session.expire_all()
    assert member.category == "direct" and member.category_override_reason is None


def test_reveal(client, auth, tree, make_member, grid_worker_of):
    member = make_member(building=tree["building_a"])
    worker = grid_worker_of(tree["grid_a"])
    auth.login(worker.username)
    html = client.get(f"/members/{member.id}").get_data(as_text=True)
    assert "查看完整信息" not in html  # no button for roles that may not reveal
    response = client.post(f"/members/{member.id}/reveal", data={"csrf_token": auth.token()})
    assert response.status_code == 403
    auth.logout()
    admin = auth.login_as("admin")
    response = client.post(
        f"/members/{member.id}/reveal", data={"csrf_token": auth.token()}, headers=HX
    )
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and "<html" not in html
    assert decrypt(member.id_number_enc) in html and member.phone in html
    entries = db.session.execute(
        select(AuditEntry.user_id, AuditEntry.result).where(AuditEntry.action == "member_reveal")
    ).all()
    assert sorted(entries) == sorted([(worker.id, "denied"), (admin.id, "ok")])


def test_member_role_cannot_see_the_registry(client, auth, make_member):
    member = make_member()
    auth.login_as("member")
    assert client.get("/members/").status_code == 403
    assert client.get(f"/members/{member.id}").status_code == 403


@pytest.mark.parametrize("path", ["/members/999999", "/members/999999/edit"])
def test_unknown_member_is_404(client, auth, path):
    auth.login_as("admin")
    assert client.get(path).status_code == 404


def test_birth_and_age_shown(client, auth, make_member):
    member = make_member(birth=date(1970, 5, 4))
    auth.login_as("admin")
    html = client.get(f"/members/{member.id}").get_data(as_text=True)
    assert "1970-05-04" in html


def test_partial_fragments_render_for_each_block(client, auth, make_member):
    """htmx (non-boosted) requests get one block; macros must resolve inside it."""
    for i in range(52):
        make_member(name=f"片段{i:02d}")
    member = make_member()
    auth.login_as("admin")
    html = client.get("/members/", headers=HX).get_data(as_text=True)
    assert "<html" not in html and "加载更多" in html
    response = client.post(
        f"/members/{member.id}/category",
        data={"csrf_token": auth.token(), "category": "dual", "reason": ""},
        headers=HX,
    )
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert "<html" not in html and "必须填写理由" in html and 'id="category"' in html
    response = client.post(
        f"/members/{member.id}/edit",
        data=edit_data(member, phone="1", csrf_token=auth.token()),
        headers=HX,
    )
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert "<html" not in html and "手机号应为 11 位" in html
    assert client.get(f"/members/{member.id}", headers=HX).status_code == 200


def test_hanzi_search_with_heteronym_surnames(client, auth, make_member):
    for name in ("曾国藩", "单田芳", "长孙无忌", "乐嘉", "张三"):
        make_member(name=name)
    auth.login_as("admin")
    for q, expected in (
        ("曾", ["曾国藩"]),
        ("曾国", ["曾国藩"]),
        ("单田", ["单田芳"]),
        ("长孙", ["长孙无忌"]),
        ("乐", ["乐嘉"]),
        ("张三", ["张三"]),
    ):
        html = search(client, "/members/", q).get_data(as_text=True)
        assert names_in(html) == expected, q


def test_count_is_capped_for_very_large_scopes(client, auth, make_member, monkeypatch):
    from app.members import routes

    monkeypatch.setattr(routes, "COUNT_CAP", 3)
    for _ in range(5):
        make_member()
    auth.login_as("admin")
    html = client.get("/members/").get_data(as_text=True)
    assert "共 <strong>3</strong> 多 人" in html


def test_a_search_counts_to_its_own_smaller_cap(client, auth, make_member, monkeypatch):
    """A street-wide search stops counting at SEARCH_COUNT_CAP ("1000 多"), the list without
    a search text still counts to COUNT_CAP."""
    from app.members import routes

    monkeypatch.setattr(routes, "COUNT_CAP", 100)
    monkeypatch.setattr(routes, "SEARCH_COUNT_CAP", 2)
    for n in range(5):
        make_member(name=f"王{'一二三四五'[n]}")
    auth.login_as("admin")
    assert "共 <strong>5</strong> 人" in client.get("/members/").get_data(as_text=True)
    html = search(client, "/members/", "王").get_data(as_text=True)
    assert "共 <strong>2</strong> 多 人" in html


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("phone", "1381234", "手机号应为 11 位"),
        ("phone", "13812345678", ""),
        ("phone", "", ""),
        ("id_number", "620302198001010011", "校验位"),
        ("id_number", "x" * 500, "18 位"),
        ("second_phone", "0931-8123456", ""),
        ("second_phone", "12", "电话号码格式不正确"),
    ],
)
def test_inline_field_validation(client, auth, field, value, message):
    auth.login_as("staff")
    response = client.post(
        f"/members/validate/{field}",
        data={field: value, "csrf_token": auth.token()},
        headers=HX,
    )
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and f'id="{field}-error"' in html
    assert (message in html) if message else ('role="alert"></p>' in html)


def test_inline_validation_of_unknown_field_is_404(client, auth):
    auth.login_as("staff")
    response = client.post("/members/validate/notes", data={"csrf_token": auth.token()})
    assert response.status_code == 404


def test_edit_form_does_not_prefill_full_phone_or_id(client, auth, make_member):
    member = make_member(second_phone="0931-8123456")
    auth.login_as("admin")
    html = client.get(f"/members/{member.id}/edit").get_data(as_text=True)
    assert member.phone not in html and "0931-8123456" not in html
    assert decrypt(member.id_number_enc) not in html
    # Empty phone fields mean "unchanged".
    data = edit_data(member, phone="", notes="只改备注", csrf_token=auth.token())
    assert client.post(f"/members/{member.id}/edit", data=data).status_code == 303
    db.session.expire_all()
    assert member.phone and member.second_phone == "0931-8123456" and member.notes == "只改备注"


def test_total_counts_every_page_and_needs_no_count_for_one_page(
    client, auth, make_member, monkeypatch, count_queries
):

    monkeypatch.setattr(paging, "PAGE_SIZE", 2)
    auth.login_as("admin")
    make_member()
    client.get("/members/")  # warm the cached filter choices
    with count_queries() as one_page:
        html = client.get("/members/").get_data(as_text=True)
    assert "共 <strong>1</strong> 人" in html
    for _ in range(4):
        make_member()
    client.get("/members/")  # the data changed: cached figures are computed again once
    with count_queries() as several_pages:
        html = client.get("/members/").get_data(as_text=True)
    assert "共 <strong>5</strong> 人" in html
    assert several_pages.count == one_page.count + 1  # the count runs only when a page is full
