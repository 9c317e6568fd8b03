"""Every list's 加载更多 link, opened directly (no htmx: a new tab, no JavaScript), answers
200 with a whole page.

Generated from ``app.url_map``: every GET rule without path arguments that a role opens with
200 is searched for a 加载更多 link (an ``href`` with ``after=``); the page size is made 2 and
every list gets a few more rows than that, so each paged list shows its link.
"""

from __future__ import annotations

import re
import sys
from datetime import date, datetime

import pytest

from tests.test_access_matrix import (  # noqa: F401  (fixtures)
    _client_for,
    _methods,
    _rules,
    foreign,
    frozen_clock,
    world,
)

SIZE = 2
ROWS = SIZE + 2
# Any 加载更多 link with a query (lists on app/paging.py use ``after=``; a list not yet
# converted may use its own cursor, and is followed all the same).
LOAD_MORE_RE = re.compile(r'<a\b[^\n]*?\bhref="([^"]*\?[^"]*)"[^\n]*?>\s*加载更多\s*</a>')
ROLES = ("staff", "admin")  # a member has no list of others


@pytest.fixture
def small_pages(monkeypatch):
    """Page size 2: the paging helper's defaults and every ``*PAGE*`` size constant of app."""
    from app import paging

    for function in (paging.keyset_page, paging.page_of):
        monkeypatch.setitem(function.__kwdefaults__, "size", SIZE)
    for name, module in list(sys.modules.items()):
        if not name.startswith("app.") or module is None:
            continue
        for attr, value in list(vars(module).items()):
            if "PAGE" in attr and attr.isupper() and type(value) is int and value > SIZE:
                monkeypatch.setattr(module, attr, SIZE)


@pytest.fixture
def crowd(foreign):  # noqa: F811
    """More rows than a page in every list of community A."""
    from app.audit.models import AuditEntry
    from app.certificates.models import Certificate
    from app.extensions import db
    from app.followup.models import LostContactCase, OrgEvent
    from app.members.models import ChangeRequest
    from app.members.services import create_member
    from app.registration.services import submit
    from tests.members.conftest import id_number

    w = foreign
    a = w["a"]
    crowd_members = []
    for n in range(2 * ROWS):
        placed = n % 2 == 0  # half of them wait for a group (the assignment list)
        lost = n % 2 == 1  # half have a lost-contact case, the rest are proposed for one
        member = create_member(
            {
                "name": f"名单党员{n}",
                "id_number": id_number(date(1960, 5, n + 1), n + 20),
                "phone": f"1360000{n:04d}",
                "building_id": a["b1" if placed else "b2"].id,
                **({"group_id": a["group"].id} if placed else {}),
            },
            None,
        )
        member.created_at = datetime(2020, 1, 1)  # long overdue for reports and contacts
        crowd_members.append(member)
        if lost:  # away on a trip for years: a contact is due (the others are proposed)
            member.mobility = "flow_out"
            member.mobility_place = "上海"
            member.mobility_since = date(2020, 1, 1)
        member.dues_paid_until = date(2020, 1, 31)  # an alert
        if lost:
            db.session.add(
                LostContactCase(
                    member_id=member.id,
                    kind="roster",
                    since=date(2026, 1, 1),
                    opened_on=date(2027, 1, 1),
                )
            )
        db.session.add_all(
            [
                Certificate(
                    number=f"L-2028-{n:04d}",
                    serial=f"list-serial-{n:04d}-0123456789abcdef",
                    short_code=f"LIST{n:04d}",
                    member_id=member.id,
                    issuing_org_name="测试支部",
                    issued_on=date(2027, 1, 1),
                    valid_until=date(2029, 1, 1),
                    next_verification_due=date(2027, 6, 1),
                ),
                ChangeRequest(
                    member_id=member.id,
                    changes={"fields": {"room": {"old": None, "new": f"1单元{n}01"}}},
                ),
                OrgEvent(
                    org_id=a["branch"].id,
                    kind="party_class",
                    held_on=date(2028, 1, n + 1),
                    title=f"党课{n}",
                ),
            ]
        )
        submit(
            "flow_in",
            {
                "name": f"名单报到人{n}",
                "id_number": id_number(date(1985, 6, n + 1), n + 40),
                "phone": f"1350000{n:04d}",
                "community_id": a["community"].id,
                "grid_id": a["grid"].id,
                "building_id": a["b1"].id,
                "sensitive_consent": True,
            },
            f"list-{n}",
        )
    # 共管 and 协管 lists (app/care, app/mobile): visits due, 老党员 of the year, stations.
    from app.care.models import CareEvent
    from app.mobile.models import MobileStation

    for n in range(ROWS):
        veteran = create_member(
            {
                "name": f"老党员{n}",
                "id_number": id_number(date(1945, 3, n + 1), n + 60),
                "phone": f"1340000{n:04d}",
                "building_id": a["b1"].id,
                "group_id": a["group"].id,
                "employment": "retired",
                "joined_on": date(1978, 7, 1),
            },
            None,
        )
        db.session.add(
            CareEvent(member_id=veteran.id, kind="illness", occurred_on=date(2028, 2, 1))
        )
        db.session.add(
            MobileStation(community_id=a["community"].id, name=f"管理站{n}", place="上海")
        )
    # 接管 lists: laid-off members (the 五个一 board) and job leads; 目标考核: branches.
    from app.organization.models import Org
    from app.takeover.models import JobLead

    for n in range(ROWS):
        create_member(
            {
                "name": f"下岗党员{n}",
                "id_number": id_number(date(1970, 4, n + 1), n + 80),
                "phone": f"1330000{n:04d}",
                "building_id": a["b1"].id,
                "group_id": a["group"].id,
                "employment": "laid_off",
            },
            None,
        )
        db.session.add(
            JobLead(
                community_id=a["community"].id,
                employer=f"用人单位{n}",
                post="保洁",
                contact="王",
                valid_until=date(2029, 1, 1),
            )
        )
        db.session.add(Org(kind="branch", name=f"名单支部{n}", parent_id=a["committee"].id))
    db.session.add_all(AuditEntry(action="list_test", username="admin") for _ in range(60))
    _direct_rows(w, crowd_members)
    _crowd_dual(w)
    db.session.commit()
    return w


