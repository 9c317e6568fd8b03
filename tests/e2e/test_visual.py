"""Screenshots of the main pages for visual review, plus layout checks a phone user would feel.

The PNGs land in ``test-artifacts/e2e/test_key_pages_look_right-<viewport>-<page>.png``.
"""

from __future__ import annotations

import re

from playwright.sync_api import Page, expect

# No horizontal scrolling of the page itself; controls big enough for a thumb on phones.
LAYOUT_PROBE = """(phone) => {
  const doc = document.scrollingElement;
  const small = [];
  if (phone) {
    for (const el of document.querySelectorAll(
        "main a.btn, main button, main input:not([type=hidden]), main select, .topbar a, .topbar button")) {
      const box = el.getBoundingClientRect();
      if (box.width && box.height < 43.5) small.push(`${el.tagName} "${el.textContent.trim()}" ${box.height}`);
    }
  }
  return {overflow: doc.scrollWidth - window.innerWidth, small};
}"""


def layout_problems(page: Page, viewport: str, name: str) -> list[str]:
    probe = page.evaluate(LAYOUT_PROBE, viewport == "phone")
    problems = [f"{name}: touch target under 44px: {target}" for target in probe["small"]]
    if probe["overflow"] > 0:
        problems.append(f"{name}: the page scrolls sideways by {probe['overflow']}px")
    return problems


def test_key_pages_look_right(page: Page, viewport: str, make_user, login, shot):
    problems: list[str] = []

    def review(name: str) -> None:
        shot(name)
        problems.extend(layout_problems(page, viewport, name))

    page.goto("/login")
    expect(page.get_by_role("heading", name="用户登录")).to_be_visible()
    review("login")

    login(make_user("admin", display_name="李书记"))
    expect(page.get_by_role("heading", name="工作台")).to_be_visible()
    review("home")

    page.goto("/account/password")
    expect(page.get_by_role("heading", name="修改密码")).to_be_visible()
    review("password")

    page.goto("/admin/audit/")
    expect(page.locator("#audit-results tbody tr").first).to_be_visible()
    if viewport == "phone":  # the table turns into stacked cards
        expect(page.locator("#audit-results thead")).to_be_hidden()
    else:
        expect(page.locator("#audit-results thead")).to_be_visible()
    review("audit")

    response = page.goto("/no-such-page")
    assert response is not None and response.status == 404
    expect(page.get_by_role("heading", name="页面不存在")).to_be_visible()
    expect(page).to_have_url(re.compile(r"/no-such-page$"))
    review("404")
    assert not problems, "\n".join(problems)
