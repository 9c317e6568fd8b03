"""Defects a new user trips over on the certificate pages (issue 12: items 1, 3, 9, 10, 20)."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import select

from app.audit.models import AuditEntry
from app.certificates import services, trips
from app.extensions import db
from app.members.models import Member
from app.settings import get_setting
from app.timeutil import local_today

TODAY = local_today()


def _staff(auth, staff_of, tree):
    auth.login(staff_of(org=tree["committee"]).username)


# ---- item 1: a rule's message on a date field is not replaced by the date-format message -------


def test_short_trip_shows_the_rule_not_the_date_format(client, auth, staff_of, tree, away):
    _staff(auth, staff_of, tree)
    response = client.post(
        f"/certificates/issue/{away.id}",
        data={
            "csrf_token": auth.token(f"/certificates/issue/{away.id}"),
            "left_on": TODAY.isoformat(),
            "expected_return": (TODAY + timedelta(days=60)).isoformat(),
            "destination": "广东省深圳市南山区",
            "liaison": "",
            "issued_on": TODAY.isoformat(),
        },
        headers={"HX-Request": "true"},
    )
    assert response.status_code == 422
    body = response.get_data(as_text=True)
    assert "外出不满 6 个月的党员无需办理活动证" in body
    assert "年-月-日" not in body


def test_badly_typed_date_still_gets_the_date_format_message(client, auth, staff_of, tree, away):
    _staff(auth, staff_of, tree)
    response = client.post(
        f"/certificates/issue/{away.id}",
        data={
            "csrf_token": auth.token(f"/certificates/issue/{away.id}"),
            "left_on": TODAY.isoformat(),
            "expected_return": "2027-02-31",
            "destination": "深圳",
            "issued_on": TODAY.isoformat(),
        },
        headers={"HX-Request": "true"},
    )
    body = response.get_data(as_text=True)
    assert response.status_code == 422 and "请按 年-月-日 填写日期" in body
    assert "Not a valid" not in body


def test_record_incoming_shows_the_rule_under_the_date(client, auth, staff_of, tree, make_member):
    newcomer = make_member(
        name="李流入",
        building=tree["building_a"],
        mobility="flow_in",
        mobility_place="甘肃省天水市",
        mobility_since=TODAY - timedelta(days=90),
        relation_location="elsewhere",
        relation_org_name="天水市某村党支部",
    )
    _staff(auth, staff_of, tree)
    response = client.post(
        f"/certificates/record/{newcomer.id}",
        data={
            "csrf_token": auth.token(f"/certificates/record/{newcomer.id}"),
            "number": "TS2025-0042",
            "issuing_org_name": "中共天水市某村党支部",
            "issued_on": (TODAY - timedelta(days=100)).isoformat(),
            "valid_until": (TODAY - timedelta(days=200)).isoformat(),
        },
    )
    body = response.get_data(as_text=True)
    assert response.status_code == 422 and "有效期应晚于发证日期" in body
    assert "年-月-日" not in body


# The card rule (trips.trip_length_errors) and the list query (trips.card_trip_clause) agree.
# (left, expected_return, open_ended) relative to today, threshold 6 months.
D = TODAY
NEXT = D.year + 1  # a planned trip next year: only the planned length counts
TRIPS = [
    ("planned return 2 months away", D, D + timedelta(days=60), False, False),
    ("planned return 7 months away", D - timedelta(days=20), D + timedelta(days=200), False, True),
    ("exactly 6 months planned", date(NEXT, 1, 15), date(NEXT, 7, 15), False, True),
    ("one day short of 6 months", date(NEXT, 1, 15), date(NEXT, 7, 14), False, False),
    ("away 7 months, return soon", D - timedelta(days=213), D + timedelta(days=5), False, True),
    ("away 7 months, no return", D - timedelta(days=213), None, False, True),
    ("away 1 month, no return", D - timedelta(days=31), None, False, False),
    ("open-ended from today", D, None, True, True),
    (
        "planned trip in the future, long",
        D + timedelta(days=30),
        D + timedelta(days=400),
        False,
        True,
    ),
    (
        "planned trip in the future, short",
        D + timedelta(days=30),
        D + timedelta(days=60),
        False,
        False,
    ),
]


@pytest.mark.parametrize(("label", "left", "back", "open_ended", "needs_card"), TRIPS)
def test_card_rule_and_list_query_agree(
    app, make_member, tree, label, left, back, open_ended, needs_card
):
    rule = trips.trip_length_errors(
        {"left_on": left, "expected_return": back, "open_ended": open_ended, "issued_on": TODAY}
    )
    assert (not rule) == needs_card, label
    member = make_member(
        name="外出甲",
        building=tree["building_a"],
        mobility="flow_out",
        mobility_place="深圳",
        mobility_since=left,
        mobility_expected_return=back,
        mobility_open_ended=open_ended,
    )
    threshold = int(get_setting("flow_out_coordinated_months"))
    found = db.session.execute(
        select(Member.id).where(Member.id == member.id, trips.card_trip_clause(threshold, TODAY))
    ).scalar()
    assert (found is not None) == needs_card, label


def test_candidates_list_leaves_out_short_trips(client, auth, staff_of, tree, away, make_member):
    short = make_member(
        name="短期外出",
        building=tree["building_a"],
        mobility="flow_out",
        mobility_place="兰州",
        mobility_since=TODAY,
        mobility_expected_return=TODAY + timedelta(days=60),
    )
    _staff(auth, staff_of, tree)
    html = client.get("/certificates/").get_data(as_text=True)
    section = html.split("待发证的外出党员")[1].split("</section>")[0]
    assert f"/certificates/issue/{away.id}" in section
    assert f"/certificates/issue/{short.id}" not in section and "短期外出" not in section


# ---- item 3: "本证已已交回" -------------------------------------------------------------------


def test_closed_card_page_says_its_status_once(client, auth, staff_of, tree, away, issue):
    cert = issue(away)
    services.close(cert, None, "returned", "外出返回")
    db.session.commit()
    _staff(auth, staff_of, tree)
    html = client.get(f"/certificates/{cert.id}").get_data(as_text=True)
    assert "已已" not in html
    assert "本证已交回" in html


# ---- item 9: the transfer letter carries the member's full phone; printing it is audited --------


def test_transfer_letter_prints_the_full_phone_and_is_audited(
    client, auth, staff_of, tree, make_member, tmp_path
):
    from app.certificates import letters
    from tests.certificates.conftest import pdf_text

    member = make_member(name="赵转出", building=tree["building_a"], phone="17712344477")
    letter = letters.issue_transfer_letter(
        member, {"to_org_name": "深圳某党支部", "dues_paid_until": None, "valid_days": 30}, None
    )
    db.session.commit()
    _staff(auth, staff_of, tree)
    response = client.get(f"/certificates/transfer/{letter.id}/pdf")
    assert response.status_code == 200
    text = "".join(pdf_text(response.data, tmp_path).split())
    assert "17712344477" in text and "177****4477" not in text
    [entry] = db.session.execute(
        select(AuditEntry).where(AuditEntry.action == "transfer_letter_print")
    ).scalars()
    assert entry.object_id == str(letter.id)


# ---- item 10: 住址 does not repeat the room ------------------------------------------------------


def test_member_card_and_documents_do_not_repeat_the_room(
    client, auth, staff_of, tree, make_member, tmp_path
):
    from app.certificates import documents
    from tests.certificates.conftest import pdf_text

    member = make_member(
        name="钱住户",
        building=tree["building_a"],
        room="1单元503",
        address="兰州市城关区文苑小区2号楼1单元503",
    )
    _staff(auth, staff_of, tree)
    html = client.get(f"/members/{member.id}").get_data(as_text=True)
    assert "兰州市城关区文苑小区2号楼1单元503" in html
    assert "1单元503 1单元503" not in html and "1单元503 室" not in html
    [row] = documents.member_rows([member])
    assert row["address"] == "兰州市城关区文苑小区2号楼1单元503"
    pdf = documents.html_to_pdf(documents.contact_cards_html([member]))
    text = "".join(pdf_text(pdf, tmp_path).split())
    assert text.count("1单元503") == 1


# ---- item 20: the verify page says what to compare with an A4 print and with an A5 print -------


def test_verify_page_fingerprint_matches_both_layouts(client, away, issue, tmp_path):
    from app.certificates import documents
    from app.certificates.signing import token_for
    from tests.certificates.conftest import pdf_text

    cert = issue(away)
    html = client.get(f"/verify/{token_for(cert)}").get_data(as_text=True)
    fingerprint = documents.certificate_fingerprint(cert)
    assert len(fingerprint.replace(" ", "")) == 16
    assert "证件数据指纹" in html and fingerprint in html
    assert "A5 折页本 PDF 文件的 SHA-256" in html and cert.pdf_sha256 in html
    assert "A4" in html
    for layout in ("a4", "a5"):
        text = pdf_text(documents.certificate_pdf(cert, layout=layout), tmp_path)
        assert fingerprint in text, layout
    # the fingerprint is of the data: a change to what is printed changes it
    cert.destination = "上海市浦东新区"
    assert documents.certificate_fingerprint(cert) != fingerprint
