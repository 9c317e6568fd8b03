"""A member who transfers in with a 组织关系介绍信: the letter is recorded from what the 组织关系转入
registration stored, its 回执 is printed for the issuing organization and its sending is tracked."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from app.audit.models import AuditEntry
from app.certificates.models import ReceivedLetter
from app.extensions import db
from app.members.models import Member
from app.timeutil import local_today
from tests.certificates.conftest import pdf_text
from tests.conftest import csrf_token
from tests.registration.test_review import _decide


def _approved_transfer_in(client, auth, register):
    reg = register("relation_transfer_in")
    auth.login_as("admin")
    assert _decide(client, reg, "approve").status_code == 200
    db.session.expire_all()
    return db.session.get(Member, reg.member_id)


def _post(client, path, **data):
    return client.post(path, data={"csrf_token": csrf_token(client, path), **data})


def test_the_letter_is_prefilled_recorded_and_its_reply_printed(client, auth, register, tmp_path):
    member = _approved_transfer_in(client, auth, register)
    path = f"/certificates/member/{member.id}/received"
    form = client.get(path).get_data(as_text=True)
    assert 'value="甘组转字2026第017号"' in form and 'value="金昌市第二中学党支部"' in form
    assert f'value="{local_today().isoformat()}"' in form  # the day the transfer-in was approved

    response = _post(
        client,
        path,
        number="甘组转字2026第017号",
        from_org_name="金昌市第二中学党支部",
        received_on=local_today().isoformat(),
    )
    assert response.status_code == 303
    letter = db.session.execute(select(ReceivedLetter)).scalar_one()
    assert letter.member_id == member.id and letter.reply_sent_on is None
    assert "回执待寄出" in client.get(f"/certificates/member/{member.id}").get_data(as_text=True)

    pdf = client.get(f"/certificates/received/{letter.id}/reply.pdf")
    assert pdf.status_code == 200 and pdf.mimetype == "application/pdf"
    text = pdf_text(pdf.data, tmp_path).replace(" ", "")
    assert "介绍信回执" in text and "甘组转字2026第017号" in text
    assert "金昌市第二中学党支部" in text and member.name in text and "特此回复" in text

    sent = _post(client, f"/certificates/received/{letter.id}", sent_on=local_today().isoformat())
    assert sent.status_code == 303
    db.session.expire_all()
    assert letter.reply_sent_on == local_today()
    page = client.get(f"/certificates/member/{member.id}").get_data(as_text=True)
    assert "回执已于" in page
    actions = set(db.session.execute(select(AuditEntry.action)).scalars())
    assert {"received_letter_record", "received_letter_print", "received_letter_reply"} <= actions


def test_bad_input_is_answered_next_to_the_field(client, auth, register):
    member = _approved_transfer_in(client, auth, register)
    path = f"/certificates/member/{member.id}/received"
    future = (local_today() + timedelta(days=2)).isoformat()
    response = _post(
        client, path, number="甘组转字2026第017号", from_org_name="某支部", received_on=future
    )
    html = response.get_data(as_text=True)
    assert response.status_code == 422 and "收到日期不能晚于今天" in html
    assert 'value="某支部"' in html  # what the user typed is kept
    today = local_today().isoformat()
    assert (
        _post(client, path, number="A-1", from_org_name="某支部", received_on=today).status_code
        == 303
    )
    again = _post(client, path, number="A-1", from_org_name="某支部", received_on=today)
    assert again.status_code == 422 and "已经登记过" in again.get_data(as_text=True)
    letter = db.session.execute(select(ReceivedLetter)).scalar_one()
    early = (letter.received_on - timedelta(days=1)).isoformat()
    refused = _post(client, f"/certificates/received/{letter.id}", sent_on=early)
    assert refused.status_code == 422 and "寄出日期应在" in refused.get_data(as_text=True)
