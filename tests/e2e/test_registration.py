"""报到 in a real browser: a flow-in member registers on a phone (fixing a typo in the ID number
inline), then a staff user approves the registration on a desktop."""

from __future__ import annotations

import re
import uuid
from datetime import date

from playwright.sync_api import expect

from app.extensions import db
from app.members.identity import check_char
from tests.e2e.conftest import ARTIFACTS, PASSWORD, VIEWPORTS, csp_errors, nav_link


def _places(live_app, tag: str) -> int:
    from app.organization import services

    with live_app.app_context():
        community = services.create_node("place", None, f"金川{tag}社区")
        grid = services.create_node("place", community.id, f"金川{tag}一网格")
        services.create_node("place", grid.id, f"{tag}号楼", address="金川路8号")
        db.session.commit()
        community_id = community.id
        db.session.remove()
    return community_id


def _id_number() -> str:
    seq = uuid.uuid4().int % 500
    first17 = f"620302{date(1986, 5, 17):%Y%m%d}{seq * 2 + 1:03d}"
    return first17 + check_char(first17)


def _context(new_context, name: str, errors: list[str]):
    context = new_context(locale="zh-CN", timezone_id="Asia/Shanghai", **VIEWPORTS[name])
    context.set_default_timeout(15_000)
    page = context.new_page()
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    return page


def _settled(page) -> None:
    """htmx wires up swapped-in elements when the swap settles; a user is never that fast."""
    expect(page.locator(".htmx-settling, .htmx-swapping, .htmx-added")).to_have_count(0)


def _shot(page, step: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"test_registration-{step}.png"), full_page=True)


def test_flow_in_on_phone_then_staff_approves_on_desktop(
    new_context, live_app, live_server, make_user
):
    errors: list[str] = []
    tag = uuid.uuid4().hex[:4]
    community_id = _places(live_app, tag)
    id_number = _id_number()
    typo = id_number[:15] + str((int(id_number[15]) + 1) % 10) + id_number[16:]
    phone = f"139{uuid.uuid4().int % 10**8:08d}"

    # ---- the member, on a phone -----------------------------------------------------------
    page = _context(new_context, "phone", errors)
    page.goto(f"{live_server}/login")
    page.get_by_role("link", name="党员报到").click()
    expect(page.get_by_role("heading", name="党员报到")).to_be_visible()
    page.goto(f"{live_server}/register?c={community_id}")
    _shot(page, "phone-start")
    page.get_by_role("link", name=re.compile("流入党员登记")).click()
    page.get_by_label("姓名").fill("张晓明")
    _settled(page)
    page.get_by_label("身份证号").fill(typo)
    page.get_by_label("手机号").first.focus()  # leaving the field validates it
    error = page.locator("#id_number-error")
    expect(error).to_contain_text("校验位不正确")
    expect(page.get_by_label("身份证号")).to_have_attribute("aria-invalid", "true")
    _shot(page, "phone-typo")
    page.get_by_label("身份证号").fill(id_number)
    page.get_by_label("手机号").first.fill(phone)
    page.get_by_label("手机号").first.press("Tab")
    expect(error).to_have_text("")
    expect(page.get_by_label("身份证号")).to_have_attribute("aria-invalid", "false")
    page.get_by_role("button", name="下一步").click()

    expect(page.get_by_role("heading", name=re.compile("党籍信息"))).to_be_visible()
    page.get_by_label("党员类型").select_option("formal")
    page.get_by_label("入党日期").fill("2010-07-01")
    page.get_by_label("转正日期").fill("2011-07-01")
    page.get_by_role("button", name="上一步").click()  # back and forth keeps what was typed
    expect(page.get_by_label("身份证号")).to_have_value(id_number)
    page.get_by_role("button", name="下一步").click()
    expect(page.get_by_label("转正日期")).to_have_value("2011-07-01")
    page.get_by_label(re.compile("^原党组织（")).fill("民勤县大坝镇党委")
    page.get_by_label("原党组织联系人及电话").fill("王书记 13800001111")
    page.get_by_role("button", name="下一步").click()

    expect(page.get_by_role("heading", name=re.compile("现在情况"))).to_be_visible()
    page.get_by_label("从哪里流入").fill("甘肃省武威市民勤县")
    page.get_by_label("到达本社区日期").fill("2025-03-01")
    page.get_by_label("从事职业").fill("电工")
    page.get_by_role("button", name="下一步").click()

    expect(page.get_by_role("heading", name=re.compile("居住地址"))).to_be_visible()
    expect(page.get_by_label("社区")).to_have_value(str(community_id))
    _settled(page)
    page.get_by_label("查找楼栋").fill(f"{tag}号楼")  # the grid follows from the building
    page.get_by_role("radio", name=re.compile(f"{tag}号楼")).check()
    page.get_by_label("房号").fill("2单元301")
    _shot(page, "phone-residence")
    page.get_by_role("button", name="下一步").click()

    expect(page.get_by_role("heading", name=re.compile("个人信息处理告知书"))).to_be_visible()
    page.get_by_label(re.compile("我已阅读并同意")).check()
    page.get_by_label(re.compile("我单独同意")).check()
    _shot(page, "phone-consent")
    page.get_by_role("button", name="提交报到").click()
    expect(page.get_by_role("heading", name="提交成功")).to_be_visible()
    code = page.locator(".tracking-code").inner_text()
    assert re.fullmatch(r"[2-9A-HJKMNP-Z]{4}-[2-9A-HJKMNP-Z]{4}", code)
    _shot(page, "phone-done")
    page.get_by_role("link", name="查看并打印报到回执").click()
    expect(page.get_by_role("heading", name="党员报到回执")).to_be_visible()
    _shot(page, "phone-receipt")
    page.goto(f"{live_server}/register/status")
    page.get_by_label("查询码").fill(code.lower())
    page.get_by_label("登记时填写的手机号").fill(phone)
    page.get_by_role("button", name="查询").click()
    expect(page.locator(".reg-status")).to_contain_text("待审核")
    _shot(page, "phone-status")
    page.context.close()

    # ---- staff, on a desktop --------------------------------------------------------------
    desk = _context(new_context, "desktop", errors)
    admin = make_user("admin")
    desk.goto(f"{live_server}/login")
    desk.get_by_label("用户名").fill(admin)
    desk.get_by_label("密码").fill(PASSWORD)
    desk.get_by_role("button", name="登录").click()
    desk.locator(".mainnav").get_by_role("link", name=re.compile("^报到审核")).click()
    expect(desk.locator('.mainnav .navbar a[href="/registrations/"] .nav-badge')).not_to_be_empty()
    desk.get_by_label("社区", exact=True).select_option(str(community_id))
    row = desk.locator("tr", has_text="张晓明").first
    expect(row).to_contain_text("流入党员登记")
    _shot(desk, "desktop-queue")
    row.get_by_role("link", name="张晓明").click()
    expect(desk.get_by_text("名册中没有该身份证号的党员")).to_be_visible()
    _shot(desk, "desktop-detail")
    desk.get_by_role("button", name="通过", exact=True).click()
    expect(desk.get_by_text("已通过，已新建党员记录")).to_be_visible()
    expect(desk.locator(".initial-login")).to_contain_text(phone)
    _shot(desk, "desktop-approved")
    desk.context.close()
    assert not csp_errors(errors), errors


