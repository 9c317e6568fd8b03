"""双管 over HTTP: the journey staff → member → staff, the PDFs, batch by 党支部 (issue 12 #8)."""

from __future__ import annotations

from datetime import datetime, timedelta

from app.certificates.models import PrintJob
from app.dual import queries, signin
from app.dual.models import Need
from app.extensions import db
from app.timeutil import freeze
from tests.conftest import csrf_token

NOW = datetime(2026, 11, 20, 2, 0)


def test_journey_and_feedback_pdf(
    app, client, auth, tree, staff_of, dual_member, make_user, pdf_text, tmp_path
):
    m = dual_member("王在职")
    other = dual_member("李在职")
    staff = staff_of(org=tree["committee"])
    with freeze(NOW):
        auth.login(staff.username)
        token = csrf_token(client, "/dual/needs/new")
        bad = client.post(
            "/dual/needs/new",
            data={
                "csrf_token": token,
                "kind": "activity",
                "community_id": tree["community"].id,
                "title": "",
                "places": "0",
            },
        )
        assert bad.status_code == 422
        html = bad.get_data(as_text=True)
        assert "请填写此项" in html and "人数应在 1 到 500 之间" in html
        r = client.post(
            "/dual/needs/new",
            data={
                "csrf_token": token,
                "kind": "activity",
                "community_id": tree["community"].id,
                "title": "社区义诊",
                "places": "1",
            },
        )
        assert r.status_code == 303
        need = db.session.query(Need).one()
        auth.logout()
        user = make_user("member", member_id=m.id)
        auth.login(user.username)
        page = client.get("/dual/mine").get_data(as_text=True)
        assert "社区义诊" in page and "认领" in page
        token = csrf_token(client, "/dual/mine")
        assert (
            client.post(f"/dual/mine/needs/{need.id}/claim", data={"csrf_token": token}).status_code
            == 303
        )
        code = signin.code_for(need.id)
        assert "签到" in client.get(f"/dual/signin?t={code}").get_data(as_text=True)
        assert client.post("/dual/signin", data={"csrf_token": token, "t": code}).status_code == 200
    with freeze(NOW + timedelta(minutes=25)):  # within the idle-session limit
        code = signin.code_for(need.id)
        done = client.post("/dual/signin", data={"csrf_token": token, "t": code})
        assert "签退成功" in done.get_data(as_text=True)
        again = client.post("/dual/signin", data={"csrf_token": token, "t": code})
        assert again.status_code == 422 and "已签退" in again.get_data(as_text=True)
        # the other member cannot claim beyond the one place
        auth.logout()
        auth.login(make_user("member", member_id=other.id).username)
        token = csrf_token(client, "/dual/mine")
        assert (
            client.post(f"/dual/mine/needs/{need.id}/claim", data={"csrf_token": token}).status_code
            == 409
        )
        auth.logout()
        auth.login(staff.username)
        pending = client.get("/dual/services").get_data(as_text=True)
        assert "王在职" in pending
        service_id = db.session.execute(db.text("select id from dual_service")).scalar()
        token = csrf_token(client, "/dual/services")
        assert (
            client.post(
                f"/dual/services/{service_id}/confirm", data={"csrf_token": token, "hours": "2"}
            ).status_code
            == 303
        )
        period = queries.current_period().key
        sheet_url = f"/dual/members/{m.id}/feedback?period={period}"
        assert "2.0" in client.get(sheet_url).get_data(as_text=True)
        token = csrf_token(client, sheet_url)
        assert client.post(sheet_url, data={"csrf_token": token}).status_code == 422
        assert (
            client.post(
                sheet_url, data={"csrf_token": token, "rating": "excellent", "comment": "服务积极"}
            ).status_code
            == 303
        )
        text = pdf_text(
            client.get(f"/dual/members/{m.id}/feedback.pdf?period={period}").data, tmp_path
        )
        for expected in ("王在职", "市第一中学", "2026年下半年", "2.0", "☑优秀", "社区义诊"):
            assert expected in text, expected
        r = client.post(
            f"/dual/members/{m.id}/feedback/sent?period={period}",
            data={"csrf_token": token, "sent_on": "2026-11-20", "via": "post"},
        )
        assert r.status_code == 303
        r = client.post(
            f"/dual/members/{m.id}/feedback/returned?period={period}",
            data={"csrf_token": token, "returned_on": "2026-11-19"},
        )
        assert r.status_code == 422 and "回执日期" in r.get_data(as_text=True)
        r = client.post(
            f"/dual/members/{m.id}/feedback/returned?period={period}",
            data={"csrf_token": token, "returned_on": "2026-11-20", "employer_note": "已阅"},
        )
        assert r.status_code == 303
        assert "已回执" in client.get(sheet_url).get_data(as_text=True)
        # the batch per employer: a cover letter and one sheet per member
        pdf = client.get(f"/dual/feedback/employer.pdf?employer=市第一中学&period={period}")
        text = pdf_text(pdf.data, tmp_path)
        assert "关于反馈在职党员社区表现情况的函" in text
        assert text.count("在职党员社区表现反馈单") == 2
        # the contact card shows the posts and hours
        text = pdf_text(client.get(f"/certificates/member/{m.id}/contact-card.pdf").data, tmp_path)
        assert "社区义诊" in text and "2.0" in text
        # the notice per employer
        xlsx = client.get(f"/dual/notice.xlsx?employer=市第一中学&period={period}")
        assert xlsx.status_code == 200 and xlsx.data[:2] == b"PK"
        assert "王在职" in pdf_text(
            client.get(f"/dual/notice.pdf?employer=市第一中学&period={period}").data, tmp_path
        )


