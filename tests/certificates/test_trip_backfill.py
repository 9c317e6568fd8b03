"""Migration 0018: valid cards issued before trips were one thing give their holders the trip
and, where the typed liaison name is unambiguous, the liaison link; the rest are listed on
待核对联络人."""

from __future__ import annotations

from datetime import date

from flask_migrate import upgrade
from sqlalchemy import inspect, text

from app import create_app
from app.extensions import db
from tests.test_migrations import _fresh_url


def _insert(conn, table: str, **values) -> int:  # noqa: ANN001
    """Insert a row as the schema at 0017 needs it: required columns not given get a plain value."""
    columns = inspect(conn).get_columns(table)
    for col in columns:
        if col["name"] in values or col["nullable"] or col.get("default") is not None:
            continue
        if col["name"] == "id":
            continue
        kind = str(col["type"]).upper()
        if "INT" in kind:
            values[col["name"]] = 0
        elif "BOOL" in kind:
            values[col["name"]] = False
        elif "DATE" in kind or "TIME" in kind:
            values[col["name"]] = "2025-01-01"
        elif "BLOB" in kind or "BYTEA" in kind or "BINARY" in kind:
            values[col["name"]] = b"x"
        else:
            values[col["name"]] = ""
    cols = ", ".join(f'"{k}"' for k in values)
    marks = ", ".join(f":{k}" for k in values)
    conn.execute(text(f'INSERT INTO "{table}" ({cols}) VALUES ({marks})'), values)  # noqa: S608
    return conn.execute(text(f'SELECT max(id) FROM "{table}"')).scalar()  # noqa: S608


def _member(conn, name: str, community: int, **extra) -> int:  # noqa: ANN001
    n = _member.counter = getattr(_member, "counter", 0) + 1
    return _insert(
        conn,
        "member",
        version=1,
        name=name,
        name_pinyin="",
        name_initials="",
        sex="M",
        ethnicity="汉族",
        birth_date=date(1980, 1, n),
        id_number_enc=b"x",
        id_hash=f"h{n}",
        id_prefix6="620302",
        id_last4_hash=f"l{n}",
        member_type="formal",
        relation_location="community",
        employment="resident",
        dues_reduced=False,
        mobility=extra.pop("mobility", "none"),
        status="active",
        category="coordinated",
        category_proposed="coordinated",
        community_id=community,
        source="staff",
        created_at="2025-01-01 00:00:00",
        updated_at="2025-01-01 00:00:00",
        **extra,
    )


def _card(conn, member_id: int, number: str, liaison: str) -> None:  # noqa: ANN001
    _insert(
        conn,
        "certificate",
        version=1,
        number=number,
        serial=f"s-{number}",
        member_id=member_id,
        direction="out",
        status="issued",
        issued_on=date(2025, 3, 1),
        valid_until=date(2028, 3, 1),
        left_on=date(2025, 2, 1),
        destination="广东省深圳市",
        liaison_name=liaison,
        verification_interval_months=12,
        created_at="2025-03-01 00:00:00",
    )


def test_cards_give_their_holders_the_trip_and_the_liaison(tmp_path):
    url = _fresh_url(tmp_path)
    application = create_app("testing", SQLALCHEMY_DATABASE_URI=url)
    with application.app_context():
        upgrade(directory="migrations", revision="0017_registration_merge")
        with db.engine.begin() as conn:
            community = _insert(
                conn, "place", kind="community", name="社区", position=0, created_at="2025-01-01"
            )
            _insert(
                conn,
                "user",
                username="zhou",
                display_name="周洁",
                role="grid_worker",
                password_hash="x",
                active=True,
                must_change_password=False,
                failed_logins=0,
                session_version=1,
                created_at="2025-01-01",
            )
            helper = _member(conn, "李联络", community)
            by_staff = _member(conn, "甲", community)
            by_member = _member(conn, "乙", community, mobility="flow_out", mobility_place="上海")
            unknown = _member(conn, "丙", community)
            _card(conn, by_staff, "C-1", "周洁")
            _card(conn, by_member, "C-2", "李联络")
            _card(conn, unknown, "C-3", "无此人")
        upgrade(directory="migrations", revision="0018_trip_backfill")
        with db.engine.connect() as conn:
            rows = {
                r.id: r
                for r in conn.execute(
                    text(
                        "SELECT id, mobility, mobility_place, mobility_since, mobility_open_ended,"
                        " liaison_user_id, liaison_member_id FROM member"
                    )
                )
            }
        assert rows[by_staff].mobility == "flow_out"
        assert rows[by_staff].mobility_place == "广东省深圳市"
        assert str(rows[by_staff].mobility_since) == "2025-02-01"
        assert rows[by_staff].mobility_open_ended
        assert rows[by_staff].liaison_user_id is not None
        assert rows[by_member].mobility_place == "上海"  # an existing trip is not overwritten
        assert rows[by_member].liaison_member_id == helper
        assert rows[unknown].liaison_user_id is None and rows[unknown].liaison_member_id is None
        assert rows[helper].mobility == "none"
        db.engine.dispose()


def test_liaisons_to_check_lists_holders_without_a_link(
    client, auth, staff_of, tree, away, issue, make_member
):
    from app.certificates.models import Certificate

    cert = issue(away)
    away.liaison_member_id = None  # as after the backfill: no unique match
    cert.liaison_name = "无此人"
    db.session.commit()
    auth.login(staff_of(org=tree["committee"]).username)
    html = client.get("/certificates/liaisons-review").get_data(as_text=True)
    assert away.name in html and "无此人" in html
    away.liaison_member_id = make_member(name="新联络人", building=tree["building_a"]).id
    db.session.commit()
    html = client.get("/certificates/liaisons-review").get_data(as_text=True)
    assert away.name not in html
    assert db.session.get(Certificate, cert.id) is not None
