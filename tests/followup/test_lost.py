"""失联党员: proposals, opening a case (status + history), attempts, stages, closing, the
hidden-duration counts, suspension flags, scope."""

from __future__ import annotations

import re
from datetime import date, timedelta

import pytest
from sqlalchemy import select

from app.audit.models import AuditEntry
from app.extensions import db
from app.followup import lost_contact
from app.followup.models import LostContactAttempt, LostContactCase
from app.members.models import Member, MemberHistory
from app.timeutil import local_today

HX = {"HX-Request": "true"}


@pytest.fixture
def staff(auth, staff_of, tree):
    user = staff_of(org=tree["committee"])
    assert auth.login(user.username).status_code == 302
    return user


def _actions():
    return [a for (a,) in db.session.execute(select(AuditEntry.action).order_by(AuditEntry.id))]


def _case(member, kind="roster", since=date(2024, 1, 1), stage="survey", **kw):
    c = LostContactCase(
        member_id=member.id,
        kind=kind,
        since=since,
        stage=stage,
        opened_on=kw.pop("opened_on", date(2025, 1, 1)),
        **kw,
    )
    db.session.add(c)
    db.session.commit()
    return c


def test_proposals_list_no_org_life_and_no_dues(client, staff, tree, make_member):
    today = local_today()
    quiet = make_member(name="久未联系", building=tree["building_a"])
    active = make_member(name="按时参加", building=tree["building_a"])
    active.last_org_life_on = today - timedelta(days=20)
    paying = make_member(name="按时交费", building=tree["building_a"])
    paying.dues_paid_until = today.replace(day=1)
    followed = make_member(name="已登记", building=tree["building_a"])
    db.session.commit()
    _case(followed)
    html = client.get("/followup/lost/proposals").get_data(as_text=True)
    assert ">久未联系<" in html
    for name in ("按时参加", "按时交费", "已登记"):
        assert f">{name}<" not in html
    assert f"/followup/lost/open/{quiet.id}" in html
    assert "连续 6 个月" in html  # the alert_absent_months setting
    lost_page = client.get("/followup/lost").get_data(as_text=True)
    assert "/followup/lost/proposals/count" in lost_page
    assert client.get("/followup/lost/proposals/count", headers=HX).get_data(as_text=True) == "1"


def test_open_case_sets_status_with_history_and_audit(client, auth, staff, tree, make_member):
    m = make_member(name="花名册党员", building=tree["building_a"])
    page = client.get(f"/followup/lost/open/{m.id}")
    assert page.status_code == 200 and "登记为失联党员" in page.get_data(as_text=True)
    token = auth.token(f"/followup/lost/open/{m.id}")
    bad = client.post(
        f"/followup/lost/open/{m.id}",
        data={"csrf_token": token, "kind": "roster", "reason": "other", "since": "2999-01-01"},
        headers=HX,
    )
    html = bad.get_data(as_text=True)
    assert bad.status_code == 422 and "<html" not in html
    assert "不能晚于今天" in html and "请填写此项" in html
    assert 'selected value="roster"' in html  # the choice is kept
    response = client.post(
        f"/followup/lost/open/{m.id}",
        data={
            "csrf_token": token,
            "kind": "roster",
            "reason": "migrant_work",
            "since": "2024-03-01",
        },
    )
    assert response.status_code == 303
    case = db.session.execute(select(LostContactCase)).scalar_one()
    assert response.headers["Location"].endswith(f"/followup/lost/{case.id}")
    assert (case.kind, case.reason, case.stage, case.since) == (
        "roster",
        "migrant_work",
        "survey",
        date(2024, 3, 1),
    )
    db.session.expire_all()
    assert db.session.get(Member, m.id).status == "lost_contact"
    history = db.session.execute(
        select(MemberHistory).where(
            MemberHistory.member_id == m.id, MemberHistory.aspect == "status"
        )
    ).scalars()
    assert [h.value["status"] for h in history][-1] == "lost_contact"
    assert "lost_contact_open" in _actions()
    # A second case for the same member is refused; the GET form leads to the open case.
    again = client.get(f"/followup/lost/open/{m.id}")
    assert again.status_code == 302 and again.headers["Location"].endswith(f"/lost/{case.id}")
    dup = client.post(
        f"/followup/lost/open/{m.id}",
        data={"csrf_token": token, "kind": "hidden", "reason": "moved", "since": "2024-03-01"},
    )
    assert dup.status_code == 422 and "已有未结案" in dup.get_data(as_text=True)


