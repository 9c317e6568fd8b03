"""The audit log is append-only and filterable by admins."""

from __future__ import annotations

import pytest
from sqlalchemy import delete, text, update
from sqlalchemy.exc import DatabaseError

from app.audit import record
from app.audit.models import AuditEntry, AuditImmutableError
from app.extensions import db


def test_record_stores_who_what_before_after(app, make_user):
    user = make_user("admin")
    entry = record(
        "member_update",
        object_type="member",
        object_id=7,
        before={"phone": "138"},
        after={"phone": "139"},
        user=user,
    )
    db.session.commit()
    stored = db.session.get(AuditEntry, entry.id)
    assert (stored.username, stored.action, stored.object_id) == (
        user.username,
        "member_update",
        "7",
    )
    assert stored.before == {"phone": "138"} and stored.after == {"phone": "139"}
    assert stored.result == "ok" and stored.at is not None


def test_orm_cannot_update_or_delete(app):
    entry = record("login", object_type="user", object_id=1)
    db.session.commit()
    entry.result = "failed"
    with pytest.raises(AuditImmutableError):
        db.session.commit()
    db.session.rollback()
    db.session.delete(db.session.get(AuditEntry, entry.id))
    with pytest.raises(AuditImmutableError):
        db.session.commit()
    db.session.rollback()


def test_bulk_statements_are_refused(app):
    record("login", object_type="user", object_id=1)
    db.session.commit()
    with pytest.raises(AuditImmutableError):
        db.session.execute(delete(AuditEntry))
    db.session.rollback()
    with pytest.raises(AuditImmutableError):
        db.session.execute(update(AuditEntry).values(result="x"))
    db.session.rollback()


def test_database_triggers_refuse_raw_sql(app):
    record("login", object_type="user", object_id=1)
    db.session.commit()
    for statement in ("UPDATE audit_entry SET result = 'x'", "DELETE FROM audit_entry"):
        with pytest.raises(DatabaseError):
            db.session.execute(text(statement))
        db.session.rollback()
    assert db.session.query(AuditEntry).count() == 1


def test_admin_filters_audit_log(auth, client):
    admin = auth.login_as("admin")  # writes one successful login
    record("login", object_type="user", object_id=99, result="failed", detail="wrong password")
    record("user_create", object_type="user", object_id=5, after={"username": "新用户"})
    db.session.commit()
    html = client.get("/admin/audit/?result=failed").get_data(as_text=True)
    assert "密码错误" in html  # the detail code is shown in Chinese
    assert "创建账号" not in html.split('<tbody class="page-rows">')[1]
    html = client.get("/admin/audit/?action=user_create").get_data(as_text=True)
    assert "新用户" in html  # before/after shown readable
    html = client.get(f"/admin/audit/?user={admin.username}").get_data(as_text=True)
    assert "登录" in html.split('<tbody class="page-rows">')[1]


def test_audit_paging_loads_more(auth, client):
    auth.login_as("admin")
    for i in range(110):
        record("login", object_type="user", object_id=i)
    db.session.commit()
    first = client.get("/admin/audit/").get_data(as_text=True)
    assert first.count('data-label="时间"') == 50
    assert "加载更多" in first
    import re

    more_url = re.search(r'hx-get="(/admin/audit/\?after=\d+[^"]*)"', first).group(1)
    more = client.get(more_url.replace("&amp;", "&"), headers={"HX-Request": "true"})
    body = more.get_data(as_text=True)
    assert "<html" not in body
    assert body.count('data-label="时间"') == 50
    assert "加载更多" in body  # the fragment carries its own next-page row
    # Opened directly (no JavaScript, a new tab): the whole page with the same rows.
    whole = client.get(more_url.replace("&amp;", "&")).get_data(as_text=True)
    assert "<html" in whole and whole.count('data-label="时间"') == 50
    more_url = re.search(r'hx-get="(/admin/audit/\?after=\d+[^"]*)"', body).group(1)
    last = client.get(more_url.replace("&amp;", "&"), headers={"HX-Request": "true"})
    # 110 + the admin account creation and its login - 100 on the first two pages
    assert last.get_data(as_text=True).count('data-label="时间"') == 12


def test_date_filter(auth, client):
    auth.login_as("admin")
    html = client.get("/admin/audit/?date_from=2000-01-01&date_to=2000-01-02").get_data(
        as_text=True
    )
    assert "没有符合条件的记录" in html
    html = client.get("/admin/audit/?date_from=not-a-date").get_data(as_text=True)
    assert "登录" in html


def test_dates_at_the_ends_of_the_calendar_are_no_bound(auth, client):
    auth.login_as("admin")
    for query in ("date_from=0001-01-01", "date_to=9999-12-31", "date_to=0001-01-01"):
        response = client.get(f"/admin/audit/?{query}")
        assert response.status_code == 200, query
    html = client.get("/admin/audit/?date_from=0001-01-01&date_to=9999-12-31").get_data(
        as_text=True
    )
    assert "没有符合条件的记录" not in html


def test_date_filter_uses_the_local_day(auth, client):
    from datetime import datetime

    from app.timeutil import freeze

    auth.login_as("admin")
    with freeze(datetime(2026, 3, 9, 23, 30)):  # 2026-03-10 07:30 in Beijing
        record("member_view", object_type="member", object_id=424242)
    db.session.commit()
    local_day = client.get("/admin/audit/?object=member&date_from=2026-03-10&date_to=2026-03-10")
    assert "#424242" in local_day.get_data(as_text=True)
    utc_day = client.get("/admin/audit/?object=member&date_from=2026-03-09&date_to=2026-03-09")
    assert "#424242" not in utc_day.get_data(as_text=True)
