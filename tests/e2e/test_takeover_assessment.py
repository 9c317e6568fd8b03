"""接管 and 目标考核 in a real browser (desktop, staff): a laid-off member's 五个一 fill as they
attend, report, train, get a job and do a service; recording the job re-classifies them. The
branch's assessment table shows the indicators, and the 民主评议 form the same figures."""

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
from app.timeutil import local_today
from tests.e2e.conftest import htmx_settled

pytestmark = pytest.mark.parametrize("viewport", ["desktop"], indirect=True)


@pytest.fixture
def takeover_world(live_app: Flask, make_user):
    from app.auth.models import User
    from app.members.services import create_member
    from app.organization import services as org
    from tests.members.conftest import id_number

    tag = uuid.uuid4().hex[:4]
    rng = random.Random(tag)
    username = make_user("staff")
    with live_app.app_context():
        community = org.create_node("place", None, f"金川{tag}社区")
        grid = org.create_node("place", community.id, f"金川{tag}网格")
        building = org.create_node("place", grid.id, f"金川{tag}三号楼")
        street = org.create_node("org", None, f"金川{tag}街道党工委")
        committee = org.create_node("org", street.id, f"金川{tag}社区党委", place_id=community.id)
        branch = org.create_node("org", committee.id, f"金川{tag}第一支部")
        group = org.create_node("org", branch.id, f"金川{tag}三号楼党小组")
        appointments.link_building_group(building, group.id)
        user = db.session.execute(select(User).where(User.username == username)).scalar_one()
        appointments.add_scope(user, org_id=committee.id)
        birth = date(1975, 1, 1) + timedelta(days=rng.randrange(0, 3000))
        member = create_member(
            {
                "name": f"下岗{tag}",
                "id_number": id_number(birth, 1),
                "building_id": building.id,
                "group_id": group.id,
                "employment": "laid_off",
                "phone": f"1390001{rng.randrange(1000, 9999)}",
            },
            None,
        )
        db.session.commit()
        world = {
            "staff": username,
            "member": member.id,
            "name": member.name,
            "branch": branch.id,
            "group": group.id,
        }
        db.session.remove()
    return world


def _record_org_life_and_report(live_app: Flask, w: dict) -> None:
    """What other pages record (an org-life meeting attended, a 志愿服务, a thought report)."""
    from app.followup.models import OrgEvent, OrgEventAttendance, ThoughtReport

    today = local_today()
    with live_app.app_context():
        for kind in ("group_meeting", "volunteer"):
            event = OrgEvent(org_id=w["group"], kind=kind, held_on=today, title=kind)
            db.session.add(event)
            db.session.flush()
            db.session.add(
                OrgEventAttendance(
                    event_id=event.id, member_id=w["member"], held_on=today, status="present"
                )
            )
        db.session.add(
            ThoughtReport(member_id=w["member"], period=today, submitted_on=today, summary="汇报")
        )
        db.session.commit()
        db.session.remove()


def test_five_items_fill_and_a_job_reclassifies(page: Page, login, shot, takeover_world, live_app):
    w = takeover_world
    login(w["staff"])
    page.goto("/work/")
    page.locator("#work-takeover").get_by_role("link", name="五个一活动（按支部）").click()
    row = page.locator("#board-results tbody tr", has_text=w["name"])
    expect(row).to_contain_text("未完成")
    expect(row.locator(".badge-ok")).to_have_count(0)

    _record_org_life_and_report(live_app, w)
    row.get_by_role("link", name="登记").click()
    htmx_settled(page)
    training = page.locator("#training")
    training.get_by_label("培训项目").fill("养老护理")
    training.get_by_label("培训机构").fill("市就业培训中心")
    training.get_by_role("button", name="登记").click()
    expect(page.locator("#training")).to_contain_text("养老护理")

    referral = page.locator("#referrals")
    referral.get_by_label("用人单位").fill("市第一中学")
    referral.get_by_label("岗位", exact=True).fill("后勤")
    referral.get_by_role("button", name="登记推荐").click()
    expect(page.locator("#referrals")).to_contain_text("待反馈")
    page.locator("#referrals summary", has_text="登记结果").click()
    page.locator("#referrals").get_by_label("结果", exact=True).select_option(label="已录用")
    page.locator("#referrals").get_by_role("button", name="保存结果").click()
    expect(page.locator("#referrals")).to_contain_text("已录用")
    five = page.locator("#five-one")
    expect(five.locator(".badge-ok")).to_have_count(5)  # all five ticked from the records
    shot("five-one")

    # The job went through the member update: 在职 in the community → 直管, with history.
    page.goto(f"/members/{w['member']}")
    expect(page.locator("body")).to_contain_text("直管")
    expect(page.locator("body")).to_contain_text("市第一中学")


def test_assessment_table_and_appraisal_show_the_same_figures(
    page: Page, login, shot, takeover_world, live_app
):
    w = takeover_world
    _record_org_life_and_report(live_app, w)
    login(w["staff"])
    page.goto(f"/assessment/branches/{w['branch']}")
    row = page.locator(".assessment-table tbody tr", has_text=w["name"])
    expect(row).to_contain_text("“五个一”完成 3项 / 5项")
    expect(row).to_contain_text("组织生活出席率 100.0% / 80%")
    expect(row.locator("td").nth(2)).to_have_text("1/3")
    row.get_by_label(f"{w['name']}的定性评价").select_option(label="较好")
    page.get_by_role("button", name="保存定性评价").click()
    expect(page.locator(".flash, .messages").first).to_contain_text("已保存 1 名党员的定性评价")
    shot("assessment")
    page.goto(f"/followup/appraisal/branches/{w['branch']}")
    evidence = page.locator(".appraisal-table tbody tr", has_text=w["name"])
    expect(evidence).to_contain_text("目标考核 达标 1/3")
    expect(evidence).to_contain_text("未达标：“五个一”完成 3项、思想汇报 1份")
