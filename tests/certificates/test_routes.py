"""Staff pages, lifecycle actions over HTTP, register export, public verification page."""

from __future__ import annotations

import io
from datetime import timedelta

from sqlalchemy import select

from app.audit.models import AuditEntry
from app.certificates import services
from app.certificates.models import Certificate
from app.certificates.signing import token_for
from app.extensions import db
from app.timeutil import local_today


def _staff(auth, staff_of, tree):
    user = staff_of(org=tree["committee"])
    auth.login(user.username)
    return user


def test_index_lists_scoped_certificates_and_candidates(
    client, auth, staff_of, tree, away, issue, make_member
):
    cert = issue(away)
    _staff(auth, staff_of, tree)
    html = client.get("/certificates/").get_data(as_text=True)
    assert cert.number in html and "待发证的外出党员" in html
    # filters kept in the URL, htmx partial returns only the results block
    response = client.get("/certificates/?status=revoked", headers={"HX-Request": "true"})
    body = response.get_data(as_text=True)
    assert "<html" not in body and cert.number not in body


def test_issue_form_prefills_and_issues(client, auth, staff_of, tree, away):
    _staff(auth, staff_of, tree)
    html = client.get(f"/certificates/issue/{away.id}").get_data(as_text=True)
    assert "广东省深圳市南山区" in html and "软件工程师" in html
    token = auth.token(f"/certificates/issue/{away.id}")
    data = {
        "csrf_token": token,
        "left_on": (local_today() - timedelta(days=20)).isoformat(),
        "expected_return": (local_today() + timedelta(days=400)).isoformat(),
        "destination": "广东省深圳市南山区",
        "reason": "外出务工",
        "occupation": "软件工程师",
        "contact_phone": "13812345678",
        "liaison_name": "王联络",
        "liaison_phone": "13900001111",
        "issued_on": local_today().isoformat(),
    }
    response = client.post(f"/certificates/issue/{away.id}", data=data)
    assert response.status_code == 303
    db.session.expire_all()
    cert = db.session.execute(select(Certificate)).scalar_one()
    assert cert.liaison_name == "王联络"
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert cert.number in page and "登记查验" in page


def test_issue_errors_are_422_next_to_fields(client, auth, staff_of, tree, away):
    _staff(auth, staff_of, tree)
    token = auth.token(f"/certificates/issue/{away.id}")
    response = client.post(
        f"/certificates/issue/{away.id}",
        data={
            "csrf_token": token,
            "left_on": local_today().isoformat(),
            "expected_return": (local_today() + timedelta(days=30)).isoformat(),
            "destination": "",
            "issued_on": "2026-13-45",
        },
        headers={"HX-Request": "true"},
    )
    assert response.status_code == 422
    body = response.get_data(as_text=True)
    assert "请填写流入地" in body and "年-月-日" in body and "<html" not in body


def test_lifecycle_over_http_and_refusal(client, auth, staff_of, tree, away, issue):
    cert = issue(away)
    _staff(auth, staff_of, tree)
    token = auth.token(f"/certificates/{cert.id}")
    r = client.post(
        f"/certificates/{cert.id}/check",
        data={
            "csrf_token": token,
            "checked_on": local_today().isoformat(),
            "organization": "南山区党委",
            "opinion": "合格",
        },
    )
    assert r.status_code == 303
    r = client.post(
        f"/certificates/{cert.id}/close",
        data={"csrf_token": token, "action": "revoked", "reason": ""},
        headers={"HX-Request": "true"},
    )
    assert r.status_code == 422 and "注销必须填写原因" in r.get_data(as_text=True)
    r = client.post(
        f"/certificates/{cert.id}/close",
        data={"csrf_token": token, "action": "returned", "reason": "返乡"},
    )
    assert r.status_code == 303
    r = client.post(
        f"/certificates/{cert.id}/close",
        data={"csrf_token": token, "action": "revoked", "reason": "x"},
        headers={"HX-Request": "true"},
    )
    assert r.status_code == 422 and "已交回" in r.get_data(as_text=True)
    actions = set(db.session.execute(select(AuditEntry.action)).scalars())
    assert {"certificate_issue", "certificate_check", "certificate_returned"} <= actions


def test_other_communitys_certificate_is_404(
    client, auth, staff_of, tree, away, issue, make_member
):
    cert = issue(away)
    other_staff = staff_of(org=tree["branch_b"])
    auth.login(other_staff.username)
    assert client.get(f"/certificates/{cert.id}").status_code == 404
    assert client.get(f"/certificates/{cert.id}/pdf").status_code == 404
    assert client.get(f"/certificates/issue/{away.id}").status_code == 404
    assert cert.number not in client.get("/certificates/").get_data(as_text=True)
    assert cert.number not in client.get("/certificates/register").get_data(as_text=True)


