"""Every list with a free-text search keeps the text out of its URLs (SPEC §12, finding 10):
the form POSTs it, the answer's address (Location, HX-Push-Url) and its links carry only
``s=<token>`` and the filters. The member list's own tests: tests/members/test_search_text.py."""

from __future__ import annotations

import re
from html import unescape
from urllib.parse import parse_qs, quote, urlsplit

import pytest

from tests.conftest import csrf_token
from tests.test_access_matrix import (  # noqa: F401  (fixtures)
    _client_for,
    _methods,
    _rules,
    frozen_clock,
    world,
)

MARK = "搜索标记甲"
URL_ATTR_RE = re.compile(r'(?:href|hx-get|hx-post|action|hx-push-url|src)="([^"]*)"')
SEARCH_FORM_RE = re.compile(r"<form\b([^>]*)>(?:(?!</form>).)*?\bname=\"q\"", re.S)

# Every list with a search box, with a filter it keeps in the address.
LISTS = {
    "/members/": {"category": "direct"},
    "/certificates/": {"status": "valid"},
    "/certificates/register": {"status": "valid"},
    "/places": {},
    "/admin/users/": {"role": "staff"},
}


def _urls(response) -> list[str]:  # noqa: ANN001
    urls = [unescape(u) for u in URL_ATTR_RE.findall(response.get_data(as_text=True))]
    urls += [response.headers[h] for h in ("Location", "HX-Push-Url") if h in response.headers]
    return urls


def _assert_clean(response) -> None:  # noqa: ANN001
    for url in _urls(response):
        assert MARK not in url and quote(MARK) not in url, url
        assert "q" not in parse_qs(urlsplit(url).query), url


def test_every_search_box_posts_its_text(app, world):  # noqa: F811
    """Any page (as an admin: every list) whose form has a ``q`` field sends it by POST."""
    client = _client_for(app, world, "admin")
    pages = []
    for rule in _rules(app):
        if rule.arguments or "GET" not in _methods(rule):
            continue
        response = client.get(rule.rule)
        if response.status_code != 200 or response.mimetype != "text/html":
            continue
        for attrs in SEARCH_FORM_RE.findall(response.get_data(as_text=True)):
            pages.append(rule.rule)
            assert 'method="post"' in attrs, f"{rule.rule}: the search form sends its text by GET"
            assert "hx-get" not in attrs and "hx-push-url" not in attrs, rule.rule
    assert sorted(set(pages)) == sorted(LISTS)


@pytest.mark.parametrize("path", sorted(LISTS))
def test_search_addresses_carry_a_token_not_the_text(app, world, path):  # noqa: F811
    client = _client_for(app, world, "admin")
    filters = LISTS[path]
    data = {"csrf_token": csrf_token(client, "/home"), "q": MARK, **filters}
    # Without JavaScript: post/redirect/get.
    response = client.post(path, data=data)
    assert response.status_code == 303
    _assert_clean(response)
    location = response.headers["Location"]
    query = parse_qs(urlsplit(location).query)
    assert "s" in query and all(query[k] == [v] for k, v in filters.items())
    page = client.get(location)
    assert page.status_code == 200 and f'value="{MARK}"' in page.get_data(as_text=True)
    _assert_clean(page)
    # htmx (the list's own hx-post, and a boosted form): the answer pushes the same address.
    for headers in ({"HX-Request": "true"}, {"HX-Request": "true", "HX-Boosted": "true"}):
        response = client.post(path, data=data, headers=headers)
        assert response.status_code == 200
        assert response.headers["HX-Push-Url"] == location
        _assert_clean(response)
    # An old address with the text in it: once, then the token form.
    old = client.get(path, query_string={"q": MARK, **filters})
    assert old.status_code == 302
    _assert_clean(old)
    assert parse_qs(urlsplit(old.headers["Location"]).query) == query


def test_name_pickers_take_the_name_by_post(app):
    """The 联络人 and 代交人 pickers: a typed name is POSTed, never sent in a URL."""
    pickers = {
        "/assignment/members/<int:member_id>/liaison-candidates",
        "/followup/dues/members/<int:member_id>/payers",
    }
    methods = {rule.rule: _methods(rule) for rule in _rules(app) if rule.rule in pickers}
    assert set(methods) == pickers
    for rule, allowed in methods.items():
        assert "GET" not in allowed and "POST" in allowed, rule
