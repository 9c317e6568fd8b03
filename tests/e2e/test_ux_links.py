"""Issue 12 items 11, 16, 17 in a real browser, on a phone and a desktop: the registration card
links to the member's 跟踪记录 and the revealed phone is a tap-to-call link; the 工作台 lists the
follow-up work; the audit log names people and objects and filters with pickers."""

from __future__ import annotations

import random
import re
import uuid
from datetime import date, datetime, timedelta

import pytest
from flask import Flask
from playwright.sync_api import Page, expect
from sqlalchemy import select, update

from app.extensions import db
from app.organization import appointments
from tests.e2e.conftest import htmx_settled


@pytest.fixture
def card_world(live_app: Flask, make_user):
    """A community with one building and two members who have not reported for years; a staff
    user (allowed to reveal) scoped to its committee, and an admin."""
    from app.auth.models import User
    from app.members.models import Member
    from app.members.services import create_member
    from app.organization import services as org
    from tests.members.conftest import id_number

    tag = uuid.uuid4().hex[:4]
    rng = random.Random(tag)
    staff = make_user("staff", display_name=f"王芳{tag}")
    admin = make_user("admin", display_name=f"李华{tag}")
    with live_app.app_context():
        community = org.create_node("place", None, f"文苑{tag}社区")
        grid = org.create_node("place", community.id, f"文苑{tag}网格")
        building = org.create_node("place", grid.id, f"文苑{tag}2号楼")
        street = org.create_node("org", None, f"文苑{tag}街道党工委")
        committee = org.create_node("org", street.id, f"文苑{tag}社区党委", place_id=community.id)
        user = db.session.execute(select(User).where(User.username == staff)).scalar_one()
        user.may_reveal = True
        appointments.add_scope(user, org_id=committee.id)
        phone = f"1390000{rng.randrange(1000, 9999)}"
        birth = date(1950, 1, 1) + timedelta(days=rng.randrange(0, 15000))
        members = [
            create_member(
                {"name": f"{s}{tag}", "id_number": id_number(birth, n), "phone": phone},
                None,
            )
            for n, s in enumerate(("张晓明", "赵磊"), start=1)
        ]
        for m in members:
            m.building_id, m.grid_id, m.community_id = building.id, grid.id, community.id
        db.session.flush()
        db.session.execute(
            update(Member.__table__)
            .where(Member.id.in_([m.id for m in members]))
            .values(created_at=datetime(2020, 1, 1))
        )
        db.session.commit()
        world = {"staff": staff, "admin": admin, "member": members[0].id, "phone": phone}
        world["name"] = members[0].name
        db.session.remove()
    return world


def test_card_followup_link_and_tap_to_call(page: Page, login, shot, card_world):
    w = card_world
    login(w["staff"])
    page.goto(f"/members/{w['member']}")
    htmx_settled(page)
    expect(page.locator('a[href^="tel:"]')).to_have_count(0)  # masked: nothing to call
    shot("card")
    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="查看完整信息").click()
    call = page.locator(f'a[href="tel:{w["phone"]}"]')
    expect(call).to_be_visible()
    expect(call).to_have_text(w["phone"])
    shot("revealed")
    page.get_by_role("link", name="跟踪记录", exact=True).click()
    expect(page).to_have_url(re.compile(rf"/followup/members/{w['member']}$"))


def test_workbench_lists_followup_work(page: Page, login, shot, card_world):
    login(card_world["staff"])
    page.goto("/home")
    reminder = page.get_by_role("link", name=re.compile("思想汇报逾期"))
    expect(reminder).to_be_visible()
    shot("home")
    reminder.click()
    expect(page).to_have_url(re.compile(r"/followup/thought-reports"))
    expect(page.locator("#work-results")).to_contain_text(card_world["name"])


def test_audit_log_names_and_pickers(page: Page, login, shot, card_world):
    w = card_world
    login(w["staff"])  # writes a login entry by the staff user
    page.context.clear_cookies()
    login(w["admin"])
    page.goto("/admin/audit/")
    htmx_settled(page)
    page.get_by_label("操作人").fill(w["staff"])
    htmx_settled(page)
    results = page.locator("#audit-results")
    expect(results.locator("tbody tr").first).to_contain_text(re.compile("王芳"))
    page.get_by_label("对象类型").select_option(label="账号")
    htmx_settled(page)
    expect(results.locator("tbody tr").first).to_contain_text("账号")
    assert "object=user" in page.url
    shot("audit")