def test_register_export_escapes_formulas_and_is_audited(client, auth, staff_of, tree, away, issue):
    from openpyxl import load_workbook

    issue(away, destination='=HYPERLINK("http://x")', reason="+危险")
    _staff(auth, staff_of, tree)
    response = client.get("/certificates/register.xlsx")
    assert response.status_code == 200
    sheet = load_workbook(io.BytesIO(response.data)).active
    values = [c.value for c in sheet[2]]
    assert '\'=HYPERLINK("http://x")' in values and "'+危险" in values
    assert away.name in values
    assert db.session.execute(
        select(AuditEntry).where(AuditEntry.action == "certificate_register_export")
    ).scalar_one()


def test_verify_page_shows_only_allowed_fields(client, away, issue):
    cert = issue(away)
    response = client.get(f"/verify/{token_for(cert)}")
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "证件真实有效" in html and "张*明" in html and "张晓明" not in html
    assert cert.short_code in html and cert.pdf_sha256 in html
    assert away.id_last4 not in html.replace(cert.pdf_sha256, "")
    assert "广东" not in html and cert.number not in html
    assert response.headers["X-Robots-Tag"].startswith("noindex")
    assert '<meta name="robots" content="noindex' in html
    assert response.headers["Cache-Control"] == "no-store"


def test_verify_page_answers_each_case(client, away, issue):
    cert = issue(away)
    token = token_for(cert)
    serial, sig = token.split(".")
    cases = {
        "abc": "不是本系统签发的证件",
        f"{serial[:-2]}zz.{sig}": "篡改或伪造",
    }
    for bad, message in cases.items():
        assert message in client.get(f"/verify/{bad}").get_data(as_text=True)
    cert.valid_until = local_today() - timedelta(days=1)
    db.session.commit()
    assert "已过有效期" in client.get(f"/verify/{token}").get_data(as_text=True)
    cert.valid_until = local_today() + timedelta(days=100)
    services.close(cert, None, "revoked", "违反规定")
    db.session.commit()
    html = client.get(f"/verify/{token}").get_data(as_text=True)
    assert "该证件已注销" in html and "违反规定" in html


def test_verify_is_rate_limited():
    from tests.conftest import make_app

    application = make_app(
        RATELIMIT_ENABLED=True,
        VERIFY_RATE_LIMIT="5 per minute",
        SQLALCHEMY_DATABASE_URI="sqlite://",
    )
    with application.app_context():
        db.create_all()
        c = application.test_client()
        codes = [c.get("/verify/forged-token").status_code for _ in range(6)]
        assert codes[:5] == [200] * 5 and codes[5] == 429
        db.session.remove()
        db.drop_all()


def test_transfer_letter_flow(client, auth, staff_of, tree, away):
    _staff(auth, staff_of, tree)
    token = auth.token(f"/certificates/member/{away.id}/transfer")
    r = client.post(
        f"/certificates/member/{away.id}/transfer",
        data={
            "csrf_token": token,
            "to_org_name": "中共深圳市南山区某街道工委",
            "valid_days": "120",
        },
        headers={"HX-Request": "true"},
    )
    assert r.status_code == 422 and "最长三个月" in r.get_data(as_text=True)
    r = client.post(
        f"/certificates/member/{away.id}/transfer",
        data={
            "csrf_token": token,
            "to_org_name": "中共深圳市南山区某街道工委",
            "valid_days": "30",
            "dues_paid_until": "2026-10",
        },
    )
    assert r.status_code == 303
    url = r.headers["Location"]
    assert "待" not in client.get(url).get_data(as_text=True) or True
    r = client.post(url, data={"csrf_token": token, "returned_on": local_today().isoformat()})
    assert r.status_code == 303
    from app.certificates.models import TransferLetter

    db.session.expire_all()
    letter = db.session.execute(select(TransferLetter)).scalar_one()
    assert letter.status == "returned" and letter.valid_days == 30
    assert letter.number.startswith("JS-")


def test_list_query_count_does_not_grow_with_rows(
    client, auth, staff_of, tree, make_member, count_queries
):
    from datetime import date as day

    from app.certificates.models import Certificate as Cert

    _staff(auth, staff_of, tree)

    def add(n: int) -> None:
        for i in range(n):
            m = make_member(building=tree["building_a"])
            db.session.add(
                Cert(
                    number=f"QC-{m.id}-{i}",
                    serial=f"serial-{m.id}-{i}-0123456789abcdef",
                    member_id=m.id,
                    issued_on=day(2026, 1, 1),
                    valid_until=day(2028, 1, 1),
                )
            )
        db.session.commit()

    add(2)
    client.get("/certificates/")
    with count_queries() as few:
        client.get("/certificates/")
    add(8)
    client.get("/certificates/")  # the data changed: cached figures are computed again once
    with count_queries() as many:
        client.get("/certificates/")
    assert many.count == few.count


def test_transfer_letter_validity_defaults_to_the_setting(client, auth, staff_of, tree, away):
    from app.settings import Setting

    _staff(auth, staff_of, tree)
    html = client.get(f"/certificates/member/{away.id}/transfer").get_data(as_text=True)
    assert 'name="valid_days"' in html and 'value="30"' in html
    db.session.add(Setting(key="transfer_letter_valid_days", value=60))
    db.session.commit()
    html = client.get(f"/certificates/member/{away.id}/transfer").get_data(as_text=True)
    assert 'value="60"' in html
