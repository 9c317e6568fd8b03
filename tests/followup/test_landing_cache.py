"""The follow-up landing counts are kept until the data change (a whole street takes a few
hundred ms to count): a repeat does not count again, and any change is counted at once."""

from __future__ import annotations

import re
from datetime import timedelta

from sqlalchemy import update

from app.extensions import db
from app.followup import work_lists
from app.members.models import Member
from app.timeutil import local_today
from tests.conftest import record_calls


def thought_count(html: str) -> int:
    return int(re.search(r'思想汇报逾期</span><strong class="stat-value">(\d+)<', html).group(1))


def test_landing_counts_are_kept_until_the_data_change(
    client, auth, tree, staff_of, make_member, monkeypatch
):
    auth.login(staff_of(place=tree["community"]).username)
    long_ago = local_today() - timedelta(days=800)
    members = [make_member(building=tree["building_a"]) for _ in range(3)]
    db.session.execute(
        update(Member)
        .where(Member.id.in_([m.id for m in members]))
        .values(last_thought_report_on=long_ago, created_at=long_ago)
    )
    db.session.commit()
    computed = record_calls(monkeypatch, work_lists, "count_lists")
    assert thought_count(client.get("/followup/").get_data(as_text=True)) == 3
    assert thought_count(client.get("/followup/").get_data(as_text=True)) == 3
    assert len(computed) == 1
    # A report arrives: the next landing counts again.
    db.session.execute(
        update(Member)
        .where(Member.id == members[0].id)
        .values(last_thought_report_on=local_today())
    )
    db.session.commit()
    assert thought_count(client.get("/followup/").get_data(as_text=True)) == 2
    assert len(computed) == 2
