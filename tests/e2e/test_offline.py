"""With the htmx CDN unreachable, the pages fall back to the installer's local copy ([2/7] #21)."""

from __future__ import annotations

import re

import pytest
from flask import Flask
from playwright.sync_api import Page, Route, expect

from tests.e2e.conftest import htmx_settled


@pytest.fixture
def cdn_mode(live_app: Flask):
    """The default configuration: htmx from the CDN (the suite otherwise runs with HTMX_LOCAL)."""
    live_app.config["HTMX_LOCAL"] = False
    yield
    live_app.config["HTMX_LOCAL"] = True


@pytest.mark.parametrize("cdn", ["fails", "hangs"])
def test_unreachable_cdn_falls_back_to_the_local_copy(
    page: Page, cdn_mode, cdn, make_user, login, console_errors
):
    cdn_requests: list[str] = []

    def refuse(route: Route) -> None:
        cdn_requests.append(route.request.url)
        if cdn == "fails":
            route.abort("internetdisconnected")
        # "hangs": never answered (the page gives the CDN a few seconds)

    page.route(re.compile(r"^https://cdn\.jsdelivr\.net/"), refuse)
    username = make_user("admin")
    # A hanging deferred script holds back DOMContentLoaded and "load": wait for the first byte.
    page.goto("/login", wait_until="commit")
    expect(page.locator("script[data-htmx-cdn]")).to_have_count(1)
    page.wait_for_function("() => window.htmx !== undefined")
    assert cdn_requests, "the page did try the CDN first"
    login(username)
    expect(page).to_have_url(re.compile(r"/home$"))
    # The 工作台's reminders load after the page through htmx: they appear, not just a link.
    page.wait_for_selector("#reminders:not([hx-get])")
    htmx_settled(page)
    expect(page.locator("#reminders")).not_to_contain_text("查看待办提醒")
    # Boosted navigation works too (htmx really runs on the local copy).
    page.evaluate("window.__sameDocument = true")
    page.locator(".topbar").get_by_role("link", name="修改密码").click()
    expect(page).to_have_url(re.compile(r"/account/password$"))
    assert page.evaluate("window.__sameDocument === true")
    console_errors[:] = [m for m in console_errors if "net::ERR_INTERNET_DISCONNECTED" not in m]
