"""协管: the other organization, the contact log and 联系函, the reminders, stations, and the
二卡三簿 ledger whose counts match its lists and its XLSX."""

from __future__ import annotations

import io
import re
from datetime import date, datetime

import pytest
from openpyxl import load_workbook

from app import reminders
from app.extensions import db
from app.mobile.models import MobileContact, MobileStation
from app.timeutil import freeze

NOW = datetime(2026, 5, 18, 2, 0)


@pytest.fixture
def clock():
    with freeze(NOW):
        yield


def _flow_out(make_member, tree, **kw):
    return make_member(
        mobility="flow_out",
        mobility_place="新疆乌鲁木齐",
        mobility_since=date(2025, 10, 1),
        mobility_open_ended=True,
        building=tree["building_a"],
        group=tree["group_a"],
        **kw,
    )


def _flow_in(make_member, tree, **kw):
    return make_member(
        mobility="flow_in",
        mobility_place="甘肃武威",
        mobility_since=date(2025, 12, 1),
        relation_location="elsewhere",
        relation_org_name="武威市某村党支部",
        origin_org_contact="李书记 13800001111",
        building=tree["building_a"],
        **kw,
    )


def test_flow_out_member_gets_a_letter_and_a_reply_is_logged(
    app, clock, client, auth, tree, make_member, staff_a
):
    member = _flow_out(make_member, tree, name="外出甲")
    auth.login(staff_a.username)
    page = client.get(f"/mobile/member/{member.id}").get_data(as_text=True)
    assert "流入地党组织" in page and "新疆乌鲁木齐党组织" in page
    pdf = client.get(f"/mobile/member/{member.id}/letter.pdf?start=2025-11-18&end=2026-05-18")
    assert pdf.status_code == 200 and pdf.data.startswith(b"%PDF")
    bad = client.get(f"/mobile/member/{member.id}/letter.pdf?start=2026-05-18&end=2026-01-01")
    assert bad.status_code == 422
    assert 'id="end-error" role="alert">截止日期不能早于起始日期' in bad.get_data(as_text=True)
    # Contact with the other organization is overdue (never contacted, away since October).
    assert reminders.SOURCES["mobile_org_contact_overdue"].count(staff_a) == 1
    response = client.post(
        f"/mobile/member/{member.id}/contact",
        data={
            "csrf_token": auth.token(),
            "kind": "letter",
            "direction": "received",
            "channel": "letter",
            "contacted_on": "2026-05-18",
            "org_name": "乌鲁木齐某公司党支部",
            "summary": "回函：该同志按时参加组织生活",
        },
    )
    assert response.status_code == 303
    contact = db.session.execute(db.select(MobileContact)).scalar_one()
    assert (contact.direction, contact.kind) == ("received", "letter")
    assert reminders.SOURCES["mobile_org_contact_overdue"].count(staff_a) == 0
    card = client.get(f"/members/{member.id}").get_data(as_text=True)
    assert "双向管理（协管）" in card and "乌鲁木齐某公司党支部" in card


def test_contact_errors_are_next_to_the_fields(
    app, clock, client, auth, tree, make_member, staff_a
):
    member = _flow_out(make_member, tree)
    auth.login(staff_a.username)
    response = client.post(
        f"/mobile/member/{member.id}/contact",
        data={
            "csrf_token": auth.token(),
            "kind": "feedback",
            "direction": "sent",
            "channel": "phone",
            "contacted_on": "2026-05-19",
            "org_name": "某党支部",
            "summary": "通话",
        },
    )
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert 'id="contacted_on-error" role="alert">日期不能晚于今天' in html
    assert 'value="某党支部"' in html  # what was typed is kept


def test_flow_in_member_other_org_is_the_home_organization(
    app, clock, client, auth, tree, make_member, staff_a
):
    member = _flow_in(make_member, tree)
    auth.login(staff_a.username)
    page = client.get(f"/mobile/member/{member.id}").get_data(as_text=True)
    assert "流出地（原籍）党组织" in page and "武威市某村党支部" in page
    assert "李书记" in page


