"""Batch printing through the huey queue: enqueue -> progress -> download; cancel; purge."""

from __future__ import annotations

import subprocess
import time
from datetime import date, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from app.auth.services import create_user
from app.certificates import jobs, services
from app.certificates.models import PrintJob
from app.extensions import db
from app.organization.models import UserScope
from app.timeutil import local_today, utcnow
from tests.conftest import PASSWORD, PG_URL, csrf_token, make_app


@pytest.fixture
def job_app(tmp_path, request):
    """A file-database app (the consumer thread needs its own connection) with 3 certificates."""
    from app.members.services import create_member
    from app.organization.models import Org, Place
    from tests.members.conftest import id_number

    overrides = {
        "HUEY_SQLITE_PATH": str(tmp_path / "huey.db"),
        "PRINT_RESULT_DIR": str(tmp_path / "results"),
        "PRINT_WORKER": "embedded",
    }
    if PG_URL:
        app = request.getfixturevalue("app")
        app.config.update(overrides)
    else:
        app = make_app(SQLALCHEMY_DATABASE_URI=f"sqlite:///{tmp_path / 'jobs.db'}", **overrides)
    with app.app_context():
        db.create_all()
        community = Place(kind="community", name="批量社区", code="620302005")
        db.session.add(community)
        db.session.flush()
        grid = Place(kind="grid", name="批量网格", parent_id=community.id)
        db.session.add(grid)
        db.session.flush()
        building = Place(kind="building", name="3号楼", parent_id=grid.id)
        committee = Org(kind="community_committee", name="批量社区党委", place_id=community.id)
        db.session.add_all([building, committee])
        db.session.flush()
        branch = Org(kind="branch", name="批量支部", parent_id=committee.id)
        db.session.add(branch)
        db.session.flush()
        numbers = []
        liaison = create_member(
            {"name": "批量联络", "id_number": id_number(date(1970, 3, 3), 250)}, None
        )
        for i in range(3):
            member = create_member(
                {
                    "name": f"批量{i}",
                    "id_number": id_number(date(1981, 2, 1) + timedelta(days=i), 200 + i),
                    "building_id": building.id,
                    "branch_id": branch.id,
                    "mobility": "flow_out",
                    "mobility_place": "杭州",
                    "mobility_since": local_today(),
                    "mobility_open_ended": True,
                    "liaison_member_id": liaison.id,
                },
                None,
            )
            cert = services.issue_certificate(member, services.prefill(member), None)
            numbers.append(cert.number)
        user = create_user("batcher", "批量打印员", "staff", PASSWORD, must_change_password=False)
        db.session.flush()
        db.session.add(UserScope(user_id=user.id, org_id=committee.id))
        db.session.commit()
        ids = {"branch": branch.id, "numbers": numbers}
    yield app, ids
    if not PG_URL:
        with app.app_context():
            db.session.remove()
            db.engine.dispose()


def _login(app):
    client = app.test_client()
    token = csrf_token(client, "/login")
    client.post("/login", data={"username": "batcher", "password": PASSWORD, "csrf_token": token})
    return client


def test_batch_end_to_end(job_app, tmp_path):
    app, ids = job_app
    client = _login(app)
    token = csrf_token(client, "/certificates/")
    response = client.post(
        "/certificates/batch",
        data={
            "csrf_token": token,
            "kind": "certificates",
            "layout": "a4",
            "branch": str(ids["branch"]),
            "grid": "",
        },
    )
    assert response.status_code == 303
    job_url = response.headers["Location"]
    page = client.get(job_url).get_data(as_text=True)
    assert "批量打印" in page and "<progress" in page
    # the progress fragment polls itself every second until the final state
    deadline = time.time() + 120
    fragment = ""
    while time.time() < deadline:
        fragment = client.get(job_url, headers={"HX-Request": "true"}).get_data(as_text=True)
        assert "<html" not in fragment
        if "<strong>已完成</strong>" in fragment or "<strong>失败</strong>" in fragment:
            break
        assert 'hx-trigger="every 1s"' in fragment
        time.sleep(0.5)
    assert "<strong>已完成</strong>" in fragment, fragment
    assert "every 1s" not in fragment  # the final state stops polling
    download = client.get(job_url + "/download")
    assert download.status_code == 200 and download.data.startswith(b"%PDF")
    pdf = tmp_path / "batch.pdf"
    pdf.write_bytes(download.data)
    download.close()
    text = subprocess.run(
        ["pdftotext", str(pdf), "-"], capture_output=True, text=True, check=True
    ).stdout
    for number in ids["numbers"]:
        assert number in text
    # each card: its own page, then the shared ruled pages (rendered once, interleaved)
    pages = text.split("\f")
    assert len([p for p in pages if p.strip()]) == 3 * len(ids["numbers"])
    for n in range(len(ids["numbers"])):
        assert "流动党员活动证" in pages[3 * n] and "参加组织生活记录" in pages[3 * n + 1]
        assert "查验记录" in pages[3 * n + 2]
    # another user cannot see the job
    with app.app_context():
        create_user("other", "他人", "staff", PASSWORD, must_change_password=False)
        db.session.commit()
    other = app.test_client()
    t = csrf_token(other, "/login")
    other.post("/login", data={"username": "other", "password": PASSWORD, "csrf_token": t})
    assert other.get(job_url).status_code == 404
    assert other.get(job_url + "/download").status_code == 404


def test_cancel_before_run(job_app):
    app, ids = job_app
    app.config["PRINT_WORKER"] = "external"  # nothing consumes the queue
    client = _login(app)
    token = csrf_token(client, "/certificates/")
    response = client.post(
        "/certificates/batch",
        data={"csrf_token": token, "kind": "roster", "layout": "a4", "branch": "", "grid": ""},
    )
    job_url = response.headers["Location"]
    assert client.post(job_url + "/cancel", data={"csrf_token": token}).status_code == 303
    assert "已取消" in client.get(job_url).get_data(as_text=True)
    with app.app_context():
        job = db.session.execute(select(PrintJob)).scalar_one()
        jobs.execute_job(job.id)  # a consumer picking it up later does nothing
        db.session.refresh(job)
        assert job.status == "cancelled" and job.result_path is None


def test_cancel_while_running_stops_at_next_chunk(job_app, monkeypatch):
    app, _ = job_app
    with app.app_context():
        job = jobs.create_job("roster", [1, 2, 3], None)
        db.session.commit()
        monkeypatch.setattr(jobs, "CHUNK", 1)
        monkeypatch.setattr(jobs, "_status", lambda job_id: "cancelled")
        jobs.execute_job(job.id)
        db.session.expire_all()
        job = db.session.get(PrintJob, job.id)
        assert job.result_path is None and job.status != "done"


def test_results_are_purged_after_their_time(job_app, tmp_path):
    app, _ = job_app
    with app.app_context():
        result = tmp_path / "old.pdf"
        result.write_bytes(b"%PDF-1.7")
        job = jobs.create_job("roster", [1], None)
        job.status, job.result_path = "done", str(result)
        job.expires_at = utcnow() - timedelta(minutes=1)
        db.session.commit()
        assert jobs.purge_expired() == 1
        db.session.commit()
        assert not Path(result).exists() and job.status == "expired"
