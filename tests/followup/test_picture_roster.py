"""Rosters follow the management picture: an event's roster lists its own members and its 报到
participants (双管 and flow-in members living in its buildings); members away on a trip are listed
as 外出, not ticked and not counted absent."""

from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy import select

from app.extensions import db
from app.followup import services
from app.followup.models import OrgEvent, OrgEventAttendance
from app.timeutil import local_today


def _event(org, held_on=None) -> OrgEvent:  # noqa: ANN001
    event = OrgEvent(
        org_id=org.id, kind="party_class", held_on=held_on or local_today(), title="党课"
    )
    db.session.add(event)
    db.session.commit()
    return event


def _people(make_member, tree):  # noqa: ANN001, ANN202
    # building_a's group belongs to branch_a (tree fixture)
    return {
        "own": make_member(name="本支部", building=tree["building_a"], group=tree["group_a"]),
        "dual": make_member(
            name="在职报到",
            building=tree["building_a"],
            employment="in_service",
            relation_location="work_unit",
            work_unit_org="市自来水公司党委",
        ),
        "flow_in": make_member(
            name="流入报到",
            building=tree["building_a"],
            mobility="flow_in",
            relation_location="elsewhere",
            relation_org_name="甘肃省某县某乡党委",
            mobility_place="甘肃省",
            mobility_since=date(2025, 1, 1),
        ),
        "away": make_member(
            name="外出中",
            building=tree["building_a"],
            group=tree["group_a"],
            mobility="flow_out",
            mobility_place="深圳",
            mobility_since=local_today() - timedelta(days=60),
            mobility_open_ended=True,
        ),
    }


def test_roster_lists_participants_with_a_tag_and_members_away(
    client, auth, staff_of, tree, make_member
):
    p = _people(make_member, tree)
    user = staff_of(org=tree["committee"])
    event = _event(tree["branch_a"])
    rows = {r.id: r for r in services.event_roster(event, user)}
    assert {p["own"].id, p["dual"].id, p["flow_in"].id, p["away"].id} <= set(rows)
    assert rows[p["dual"].id].participant and rows[p["flow_in"].id].participant
    assert not rows[p["own"].id].participant
    assert rows[p["away"].id].away and not rows[p["own"].id].away

    auth.login(user.username)
    html = client.get(f"/followup/events/{event.id}").get_data(as_text=True)
    assert "报到</span>" in html and "外出</span>" in html


def test_members_away_are_not_recorded_absent(client, auth, staff_of, tree, make_member):
    p = _people(make_member, tree)
    user = staff_of(org=tree["committee"])
    event = _event(tree["branch_a"])
    auth.login(user.username)
    page = client.get(f"/followup/events/{event.id}").get_data(as_text=True)
    token = page.split('name="csrf_token" value="')[1].split('"')[0]
    members = [p["own"].id, p["dual"].id, p["flow_in"].id]
    response = client.post(
        f"/followup/events/{event.id}/attendance",
        data={
            "csrf_token": token,
            "member": members,
            "away": [p["away"].id],
            "present": [p["own"].id, p["dual"].id],
        },
    )
    assert response.status_code in (200, 303)
    recorded = dict(
        db.session.execute(
            select(OrgEventAttendance.member_id, OrgEventAttendance.status).where(
                OrgEventAttendance.event_id == event.id
            )
        ).all()
    )
    assert recorded[p["own"].id] == "present"
    assert recorded[p["dual"].id] == "present"  # attendance recorded for a participant
    assert recorded[p["flow_in"].id] == "absent"
    assert p["away"].id not in recorded  # away: not counted absent
