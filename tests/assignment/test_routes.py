"""Assignment pages: work list with live counters, one member's placement and liaison, bulk."""

from __future__ import annotations

import re
from datetime import date

from sqlalchemy import func, select

from app.assignment import liaisons
from app.extensions import db
from app.members.models import Member, MemberHistory
from tests.assignment.helpers import bulk_members

HX = {"HX-Request": "true"}


def login_admin(auth):
    return auth.login_as("admin")


def test_unassigned_list_counts_and_inline_resolution(client, auth, tree, make_member):
    login_admin(auth)
    m = make_member(building=tree["building_a"])  # building but no group
    page = client.get("/assignment/?kind=group")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and m.name in html
    assert "编入1号楼党小组" in html
    assert 'hx-trigger="assignment-changed from:body"' in html
    token = auth.token("/assignment/")
    response = client.post(
        f"/assignment/members/{m.id}/place",
        data={"csrf_token": token, "inline": "1", "org_mode": "auto", "version": m.version},
        headers=HX,
    )
    assert response.status_code == 200
    assert response.get_data(as_text=True).strip() == ""  # the row disappears
    assert "assignment-changed" in response.headers["HX-Trigger"]
    db.session.expire_all()
    assert db.session.get(Member, m.id).group_id == tree["group_a"].id
    counts = client.get("/assignment/counts?kind=group", headers=HX).get_data(as_text=True)
    assert re.search(r'data-kind="group">0<', counts)
    nav = client.get("/assignment/counts?nav=1", headers=HX).get_data(as_text=True)
    assert nav.strip() == ""  # nothing left: the badge is empty


def test_unassigned_partial_and_keyset_paging(client, auth, tree):
    login_admin(auth)
    ids = bulk_members(60, tree)
    db.session.execute(db.update(Member).values(group_id=None, branch_id=None))
    db.session.commit()
    first = client.get("/assignment/?kind=group", headers=HX)
    html = first.get_data(as_text=True)
    assert "<html" not in html and html.count('class="ua-row"') == 50
    more = re.search(r'hx-get="([^"]*after=\d+[^"]*)"', html).group(1).replace("&amp;", "&")
    rest = client.get(more, headers=HX).get_data(as_text=True)
    assert rest.count('class="ua-row"') == 10
    assert len(ids) == 60


def test_inline_building_form(client, auth, tree, make_member):
    login_admin(auth)
    m = make_member()
    html = client.get("/assignment/?kind=building").get_data(as_text=True)
    assert m.name in html and "请先选择网格" in html
    options = client.get(f"/assignment/buildings?grid={tree['grid_a'].id}", headers=HX)
    assert "1号楼（1号楼党小组）" in options.get_data(as_text=True)
    token = auth.token("/assignment/")
    response = client.post(
        f"/assignment/members/{m.id}/place",
        data={
            "csrf_token": token,
            "inline": "1",
            "org_mode": "auto",
            "version": m.version,
            "grid": tree["grid_a"].id,
            "building_id": tree["building_a"].id,
        },
        headers=HX,
    )
    assert response.status_code == 200
    db.session.expire_all()
    assert db.session.get(Member, m.id).building_id == tree["building_a"].id


def test_member_page_place_and_errors(client, auth, tree, other, make_member):
    login_admin(auth)
    m = make_member()
    page = client.get(f"/assignment/members/{m.id}")
    assert page.status_code == 200 and "调整分配" in page.get_data(as_text=True)
    token = auth.token(f"/assignment/members/{m.id}")
    bad = client.post(
        f"/assignment/members/{m.id}/place",
        data={
            "csrf_token": token,
            "org_mode": "set",
            "branch_id": tree["branch_a"].id,
            "group_id": tree["group_b"].id,
            "version": m.version,
        },
        headers=HX,
    )
    assert bad.status_code == 422
    assert "所选党小组不属于所选党支部" in bad.get_data(as_text=True)
    bad_date = client.post(
        f"/assignment/members/{m.id}/place",
        data={"csrf_token": token, "effective_on": "2026-13-45", "version": m.version},
        headers=HX,
    )
    assert bad_date.status_code == 422 and "年-月-日" in bad_date.get_data(as_text=True)
    ok = client.post(
        f"/assignment/members/{m.id}/place",
        data={
            "csrf_token": token,
            "org_mode": "auto",
            "building_id": tree["building_b"].id,
            "version": m.version,
            "reason": "入住",
        },
    )
    assert ok.status_code == 303
    stale = client.post(
        f"/assignment/members/{m.id}/place",
        data={
            "csrf_token": token,
            "org_mode": "auto",
            "building_id": tree["building_a"].id,
            "version": m.version,  # the version read before the first save
        },
        headers=HX,
    )
    assert stale.status_code == 409
    assert "已被他人修改" in stale.get_data(as_text=True)
    assert (
        db.session.execute(
            select(func.count()).where(
                MemberHistory.member_id == m.id, MemberHistory.aspect == "placement"
            )
        ).scalar_one()
        == 2
    )


