"""Follow-up pages: events and attendance, work lists, member records, own page."""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta

from sqlalchemy import select, update

from app.extensions import db
from app.followup.models import OrgEvent, OrgEventAttendance, ThoughtReport
from app.members.models import Member
from app.timeutil import local_today
from tests.assignment.helpers import bulk_members

HX = {"HX-Request": "true"}
TODAY = local_today()


def login(auth, user):
    response = auth.login(user.username)
    assert response.status_code == 302
    return user


def test_event_create_attendance_edit_delete(client, auth, tree, staff_of, make_member):
    staff = login(auth, staff_of(org=tree["committee"]))
    m1 = make_member(name="安明", building=tree["building_a"], group=tree["group_a"])
    m2 = make_member(name="白雪", building=tree["building_a"], group=tree["group_a"])
    form = client.get("/followup/events/new").get_data(as_text=True)
    assert "第一小区党支部 › 1号楼党小组" in form and "党课" in form
    token = auth.token("/followup/events/new")
    bad = client.post(
        "/followup/events/new",
        data={
            "csrf_token": token,
            "org_id": tree["branch_a"].id,
            "kind": "party_class",
            "held_on": "2026-13-01",
            "title": "",
        },
        headers=HX,
    )
    html = bad.get_data(as_text=True)
    assert bad.status_code == 422 and "<html" not in html
    assert "请填写活动主题" in html and "请按 年-月-日 填写日期" in html
    day = TODAY - timedelta(days=3)
    ok = client.post(
        "/followup/events/new",
        data={
            "csrf_token": token,
            "org_id": tree["branch_a"].id,
            "kind": "party_class",
            "held_on": day.isoformat(),
            "title": "学习党章",
            "place": "活动室",
        },
    )
    assert ok.status_code == 303
    event = db.session.execute(select(OrgEvent)).scalar_one()
    assert ok.headers["Location"].endswith(f"/followup/events/{event.id}")
    page = client.get(f"/followup/events/{event.id}").get_data(as_text=True)
    # Not recorded yet: everyone ticked present by default.
    assert page.count('name="present"') == 2 and page.count(" checked") == 2
    response = client.post(
        f"/followup/events/{event.id}/attendance",
        data={"csrf_token": token, "member": [m1.id, m2.id], "present": [m1.id]},
        headers=HX,
    )
    assert response.status_code == 200 and response.headers["HX-Redirect"].endswith(
        f"/followup/events/{event.id}"
    )
    statuses = dict(
        db.session.execute(select(OrgEventAttendance.member_id, OrgEventAttendance.status)).all()
    )
    assert statuses == {m1.id: "present", m2.id: "absent"}
    db.session.expire_all()
    assert db.session.get(Member, m1.id).last_org_life_on == day
    page = client.get(f"/followup/events/{event.id}").get_data(as_text=True)
    assert "出席 1 · 缺席 1 · 请假 0" in page
    # A member of another branch cannot be slipped in.
    other = make_member(building=tree["building_b"], group=tree["group_b"])
    refused = client.post(
        f"/followup/events/{event.id}/attendance",
        data={"csrf_token": token, "member": [other.id], "present": [other.id]},
        headers=HX,
    )
    assert refused.status_code == 422 and "请刷新页面" in refused.get_data(as_text=True)
    edit = client.post(
        f"/followup/events/{event.id}/edit",
        data={
            "csrf_token": token,
            "org_id": tree["branch_a"].id,
            "kind": "party_class",
            "held_on": day.isoformat(),
            "title": "学习新党章",
            "version": "999",
        },
    )
    assert edit.status_code == 409 and "已被他人修改" in edit.get_data(as_text=True)
    events = client.get("/followup/events").get_data(as_text=True)
    assert "学习党章" in events and "1 / 2" in events
    deleted = client.post(f"/followup/events/{event.id}/delete", data={"csrf_token": token})
    assert deleted.status_code == 303
    assert db.session.execute(select(OrgEvent)).first() is None
    db.session.expire_all()
    assert db.session.get(Member, m1.id).last_org_life_on is None
    assert staff is not None


def test_events_outside_the_scope_answer_404(client, auth, tree, staff_of):
    event = OrgEvent(org_id=tree["branch_b"].id, kind="party_class", held_on=TODAY, title="x")
    db.session.add(event)
    db.session.commit()
    login(auth, staff_of(org=tree["branch_a"]))
    for path in (f"/followup/events/{event.id}", f"/followup/events/{event.id}/edit"):
        assert client.get(path).status_code == 404
    token = auth.token("/followup/")
    response = client.post(f"/followup/events/{event.id}/delete", data={"csrf_token": token})
    assert response.status_code == 404
    assert (
        "x"
        not in client.get("/followup/events")
        .get_data(as_text=True)
        .split('<tbody class="page-rows">')[1]
    )


