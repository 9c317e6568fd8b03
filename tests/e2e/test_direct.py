"""直管 in a real browser: staff give a resident member a post with a 责任区, print the 责任卡
and open the verify URL its QR code carries; then a 结对帮扶 pair gets two visits and shows on
the member card and on the building's page. A member requests a post from a phone."""

from __future__ import annotations

import random
import uuid
from datetime import date, timedelta

import pytest
from flask import Flask
from playwright.sync_api import Page, expect
from sqlalchemy import select

from app.extensions import db
from app.organization import appointments
from tests.e2e.conftest import htmx_settled, unused_id_number


@pytest.fixture
def direct_world(live_app: Flask, make_user):
    from app.auth.models import User
    from app.direct import services
    from app.members.services import create_member
    from app.organization import services as org

    tag = uuid.uuid4().hex[:4]
    staff = make_user("staff")
    with live_app.app_context():
        community = org.create_node("place", None, f"金岭{tag}社区")
        grid = org.create_node("place", community.id, f"金岭{tag}网格")
        b1 = org.create_node("place", grid.id, f"金岭{tag}一号楼")
        b2 = org.create_node("place", grid.id, f"金岭{tag}二号楼")
        street = org.create_node("org", None, f"金岭{tag}街道党工委")
        committee = org.create_node("org", street.id, f"金岭{tag}社区党委", place_id=community.id)
        branch = org.create_node("org", committee.id, f"金岭{tag}第一支部")
        group = org.create_node("org", branch.id, f"金岭{tag}一号楼党小组")
        appointments.link_building_group(b1, group.id)
        user = db.session.execute(select(User).where(User.username == staff)).scalar_one()
        appointments.add_scope(user, org_id=committee.id)
        member = create_member(
            {
                "name": f"周{tag}",
                "id_number": unused_id_number(date(1968, 3, 9), random.Random(tag)),
                "building_id": b1.id,
                "group_id": group.id,
                "phone": "13800138000",
            },
            None,
        )
        services.ensure_seed_posts(community.id)
        db.session.commit()
        world = {
            "staff": staff,
            "member_id": member.id,
            "name": member.name,
            "b1": b1.id,
            "b1_name": b1.name,
            "b2_name": b2.name,
        }
        db.session.remove()
    world["member_login"] = make_user("member", member_id=world["member_id"])
    return world


def _verify_url(live_app: Flask, member_id: int) -> str:
    from app.direct import services
    from app.direct.models import PostAssignment

    with live_app.app_context():
        a = db.session.scalars(
            select(PostAssignment).where(PostAssignment.member_id == member_id)
        ).one()
        token = services.token_for(a)
        db.session.remove()
    return f"/verify/duty/{token}"


def test_post_card_verify_and_pair_with_two_visits(
    page: Page, login, shot, direct_world, live_app, viewport
):
    if viewport == "phone":
        pytest.skip("the staff journey is a desktop one; members use phones (test below)")
    w = direct_world
    page.goto("/login")
    login(w["staff"])
    page.goto(f"/direct/members/{w['member_id']}")
    form = page.locator("#assign-form")
    form.get_by_label("岗位").select_option(label="环境卫生监督员")
    form.get_by_label(w["b2_name"]).check()  # the member's own building is ticked already
    expect(form.get_by_label(w["b1_name"])).to_be_checked()
    form.get_by_role("button", name="设岗并划定责任区").click()
    posts = page.locator("#posts-card")
    expect(posts).to_contain_text("在岗")
    expect(posts).to_contain_text(f"{w['b1_name']}、{w['b2_name']}")
    shot("assigned")

    # The printed 责任卡 (PDF) and the verify page its QR code opens.
    href = posts.get_by_role("link", name="打印责任卡").get_attribute("href")
    pdf = page.request.get(href)
    assert pdf.ok and pdf.body().startswith(b"%PDF")
    page.goto(_verify_url(live_app, w["member_id"]))
    expect(page.locator("h1")).to_have_text("责任卡有效：该党员正在岗")
    expect(page.locator("body")).to_contain_text("环境卫生监督员")
    expect(page.locator("body")).not_to_contain_text(w["name"])  # the name is masked
    shot("verified")

    # A 结对帮扶 pair with two visits.
    page.goto(f"/direct/members/{w['member_id']}")
    pair_form = page.locator("#pair-form")
    pair_form.get_by_label("帮扶对象姓名（户主）").fill("孙桂兰")
    pair_form.get_by_label("联系电话").fill("13912345678")
    pair_form.get_by_label("所在楼栋").select_option(label=w["b1_name"])
    pair_form.get_by_label("帮扶类别").select_option(label="独居老人")
    pair_form.get_by_label("开始日期").fill((date.today() - timedelta(days=30)).isoformat())
    pair_form.get_by_role("button", name="建立结对").click()
    page.locator("#pairs-card").get_by_role("link", name="孙*兰").click()
    htmx_settled(page)
    for days, text in ((20, "上门看望，帮忙买菜"), (3, "陪同去社区卫生站量血压")):
        visit = page.locator("#visit-form")
        visit.get_by_label("日期").fill((date.today() - timedelta(days=days)).isoformat())
        visit.get_by_label("帮扶内容").fill(text)
        visit.get_by_role("button", name="记录帮扶").click()
        expect(page.locator("body")).to_contain_text(text)
        htmx_settled(page)
    expect(page.locator("h2", has_text="走访与帮扶记录")).to_contain_text("2 次")
    shot("visits")

    page.goto(f"/members/{w['member_id']}")
    panel = page.locator("#direct-panel")
    expect(panel).to_contain_text("环境卫生监督员")
    expect(panel).to_contain_text("走访 2 次")
    page.goto(f"/places/{w['b1']}")
    building = page.locator("#building-direct")
    expect(building).to_contain_text(w["name"])
    expect(building).to_contain_text("孙*兰")
    expect(building).to_contain_text("走访 2 次")
    shot("building")


def test_member_requests_a_post_on_a_phone(page: Page, login, shot, direct_world, viewport):
    w = direct_world
    page.goto("/login")
    login(w["member_login"])
    page.goto("/my/duties")
    form = page.locator("#request-form")
    form.get_by_label("岗位").select_option(label="居民群众联系员")
    form.get_by_label("结束日期（可不填）").fill("2000-01-01")  # before the start: refused
    form.get_by_role("button", name="提交申请").click()
    expect(page.locator("#ends_on-error")).to_have_text("结束日期不能早于开始日期")
    page.locator("#request-form").get_by_label("结束日期（可不填）").fill("")
    page.locator("#request-form").get_by_role("button", name="提交申请").click()
    expect(page.locator("body")).to_contain_text("待审核")
    shot("requested")
