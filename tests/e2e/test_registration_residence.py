"""报到 on a phone and a desktop (issue 12 items 13 and 19): the member finds the building by
typing — live, without knowing the grid — and long building names wrap instead of being cut
off; a returned registration reopens with everything filled and says why the ID number is empty."""

from __future__ import annotations

import re
import uuid

from playwright.sync_api import Page, expect

from app.extensions import db
from tests.e2e.conftest import htmx_settled
from tests.e2e.test_registration import _id_number

LONG = "文苑小区西区2号楼（原有色公司职工住宅）"


def _compound(live_app, tag: str) -> dict[str, int]:
    """文苑小区 spans two grids of one community."""
    from app.organization import services

    with live_app.app_context():
        community = services.create_node("place", None, f"新华{tag}社区")
        west = services.create_node("place", community.id, f"新华{tag}第一网格")
        east = services.create_node("place", community.id, f"新华{tag}第二网格")
        services.create_node("place", west.id, "文苑小区西区1号楼", address="新华路8号")
        two = services.create_node(
            "place", east.id, LONG, address="金昌市金川区新华路街道新华路8号文苑小区西区2号楼"
        )
        services.create_node("place", east.id, "文苑小区西区12号楼", address="新华路8号")
        db.session.commit()
        ids = {"community": community.id, "building": two.id}
        db.session.remove()
    return ids


def _to_residence(page: Page, community_id: int, phone: str) -> None:
    page.goto(f"/register/flow_in?c={community_id}")
    htmx_settled(page)
    page.get_by_label("姓名").fill("张晓明")
    page.get_by_label("身份证号").fill(_id_number())
    page.get_by_label("手机号").first.fill(phone)
    page.get_by_role("button", name="下一步").click()
    page.get_by_label("党员类型").select_option("formal")
    page.get_by_label("入党日期").fill("2010-07-01")
    page.get_by_label("转正日期").fill("2011-07-01")
    page.get_by_label(re.compile("^原党组织（")).fill("民勤县大坝镇党委")
    page.get_by_label("原党组织联系人及电话").fill("王书记 13800001111")
    page.get_by_role("button", name="下一步").click()
    page.get_by_label("从哪里流入").fill("甘肃省武威市民勤县")
    page.get_by_label("到达本社区日期").fill("2025-03-01")
    page.get_by_label("从事职业").fill("电工")
    page.get_by_role("button", name="下一步").click()
    expect(page.get_by_role("heading", name=re.compile("居住地址"))).to_be_visible()
    htmx_settled(page)


def test_member_finds_the_building_by_typing(page: Page, live_app, shot):
    tag = uuid.uuid4().hex[:4]
    ids = _compound(live_app, tag)
    _to_residence(page, ids["community"], f"139{uuid.uuid4().int % 10**8:08d}")
    expect(page.get_by_label("网格", exact=True)).to_have_count(0)  # no grid to pick
    page.get_by_label("查找楼栋").press_sequentially("文苑 2号楼", delay=30)
    choice = page.get_by_role("radio", name=re.compile("西区2号楼"))
    expect(choice).to_have_count(1)  # live: no button pressed
    expect(page.get_by_role("radio", name=re.compile("西区12号楼"))).to_have_count(0)
    label = page.locator("label.choice", has_text="西区2号楼")
    expect(label).to_contain_text(LONG)
    expect(label).to_contain_text(f"新华{tag}第二网格")
    # The whole name is visible: it wraps inside the viewport, nothing is clipped.
    width = page.viewport_size["width"]
    box = label.bounding_box()
    assert box["x"] >= 0 and box["x"] + box["width"] <= width
    clipped = label.locator(".choice-text").evaluate("e => e.scrollWidth > e.clientWidth + 1")
    assert not clipped
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    choice.check()
    page.get_by_label("房号").fill("2单元301")
    shot("residence")
    page.get_by_role("button", name="下一步").click()
    summary = page.locator(".reg-summary")
    expect(summary).to_contain_text(LONG)
    expect(summary).to_contain_text(f"新华{tag}第二网格（按楼栋确定）")
    shot("summary")


