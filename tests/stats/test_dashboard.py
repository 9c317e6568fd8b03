"""The statistics dashboard: exact figures per scope, the scope picker, links to the lists
behind the figures, "as of" a past month, the XLSX export (audited)."""

from __future__ import annotations

import io
import re
from datetime import timedelta

import pytest
from openpyxl import load_workbook
from sqlalchemy import select, true

from app.audit.models import AuditEntry
from app.extensions import db
from app.members import services as member_services
from app.stats import services
from app.timeutil import local_today
from tests.plans import plan, reference_statistics, statements
from tests.stats.conftest import make_registration

HX = {"HX-Request": "true"}


def figures(html: str, panel: str) -> dict[str, str]:
    """{label: number} from a panel's data table."""
    section = html.split(f'id="panel-{panel}"', 1)[1].split("</section>", 1)[0]
    table = section.split("<table", 1)[1]
    found = {}
    for label, cell in re.findall(
        r'<th scope="row">([^<]+)</th>\s*<td class="num">(.*?)</td>', table
    ):
        found[label] = re.sub(r"<[^>]+>", "", cell)
    return found


def links(html: str, panel: str) -> dict[str, str]:
    """{label: href} from a panel's data table."""
    section = html.split(f'id="panel-{panel}"', 1)[1].split("</section>", 1)[0]
    table = section.split("<table", 1)[1]
    return {
        label: href.replace("&amp;", "&")
        for label, href in re.findall(
            r'<th scope="row">([^<]+)</th>\s*<td class="num"><a href="([^"]+)">', table
        )
    }


@pytest.fixture
def community_staff(auth, world, staff_of):
    user = staff_of(org=world["committee"])
    auth.login(user.username)
    return user


def test_exact_figures_for_the_community_staff(client, community_staff, world):
    response = client.get("/stats/")
    assert "no-store" in response.headers["Cache-Control"]
    html = response.get_data(as_text=True)
    assert '在册党员 <strong data-figure="on_roster">6</strong>' in html
    assert '在管党员 <strong data-figure="managed">6</strong>' in html
    categories = {m.category for m in world["members"].values()}
    assert categories >= {"direct", "shared", "takeover"}
    expected = {label: 0 for label in ("直管", "双管", "共管", "接管", "协管")}
    from app.members.models import CATEGORIES

    for member in world["members"].values():
        expected[CATEGORIES[member.category]] += 1
    got = figures(html, "category")
    assert {k: int(v) for k, v in got.items() if k != "合计"} == expected
    assert got["合计"] == "6"
    assert figures(html, "status")["正常"] == "6"
    assert figures(html, "mobility") == {"流入党员": "1", "流出党员": "1", "合计": "2"}
    assert figures(html, "branch") == {"第一小区党支部": "4", "第二小区党支部": "2", "合计": "6"}
    assert figures(html, "grid") == {"第一网格": "4", "第二网格": "2", "合计": "6"}
    certs = figures(html, "certificates")
    assert certs["有效"] == "1" and certs["已交回"] == "1" and certs["有效但核验逾期"] == "1"
    assert certs["合计"] == "2"


def test_community_staff_never_sees_the_other_community(client, community_staff, world):
    make_registration(world["other"], world["other_grid"], world["other_grid"], 1)
    html = client.get("/stats/").get_data(as_text=True)
    for name in ("和平社区", "和平一网格", "和平第一支部"):
        assert name not in html
    assert figures(html, "registrations")["合计"] == "0"
    # Choices outside the scope, or unknown ids, answer 404 — page and export alike.
    for focus in (
        f"community-{world['other'].id}",
        f"grid-{world['other_grid'].id}",
        f"branch-{world['other_branch'].id}",
        "grid-987654",
    ):
        assert client.get(f"/stats/?focus={focus}").status_code == 404
        assert client.get(f"/stats/export.xlsx?focus={focus}").status_code == 404
    # A building is not a choice.
    assert client.get(f"/stats/?focus=grid-{world['building_a'].id}").status_code == 404


def test_admin_sees_the_whole_street_and_any_community(client, auth, world):
    auth.login_as("admin")
    html = client.get("/stats/").get_data(as_text=True)
    assert "全街道" in html and 'data-figure="on_roster">9<' in html
    assert figures(html, "branch")["和平第一支部"] == "3"
    assert figures(html, "certificates")["有效但核验逾期"] == "2"
    html = client.get(f"/stats/?focus=community-{world['other'].id}").get_data(as_text=True)
    assert "社区：和平社区" in html and 'data-figure="on_roster">3<' in html
    assert figures(html, "category")["共管"] == "3"
    # The member list has no community filter: the figures say so instead of linking wrongly.
    assert "暂不能按社区筛选" in html
    assert links(html, "category") == {}