def test_grid_worker_cannot_move_out_of_grid(client, auth, tree, make_member, grid_worker_of):
    worker = grid_worker_of(tree["grid_a"])
    auth.login(worker.username)
    m = make_member(building=tree["building_a"], group=tree["group_a"])
    token = auth.token(f"/assignment/members/{m.id}")
    response = client.post(
        f"/assignment/members/{m.id}/place",
        data={
            "csrf_token": token,
            "org_mode": "auto",
            "building_id": tree["building_b"].id,
            "version": m.version,
        },
        headers=HX,
    )
    assert response.status_code == 422
    assert "不能把党员调出您负责的网格" in response.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(Member, m.id).building_id == tree["building_a"].id


def test_liaison_search_and_assign(client, auth, tree, make_member):
    admin = login_admin(auth)
    m = make_member(
        mobility="flow_in",
        mobility_place="甘肃金昌",
        mobility_since=date(2025, 1, 1),
        relation_location="elsewhere",
        relation_org_name="金昌某党支部",
        building=tree["building_a"],
    )
    helper = make_member(name="李联络", building=tree["building_a"])
    token = auth.token(f"/assignment/members/{m.id}")
    found = client.post(
        f"/assignment/members/{m.id}/liaison-candidates",
        data={"q": "李", "csrf_token": token},
        headers=HX,
    ).get_data(as_text=True)
    assert "李联络" in found
    response = client.post(
        f"/assignment/members/{m.id}/liaison",
        data={"csrf_token": token, "liaison_member_id": helper.id, "version": m.version},
        headers=HX,
    )
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.headers["HX-Redirect"] == f"/assignment/members/{m.id}"
    assert "李联络（党员）" in client.get(f"/assignment/members/{m.id}").get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(Member, m.id).liaison_member_id == helper.id
    both = client.post(
        f"/assignment/members/{m.id}/liaison",
        data={
            "csrf_token": token,
            "liaison_member_id": helper.id,
            "liaison_user_id": admin.id,
            "version": db.session.get(Member, m.id).version,
        },
        headers=HX,
    )
    assert both.status_code == 422 and "只能选一位" in both.get_data(as_text=True)


def test_my_members_for_staff_and_member(client, auth, tree, make_member, make_user):

    admin = make_user("admin")
    m = make_member(
        name="王流动",
        mobility="flow_in",
        mobility_place="甘肃金昌",
        mobility_since=date(2025, 1, 1),
        relation_location="elsewhere",
        relation_org_name="金昌某党支部",
    )
    helper = make_member(building=tree["building_a"])
    liaisons.set_liaison(m, admin, liaison_member_id=helper.id)
    db.session.commit()
    member_user = make_user("member", member_id=helper.id)
    auth.login(member_user.username)
    home = client.get("/home").get_data(as_text=True)
    assert 'hx-get="/assignment/mine"' in home
    fragment = client.get("/assignment/mine", headers=HX).get_data(as_text=True)
    assert "王流动" in fragment and "甘肃金昌" in fragment
    assert client.get("/assignment/mine").status_code == 302


def _preview_form(html: str) -> dict:
    data: dict = {}
    for name, value in re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', html):
        data.setdefault(name, []).append(value)
    return data


