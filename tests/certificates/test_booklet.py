"""The A5 折页本 as a booklet (issue 12 item 18): A4 landscape sheets, two A5 pages a side,
in folding order for duplex printing (short-edge flip), so two sheets folded once make the
eight-page booklet; the detail page says how to print it."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from app.certificates import documents
from app.certificates.blueprint import LAYOUTS
from tests.certificates.test_routes import _staff

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
A4_LANDSCAPE = (841.89, 595.28)  # points

# (sheet side, left page, right page): 8|1, 2|7 on the first sheet, 6|3, 4|5 on the second.
FOLDING_ORDER = [(1, 8, 1), (2, 2, 7), (3, 6, 3), (4, 4, 5)]
# What identifies each of the eight booklet pages.
PAGE_TEXT = {
    1: "中国共产党",  # the cover
    2: "贴照片处",  # the holder's data
    3: "持证须知",
    4: "参加组织生活记录",
    5: "交纳党费记录",
    6: "民主评议记录",
    7: "经办人签字",  # 备注
    8: "拾到本证",  # the back cover
}


def _pdfinfo(path: Path) -> str:
    return subprocess.run(
        ["pdfinfo", "-f", "1", "-l", "99", str(path)], capture_output=True, text=True, check=True
    ).stdout


def _half(path: Path, page: int, side: str) -> str:
    """The text of the left or right half of one sheet side."""
    x = 0 if side == "left" else int(A4_LANDSCAPE[0] / 2)
    out = subprocess.run(
        [
            "pdftotext",
            "-f",
            str(page),
            "-l",
            str(page),
            "-x",
            str(x),
            "-y",
            "0",
            "-W",
            str(int(A4_LANDSCAPE[0] / 2)),
            "-H",
            str(int(A4_LANDSCAPE[1])),
            str(path),
            "-",
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return re.sub(r"\s+", "", out)


def test_booklet_is_a4_landscape_two_up_in_folding_order(app, away, issue, tmp_path):
    cert = issue(away)
    path = tmp_path / "booklet.pdf"
    path.write_bytes(documents.certificate_pdf(cert, layout="booklet"))
    info = _pdfinfo(path)
    assert re.search(r"^Pages:\s+4$", info, re.M)  # 8 A5 pages = 2 sheets, both sides
    sizes = re.findall(r"Page\s+\d+ size:\s+([\d.]+) x ([\d.]+) pts", info)
    assert len(sizes) == 4
    for width, height in sizes:
        assert float(width) == pytest.approx(A4_LANDSCAPE[0], abs=1)
        assert float(height) == pytest.approx(A4_LANDSCAPE[1], abs=1)
    for sheet_side, left, right in FOLDING_ORDER:
        left_text, right_text = _half(path, sheet_side, "left"), _half(path, sheet_side, "right")
        assert PAGE_TEXT[left] in left_text, (sheet_side, left, left_text[:80])
        assert PAGE_TEXT[right] in right_text, (sheet_side, right, right_text[:80])
        for other, text in PAGE_TEXT.items():
            if other not in (left, right):
                assert text not in left_text + right_text, (sheet_side, other)
    # The holder's data is on it as on the plain A5 card.
    data = _half(path, 2, "left")
    assert cert.number in data and "张晓明" in data
    subprocess.run(["pdftoppm", "-r", "60", "-png", str(path), str(tmp_path / "s")], check=True)
    ARTIFACTS.mkdir(exist_ok=True)
    for png in sorted(tmp_path.glob("s*.png")):
        shutil.copy(png, ARTIFACTS / f"certificate-booklet-{png.stem}.png")


def test_plain_a5_and_a4_are_unchanged(app, away, issue, tmp_path):
    cert = issue(away)
    for layout, pages in (("a5", 6), ("a4", 3)):
        path = tmp_path / f"{layout}.pdf"
        path.write_bytes(documents.certificate_pdf(cert, layout=layout))
        assert re.search(rf"^Pages:\s+{pages}$", _pdfinfo(path), re.M), layout


def test_detail_page_offers_the_booklet_with_printing_advice(
    client, auth, staff_of, tree, away, issue
):
    assert list(LAYOUTS) == ["a5", "booklet", "a4"]
    _staff(auth, staff_of, tree)
    cert = issue(away)
    html = client.get(f"/certificates/{cert.id}").get_data(as_text=True)
    assert f"/certificates/{cert.id}/pdf?layout=booklet" in html
    assert "A5 折页本" in html
    for advice in ("双面打印", "短边翻转", "对折"):
        assert advice in html
    response = client.get(f"/certificates/{cert.id}/pdf?layout=booklet")
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    assert "booklet" in response.headers["Content-Disposition"]