def test_grid_worker_sees_their_grid_only(client, auth, world, grid_worker_of):
    user = grid_worker_of(world["grid_b"])
    auth.login(user.username)
    html = client.get("/stats/").get_data(as_text=True)
    assert 'data-figure="on_roster">2<' in html
    assert figures(html, "grid") == {"第二网格": "2", "合计": "2"}
    assert client.get(f"/stats/?focus=grid-{world['grid_a'].id}").status_code == 404
    assert client.get(f"/stats/?focus=grid-{world['grid_b'].id}").status_code == 200


def test_narrowing_to_a_grid_and_the_links_carry_the_same_filters(client, community_staff, world):
    grid = world["grid_a"].id
    make_registration(world["community"], world["grid_a"], world["building_a"], 2)
    make_registration(world["community"], world["grid_b"], world["building_b"], 3)
    html = client.get(f"/stats/?focus=grid-{grid}").get_data(as_text=True)
    assert "网格：第一网格" in html and 'data-figure="on_roster">4<' in html
    assert figures(html, "mobility") == {"流入党员": "0", "流出党员": "1", "合计": "1"}
    assert figures(html, "registrations")["流入党员登记"] == "1"
    category = links(html, "category")
    assert category["共管"] == f"/members/?category=shared&grid={grid}"
    assert links(html, "status")["失联"] == f"/members/?status=lost_contact&grid={grid}"
    assert links(html, "mobility")["流出党员"] == f"/members/?mobility=away&grid={grid}"
    branch = world["branch_a"].id
    assert links(html, "branch")["第一小区党支部"] == f"/members/?branch={branch}&grid={grid}"
    assert links(html, "grid")["第一网格"] == f"/members/?grid={grid}"
    certs = links(html, "certificates")
    assert certs["有效"] == f"/certificates/?status=issued&grid={grid}"
    assert certs["有效但核验逾期"] == f"/certificates/?due=overdue&grid={grid}"
    community = world["community"].id
    assert (
        links(html, "registrations")["流入党员登记"]
        == f"/registrations/?status=submitted&kind=flow_in&community={community}"
    )
    assert links(html, "unassigned")["缺党小组"] == "/assignment/?kind=group"
    # The list behind a figure holds exactly that many members.
    listed = client.get(category["直管"]).get_data(as_text=True)
    assert "甲一" in listed and "甲二" in listed and "乙一" not in listed


def test_branch_focus_filters_members_by_branch(client, community_staff, world):
    branch = world["branch_b"].id
    html = client.get(f"/stats/?focus=branch-{branch}").get_data(as_text=True)
    assert "党支部：第二小区党支部" in html and 'data-figure="on_roster">2<' in html
    assert links(html, "mobility")["流入党员"] == f"/members/?mobility=flow_in&branch={branch}"
    assert "不分党支部" in html  # registrations have no branch


def test_as_of_shows_last_months_categories(client, community_staff, world, make_member):
    long_ago = local_today().replace(day=1) - timedelta(days=100)
    member = make_member(
        name="甲五", building=world["building_a"], group=world["group_a"], effective=long_ago
    )
    member_services.update_member(member, {"employment": "retired"}, None, None)
    db.session.commit()
    month = f"{long_ago:%Y-%m}"
    now = figures(client.get("/stats/").get_data(as_text=True), "category")
    response = client.get(f"/stats/?as_of={month}", headers=HX)
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and "<html" not in html  # the body block only
    past = figures(html, "category")
    assert past["合计"] == "1"  # the others did not exist yet
    assert past["直管"] == "1" and past["共管"] == "0"
    assert int(now["共管"]) == int(figures_count_shared(world)) + 1
    assert f"截至 {month} 月末" in html
    assert links(html, "category")["直管"] == f"/members/?category=direct&as_of={month}"
    # The other panels say they show today.
    section = html.split('id="panel-mobility"', 1)[1].split("</section>", 1)[0]
    assert "今天" in section


def figures_count_shared(world) -> int:
    return sum(1 for m in world["members"].values() if m.category == "shared")


def test_bad_parameters_are_ignored(client, community_staff, world):
    for query in (
        "?as_of=2999-01",
        "?as_of=abc",
        "?as_of=2026-13",
        "?focus=evil",
        "?focus=grid-x",
        "?show=nothing",
        "?focus=grid-99999999999999999999999",
    ):
        response = client.get(f"/stats/{query}")
        assert response.status_code == 200, query
        assert 'data-figure="on_roster">6<' in response.get_data(as_text=True)


