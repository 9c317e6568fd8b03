"""Alerts follow the management picture: the dues-behind list and the 6-month proposals count
only what is due here (dues paid at a work unit or home organization are not behind here;
a member away on a trip takes part at the destination)."""

from __future__ import annotations

from datetime import date

from sqlalchemy import select

from app.extensions import db
from app.followup import dues, lost_contact
from app.members.models import Member
from app.timeutil import local_today

LONG_AGO = date(2020, 1, 1)


def _ids(clause) -> set[int]:  # noqa: ANN001
    return set(db.session.execute(select(Member.id).where(clause)).scalars())


def _people(make_member, tree) -> dict[str, Member]:
    common = {"building": tree["building_a"], "dues_paid_until": LONG_AGO}
    return {
        "here": make_member(name="本社区", **common),
        "dual": make_member(
            name="在职",
            employment="in_service",
            relation_location="work_unit",
            work_unit="市自来水公司",
            work_unit_org="市自来水公司党委",
            **common,
        ),
        "flow_in": make_member(
            name="流入",
            mobility="flow_in",
            relation_location="elsewhere",
            relation_org_name="甘肃省某县某乡党委",
            mobility_place="甘肃省",
            mobility_since=date(2025, 1, 1),
            **common,
        ),
        "away": make_member(
            name="外出",
            mobility="flow_out",
            mobility_place="深圳",
            mobility_since=date(2024, 1, 1),
            mobility_open_ended=True,
            **common,
        ),
    }


def test_dues_paid_elsewhere_are_not_behind_here(make_member, tree):
    p = _people(make_member, tree)
    behind = _ids(dues.behind_filter(local_today(), 6))
    assert p["here"].id in behind
    assert p["away"].id in behind  # dues of a member away are still paid here
    assert p["dual"].id not in behind
    assert p["flow_in"].id not in behind


def test_six_month_proposals_count_only_what_is_due_here(make_member, tree):
    p = _people(make_member, tree)
    proposed = _ids(lost_contact.proposal_filter(local_today(), 6))
    assert p["here"].id in proposed
    assert p["dual"].id not in proposed
    assert p["flow_in"].id not in proposed
    assert p["away"].id not in proposed  # takes part at the destination


def test_the_dues_page_says_where_dues_are_paid(client, auth, staff_of, tree, make_member):
    p = _people(make_member, tree)
    auth.login(staff_of(org=tree["committee"]).username)
    html = client.get(f"/followup/dues/members/{p['dual'].id}").get_data(as_text=True)
    assert "在工作单位党组织交纳" in html
