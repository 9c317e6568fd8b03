"""Assignment in a real browser: move 30 members chosen by a filter with a preview, watch the
counters follow without a reload, resolve a work-list item in place, assign a liaison; a grid
worker cannot move members out of their grid."""

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
from tests.e2e.conftest import htmx_settled


@pytest.fixture
def place_world(live_app: Flask):
    """A community of its own: grid A (building A1 with a group, A2 without), grid B (B1 with
    a group); 30 members in A2, one member in A1 without group, one mobile member in A1."""
    from app.members.services import create_member
    from app.organization import services as org
    from tests.members.conftest import id_number

    tag = uuid.uuid4().hex[:4]
    rng = random.Random(tag)
    birth0 = date(1950, 1, 1) + timedelta(days=rng.randrange(0, 15000))
    with live_app.app_context():
        community = org.create_node("place", None, f"和平{tag}社区")
        grid_a = org.create_node("place", community.id, f"和平{tag}一网格")
        grid_b = org.create_node("place", community.id, f"和平{tag}二网格")
        a1 = org.create_node("place", grid_a.id, f"A{tag}一号楼")
        a2 = org.create_node("place", grid_a.id, f"A{tag}二号楼")
        b1 = org.create_node("place", grid_b.id, f"B{tag}一号楼")
        street = org.create_node("org", None, f"和平{tag}街道党工委")
        committee = org.create_node("org", street.id, f"和平{tag}社区党委", place_id=community.id)
        branch = org.create_node("org", committee.id, f"和平{tag}第一支部")
        group_a = org.create_node("org", branch.id, f"A{tag}一号楼党小组")
        group_b = org.create_node("org", branch.id, f"B{tag}一号楼党小组")
        appointments.link_building_group(a1, group_a.id)
        appointments.link_building_group(b1, group_b.id)
        seq = iter(range(1, 100))
        for n in range(30):
            create_member(
                {
                    "name": f"批{tag}{n:02d}",
                    "id_number": id_number(birth0, next(seq)),
                    "building_id": a2.id,
                },
                None,
            )
        loose = create_member(
            {"name": f"散{tag}", "id_number": id_number(birth0, next(seq)), "building_id": a1.id},
            None,
        )
        mobile = create_member(
            {
                "name": f"流{tag}",
                "id_number": id_number(birth0, next(seq)),
                "building_id": a1.id,
                "mobility": "flow_in",
                "mobility_place": "甘肃金昌",
                "mobility_since": date(2025, 3, 1),
                "relation_location": "elsewhere",
                "relation_org_name": "金昌某党支部",
            },
            None,
        )
        db.session.commit()
        world = {
            "tag": tag,
            "grid_a": grid_a.id,
            "grid_b": grid_b.id,
            "grid_b_name": grid_b.name,
            "a1": a1.id,
            "a2": a2.id,
            "b1": b1.id,
            "b1_name": b1.name,
            "loose": loose.id,
            "loose_name": loose.name,
            "mobile": mobile.id,
            "mobile_name": mobile.name,
            "group_a_name": group_a.name,
        }
        db.session.remove()
    return world


def badge(page: Page):
    return page.locator('.mainnav .navbar a[href="/assignment/"] .nav-badge-live')


def badge_number(page: Page) -> int:
    expect(badge(page)).to_have_text(re.compile(r"^\d+$"))
    return int(badge(page).inner_text())


