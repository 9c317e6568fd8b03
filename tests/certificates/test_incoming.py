"""登记外地活动证: a flow-in member's certificate from their home organization."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from app.audit.models import AuditEntry
from app.certificates import services
from app.certificates.models import Certificate
from app.errors import DomainError
from app.extensions import db
from app.timeutil import local_today

TODAY = local_today()


@pytest.fixture
def newcomer(make_member, tree):
    """A flow-in member living in building A, relation held elsewhere."""
    return make_member(
        name="李流入",
        building=tree["building_a"],
        mobility="flow_in",
        mobility_place="甘肃省天水市",
        mobility_since=TODAY - timedelta(days=90),
        relation_location="elsewhere",
        relation_org_name="天水市某村党支部",
    )


def _form(auth, member, **overrides) -> dict:
    data = {
        "csrf_token": auth.token(f"/certificates/record/{member.id}"),
        "number": "TS2025-0042",
        "issuing_org_name": "中共天水市某村党支部",
        "issued_on": (TODAY - timedelta(days=100)).isoformat(),
        "valid_until": (TODAY + timedelta(days=600)).isoformat(),
        "reason": "外出务工",
        "occupation": "厨师",
        "contact_phone": "13812345678",
    }
    data.update(overrides)
    return data


def _staff(auth, staff_of, tree):
    auth.login(staff_of(org=tree["committee"]).username)


def test_staff_record_a_flow_in_certificate(client, auth, staff_of, tree, newcomer):
    _staff(auth, staff_of, tree)
    page = client.get(f"/certificates/member/{newcomer.id}").get_data(as_text=True)
    assert "登记外地活动证" in page and "发放活动证" not in page
    response = client.post(f"/certificates/record/{newcomer.id}", data=_form(auth, newcomer))
    assert response.status_code == 303
    cert = db.session.execute(select(Certificate)).scalar_one()
    assert (cert.direction, cert.number, cert.status) == ("in", "TS2025-0042", "issued")
    assert cert.destination == "金川社区"
    assert cert.next_verification_due > TODAY
    assert db.session.execute(
        select(AuditEntry).where(AuditEntry.action == "certificate_record_in")
    ).scalar_one()
    detail = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "登记查验" in detail and "登记外地活动证" in detail  # the timeline's label
    assert f"/certificates/{cert.id}/pdf" not in detail
    assert (
        "公开核验页" not in detail
        and "补发新证" not in detail
        and "有效期顺延一个发证周期" not in detail
    )
    # never printed here
    assert client.get(f"/certificates/{cert.id}/pdf").status_code == 404
    with pytest.raises(DomainError, match="原发证党组织"):
        services.renew(cert, None)
    with pytest.raises(DomainError, match="原发证党组织"):
        services.reissue(cert, None, "遗失")
    # the periodic check is ours to record
    services.record_check(cert, None, TODAY, "金川社区党委", "表现良好")


def test_bad_input_is_refused_next_to_the_field(client, auth, staff_of, tree, newcomer, issue):
    _staff(auth, staff_of, tree)
    response = client.post(
        f"/certificates/record/{newcomer.id}",
        data=_form(
            auth,
            newcomer,
            number="",
            valid_until=(TODAY - timedelta(days=200)).isoformat(),
            contact_phone="123",
        ),
    )
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert "请填写证件上的编号" in html
    assert "厨师" in html  # what was typed is kept
    assert db.session.execute(select(Certificate)).first() is None


def test_only_flow_in_members_and_numbers_once(
    client, auth, staff_of, tree, newcomer, away, issue, make_member
):
    ours = issue(away)
    _staff(auth, staff_of, tree)
    response = client.post(f"/certificates/record/{away.id}", data=_form(auth, away))
    assert response.status_code == 422
    assert "本社区外出党员请使用" in response.get_data(as_text=True)
    response = client.post(
        f"/certificates/record/{newcomer.id}", data=_form(auth, newcomer, number=ours.number)
    )
    assert response.status_code == 422
    assert "该证号已登记过" in response.get_data(as_text=True)


def test_other_communities_members_are_not_found(client, auth, staff_of, tree, make_member):
    from app.organization.models import Place

    other = Place(kind="community", name="别的社区", code="C9")
    db.session.add(other)
    db.session.commit()
    stranger = make_member(
        mobility="flow_in",
        mobility_place="外省",
        mobility_since=TODAY - timedelta(days=30),
        community_id=other.id,
    )
    _staff(auth, staff_of, tree)
    assert client.get(f"/certificates/record/{stranger.id}").status_code == 404
