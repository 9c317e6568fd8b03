"""The member search in a real browser, phone and desktop (finding 10): typing searches at
once, the address bar shows only s=<token> and the filters, never the text; reloading the
address and 加载更多 keep the search."""

from __future__ import annotations

import re
import uuid
from datetime import date, timedelta
from urllib.parse import unquote

from playwright.sync_api import Page, expect

from app.extensions import db
from tests.e2e.conftest import htmx_settled
from tests.e2e.test_members import id_number, world


def _members(live_app, tag: str, names: list[str]) -> None:  # noqa: ANN001
    from app.members.services import create_member
    from app.organization.models import Place

    with live_app.app_context():
        community = db.session.query(Place).filter_by(name=f"金川{tag}社区").one()
        grid = db.session.query(Place).filter_by(kind="grid", parent_id=community.id).one()
        building = db.session.query(Place).filter_by(kind="building", parent_id=grid.id).one()
        seed = int(tag, 16)
        for i, name in enumerate(names):
            birth = date(1950, 1, 1) + timedelta(days=seed % 3000 + 400 * i)
            create_member(
                {
                    "name": name,
                    "id_number": id_number(birth, 500 + i * 2 + 1),
                    "phone": f"137{seed % 10000:04d}{i:04d}",
                    "joined_on": birth + timedelta(days=365 * 25),
                    "building_id": building.id,
                },
                None,
            )
        db.session.commit()
        db.session.remove()


def test_member_search_keeps_the_text_out_of_the_address(
    page: Page, live_app, make_user, login, shot
):
    tag = uuid.uuid4().hex[:4]
    surname = "欧阳"
    names = [f"{surname}{tag}{c}" for c in "甲乙丙"] + [f"买买提·艾力{tag}"]
    username = world(live_app, make_user, tag)
    _members(live_app, tag, names)
    login(username)
    page.wait_for_url(lambda url: "/login" not in url)
    page.goto("/members/")
    page.get_by_label("五管分类").select_option(label="直管")
    htmx_settled(page)
    box = page.get_by_role("searchbox")
    box.fill(f"{surname}{tag}")
    results = page.locator("#member-results")
    expect(results.locator("tbody tr")).to_have_count(3)
    htmx_settled(page)
    expect(page).to_have_url(re.compile(r"[?&]s=[\w-]+"))
    address = unquote(page.url)
    assert surname not in address and tag not in address and "q=" not in address, address
    assert "category=direct" in address
    shot("search")
    # The address alone restores the search (reload, Back, a copied link).
    page.reload()
    expect(page.get_by_role("searchbox")).to_have_value(f"{surname}{tag}")
    expect(results.locator("tbody tr")).to_have_count(3)
    # A name with the dot is found too.
    box = page.get_by_role("searchbox")
    box.fill("买买提")
    expect(results.get_by_role("link", name=names[-1])).to_be_visible()
    htmx_settled(page)
    assert "买买提" not in unquote(page.url)
    shot("dotted-name")
