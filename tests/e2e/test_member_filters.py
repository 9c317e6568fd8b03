"""The member list's cascading filters in a real browser: a street admin picks 社区, then 网格
and 楼栋, and 党支部 then 党小组 — each dependent select appears as soon as its parent is chosen,
and stays after 筛选; without JavaScript 筛选 brings the dependent select too."""

from __future__ import annotations

import uuid

from playwright.sync_api import Browser, Page, expect

from app.extensions import db
from app.organization.models import Org, Place
from tests.e2e.conftest import PASSWORD, TIMEOUT_MS, htmx_settled


def two_communities(live_app) -> str:  # noqa: ANN001
    """Two communities, each with a grid, a building, a branch and a group; their tag."""
    tag = uuid.uuid4().hex[:4]
    with live_app.app_context():
        street = Org(kind="street_committee", name=f"街道{tag}党工委")
        db.session.add(street)
        for n in ("甲", "乙"):
            community = Place(kind="community", name=f"{n}{tag}社区")
            db.session.add(community)
            db.session.flush()
            grid = Place(kind="grid", name=f"{n}{tag}网格", parent_id=community.id)
            committee = Org(
                kind="community_committee",
                name=f"{n}{tag}社区党委",
                parent_id=street.id,
                place_id=community.id,
            )
            db.session.add_all([grid, committee])
            db.session.flush()
            branch = Org(kind="branch", name=f"{n}{tag}支部", parent_id=committee.id)
            db.session.add(branch)
            db.session.flush()
            group = Org(kind="group", name=f"{n}{tag}党小组", parent_id=branch.id)
            db.session.add(group)
            db.session.flush()
            db.session.add(Place(kind="building", name=f"{n}{tag}楼", parent_id=grid.id))
        db.session.commit()
        db.session.remove()
    return tag


FIELDS = {
    "社区": "community",
    "网格": "grid",
    "楼栋": "building",
    "党支部": "branch",
    "党小组": "group",
}


def field(page: Page, label: str):  # noqa: ANN201
    """The filter select labelled ``label`` (its accessible name also holds the chosen option)."""
    return page.locator(f'.member-filters select[name="{FIELDS[label]}"]')


def choose(page: Page, label: str, option: str) -> None:
    field(page, label).select_option(label=option)
    htmx_settled(page)


def test_the_cascade_follows_each_choice_and_stays_after_filtering(
    page: Page, live_app, make_user, login, shot
):
    tag = two_communities(live_app)
    login(make_user("admin"))
    page.goto("/members/")
    htmx_settled(page)
    expect(field(page, "网格")).to_have_count(0)  # a community first
    choose(page, "社区", f"乙{tag}社区")
    expect(field(page, "网格")).to_be_visible()
    expect(field(page, "网格").locator("option")).to_have_text(["全部", f"乙{tag}网格"])
    choose(page, "网格", f"乙{tag}网格")
    expect(field(page, "楼栋")).to_be_visible()
    choose(page, "楼栋", f"乙{tag}楼")
    choose(page, "党支部", f"乙{tag}支部")
    expect(field(page, "党小组")).to_be_visible()
    choose(page, "党小组", f"乙{tag}党小组")
    page.get_by_role("button", name="筛选").click()
    htmx_settled(page)
    expect(field(page, "楼栋").locator("option:checked")).to_have_text(f"乙{tag}楼")
    expect(field(page, "党小组").locator("option:checked")).to_have_text(f"乙{tag}党小组")
    shot("chosen")
    # Another community: its grid replaces the old one, the building select goes.
    choose(page, "社区", f"甲{tag}社区")
    expect(field(page, "网格").locator("option")).to_have_text(["全部", f"甲{tag}网格"])
    expect(field(page, "楼栋")).to_have_count(0)
    expect(field(page, "党小组")).to_have_count(0)
    # The address follows the choices: a reload shows the same form.
    page.reload()
    expect(field(page, "社区").locator("option:checked")).to_have_text(f"甲{tag}社区")


def test_without_javascript_filtering_brings_the_dependent_select(
    browser: Browser, base_url: str, live_app, make_user
):
    tag = two_communities(live_app)
    username = make_user("admin")
    context = browser.new_context(base_url=base_url, java_script_enabled=False)
    context.set_default_timeout(TIMEOUT_MS)
    page = context.new_page()
    page.goto("/login")
    page.get_by_label("用户名").fill(username)
    page.get_by_label("密码").fill(PASSWORD)
    page.get_by_role("button", name="登录").click()
    page.goto("/members/")
    field(page, "社区").select_option(label=f"甲{tag}社区")
    page.get_by_role("button", name="筛选").click()
    page.wait_for_load_state()
    expect(field(page, "网格").locator("option")).to_have_text(["全部", f"甲{tag}网格"])
    field(page, "网格").select_option(label=f"甲{tag}网格")
    page.get_by_role("button", name="筛选").click()
    page.wait_for_load_state()
    expect(field(page, "楼栋").locator("option")).to_have_text(["全部", f"甲{tag}楼"])
    context.close()