def test_returned_registration_reopens_filled_and_explains_the_id_number(
    page: Page, live_app, shot, make_user
):
    from app.auth.models import User
    from app.registration import rules, services

    tag = uuid.uuid4().hex[:4]
    ids = _compound(live_app, tag)
    phone = f"138{uuid.uuid4().int % 10**8:08d}"
    raw = {
        "name": "李红",
        "id_number": _id_number(),
        "phone": phone,
        "ethnicity": "回族",
        "member_type": "formal",
        "joined_on": "2010-07-01",
        "full_member_on": "2011-07-01",
        "origin_org": "民勤县大坝镇党委",
        "origin_org_contact": "王书记 13800001111",
        "origin_place": "甘肃省武威市民勤县",
        "mobility_since": "2025-03-01",
        "occupation": "电工",
        "community_id": str(ids["community"]),
        "building_id": str(ids["building"]),
        "room": "2单元301",
        "consent": "y",
        "sensitive_consent": "y",
    }
    admin = make_user("admin")
    with live_app.app_context():
        from app.timeutil import local_today

        values, errors = rules.clean_all("flow_in", raw, local_today())
        assert not errors, errors
        registration, _ = services.submit("flow_in", values, uuid.uuid4().hex)
        staff = db.session.execute(db.select(User).filter_by(username=admin)).scalar_one()
        services.return_for_correction(registration, staff, "请补充从事职业的单位名称")
        db.session.commit()
        code = registration.tracking_code
        db.session.remove()
    page.goto("/register/status")
    page.get_by_label("查询码").fill(code)
    page.get_by_label("登记时填写的手机号").fill(phone)
    page.get_by_role("button", name="查询").click()
    page.get_by_role("link", name="修改并重新提交").click()
    note = page.locator(".correction-note")
    expect(note).to_contain_text("身份证号不会显示在网页上")
    expect(note).to_contain_text("请补充从事职业的单位名称")
    expect(page.get_by_label("姓名")).to_have_value("李红")
    expect(page.get_by_label("民族")).to_have_value("回族")
    expect(page.get_by_label("身份证号")).to_have_value("")
    shot("correction")


def test_without_javascript_search_then_choose(new_context, live_app):
    """The plain form: type, press 查找, choose from the matches (a phone with JS off)."""
    from tests.e2e.conftest import ARTIFACTS, VIEWPORTS

    tag = uuid.uuid4().hex[:4]
    ids = _compound(live_app, tag)
    context = new_context(locale="zh-CN", java_script_enabled=False, **VIEWPORTS["phone"])
    page = context.new_page()
    page.goto(f"/register/flow_in?c={ids['community']}")
    page.get_by_label("姓名").fill("张晓明")
    page.get_by_label("身份证号").fill(_id_number())
    page.get_by_label("手机号").first.fill(f"137{uuid.uuid4().int % 10**8:08d}")
    page.get_by_role("button", name="下一步").click()
    page.get_by_label("党员类型").select_option("formal")
    page.get_by_label("入党日期").fill("2010-07-01")
    page.get_by_label("转正日期").fill("2011-07-01")
    page.get_by_label(re.compile("^原党组织（")).fill("民勤县大坝镇党委")
    page.get_by_label("原党组织联系人及电话").fill("王书记 13800001111")
    page.get_by_role("button", name="下一步").click()
    page.get_by_label("从哪里流入").fill("甘肃省武威市民勤县")
    page.get_by_label("到达本社区日期").fill("2025-03-01")
    page.get_by_label("从事职业").fill("电工")
    page.get_by_role("button", name="下一步").click()
    page.get_by_label("查找楼栋").fill("文苑2号楼")
    page.get_by_role("button", name="查找").click()
    expect(page.get_by_label("查找楼栋")).to_have_value("文苑2号楼")
    page.get_by_role("radio", name=re.compile("西区2号楼")).check()
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "test_registration-nojs-residence.png"), full_page=True)
    page.get_by_role("button", name="下一步").click()
    expect(page.locator(".reg-summary")).to_contain_text(f"新华{tag}第二网格（按楼栋确定）")
    context.close()