def _direct_rows(w: dict, members: list) -> None:
    """直管: a post, a 结对帮扶 pair and a 争五好 review for each crowd member."""
    from app.direct import services
    from tests.test_access_matrix import _direct

    admin = w["users"]["admin"]
    post_id = _direct(w, "a", "post_id")["post_id"]
    for member in members:
        services.assign_post(
            member,
            admin,
            post_id=post_id,
            starts_on=date(2028, 1, 1),
            ends_on=None,
            building_ids=[w["a"]["b1"].id],
        )
        services.create_pair(
            member,
            admin,
            {
                "helped_name": f"帮扶对象{member.id}",
                "building_id": w["a"]["b1"].id,
                "need_kind": "hardship",
                "starts_on": date(2028, 1, 1),
            },
        )
        services.save_review(member, admin, year=2028, items={}, assessment="good", note=None)


def _crowd_dual(w: dict) -> None:
    """双管 lists: needs, services waiting for confirmation, opinion requests, in-service
    members (the feedback-sheet list)."""
    from app.dual.models import Need, OpinionRequest, Service
    from app.extensions import db
    from app.members.services import create_member
    from tests.members.conftest import id_number

    a = w["a"]
    for n in range(ROWS):
        member = create_member(
            {
                "name": f"在职名单{n}",
                "id_number": id_number(date(1978, 7, n + 1), n + 60),
                "building_id": a["b1"].id,
                "employment": "in_service",
                "relation_location": "work_unit",
                "work_unit": "市第一中学",
            },
            None,
        )
        db.session.add_all(
            [
                Need(community_id=a["community"].id, title=f"服务岗{n}", places=2),
                Service(
                    member_id=member.id,
                    served_on=date(2026, 1, n + 1),
                    minutes=60,
                    content="楼道清扫",
                    source="member",
                ),
                OpinionRequest(
                    member_id=member.id,
                    employer="市第一中学",
                    purpose="提拔考察",
                    requested_on=date(2026, 1, n + 1),
                ),
            ]
        )


def _pages(app) -> list[str]:  # noqa: ANN001
    return [r.rule for r in _rules(app) if not r.arguments and "GET" in _methods(r)]


@pytest.mark.parametrize("role", ROLES)
def test_load_more_links_open_as_whole_pages(app, crowd, small_pages, role):
    client = _client_for(app, crowd, role)
    failures, followed = [], []
    for path in _pages(app):
        response = client.get(path)
        if response.status_code != 200 or response.mimetype != "text/html":
            continue
        html = response.get_data(as_text=True)
        links = LOAD_MORE_RE.findall(html)
        if "page-rows" in html and not links:
            failures.append(f"{path}: a paged list without a 加载更多 link")
        for depth in range(2):  # the first page's link, then the second page's
            if not links:
                break
            url = links[0].replace("&amp;", "&")
            followed.append(url)
            response = client.get(url)  # no HX-Request header: a new tab
            html = response.get_data(as_text=True)
            if response.status_code != 200 or "<html" not in html:
                failures.append(f"{path} → {url} (page {depth + 2}): {response.status_code}")
                break
            links = LOAD_MORE_RE.findall(html)
    print(f"{role}: followed {len(followed)} links: {sorted({u.split('?')[0] for u in followed})}")
    assert followed, "no list showed a 加载更多 link"
    assert not failures, "\n".join(failures)