def test_bulk_move_by_filter_with_preview_and_live_counts(
    page: Page, make_user, login, shot, place_world
):
    w = place_world
    login(make_user("admin"))
    page.goto(f"/members/?grid={w['grid_a']}&building={w['a2']}")
    expect(page.locator(".result-summary strong")).to_have_text("30")
    before = badge_number(page)
    page.get_by_role("link", name=re.compile("符合条件的全部 30 人调整分配")).click()
    expect(page.locator(".selection-count")).to_have_text("30")
    htmx_settled(page)

    page.get_by_label("网格", exact=True).select_option(label=w["grid_b_name"])
    building = page.get_by_label("楼栋", exact=True)
    expect(building.locator("option", has_text=w["b1_name"])).to_have_count(1)
    building.select_option(value=str(w["b1"]))
    page.get_by_label("调整原因").fill("整体搬迁")
    page.get_by_role("button", name="预览调整").click()
    preview = page.locator("#bulk-preview")
    expect(preview.locator('[data-count="move"]')).to_have_text("30")
    expect(preview.locator("tr.outcome-move")).to_have_count(30)
    expect(preview).to_contain_text(w["b1_name"])

    page.get_by_role("button", name="确认调整 30 人").click()
    expect(page.locator(".bulk-result")).to_contain_text("已调整 30 人")
    # The 30 members lacked a group (their building had none); now the badge follows live.
    expect(badge(page)).to_have_text(str(before - 30))
    shot("done")

    page.goto(f"/members/?grid={w['grid_b']}&building={w['b1']}")
    expect(page.locator(".result-summary strong")).to_have_text("30")


def test_resolve_in_work_list_and_assign_liaison(page: Page, make_user, login, shot, place_world):
    w = place_world
    liaison_name = f"联络{w['tag']}"
    make_user("staff", display_name=liaison_name)  # outside any scope: admins see every staff
    login(make_user("admin"))

    page.goto("/assignment/?kind=group")
    row = page.locator(f"#ua-row-{w['loose']}")
    while not row.count() and page.locator("tr.load-more a").count():
        page.locator("tr.load-more a").last.click()
        page.wait_for_load_state("networkidle")
    expect(row).to_contain_text(w["loose_name"])
    count = page.locator('.tab-count[data-kind="group"]')
    before = int(count.inner_text())
    nav_before = badge_number(page)
    row.get_by_role("button", name=f"编入{w['group_a_name']}").click()
    expect(row).to_have_count(0)  # removed live, no reload
    expect(count).to_have_text(str(before - 1))
    expect(badge(page)).to_have_text(str(nav_before - 1))
    shot("resolved")

    page.goto(f"/assignment/members/{w['mobile']}")
    expect(page.locator("#liaison")).to_contain_text("未指定")
    page.get_by_label(re.compile("查找联络人")).fill(liaison_name)
    candidate = page.locator(".candidate-list li").filter(has_text=liaison_name)
    expect(page.locator(".candidate-list li")).to_have_count(1)  # the search has answered
    candidate.get_by_role("button", name="设为联络人").click()
    expect(page.locator("#liaison")).to_contain_text(f"{liaison_name}（工作人员）")
    expect(page.locator("#flash")).to_contain_text("已指定联络人")
    shot("liaison")


def test_grid_worker_cannot_move_members_out_of_their_grid(
    page: Page, make_user, login, live_app, place_world
):
    w = place_world
    username = make_user("grid_worker")
    with live_app.app_context():
        from app.auth.models import User
        from app.organization.models import Place

        user = db.session.execute(db.select(User).filter_by(username=username)).scalar_one()
        appointments.appoint_grid_worker(db.session.get(Place, w["grid_a"]), user)
        db.session.commit()
        db.session.remove()
    login(username)
    page.goto(f"/assignment/members/{w['loose']}")
    grid = page.get_by_label("网格", exact=True)
    expect(grid.locator("option")).to_have_count(2)  # "请选择网格" and their own grid
    expect(grid.locator("option", has_text=w["grid_b_name"])).to_have_count(0)

    # Even a hand-made request cannot move the member into the other grid.
    token = page.locator("body").get_attribute("hx-headers")
    csrf = re.search(r'"X-CSRFToken": "([^"]+)"', token).group(1)
    version = page.locator("#placement input[name=version]").get_attribute("value")
    response = page.request.post(
        f"/assignment/members/{w['loose']}/place",
        form={
            "csrf_token": csrf,
            "building_id": str(w["b1"]),
            "org_mode": "auto",
            "version": version,
        },
        headers={"HX-Request": "true"},
    )
    assert response.status == 422
    assert "不能把党员调出您负责的网格" in response.text()
