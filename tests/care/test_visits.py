"""走访慰问: the due list (SQL) agrees with the rule, a logged visit takes the occasion off,
errors land next to the field, the list is scoped and paged, the card shows the care panel."""

from __future__ import annotations

from datetime import date, datetime

import pytest

from app.care import queries
from app.care.models import CareVisit
from app.extensions import db
from app.timeutil import freeze

NOW = datetime(2026, 5, 18, 2, 0)  # 18 May 2026, Beijing time


@pytest.fixture
def clock():
    with freeze(NOW):
        yield


def _retired(make_member, tree, birth, **kw):
    return make_member(
        employment="retired",
        birth=birth,
        building=tree["building_a"],
        group=tree["group_a"],
        **kw,
    )


def test_due_list_matches_the_rule_for_every_member(app, clock, tree, make_member, staff_a):
    births = [
        date(1946, 5, 20),
        date(1946, 7, 20),
        date(1956, 5, 3),
        date(1936, 4, 20),
        date(1950, 1, 1),
    ]
    members = [_retired(make_member, tree, b) for b in births]
    assert all(m.category == "shared" for m in members)
    with app.test_request_context():
        where = queries.due_where(staff_a)
        listed = set(db.session.execute(db.select(queries.Member.id).where(*where)).scalars())
        by_rule = {
            m.id for m, due in zip(members, queries.due_for(members).values(), strict=True) if due
        }
    assert listed == by_rule == {members[0].id, members[2].id, members[3].id}


def test_logging_the_visit_removes_it_from_the_due_list(
    app, clock, client, auth, tree, make_member, staff_a
):
    member = _retired(make_member, tree, date(1946, 5, 20), name="寿星甲")
    auth.login(staff_a.username)
    page = client.get("/care/visits").get_data(as_text=True)
    assert "寿星甲" in page and "80 岁生日" in page
    form = client.get(f"/care/member/{member.id}?occasion=birthday-80").get_data(as_text=True)
    assert '<option selected value="birthday-80">' in form
    response = client.post(
        f"/care/member/{member.id}/visit",
        data={
            "csrf_token": auth.token(),
            "occasion": "birthday-80",
            "visited_on": "2026-05-18",
            "visitors": "社区党委书记",
            "unit_co_visitor": "原单位离退休办",
            "brought": "蛋糕、慰问金",
        },
    )
    assert response.status_code == 303
    visit = db.session.execute(db.select(CareVisit)).scalar_one()
    assert (visit.occasion, visit.occasion_label, visit.unit_co_visitor) == (
        "birthday-80",
        "80 岁生日",
        "原单位离退休办",
    )
    assert "寿星甲" not in client.get("/care/visits").get_data(as_text=True)
    # The same occasion cannot be logged twice; the message sits next to the field.
    again = client.post(
        f"/care/member/{member.id}/visit",
        data={
            "csrf_token": auth.token(),
            "occasion": "birthday-80",
            "visited_on": "2026-05-18",
            "visitors": "甲",
        },
    )
    assert again.status_code == 422
    assert 'id="occasion-error" role="alert">该走访事由已登记过' in again.get_data(as_text=True)


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        ({"visited_on": "2026-05-19", "visitors": "甲"}, "visited_on", "日期不能晚于今天"),
        ({"visited_on": "18/05/2026", "visitors": "甲"}, "visited_on", "请按 年-月-日 填写日期"),
        ({"visited_on": "2026-05-18", "visitors": ""}, "visitors", "请填写走访人"),
    ],
)
def test_bad_visit_input_is_shown_next_to_the_field(
    app, clock, client, auth, tree, make_member, staff_a, data, field, message
):
    member = _retired(make_member, tree, date(1950, 1, 1))
    auth.login(staff_a.username)
    response = client.post(
        f"/care/member/{member.id}/visit",
        data={"csrf_token": auth.token(), "occasion": "other", **data},
    )
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert f'id="{field}-error" role="alert">{message}' in html
    assert db.session.execute(db.select(CareVisit)).first() is None


def test_illness_event_puts_the_member_on_the_list_until_visited(
    app, clock, client, auth, tree, make_member, staff_a
):
    member = _retired(make_member, tree, date(1950, 1, 1), name="病号乙")
    auth.login(staff_a.username)
    assert "病号乙" not in client.get("/care/visits").get_data(as_text=True)
    response = client.post(
        f"/care/member/{member.id}/event",
        data={"csrf_token": auth.token(), "kind": "hospital", "occurred_on": "2026-05-10"},
    )
    assert response.status_code == 303
    listed = client.get("/care/visits").get_data(as_text=True)
    assert "病号乙" in listed and "住院探望" in listed
    event_key = queries.due_for([member])[member.id][0].key
    client.post(
        f"/care/member/{member.id}/visit",
        data={
            "csrf_token": auth.token(),
            "occasion": event_key,
            "visited_on": "2026-05-18",
            "visitors": "党小组长",
        },
    )
    assert "病号乙" not in client.get("/care/visits").get_data(as_text=True)


def test_care_plan_is_saved_audited_and_shown_on_the_card(
    app, clock, client, auth, tree, make_member, staff_a
):
    from app.audit.models import AuditEntry

    member = _retired(make_member, tree, date(1950, 1, 1), original_unit="金川公司")
    auth.login(staff_a.username)
    response = client.post(
        f"/care/member/{member.id}/plan",
        data={
            "csrf_token": auth.token(),
            "health": "limited",
            "unit_org_name": "金川公司离退休党总支",
            "unit_contact": "王老师 0935-1234567",
            "abilities": ["mediation", "security"],
        },
    )
    assert response.status_code == 303
    card = client.get(f"/members/{member.id}").get_data(as_text=True)
    assert "关怀走访（共管）" in card and "行动不便" in card and "民事调解、治安防范" in card
    actions = db.session.execute(db.select(AuditEntry.action)).scalars().all()
    assert "care_plan_save" in actions


def test_due_list_is_scoped_and_paged(
    app, clock, client, auth, tree, make_member, staff_of, grid_worker_of
):
    for n in range(55):
        _retired(make_member, tree, date(1946, 5, 10), name=f"寿星{n:02d}")
    make_member(
        employment="retired",
        birth=date(1946, 5, 10),
        name="别的网格",
        building=tree["building_b"],
        group=tree["group_b"],
    )
    worker = grid_worker_of(tree["grid_a"])
    auth.login(worker.username)
    first = client.get("/care/visits").get_data(as_text=True)
    assert "别的网格" not in first
    assert first.count('class="care-due-row"') == 50
    assert "加载更多" in first
    import re

    more = re.search(r'href="(/care/visits\?after=\d+)"', first).group(1)
    second = client.get(more, headers={"HX-Request": "true"}).get_data(as_text=True)
    assert second.count('class="care-due-row"') == 5
    assert "<html" not in second
