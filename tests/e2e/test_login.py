import re

from playwright.sync_api import Page, expect


def test_probe(page: Page, make_user, login, shot):
    name = make_user("admin")
    page.goto("/login")
    login(name)
    expect(page).to_have_url(re.compile(r"/home$"))
    shot("home")
    page.get_by_role("button", name="退出").click()
    expect(page.locator(".flash")).to_contain_text("您已安全退出")
    print("URL after logout", page.url)
