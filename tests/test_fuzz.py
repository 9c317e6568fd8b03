"""Every list page × every query parameter it reads × garbage values: never a 500.

Generated from ``app.url_map``: every GET rule without path arguments that a role can open
(200) is requested again with each parameter the page reads — the names of its form fields and
of its links' query strings, and a fixed list of the common names — set to values too large
for the database, negative, zero, not a number, a NUL byte, SQL and empty.
"""

from __future__ import annotations

import gc
import re
from urllib.parse import parse_qsl, urlsplit

import pytest

from tests.test_access_matrix import (  # noqa: F401  (fixtures)
    _client_for,
    _methods,
    _rules,
    foreign,
    frozen_clock,
    world,
)

# Collecting the garbage of earlier tests can run weakref.WeakMethod callbacks whose WeakMethod died
# in the same cycle; CPython 3.11 then reports "'NoneType' object has no attribute '_alive'" as an
# unraisable exception. It is the interpreter's, not the portal's: not an error here.
pytestmark = pytest.mark.filterwarnings(
    "ignore:Exception ignored in.*WeakMethod:pytest.PytestUnraisableExceptionWarning"
)


@pytest.fixture(autouse=True)
def _no_gc_during_the_fuzz():
    """Thousands of requests leave garbage whose weakref callbacks (signal receivers of finished
    apps) can run in the middle of werkzeug compiling a URL builder; CPython 3.11 then raises
    "AST constructor recursion depth mismatch" (seen twice in full runs). Collect first, and
    keep the collector off while the fuzz runs."""
    gc.collect()
    gc.disable()
    yield
    gc.enable()
    gc.collect()


VALUES = ("99999999999999999999999", "-1", "0", "abc", "\x00", "%00", "'; drop", "")
COMMON = (
    "after", "before", "page", "category", "status", "grid", "building", "branch", "group",
    "community", "kind", "q", "s", "as_of", "year", "month", "due", "mobility", "focus", "show",
    "offset", "org", "place", "member", "tab", "sort", "order", "level", "action", "ids",
    "period", "stage", "from", "to", "date", "day", "quarter", "limit", "id", "node",
)  # fmt: skip
ROLES = ("staff", "admin", "member_b")  # a grid worker sees what staff sees, less
FIELD_RE = re.compile(r'<(?:input|select|textarea)\b[^>]*\bname="([^"]+)"')
HREF_RE = re.compile(r'(?:href|hx-get)="([^"]*\?[^"]*)"')


def list_pages(app) -> list[str]:  # noqa: ANN001
    """GET rules without path arguments (the lists, dashboards, exports and forms)."""
    return [r.rule for r in _rules(app) if not r.arguments and "GET" in _methods(r)]


def params_read_by(path: str, html: str) -> set[str]:
    """The query names a page shows it reads: its form fields and its own links' queries."""
    names = set(FIELD_RE.findall(html)) - {"csrf_token"}
    for href in HREF_RE.findall(html):
        link = urlsplit(href.replace("&amp;", "&"))
        if not link.path or link.path == path:
            names |= {name for name, _ in parse_qsl(link.query, keep_blank_values=True)}
    return names


@pytest.mark.parametrize("role", ROLES)
def test_list_pages_survive_garbage_query_values(app, foreign, role):  # noqa: F811
    client = _client_for(app, foreign, role)
    failures, requests, pages = [], 0, 0
    for path in list_pages(app):
        first = client.get(path)
        if first.status_code != 200:
            continue
        pages += 1
        html = first.get_data(as_text=True) if first.mimetype == "text/html" else ""
        own = sorted(params_read_by(path, html))
        # each name the page reads on its own; all names at once, also as an htmx request
        plain, htmx = {}, {"HX-Request": "true"}
        every = sorted({*own, *COMMON})
        queries = [({name: value}, plain) for name in own for value in VALUES]
        queries += [(dict.fromkeys(every, v), h) for v in VALUES for h in (plain, htmx)]
        for query, headers in queries:
            status = client.get(path, query_string=query, headers=headers).status_code
            requests += 1
            if status >= 500:
                failures.append(f"GET {path} {_culprits(client, path, query, headers)}")
    print(f"{role}: {pages} pages, {requests} requests")
    assert pages >= 3
    assert not failures, "\n".join(failures)


def _culprits(client, path: str, query: dict, headers: dict) -> str:  # noqa: ANN001
    """For a failed request: the names that fail on their own (the common list is sent at
    once, so a failure is narrowed down to its parameters here)."""
    if len(query) == 1:
        return f"{query!r} {headers}"
    failing = [
        name
        for name, value in query.items()
        if client.get(path, query_string={name: value}, headers=headers).status_code >= 500
    ]
    value = next(iter(query.values()))
    return f"{dict.fromkeys(failing or ['<together>'], value)!r} {headers}"