def test_probationary_mobile_member_full_membership_due(
    app, clock, client, auth, tree, make_member, staff_a
):
    member = _flow_out(
        make_member,
        tree,
        name="预备丙",
        member_type="probationary",
        joined_on=date(2025, 6, 10),
        birth=date(1995, 1, 1),
    )
    _flow_out(
        make_member,
        tree,
        name="预备丁",
        member_type="probationary",
        joined_on=date(2025, 9, 10),
        birth=date(1996, 1, 1),
    )
    auth.login(staff_a.username)
    assert reminders.SOURCES["mobile_probation_due"].count(staff_a) == 1
    listed = client.get("/mobile/?due=probation").get_data(as_text=True)
    assert "预备丙" in listed and "预备丁" not in listed and "2026-06-10" in listed
    card = client.get(f"/members/{member.id}").get_data(as_text=True)
    assert "预备党员转正到期" in card and "2026-06-10" in card


def test_station_with_members_is_scoped(
    app, clock, client, auth, tree, make_member, staff_a, staff_of
):
    from app.organization.models import Place

    a = _flow_out(make_member, tree, name="集出甲")
    auth.login(staff_a.username)
    bad = client.post(
        "/mobile/stations",
        data={
            "csrf_token": auth.token(),
            "community_id": tree["community"].id,
            "name": "",
            "place": "新疆",
        },
    )
    assert (
        bad.status_code == 422
        and 'id="name-error" role="alert">请填写管理站名称' in bad.get_data(as_text=True)
    )
    response = client.post(
        "/mobile/stations",
        data={
            "csrf_token": auth.token(),
            "community_id": tree["community"].id,
            "name": "乌鲁木齐管理站",
            "place": "新疆乌鲁木齐",
            "contact": "张站长",
        },
    )
    assert response.status_code == 303
    station = db.session.execute(db.select(MobileStation)).scalar_one()
    added = client.post(
        f"/mobile/stations/{station.id}/members", data={"csrf_token": auth.token(), "member": a.id}
    )
    assert added.status_code == 303
    page = client.get(f"/mobile/stations/{station.id}").get_data(as_text=True)
    assert "集出甲" in page
    # The station is now the other organization of its members.
    assert "乌鲁木齐管理站" in client.get(f"/mobile/member/{a.id}").get_data(as_text=True)
    other = Place(kind="community", name="别的社区", code="C9")
    db.session.add(other)
    db.session.commit()
    auth.logout()
    outsider = staff_of(place=other)
    auth.login(outsider.username)
    assert client.get(f"/mobile/stations/{station.id}").status_code == 404


def test_ledger_counts_match_lists_and_xlsx(app, clock, client, auth, tree, make_member, staff_a):
    from app.certificates.models import Certificate

    members = [_flow_out(make_member, tree, name=f"外出{n}") for n in range(3)]
    members.append(_flow_in(make_member, tree, name="流入甲"))
    make_member(name="不流动", building=tree["building_a"])
    db.session.add(
        Certificate(
            number="C1-2026-0001",
            serial="s" * 40,
            member_id=members[0].id,
            issued_on=date(2026, 1, 5),
            valid_until=date(2028, 1, 5),
            destination="新疆乌鲁木齐",
        )
    )
    db.session.add(
        MobileContact(
            member_id=members[1].id,
            contacted_on=date(2026, 3, 1),
            kind="feedback",
            direction="sent",
            channel="phone",
            org_name="某党支部",
            summary="通报",
        )
    )
    db.session.commit()
    auth.login(staff_a.username)
    page = client.get("/mobile/ledger").get_data(as_text=True)
    counts = dict(re.findall(r'class="badge ledger-count" data-book="(\w+)">(\d+)<', page))
    assert counts == {
        "cards": "1",
        "contact_cards": "4",
        "register": "4",
        "activities": "0",
        "contacts": "1",
    }
    for book, n in counts.items():
        listed = client.get(f"/mobile/ledger?book={book}").get_data(as_text=True)
        assert listed.count('class="ledger-row"') == int(n)
    response = client.get("/mobile/ledger.xlsx")
    assert response.status_code == 200
    workbook = load_workbook(io.BytesIO(response.data), read_only=True)
    assert workbook.sheetnames == [
        "流动党员活动证",
        "流动党员联系卡",
        "流动党员登记簿",
        "活动登记簿",
        "联系簿",
    ]
    rows = [sum(1 for _ in workbook[name].iter_rows()) - 1 for name in workbook.sheetnames]
    assert rows == [int(n) for n in counts.values()]
    assert "不流动" not in str(list(workbook["流动党员登记簿"].values))
    pdf = client.get("/mobile/ledger.pdf")
    assert pdf.status_code == 200 and pdf.data.startswith(b"%PDF")


