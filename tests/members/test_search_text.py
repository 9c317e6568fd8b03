"""Search text never travels in a URL (SPEC §12, finding 10): the lists' search forms POST it,
the session keeps it under a token, and every address (Location, HX-Push-Url, 加载更多, export
and bulk links) carries ``s=<token>`` with the filters only."""

from __future__ import annotations

import base64
import re
import zlib
from html import unescape
from urllib.parse import parse_qs, quote, urlsplit

import pytest

from app import paging, search_text
from tests.conftest import Auth, csrf_token, search

HX = {"HX-Request": "true"}
NAME_RE = re.compile(r'class="member-name"><a href="/members/\d+">([^<]+)</a>')
URL_ATTR_RE = re.compile(r'(?:href|hx-get|hx-post|action|hx-push-url)="([^"]*)"')


def names_in(html: str) -> list[str]:
    return NAME_RE.findall(html)


def urls_in(response) -> list[str]:  # noqa: ANN001
    """Every address a response hands to the browser: links, form targets, headers."""
    urls = [unescape(u) for u in URL_ATTR_RE.findall(response.get_data(as_text=True))]
    for header in ("Location", "HX-Push-Url", "HX-Redirect", "HX-Location"):
        if header in response.headers:
            urls.append(response.headers[header])
    return urls


def assert_no_text_in_urls(response, text: str) -> None:  # noqa: ANN001
    for url in urls_in(response):
        assert text not in url and quote(text) not in url and "q=" not in url, url


def query_of(url: str) -> dict[str, list[str]]:
    return parse_qs(urlsplit(url).query)


@pytest.fixture
def crowd(tree, make_member):
    """Five 张 in grid A (building A), two 张 in grid B, and others."""
    for n in ("张一", "张二", "张三", "张四", "张五"):
        make_member(name=n, building=tree["building_a"], group=tree["group_a"])
    for n in ("张六", "张七"):
        make_member(name=n, building=tree["building_b"])
    for n in ("李四", "王五"):
        make_member(name=n, building=tree["building_a"])
    return tree


def test_search_without_javascript_redirects_to_a_token_address(client, auth, crowd):
    auth.login_as("admin")
    data = {"csrf_token": csrf_token(client, "/home"), "q": "张", "grid": crowd["grid_a"].id}
    response = client.post("/members/", data=data)
    assert response.status_code == 303
    location = response.headers["Location"]
    assert_no_text_in_urls(response, "张")
    query = query_of(location)
    assert query["grid"] == [str(crowd["grid_a"].id)]  # the filters stay in the address
    assert len(query["s"][0]) >= 8 and "q" not in query
    page = client.get(location)
    html = page.get_data(as_text=True)
    assert sorted(names_in(html)) == ["张一", "张三", "张二", "张五", "张四"]
    assert 'name="q" value="张"' in html  # the box shows what was searched
    assert_no_text_in_urls(page, "张")


def test_htmx_search_pushes_the_token_address(client, auth, crowd):
    auth.login_as("admin")
    response = search(client, "/members/", "张", htmx=True, grid=str(crowd["grid_b"].id))
    assert response.status_code == 200
    assert sorted(names_in(response.get_data(as_text=True))) == ["张七", "张六"]
    pushed = response.headers["HX-Push-Url"]
    assert query_of(pushed)["grid"] == [str(crowd["grid_b"].id)] and "s" in query_of(pushed)
    assert_no_text_in_urls(response, "张")
    # The address restores the same search (the Back button, a reload, a copied link).
    again = client.get(pushed)
    assert sorted(names_in(again.get_data(as_text=True))) == ["张七", "张六"]


def test_filters_alone_push_no_token(client, auth, crowd):
    auth.login_as("admin")
    response = search(client, "/members/", "", htmx=True, category="direct")
    assert query_of(response.headers["HX-Push-Url"]) == {"category": ["direct"]}


