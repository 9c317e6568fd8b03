"""Sign-in journeys in a real browser, on a phone and a desktop viewport."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from .conftest import PASSWORD, htmx_settled, nav_link

STRONG_PASSWORD = "Linli-Xinmima-2026"
NEW_PASSWORD = re.compile(r"^新密码")  # the label, not "再次输入新密码"


def test_admin_logs_in_sees_workbench_and_logs_out(page: Page, make_user, login, shot):
    username = make_user("admin")
    page.goto("/login")
    expect(page.get_by_role("heading", name="用户登录")).to_be_visible()
    shot("login")

    login(username)
    expect(page).to_have_url(re.compile(r"/home$"))
    expect(page.get_by_role("heading", name="工作台")).to_be_visible()
    nav = page.get_by_role("navigation", name="主导航")
    if page.locator(".navmenu summary").is_visible():  # phones: the navigation is a 菜单 list
        page.locator(".navmenu summary").click()
    expect(nav.get_by_role("link", name="审计日志")).to_have_count(1)
    expect(nav.get_by_role("link", name="工作台")).to_have_attribute("aria-current", "page")
    shot("home")

    page.get_by_role("button", name="退出").click()
    expect(page).to_have_url(re.compile(r"/login$"))
    expect(page.locator("#flash")).to_contain_text("您已安全退出")
    expect(page.get_by_role("heading", name="用户登录")).to_be_visible()
    shot("logged-out")

    # The old session is gone: the workbench asks for a login again.
    page.goto("/home")
    expect(page).to_have_url(re.compile(r"/login\?next=(%2F|/)home$"))


def test_five_wrong_passwords_lock_the_account(page: Page, make_user, login, shot):
    username = make_user("staff")
    page.goto("/login")
    error = page.locator("#password-error")
    for left in (4, 3, 2, 1):
        login(username, "Wrong-Passw0rd!")
        expect(error).to_contain_text(f"再错 {left} 次")
    login(username, "Wrong-Passw0rd!")
    expect(error).to_contain_text("账号已锁定")
    expect(page.get_by_label("密码")).to_have_attribute("aria-invalid", "true")
    shot("locked")

    # Even the right password is refused while the lock holds.
    login(username, PASSWORD)
    expect(error).to_contain_text(re.compile(r"已锁定，请于 \d{2}:\d{2} 后再试"))
    expect(page).to_have_url(re.compile(r"/login$"))
    expect(page.get_by_role("heading", name="工作台")).to_have_count(0)
    shot("locked-right-password")


def test_first_login_requires_a_new_strong_password(page: Page, make_user, login, shot):
    username = make_user("staff", must_change_password=True)
    login(username)
    expect(page).to_have_url(re.compile(r"/account/password$"))
    expect(page.get_by_role("heading", name="修改密码")).to_be_visible()
    expect(page.locator("#flash")).to_contain_text("首次登录")

    # Nothing else is reachable before the password is changed.
    page.goto("/home")
    expect(page).to_have_url(re.compile(r"/account/password$"))

    page.get_by_label("当前密码").fill(PASSWORD)
    page.get_by_label(NEW_PASSWORD).fill("12345678")
    page.get_by_label("再次输入新密码").fill("12345678")
    page.get_by_role("button", name="保存新密码").click()
    new_error = page.locator("#new_password-error")
    expect(new_error).to_contain_text("至少需要 10 个字符")
    expect(page.get_by_label(NEW_PASSWORD)).to_have_attribute("aria-invalid", "true")
    expect(page).to_have_url(re.compile(r"/account/password$"))
    shot("weak-password")

    page.get_by_label("当前密码").fill(PASSWORD)
    page.get_by_label(NEW_PASSWORD).fill(STRONG_PASSWORD)
    page.get_by_label("再次输入新密码").fill(STRONG_PASSWORD)
    page.get_by_role("button", name="保存新密码").click()
    expect(page).to_have_url(re.compile(r"/home$"))
    expect(page.get_by_role("heading", name="工作台")).to_be_visible()
    expect(page.locator("#flash")).to_contain_text("密码已修改")
    shot("changed")


def test_csp_lets_htmx_run_with_safe_config(page: Page, make_user, login, console_errors):
    username = make_user("admin")
    page.goto("/login")
    config = page.evaluate(
        """() => window.htmx ? {
            history: htmx.config.historyCacheSize,
            eval: htmx.config.allowEval,
            indicatorStyles: htmx.config.includeIndicatorStyles,
            styles: document.querySelectorAll("style").length,
        } : null"""
    )
    assert config == {"history": 0, "eval": False, "indicatorStyles": False, "styles": 0}

    login(username)
    expect(page).to_have_url(re.compile(r"/home$"))
    # The 工作台 loads its reminders after the page; wait for htmx to be idle before clicking.
    page.wait_for_selector("#reminders:not([hx-get])")
    htmx_settled(page)
    # A boosted link swaps the page without a reload: htmx really runs under the CSP.
    page.evaluate("window.__sameDocument = true")
    page.locator(".topbar").get_by_role("link", name="修改密码").click()
    expect(page).to_have_url(re.compile(r"/account/password$"))
    expect(page.get_by_role("heading", name="修改密码")).to_be_visible()
    assert page.evaluate("window.__sameDocument === true")
    assert page.evaluate("htmx.config.historyCacheSize") == 0
    assert not [m for m in console_errors if "Content Security Policy" in m], console_errors


def test_audit_log_lists_logins_and_filters_through_htmx(page: Page, make_user, login, shot):
    username = make_user("admin")
    page.goto("/login")
    login(username, "Wrong-Passw0rd!")
    expect(page.locator("#password-error")).to_contain_text("用户名或密码错误")
    login(username)
    expect(page).to_have_url(re.compile(r"/home$"))

    nav_link(page, "审计日志").click()
    expect(page).to_have_url(re.compile(r"/admin/audit/$"))
    expect(page.get_by_role("heading", name="审计日志")).to_be_visible()
    results = page.locator("#audit-results")
    mine = results.locator("tbody tr").filter(has_text=username).filter(has_text="登录")
    expect(mine.filter(has_text="成功")).to_have_count(1)
    expect(mine.filter(has_text="失败")).to_have_count(1)
    shot("all")

    page.evaluate("window.__sameDocument = true")
    page.get_by_label("结果").select_option(label="失败")
    expect(page).to_have_url(re.compile(r"[?&]result=failed(&|$)"))
    expect(results.locator(".badge").filter(has_not_text="失败")).to_have_count(0)
    expect(mine.filter(has_text="失败")).to_have_count(1)
    expect(mine.filter(has_text="成功")).to_have_count(0)
    expect(page.locator("#audit-results")).to_have_count(1)  # swapped, not nested
    assert page.evaluate("window.__sameDocument === true")
    shot("failed")


@pytest.mark.parametrize("viewport", ["desktop"])  # one viewport is enough for this bug
def test_back_after_filtering_restores_the_whole_page(page: Page, make_user, login):
    login(make_user("admin"))
    expect(page).to_have_url(re.compile(r"/home$"))
    page.goto("/admin/audit/")
    page.get_by_label("结果").select_option(label="成功")
    expect(page).to_have_url(re.compile(r"[?&]result=ok(&|$)"))
    page.go_back()
    expect(page).to_have_url(re.compile(r"/admin/audit/$"))
    expect(page.locator("#audit-results tbody tr").first).to_be_visible()
    expect(page.get_by_role("heading", name="审计日志")).to_be_visible()
    expect(page.get_by_role("navigation", name="主导航")).to_be_visible()
    expect(page.get_by_label("结果")).to_have_value("")