def test_mobile_list_costs_the_same_queries_for_one_row_or_many(
    app, clock, client, auth, tree, make_member, staff_a, count_queries
):
    """The other organization of every row comes from one batch look-up, not a query per row."""
    first = _flow_out(make_member, tree, name="外出一")
    auth.login(staff_a.username)
    client.get("/mobile/", headers={"HX-Request": "true"})
    with count_queries() as one:
        page = client.get("/mobile/", headers={"HX-Request": "true"}).get_data(as_text=True)
    assert "新疆乌鲁木齐党组织" in page
    for n in range(6):
        _flow_out(make_member, tree, name=f"外出多{n}")
        _flow_in(make_member, tree, name=f"流入多{n}")
    db.session.add(
        MobileContact(
            member_id=first.id,
            contacted_on=date(2026, 3, 1),
            kind="feedback",
            direction="received",
            channel="letter",
            org_name="乌鲁木齐某社区党委",
            summary="回函",
        )
    )
    db.session.commit()
    client.get("/mobile/", headers={"HX-Request": "true"})
    with count_queries() as many:
        page = client.get("/mobile/", headers={"HX-Request": "true"}).get_data(as_text=True)
    assert page.count("武威市某村党支部") == 6 and "乌鲁木齐某社区党委" in page
    assert many.count == one.count


def test_ledger_counts_follow_a_new_contact(app, clock, client, auth, tree, make_member, staff_a):
    """The book counts are kept between pages but never outlive a change."""
    member = _flow_out(make_member, tree, name="外出甲")
    auth.login(staff_a.username)

    def counts() -> dict[str, str]:
        page = client.get("/mobile/ledger").get_data(as_text=True)
        return dict(re.findall(r'class="badge ledger-count" data-book="(\w+)">(\d+)<', page))

    assert counts()["contacts"] == "0"
    assert counts()["contacts"] == "0"
    db.session.add(
        MobileContact(
            member_id=member.id,
            contacted_on=date(2026, 4, 1),
            kind="feedback",
            direction="sent",
            channel="phone",
            org_name="某党支部",
            summary="通报",
        )
    )
    db.session.commit()
    assert counts()["contacts"] == "1"


def test_ledger_reads_the_years_org_life_through_its_members(app, tree, make_member, staff_a):
    """The 二卡三簿 ledger's year of org life is found from the scope's members, not by reading
    the whole street's attendance of the year through the absences index (SQLite's plan with
    the reference-size statistics; 24 → 790 ms when it did)."""
    from app.mobile import ledger
    from tests.plans import plan, reference_statistics, statements

    if db.engine.dialect.name != "sqlite":
        pytest.skip("SQLite's query plan")
    _flow_out(make_member, tree)
    reference_statistics()
    with app.test_request_context():
        found = [
            plan(*s)
            for s in statements(lambda: ledger.counts(staff_a, 2026))
            if "org_event_attendance" in s[0]
        ]
    assert found
    assert all("ix_org_event_attendance_absent" not in p for p in found), found
