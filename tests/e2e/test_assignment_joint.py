"""A member of the 非公企业联合党支部 (or of a branch not his building's) in a real browser: the
assignment page says 从 X 调到 Y and saves only with the tick; the work list's one click asks a
second time; the joint branch's members are not 缺党小组."""

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
def joint_world(live_app: Flask):
    from app.members.services import create_member
    from app.organization import services as org
    from tests.members.conftest import id_number

    tag = uuid.uuid4().hex[:4]
    rng = random.Random(tag)
    birth0 = date(1950, 1, 1) + timedelta(days=rng.randrange(0, 15000))
    with live_app.app_context():
        community = org.create_node("place", None, f"长青{tag}社区")
        grid = org.create_node("place", community.id, f"长青{tag}一网格")
        building = org.create_node("place", grid.id, f"长青{tag}一号楼")
        street = org.create_node("org", None, f"长青{tag}街道党工委")
        committee = org.create_node("org", street.id, f"长青{tag}社区党委", place_id=community.id)
        branch = org.create_node("org", committee.id, f"长青{tag}第一支部")
        other = org.create_node("org", committee.id, f"长青{tag}第二支部")
        org.create_node("org", other.id, f"长青{tag}九号楼党小组")
        joint = org.create_node("org", committee.id, f"长青{tag}非公企业联合党支部", is_joint=True)
        group = org.create_node("org", branch.id, f"长青{tag}一号楼党小组")
        appointments.link_building_group(building, group.id)
        seq = iter(range(1, 50))
        worker = create_member(
            {
                "name": f"阿非公{tag}",  # would sort first too, were he on the list
                "id_number": id_number(birth0, next(seq)),
                "building_id": building.id,
                "branch_id": joint.id,
            },
            None,
        )
        neighbour = create_member(
            {
                "name": f"阿跨支{tag}",  # sorts first: on the list's first page
                "id_number": id_number(birth0, next(seq)),
                "building_id": building.id,
                "branch_id": other.id,
            },
            None,
        )
        db.session.commit()
        world = {
            "worker": worker.id,
            "worker_name": worker.name,
            "neighbour": neighbour.id,
            "neighbour_name": neighbour.name,
            "joint_name": joint.name,
            "other_name": other.name,
            "proposal": f"从 {joint.name} 调到 {branch.name} · {group.name}",
            "row_proposal": f"从 {other.name} 调到 {branch.name} · {group.name}",
        }
        db.session.remove()
    return world


def test_joint_member_page_says_from_where_to_where_and_needs_the_tick(
    page: Page, make_user, login, shot, joint_world
):
    w = joint_world
    login(make_user("admin"))
    page.goto(f"/assignment/members/{w['worker']}")
    expect(page.locator(".current-placement")).to_contain_text(w["joint_name"])
    notice = page.locator(".transfer-notice")
    expect(notice).to_contain_text(f"该党员现属于{w['joint_name']}（联合党支部）")
    expect(notice).to_contain_text(f"按楼栋建议：{w['proposal']}")
    tick = page.get_by_label("确认调整党支部")
    expect(tick).not_to_be_checked()
    shot("page")

    page.get_by_role("button", name="保存分配").click()
    error = page.locator("#confirm-error")
    expect(error).to_contain_text("现属于联合党支部")
    expect(error).to_contain_text("本次未作任何修改")
    expect(page.locator(".current-placement")).to_contain_text(w["joint_name"])
    shot("refused")

    page.get_by_label("确认调整党支部").check()
    page.get_by_role("button", name="保存分配").click()
    expect(page.locator("#flash")).to_contain_text("已调整")
    expect(page.locator(".current-placement")).not_to_contain_text(w["joint_name"])
    expect(page.locator(".transfer-notice")).to_have_count(0)


def test_work_list_one_click_asks_a_second_time(page: Page, make_user, login, shot, joint_world):
    w = joint_world
    login(make_user("admin"))
    page.goto("/assignment/?kind=group")
    row = page.locator(f"#ua-row-{w['neighbour']}")
    expect(row).to_contain_text(w["row_proposal"])
    expect(page.locator(f"#ua-row-{w['worker']}")).to_have_count(0)  # joint: not 缺党小组
    htmx_settled(page)
    count = page.locator('.tab-count[data-kind="group"]')
    before = int(count.inner_text())
    row.get_by_role("button", name="调整党支部…").click()
    confirm = page.locator("tr.row-confirm").filter(has_text=w["neighbour_name"])
    expect(confirm).to_contain_text(w["row_proposal"])
    expect(confirm).to_contain_text("调离原党支部需要确认")
    shot("confirm")
    confirm.get_by_role("button", name="确认调整党支部").click()
    expect(confirm).to_have_count(0)
    expect(count).to_have_text(str(before - 1))
    assert re.fullmatch(r"\d+", count.inner_text())
