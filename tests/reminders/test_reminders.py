"""待办提醒: counts per scope from every feature's source, on the 工作台 and as a daily digest."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import select

from app import reminders
from app.audit.models import AuditEntry
from app.extensions import db
from app.organization.models import Place
from app.timeutil import local_today
from tests.certificates.conftest import away, issue  # noqa: F401
from tests.members.conftest import make_member, staff_of, tree  # noqa: F401

TODAY = local_today()


@pytest.fixture
def world(tree, make_member, staff_of, issue, away):  # noqa: F811
    """Community A (the tree) with an overdue certificate check and an unplaced member;
    community B with the same, out of A's staff's scope."""
    cert = issue(away)
    cert.next_verification_due = TODAY - timedelta(days=3)
    make_member(name="未分配甲", community_id=tree["community"].id)
    other = Place(kind="community", name="别的社区", code="C9")
    db.session.add(other)
    db.session.flush()
    make_member(name="未分配乙", community_id=other.id)
    db.session.commit()
    staff_a = staff_of(org=tree["committee"])
    return {"staff_a": staff_a, "cert": cert, "other": other}


def _by_key(items):
    return {r.key: r for r in items}


def test_staff_see_their_scope_only(app, world):
    with app.test_request_context():
        mine = _by_key(reminders.reminders_for(world["staff_a"]))
    assert mine["certificates_overdue"].count == 1
    assert mine["certificates_overdue"].overdue
    assert mine["certificates_overdue"].url == "/certificates/?due=overdue"
    # the unplaced member of community B is not counted for A's staff
    assert mine["unassigned"].count == 2  # 张晓明 has no liaison; 未分配甲 has no building
    assert list(mine)[0] == "certificates_overdue"  # overdue first
    assert "registrations" not in mine  # nothing waiting: not listed


def test_home_loads_the_panel(client, auth, world):
    auth.login(world["staff_a"].username)
    home = client.get("/home").get_data(as_text=True)
    assert 'hx-get="/reminders/"' in home
    panel = client.get("/reminders/", headers={"HX-Request": "true"})
    html = panel.get_data(as_text=True)
    assert "<html" not in html
    assert "活动证查验已逾期" in html and "/certificates/?due=overdue" in html
    assert "reminder-overdue" in html


def test_the_panels_counts_are_kept_until_a_change(
    client,
    auth,
    world,
    tree,  # noqa: F811
    make_member,  # noqa: F811
    count_queries,
):
    """The 工作台 panel counts once per user, day and data version: a second visit runs no
    counting query, and a change to the data shows at the next visit."""
    auth.login(world["staff_a"].username)
    hx = {"HX-Request": "true"}

    def unassigned(html: str) -> int:
        found = re.search(r"待分配的党员[^<]*</span><strong class=\"reminder-count\">(\d+)<", html)
        assert found, html
        return int(found.group(1))

    before = unassigned(client.get("/reminders/", headers=hx).get_data(as_text=True))
    with count_queries() as again:
        assert unassigned(client.get("/reminders/", headers=hx).get_data(as_text=True)) == before
    assert again.count == 0
    make_member(name="未分配丙", community_id=tree["community"].id)
    db.session.commit()
    with count_queries() as changed:
        after = unassigned(client.get("/reminders/", headers=hx).get_data(as_text=True))
    assert changed.count > 0 and after == before + 1


def test_daily_digest_log_sender(app, runner, world, monkeypatch):
    result = runner.invoke(args=["reminders", "send", "--dry-run"])
    assert world["staff_a"].username in result.output
    assert "活动证查验已逾期（已逾期）：1 项" in result.output
    assert "张晓明" not in result.output  # counts and links only, no personal data
    logged = []
    monkeypatch.setattr(reminders.log, "info", lambda *args: logged.append(args[0] % args[1:]))
    result = runner.invoke(args=["reminders", "send"])
    assert "已发送" in result.output, result.output
    assert any(world["staff_a"].username in line for line in logged)
    entry = db.session.execute(
        select(AuditEntry).where(AuditEntry.action == "reminder_send")
    ).scalar_one()
    assert entry.after["sent"] >= 1


def test_webhook_sender_posts_json(app, runner, world, monkeypatch):
    posted = []

    class Answer:
        status = 200

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            return False

    def fake_urlopen(request, timeout):
        import json

        posted.append((request.full_url, json.loads(request.data)))
        return Answer()

    monkeypatch.setattr("app.reminders.urllib.request.urlopen", fake_urlopen)
    app.config.update(REMINDER_SENDER="webhook", REMINDER_WEBHOOK_URL="http://gw.local/sms")
    result = runner.invoke(args=["reminders", "send"])
    assert "已发送" in result.output
    url, body = next((u, b) for u, b in posted if b["username"] == world["staff_a"].username)
    assert url == "http://gw.local/sms"
    assert body["subject"] == "邻里待办提醒" and "活动证查验已逾期" in body["text"]


def test_misconfigured_sender_is_refused(app, runner, world):
    app.config.update(REMINDER_SENDER="webhook", REMINDER_WEBHOOK_URL="")
    result = runner.invoke(args=["reminders", "send"])
    assert result.exit_code != 0
    assert "REMINDER_WEBHOOK_URL" in str(result.exception)


def test_every_feature_registers_its_reminders(app):
    assert {
        "registrations",
        "change_requests",
        "unassigned",
        "certificates_overdue",
        "certificates_soon",
        "certificates_expiring",
    } <= set(reminders.SOURCES)
    with app.test_request_context():
        from flask import url_for

        for source in reminders.SOURCES.values():
            assert url_for(source.endpoint, **source.args)
