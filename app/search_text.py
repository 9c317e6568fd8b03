"""Free-text search without the text in any URL (SPEC §12: no personal data in URLs or logs).

Every list with a search box works the same way (``@searchable`` on its view):

- the search form POSTs its fields (the text ``q``, the filters, the CSRF token);
- the text is kept in the session under a short random token, and the answer carries a URL
  with only ``s=<token>``, the filters and (when paging) ``after``: without JavaScript a
  303 redirect to that URL (post/redirect/get); to htmx the results at once, with that URL in
  ``HX-Push-Url`` for the address bar;
- a GET with ``s=`` restores the text from the session; an unknown or expired token (another
  browser, after logging out) simply means no search text, not an error;
- a GET with ``q=`` (an old bookmark, a hand-typed address) is redirected to the token form,
  so the text reaches an access log at most once.

Links built from the request (``link_args``: 加载更多, exports, bulk actions, ``HX-Push-Url``)
never carry the text. The session cookie is signed but not encrypted and a search may be a
full ID number, so each kept text is sealed with AES-GCM; at most ``MAX_ENTRIES`` texts, and
at most ``MAX_SEALED_CHARS`` of them, are kept (the oldest dropped) so the cookie stays small.
"""

from __future__ import annotations

import base64
import binascii
import os
import secrets
from collections.abc import Callable, Mapping
from functools import wraps
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from flask import g, make_response, redirect, request, session, url_for
from werkzeug.datastructures import MultiDict

from app.crypto import SEARCH_TEXT, derived_key
from app.htmx import is_htmx

TEXT = "q"  # the form field with the search text (never in a URL)
TOKEN = "s"  # noqa: S105 - the query parameter naming a kept search text
MAX_ENTRIES = 20
MAX_LENGTH = 64  # each list cuts its own search shorter
MAX_SEALED_CHARS = 2000  # the kept texts' share of the session cookie (4 KB at most in all)
_SESSION_KEY = "searches"
_NOT_IN_LINKS = frozenset({"csrf_token", "after", "_", TEXT, TOKEN})


def _aead() -> AESGCM:
    return AESGCM(derived_key(SEARCH_TEXT))


def _seal(text: str) -> str:
    nonce = os.urandom(12)
    blob = nonce + _aead().encrypt(nonce, text.encode(), None)
    return base64.urlsafe_b64encode(blob).decode()


def _open(sealed: Any) -> str | None:
    try:
        blob = base64.urlsafe_b64decode(sealed)
        return _aead().decrypt(blob[:12], blob[12:], None).decode()
    except (InvalidTag, ValueError, TypeError, binascii.Error):
        return None


def _entries() -> list[list[str]]:
    kept = session.get(_SESSION_KEY)
    if not isinstance(kept, list):
        return []
    return [e for e in kept if isinstance(e, list) and len(e) == 2 and isinstance(e[0], str)]


def remember(text: str | None) -> str | None:
    """Keep ``text`` in the session; its token (the same token for the same text), or None
    for an empty text."""
    text = " ".join((text or "").split())[:MAX_LENGTH]
    if not text:
        return None
    entries = _entries()
    for entry in entries:
        if _open(entry[1]) == text:
            if entry is not entries[-1]:
                entries.remove(entry)
                entries.append(entry)  # the most recent last: dropped last
                session[_SESSION_KEY] = entries
            return entry[0]
    token = secrets.token_urlsafe(6)
    entries.append([token, _seal(text)])
    entries = entries[-MAX_ENTRIES:]
    # Browsers drop a cookie over 4 KB (the user would be logged out): the oldest go first.
    while len(entries) > 1 and sum(len(t) + len(b) + 6 for t, b in entries) > MAX_SEALED_CHARS:
        entries.pop(0)
    session[_SESSION_KEY] = entries
    return token


def recall(token: str | None) -> str:
    """The text kept under ``token``; "" for an unknown token."""
    if not token:
        return ""
    for kept_token, sealed in _entries():
        if secrets.compare_digest(kept_token, token):
            return _open(sealed) or ""
    return ""


def _is_search_post() -> bool:
    return bool(g.get("_search_post"))


def _current() -> tuple[str, str | None]:
    """This request's search text and its token (worked out once per request)."""
    if "_search" not in g:
        if _is_search_post():
            token = remember(request.form.get(TEXT))
            text = recall(token)
        else:
            token = request.args.get(TOKEN) or None
            text = recall(token)
            if not text:
                token = None
        g._search = (text, token)
    return g._search


def text() -> str:
    """The search text of the current request ("" when none)."""
    return _current()[0]


def token() -> str | None:
    return _current()[1]


def args() -> MultiDict:
    """The list's parameters (the search form's fields on its POST, else the query string)
    with the search text under ``q``: what a list's ``read_filters`` reads."""
    source = request.form if _is_search_post() else request.args
    params = MultiDict(
        [(k, v) for k, v in source.items(multi=True) if k not in ("csrf_token", TEXT, TOKEN)]
    )
    if text():
        params[TEXT] = text()
    return params


def link_args(params: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Query arguments for a link to the current list (next page, export, bulk action):
    ``params`` (default: this request's) without the search text, with ``s=<token>``."""
    params = args() if params is None else params
    query = {k: v for k, v in params.items() if k not in _NOT_IN_LINKS and v not in (None, "")}
    searched = params.get(TEXT)
    if searched:
        # This request's token, or (a text carried in a form, e.g. a bulk action's filters)
        # the token the session keeps for it.
        kept = token() if searched == text() else None
        kept = kept or remember(searched)
        if kept:
            query[TOKEN] = kept
    return query


def list_url() -> str:
    """The current list's address with its filters and ``s=`` (no text, no paging cursor)."""
    return url_for(request.endpoint, **(request.view_args or {}), **link_args())


def searchable(view: Callable) -> Callable:
    """The list view ``view`` accepts its search form's POST (see the module docstring)."""

    @wraps(view)
    def wrapped(*a: Any, **kw: Any):
        if request.method == "POST":
            g._search_post = True
            if not is_htmx():
                return redirect(list_url(), 303)
            response = make_response(view(*a, **kw))
            if response.status_code < 300:
                response.headers["HX-Push-Url"] = list_url()
            return response
        if TEXT in request.args:
            # An old bookmark or a typed address: keep the text, send it on without it.
            kept = remember(request.args[TEXT])
            g._search = (recall(kept), kept)
            return redirect(list_url(), 302)
        return view(*a, **kw)

    return wrapped
