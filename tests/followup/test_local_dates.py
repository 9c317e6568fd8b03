"""Local days: a timestamp stored in UTC falls on the Asia/Shanghai day, with the clock frozen
at 23:30 UTC (07:30 the next morning in Beijing)."""

from __future__ import annotations

from datetime import date, datetime

import pytest
from sqlalchemy import select, update

from app.extensions import db
from app.followup.models import ThoughtReport
from app.members.models import Member
from app.timeutil import freeze

FROZEN = datetime(2026, 12, 3, 23, 30)  # 2026-12-04 07:30 in Asia/Shanghai
LOCAL_DAY = date(2026, 12, 4)


@pytest.fixture
def frozen():
    with freeze(FROZEN):
        yield FROZEN


def _login(auth, user):  # noqa: ANN001, ANN202
    assert auth.login(user.username).status_code == 302
    return user


def test_a_report_submitted_today_is_dated_the_local_day(
    frozen, client, auth, tree, make_member, make_user
):
    m = make_member(building=tree["building_a"])
    _login(auth, make_user("member", member_id=m.id))
    token = auth.token("/followup/mine")
    ok = client.post(
        "/followup/mine", data={"csrf_token": token, "period": "2026-12", "summary": "学习体会"}
    )
    assert ok.status_code == 303
    report = db.session.execute(select(ThoughtReport)).scalar_one()
    assert report.submitted_on == LOCAL_DAY  # not 2026-12-03, the UTC day
    assert db.session.get(Member, m.id).last_thought_report_on == LOCAL_DAY


def test_staff_report_without_a_date_is_dated_the_local_day(
    frozen, client, auth, tree, staff_of, make_member
):
    _login(auth, staff_of(place=tree["community"]))
    m = make_member(building=tree["building_a"])
    token = auth.token(f"/followup/members/{m.id}")
    ok = client.post(
        f"/followup/members/{m.id}/thought-reports",
        data={"csrf_token": token, "period": "2026-12", "submitted_on": "", "summary": "谈心"},
    )
    assert ok.status_code == 303
    assert db.session.execute(select(ThoughtReport.submitted_on)).scalar_one() == LOCAL_DAY


def test_arrival_on_the_roster_counts_from_the_local_day(
    frozen, client, auth, tree, staff_of, make_member
):
    """Entered at 04:00 Beijing time on 4 September (20:00 UTC on the 3rd): the first report
    is due three months after 4 September — today, so not overdue yet, on the list and the
    member's page alike."""
    _login(auth, staff_of(place=tree["community"]))
    m = make_member(name="九月新到", building=tree["building_a"])
    db.session.execute(
        update(Member.__table__)
        .where(Member.id == m.id)
        .values(created_at=datetime(2026, 9, 3, 20, 0))
    )
    db.session.commit()
    page = client.get(f"/followup/members/{m.id}").get_data(as_text=True)
    assert "2026-12-04" in page and "（已逾期）" not in page
    assert "九月新到" not in client.get("/followup/thought-reports").get_data(as_text=True)
    # One minute before local midnight is the day before: overdue on both.
    db.session.execute(
        update(Member.__table__)
        .where(Member.id == m.id)
        .values(created_at=datetime(2026, 9, 3, 15, 59))
    )
    db.session.commit()
    page = client.get(f"/followup/members/{m.id}").get_data(as_text=True)
    assert "2026-12-03" in page and "（已逾期）" in page
    assert "九月新到" in client.get("/followup/thought-reports").get_data(as_text=True)
