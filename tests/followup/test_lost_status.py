"""失联 is set only through a lost-contact case: the member form, the service and new records
refuse it (with a link to open a case), an open case keeps it, closing the case moves the
status on (never leaving a 失联 member without an open case)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from app.errors import DomainError
from app.extensions import db
from app.followup import lost_contact
from app.followup.models import LostContactCase
from app.members import services
from app.members.models import Member
from app.timeutil import local_today
from tests.members.test_routes import edit_data

TODAY = local_today()


def _open(member, user):
    return lost_contact.open_case(
        member,
        user,
        kind="roster",
        reason="moved",
        reason_note=None,
        since=TODAY - timedelta(days=200),
        today=TODAY,
    )


def _close(case_, user, outcome):
    lost_contact.close_case(
        case_,
        user,
        outcome=outcome,
        note="已核实",
        closed_on=TODAY,
        expected_version=None,
        today=TODAY,
    )


def test_edit_form_refuses_lost_contact_with_a_link_to_open_a_case(client, auth, make_member):
    member = make_member(name="钱失联")
    auth.login_as("admin")
    form = client.get(f"/members/{member.id}/edit").get_data(as_text=True)
    assert f'href="/followup/lost/open/{member.id}"' in form
    data = edit_data(member, status="lost_contact", csrf_token=auth.token())
    response = client.post(f"/members/{member.id}/edit", data=data)
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "失联状态只能通过登记失联设置" in html
    assert f'href="/followup/lost/open/{member.id}"' in html
    db.session.expire_all()
    assert member.status == "active" and member.version == 1


def test_service_and_new_records_refuse_lost_contact(make_member, make_user):
    staff = make_user("staff")
    member = make_member()
    with pytest.raises(DomainError) as refused:
        services.update_member(member, {"status": "lost_contact"}, staff, member.version)
    assert "status" in refused.value.errors
    with pytest.raises(DomainError) as refused:
        services.create_member(
            {
                "name": "孙新",
                "id_number": "110101199003070011",
                "sex": "M",
                "status": "lost_contact",
            },
            staff,
        )
    assert "status" in refused.value.errors
    assert db.session.execute(select(Member.id).where(Member.name == "孙新")).first() is None


def test_opening_a_case_sets_it_and_the_form_cannot_leave_it_while_open(
    client, auth, make_member, make_user
):
    member = make_member(name="李在外")
    admin = auth.login_as("admin")
    case_ = _open(member, admin)
    db.session.commit()
    assert member.status == "lost_contact"
    form = client.get(f"/members/{member.id}/edit").get_data(as_text=True)
    assert f'href="/followup/lost/{case_.id}"' in form
    data = edit_data(member, status="active", csrf_token=auth.token())
    response = client.post(f"/members/{member.id}/edit", data=data)
    assert response.status_code == 422
    assert "有未结案的失联登记" in response.get_data(as_text=True)
    db.session.expire_all()
    assert member.status == "lost_contact"


@pytest.mark.parametrize(
    ("before", "outcome", "after"),
    [
        ("active", "restored", "active"),
        ("flowed_out", "other", "flowed_out"),  # 其他: back to the status before the case
        ("active", "other", "active"),
        ("active", "transferred", "transferred_out"),
    ],
)
def test_closing_a_case_never_leaves_the_member_lost(
    make_member, make_user, before, outcome, after
):
    staff = make_user("staff")
    member = make_member()
    if before != "active":
        services.update_member(member, {"status": before}, staff, member.version)
    case_ = _open(member, staff)
    db.session.commit()
    _close(case_, staff, outcome)
    db.session.commit()
    db.session.expire_all()
    assert case_.stage == "closed" and member.status == after


def test_suspension_is_recorded_on_the_open_case_not_by_closing_it(
    client, auth, make_member, make_user
):
    staff = make_user("staff")
    member = make_member()
    case_ = _open(member, staff)
    db.session.commit()
    with pytest.raises(DomainError) as refused:
        _close(case_, staff, "suspended")
    assert "停止党籍不结案" in refused.value.errors["outcome"]
    db.session.rollback()
    auth.login_as("admin")
    page = client.get(f"/followup/lost/{case_.id}").get_data(as_text=True)
    close_form = page[page.index('name="outcome"') :]
    close_form = close_form[: close_form.index("</select>")]
    assert 'value="suspended"' not in close_form and 'value="restored"' in close_form
    assert db.session.get(LostContactCase, case_.id).stage != "closed"
    assert db.session.get(Member, member.id).status == "lost_contact"
