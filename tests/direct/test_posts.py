"""Posts, 责任区 and the 责任卡: period rules, area rules, requests, the QR verification."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import select

from app.audit.models import AuditEntry
from app.auth.models import User
from app.direct import services
from app.direct.models import PostArea, PostAssignment
from app.errors import DomainError
from app.extensions import db
from app.timeutil import local_today
from tests.direct.conftest import login, post_id


def _assign(member, user, **kw):
    data = {
        "post_id": post_id(member),
        "starts_on": local_today(),
        "ends_on": None,
        "building_ids": [member.building_id],
    }
    data.update(kw)
    return services.assign_post(member, user, **data)


def test_seed_posts_are_the_five_of_seed_003(resident):
    from app.direct.queries import posts_of

    names = [p.name for p in posts_of([resident.community_id])]
    assert names == [
        "党的政策宣传员",
        "民间纠纷调解员",
        "居民群众联系员",
        "社区治安保安员",
        "环境卫生监督员",
    ]
    assert services.ensure_seed_posts(resident.community_id) == 0  # never twice


def test_staff_assign_with_area_and_audit(staff_a, resident, tree):
    a = _assign(resident, staff_a, building_ids=[tree["building_a"].id, tree["building_b"].id])
    db.session.commit()
    assert a.status == "active"
    areas = set(
        db.session.scalars(select(PostArea.building_id).where(PostArea.assignment_id == a.id))
    )
    assert areas == {tree["building_a"].id, tree["building_b"].id}
    assert db.session.scalar(select(AuditEntry).where(AuditEntry.action == "direct_post_assign"))


def test_area_buildings_must_be_in_the_members_community(staff_a, resident, other):
    with pytest.raises(DomainError) as error:
        _assign(resident, staff_a, building_ids=[other["building"].id])
    assert error.value.errors == {"buildings": "责任区只能选择该党员所在社区的楼栋"}


def test_post_of_another_community_is_refused(staff_a, resident, foreigner):
    with pytest.raises(DomainError) as error:
        _assign(resident, staff_a, post_id=post_id(foreigner))
    assert "post_id" in error.value.errors


@pytest.mark.parametrize(
    ("first", "second", "refused"),
    [
        ((0, 90), (91, None), False),  # the next term starts after the first ends
        ((0, 90), (90, 200), True),  # one shared day
        ((0, None), (400, 500), True),  # open-ended overlaps everything after it
    ],
)
def test_same_post_periods_may_not_overlap(staff_a, resident, first, second, refused):
    today = local_today()

    def day(n):
        return None if n is None else today + timedelta(days=n)

    _assign(resident, staff_a, starts_on=day(first[0]), ends_on=day(first[1]))
    if refused:
        with pytest.raises(DomainError) as error:
            _assign(resident, staff_a, starts_on=day(second[0]), ends_on=day(second[1]))
        assert "starts_on" in error.value.errors
    else:
        _assign(resident, staff_a, starts_on=day(second[0]), ends_on=day(second[1]))


def test_end_before_start_is_refused_next_to_the_field(client, staff_a, resident):
    token = login(client, staff_a)
    response = client.post(
        f"/direct/members/{resident.id}/posts",
        data={
            "csrf_token": token,
            "post_id": post_id(resident),
            "starts_on": "2026-05-01",
            "ends_on": "2026-04-01",
            "buildings": [resident.building_id],
        },
    )
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert 'id="ends_on-error"' in html and "结束日期不能早于开始日期" in html
    assert db.session.scalar(select(PostAssignment.id)) is None


def test_foreign_building_posted_gets_message_next_to_buildings(client, staff_a, resident, other):
    token = login(client, staff_a)
    response = client.post(
        f"/direct/members/{resident.id}/posts",
        data={
            "csrf_token": token,
            "post_id": post_id(resident),
            "starts_on": "2026-05-01",
            "buildings": [other["building"].id],
        },
    )
    assert response.status_code == 422
    assert "责任区只能选择该党员所在社区的楼栋" in response.get_data(as_text=True)


def test_member_requests_staff_refuses_with_reason_then_approves(
    client, make_user, staff_a, resident
):
    member_user = make_user("member", member_id=resident.id)
    token = login(client, member_user)
    response = client.post(
        "/my/duties",
        data={
            "csrf_token": token,
            "post_id": post_id(resident),
            "starts_on": local_today().isoformat(),
            "buildings": [resident.building_id],
        },
    )
    assert response.status_code == 303
    a = db.session.scalar(select(PostAssignment))
    assert a.status == "requested"
    client.post("/logout", data={"csrf_token": token})
    token = login(client, staff_a)
    # Refusing without a reason: 422, the message next to the row's reason field.
    response = client.post(
        f"/direct/assignments/{a.id}/decide", data={"csrf_token": token, "action": "refuse"}
    )
    assert response.status_code == 422
    assert "不通过时请写明理由" in response.get_data(as_text=True)
    db.session.refresh(a)
    assert a.status == "requested"
    response = client.post(
        f"/direct/assignments/{a.id}/decide",
        data={"csrf_token": token, "action": "approve"},
    )
    assert response.status_code == 303
    db.session.refresh(a)
    assert a.status == "active"
    # A decided request cannot be decided again.
    response = client.post(
        f"/direct/assignments/{a.id}/decide",
        data={"csrf_token": token, "action": "refuse", "reason": "重复"},
    )
    assert response.status_code == 409


def test_refusal_reason_is_shown_to_the_member(client, make_user, staff_a, resident):
    a = _assign(resident, make_user("member", member_id=resident.id), requested=True)
    services.decide(a, "refuse", "该楼已有两名监督员", staff_a)
    db.session.commit()
    member_user = db.session.scalar(select(User).where(User.member_id == resident.id))
    login(client, member_user)
    html = client.get("/my/duties").get_data(as_text=True)
    assert "该楼已有两名监督员" in html and "未通过" in html


# ---- 责任卡 and its QR ---------------------------------------------------------------------------


def test_card_pdf_and_its_qr_verifies(app, client, staff_a, resident, tree):
    a = _assign(resident, staff_a)
    db.session.commit()
    login(client, staff_a)
    response = client.get(f"/direct/assignments/{a.id}/card.pdf")
    assert response.status_code == 200 and response.data.startswith(b"%PDF")
    assert db.session.scalar(select(AuditEntry).where(AuditEntry.action == "direct_card_print"))
    anonymous = app.test_client()
    page = anonymous.get(f"/verify/duty/{services.token_for(a)}").get_data(as_text=True)
    assert "责任卡有效" in page
    assert "王*国" in page and "王建国" not in page
    assert "环境卫生监督员" in page and tree["building_a"].name in page
    assert resident.phone not in page


def test_verify_of_an_ended_post_says_so(client, staff_a, resident):
    today = local_today()
    a = _assign(resident, staff_a, starts_on=today - timedelta(days=100))
    services.end_assignment(a, today - timedelta(days=1), staff_a)
    db.session.commit()
    page = client.get(f"/verify/duty/{services.token_for(a)}").get_data(as_text=True)
    assert "责任卡已失效：该岗位任期已结束" in page
    assert "已结束" in page


@pytest.mark.parametrize(
    "mangle",
    [
        lambda t: t[:-2] + ("AA" if not t.endswith("AA") else "BB"),  # signature changed
        lambda t: "x" + t,  # serial changed
        lambda t: "garbage",
    ],
)
def test_tampered_token_is_refused(client, staff_a, resident, mangle):
    a = _assign(resident, staff_a)
    db.session.commit()
    page = client.get(f"/verify/duty/{mangle(services.token_for(a))}").get_data(as_text=True)
    assert "不是本系统签发" in page
    assert "王*国" not in page


def test_certificate_token_does_not_verify_as_a_duty_card(app, client):
    from app.certificates.signing import _signer

    token = _signer().sign("some-certificate-serial").decode()
    page = client.get(f"/verify/duty/{token}").get_data(as_text=True)
    assert "查无此责任卡" in page


def test_end_date_before_start_refused(staff_a, resident):
    a = _assign(resident, staff_a, starts_on=date(2026, 1, 10))
    with pytest.raises(DomainError) as error:
        services.end_assignment(a, date(2026, 1, 9), staff_a)
    assert error.value.errors == {"ends_on": "结束日期不能早于开始日期"}
