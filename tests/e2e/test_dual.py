"""双管 in a real browser: staff publish an activity on a desktop, an in-service member claims it
on a phone (390 × 844), signs in and out by opening the activity's QR URL, staff confirm the
hours, and the feedback sheet for the period shows them, is rated, sent and returned."""

from __future__ import annotations

import random
import re
import uuid
from datetime import date, timedelta

import pytest
from flask import Flask
from playwright.sync_api import Page, expect

from app.extensions import db
from app.organization import appointments
from tests.e2e.conftest import (
    ARTIFACTS,
    PASSWORD,
    TIMEOUT_MS,
    VIEWPORTS,
    csp_errors,
    nav_link,
)


@pytest.fixture
def dual_world(live_app: Flask, make_user):
    from app.auth.models import User
    from app.members.services import create_member
    from app.organization import services as org
    from tests.members.conftest import id_number

    tag = uuid.uuid4().hex[:4]
    rng = random.Random(tag)
    birth = date(1975, 1, 1) + timedelta(days=rng.randrange(0, 5000))
    worker = make_user("grid_worker", display_name=f"网格员{tag}")
    with live_app.app_context():
        community = org.create_node("place", None, f"双管{tag}社区")
        grid = org.create_node("place", community.id, f"双管{tag}一网格")
        building = org.create_node("place", grid.id, f"双{tag}一号楼")
        member = create_member(
            {
                "name": f"在职{tag}",
                "id_number": id_number(birth, rng.randrange(0, 500)),
                "phone": "13900000002",
                "building_id": building.id,
                "employment": "in_service",
                "relation_location": "work_unit",
                "work_unit": f"市第{tag}中学",
                "work_unit_org": f"市第{tag}中学党总支",
            },
            None,
        )
        assert member.category == "dual"
        appointments.appoint_grid_worker(
            grid, db.session.execute(db.select(User).filter_by(username=worker)).scalar_one()
        )
        db.session.commit()
        member_id, name, unit = member.id, member.name, member.work_unit
        db.session.remove()
    return {
        "tag": tag,
        "name": name,
        "unit": unit,
        "member_id": member_id,
        "member_user": make_user("member", member_id=member_id),
        "worker": worker,
    }


def _open(new_context, viewport: str, errors: list[str]) -> Page:
    context = new_context(locale="zh-CN", timezone_id="Asia/Shanghai", **VIEWPORTS[viewport])
    context.set_default_timeout(TIMEOUT_MS)
    tab = context.new_page()
    tab.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    tab.on("pageerror", lambda e: errors.append(f"pageerror: {e}"))
    return tab


def _login(page: Page, username: str) -> None:
    page.goto("/login")
    page.get_by_label("用户名").fill(username)
    page.get_by_label("密码").fill(PASSWORD)
    page.get_by_role("button", name="登录").click()
    expect(page).to_have_url(re.compile(r"/home$"))


def _shot(page: Page, step: str) -> None:
    folder = ARTIFACTS / "dual"
    folder.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(folder / f"{step}.png"), full_page=True)


