"""The one parser for integers from URLs and query strings, bounded to the database's range.

A path id the database cannot hold answers 404 (the ``int`` converter refuses it, so no rule
matches); a query value that is not a usable integer is ignored (``None``) — never a 500.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from werkzeug.routing import IntegerConverter

# Integer columns are 32-bit on PostgreSQL; SQLite would take more, PostgreSQL refuses.
MAX_INT = 2**31 - 1


class BoundedIntConverter(IntegerConverter):
    """``<int:...>`` with an upper bound of ``MAX_INT`` unless the rule names another."""

    def __init__(self, map, fixed_digits=0, min=None, max=None, signed=False):  # noqa: A002, ANN001
        super().__init__(map, fixed_digits, min, MAX_INT if max is None else max, signed)


def parse_int(
    value: Any, *, minimum: int | None = 1, maximum: int = MAX_INT, default: int | None = None
) -> int | None:
    """``value`` as an int within [minimum, maximum], or ``default`` (missing, garbage, out of range)."""
    if value is None or isinstance(value, bool):
        return default
    if isinstance(value, int):
        number = value
    else:
        text = str(value).strip()
        if not text or len(text) > 12:
            return default
        try:
            number = int(text, 10)
        except ValueError:
            return default
    if (minimum is not None and number < minimum) or number > maximum:
        return default
    return number


def query_int(args: Mapping[str, Any], name: str, **kwargs: Any) -> int | None:
    """An integer query parameter (see ``parse_int``)."""
    return parse_int(args.get(name), **kwargs)


def refuse_nul_bytes() -> None:
    """A NUL character in a query string is never a meaningful filter, and PostgreSQL refuses it
    in text: answer 400 ("请求有误") before any query sees it. (Forms check their fields and
    say what is wrong next to the field.)"""
    from flask import abort, request

    raw = request.environ.get("QUERY_STRING", "")
    if "%00" not in raw and "\x00" not in raw:
        return  # no NUL can be in the values (most requests)
    for value in request.args.values():
        if "\x00" in value:
            abort(400)


def init_app(app) -> None:  # noqa: ANN001
    app.before_request(refuse_nul_bytes)
