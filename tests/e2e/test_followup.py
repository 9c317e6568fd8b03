"""Follow-up in a real browser: a staff member records an org-life event, takes attendance
(everyone ticked by default, untick the absent ones), and finds the members whose thought
reports are overdue on the work list — on a phone and on a desktop viewport."""

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
def branch_world(live_app: Flask, make_user):
    """A community with one branch (one group, one building) and five members; a staff user
    scoped to its committee. Two members have not reported for a year."""
    from app.auth.models import User
    from app.members.models import Member
    from app.members.services import create_member
    from app.organization import services as org
    from tests.members.conftest import id_number

    tag = uuid.uuid4().hex[:4]
    rng = random.Random(tag)
    birth0 = date(1950, 1, 1) + timedelta(days=rng.randrange(0, 15000))
    username = make_user("staff")
    with live_app.app_context():
        community = org.create_node("place", None, f"长青{tag}社区")
        grid = org.create_node("place", community.id, f"长青{tag}网格")
        building = org.create_node("place", grid.id, f"长青{tag}一号楼")
        street = org.create_node("org", None, f"长青{tag}街道党工委")
        committee = org.create_node("org", street.id, f"长青{tag}社区党委", place_id=community.id)
        branch = org.create_node("org", committee.id, f"长青{tag}第一支部")
        group = org.create_node("org", branch.id, f"长青{tag}一号楼党小组")
        appointments.link_building_group(building, group.id)
        user = db.session.execute(select(User).where(User.username == username)).scalar_one()
        appointments.add_scope(user, org_id=committee.id)
        names = [f"{s}{tag}" for s in ("安", "白", "陈", "丁", "冯")]
        ids = []
        for n, name in enumerate(names, start=1):
            m = create_member(
                {
                    "name": name,
                    "id_number": id_number(birth0, n),
                    "building_id": building.id,
                    "group_id": group.id,
                    "phone": f"1390000{rng.randrange(1000, 9999)}",
                },
                None,
            )
            ids.append(m.id)
        db.session.flush()
        db.session.execute(
            update(Member.__table__)
            .where(Member.id.in_(ids[:2]))
            .values(created_at=datetime(2020, 1, 1), last_thought_report_on=date(2025, 1, 10))
        )
        db.session.commit()
        world = {
            "tag": tag,
            "staff": username,
            "branch": branch.id,
            "branch_name": branch.name,
            "names": names,
        }
        db.session.remove()
    return world


def test_event_attendance_and_overdue_list(page: Page, login, shot, branch_world, viewport):
    w = branch_world
    login(w["staff"])
    page.goto("/followup/")
    expect(page.get_by_role("heading", name="跟踪管理", exact=True)).to_be_visible()
    page.get_by_role("link", name="登记活动").first.click()
    htmx_settled(page)
    page.get_by_label("党支部 / 党小组").select_option(value=str(w["branch"]))
    page.get_by_label("活动类型").select_option(label="党课")
    page.get_by_label("主题").fill("学习新修订的党章")
    page.get_by_label("地点").fill("社区党群服务中心")
    page.get_by_role("button", name="下一步：登记出席").click()
    expect(page.get_by_role("heading", name="学习新修订的党章")).to_be_visible()
    htmx_settled(page)

    # Everyone is ticked present by default: untick one absent member, mark one excused.
    rows = page.locator(".attendance-row")
    expect(rows).to_have_count(5)
    expect(page.locator('input[name="present"]:checked')).to_have_count(5)
    absent = rows.filter(has_text=w["names"][1])
    absent.get_by_label("出席").uncheck()
    excused = rows.filter(has_text=w["names"][2])
    excused.get_by_label("出席").uncheck()
    excused.get_by_label("请假").check()
    shot("attendance")
    page.get_by_role("button", name=re.compile("保存出席情况")).click()
    expect(page.locator(".attendance-counts")).to_have_text("出席 3 · 缺席 1 · 请假 1")
    expect(page.locator(".attendance-row.is-absent")).to_have_count(1)
    expect(page.locator(".attendance-row.is-absent")).to_contain_text(w["names"][1])

    # The event list shows the count; the overdue list shows the two late reporters.
    page.goto(f"/followup/events?org={w['branch']}")
    expect(page.get_by_role("link", name="学习新修订的党章")).to_be_visible()
    expect(page.locator("#event-results")).to_contain_text("3 / 5")
    page.goto("/followup/thought-reports")
    htmx_settled(page)
    page.get_by_label("党支部").select_option(label=w["branch_name"])
    results = page.locator("#work-results")
    expect(results.locator("tbody tr")).to_have_count(2)
    expect(results).to_contain_text(w["names"][0])
    expect(results).to_contain_text(w["names"][1])
    expect(results).to_contain_text("2025-01-10")
    expect(results).to_contain_text(re.compile(r"139\*{4}\d{4}"))
    assert f"branch={w['branch']}" in page.url  # the filter is in the URL
    shot("overdue")

    # Record the missing report from the list; the member leaves the list.
    results.get_by_role("link", name="登记汇报").first.click()
    htmx_settled(page)
    page.get_by_label("汇报内容（或摘要）").fill("书面思想汇报，已收到")
    page.get_by_role("button", name="登记思想汇报").click()
    expect(page.locator(".record-list").first).to_contain_text("书面思想汇报，已收到")
    page.goto(f"/followup/thought-reports?branch={w['branch']}")
    expect(page.locator("#work-results tbody tr")).to_have_count(1)
    if viewport == "phone":
        box = page.locator("#work-results tbody tr").first.bounding_box()
        assert box is not None and box["width"] <= 390