def test_publish_claim_sign_in_confirm_and_feedback(new_context, dual_world):
    w = dual_world
    errors: list[str] = []
    title = f"社区义诊{w['tag']}"

    # ---- staff publish an activity (desktop) ------------------------------------------------
    desk = _open(new_context, "desktop", errors)
    _login(desk, w["worker"])
    desk.goto("/work/")
    desk.get_by_role("link", name="需求清单与服务岗位").click()
    desk.get_by_role("link", name="发布需求/岗位").click()
    expect(desk.get_by_role("heading", name="发布需求/岗位", level=1)).to_be_visible()
    desk.locator("#kind").select_option("activity")
    desk.get_by_role("button", name="发布").click()
    expect(desk.locator("#title-error")).to_have_text("请填写此项")
    desk.locator("#title").fill(title)
    desk.locator("#places").fill("2")
    desk.locator("#place").fill("社区卫生服务站")
    _shot(desk, "desktop-need-form")
    desk.get_by_role("button", name="发布").click()
    expect(desk.get_by_role("heading", name=title, level=1)).to_be_visible()
    need_url = desk.url
    _shot(desk, "desktop-need")

    # ---- the member claims it on a phone ------------------------------------------------------
    phone = _open(new_context, "phone", errors)
    _login(phone, w["member_user"])
    nav_link(phone, "社区服务").click()
    item = phone.locator(".need-item").filter(has_text=title)
    expect(item).to_contain_text("已认领 0 / 2 人")
    item.get_by_role("button", name="认领").click()
    expect(phone.locator("#my-claims")).to_contain_text(title)
    expect(phone.locator(".need-item").filter(has_text=title)).to_contain_text("已认领 1 / 2 人")
    _shot(phone, "phone-claimed")

    # ---- staff open the sign-in QR; the member opens its URL ---------------------------------
    desk.get_by_role("link", name="签到二维码").click()
    expect(desk.locator(".qr-box svg")).to_be_visible()
    signin_url = desk.locator(".qr-card a").get_attribute("href")
    _shot(desk, "desktop-qr")
    staff_phone = _open(new_context, "phone", errors)  # staff also show the QR on a phone
    _login(staff_phone, w["worker"])
    staff_phone.goto(desk.url)
    expect(staff_phone.locator(".qr-box svg")).to_be_visible()
    box = staff_phone.locator(".qr-box svg").bounding_box()
    assert box and 200 <= box["width"] <= 390, box
    _shot(staff_phone, "phone-staff-qr")
    phone.goto(signin_url)
    phone.get_by_role("button", name="签到").click()
    expect(phone.locator("#signin")).to_contain_text("签到成功")
    _shot(phone, "phone-signed-in")
    phone.goto(signin_url)
    phone.get_by_role("button", name="签退").click()
    expect(phone.locator("#signin")).to_contain_text("签退成功")
    _shot(phone, "phone-signed-out")

    # ---- staff confirm the hours -----------------------------------------------------------
    desk.goto(need_url)
    expect(desk.locator("#signins")).to_contain_text(w["name"])
    desk.get_by_role("link", name=re.compile("确认签退产生的服务时长")).click()
    row = desk.locator("tr").filter(has_text=w["name"])
    row.get_by_label("确认时长").fill("2")
    _shot(desk, "desktop-services")
    row.get_by_role("button", name="确认", exact=True).click()
    expect(desk.locator("tr").filter(has_text=w["name"])).to_have_count(0)

    # ---- the feedback sheet for the period -------------------------------------------------
    desk.goto("/work/")
    desk.get_by_role("link", name="在职党员社区表现反馈单").click()
    desk.get_by_role("link", name=w["name"]).click()
    expect(desk.locator("#sheet-hours")).to_have_text("2.0")
    expect(desk.locator(".facts")).to_contain_text(title)
    desk.get_by_role("button", name="保存评价").click()
    expect(desk.locator("#rating-error")).to_have_text("请选择评价等次")
    desk.get_by_label("优秀").check()
    desk.get_by_label("评价意见").fill("积极参加社区服务")
    desk.get_by_role("button", name="保存评价").click()
    expect(desk.get_by_label("优秀")).to_be_checked()
    desk.get_by_label("送达方式").select_option("post")
    desk.get_by_role("button", name="标记已发送").click()
    expect(desk.locator("#sheet-status")).to_have_text("已发送")
    desk.get_by_label("单位回执意见").fill("已收悉")
    desk.get_by_role("button", name="登记回执").click()
    expect(desk.locator("#sheet-status")).to_have_text("已回执")
    _shot(desk, "desktop-sheet-returned")
    href = desk.get_by_role("link", name="打印反馈单").get_attribute("href")
    response = desk.request.get(href)
    assert response.status == 200 and response.body().startswith(b"%PDF")

    # the member sees the confirmed hours
    phone.goto("/dual/mine")
    expect(phone.locator("#my-hours")).to_have_text("2.0")
    _shot(phone, "phone-hours")

    blocked = csp_errors(errors)
    assert not blocked, f"the Content Security Policy blocked something: {blocked}"
