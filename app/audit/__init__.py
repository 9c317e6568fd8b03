"""The audit log: ``record()`` is the only writer of audit rows."""

from __future__ import annotations

import itertools
from typing import Any

from flask import has_request_context, request
from flask_login import current_user

from app.audit import chain as _chain  # noqa: F401  (chains new rows at flush)
from app.audit.models import AuditEntry
from app.extensions import db
from app.timeutil import utcnow

_order = itertools.count()


def _jsonable(value: Any) -> Any:
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set)):
        return [_jsonable(v) for v in value]
    return str(value)


def client_ip() -> str | None:
    if not has_request_context():
        return None
    return request.remote_addr


def record(
    action: str,
    obj: Any = None,
    *,
    object_type: str | None = None,
    object_id: Any = None,
    before: dict | None = None,
    after: dict | None = None,
    result: str = "ok",
    detail: str | None = None,
    user: Any = None,
) -> AuditEntry:
    """Add an audit entry to the current transaction (the caller commits)."""
    if user is None and has_request_context() and current_user.is_authenticated:
        user = current_user
    if obj is not None:
        object_type = object_type or getattr(obj, "__tablename__", type(obj).__name__.lower())
        object_id = object_id if object_id is not None else getattr(obj, "id", None)
    entry = AuditEntry(
        at=utcnow(),
        user_id=getattr(user, "id", None),
        username=getattr(user, "username", None),
        action=action,
        object_type=object_type,
        object_id=None if object_id is None else str(object_id),
        before=_jsonable(before),
        after=_jsonable(after),
        result=result,
        detail=detail,
        ip=client_ip(),
    )
    entry._order = next(_order)  # the order entries of one flush are chained in
    db.session.add(entry)
    return entry
