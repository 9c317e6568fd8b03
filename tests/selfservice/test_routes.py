"""Self-service pages: the member sees and asks to change only their own record, staff review
in scope (404 outside), approve/reject/bulk/conflict, own document downloads."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from app import paging
from app.audit.models import AuditEntry
from app.certificates import letters
from app.extensions import db
from app.members import services as members
from app.selfservice import services
from tests.selfservice.conftest import login, pending_of, post, reload


def _audit(action: str) -> list[AuditEntry]:
    return list(db.session.execute(select(AuditEntry).where(AuditEntry.action == action)).scalars())


def _request(member, user, **data):
    change = services.submit_request(member, data, user)
    db.session.commit()
    return change


# ---- member side ---------------------------------------------------------------------------


def test_member_sees_own_record_masked_id_and_a_prefilled_form(app, people):
    client = login(app, people.user_a)
    html = client.get("/my/profile").get_data(as_text=True)
    assert "王小红" in html and "李大山" not in html
    assert people.a.id_prefix6 + "********" + people.a.id_last4 in html
    assert 'value="13900000001"' in html  # the form starts from the current values
    assert 'value="1单元101"' in html
    assert "我的信息" in html and "我的证件" in html  # member navigation


def test_reveal_shows_the_full_id_number_and_is_audited(app, people):
    from app.crypto import decrypt

    client = login(app, people.user_a)
    response = post(client, "/my/profile/reveal", htmx=True)
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and "<html" not in html
    assert decrypt(people.a.id_number_enc) in html
    [entry] = _audit("member_self_reveal")
    assert (entry.object_id, entry.user_id) == (str(people.a.id), people.user_a.id)


def test_member_submits_a_change_and_sees_it_pending(app, people):
    client = login(app, people.user_a)
    response = post(
        client,
        "/my/profile",
        {
            "phone": "139 1234 5678",
            "second_phone": "",
            "room": "1单元101",
            "address": "滨河路8号",
            "work_unit": "",
            "employer": "",
        },
    )
    assert response.status_code == 303
    change = pending_of(people.a)
    assert services.fields_of(change) == {
        "phone": {"old": "13900000001", "new": "13912345678"},
        "address": {"old": None, "new": "滨河路8号"},
    }
    html = client.get("/my/profile").get_data(as_text=True)
    assert "待审核" in html and "13912345678" in html and "撤回申请" in html
    assert reload(people.a).phone == "13900000001"


def test_bad_phone_answers_422_with_the_message_next_to_the_field_and_input_kept(app, people):
    client = login(app, people.user_a)
    response = post(client, "/my/profile", {"phone": "1391234", "address": "滨河路8号"}, htmx=True)
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "<html" not in html  # only the form block
    assert re.search(r'id="phone-error"[^>]*>手机号应为 11 位，您填写了 7 位', html)
    assert 'value="1391234"' in html and 'value="滨河路8号"' in html
    assert 'aria-invalid="true"' in html
    assert pending_of(people.a) is None


def test_bad_second_phone_without_javascript_renders_the_whole_page(app, people):
    client = login(app, people.user_a)
    response = post(client, "/my/profile", {"phone": "13900000001", "second_phone": "12"})
    html = response.get_data(as_text=True)
    assert response.status_code == 422 and "<html" in html
    assert "电话号码格式不正确" in html


def test_submitting_nothing_new_is_refused_with_a_message(app, people):
    client = login(app, people.user_a)
    response = post(client, "/my/profile", {"phone": "13900000001", "room": "1单元101"})
    assert response.status_code == 422
    assert "您没有修改任何信息" in response.get_data(as_text=True)


def test_resubmitting_replaces_the_pending_request(app, people):
    first = _request(people.a, people.user_a, phone="13911111111")
    client = login(app, people.user_a)
    html = client.get("/my/profile").get_data(as_text=True)
    assert 'value="13911111111"' in html  # the form shows the pending wish
    assert post(client, "/my/profile", {"phone": "13922222222"}).status_code == 303
    assert reload(first).status == "cancelled"
    assert services.fields_of(pending_of(people.a))["phone"]["new"] == "13922222222"


def test_member_cancels_own_request_but_not_anothers(app, people):
    mine = _request(people.a, people.user_a, phone="13911111111")
    theirs = _request(people.b, people.user_b, phone="13933333333")
    client = login(app, people.user_a)
    assert post(client, f"/my/requests/{theirs.id}/cancel").status_code == 404
    assert reload(theirs).status == "pending"
    assert post(client, f"/my/requests/{mine.id}/cancel").status_code == 303
    assert reload(mine).status == "cancelled"
    assert "已撤回" in client.get("/my/profile").get_data(as_text=True)


def test_member_sees_the_staff_reason_of_a_rejection(app, people):
    change = _request(people.a, people.user_a, phone="13911111111")
    services.reject(change, people.worker, "请携带身份证到社区核对新号码")
    db.session.commit()
    html = login(app, people.user_a).get("/my/profile").get_data(as_text=True)
    assert "未通过" in html and "请携带身份证到社区核对新号码" in html


def test_a_member_without_a_linked_record_gets_a_message(app, make_user):
    user = make_user("member")
    client = login(app, user)
    html = client.get("/my/profile").get_data(as_text=True)
    assert "尚未关联党员档案" in html
    assert post(client, "/my/profile", {"phone": "13911111111"}).status_code == 303


def test_staff_cannot_use_the_member_pages(app, people):
    client = login(app, people.staff)
    assert client.get("/my/profile").status_code == 403
    assert client.get("/my/documents").status_code == 403


# ---- staff review queue --------------------------------------------------------------------


def test_queue_lists_only_requests_in_scope_with_the_diff(app, people):
    _request(people.a, people.user_a, phone="13911111111", employer="新城物业")
    _request(people.b, people.user_b, room="9单元909")
    html = login(app, people.worker).get("/selfservice/requests").get_data(as_text=True)
    assert "王小红" in html and "李大山" not in html
    assert "13900000001" in html and "13911111111" in html  # old -> new
    assert "现工作单位或服务场所" in html and "新城物业" in html
    html = login(app, people.staff).get("/selfservice/requests").get_data(as_text=True)
    assert "王小红" in html and "李大山" in html and "9单元909" in html


def test_out_of_scope_request_answers_404(app, people):
    theirs = _request(people.b, people.user_b, phone="13933333333")
    client = login(app, people.worker)
    for action in ("approve", "reject", "force"):
        response = post(
            client,
            f"/selfservice/requests/{theirs.id}/decide",
            {"action": action, f"reason_{theirs.id}": "x"},
        )
        assert response.status_code == 404
    response = post(
        client, "/selfservice/requests/bulk", {"action": "approve", "ids": [theirs.id]}, True
    )
    assert response.status_code == 422
    assert "不在您的管理范围内" in response.get_data(as_text=True)
    assert reload(theirs).status == "pending"
    assert reload(people.b).phone == "13900000002"


def test_approve_applies_the_change_and_the_member_sees_it(app, people):
    change = _request(people.a, people.user_a, phone="13911111111")
    staff = login(app, people.worker)
    response = post(
        staff, f"/selfservice/requests/{change.id}/decide", {"action": "approve"}, htmx=True
    )
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and "<html" not in html
    assert "王小红：已通过" in html
    assert "change-requests-changed" in response.headers["HX-Trigger"]
    assert reload(people.a).phone == "13911111111"
    assert reload(change).status == "approved"
    [update] = _audit("member_update")
    assert update.detail == "党员申请变更" and update.user_id == people.worker.id
    assert len(_audit("change_request_approve")) == 1
    # the member's timeline (history and audit) on the registration card shows the reason
    card = staff.get(f"/members/{people.a.id}").get_data(as_text=True)
    assert "党员申请变更" in card
    member_page = login(app, people.user_a).get("/my/profile").get_data(as_text=True)
    assert "13911111111" in member_page and "已通过" in member_page


def test_approve_without_javascript_redirects_back_to_the_queue(app, people):
    change = _request(people.a, people.user_a, room="2单元202")
    client = login(app, people.staff)
    response = post(client, f"/selfservice/requests/{change.id}/decide", {"action": "approve"})
    assert response.status_code == 303
    assert response.headers["Location"].endswith("/selfservice/requests?status=pending")
    assert reload(people.a).room == "2单元202"


def test_reject_needs_a_reason_next_to_the_row(app, people):
    change = _request(people.a, people.user_a, phone="13911111111")
    client = login(app, people.worker)
    url = f"/selfservice/requests/{change.id}/decide"
    response = post(client, url, {"action": "reject", f"reason_{change.id}": " "}, htmx=True)
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert re.search(rf'id="reason_{change.id}-error"[^>]*>未通过时必须填写理由', html)
    response = post(client, url, {"action": "reject", f"reason_{change.id}": "号码不符"}, True)
    assert response.status_code == 200
    assert reload(change).status == "rejected" and reload(change).reason == "号码不符"
    assert reload(people.a).phone == "13900000001"


def test_conflict_gives_a_clear_message_and_a_way_to_confirm(app, people):
    change = _request(people.a, people.user_a, phone="13911111111")
    members.update_member(people.a, {"phone": "13800000000"}, people.staff, None)
    db.session.commit()
    client = login(app, people.worker)
    url = f"/selfservice/requests/{change.id}/decide"
    response = post(client, url, {"action": "approve"}, htmx=True)
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "党员提交申请后，档案已被修改" in html
    assert "手机号现为“13800000000”" in html and "仍采用申请的新值" in html
    assert reload(people.a).phone == "13800000000"
    assert post(client, url, {"action": "force"}, htmx=True).status_code == 200
    assert reload(people.a).phone == "13911111111"


def test_bulk_approve_reports_each_row(app, people, make_member, tree):
    third = make_member(name="赵三", building=tree["building_a"], phone="13900000003")
    ok = _request(people.a, people.user_a, phone="13911111111")
    clash = _request(third, people.user_a, phone="13944444444")
    members.update_member(third, {"phone": "13855555555"}, people.staff, None)
    other = _request(people.b, people.user_b, room="9单元")
    client = login(app, people.worker)
    response = post(
        client,
        "/selfservice/requests/bulk",
        {"action": "approve", "ids": [ok.id, clash.id, other.id]},
        htmx=True,
    )
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "王小红</strong>：已通过" in html
    assert "赵三</strong>：党员提交申请后，档案已被修改" in html
    assert f"#{other.id}</strong>：不存在或不在您的管理范围内" in html
    assert reload(ok).status == "approved" and reload(clash).status == "pending"
    assert reload(people.a).phone == "13911111111"
    assert reload(third).phone == "13855555555"


def test_bulk_reject_needs_a_reason(app, people):
    change = _request(people.a, people.user_a, phone="13911111111")
    client = login(app, people.staff)
    data = {"action": "reject", "ids": [change.id]}
    response = post(client, "/selfservice/requests/bulk", data, htmx=True)
    assert response.status_code == 422 and "必须填写理由" in response.get_data(as_text=True)
    data["bulk_reason"] = "信息不完整"
    assert post(client, "/selfservice/requests/bulk", data, htmx=True).status_code == 200
    assert reload(change).reason == "信息不完整"


def test_nav_badge_counts_pending_requests_in_scope(app, people):
    _request(people.a, people.user_a, phone="13911111111")
    _request(people.b, people.user_b, room="9单元")
    assert login(app, people.worker).get("/selfservice/requests/count").get_data() == b"1"
    client = login(app, people.staff)
    assert client.get("/selfservice/requests/count?nav=1").get_data() == b"2"
    html = client.get("/home").get_data(as_text=True)
    assert "信息变更" in html and "/selfservice/requests/count?nav=1" in html


def test_status_filter_is_in_the_url(app, people):
    change = _request(people.a, people.user_a, phone="13911111111")
    services.reject(change, people.staff, "请核对")
    db.session.commit()
    client = login(app, people.staff)
    assert "王小红" not in client.get("/selfservice/requests").get_data(as_text=True)
    html = client.get("/selfservice/requests?status=rejected").get_data(as_text=True)
    assert "王小红" in html and "请核对" in html


# ---- own documents -------------------------------------------------------------------------


@pytest.fixture
def documents(people, tree):
    """A certificate and a transfer letter for member A and for member B."""
    from datetime import timedelta

    from app.certificates import services as certs
    from app.timeutil import local_today

    out = {}
    today = local_today()
    for key, member in (("a", people.a), ("b", people.b)):
        members.update_member(
            member,
            {
                "mobility": "flow_out",
                "mobility_place": "广东省深圳市",
                "mobility_since": today - timedelta(days=30),
                "liaison_member_id": (people.b if key == "a" else people.a).id,
            },
            None,
            None,
        )
        values = certs.prefill(member)
        values["expected_return"] = today + timedelta(days=300)
        cert = certs.issue_certificate(member, values, None)
        letter = letters.issue_transfer_letter(
            member, {"to_org_name": "深圳某党支部", "dues_paid_until": None, "valid_days": 30}, None
        )
        out[key] = (cert, letter)
    db.session.commit()
    return out


def test_member_downloads_own_certificate_and_letter_only(app, people, documents):
    client = login(app, people.user_a)
    (cert, letter), (other_cert, other_letter) = documents["a"], documents["b"]
    html = client.get("/my/documents").get_data(as_text=True)
    assert cert.number in html and letter.number in html
    assert other_cert.number not in html and other_letter.number not in html
    response = client.get(f"/my/documents/certificate/{cert.id}.pdf")
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    assert response.data.startswith(b"%PDF") and response.headers["Cache-Control"] == "no-store"
    response = client.get(f"/my/documents/transfer/{letter.id}.pdf")
    assert response.status_code == 200 and response.data.startswith(b"%PDF")
    assert client.get(f"/my/documents/certificate/{other_cert.id}.pdf").status_code == 404
    assert client.get(f"/my/documents/transfer/{other_letter.id}.pdf").status_code == 404
    [download] = _audit("certificate_self_download")
    assert (download.object_id, download.user_id) == (str(cert.id), people.user_a.id)
    assert len(_audit("transfer_letter_self_download")) == 1


def test_a_closed_certificate_is_no_longer_offered(app, people, documents):
    from app.certificates import services as certs

    cert, _ = documents["a"]
    certs.close(cert, None, "returned", "已返回")
    db.session.commit()
    client = login(app, people.user_a)
    html = client.get("/my/documents").get_data(as_text=True)
    assert f"/my/documents/certificate/{cert.id}.pdf" not in html
    assert "您目前没有有效的流动党员活动证" in html
    assert client.get(f"/my/documents/certificate/{cert.id}.pdf").status_code == 404


def test_queue_pages_with_load_more_and_constant_queries(
    app, people, make_member, tree, count_queries, monkeypatch
):

    client = login(app, people.staff)
    _request(people.a, people.user_a, phone="13911111111")
    client.get("/selfservice/requests")  # warm the scope cache
    with count_queries() as one:
        client.get("/selfservice/requests")
    for n in range(5):
        member = make_member(name=f"批量{n}", building=tree["building_a"])
        _request(member, people.user_a, room=f"{n}单元")
    client.get("/selfservice/requests")  # the data changed: the scope is computed again once
    with count_queries() as six:
        html = client.get("/selfservice/requests").get_data(as_text=True)
    assert html.count('class="card cr-item') == 6
    assert six.count == one.count  # no query per request

    monkeypatch.setattr(paging, "PAGE_SIZE", 4)
    html = client.get("/selfservice/requests").get_data(as_text=True)
    assert html.count('class="card cr-item') == 4
    next_url = re.search(r'<a class="btn btn-secondary" href="([^"]+)"[^\n]*>加载更多', html)
    next_url = next_url.group(1).replace("&amp;", "&")
    assert 'hx-select=".page-rows > *"' in html  # the link takes the next items only
    response = client.get(next_url, headers={"HX-Request": "true"})
    rest = response.get_data(as_text=True)
    assert "<html" not in rest
    assert rest.count('class="card cr-item') == 2 and "王小红" in rest
    whole = client.get(next_url).get_data(as_text=True)  # opened directly: a whole page
    assert "<html" in whole and whole.count('class="card cr-item') == 2
