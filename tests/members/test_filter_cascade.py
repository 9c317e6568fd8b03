"""The member list's cascading filters (社区 → 网格 → 楼栋, 党支部 → 党小组): a whole-street
admin gets a few choices per select, the dependent selects follow the chosen parent after htmx
changes and after 筛选 without JavaScript, and the page's query count stays flat."""

from __future__ import annotations

import re

import pytest

from app.extensions import db
from app.organization.models import Org, Place
from tests.members.test_routes import HX, names_in


def select_options(html: str, name: str) -> list[str] | None:
    """The option labels of ``<select name=name>`` (None when there is no such select)."""
    found = re.search(rf'<select name="{name}"[^>]*>(.*?)</select>', html, re.S)
    if found is None:
        return None
    return re.findall(r"<option[^>]*>([^<]*)</option>", found.group(1))


def selected(html: str, name: str) -> str | None:
    found = re.search(rf'<select name="{name}"[^>]*>(.*?)</select>', html, re.S)
    if found is None:
        return None
    chosen = re.search(r"<option[^>]*selected[^>]*>([^<]*)</option>", found.group(1))
    return chosen.group(1) if chosen else "全部"


@pytest.fixture
def second(tree, make_member):
    """A second community (河畔社区) with its own grid, building, committee, branch and group;
    one member in each community."""
    community = Place(kind="community", name="河畔社区", code="C2")
    db.session.add(community)
    db.session.flush()
    grid = Place(kind="grid", name="河畔一网格", parent_id=community.id)
    committee = Org(kind="community_committee", name="河畔社区党委", place_id=community.id)
    db.session.add_all([grid, committee])
    db.session.flush()
    branch = Org(kind="branch", name="河畔党支部", parent_id=committee.id)
    db.session.add(branch)
    db.session.flush()
    group = Org(kind="group", name="河畔党小组", parent_id=branch.id)
    db.session.add(group)
    db.session.flush()
    building = Place(kind="building", name="河畔1栋", parent_id=grid.id)
    db.session.add(building)
    db.session.commit()
    make_member(name="张三", building=tree["building_a"], group=tree["group_a"])
    make_member(name="王五", building=building, group=group)
    return {
        "community": community,
        "grid": grid,
        "building": building,
        "branch": branch,
        "group": group,
    }


def test_one_community_lists_its_grids_and_branches_at_once(client, auth, tree, make_member):
    make_member(name="张三", building=tree["building_a"])
    auth.login_as("admin")
    html = client.get("/members/").get_data(as_text=True)
    assert select_options(html, "community") is None  # nothing to choose
    assert select_options(html, "grid") == ["全部", "第一网格", "第二网格"]
    assert select_options(html, "branch") == ["全部", "第一小区党支部", "第二小区党支部"]
    assert select_options(html, "building") is None and select_options(html, "group") is None


# (query, selects expected: name -> option labels, or None for no select)
CASCADE = [
    (
        "",
        {"community": ["全部", "金川社区", "河畔社区"], "grid": None, "branch": None},
    ),
    (
        "community={c2}",
        {
            "grid": ["全部", "河畔一网格"],
            "branch": ["全部", "河畔党支部"],
            "building": None,
            "group": None,
        },
    ),
    ("community={c2}&grid={g2}", {"building": ["全部", "河畔1栋"]}),
    ("community={c2}&branch={b2}", {"group": ["全部", "河畔党小组"]}),
]


@pytest.mark.parametrize(("query", "expected"), CASCADE)
def test_a_street_admin_chooses_the_community_first(client, auth, second, query, expected):
    auth.login_as("admin")
    url = "/members/?" + query.format(
        c2=second["community"].id, g2=second["grid"].id, b2=second["branch"].id
    )
    html = client.get(url).get_data(as_text=True)
    for name, options in expected.items():
        assert select_options(html, name) == options, name


