"""A logged-in member: own registrations and record (masked), and a flow-out report."""

from __future__ import annotations

from sqlalchemy import func, select

from app.extensions import db
from app.registration.models import Registration
from tests.conftest import csrf_token


def _member_login(auth, make_member, tree):
    member = make_member(building=tree["building_a"], phone="13912340001")
    user = auth.login_as("member", member_id=member.id, phone=member.phone)
    return member, user


def test_member_sees_own_record_masked_and_registrations(client, auth, make_member, tree, register):
    from app.crypto import decrypt

    member, _user = _member_login(auth, make_member, tree)
    own = register("flow_in")
    own.id_hash = member.id_hash
    db.session.commit()
    register("in_service_report")  # someone else's
    response = client.get("/register/mine")
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and response.headers["Cache-Control"] == "no-store"
    id_number = decrypt(member.id_number_enc)
    assert id_number not in html and id_number[-4:] in html
    assert "13912340001" not in html and "139****0001" in html
    assert "流入党员登记" in html and "在职党员到社区报到" not in html
    assert "我的报到与外出报告" in client.get("/home").get_data(as_text=True)


def test_member_flow_out_report(client, auth, make_member, tree):
    member, user = _member_login(auth, make_member, tree)
    form = client.get("/register/mine/flow-out")
    assert form.status_code == 200 and "外出日期" in form.get_data(as_text=True)
    token = csrf_token(client, "/register/mine/flow-out")
    data = {
        "form_key": "k" * 32,
        "destination": "广东省深圳市",
        "mobility_since": "2026-09-01",
        "expected_return": "2026-10-01",
        "occupation": "务工",
        "contact_there": "13912345678",
        "consent": "y",
        "sensitive_consent": "y",
        "csrf_token": token,
    }
    bad = client.post("/register/mine/flow-out", data=data)
    assert bad.status_code == 422 and "不足 3 个月" in bad.get_data(as_text=True)
    assert 'value="广东省深圳市"' in bad.get_data(as_text=True)
    data["expected_return"] = "2027-06-01"
    ok = client.post("/register/mine/flow-out", data=data)
    assert ok.status_code == 303
    again = client.post("/register/mine/flow-out", data=data)  # double click: same report
    assert again.status_code == 303
    db.session.expire_all()
    reg = db.session.execute(select(Registration)).scalar_one()
    assert reg.kind == "flow_out_report" and reg.submitted_by_user_id == user.id
    assert reg.member_id == member.id and reg.id_hash == member.id_hash
    assert reg.community_id == tree["community"].id
    assert reg.data["destination"] == "广东省深圳市"
    assert "外出报告" in client.get("/register/mine").get_data(as_text=True)


def test_flow_out_without_consent_is_not_submitted(client, auth, make_member, tree):
    _member_login(auth, make_member, tree)
    token = csrf_token(client, "/register/mine/flow-out")
    response = client.post(
        "/register/mine/flow-out",
        data={
            "destination": "上海",
            "mobility_since": "2026-09-01",
            "expected_return": "2027-06-01",
            "occupation": "务工",
            "contact_there": "13912345678",
            "csrf_token": token,
        },
    )
    assert response.status_code == 422 and "勾选" in response.get_data(as_text=True)
    assert db.session.execute(select(func.count()).select_from(Registration)).scalar() == 0


def test_staff_cannot_open_member_pages(client, auth):
    auth.login_as("staff")
    assert client.get("/register/mine").status_code == 403
    assert client.get("/register/mine/flow-out").status_code == 403
