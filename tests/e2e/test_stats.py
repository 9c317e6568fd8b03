"""The statistics dashboard in a real browser: a community's staff opens it from the
navigation, narrows it to one grid with the scope picker, and follows a figure to the member
list behind it (same filters, same number of members)."""

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
from tests.e2e.conftest import htmx_settled, nav_link


@pytest.fixture
def stats_world(live_app: Flask):
    """A community of its own with grid A (3 members: 2 direct, 1 retired) and grid B
    (2 retired members)."""
    from app.members.services import create_member
    from app.organization import services as org
    from tests.members.conftest import id_number

    tag = uuid.uuid4().hex[:4]
    rng = random.Random(tag)
    birth0 = date(1950, 1, 1) + timedelta(days=rng.randrange(0, 15000))
    with live_app.app_context():
        community = org.create_node("place", None, f"统计{tag}社区")
        grid_a = org.create_node("place", community.id, f"统{tag}一网格")
        grid_b = org.create_node("place", community.id, f"统{tag}二网格")
        a1 = org.create_node("place", grid_a.id, f"统A{tag}一号楼")
        b1 = org.create_node("place", grid_b.id, f"统B{tag}一号楼")
        street = org.create_node("org", None, f"统计{tag}街道党工委")
        committee = org.create_node("org", street.id, f"统计{tag}社区党委", place_id=community.id)
        branch = org.create_node("org", committee.id, f"统计{tag}第一支部")
        group_a = org.create_node("org", branch.id, f"统A{tag}党小组")
        appointments.link_building_group(a1, group_a.id)
        seq = iter(range(1, 100))
        for n, (building, employment) in enumerate(
            ((a1, "resident"), (a1, "resident"), (a1, "retired"), (b1, "retired"), (b1, "retired"))
        ):
            create_member(
                {
                    "name": f"统{tag}{n}",
                    "id_number": id_number(birth0, next(seq)),
                    "building_id": building.id,
                    "employment": employment,
                },
                None,
            )
        db.session.commit()
        world = {
            "tag": tag,
            "committee": committee.id,
            "grid_a": grid_a.id,
            "grid_a_name": grid_a.name,
        }
        db.session.remove()
    return world


def test_dashboard_narrow_to_a_grid_and_follow_a_figure(
    page: Page, make_user, login, shot, live_app, stats_world, viewport
):
    w = stats_world
    username = make_user("staff")
    with live_app.app_context():
        from sqlalchemy import select

        from app.auth.models import User

        user = db.session.execute(select(User).filter_by(username=username)).scalar_one()
        appointments.add_scope(user, org_id=w["committee"])
        db.session.commit()
        db.session.remove()
    login(username)
    nav_link(page, "统计分析").click()
    expect(page.get_by_role("heading", name="统计分析", level=1)).to_be_visible()
    summary = page.locator(".stats-summary")
    expect(summary).to_contain_text("在册党员 5")
    expect(summary).to_contain_text("在管党员 5")
    expect(page.locator("svg.bar-chart")).to_have_count(8)
    shot("scope")

    htmx_settled(page)
    page.get_by_label("范围").select_option(label=w["grid_a_name"])
    expect(summary).to_contain_text(f"网格：{w['grid_a_name']}")
    expect(summary).to_contain_text("在册党员 3")
    expect(page).to_have_url(re.compile(rf"focus=grid-{w['grid_a']}"))
    shot("grid")

    # The bar of 直管 in the category chart leads to the member list with the same filters.
    chart = page.locator("#panel-category svg.bar-chart")
    chart.get_by_role("link", name="直管 2人，查看名单").click()
    expect(page).to_have_url(re.compile(rf"/members/\?category=direct&grid={w['grid_a']}$"))
    rows = page.locator("table tbody tr", has_text=f"统{w['tag']}")
    expect(rows).to_have_count(2)
    shot("list")

    # Back on the dashboard: the data table holds the same figures, with links.
    page.go_back()
    expect(summary).to_contain_text("在册党员 3")
    table = page.locator("#panel-category details.chart-data")
    table.locator("summary").click()
    expect(table.get_by_role("link", name="1")).to_have_attribute(
        "href", f"/members/?category=shared&grid={w['grid_a']}"
    )
