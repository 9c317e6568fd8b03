"""Dues, lost-contact cases and appraisal in a real browser: record a dues payment for two months (the list and the
member page follow), open a lost-contact case from the proposals and record a search attempt,
enter a branch's appraisal grades at once."""

from __future__ import annotations

import re
import uuid
from datetime import date, timedelta

import pytest
from flask import Flask
from playwright.sync_api import Page, expect

from app.extensions import db
from app.timeutil import add_months, local_today
from tests.e2e.conftest import htmx_settled


@pytest.fixture
def dues_world(live_app: Flask):
    """A community of its own with one member four months behind on dues (standard 15.00
    yuan) and one member with no org life and no dues at all."""
    from app.members.models import Member
    from app.members.services import create_member
    from app.organization import services as org
    from tests.members.conftest import id_number

    tag = uuid.uuid4().hex[:4]
    birth = date(1955, 1, 1) + timedelta(days=int(tag, 16) % 9000)
    this_month = local_today().replace(day=1)
    with live_app.app_context():
        community = org.create_node("place", None, f"丰收{tag}社区")
        grid = org.create_node("place", community.id, f"丰收{tag}网格")
        building = org.create_node("place", grid.id, f"丰{tag}1号楼")
        street = org.create_node("org", None, f"丰收{tag}街道党工委")
        committee = org.create_node("org", street.id, f"丰收{tag}社区党委", place_id=community.id)
        branch = org.create_node("org", committee.id, f"丰收{tag}第一支部")
        group = org.create_node("org", branch.id, f"丰{tag}1号楼党小组")
        payer = create_member(
            {
                "name": f"交{tag}",
                "id_number": id_number(birth, 1),
                "building_id": building.id,
                "group_id": group.id,
                "employment": "in_service",
                "monthly_income_fen": 300000,
            },
            None,
        )
        quiet = create_member(
            {
                "name": f"失{tag}",
                "id_number": id_number(birth, 2),
                "building_id": building.id,
                "group_id": group.id,
            },
            None,
        )
        db.session.flush()
        m = db.session.get(Member, payer.id)
        m.dues_fen = 1500
        m.dues_paid_until = add_months(this_month, -4)
        m.last_org_life_on = local_today()
        db.session.commit()
        world = {
            "tag": tag,
            "payer": payer.id,
            "quiet": quiet.id,
            "grid": grid.id,
            "branch": branch.id,
            "paid_until": add_months(this_month, -2),
        }
        db.session.remove()
    return world


def test_record_dues_payment_for_two_months(page: Page, make_user, login, shot, dues_world):
    w = dues_world
    login(make_user("admin"))
    page.goto(f"/followup/dues?months=3&grid={w['grid']}")
    row = page.locator("tr", has_text=f"交{w['tag']}")
    expect(row).to_contain_text("3 个月")
    shot("behind-list")
    row.get_by_role("link", name="登记交纳").click()
    expect(page.get_by_role("heading", name=re.compile(f"交{w['tag']}"))).to_be_visible()
    htmx_settled(page)
    page.get_by_label("交纳月数").fill("2")
    page.get_by_role("button", name="登记交纳").click()
    paid = w["paid_until"]
    expect(page.locator(".flash")).to_contain_text(f"党费交至 {paid.year}年{paid.month}月")
    expect(page.locator("#payments")).to_contain_text("30.00 元")
    expect(page.locator("#payment")).to_contain_text(f"{paid.year}年{paid.month}月")
    shot("paid")
    # Now one month behind: gone from the "3 months or more" list.
    page.goto(f"/followup/dues?months=3&grid={w['grid']}")
    expect(page.locator("tr", has_text=f"交{w['tag']}")).to_have_count(0)
    # The registration card links to the same page.
    page.goto(f"/members/{w['payer']}")
    shot("card")
    page.locator(".head-actions").get_by_role("link", name="党费").click()
    expect(page.locator("#payment")).to_contain_text(f"{paid.year}年{paid.month}月")


def test_open_lost_contact_case_and_add_attempt(page: Page, make_user, login, shot, dues_world):
    w = dues_world
    login(make_user("admin"))
    page.goto("/followup/lost/proposals")
    row = page.locator("tr", has_text=f"失{w['tag']}")
    while row.count() == 0 and page.get_by_role("link", name="加载更多").count():
        page.get_by_role("link", name="加载更多").click()
        htmx_settled(page)
    row.get_by_role("link", name="登记失联").click()
    htmx_settled(page)
    page.get_by_label("失联类型").select_option(label="花名册党员")
    page.get_by_label("失联原因").select_option(label="外出务工经商")
    page.get_by_label("失联起始日期").fill((local_today() - timedelta(days=400)).isoformat())
    shot("open-form")
    page.get_by_role("button", name="登记失联").click()
    expect(page.locator(".flash")).to_contain_text("已将")
    expect(page.locator(".flag").first).to_contain_text("失联超过 1 年")
    htmx_settled(page)
    page.get_by_label("找：通过亲友寻找").check()
    page.get_by_label("查找情况").fill("联系其姐姐，得知在深圳务工，已留电话")
    page.get_by_role("button", name="保存查找记录").click()
    expect(page.locator("#attempts")).to_contain_text("联系其姐姐")
    expect(page.locator("#attempts")).to_contain_text("1 次")
    shot("case")
    # Bad input: the message next to the field, the text kept.
    htmx_settled(page)
    page.get_by_label("查找情况").fill("")
    page.get_by_role("button", name="保存查找记录").click()
    expect(page.locator("#summary-error")).to_contain_text("请填写此项")
    page.goto("/followup/lost?kind=roster")
    expect(page.locator(".lost-table")).to_contain_text(f"失{w['tag']}")
    shot("list")


def test_branch_appraisal_bulk_form(page: Page, make_user, login, shot, dues_world):
    w = dues_world
    login(make_user("admin"))
    year = local_today().year
    page.goto(f"/followup/appraisal/branches/{w['branch']}?year={year}")
    page.get_by_label(f"交{w['tag']}的等次").select_option(label="优秀")
    page.get_by_label(f"失{w['tag']}的等次").select_option(label="基本合格")
    page.get_by_role("button", name="保存评议等次").click()
    expect(page.locator(".flash")).to_contain_text("已保存 2 名党员的评议等次")
    expect(page.get_by_label(f"交{w['tag']}的等次")).to_have_value("excellent")
    shot("appraisal")
    page.goto(f"/followup/appraisal?year={year}")
    row = page.locator("tr", has_text=f"丰收{w['tag']}第一支部")
    expect(row.locator('td[data-label="优秀"]')).to_have_text("1")
    shot("appraisal-counts")
