"""结对帮扶 (pairs, visits, masking, audit, member card and building) and 争五好 (review,
appraisal evidence), and the scope of every 直管 page."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import select

from app.audit.models import AuditEntry
from app.direct import queries, services
from app.direct.models import HelpVisit
from app.errors import DomainError
from app.extensions import db
from app.timeutil import local_today
from tests.direct.conftest import login, post_id


def _pair(member, user, **kw):
    data = {
        "helped_name": "李秀英",
        "helped_phone": "13912345678",
        "building_id": member.building_id,
        "need_kind": "elderly_alone",
        "starts_on": local_today() - timedelta(days=60),
        "ends_on": None,
    }
    data.update(kw)
    return services.create_pair(member, user, data)


def test_pair_with_two_visits_shows_on_member_card_and_building(client, staff_a, resident, tree):
    pair = _pair(resident, staff_a)
    for days, text in ((40, "上门看望，帮忙买菜"), (10, "陪同到社区卫生站体检")):
        services.record_visit(
            pair,
            staff_a,
            visited_on=local_today() - timedelta(days=days),
            content=text,
            visitor="王建国",
        )
    db.session.commit()
    assert pair.last_visit_on == local_today() - timedelta(days=10)
    login(client, staff_a)
    card = client.get(f"/members/{resident.id}").get_data(as_text=True)
    assert 'id="direct-panel"' in card and "李*英" in card and "走访 2 次" in card
    assert "李秀英" not in card and "13912345678" not in card  # masked in lists
    building = client.get(f"/places/{tree['building_a'].id}").get_data(as_text=True)
    assert "李*英" in building and "走访 2 次" in building and "王建国" in building
    detail = client.get(f"/direct/pairs/{pair.id}").get_data(as_text=True)
    assert "上门看望，帮忙买菜" in detail and "陪同到社区卫生站体检" in detail
    assert "13912345678" not in detail and "139****5678" in detail


def test_pair_list_masks_and_reveal_is_audited(client, staff_a, resident):
    pair = _pair(resident, staff_a)
    db.session.commit()
    token = login(client, staff_a)
    listing = client.get("/direct/pairs").get_data(as_text=True)
    assert "李*英" in listing and "李秀英" not in listing
    response = client.post(f"/direct/pairs/{pair.id}/reveal", data={"csrf_token": token})
    assert "13912345678" in response.get_data(as_text=True)
    entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "direct_pair_reveal"))
    assert entry is not None and entry.object_id == str(pair.id)
    # The audit of the pair never holds the helped person's name or phone.
    created = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "direct_pair_create"))
    assert "李秀英" not in str(created.after) and "1391234" not in str(created.after)


def test_pair_building_must_be_in_the_members_community(staff_a, resident, other):
    with pytest.raises(DomainError) as error:
        _pair(resident, staff_a, building_id=other["building"].id)
    assert error.value.errors == {"building_id": "请选择该党员所在社区的楼栋"}


def test_member_may_have_several_pairs(staff_a, resident):
    _pair(resident, staff_a)
    _pair(resident, staff_a, helped_name="张小明", need_kind="left_behind_child")
    assert len(queries.member_pairs(resident.id)) == 2


def test_visit_rules_through_the_form(client, staff_a, resident):
    pair = _pair(resident, staff_a, starts_on=local_today() - timedelta(days=5))
    db.session.commit()
    token = login(client, staff_a)
    for day, message in (
        (local_today() + timedelta(days=1), "帮扶日期不能晚于今天"),
        (local_today() - timedelta(days=6), "帮扶日期不能早于结对开始日期"),
    ):
        response = client.post(
            f"/direct/pairs/{pair.id}/visits",
            data={
                "csrf_token": token,
                "visited_on": day.isoformat(),
                "content": "走访",
                "visitor": "王建国",
            },
        )
        assert response.status_code == 422
        html = response.get_data(as_text=True)
        assert message in html and 'id="visited_on-error"' in html
    assert db.session.scalar(select(HelpVisit.id)) is None


def test_bad_phone_of_the_helped_person_next_to_the_field(client, staff_a, resident):
    token = login(client, staff_a)
    response = client.post(
        f"/direct/members/{resident.id}/pairs",
        data={
            "csrf_token": token,
            "pair-helped_name": "李秀英",
            "pair-helped_phone": "12345",
            "pair-building_id": resident.building_id,
            "pair-need_kind": "disabled",
            "pair-starts_on": "2026-01-01",
        },
    )
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert "请填写11位手机号或带区号的固定电话" in html
    assert 'value="李秀英"' in html  # what the user typed is kept


def test_idle_pairs_reminder(staff_a, resident):
    _pair(resident, staff_a, starts_on=local_today() - timedelta(days=90))
    fresh = _pair(resident, staff_a, helped_name="赵大爷")
    services.record_visit(
        fresh, staff_a, visited_on=local_today(), content="看望", visitor="王建国"
    )
    db.session.commit()
    from flask import g

    g.pop("_scopes", None)
    assert queries.count_pairs(staff_a, "idle") == 1


def test_ending_posts_reminder(staff_a, resident):
    today = local_today()
    services.assign_post(
        resident,
        staff_a,
        post_id=post_id(resident),
        starts_on=today - timedelta(days=300),
        ends_on=today + timedelta(days=20),
        building_ids=[resident.building_id],
    )
    services.assign_post(
        resident,
        staff_a,
        post_id=post_id(resident, "党的政策宣传员"),
        starts_on=today,
        ends_on=today + timedelta(days=200),
        building_ids=[resident.building_id],
    )
    db.session.commit()
    assert queries.count_assignments(staff_a, "ending") == 1


# ---- 争五好 ---------------------------------------------------------------------------------------


def test_review_once_per_year_and_shown_in_appraisal(client, staff_a, resident, tree):
    year = local_today().year
    for assessment in ("good", "excellent"):  # saving again updates the year's review
        services.save_review(
            resident,
            staff_a,
            year=year,
            items={"good_citizen": True, "good_neighbor": True},
            assessment=assessment,
            note="热心楼道卫生",
        )
    db.session.commit()
    reviews = queries.member_reviews(resident.id)
    assert len(reviews) == 1 and reviews[0].assessment == "excellent"
    assert reviews[0].achieved == ["好公民", "好邻居"]
    login(client, staff_a)
    page = client.get(f"/followup/appraisal/branches/{tree['branch_a'].id}?year={year}")
    assert "争五好：优秀（好公民、好邻居）" in page.get_data(as_text=True)
    card = client.get(f"/members/{resident.id}").get_data(as_text=True)
    assert f"{year} 年：优秀" in card


def test_review_of_a_future_year_is_refused(staff_a, resident):
    with pytest.raises(DomainError) as error:
        services.save_review(
            resident, staff_a, year=local_today().year + 1, items={}, assessment="good", note=""
        )
    assert "year" in error.value.errors


def test_review_without_assessment_message_next_to_field(client, staff_a, resident):
    token = login(client, staff_a)
    response = client.post(
        f"/direct/members/{resident.id}/reviews",
        data={
            "csrf_token": token,
            "review-year": str(local_today().year),
            "review-good_citizen": "y",
        },
    )
    assert response.status_code == 422
    assert 'id="review-assessment-error"' in response.get_data(as_text=True)
    assert "请选择评定结果" in response.get_data(as_text=True)


# ---- scope ------------------------------------------------------------------------------------


def test_every_direct_id_route_404s_outside_the_scope(client, staff_a, foreigner):
    other_staff_pair = _pair(foreigner, staff_a)
    other_a = services.assign_post(
        foreigner,
        staff_a,
        post_id=post_id(foreigner),
        starts_on=date(2026, 1, 1),
        ends_on=None,
        building_ids=[foreigner.building_id],
    )
    db.session.commit()
    token = login(client, staff_a)
    for method, url in (
        ("GET", f"/direct/members/{foreigner.id}"),
        ("POST", f"/direct/members/{foreigner.id}/posts"),
        ("POST", f"/direct/members/{foreigner.id}/pairs"),
        ("POST", f"/direct/members/{foreigner.id}/reviews"),
        ("GET", f"/direct/assignments/{other_a.id}/card.pdf"),
        ("POST", f"/direct/assignments/{other_a.id}/end"),
        ("POST", f"/direct/assignments/{other_a.id}/decide"),
        ("GET", f"/direct/pairs/{other_staff_pair.id}"),
        ("POST", f"/direct/pairs/{other_staff_pair.id}/visits"),
        ("POST", f"/direct/pairs/{other_staff_pair.id}/reveal"),
        ("GET", f"/direct/posts/{post_id(foreigner)}"),
    ):
        data = {"csrf_token": token} if method == "POST" else None
        assert client.open(url, method=method, data=data).status_code == 404, url
    # Lists show nothing of the other community.
    assert "外社区党员" not in client.get("/direct/assignments").get_data(as_text=True)
    assert "外社区党员" not in client.get("/direct/pairs").get_data(as_text=True)