def test_member_files_flow_out_report_on_phone(new_context, live_app, live_server, make_user):
    """A member with a login reports going away from their own page; staff print the poster."""
    from app.members.services import create_member

    errors: list[str] = []
    tag = uuid.uuid4().hex[:4]
    community_id = _places(live_app, tag)
    with live_app.app_context():
        member = create_member(
            {
                "name": "李红",
                "id_number": _id_number(),
                "phone": f"138{uuid.uuid4().int % 10**8:08d}",
                "joined_on": date(2010, 7, 1),
                "community_id": community_id,
            },
            None,
        )
        db.session.commit()
        member_id = member.id
        db.session.remove()
    username = make_user("member", member_id=member_id)
    page = _context(new_context, "phone", errors)
    page.goto(f"{live_server}/login")
    page.get_by_label("用户名").fill(username)
    page.get_by_label("密码").fill(PASSWORD)
    page.get_by_role("button", name="登录").click()
    nav_link(page, "我的报到与外出报告").click()
    expect(page.get_by_role("heading", name="我的档案")).to_be_visible()
    _shot(page, "phone-mine")
    page.get_by_role("link", name="提交外出报告").click()
    page.get_by_label("外出去向").fill("广东省深圳市南山区")
    page.get_by_label("外出日期").fill("2026-09-01")
    page.get_by_label("预计返回日期").fill("2026-10-01")
    page.get_by_label("从事职业").fill("软件开发")
    page.get_by_label("外出期间联系方式").fill("13912345678")
    page.get_by_label(re.compile("我已阅读并同意")).check()
    page.get_by_label(re.compile("我单独同意")).check()
    page.get_by_role("button", name="提交外出报告").click()
    expect(page.locator("#expected_return-error")).to_contain_text("不足 3 个月")
    expect(page.get_by_label("外出去向")).to_have_value("广东省深圳市南山区")
    page.get_by_label("预计返回日期").fill("2027-06-30")
    page.get_by_role("button", name="提交外出报告").click()
    expect(page.get_by_text("外出报告已提交")).to_be_visible()
    expect(page.locator("table")).to_contain_text("外出报告")
    _shot(page, "phone-flow-out-done")
    page.context.close()

    desk = _context(new_context, "desktop", errors)
    desk.goto(f"{live_server}/login")
    desk.get_by_label("用户名").fill(make_user("admin"))
    desk.get_by_label("密码").fill(PASSWORD)
    desk.get_by_role("button", name="登录").click()
    desk.goto(f"{live_server}/registrations/poster?community={community_id}")
    expect(desk.locator(".poster-qr svg")).to_be_visible()
    _shot(desk, "desktop-poster")
    desk.goto(f"{live_server}/registrations/?kind=flow_out_report&community={community_id}")
    row = desk.locator("tr", has_text="李红")
    expect(row).to_have_count(1)
    # Bulk: tick the row, return it with a reason; the result comes back per row.
    row.get_by_role("checkbox").check()
    desk.get_by_role("button", name="退回修改").click()
    expect(desk.locator("#bulk-results")).to_contain_text("必须填写理由")
    row.get_by_role("checkbox").check()
    desk.get_by_label(re.compile("^理由")).fill("请补充外出期间的联系人")
    desk.get_by_role("button", name="退回修改").click()
    expect(desk.locator("#bulk-results")).to_contain_text("李红")
    expect(desk.locator("#bulk-results")).to_contain_text("已退回修改")
    # The list refreshes itself: the row has left the "待审核" view.
    expect(desk.locator("tr", has_text="李红")).to_have_count(0)
    _shot(desk, "desktop-bulk")
    desk.context.close()
    assert not csp_errors(errors), errors


