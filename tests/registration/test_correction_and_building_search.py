"""Usability of the public registration (issue 12 items 13 and 19): correcting a returned
registration explains why the ID number is typed again and keeps everything else; the residence
step finds the building by typing, derives the grid, and works without JavaScript."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from app.extensions import db
from app.registration import building_search, rules, services
from app.registration.models import Registration
from tests.registration.conftest import Walker, answers
from tests.registration.test_public import _status

HX = {"HX-Request": "true"}


def _value(html: str, name: str) -> str | None:
    match = re.search(rf'<input[^>]*name="{name}"[^>]*>', html)
    if not match:
        return None
    value = re.search(r'value="([^"]*)"', match.group(0))
    return value.group(1) if value else ""


def _returned(client, register, make_user, **over):
    reg = register("flow_in", **over)
    services.return_for_correction(reg, make_user("admin"), "请补充原党组织联系人电话")
    db.session.commit()
    _status(client, reg.tracking_code, reg.phone)
    return reg


# ---- item 19: correcting a returned registration --------------------------------------------


def test_correction_page_explains_the_id_number_and_keeps_the_rest(
    client, register, tree, make_user
):
    reg = _returned(client, register, make_user, second_phone="0935-8123456", ethnicity="回族")
    response = client.get("/register/correct")
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    # Why the ID number is empty, said on the page (not only as a red error).
    assert "为保护您的个人信息，身份证号不会显示在网页上" in html
    assert "其他内容已按您上次提交的填好" in html
    assert "请补充原党组织联系人电话" in html  # what staff asked to change
    assert "有 1 处需要修改" not in html  # not presented as a mistake of the member
    assert _value(html, "id_number") == ""
    assert decrypt_free(html, reg)
    # Everything else on this step is filled in.
    assert _value(html, "name") == "张晓明"
    assert _value(html, "phone") == reg.phone
    assert _value(html, "second_phone") == "0935-8123456"
    assert _value(html, "ethnicity") == "回族"


def decrypt_free(html: str, reg) -> bool:  # noqa: ANN001
    """The ID number (or its unmasked digits) is nowhere in the page."""
    from app.crypto import decrypt

    number = decrypt(reg.id_number_enc)
    return number not in html and number[6:14] not in html


def test_correction_keeps_the_later_steps_filled(client, register, tree, make_user):
    _returned(client, register, make_user)
    page = client.get("/register/correct")
    walker = Walker(client)
    walker._read(page)
    walker.kind = "flow_in"
    values = answers("flow_in", tree, seq=101)
    filled = _form_values(page.get_data(as_text=True))
    party = walker.post("identity", {**filled, "id_number": values["id_number"]})
    html = party.get_data(as_text=True)
    assert party.status_code == 200 and "党籍信息" in html
    assert _value(html, "joined_on") == "2008-07-01"
    assert _value(html, "origin_org") == "民勤县大坝镇党委"
    situation = walker.post("party", _form_values(html))
    html = situation.get_data(as_text=True)
    assert _value(html, "origin_place") == "甘肃省武威市民勤县"
    residence = walker.post("situation", _form_values(html))
    html = residence.get_data(as_text=True)
    assert _value(html, "room") == "2单元301"
    assert re.search(
        rf'<input[^>]*name="building_id"[^>]*value="{tree["building_a"].id}"[^>]*checked', html
    )


def _form_values(html: str) -> dict[str, str]:
    out = {}
    for tag in re.findall(r"<input[^>]*>", html):
        name = re.search(r'name="([^"]+)"', tag)
        if not name or name.group(1) in ("draft", "step", "csrf_token"):
            continue
        if ('type="radio"' in tag or 'type="checkbox"' in tag) and "checked" not in tag:
            continue
        value = re.search(r'value="([^"]*)"', tag)
        out[name.group(1)] = value.group(1) if value else ""
    for name, body in re.findall(r'<select[^>]*name="([^"]+)"[^>]*>(.*?)</select>', html, re.S):
        chosen = [o for o in re.findall(r"<option[^>]*>", body) if "selected" in o]
        value = re.search(r'value="([^"]*)"', chosen[0]) if chosen else None
        out[name] = value.group(1) if value else ""
    return out


def test_correction_without_retyping_the_id_number_says_so(client, register, tree, make_user):
    _returned(client, register, make_user)
    page = client.get("/register/correct")
    walker = Walker(client)
    walker._read(page)
    walker.kind = "flow_in"
    values = _form_values(page.get_data(as_text=True))
    response = walker.post("identity", values)
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "请填写身份证号" in html
    assert _value(html, "name") == "张晓明"  # nothing else is lost
    assert rules.STEP_LABELS["identity"] in html


# ---- item 13: finding the building by typing -------------------------------------------------

WENYUAN_2 = ("文苑小区2号楼", "金川区新华路8号文苑小区2号楼", "第二网格")


@pytest.mark.parametrize(
    "query, texts, expected",
    [
        ("文苑 2号楼", WENYUAN_2, True),
        ("文苑2号楼", WENYUAN_2, True),  # no space
        ("文苑小区 2号楼", WENYUAN_2, True),
        ("文苑 2栋", WENYUAN_2, True),  # 栋 for 号楼
        ("文苑 ２号楼", WENYUAN_2, True),  # full-width digit from a phone keyboard
        ("2 号楼", WENYUAN_2, True),
        ("新华路8号", WENYUAN_2, True),  # by the street address
        ("第二网格", WENYUAN_2, True),  # staff words still work
        ("文苑 12号楼", WENYUAN_2, False),
        ("文苑 8号楼", WENYUAN_2, False),  # the road number is not a building number
        ("翠苑 2号楼", WENYUAN_2, False),
        ("2单元", WENYUAN_2, False),
        ("幸福里小区 3号楼", ("幸福里3号楼", "金川区北京路幸福里3号楼", "第一网格"), True),
        ("", WENYUAN_2, False),
        ("   ", WENYUAN_2, False),
        ("号楼", WENYUAN_2, False),
    ],
)
def test_building_matching_rules(query, texts, expected):
    assert building_search.matches(query, *texts) is expected


@pytest.fixture
def wenyuan(tree):
    """文苑小区 spans both grids of the community; another community has a 文苑 too."""
    from app.organization.models import Place
    from app.timeutil import utcnow

    def building(name, grid, **kw):
        place = Place(kind="building", name=name, parent_id=grid.id, **kw)
        db.session.add(place)
        return place

    one = building("文苑小区1号楼", tree["grid_a"], address="金川区新华路8号文苑小区1号楼")
    two = building("文苑小区2号楼", tree["grid_b"], address="金川区新华路8号文苑小区2号楼")
    twelve = building("文苑小区12号楼", tree["grid_b"], address="金川区新华路8号文苑小区12号楼")
    gone = building("文苑小区3号楼", tree["grid_b"], retired_at=utcnow())
    other = Place(kind="community", name="桂林社区")
    db.session.add(other)
    db.session.flush()
    other_grid = Place(kind="grid", name="桂林一网格", parent_id=other.id)
    db.session.add(other_grid)
    db.session.flush()
    foreign = building("文苑小区2号楼（桂林）", other_grid)
    db.session.commit()
    return {"one": one, "two": two, "twelve": twelve, "gone": gone, "foreign": foreign}


def _search(client, community_id, query, **extra):
    from tests.conftest import csrf_token

    token = csrf_token(client, "/register/flow_in")
    data = {"community_id": str(community_id), "building_q": query, **extra}
    return client.post("/register/buildings", data=data, headers={**HX, "X-CSRFToken": token})


def test_live_search_lists_only_the_communitys_matching_buildings(client, tree, wenyuan):
    response = _search(client, tree["community"].id, "文苑 2号楼")
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and "<html" not in html
    assert "文苑小区2号楼" in html and "第二网格" in html and "新华路8号" in html
    assert f'value="{wenyuan["two"].id}"' in html
    assert "文苑小区12号楼" not in html and "文苑小区1号楼" not in html
    assert "桂林" not in html  # another community's building
    assert "不清楚" in html  # the way out stays
    everything = _search(client, tree["community"].id, "文苑").get_data(as_text=True)
    assert "文苑小区1号楼" in everything and "文苑小区12号楼" in everything
    assert "文苑小区3号楼" not in everything  # retired
    # Natural order: 1, 2, 12.
    positions = [everything.index(n) for n in ("小区1号楼", "小区2号楼", "小区12号楼")]
    assert positions == sorted(positions)


def test_live_search_keeps_the_chosen_building_and_answers_nonsense_calmly(client, tree, wenyuan):
    kept = _search(client, tree["community"].id, "翠苑", building_id=str(wenyuan["two"].id))
    html = kept.get_data(as_text=True)
    assert re.search(rf'value="{wenyuan["two"].id}"[^>]*checked', html)
    assert "没有找到" in html
    foreign = _search(client, tree["community"].id, "", building_id=str(wenyuan["foreign"].id))
    assert "桂林" not in foreign.get_data(as_text=True)
    for community in ("", "abc", "99999999999", str(wenyuan["one"].id)):
        response = _search(client, community, "文苑")
        assert response.status_code == 200
        assert "文苑小区" not in response.get_data(as_text=True)
    assert (
        client.get("/register/buildings").status_code == 404
    )  # only POST: the text stays out of URLs


def _to_residence(walker, tree, kind="flow_in", **over):
    values = answers(kind, tree, **over)
    walker.start(kind)
    for step in ("identity", "party", "situation"):
        walker.post(step, values)
    return values


def test_residence_step_offers_a_search_not_a_grid_list(walker, tree, wenyuan):
    _to_residence(walker, tree)
    html = walker.last.get_data(as_text=True)
    assert 'name="building_q"' in html and 'hx-post="/register/buildings"' in html
    assert 'name="grid_id"' not in html  # the grid follows from the building
    assert 'value="search"' in html  # 查找 works without JavaScript


def test_without_javascript_type_search_choose_and_the_grid_is_derived(
    client, walker, tree, wenyuan
):
    values = _to_residence(walker, tree, grid_id="", building_id="")
    found = walker.post("residence", values, "search", extra={"building_q": "文苑2号楼"})
    html = found.get_data(as_text=True)
    assert found.status_code == 200 and "居住地址" in html
    assert 'value="文苑2号楼"' in html  # the query stays in the box
    assert f'name="building_id" value="{wenyuan["two"].id}"' in html
    chosen = {**values, "building_id": str(wenyuan["two"].id)}
    consent = walker.post("residence", chosen)
    summary = consent.get_data(as_text=True)
    assert consent.status_code == 200 and "文苑小区2号楼" in summary and "第二网格" in summary
    response = walker.post("consent", chosen, action="submit")
    assert response.status_code == 303
    reg = db.session.execute(select(Registration)).scalar_one()
    assert reg.building_id == wenyuan["two"].id
    assert reg.grid_id == tree["grid_b"].id  # derived, never typed


def test_a_grid_sent_with_the_building_is_replaced_by_the_buildings_grid(walker, tree, wenyuan):
    """A draft from before (or a tampered form) with a grid that does not fit the building."""
    values = answers(
        "flow_in", tree, grid_id=str(tree["grid_a"].id), building_id=str(wenyuan["two"].id)
    )
    response = walker.run("flow_in", values)
    assert response.status_code == 303
    reg = db.session.execute(select(Registration)).scalar_one()
    assert reg.grid_id == tree["grid_b"].id


def test_a_building_of_another_community_is_refused(walker, tree, wenyuan):
    values = _to_residence(walker, tree)
    response = walker.post("residence", {**values, "building_id": str(wenyuan["foreign"].id)})
    assert response.status_code == 422
    assert "不属于该社区" in response.get_data(as_text=True)
    retired = walker.post("residence", {**values, "building_id": str(wenyuan["gone"].id)})
    assert retired.status_code == 422


def test_no_building_is_still_allowed(walker, tree, wenyuan):
    values = answers("flow_in", tree, grid_id="", building_id="")
    assert walker.run("flow_in", values).status_code == 303
    reg = db.session.execute(select(Registration)).scalar_one()
    assert reg.building_id is None and reg.grid_id is None
