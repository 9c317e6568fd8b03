"""The management picture (SPEC §6a), table-driven: for each category × relation location ×
mobility state × certificate state, where the relation is held (所属), where the member takes
part (所在), where dues are paid and who is responsible for contact."""

from __future__ import annotations

from datetime import date

import pytest

from app.members.management import Facts, Liaison, derive
from app.members.rules import ClassificationFacts, classify

TODAY = date(2026, 6, 15)
LIAISON = Liaison("user", 7, "王网格", "13800000000")


def facts(category, relation="community", mobility="none", card=None, **kw) -> Facts:
    trips = {
        "none": {},
        "planned": {
            "mobility_since": date(2026, 7, 1),
            "mobility_expected_return": date(2027, 3, 1),
        },
        "away": {
            "mobility_since": date(2026, 1, 10),
            "mobility_expected_return": date(2026, 12, 1),
        },
        "in": {"mobility_since": date(2025, 9, 1)},
    }
    return Facts(
        category=category,
        status="active",
        relation_location=relation,
        relation_org_name="甘肃省某县某乡党委"
        if relation in ("elsewhere", "original_unit")
        else None,
        work_unit="市自来水公司" if relation == "work_unit" else None,
        work_unit_org="市自来水公司党委" if relation == "work_unit" else None,
        original_unit=None,
        mobility={"planned": "flow_out", "away": "flow_out", "in": "flow_in"}.get(mobility, "none"),
        mobility_place="深圳市南山区" if mobility in ("planned", "away") else None,
        mobility_occupation=None,
        branch_name="第一支部" if relation == "community" else None,
        group_name="3号楼党小组" if relation == "community" else None,
        building_group_name="3号楼党小组",
        liaison=LIAISON if mobility != "none" else None,
        certificate_number=card,
        **{
            "mobility_since": None,
            "mobility_expected_return": None,
            "mobility_open_ended": False,
            **trips[mobility],
            **kw,
        },
    )


# (category, relation, mobility, card) → (所属, 所在, dues, contact starts with)
CASES = [
    ("direct", "community", "none", None, "branch", "own", "here", "党小组长、网格员"),
    ("direct", "community", "planned", None, "branch", "own", "here", "联络人：王网格"),
    ("direct", "community", "away", None, "branch", "destination", "here", "联络人：王网格"),
    ("dual", "work_unit", "none", None, "work_unit", "participant", "work_unit", "3号楼党小组"),
    ("dual", "work_unit", "away", None, "work_unit", "destination", "work_unit", "联络人"),
    ("shared", "community", "none", None, "branch", "own", "here", "党小组长；关心走访"),
    ("shared", "original_unit", "none", None, "former_unit", "own", "former_unit", "党小组长"),
    ("takeover", "community", "none", None, "branch", "own", "here", "所在支部：第一支部"),
    (
        "coordinated",
        "community",
        "away",
        "甘金川2026-0001",
        "branch",
        "destination",
        "here",
        "联络人",
    ),
    ("coordinated", "community", "planned", "甘金川2026-0002", "branch", "own", "here", "联络人"),
    ("coordinated", "elsewhere", "in", None, "home_org", "participant", "home_org", "联络人"),
    ("coordinated", "elsewhere", "none", None, "home_org", "participant", "home_org", "联络人"),
]


@pytest.mark.parametrize(
    ("category", "relation", "mobility", "card", "held", "part", "dues", "contact"), CASES
)
def test_picture_table(category, relation, mobility, card, held, part, dues, contact):
    picture = derive(facts(category, relation, mobility, card), TODAY)
    assert picture.relation == held
    assert picture.takes_part == part
    assert picture.dues == dues
    assert picture.contact_text.startswith(contact)
    assert picture.away == (mobility == "away")
    if card and mobility == "away":
        assert card in picture.takes_part_text
    if picture.trip is not None:
        assert picture.contact_every_months == 3


def test_every_category_has_duties():
    for category in ("direct", "dual", "shared", "takeover", "coordinated"):
        assert derive(facts(category), TODAY).duties


def test_planned_trip_is_shown_as_planned_and_not_away():
    picture = derive(facts("direct", mobility="planned"), TODAY)
    assert picture.trip.state_label == "计划外出"
    assert not picture.away


def test_open_ended_trip_says_so():
    picture = derive(
        facts(
            "coordinated", mobility="away", mobility_expected_return=None, mobility_open_ended=True
        ),
        TODAY,
    )
    assert picture.trip.return_label == "长期外出（返回时间不定）"


def _classify(**kw) -> str:
    base = {
        "employment": "resident",
        "relation_location": "community",
        "mobility": "flow_out",
        "mobility_since": date(2026, 4, 15),
        "mobility_expected_return": None,
    }
    return classify(ClassificationFacts.of({**base, **kw}), TODAY, 6)


def test_a_planned_trip_does_not_change_the_category_before_it_starts():
    assert (
        _classify(mobility_since=date(2026, 7, 1), mobility_expected_return=date(2027, 7, 1))
        == "direct"
    )
    # on its start date it takes effect
    assert (
        classify(
            ClassificationFacts.of(
                {
                    "mobility": "flow_out",
                    "mobility_since": date(2026, 7, 1),
                    "mobility_expected_return": date(2027, 7, 1),
                }
            ),
            date(2026, 7, 1),
            6,
        )
        == "coordinated"
    )


def test_an_open_ended_trip_is_long_term_once_begun():
    assert _classify() == "direct"  # two months, no planned return: not yet 6 months
    assert _classify(mobility_open_ended=True) == "coordinated"


def test_ending_a_trip_with_a_card_still_out_says_so(client, auth, staff_of, tree, make_member):
    from datetime import timedelta

    from app.certificates import services as certs
    from app.extensions import db as _db
    from app.timeutil import local_today

    liaison = make_member(name="联络员", building=tree["building_a"], group=tree["group_a"])
    member = make_member(
        name="外出归来",
        building=tree["building_a"],
        group=tree["group_a"],
        mobility="flow_out",
        mobility_place="深圳",
        mobility_since=local_today() - timedelta(days=30),
        mobility_open_ended=True,
        liaison_member_id=liaison.id,
    )
    certs.issue_certificate(member, certs.prefill(member), None)
    _db.session.commit()
    user = staff_of(org=tree["committee"])
    auth.login(user.username)
    token = auth.token(f"/members/{member.id}/edit")
    response = client.post(
        f"/members/{member.id}/edit",
        data={
            "csrf_token": token,
            "version": str(member.version),
            "name": member.name,
            "mobility": "none",
            "relation_location": "community",
            "employment": "resident",
            "member_type": "formal",
            "status": "active",
            "joined_on": member.joined_on.isoformat(),
            "ethnicity": "汉族",
        },
        follow_redirects=True,
    )
    html = response.get_data(as_text=True)
    assert "仍持有有效的流动党员活动证" in html


def test_a_branch_without_groups_is_not_a_missing_group():
    from dataclasses import replace

    joint = replace(facts("direct"), group_name=None, branch_has_groups=False)
    assert "支部不设党小组" in derive(joint, TODAY).takes_part_text
    missing = replace(facts("direct"), group_name=None)
    assert "尚未编入党小组" in derive(missing, TODAY).takes_part_text