def test_attempts_stages_and_close(client, auth, staff, tree, make_member):
    m = make_member(name="口袋党员", building=tree["building_a"])
    m.status = "lost_contact"
    db.session.commit()
    case = _case(m, kind="pocket", since=local_today() - timedelta(days=800))
    url = f"/followup/lost/{case.id}"
    html = client.get(url).get_data(as_text=True)
    assert "失联超过 2 年" in html and "问：走访询问" in html and "查：向有关部门查询" in html
    token = auth.token(url)
    bad = client.post(
        url + "/attempts",
        data={"csrf_token": token, "method": "bogus", "attempted_on": "", "summary": "x"},
        headers=HX,
    )
    assert bad.status_code == 422
    assert "请选择查找方式" in bad.get_data(as_text=True)
    assert "请填写查找日期" in bad.get_data(as_text=True)
    ok = client.post(
        url + "/attempts",
        data={
            "csrf_token": token,
            "method": "find",
            "attempted_on": local_today().isoformat(),
            "summary": "联系其姐姐，得知在深圳务工",
        },
    )
    assert ok.status_code == 303
    attempt = db.session.execute(select(LostContactAttempt)).scalar_one()
    assert attempt.method == "find" and attempt.case_id == case.id
    assert "联系其姐姐" in client.get(url).get_data(as_text=True)

    db.session.refresh(case)
    moved = client.post(
        url + "/stage",
        data={
            "csrf_token": token,
            "stage": "verify",
            "suspended_on": "2026-01-10",
            "version": case.version,
        },
    )
    assert moved.status_code == 303
    db.session.refresh(case)
    assert case.stage == "verify" and case.suspended_on == date(2026, 1, 10)
    html = client.get(url).get_data(as_text=True)
    assert "恢复期限至 2028-01-10" in html
    stale = client.post(
        url + "/stage",
        data={"csrf_token": token, "stage": "survey", "version": case.version - 1},
        headers=HX,
    )
    html = stale.get_data(as_text=True)
    assert stale.status_code == 409 and "<html" not in html
    assert "该失联登记已被他人修改，请刷新页面后重新操作" in html
    stale = client.post(
        url + "/close",
        data={
            "csrf_token": token,
            "outcome": "restored",
            "closed_on": local_today().isoformat(),
            "version": case.version - 1,
        },
        headers=HX,
    )
    assert stale.status_code == 409
    assert "该失联登记已被他人修改，请刷新页面后重新操作" in stale.get_data(as_text=True)
    db.session.refresh(case)
    assert case.stage == "verify"  # nothing changed

    closed = client.post(
        url + "/close",
        data={
            "csrf_token": token,
            "outcome": "restored",
            "closed_on": local_today().isoformat(),
            "version": case.version,
        },
    )
    assert closed.status_code == 303
    db.session.expire_all()
    case = db.session.get(LostContactCase, case.id)
    assert case.stage == "closed" and case.outcome == "restored"
    assert db.session.get(Member, m.id).status == "active"
    for action in ("lost_contact_attempt", "lost_contact_stage", "lost_contact_close"):
        assert action in _actions()
    # A closed case takes no more attempts.
    after = client.post(
        url + "/attempts",
        data={"csrf_token": token, "method": "ask", "attempted_on": "2026-01-01", "summary": "x"},
    )
    assert after.status_code == 422


