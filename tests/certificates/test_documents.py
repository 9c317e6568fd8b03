"""Every printed document: Chinese text, masking, embedded CJK font, QR round trip, fetcher."""

from __future__ import annotations

import re
import shutil
import subprocess
from datetime import date
from pathlib import Path

import pytest

from app.certificates import documents, letters, services
from app.certificates.engine import BASE_URL, LocalFetcher, RefusedURL, html_to_pdf
from app.crypto import decrypt
from app.dual.queries import parse_period
from app.extensions import db
from app.settings import Setting
from tests.certificates.conftest import pdf_text

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
FULL_ID = re.compile(r"\d{17}[\dX]")


def _no_full_id(text: str, member) -> None:  # noqa: ANN001
    flat = re.sub(r"\s+", "", text)
    assert decrypt(member.id_number_enc) not in flat
    assert not FULL_ID.search(flat)


def _fonts(pdf: bytes, tmp_path: Path) -> str:
    path = tmp_path / "fonts.pdf"
    path.write_bytes(pdf)
    return subprocess.run(
        ["pdffonts", str(path)], capture_output=True, text=True, check=True
    ).stdout


@pytest.mark.parametrize("layout", ["a5", "a4"])
def test_certificate_text_fonts_and_masking(app, away, issue, tmp_path, layout):
    cert = issue(away, liaison_name="王联络", liaison_phone="13900001111")
    pdf = documents.certificate_pdf(cert, layout=layout)
    text = pdf_text(pdf, tmp_path)
    for expected in (
        "流动党员活动证",
        "张晓明",
        cert.number,
        cert.short_code,
        "广东省深圳市南山区",
        "软件工程师",
        "王联络",
        "发证党组织",
        "盖",
        "参加组织生活记录",
        "交纳党费记录",
        "民主评议记录",
        "查验记录",
        "不参加流入地党组织的选举和表决",
        "贴照片处",
        f"{away.id_prefix6}********{away.id_last4}",
    ):
        assert expected in re.sub(r"\s+", "", text), expected
    _no_full_id(text, away)
    fonts = _fonts(pdf, tmp_path)
    assert "Noto-Sans-CJK-SC" in fonts and "yes yes" in fonts  # embedded, subset
    assert "Type 3" not in fonts


def test_full_id_printed_only_when_setting_says_so(app, away, issue, tmp_path):
    cert = issue(away)
    db.session.add(Setting(key="print_full_id_number", value=True))
    db.session.commit()
    text = pdf_text(documents.certificate_pdf(cert, layout="a4"), tmp_path)
    assert decrypt(away.id_number_enc) in re.sub(r"\s+", "", text)


def test_issued_pdf_is_reproducible_and_hash_matches(app, away, issue):
    import hashlib

    cert = issue(away)
    pdf = documents.certificate_pdf(cert, layout="a5")
    assert hashlib.sha256(pdf).hexdigest() == cert.pdf_sha256


@pytest.mark.skipif(not shutil.which("zbarimg"), reason="zbar-tools missing")
def test_qr_round_trip_valid_then_revoked(app, client, away, issue, tmp_path):
    cert = issue(away)
    pdf = tmp_path / "cert.pdf"
    pdf.write_bytes(documents.certificate_pdf(cert, layout="a4"))
    subprocess.run(
        ["pdftoppm", "-r", "150", "-f", "1", "-l", "1", "-png", str(pdf), str(tmp_path / "page")],
        check=True,
    )
    png = next(tmp_path.glob("page*.png"))
    ARTIFACTS.mkdir(exist_ok=True)
    shutil.copy(png, ARTIFACTS / "certificate-a4-page1.png")
    decoded = subprocess.run(
        ["zbarimg", "--quiet", "--raw", str(png)], capture_output=True, text=True, check=True
    ).stdout.strip()
    assert "/verify/" in decoded
    path = decoded[decoded.index("/verify/") :]
    assert "证件真实有效" in client.get(path).get_data(as_text=True)
    services.close(cert, None, "revoked", "持证人违纪")
    db.session.commit()
    assert "该证件已注销" in client.get(path).get_data(as_text=True)


def test_a5_booklet_png_artifact(app, away, issue, tmp_path):
    cert = issue(away)
    pdf = tmp_path / "booklet.pdf"
    pdf.write_bytes(documents.certificate_pdf(cert, layout="a5"))
    subprocess.run(["pdftoppm", "-r", "80", "-png", str(pdf), str(tmp_path / "b")], check=True)
    pages = sorted(tmp_path.glob("b*.png"))
    assert len(pages) == 6  # cover, personal page, notes, org life, dues, appraisal + checks
    ARTIFACTS.mkdir(exist_ok=True)
    shutil.copy(pages[1], ARTIFACTS / "certificate-a5-personal-page.png")


