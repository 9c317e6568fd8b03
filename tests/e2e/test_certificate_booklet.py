"""The A5 折页本 on the certificate page (issue 12 item 18), on a phone and a desktop: the
booklet is offered next to the plain A5 and A4 prints, with how to print and fold it, and
its PDF is two A4 landscape sheets printed on both sides."""

from __future__ import annotations

import re
import subprocess

from playwright.sync_api import Page, expect

from tests.e2e.test_certificates import cert_world  # noqa: F401 - the fixture


def test_booklet_print_with_advice(page: Page, login, shot, cert_world, tmp_path, base_url):  # noqa: F811
    w = cert_world
    login(w["username"])
    page.goto("/certificates/")
    page.locator(".cert-candidates li", has_text=w["name"]).get_by_role("link", name="发证").click()
    page.get_by_label("联络人", exact=True).select_option(label=f"{w['staff_name']}（工作人员）")
    page.get_by_role("button", name="发证").click()
    expect(page.locator("#flash")).to_contain_text("已发证")
    booklet = page.get_by_role("link", name="打印 A5 折页本")
    expect(booklet).to_be_visible()
    expect(page.get_by_role("link", name="打印 A5 单页")).to_be_visible()
    advice = page.locator(".print-advice")
    for words in ("双面打印", "短边翻转", "对折"):
        expect(advice).to_contain_text(words)
    width = page.viewport_size["width"]
    box = advice.bounding_box()
    assert box["x"] >= 0 and box["x"] + box["width"] <= width
    shot("detail")
    response = page.request.get(base_url + booklet.get_attribute("href"))
    assert response.ok and response.body().startswith(b"%PDF")
    (tmp_path / "b.pdf").write_bytes(response.body())
    info = subprocess.run(
        ["pdfinfo", str(tmp_path / "b.pdf")], capture_output=True, text=True, check=True
    ).stdout
    assert re.search(r"^Pages:\s+4$", info, re.M)
    assert re.search(r"^Page size:\s+841\.\d+ x 595\.\d+ pts", info, re.M)  # A4 landscape
