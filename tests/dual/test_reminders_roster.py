"""双管 reminders on the 工作台, the hub links, and the 在职党员例会 roster from the picture."""

from __future__ import annotations

from datetime import date, datetime

from app import reminders
from app.dual import queries, services
from app.extensions import db
from app.followup.models import OrgEvent
from app.followup.services import event_roster
from app.timeutil import freeze

NOW = datetime(2026, 11, 20, 2, 0)


def test_reminders_count_sheets_to_send_late_returns_and_free_places(
    app, tree, staff_of, dual_member, need
):
    a, b = dual_member("甲"), dual_member("乙")
    staff = staff_of(org=tree["committee"])
    post = need(places=2)
    last = queries.parse_period("2026H1")
    with freeze(NOW):
        assert queries.previous_period() == last
        assert queries.sheets_to_send(staff) == 2
        services.rate(a, last, "good", None)
        services.mark_sent(a, last, date(2026, 9, 1), "post")  # 80 days ago: late (30 days)
        assert queries.sheets_to_send(staff) == 1
        assert queries.sheets_not_returned(staff) == 1
        services.mark_returned(a, last, date(2026, 11, 1), None)
        assert queries.sheets_not_returned(staff) == 0
        assert queries.needs_with_free_places(staff) == 1
        services.claim(post, a)
        services.claim(post, b)
        assert queries.needs_with_free_places(staff) == 0
        db.session.commit()
        with app.test_request_context():
            found = {r.key: r for r in reminders.reminders_for(staff)}
    assert found["dual_sheets_to_send"].url == "/dual/feedback?status=pending&due=1"
    assert "dual_needs_free" not in found


def test_other_communities_staff_count_nothing(app, tree, staff_of, dual_member, need):
    from app.organization.models import Org, Place

    dual_member()
    need()
    other = Place(kind="community", name="别的社区", code="C9")
    db.session.add(other)
    db.session.flush()
    committee = Org(kind="community_committee", name="别的社区党委", place_id=other.id)
    db.session.add(committee)
    db.session.commit()
    stranger = staff_of(org=committee)
    with freeze(NOW):
        assert queries.sheets_to_send(stranger) == 0
        assert queries.needs_with_free_places(stranger) == 0


def test_dual_meeting_roster_is_the_in_service_participants(
    app, tree, dual_member, make_member, make_user
):
    m = dual_member()
    resident = make_member(name="居民党员", building=tree["building_a"], group=tree["group_a"])
    assert resident.category == "direct"
    event = OrgEvent(
        org_id=tree["branch_a"].id,
        kind="dual_meeting",
        held_on=date(2026, 11, 1),
        title="在职党员例会",
    )
    db.session.add(event)
    db.session.commit()
    admin = make_user("admin")
    names = {row.name for row in event_roster(event, admin)}
    assert names == {m.name}
    event.kind = "branch_meeting"
    assert {row.name for row in event_roster(event, admin)} >= {m.name, resident.name}
    assert event.kind_label == "支部党员大会"


def test_hub_lists_the_dual_pages(app, client, auth, tree, staff_of):
    auth.login(staff_of(org=tree["committee"]).username)
    html = client.get("/work/").get_data(as_text=True)
    section = html.split('id="work-dual"')[1].split("</section>")[0]
    for label in (
        "需求清单与服务岗位",
        "服务记录与时长确认",
        "在职党员社区表现反馈单",
        "考察党员干部听取社区意见",
        "在职党员活动情况定期通报",
    ):
        assert label in section


def test_member_card_links_the_dual_record(
    app, client, auth, tree, staff_of, dual_member, make_member
):
    m = dual_member()
    resident = make_member(name="居民党员", building=tree["building_a"], group=tree["group_a"])
    auth.login(staff_of(org=tree["committee"]).username)
    assert f"/dual/members/{m.id}" in client.get(f"/members/{m.id}").get_data(as_text=True)
    assert 'id="dual-card"' not in client.get(f"/members/{resident.id}").get_data(as_text=True)