def test_close_needs_outcome(client, auth, staff, tree, make_member):
    m = make_member(building=tree["building_a"])
    case = _case(m)
    token = auth.token(f"/followup/lost/{case.id}")
    response = client.post(
        f"/followup/lost/{case.id}/close",
        data={"csrf_token": token, "outcome": "", "closed_on": "", "version": case.version},
        headers=HX,
    )
    html = response.get_data(as_text=True)
    assert response.status_code == 422 and "请选择结果" in html and "请填写验收日期" in html


def test_list_counts_hidden_over_one_and_two_years(client, staff, tree, make_member):
    today = local_today()
    specs = [
        ("parked", today - timedelta(days=100)),
        ("parked", lost_contact.add_years(today, -1) - timedelta(days=1)),
        ("parked", lost_contact.add_years(today, -2) - timedelta(days=1)),
        ("hidden", lost_contact.add_years(today, -1)),  # exactly one year: not "more than"
    ]
    for n, (kind, since) in enumerate(specs):
        _case(make_member(name=f"失联{n}", building=tree["building_a"]), kind=kind, since=since)
    closed = make_member(name="已结案", building=tree["building_a"])
    _case(closed, kind="parked", since=date(2020, 1, 1), stage="closed", outcome="restored")
    counts = lost_contact.counts_by_kind(db.true(), today)
    assert counts["parked"]["open"] == 3
    assert (counts["parked"]["over1"], counts["parked"]["over2"]) == (2, 1)
    assert (counts["parked"]["share1"], counts["parked"]["share2"]) == ("67%", "33%")
    assert counts["hidden"]["over1"] == 0
    assert counts["total"]["open"] == 4
    html = client.get("/followup/lost").get_data(as_text=True)
    assert "空挂党员" in html and "67%" in html
    assert ">已结案<" not in html  # open cases by default
    closed_list = client.get("/followup/lost?stage=closed").get_data(as_text=True)
    assert ">已结案<" in closed_list and ">失联0<" not in closed_list
    parked = client.get("/followup/lost?kind=hidden", headers=HX).get_data(as_text=True)
    assert ">失联3<" in parked and ">失联0<" not in parked


def test_list_keyset_paging(client, staff, tree, make_member):
    base = date(2020, 1, 1)
    for n in range(52):
        m = make_member(name=f"名{n:02d}", building=tree["building_a"], commit=False)
        db.session.flush()
        db.session.add(
            LostContactCase(
                member_id=m.id,
                kind="roster",
                since=base + timedelta(days=n),
                opened_on=date(2025, 1, 1),
            )
        )
    db.session.commit()
    first = client.get("/followup/lost", headers=HX).get_data(as_text=True)
    assert first.count("/followup/lost/") >= 50
    more = re.search(r'hx-get="([^"]*after=\d+[^"]*)"', first).group(1).replace("&amp;", "&")
    rest = client.get(more, headers=HX).get_data(as_text=True)
    assert ">名50<" in rest and ">名51<" in rest and ">名00<" not in rest


def test_scope(client, auth, staff_of, tree, make_member):
    inside = make_member(name="甲", building=tree["building_a"])
    outside = make_member(name="乙", building=tree["building_b"])
    case_in, case_out = _case(inside), _case(outside)
    user = staff_of(place=tree["grid_a"])
    auth.login(user.username)
    assert client.get(f"/followup/lost/{case_out.id}").status_code == 404
    assert client.get(f"/followup/lost/open/{outside.id}").status_code == 404
    token = auth.token(f"/followup/lost/{case_in.id}")
    response = client.post(
        f"/followup/lost/{case_out.id}/attempts",
        data={"csrf_token": token, "method": "ask", "attempted_on": "2026-01-01", "summary": "x"},
    )
    assert response.status_code == 404
    html = client.get("/followup/lost").get_data(as_text=True)
    assert f"/followup/lost/{case_in.id}" in html and f"/followup/lost/{case_out.id}" not in html
