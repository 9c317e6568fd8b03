"""The one htmx partial pattern: a view renders the whole page, or one block of it."""

from __future__ import annotations

import json

from flask import Response, render_template, request
from jinja2_fragments.flask import render_block


def is_htmx() -> bool:
    return request.headers.get("HX-Request") == "true"


def is_partial() -> bool:
    """A partial request wants a fragment; a boosted navigation or a history restore
    (Back button with htmx's history cache off) wants the whole page."""
    return (
        is_htmx()
        and request.headers.get("HX-Boosted") != "true"
        and request.headers.get("HX-History-Restore-Request") != "true"
    )


def render_page_or_block(template: str, block: str, status: int = 200, **context) -> Response:
    if is_partial():
        body = render_block(template, block, **context)
    else:
        body = render_template(template, **context)
    return Response(body, status=status, mimetype="text/html")


def trigger(response: Response, event: str, detail: object = None) -> Response:
    """Add an ``HX-Trigger`` event (several calls accumulate)."""
    existing = response.headers.get("HX-Trigger")
    events = json.loads(existing) if existing else {}
    events[event] = detail if detail is not None else True
    response.headers["HX-Trigger"] = json.dumps(events, ensure_ascii=False)
    return response


def client_redirect(url: str, status: int = 200) -> Response:
    response = Response("", status=status)
    response.headers["HX-Redirect"] = url
    return response


def see_other(url: str) -> Response:
    """After a successful POST: htmx fragments get ``HX-Redirect``, whole pages a 303."""
    from flask import redirect

    return client_redirect(url) if is_partial() else redirect(url, code=303)
