"""Member self-service in a real browser: a member on a phone asks for a new mobile number
(a bad number first: the message shows next to the field, the input stays), a grid worker on
a desktop sees the request in 信息变更 with a live count and the diff and approves it, and the
member then sees the new number."""

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
    htmx_settled,
    nav_link,
)


@pytest.fixture
def self_world(live_app: Flask, make_user):
    """A community of its own with one member (with a login) and the grid's worker."""
    from app.auth.models import User
    from app.certificates import services as certs
    from app.members.services import create_member
    from app.organization import services as org
    from tests.members.conftest import id_number

    tag = uuid.uuid4().hex[:4]
    rng = random.Random(tag)
    birth = date(1955, 1, 1) + timedelta(days=rng.randrange(0, 12000))
    worker = make_user("grid_worker", display_name=f"网格员{tag}")
    with live_app.app_context():
        community = org.create_node("place", None, f"自助{tag}社区")
        grid = org.create_node("place", community.id, f"自助{tag}一网格")
        building = org.create_node("place", grid.id, f"自{tag}一号楼")
        member = create_member(
            {
                "name": f"自助{tag}",
                "id_number": id_number(birth, rng.randrange(0, 500)),
                "phone": "13900000001",
                "building_id": building.id,
                "mobility": "flow_out",
                "mobility_place": "广东省深圳市",
                "mobility_since": date.today() - timedelta(days=30),
            },
            None,
        )
        member.liaison_user_id = (
            db.session.execute(db.select(User).filter_by(username=worker)).scalar_one().id
        )
        values = certs.prefill(member)
        values["expected_return"] = date.today() + timedelta(days=300)
        number = certs.issue_certificate(member, values, None).number
        appointments.appoint_grid_worker(
            grid, db.session.execute(db.select(User).filter_by(username=worker)).scalar_one()
        )
        db.session.commit()
        member_id, name = member.id, member.name
        db.session.remove()
    member_user = make_user("member", member_id=member_id)
    return {
        "tag": tag,
        "name": name,
        "member_user": member_user,
        "worker": worker,
        "cert": number,
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
    # A folder of its own: other journeys' runs clear the PNGs at the top of ARTIFACTS.
    folder = ARTIFACTS / "selfservice"
    folder.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(folder / f"{step}.png"), full_page=True)


def test_member_requests_a_phone_change_staff_approves_member_sees_it(new_context, self_world):
    w = self_world
    errors: list[str] = []

    # ---- the member, on a phone -------------------------------------------------------------
    phone = _open(new_context, "phone", errors)
    _login(phone, w["member_user"])
    nav_link(phone, "我的信息").click()
    expect(phone.get_by_role("heading", name="我的信息", level=1)).to_be_visible()
    field = phone.get_by_label("手机号")
    expect(field).to_have_value("13900000001")
    field.fill("1391234")
    phone.get_by_label("地址").fill("滨河路8号")
    phone.get_by_role("button", name="提交变更申请").click()
    expect(phone.locator("#phone-error")).to_have_text("手机号应为 11 位，您填写了 7 位")
    expect(phone.get_by_label("手机号")).to_have_value("1391234")
    expect(phone.get_by_label("地址")).to_have_value("滨河路8号")
    _shot(phone, "phone-error")
    phone.get_by_label("手机号").fill("13912345678")
    phone.get_by_role("button", name="提交变更申请").click()
    expect(phone.locator(".flash-success")).to_contain_text("变更申请已提交")
    expect(phone.locator(".cr-pending")).to_contain_text("13912345678")
    _shot(phone, "phone-pending")

    # ---- the grid worker, on a desktop --------------------------------------------------------
    desk = _open(new_context, "desktop", errors)
    _login(desk, w["worker"])
    nav = desk.locator('.mainnav .navbar a[href="/selfservice/requests"]')
    expect(nav.locator(".nav-badge-live")).to_have_text("1")
    nav.click()
    item = desk.locator(".cr-item").filter(has_text=w["name"])
    expect(item.locator(".cr-old").first).to_have_text("13900000001")
    expect(item.locator(".cr-new").first).to_have_text("13912345678")
    expect(item).to_contain_text("滨河路8号")
    _shot(desk, "desktop-queue")
    htmx_settled(desk)
    item.get_by_role("button", name="通过", exact=True).click()
    expect(desk.locator("#cr-results")).to_contain_text(f"{w['name']}：已通过")
    expect(desk.locator(".cr-item").filter(has_text=w["name"])).to_have_count(0)
    expect(nav.locator(".nav-badge-live")).to_have_text("")  # refreshed live, no reload
    _shot(desk, "desktop-approved")

    # ---- the member again ---------------------------------------------------------------------
    phone.reload()
    expect(phone.locator(".facts").first).to_contain_text("13912345678")
    expect(phone.locator(".cr-history")).to_contain_text("已通过")
    expect(phone.get_by_label("手机号")).to_have_value("13912345678")
    _shot(phone, "phone-approved")
    nav_link(phone, "我的证件").click()
    expect(phone.get_by_role("heading", name="我的证件", level=1)).to_be_visible()
    item = phone.locator(".doc-list li").filter(has_text=w["cert"])
    expect(item).to_contain_text("有效期至")
    _shot(phone, "phone-documents")
    href = item.get_by_role("link", name=re.compile("下载 PDF")).get_attribute("href")
    response = phone.request.get(href)
    assert response.status == 200 and response.headers["content-type"] == "application/pdf"
    assert response.body().startswith(b"%PDF")

    blocked = csp_errors(errors)
    assert not blocked, f"the Content Security Policy blocked something: {blocked}"