def test_bulk_all_matching_preview_and_apply(client, auth, tree):
    login_admin(auth)
    bulk_members(1100, tree)
    page = client.get(f"/assignment/bulk?all=1&building={tree['building_a'].id}")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and 'class="selection-count">1100<' in html
    form = _preview_form(html)
    form.update({"org_mode": "auto", "building_id": str(tree["building_b"].id)})
    preview = client.post("/assignment/bulk/preview", data=form, headers=HX)
    text = preview.get_data(as_text=True)
    assert preview.status_code == 200
    assert 'data-count="move">1100<' in text and text.count('class="outcome-move"') == 100
    assert "确认调整 1100 人" in text
    more = client.post(
        "/assignment/bulk/preview", data={**form, "offset": "100"}, headers=HX
    ).get_data(as_text=True)
    assert more.count('class="outcome-move"') == 100 and "<html" not in more
    key = re.search(r'name="preview_key" value="([^"]+)"', text).group(1)
    wrong = client.post(
        "/assignment/bulk/apply",
        data={**form, "preview_key": key, "building_id": str(tree["building_a"].id)},
        headers=HX,
    )
    assert wrong.status_code == 422 and "请重新预览" in wrong.get_data(as_text=True)
    done = client.post("/assignment/bulk/apply", data={**form, "preview_key": key}, headers=HX)
    assert done.status_code == 200
    assert 'class="done-count">1100<' in done.get_data(as_text=True)
    assert "assignment-changed" in done.headers["HX-Trigger"]
    assert (
        db.session.execute(
            select(func.count()).where(Member.building_id == tree["building_b"].id)
        ).scalar_one()
        == 1100
    )


def test_bulk_checked_rows_with_failure_reported(client, auth, tree, make_member):
    login_admin(auth)
    ok = make_member(building=tree["building_a"])
    dead = make_member(status="deceased", building=tree["building_a"])
    token = auth.token("/members/")
    page = client.post(
        "/assignment/bulk", data={"csrf_token": token, "member_id": [ok.id, dead.id]}
    )
    html = page.get_data(as_text=True)
    assert 'class="selection-count">2<' in html
    form = _preview_form(html)
    form.update({"org_mode": "auto", "building_id": str(tree["building_b"].id)})
    preview = client.post("/assignment/bulk/preview", data=form, headers=HX).get_data(as_text=True)
    assert "不能调整分配" in preview and "跳过无法调整的 1 人" in preview
    key = re.search(r'name="preview_key" value="([^"]+)"', preview).group(1)
    blocked = client.post("/assignment/bulk/apply", data={**form, "preview_key": key}, headers=HX)
    assert blocked.status_code == 422 and "本次没有做任何修改" in blocked.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(Member, ok.id).building_id == tree["building_a"].id
    done = client.post(
        "/assignment/bulk/apply",
        data={**form, "preview_key": key, "skip_failed": "1"},
        headers=HX,
    )
    text = done.get_data(as_text=True)
    assert done.status_code == 200 and "跳过 1 人" in text and "不能调整分配" in text
    db.session.expire_all()
    assert db.session.get(Member, ok.id).building_id == tree["building_b"].id
    assert db.session.get(Member, dead.id).building_id == tree["building_a"].id


def test_member_list_has_bulk_hooks(client, auth, tree, make_member):
    login_admin(auth)
    m = make_member(building=tree["building_a"])
    html = client.get("/members/").get_data(as_text=True)
    assert f'name="member_id" value="{m.id}"' in html
    assert "/assignment/bulk" in html
    card = client.get(f"/members/{m.id}").get_data(as_text=True)
    assert f"/assignment/members/{m.id}" in card


def test_two_staff_move_the_same_member(app, tree, make_member, make_user):
    """Both open the page at the same version; the first save wins, the second gets 409."""
    from tests.conftest import PASSWORD, csrf_token

    m = make_member()
    clients = []
    for _ in range(2):
        user = make_user("admin")
        client = app.test_client()
        token = csrf_token(client, "/login")
        client.post(
            "/login", data={"username": user.username, "password": PASSWORD, "csrf_token": token}
        )
        clients.append((client, csrf_token(client, f"/assignment/members/{m.id}")))
    version = str(m.version)
    first = clients[0][0].post(
        f"/assignment/members/{m.id}/place",
        data={
            "csrf_token": clients[0][1],
            "building_id": tree["building_a"].id,
            "version": version,
        },
    )
    second = clients[1][0].post(
        f"/assignment/members/{m.id}/place",
        data={
            "csrf_token": clients[1][1],
            "building_id": tree["building_b"].id,
            "version": version,
        },
        headers=HX,
    )
    assert first.status_code == 303
    assert second.status_code == 409
    assert "该党员的分配已被他人修改，请刷新后重新操作" in second.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(Member, m.id).building_id == tree["building_a"].id
    rows = (
        db.session.execute(
            select(MemberHistory).where(
                MemberHistory.member_id == m.id, MemberHistory.aspect == "placement"
            )
        )
        .scalars()
        .all()
    )
    assert len(rows) == 2 and sum(r.effective_to is None for r in rows) == 1