def test_top_rows_and_show_all(client, community_staff, world, monkeypatch):
    monkeypatch.setattr(services, "TOP_ROWS", 1)
    html = client.get("/stats/").get_data(as_text=True)
    assert figures(html, "grid") == {"第一网格": "4", "合计": "6"}
    assert "查看全部（另有 1 个）" in html and "show=grid" in html
    html = client.get("/stats/?show=grid").get_data(as_text=True)
    assert figures(html, "grid") == {"第一网格": "4", "第二网格": "2", "合计": "6"}


def test_unplaced_members_are_a_row_of_their_own(client, community_staff, world, make_member):
    from app.extensions import db as _db

    member = make_member(name="甲六", building=world["building_a"], group=world["group_a"])
    member.branch_id = None
    member.group_id = None
    _db.session.commit()
    html = client.get("/stats/").get_data(as_text=True)
    assert figures(html, "branch")["未编入党支部"] == "1"
    assert figures(html, "unassigned")["缺党小组"] == "1"


def test_charts_are_inline_svg_without_style_attributes(client, community_staff, world):
    html = client.get("/stats/").get_data(as_text=True)
    assert html.count('<svg class="bar-chart"') == 8
    assert " style=" not in html
    assert 'aria-label="直管 2人，查看名单"' in html


def test_figures_follow_changes(client, community_staff, world, make_member):
    """The figures are cached, but never stale: any change shows on the next request."""
    assert figures(client.get("/stats/").get_data(as_text=True), "grid")["第二网格"] == "2"
    make_member(name="乙三", building=world["building_b"], group=world["group_b"])
    assert figures(client.get("/stats/").get_data(as_text=True), "grid")["第二网格"] == "3"


def test_export_is_an_audited_spreadsheet(client, community_staff, world):
    grid = world["grid_a"].id
    response = client.get(f"/stats/export.xlsx?focus=grid-{grid}")
    assert response.status_code == 200
    assert response.mimetype.endswith("spreadsheetml.sheet")
    assert "attachment" in response.headers["Content-Disposition"]
    sheet = load_workbook(io.BytesIO(response.data)).active
    rows = [[c.value for c in row] for row in sheet.iter_rows()]
    assert rows[0] == services.EXPORT_HEADER
    assert rows[6][:5] == ["网格：第一网格", "按五管分类", "合计", "4", "人"]
    assert ["网格：第一网格", "流入与流出", "流出党员", "1", "人"] in [r[:5] for r in rows]
    entry = db.session.execute(
        select(AuditEntry).where(AuditEntry.action == "stats_export")
    ).scalar_one()
    assert entry.user_id == community_staff.id
    assert entry.after["focus"] == f"grid-{grid}"
    assert "第一网格" in entry.detail


def test_members_cannot_open_the_dashboard(client, auth, world):
    auth.login_as("member")
    assert client.get("/stats/").status_code == 403
    assert client.get("/stats/export.xlsx").status_code == 403


def test_one_pass_counters_match_the_work_list_and_both_placement_paths_agree(
    app, world, make_user, make_member
):
    """The dashboard's one-scan counters equal the assignment work list's, and the whole
    street's index-only placement counts equal the grouped query of narrower scopes."""
    from flask_login import login_user

    from app.assignment.worklist import unassigned_counts

    loose = make_member(name="甲七", building=world["building_a"], group=world["group_a"])
    loose.group_id = None
    gone = make_member(name="甲八", building=world["building_a"], group=world["group_a"])
    gone.status = "deceased"
    db.session.commit()
    admin = make_user("admin")
    with app.test_request_context():
        login_user(admin)
        where = services.member_where(admin, None)
        found = services._one_pass_counts(where)
        expected = unassigned_counts(admin)
        for kind in ("building", "group", "liaison"):
            assert found[f"unassigned_{kind}"] == expected[kind], kind
        assert found["flow_in"] == 1 and found["away"] == 1
        wide = services._placement_counts(where, True)
        narrow = services._placement_counts(where, False)
        for kind in ("branch", "grid"):
            assert {k: n for k, n in wide[kind].items() if n} == narrow[kind]
        assert narrow["grid"][world["grid_a"].id] == 5  # 4 + 甲七; 甲八 is no longer managed


def test_the_whole_streets_one_pass_scans_its_covering_index(app, world):
    """Flow and unassigned counters of the whole street: one statement reading
    ``ix_member_dashboard_pass`` alone (every column it tests), not the wide member rows."""
    if db.engine.dialect.name != "sqlite":
        pytest.skip("SQLite's query plan")
    reference_statistics()
    found = statements(lambda: services._one_pass_counts([true()]))
    assert len(found) == 1
    steps = plan(*found[0])
    assert "SCAN member USING COVERING INDEX ix_member_dashboard_pass" in steps, steps
