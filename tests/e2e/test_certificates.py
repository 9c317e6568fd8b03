"""Certificates in a real browser: issue a card to a flow-out member, print it, scan its QR
code and open the public verification page; batch printing with a live progress bar."""

from __future__ import annotations

import random
import re
import subprocess
import uuid
from datetime import date, timedelta
from pathlib import Path

import pytest
from flask import Flask
from playwright.sync_api import Page, expect

from app.extensions import db
from app.organization import appointments


@pytest.fixture
def cert_world(live_app: Flask, make_user, tmp_path_factory):
    """A community of its own with one flow-out member and a staff user scoped to it."""
    from app.auth.models import User
    from app.members.services import create_member
    from app.organization import services as org
    from tests.members.conftest import id_number

    queue = tmp_path_factory.mktemp("queue")
    live_app.config.setdefault("HUEY_SQLITE_PATH", str(queue / "huey.db"))
    live_app.config.setdefault("PRINT_RESULT_DIR", str(queue / "results"))
    tag = uuid.uuid4().hex[:4]
    birth = date(1960, 1, 1) + timedelta(days=random.Random(tag).randrange(0, 12000))
    username = make_user("staff")
    with live_app.app_context():
        community = org.create_node("place", None, f"金川{tag}社区")
        grid = org.create_node("place", community.id, f"金川{tag}网格")
        building = org.create_node("place", grid.id, f"金川{tag}1号楼")
        street = org.create_node("org", None, f"滨河{tag}街道党工委")
        committee = org.create_node("org", street.id, f"金川{tag}社区党委", place_id=community.id)
        branch = org.create_node("org", committee.id, f"金川{tag}第一支部")
        group = org.create_node("org", branch.id, f"金川{tag}1号楼党小组")
        appointments.link_building_group(building, group.id)
        today = date.today()
        member = create_member(
            {
                "name": f"外{tag}",
                "id_number": id_number(birth, 77),
                "building_id": building.id,
                "group_id": group.id,
                "mobility": "flow_out",
                "mobility_place": "广东省深圳市南山区",
                "mobility_since": today - timedelta(days=10),
                "mobility_expected_return": today + timedelta(days=500),
                "mobility_occupation": "电工",
            },
            None,
        )
        user = db.session.execute(db.select(User).where(User.username == username)).scalar_one()
        appointments.add_scope(user, org_id=committee.id)
        from app.followup.models import OrgEvent

        event = OrgEvent(org_id=branch.id, kind="party_class", held_on=today, title=f"党课{tag}")
        db.session.add(event)
        db.session.commit()
        world = {
            "username": username,
            "member": member.id,
            "name": member.name,
            "branch": branch.id,
            "event": event.id,
            "staff_name": user.display_name,
        }
        db.session.remove()
    return world


def _decode_qr(pdf: bytes, tmp_path: Path) -> str:
    (tmp_path / "c.pdf").write_bytes(pdf)
    subprocess.run(
        [
            "pdftoppm",
            "-r",
            "150",
            "-f",
            "1",
            "-l",
            "1",
            "-png",
            str(tmp_path / "c.pdf"),
            str(tmp_path / "p"),
        ],
        check=True,
    )
    png = next(tmp_path.glob("p*.png"))
    return subprocess.run(
        ["zbarimg", "--quiet", "--raw", str(png)], capture_output=True, text=True, check=True
    ).stdout.strip()


def test_issue_print_and_verify(page: Page, login, shot, cert_world, tmp_path, base_url):
    w = cert_world
    login(w["username"])
    page.goto("/certificates/")
    expect(page.get_by_role("heading", name="证件打印")).to_be_visible()
    shot("index")
    row = page.locator(".cert-candidates li", has_text=w["name"])
    row.get_by_role("link", name="发证").click()
    expect(page.get_by_role("heading", name="发放流动党员活动证")).to_be_visible()
    expect(page.get_by_label(re.compile("^流入地（外出地点）"))).to_have_value("广东省深圳市南山区")
    page.get_by_label("联络人", exact=True).select_option(label=f"{w['staff_name']}（工作人员）")
    shot("issue-form")
    page.get_by_role("button", name="发证").click()
    expect(page.locator("#flash")).to_contain_text("已发证")
    expect(page.get_by_role("heading", name=re.compile("流动党员活动证"))).to_be_visible()
    expect(page.locator("body")).to_contain_text(w["staff_name"])  # the linked liaison is printed
    shot("detail")

    # print: the A4 PDF carries the QR code of the public verification page
    href = page.get_by_role("link", name="打印 A4").get_attribute("href")
    response = page.request.get(base_url + href)
    assert response.ok and response.body().startswith(b"%PDF")
    url = _decode_qr(response.body(), tmp_path)
    assert "/verify/" in url
    page.goto(base_url + url[url.index("/verify/") :])
    expect(page.get_by_role("heading", name="证件真实有效")).to_be_visible()
    expect(page.locator(".verify-facts")).to_contain_text(w["name"][0] + "*")
    expect(page.locator("body")).not_to_contain_text(w["name"])
    shot("verify")

    # the trip is on the member's record: 管理关系 says away, with the card and the liaison
    page.goto(f"/members/{w['member']}")
    picture = page.locator("#management-picture")
    expect(picture).to_contain_text("外出中")
    expect(picture).to_contain_text("广东省深圳市南山区")
    expect(picture).to_contain_text(f"联络人：{w['staff_name']}")
    shot("member-picture")
    # the branch's meeting roster lists him as 外出 (not ticked, not absent)
    page.goto(f"/followup/events/{w['event']}")
    row = page.locator(".attendance-row", has_text=w["name"])
    expect(row).to_contain_text("外出")
    expect(row.locator("input[name=present]")).not_to_be_checked()
    shot("roster-away")
    # ... and he counts among the 流出 members (the list behind the 流出 figure)
    page.goto("/members/?mobility=away")
    expect(page.locator("main")).to_contain_text(w["name"])


def test_batch_print_progress(page: Page, login, shot, cert_world):
    w = cert_world
    login(w["username"])
    page.goto("/certificates/")
    page.get_by_label("打印内容").select_option("roster")
    page.get_by_role("button", name="开始生成").click()
    expect(page.get_by_role("heading", name=re.compile("^批量打印："))).to_be_visible()
    expect(page.locator("#job-progress progress")).to_be_visible()
    shot("job")
    expect(page.get_by_role("link", name="下载 PDF")).to_be_visible(timeout=90_000)
    shot("job-done")