def test_overdue_list_is_masked_paged_and_links_to_the_card(
    client, auth, tree, staff_of, count_queries
):
    login(auth, staff_of(place=tree["community"]))
    ids = bulk_members(60, tree)
    db.session.execute(
        update(Member.__table__)
        .where(Member.id.in_(ids))
        .values(created_at=datetime(2020, 1, 1), phone="13912345678")
    )
    db.session.commit()
    client.get("/followup/thought-reports")  # warm the scope caches
    with count_queries() as counter:
        first = client.get("/followup/thought-reports", headers=HX)
    html = first.get_data(as_text=True)
    assert first.status_code == 200 and "<html" not in html
    assert html.count('href="/members/') == 50
    assert "139****5678" in html and "13912345678" not in html
    assert counter.count <= 8, counter.count
    assert first.headers["Cache-Control"].startswith("no-store")
    more = re.search(r'hx-get="([^"]*after=\d+[^"]*)"', html).group(1).replace("&amp;", "&")
    rest = client.get(more, headers=HX).get_data(as_text=True)
    assert rest.count('href="/members/') == 10 and "加载更多" not in rest
    filtered = client.get(f"/followup/thought-reports?grid={tree['grid_b'].id}")
    assert "没有需要跟进的党员" in filtered.get_data(as_text=True)
    landing = client.get("/followup/").get_data(as_text=True)
    assert re.search(r"思想汇报逾期</span><strong class=\"stat-value\">60<", landing)


def test_staff_record_report_and_contact(client, auth, tree, staff_of, make_member):
    login(auth, staff_of(place=tree["community"]))
    m = make_member(building=tree["building_a"])
    token = auth.token(f"/followup/members/{m.id}")
    bad = client.post(
        f"/followup/members/{m.id}/thought-reports",
        data={"csrf_token": token, "period": "2026-11", "summary": ""},
        headers=HX,
    )
    assert bad.status_code == 422 and "请填写思想汇报内容或摘要" in bad.get_data(as_text=True)
    ok = client.post(
        f"/followup/members/{m.id}/thought-reports",
        data={
            "csrf_token": token,
            "period": TODAY.strftime("%Y-%m"),
            "submitted_on": TODAY.isoformat(),
            "summary": "书面汇报，学习体会",
        },
    )
    assert ok.status_code == 303
    contact = client.post(
        f"/followup/members/{m.id}/contacts",
        data={
            "csrf_token": token,
            "contacted_on": TODAY.isoformat(),
            "method": "visit",
            "summary": "上门走访",
        },
    )
    assert contact.status_code == 303
    page = client.get(f"/followup/members/{m.id}").get_data(as_text=True)
    assert "书面汇报，学习体会" in page and "上门走访" in page and "工作人员录入" in page
    db.session.expire_all()
    member = db.session.get(Member, m.id)
    assert member.last_thought_report_on == TODAY and member.last_contact_on == TODAY


def test_member_submits_own_report(client, auth, tree, make_member, make_user):
    m = make_member(building=tree["building_a"])
    user = make_user("member", member_id=m.id)
    login(auth, user)
    page = client.get("/followup/mine").get_data(as_text=True)
    assert "提交思想汇报" in page and "3 个月" in page
    token = auth.token("/followup/mine")
    bad = client.post("/followup/mine", data={"csrf_token": token, "period": "x", "summary": ""})
    assert bad.status_code == 422 and "请按 年-月 填写" in bad.get_data(as_text=True)
    ok = client.post(
        "/followup/mine",
        data={"csrf_token": token, "period": TODAY.strftime("%Y-%m"), "summary": "近期学习体会"},
    )
    assert ok.status_code == 303
    report = db.session.execute(select(ThoughtReport)).scalar_one()
    assert report.source == "member" and report.member_id == m.id
    assert report.period == date(TODAY.year, TODAY.month, 1)
    assert "近期学习体会" in client.get("/followup/mine").get_data(as_text=True)


def test_alert_page_says_why(client, auth, tree, staff_of, make_member):
    login(auth, staff_of(place=tree["community"]))
    m = make_member(building=tree["building_a"])
    db.session.execute(
        update(Member.__table__).where(Member.id == m.id).values(dues_paid_until=date(2020, 1, 1))
    )
    db.session.commit()
    html = client.get("/followup/alerts").get_data(as_text=True)
    assert m.name in html and "党费交至 2020年01月" in html
    assert "系统只作提醒" in html


def test_report_form_shows_every_message_at_once(client, auth, tree, staff_of, make_member):
    login(auth, staff_of(place=tree["community"]))
    m = make_member(building=tree["building_a"])
    token = auth.token(f"/followup/members/{m.id}")
    future = (TODAY + timedelta(days=40)).strftime("%Y-%m")
    bad = client.post(
        f"/followup/members/{m.id}/thought-reports",
        data={"csrf_token": token, "period": future, "submitted_on": "not a date", "summary": ""},
        headers=HX,
    )
    html = bad.get_data(as_text=True)
    assert bad.status_code == 422
    assert "所属月份不能晚于本月" in html and "请填写思想汇报内容或摘要" in html
    assert "请按 年-月-日 填写日期" in html
    assert 'value="' + future + '"' in html  # input kept
    assert db.session.execute(select(ThoughtReport)).first() is None
