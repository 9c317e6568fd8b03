"""Navigation and wide tables fit the screen ([2/7] #14 and #15): on a 390 px phone the menu
opens as one list instead of a bar cut off at the edge; on a desktop the member list and the
certificate list fit their card (or scroll inside it with the first column kept)."""

from __future__ import annotations

import random
import re
import uuid
from datetime import date, timedelta

import pytest
from flask import Flask
from playwright.sync_api import Page, expect

from app.extensions import db


@pytest.fixture
def wide_world(live_app: Flask, make_user):
    """Members with long place and branch names, one with a certificate, and a member login."""
    from app.certificates import services as certs
    from app.members.services import create_member
    from app.organization import services as org
    from tests.members.conftest import id_number

    tag = uuid.uuid4().hex[:4]
    rng = random.Random(tag)
    with live_app.app_context():
        community = org.create_node("place", None, f"城关街道金川路{tag}社区")
        grid = org.create_node("place", community.id, f"金川路{tag}第一网格")
        building = org.create_node("place", grid.id, f"新华路128号院东方明珠小区{tag}7号楼")
        ids = []
        for n in range(3):
            birth = date(1950, 1, 1) + timedelta(days=rng.randrange(0, 15000))
            member = create_member(
                {
                    "name": f"宽表{tag}{n}",
                    "id_number": id_number(birth, rng.randrange(0, 500)),
                    "phone": f"1390000{n:04d}",
                    "building_id": building.id,
                    "room": "2单元1502",
                    "mobility": "flow_out",
                    "mobility_place": "新疆维吾尔自治区乌鲁木齐市天山区",
                    "mobility_since": date.today() - timedelta(days=250),
                },
                None,
            )
            ids.append(member.id)
        member.liaison_member_id = ids[0]
        values = certs.prefill(member)
        values["expected_return"] = date.today() + timedelta(days=300)
        certs.issue_certificate(member, values, None)
        db.session.commit()
        db.session.remove()
    return {"member_user": make_user("member", member_id=ids[0])}


def _fits(page: Page, selector: str) -> bool:
    return page.evaluate(
        "(sel) => { const el = document.querySelector(sel);"
        " return el.scrollWidth <= el.clientWidth + 1; }",
        selector,
    )


@pytest.mark.parametrize("role", ["admin", "member"])
def test_navigation_fits_the_screen(page: Page, viewport, role, wide_world, make_user, login):
    username = wide_world["member_user"] if role == "member" else make_user("admin")
    login(username)
    expect(page).to_have_url(re.compile(r"/home$"))
    nav = page.locator(".mainnav")
    if viewport == "phone":
        expect(page.locator(".mainnav .navbar")).to_be_hidden()
        summary = page.locator(".navmenu summary")
        expect(summary).to_be_visible()
        assert _fits(page, ".mainnav")
        summary.click()
        links = page.locator(".navmenu a")
        assert links.count() >= 4
        for i in range(links.count()):  # every entry is whole on the screen
            box = links.nth(i).bounding_box()
            assert box and box["x"] >= 0 and box["x"] + box["width"] <= 390
        label = "我的证件" if role == "member" else "党员名册"
        page.locator(".navmenu").get_by_role("link", name=label).click()
        expect(page.locator(".navmenu summary")).to_contain_text(label)
    else:
        expect(page.locator(".navmenu")).to_be_hidden()
        expect(nav.locator(".navbar")).to_be_visible()
        assert _fits(page, ".mainnav .navbar")


def test_wide_tables_fit_their_card(page: Page, viewport, wide_world, make_user, login):
    if viewport == "phone":
        pytest.skip("on a phone every table row is a card of its own (checked elsewhere)")
    login(make_user("admin"))
    expect(page).to_have_url(re.compile(r"/home$"))
    for width in (1366, 1920):
        page.set_viewport_size({"width": width, "height": 900})
        for path, column in (("/members/?mobility=flow_out", "党支部"), ("/certificates/", "状态")):
            page.goto(path)
            header = page.locator(".table-wrap th", has_text=column).first
            expect(header).to_be_visible()
            assert _fits(page, ".table-wrap"), f"{path} is wider than its card at {width} px"
    # Narrower than the table: it scrolls inside its card and the first column stays in view.
    page.set_viewport_size({"width": 760, "height": 900})
    page.goto("/certificates/")
    wrap = page.locator(".table-wrap").first
    first_cell = wrap.locator("tbody tr td").first
    expect(first_cell).to_be_visible()
    assert not _fits(page, ".table-wrap")  # wider than the window: it must scroll
    before = first_cell.bounding_box()
    page.evaluate("document.querySelector('.table-wrap').scrollLeft = 300")
    after = first_cell.bounding_box()
    assert before and after and abs(before["x"] - after["x"]) < 1