def test_a_child_of_a_changed_parent_is_dropped(client, auth, tree, second):
    auth.login_as("admin")
    # The community was changed to 河畔 while 第一网格 / 1号楼 of 金川 were still chosen.
    html = client.get(
        f"/members/?community={second['community'].id}&grid={tree['grid_a'].id}"
        f"&building={tree['building_a'].id}&branch={tree['branch_a'].id}"
        f"&group={tree['group_a'].id}"
    ).get_data(as_text=True)
    assert names_in(html) == ["王五"]  # the whole new community, not an empty list
    assert selected(html, "grid") == "全部" and selected(html, "branch") == "全部"
    assert select_options(html, "building") is None and select_options(html, "group") is None


def test_a_building_alone_shows_its_grid_and_community_chosen(client, auth, tree, second):
    auth.login_as("admin")
    html = client.get(f"/members/?building={tree['building_a'].id}").get_data(as_text=True)
    assert names_in(html) == ["张三"]
    assert selected(html, "community") == "金川社区"
    assert selected(html, "grid") == "第一网格"
    assert selected(html, "building") == "1号楼"


def test_a_group_alone_shows_its_branch_chosen(client, auth, tree, second):
    auth.login_as("admin")
    html = client.get(f"/members/?group={tree['group_a'].id}").get_data(as_text=True)
    assert names_in(html) == ["张三"]
    assert selected(html, "branch") == "第一小区党支部"  # its siblings are listed
    assert selected(html, "group") == "1号楼党小组"
    assert selected(html, "community") == "全部"  # a branch never implies a community


def test_htmx_change_swaps_the_dependent_selects_with_the_results(client, auth, tree, second):
    auth.login_as("admin")
    token = auth.token()
    response = client.post(
        "/members/",
        data={"csrf_token": token, "community": second["community"].id, "grid": ""},
        headers=HX,
    )
    html = response.get_data(as_text=True)
    assert "<html" not in html and names_in(html) == ["王五"]
    assert 'id="member-cascade" class="filter-cascade" hx-swap-oob="true"' in html
    assert select_options(html, "grid") == ["全部", "河畔一网格"]
    # Choosing the grid then brings the building select.
    html = client.post(
        "/members/",
        data={
            "csrf_token": token,
            "community": second["community"].id,
            "grid": second["grid"].id,
        },
        headers=HX,
    ).get_data(as_text=True)
    assert select_options(html, "building") == ["全部", "河畔1栋"]
    # 加载更多 (a cursor) leaves the form alone.
    more = client.get(f"/members/?after={second['building'].id}", headers=HX)
    assert "hx-swap-oob" not in more.get_data(as_text=True)


def test_without_javascript_filtering_shows_the_dependent_select(client, auth, tree, second):
    auth.login_as("admin")
    response = client.post(
        "/members/",
        data={"csrf_token": auth.token(), "community": tree["community"].id, "branch": ""},
    )
    assert response.status_code == 303
    html = client.get(response.headers["Location"]).get_data(as_text=True)
    assert select_options(html, "grid") == ["全部", "第一网格", "第二网格"]
    assert selected(html, "community") == "金川社区"
    assert names_in(html) == ["张三"]


def test_the_admin_page_renders_only_the_chosen_branch_of_the_trees(
    client, auth, tree, second, count_queries
):
    """Many grids and branches in the street: the admin's full page lists the communities,
    and the chosen community's grids only; warm, it costs no more queries than a fragment."""
    for i in range(30):
        db.session.add(Place(kind="grid", name=f"河畔{i}网格", parent_id=second["community"].id))
    db.session.commit()
    auth.login_as("admin")
    url = f"/members/?community={tree['community'].id}&grid={tree['grid_a'].id}"
    html = client.get(url).get_data(as_text=True)
    cascade = html[html.index('id="member-cascade"') : html.index('name="as_of"')]
    assert cascade.count("<option") == 11  # 3 communities, 3 grids, 2 buildings, 3 branches
    with count_queries() as full:
        client.get(url)
    with count_queries() as fragment:
        client.get(url, headers=HX)
    assert full.count <= fragment.count <= 7