def test_opinion_request_and_reply(
    app, client, auth, tree, staff_of, dual_member, pdf_text, tmp_path
):
    m = dual_member("赵在职")
    auth.login(staff_of(org=tree["committee"]).username)
    with freeze(NOW):
        token = csrf_token(client, f"/dual/members/{m.id}")
        bad = client.post(
            f"/dual/members/{m.id}/opinions",
            data={
                "csrf_token": token,
                "employer": "市教育局",
                "purpose": "",
                "requested_on": "2026-11-01",
            },
        )
        assert bad.status_code == 422 and "请填写此项" in bad.get_data(as_text=True)
        r = client.post(
            f"/dual/members/{m.id}/opinions",
            data={
                "csrf_token": token,
                "employer": "市教育局",
                "purpose": "提拔考察",
                "requested_on": "2026-11-01",
            },
        )
        assert r.status_code == 303
        url = r.headers["Location"]
        r = client.post(
            url,
            data={
                "csrf_token": token,
                "answer": "该同志积极参加社区服务。",
                "answered_on": "2026-11-05",
            },
        )
        assert r.status_code == 303
        text = pdf_text(client.get(url + "/reply.pdf").data, tmp_path)
    assert "赵在职" in text and "市教育局" in text and "积极参加社区服务" in text


def test_batch_feedback_by_branch_finds_its_in_service_members(
    app, client, auth, tree, staff_of, dual_member, monkeypatch
):
    """Issue 12 #8: 双管 members hold their relation at work; they are the branch's 报到
    participants through their building's group, so choosing the 党支部 must find them."""
    from app.certificates import jobs

    monkeypatch.setattr(jobs, "enqueue", lambda job: None)
    m = dual_member()
    auth.login(staff_of(org=tree["committee"]).username)
    token = csrf_token(client, "/certificates/")
    r = client.post(
        "/certificates/batch",
        data={
            "csrf_token": token,
            "kind": "feedback",
            "layout": "a4",
            "branch": str(tree["branch_a"].id),
            "grid": "",
        },
    )
    assert r.status_code == 303 and "/certificates/jobs/" in r.headers["Location"]
    assert db.session.query(PrintJob).one().params["ids"] == [m.id]
    # nothing found: the page comes back with the choices kept
    r = client.post(
        "/certificates/batch",
        data={
            "csrf_token": token,
            "kind": "feedback",
            "layout": "a4",
            "branch": str(tree["branch_b"].id),
            "grid": "",
        },
    )
    page = client.get(r.headers["Location"]).get_data(as_text=True)
    assert "没有可打印的内容" in page
    assert f'<option selected value="{tree["branch_b"].id}">' in page
    assert '<option selected value="feedback">' in page