def test_paging_through_search_results_keeps_the_text_out_of_the_links(
    client, auth, crowd, monkeypatch
):
    monkeypatch.setattr(paging, "PAGE_SIZE", 2)
    auth.login_as("admin")
    seen: list[str] = []
    response = search(client, "/members/", "张", grid=str(crowd["grid_a"].id))
    # Without JavaScript: each 加载更多 link opens the next whole page.
    while True:
        html = response.get_data(as_text=True)
        assert_no_text_in_urls(response, "张")
        seen += names_in(html)
        more = re.search(r'<a class="btn btn-secondary" href="([^"]+)"', html)
        if not more:
            break
        url = unescape(more.group(1))
        assert "s" in query_of(url) and "after" in query_of(url)
        assert "<html" in client.get(url).get_data(as_text=True)
        response = client.get(url)
    assert sorted(seen) == ["张一", "张三", "张二", "张五", "张四"]
    # With htmx: the first page answers the POST, the next ones the links' GET.
    seen = []
    response = search(client, "/members/", "张", htmx=True, grid=str(crowd["grid_a"].id))
    while True:
        html = response.get_data(as_text=True)
        assert "<html" not in html
        assert_no_text_in_urls(response, "张")
        seen += names_in(html)
        more = re.search(r'hx-get="([^"]+)"', html)
        if not more:
            break
        response = client.get(unescape(more.group(1)), headers=HX)
    assert sorted(seen) == ["张一", "张三", "张二", "张五", "张四"]


def test_export_and_bulk_links_carry_the_token(client, auth, crowd):
    auth.login_as("admin")
    html = search(client, "/members/", "张", grid=str(crowd["grid_a"].id)).get_data(as_text=True)
    export = unescape(re.search(r'href="(/members/export\.xlsx\?[^"]+)"', html).group(1))
    bulk = unescape(re.search(r'href="(/assignment/bulk\?[^"]+)"', html).group(1))
    for url in (export, bulk):
        assert "s" in query_of(url) and "张" not in url
    assert client.get(export).status_code == 200
    bulk_page = client.get(bulk)
    text = bulk_page.get_data(as_text=True)
    assert "搜索“张”" in text and "5" in text  # the five matching members of grid A
    assert_no_text_in_urls(bulk_page, "张")


def test_old_q_address_redirects_to_the_token_form(client, auth, crowd):
    auth.login_as("admin")
    response = client.get("/members/?q=%E5%BC%A0&category=direct")
    assert response.status_code == 302
    assert_no_text_in_urls(response, "张")
    assert query_of(response.headers["Location"])["category"] == ["direct"]
    assert sorted(names_in(client.get(response.headers["Location"]).get_data(as_text=True)))


def test_unknown_or_foreign_token_means_no_search(client, app, auth, make_user, crowd):
    auth.login_as("admin")
    pushed = search(client, "/members/", "李", htmx=True).headers["HX-Push-Url"]
    assert names_in(client.get(pushed).get_data(as_text=True)) == ["李四"]
    every = client.get("/members/?s=nonsense")
    assert every.status_code == 200 and len(names_in(every.get_data(as_text=True))) == 9
    # Another browser (another session) does not know the token.
    other = app.test_client()
    Auth(other, make_user).login_as("admin")
    assert len(names_in(other.get(pushed).get_data(as_text=True))) == 9


def _session_payload(client) -> bytes:  # noqa: ANN001
    cookie = client.get_cookie("linli_session").value
    compressed = cookie.startswith(".")
    body = cookie.lstrip(".").split(".")[0]
    raw = base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))
    return zlib.decompress(raw) if compressed else raw


def test_session_keeps_the_text_sealed_and_bounded(client, auth, crowd):
    auth.login_as("admin")
    number = "62030219800101123X"
    search(client, "/members/", number, htmx=True)
    payload = _session_payload(client)
    assert b"searches" in payload
    assert number.encode() not in payload and b"1123X" not in payload
    for i in range(search_text.MAX_ENTRIES + 5):
        search(client, "/members/", f"张{i}", htmx=True)
    payload = _session_payload(client).decode()
    assert payload.count('"searches"') == 1
    assert len(re.findall(r'\["[A-Za-z0-9_-]{8}","', payload)) == search_text.MAX_ENTRIES
    assert len(client.get_cookie("linli_session").value) < 3000
    # Long texts (the worst case: 64 hanzi each) drop older entries sooner: the cookie
    # stays well under the 4 KB browsers keep.
    for i in range(search_text.MAX_ENTRIES + 5):
        search(client, "/members/", chr(0x4E00 + i) + "龘" * 63, htmx=True)
    assert len(client.get_cookie("linli_session").value) < 3500
    kept = search(client, "/members/", "龘" * 64, htmx=True).headers["HX-Push-Url"]
    assert client.get(kept).status_code == 200
    # The same text again reuses its token.
    first = search(client, "/members/", "王", htmx=True).headers["HX-Push-Url"]
    assert search(client, "/members/", "王", htmx=True).headers["HX-Push-Url"] == first
