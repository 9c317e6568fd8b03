"""Twenty simultaneous submits with the same ID number: one open registration, clear messages."""

from __future__ import annotations

import threading
from datetime import date

import pytest
from sqlalchemy import func, select

from app.extensions import db
from app.registration.drafts import Draft
from app.registration.models import Registration
from tests.conftest import PG_URL, make_app
from tests.members.conftest import id_number


@pytest.fixture
def file_app(tmp_path):
    """A real database file (or the PostgreSQL server) shared by several threads."""
    uri = PG_URL or f"sqlite:///{tmp_path / 'concurrency.db'}"
    app = make_app(SQLALCHEMY_DATABASE_URI=uri, WTF_CSRF_ENABLED=False)
    with app.app_context():
        if PG_URL:
            db.drop_all()
        db.create_all()
        from app.organization.models import Place

        community = Place(kind="community", name="金川社区")
        db.session.add(community)
        db.session.commit()
        yield app, community.id
        db.session.remove()
        if PG_URL:
            from sqlalchemy import text

            tables = ", ".join(f'"{t.name}"' for t in db.metadata.sorted_tables)
            with db.engine.begin() as conn:
                conn.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
        else:
            db.drop_all()
        db.engine.dispose()


def test_twenty_concurrent_submits_same_id_number(file_app):
    app, community_id = file_app
    values = {
        "name": "张晓明",
        "id_number": id_number(date(1985, 3, 4), 7),
        "phone": "13912345678",
        "member_type": "formal",
        "joined_on": "2008-07-01",
        "community_id": str(community_id),
        "origin_org": "民勤县大坝镇党委",
        "origin_org_contact": "王书记 13800001111",
        "origin_place": "甘肃省武威市",
        "mobility_since": "2025-03-01",
        "consent": "y",
        "sensitive_consent": "y",
    }
    with app.test_request_context():
        drafts = [Draft(kind="flow_in", values=values).dump() for _ in range(20)]
    barrier = threading.Barrier(20)
    results: list[tuple[int, str]] = []
    lock = threading.Lock()

    def worker(draft: str) -> None:
        client = app.test_client()
        barrier.wait()
        response = client.post(
            "/register/flow_in",
            data={**values, "draft": draft, "step": "consent", "action": "submit"},
        )
        with lock:
            results.append((response.status_code, response.get_data(as_text=True)))

    threads = [threading.Thread(target=worker, args=(d,)) for d in drafts]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    codes = sorted(code for code, _ in results)
    assert codes.count(303) == 1, codes
    assert codes.count(422) == 19, codes
    for code, html in results:
        if code == 422:
            assert "已有一份正在办理的报到登记" in html
    db.session.remove()
    count = db.session.execute(
        select(func.count()).select_from(Registration).where(Registration.status == "submitted")
    ).scalar()
    assert count == 1
