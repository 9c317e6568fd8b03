"""共管 and 协管 in a real browser, on a phone and a desktop viewport: a retired member's
birthday visit appears as due, is logged and disappears; a flow-out member's destination gets a
联系函 PDF and a reply is logged; the 二卡三簿 XLSX has five sheets whose counts match the lists."""

from __future__ import annotations

import io
import random
import re
import uuid
from datetime import date, timedelta

import pytest
from flask import Flask
from openpyxl import load_workbook
from playwright.sync_api import Page, expect
from sqlalchemy import select

from app.extensions import db
from app.organization import appointments
from app.timeutil import local_today
from tests.e2e.conftest import htmx_settled, unused_id_number


@pytest.fixture
def world(live_app: Flask, make_user):
    """A community of its own with a retired member turning 80 today, two flow-out members
    and one flow-in member; a staff user scoped to its committee."""
    from app.auth.models import User
    from app.members.services import create_member
    from app.organization import services as org

    tag = uuid.uuid4().hex[:4]
    rng = random.Random(tag)
    username = make_user("staff")
    with live_app.app_context():
        today = local_today()
        community = org.create_node("place", None, f"松柏{tag}社区")
        grid = org.create_node("place", community.id, f"松柏{tag}网格")
        building = org.create_node("place", grid.id, f"松柏{tag}一号楼")
        street = org.create_node("org", None, f"松柏{tag}街道党工委")
        committee = org.create_node("org", street.id, f"松柏{tag}社区党委", place_id=community.id)
        branch = org.create_node("org", committee.id, f"松柏{tag}支部")
        group = org.create_node("org", branch.id, f"松柏{tag}党小组")
        appointments.link_building_group(building, group.id)
        user = db.session.execute(select(User).where(User.username == username)).scalar_one()
        appointments.add_scope(user, org_id=committee.id)
        try:
            birth = today.replace(year=today.year - 80)
        except ValueError:
            birth = date(today.year - 80, 2, 28)

        def member(n: int, name: str, born: date, **extra):
            return create_member(
                {
                    "name": name,
                    "id_number": unused_id_number(born, rng),
                    "building_id": building.id,
                    "group_id": group.id,
                    "phone": f"1390000{rng.randrange(1000, 9999)}",
                    **extra,
                },
                None,
            )

        elder = member(1, f"寿{tag}", birth, employment="retired", original_unit="金川公司")
        away = dict(
            mobility="flow_out",
            mobility_place="新疆乌鲁木齐",
            mobility_since=today - timedelta(days=200),
            mobility_open_ended=True,
        )
        out1 = member(2, f"出{tag}", date(1985, 3, 3), **away)
        member(3, f"行{tag}", date(1986, 4, 4), **away)
        member(
            4,
            f"入{tag}",
            date(1990, 5, 5),
            mobility="flow_in",
            mobility_place="甘肃武威",
            mobility_since=today - timedelta(days=100),
            relation_location="elsewhere",
            relation_org_name="武威某村党支部",
        )
        db.session.commit()
        world = {"tag": tag, "staff": username, "elder": elder.id, "out": out1.id}
        db.session.remove()
    return world


def test_birthday_visit_is_due_logged_and_gone(page: Page, login, shot, world, viewport):
    w = world
    login(w["staff"])
    page.goto("/work/")
    page.get_by_role("link", name="走访慰问：待走访名单").click()
    htmx_settled(page)
    row = page.locator(".care-due-row", has_text=f"寿{w['tag']}")
    expect(row).to_contain_text("80 岁生日")
    shot("due")
    row.get_by_role("link", name="登记走访").click()
    htmx_settled(page)
    expect(page.get_by_label("走访事由")).to_have_value("birthday-80")
    page.get_by_label("走访人").fill("社区党委书记")
    page.get_by_label("原单位共同走访（单位及人员）").fill("金川公司离退休办")
    page.get_by_label("带去的慰问品 / 帮助解决的事").fill("生日蛋糕、慰问金")
    page.get_by_role("button", name="登记走访").click()
    expect(page.locator(".care-visit-row").first).to_contain_text("80 岁生日")
    shot("logged")
    page.goto("/care/visits")
    expect(page.locator(".care-due-row", has_text=f"寿{w['tag']}")).to_have_count(0)
    if viewport == "phone":
        assert page.evaluate("document.documentElement.scrollWidth") <= 390


def test_letter_to_destination_and_reply_logged(page: Page, login, shot, world, viewport):
    w = world
    login(w["staff"])
    page.goto(f"/members/{w['out']}")
    page.get_by_role("link", name="联系记录与联系函").click()
    htmx_settled(page)
    expect(page.locator("#other-org")).to_contain_text("新疆乌鲁木齐党组织")
    with page.expect_popup() as popup:
        page.get_by_role("button", name="打印联系函").click()
    letter = popup.value
    response = letter.request.get(letter.url)
    assert response.headers["content-type"] == "application/pdf"
    assert response.body().startswith(b"%PDF")
    letter.close()
    page.get_by_label("类别").select_option(label="联系函")
    page.get_by_label("方向").select_option(label="收到")
    page.get_by_label("方式").select_option(label="信函")
    page.get_by_label("对方党组织").fill("乌鲁木齐某公司党支部")
    page.get_by_label("主要内容").fill("回函：该同志按时参加组织生活、交纳党费")
    page.get_by_role("button", name="登记", exact=True).click()
    first = page.locator(".mobile-contact-row").first
    expect(first).to_contain_text("收到")
    expect(first).to_contain_text("乌鲁木齐某公司党支部")
    shot("reply")


def test_ledger_xlsx_counts_match_lists(page: Page, login, shot, world, viewport):
    w = world
    login(w["staff"])
    page.goto("/work/")
    page.get_by_role("link", name="二卡三簿台账").click()
    htmx_settled(page)
    counts = {}
    for badge in page.locator(".ledger-count").all():
        counts[badge.get_attribute("data-book")] = int(badge.inner_text())
    assert counts["register"] == counts["contact_cards"] == 3
    for book, n in counts.items():
        page.goto(f"/mobile/ledger?book={book}")
        expect(page.locator(".ledger-row")).to_have_count(n)
    shot("ledger")
    with page.expect_download() as download_info:
        page.get_by_role("link", name="导出 Excel").click()
    data = download_info.value.path().read_bytes()
    workbook = load_workbook(io.BytesIO(data), read_only=True)
    assert len(workbook.sheetnames) == 5
    rows = [sum(1 for _ in workbook[name].iter_rows()) - 1 for name in workbook.sheetnames]
    assert rows == list(counts.values())
    assert re.search(f"出{w['tag']}", str(list(workbook["流动党员登记簿"].values)))
