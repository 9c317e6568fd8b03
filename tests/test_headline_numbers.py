"""One definition of each headline number (在册, 在管, 失联, 流出): on the demo data, for every
scope (the whole street, each community's staff, each grid worker), 工作台, 统计分析, 名册统计
and the org tree show the same numbers with the same words, and 失联 equals the open
lost-contact cases."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select

from app.auth.models import User
from app.demo.accounts import DEMO_PASSWORD
from app.extensions import db
from app.followup.models import LostContactCase
from app.members.management import HEADLINES
from app.members.models import Member
from app.organization.models import Org, Place
from tests.demo.test_demo import release_foreign_keys

FIGURE = re.compile(r'data-figure="(\w+)">(\d+)<')
HX = {"HX-Request": "true"}


@pytest.fixture
def demo(app, runner):
    result = runner.invoke(args=["demo", "seed", "--size", "small", "--seed", "7"])
    assert result.exit_code == 0, result.output
    yield
    release_foreign_keys()


def headline(client, url: str, headers: dict | None = None) -> dict[str, int]:
    """The headline numbers a page shows (the first of each, i.e. the page's own)."""
    response = client.get(url, headers=headers or {})
    assert response.status_code == 200, url
    found: dict[str, int] = {}
    for key, value in FIGURE.findall(response.get_data(as_text=True)):
        found.setdefault(key, int(value))
    return found


def labelled(client, url: str) -> str:
    return client.get(url).get_data(as_text=True)


def lost_cases_shown(client) -> int:
    """The 合计 row's 人数 on the 失联党员 page (open cases of the scope)."""
    html = client.get("/followup/lost").get_data(as_text=True)
    row = re.search(
        r'class="total-row">.*?<td data-label="人数" class="mono">(\d+)</td>', html, re.S
    )
    assert row is not None
    return int(row.group(1))


def login(client, username: str) -> None:
    from tests.conftest import csrf_token

    client.post("/logout", data={"csrf_token": csrf_token(client, "/login")})
    token = csrf_token(client, "/login")
    response = client.post(
        "/login", data={"username": username, "password": DEMO_PASSWORD, "csrf_token": token}
    )
    assert response.status_code == 302, username


def test_every_scope_shows_the_same_numbers_on_the_four_pages(demo, client):
    users = db.session.execute(
        select(User.username, User.role)
        .where(User.role.in_(("admin", "staff", "grid_worker")), User.active.is_(True))
        .order_by(User.id)
    ).all()
    roles = {role for _, role in users}
    assert roles == {"admin", "staff", "grid_worker"} and len(users) >= 15
    communities = dict(
        db.session.execute(select(Place.id, Place.name).where(Place.kind == "community")).all()
    )
    committees = dict(
        db.session.execute(
            select(Org.place_id, Org.id).where(Org.kind == "community_committee")
        ).all()
    )
    checked_nodes = 0
    for username, role in users:
        login(client, username)
        pages = {
            "工作台": headline(client, "/home"),
            "统计分析": headline(client, "/stats/"),
            "名册统计": headline(client, "/members/counts"),
            "我的网格": headline(client, "/places"),
        }
        first = pages["工作台"]
        assert set(first) == set(HEADLINES), (username, first)
        for page, figures in pages.items():
            assert figures == first, (username, page, figures, first)
        assert first["on_roster"] >= first["managed"] > 0
        # The same words on each page.
        for url in ("/home", "/stats/", "/members/counts", "/places"):
            html = labelled(client, url)
            assert all(label in html for label in HEADLINES.values()), (username, url)
        # 失联 = the open cases the 失联党员 page counts for the same scope.
        assert lost_cases_shown(client) == first["lost_contact"], username
        # Each community and grid in the scope: 统计 with that focus = the org tree's node.
        focuses = re.findall(
            r'<option value="((?:community|grid)-\d+)"', labelled(client, "/stats/")
        )
        assert focuses, username
        for focus in focuses:
            kind, node_id = focus.split("-")
            stats = headline(client, f"/stats/?focus={focus}")
            tree = headline(client, f"/places/{node_id}/counts", HX)
            assert tree == stats, (username, focus, tree, stats)
            if role == "admin":
                admin_tree = headline(client, f"/admin/org/place/{node_id}/counts", HX)
                assert admin_tree == stats, (focus, admin_tree, stats)
                if kind == "community":
                    committee = committees[int(node_id)]
                    org_tree = headline(client, f"/admin/org/org/{committee}/counts", HX)
                    assert org_tree == stats, (communities[int(node_id)], org_tree, stats)
            checked_nodes += 1
        if role == "admin":
            street = db.session.execute(
                select(Org.id).where(Org.kind == "street_committee")
            ).scalar_one()
            assert headline(client, f"/admin/org/org/{street}/counts", HX) == first
    assert checked_nodes >= 3 + 12 + 15  # the admin's, then each staff's and grid worker's


def test_every_lost_contact_member_has_an_open_case_in_the_demo_data(demo):
    lost = set(
        db.session.execute(select(Member.id).where(Member.status == "lost_contact")).scalars()
    )
    open_cases = db.session.execute(
        select(LostContactCase.member_id).where(LostContactCase.stage != "closed")
    ).scalars()
    assert lost and sorted(open_cases) == sorted(lost)
    assert db.session.execute(select(func.count()).select_from(LostContactCase)).scalar() == len(
        lost
    )
