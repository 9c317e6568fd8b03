"""待办提醒 for the follow-up work lists (issue 12, item 17): 思想汇报逾期, 流动党员联系逾期 and
组织生活与党费预警 are counted in the user's scope and link to their lists."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest
from sqlalchemy import update

from app import reminders
from app.extensions import db
from app.members.models import Member
from app.timeutil import local_today
from tests.assignment.conftest import other  # noqa: F401
from tests.members.conftest import grid_worker_of, make_member, staff_of, tree  # noqa: F401

TODAY = local_today()
LONG_AGO = datetime(2020, 1, 1)
KEYS = ("followup_thought", "followup_contact", "followup_alert")


def _set(member: Member, **values) -> None:
    db.session.execute(update(Member.__table__).where(Member.id == member.id).values(**values))


def _three_due(make, building) -> None:  # noqa: ANN001
    """One member on each list: a silent resident, a mobile member not contacted, one in
    arrears with the dues (the last two reported their thoughts today)."""
    silent = make(building=building)
    _set(silent, created_at=LONG_AGO, last_thought_report_on=None, dues_paid_until=None)
    away = make(building=building)
    _set(
        away,
        created_at=LONG_AGO,
        last_thought_report_on=TODAY,
        mobility="flow_out",
        mobility_since=TODAY - timedelta(days=400),
        last_contact_on=None,
        dues_paid_until=None,
    )
    arrears = make(building=building)
    _set(
        arrears,
        created_at=LONG_AGO,
        last_thought_report_on=TODAY,
        dues_paid_until=date(2020, 1, 1),
    )


@pytest.fixture
def world(tree, other, make_member, staff_of, grid_worker_of):  # noqa: F811
    _three_due(make_member, tree["building_a"])
    _three_due(make_member, other["building"])
    db.session.commit()
    db.session.expire_all()
    return {
        "staff_a": staff_of(org=tree["committee"]),
        "staff_other": staff_of(place=other["community"]),
        "worker_b": grid_worker_of(tree["grid_b"]),
    }


def _counts(app, user) -> dict[str, int]:
    with app.test_request_context():
        found = {r.key: r for r in reminders.reminders_for(user)}
    return {k: found[k].count for k in KEYS if k in found}


@pytest.mark.parametrize(
    ("who", "expected"),
    [
        ("staff_a", {"followup_thought": 1, "followup_contact": 1, "followup_alert": 1}),
        ("staff_other", {"followup_thought": 1, "followup_contact": 1, "followup_alert": 1}),
        ("worker_b", {}),  # nothing due in grid B: no reminder at all
    ],
)
def test_followup_reminders_count_the_users_scope(app, world, who, expected):
    assert _counts(app, world[who]) == expected


def test_followup_reminders_link_to_their_lists(app, world):
    with app.test_request_context():
        found = {r.key: r for r in reminders.reminders_for(world["staff_a"])}
    assert found["followup_thought"].url == "/followup/thought-reports"
    assert found["followup_contact"].url == "/followup/contacts"
    assert found["followup_alert"].url == "/followup/alerts"
    assert found["followup_thought"].overdue and found["followup_contact"].overdue


def test_the_counts_do_not_grow_with_the_members(app, world, tree, make_member, count_queries):  # noqa: F811
    def cost() -> int:
        # The counts computed each time (they are kept until the data change otherwise).
        store = app.extensions.get("linli_cache", {})
        for key in [k for k in store if k[0] == "followup_list_counts"]:
            del store[key]
        with app.test_request_context(), count_queries() as counted:
            for key in KEYS:
                reminders.SOURCES[key].count(world["staff_a"])
        return counted.count

    cost()  # the scope is looked up once, then cached
    db.session.commit()  # both measures start from a fresh session
    before = cost()
    _three_due(make_member, tree["building_b"])
    db.session.commit()
    assert cost() == before
    assert _counts(app, world["staff_a"])["followup_thought"] == 2


def test_workbench_shows_the_followup_reminders(client, auth, world):
    auth.login(world["staff_a"].username)
    html = client.get("/reminders/", headers={"HX-Request": "true"}).get_data(as_text=True)
    for label, url in (
        ("思想汇报逾期", "/followup/thought-reports"),
        ("流动党员联系逾期", "/followup/contacts"),
        ("组织生活与党费预警", "/followup/alerts"),
    ):
        assert label in html and f'href="{url}"' in html


def test_the_three_lists_are_counted_in_one_query(app, world, monkeypatch):
    """The three reminders read the landing page's counts: one count for all three, kept."""
    from app.followup import work_lists
    from tests.conftest import record_calls

    calls = record_calls(monkeypatch, work_lists, "count_lists")
    with app.test_request_context():
        counts = [reminders.SOURCES[key].count(world["staff_a"]) for key in KEYS]
        again = [reminders.SOURCES[key].count(world["staff_a"]) for key in KEYS]
    assert counts == again
    assert calls == [world["staff_a"].id]