def test_report_before_leaving_is_approved_as_a_planned_trip(
    new_context, live_app, live_server, make_user
):
    """外出报告 filed before departure (a date next month): staff approve it and the member's
    card shows a planned trip (计划外出) — it used to fail with 流动开始日期不能晚于今天."""
    from datetime import timedelta

    from app.members.services import create_member

    errors: list[str] = []
    tag = uuid.uuid4().hex[:4]
    community_id = _places(live_app, tag)
    with live_app.app_context():
        member = create_member(
            {
                "name": "王计划",
                "id_number": _id_number(),
                "phone": f"138{uuid.uuid4().int % 10**8:08d}",
                "joined_on": date(2010, 7, 1),
                "community_id": community_id,
            },
            None,
        )
        db.session.commit()
        member_id = member.id
        db.session.remove()
    start = date.today() + timedelta(days=20)
    page = _context(new_context, "phone", errors)
    page.goto(f"{live_server}/login")
    page.get_by_label("用户名").fill(make_user("member", member_id=member_id))
    page.get_by_label("密码").fill(PASSWORD)
    page.get_by_role("button", name="登录").click()
    nav_link(page, "我的报到与外出报告").click()
    page.get_by_role("link", name="提交外出报告").click()
    page.get_by_label("外出去向").fill("浙江省杭州市")
    page.get_by_label("外出日期").fill(start.isoformat())
    page.get_by_label("预计返回日期").fill((start + timedelta(days=300)).isoformat())
    page.get_by_label("从事职业").fill("教师")
    page.get_by_label("外出期间联系方式").fill("13912345678")
    page.get_by_label(re.compile("我已阅读并同意")).check()
    page.get_by_label(re.compile("我单独同意")).check()
    page.get_by_role("button", name="提交外出报告").click()
    expect(page.get_by_text("外出报告已提交")).to_be_visible()
    page.context.close()

    desk = _context(new_context, "desktop", errors)
    desk.goto(f"{live_server}/login")
    desk.get_by_label("用户名").fill(make_user("admin"))
    desk.get_by_label("密码").fill(PASSWORD)
    desk.get_by_role("button", name="登录").click()
    desk.goto(f"{live_server}/registrations/?kind=flow_out_report&community={community_id}")
    desk.locator("tr", has_text="王计划").get_by_role("link").first.click()
    desk.get_by_role("button", name="通过", exact=True).click()
    expect(desk.locator("main")).to_contain_text("已更新原有党员记录")
    desk.goto(f"{live_server}/members/{member_id}")
    picture = desk.locator("#management-picture")
    expect(picture).to_contain_text("计划外出")
    expect(picture).to_contain_text("浙江省杭州市")
    _shot(desk, "desktop-planned-trip")
    desk.context.close()
    assert not csp_errors(errors), errors
