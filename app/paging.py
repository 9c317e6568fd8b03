"""The one keyset paging helper for every list (加载更多).

A list orders its rows by columns that end with the row's unique id; the cursor in the URL is
that id only (``after=<id>``, no personal data), looked up inside the list's own statement so a
cursor from outside the user's scope reveals nothing. The next page's URL is the current URL
with ``after`` replaced, so filters carry over (a search text as its ``s=`` token only).

The full-page-or-fragment rule stays the one of ``app.htmx``: ``is_partial()`` renders the list's
results block, anything else the whole page — including a 加载更多 link opened without
JavaScript or in a new tab. The link (``load_more`` macro) picks the new rows out of the
results block with ``hx-select``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from flask import has_request_context, request, url_for
from sqlalchemy import ColumnElement, Select, tuple_

from app import search_text
from app.extensions import db
from app.params import query_int

PAGE_SIZE = 50


@dataclass
class Page:
    rows: list[Any]
    next_url: str | None = None
    after: int | None = None  # the cursor this page continues from (None: the first page)
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def more(self) -> bool:
        return self.next_url is not None

    @property
    def first(self) -> bool:
        return self.after is None

    def __iter__(self):
        return iter(self.rows)

    def __len__(self) -> int:
        return len(self.rows)


def current_after() -> int | None:
    """The ``after`` cursor of the current request (ignored when it is not a usable id)."""
    return query_int(request.args, "after")


def next_page_url(cursor: Any, **args: Any) -> str:
    """The current URL (endpoint, path and query arguments) with ``after=cursor``; ``args``
    override query arguments (None drops one). A search text travels as its ``s=`` token
    (``app.search_text``), never as text; on a search form's POST the form's filters count."""
    query = search_text.link_args()
    query.update(args)
    query = {k: v for k, v in query.items() if v not in (None, "")}
    return url_for(request.endpoint, **(request.view_args or {}), **query, after=cursor)


def page_of(
    rows: Sequence[Any],
    *,
    size: int | None = None,
    after: int | None = None,
    cursor: Callable[[Any], Any] = lambda row: row.id,
    url: Callable[[Any], str] | None = None,
) -> Page:
    """A page from ``size + 1`` fetched rows: the extra row only says that more follow."""
    size = size or PAGE_SIZE
    rows = list(rows)
    more = len(rows) > size
    rows = rows[:size]
    next_url = None
    if more and rows:
        next_url = (url or next_page_url)(cursor(rows[-1]))
    return Page(rows=rows, next_url=next_url, after=after)


def continue_after(
    stmt: Select, order: Sequence[ColumnElement], after: int | None, *, descending: bool = False
) -> list[ColumnElement[bool]]:
    """The condition continuing ``stmt`` (ordered by ``order``, the last column the unique id)
    after the row whose id is ``after``: [] for the first page or a cursor not in ``stmt``."""
    if after is None:
        return []
    last = db.session.execute(
        stmt.with_only_columns(*order).where(order[-1] == after).limit(1).order_by(None)
    ).first()
    if last is None:
        return []
    if len(order) == 1:
        return [order[0] < after] if descending else [order[0] > after]
    keys, values = tuple_(*order), tuple_(*last)
    return [keys < values] if descending else [keys > values]


def keyset_page(
    stmt: Select,
    order: Sequence[ColumnElement],
    *,
    after: int | None = None,
    descending: bool = False,
    size: int | None = None,
    cursor: Callable[[Any], Any] = lambda row: row.id,
    url: Callable[[Any], str] | None = None,
) -> Page:
    """One page of ``stmt`` in ``order`` (all ascending or all descending, ending with the id)
    after the row ``after`` (default: the request's ``after``), with the next page's URL."""
    if after is None and has_request_context():
        after = current_after()
    size = size or PAGE_SIZE
    where = continue_after(stmt, order, after, descending=descending)
    ordering = [c.desc() for c in order] if descending else list(order)
    rows = db.session.execute(stmt.where(*where).order_by(*ordering).limit(size + 1)).all()
    return page_of(rows, size=size, after=after, cursor=cursor, url=url)