def test_registration_receipt(app, tree, tmp_path):
    from app.crypto import encrypt
    from app.registration.models import Registration
    from app.timeutil import utcnow
    from tests.members.conftest import id_number

    number = id_number(date(1990, 5, 6), 11)
    registration = Registration(
        tracking_code="BD7K2Q9M",
        kind="in_service_report",
        status="submitted",
        data={"work_unit": "金川集团公司"},
        name="李红梅",
        id_number_enc=encrypt(number),
        phone="13712345678",
        community_id=tree["community"].id,
        grid_id=tree["grid_a"].id,
        building_id=tree["building_a"].id,
        created_at=utcnow(),
    )
    text = pdf_text(documents.render_registration_receipt(registration), tmp_path)
    for expected in (
        "党员报到回执",
        "BD7K2Q9M",
        "李红梅",
        "在职党员到社区报到",
        "金川社区",
        "金川集团公司",
        "137****5678",
    ):
        assert expected in text, expected
    assert number not in text and number[:6] + "********" + number[-4:] in text


def test_contact_card_feedback_sheet_and_roster(app, make_member, tree, tmp_path):
    members = [
        make_member(
            name=f"在职{i}",
            building=tree["building_a"],
            employment="in_service",
            relation_location="work_unit",
            work_unit="市第一中学",
            work_unit_org="市第一中学党总支",
        )
        for i in range(3)
    ]
    text = pdf_text(html_to_pdf(documents.contact_cards_html(members)), tmp_path)
    assert "在职党员社区联系卡" in text and "市第一中学" in text and "在职2" in text
    text = pdf_text(
        html_to_pdf(documents.feedback_sheets_html(members, parse_period("2026H2"))), tmp_path
    )
    assert text.count("在职党员社区表现反馈单") == 3 and "2026年下半年" in text
    assert "市第一中学党总支" in text
    text = pdf_text(
        html_to_pdf(documents.roster_html(members, "第一小区党支部 党员名册")), tmp_path
    )
    assert "第一小区党支部 党员名册" in text and "在职0" in text
    for m in members:
        _no_full_id(text, m)
        assert m.phone not in text


def test_transfer_letter_has_three_parts(app, away, tmp_path):
    letter = letters.issue_transfer_letter(
        away, {"to_org_name": "中共深圳市南山区粤海街道工委", "valid_days": 30}, None
    )
    db.session.commit()
    text = pdf_text(documents.transfer_letter_pdf(letter), tmp_path)
    assert "（存根）" in text and "（回执）" in text and "请接洽" in text
    assert text.count(letter.number) == 3
    assert "有效期 30 天" in text
    _no_full_id(text, away)


@pytest.mark.parametrize(
    "url",
    [
        "file:///etc/passwd",
        "http://example.com/x.png",
        "https://example.com/x.png",
        f"{BASE_URL}static/../../config.py",
        f"{BASE_URL}fonts/../linli.db",
        f"{BASE_URL}instance/linli.db",
        "data:text/plain,hello",
        f"{BASE_URL}static/css/app.css?x=1",
    ],
)
def test_fetcher_refuses_foreign_urls(url):
    with pytest.raises(RefusedURL):
        LocalFetcher().fetch(url)


def test_fetcher_serves_own_static_and_fonts():
    assert LocalFetcher().fetch(f"{BASE_URL}static/css/app.css").read()
    assert (
        LocalFetcher().fetch(f"{BASE_URL}fonts/NotoSansSC-Regular.otf").content_type == "font/otf"
    )


def test_document_cannot_fetch_local_files(app, tmp_path):
    """An <img> pointing at a local file is refused: nothing of it reaches the PDF."""
    secret = tmp_path / "secret.png"
    subprocess.run(["pdftoppm", "-h"], capture_output=True, check=False)
    secret.write_bytes(b"not an image")
    html = f'<html><body><p>测试</p><img src="file://{secret}"><img src="http://127.0.0.1:9/x.png"></body></html>'
    pdf = html_to_pdf(html)
    assert b"not an image" not in pdf and pdf.startswith(b"%PDF")


@pytest.mark.parametrize(("layout", "own", "shared"), [("a4", 1, 2), ("a5", 2, 4)])
def test_batch_interleaves_shared_pages(app, away, issue, tmp_path, layout, own, shared):
    from app.certificates.engine import html_to_pdf_interleaved

    cert = issue(away)
    ctx = documents.certificate_context(cert)
    unique = documents.certificates_html([ctx, ctx], layout, part="unique")
    common = documents.certificates_html([{}], layout, part="shared")
    assert documents.UNIQUE_PAGES[layout] == own
    pdf = html_to_pdf_interleaved(unique, common, own, 2)
    pages = pdf_text(pdf, tmp_path).split("\f")[:-1]
    assert len(pages) == 2 * (own + shared)
    for card in range(2):
        first = card * (own + shared)
        assert cert.number in pages[first + own - 1]
        assert "查验记录" in pages[first + own + shared - 1]
    # a card that does not fit its pages is reported, so the job prints that chunk whole
    assert html_to_pdf_interleaved(unique, common, own, 3) is None
