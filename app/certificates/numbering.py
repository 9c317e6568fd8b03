"""Certificate and transfer-letter numbers: the community code, the yearly sequence."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from app.certificates.models import (
    Certificate,
)
from app.extensions import db
from app.members.models import Member
from app.organization.models import Place

# ---- numbering --------------------------------------------------------------------------------


def community_code(member: Member) -> str:
    """The community part of a number: the community place's code (e.g. 620302001)."""
    if member.community_id:
        code = db.session.execute(
            select(Place.code).where(Place.id == member.community_id)
        ).scalar_one_or_none()
        if code:
            return code
        return f"SQ{member.community_id:04d}"
    return "SQ0000"


def number_prefix(code: str, year: int) -> str:
    return f"{code}-{year}-"


def next_number(prefix: str, model: Any = Certificate) -> str:
    """The next free number with this prefix: sequence = highest existing + 1 (4 digits)."""
    numbers = db.session.execute(
        select(model.number).where(model.number.like(prefix.replace("_", "\\_") + "%", escape="\\"))
    ).scalars()
    highest = 0
    for number in numbers:
        tail = number[len(prefix) :]
        if tail.isdigit():
            highest = max(highest, int(tail))
    return f"{prefix}{highest + 1:04d}"


def _insert_numbered(
    obj: Any, prefix: str, prepare: Callable[[], Any] | None = None, attempts: int = 20
) -> None:
    """Give ``obj`` the next number, ``prepare`` it (e.g. render the PDF that prints the
    number: done before the insert so no write lock is held while rendering), insert it.
    A concurrent insert of the same number hits the unique constraint: the savepoint rolls
    back and the next number is tried."""
    for _ in range(attempts):
        obj.number = next_number(prefix, type(obj))
        if prepare is not None:
            prepare()
        try:
            with db.session.begin_nested():
                db.session.add(obj)
                db.session.flush()
            return
        except IntegrityError:
            if obj in db.session:
                db.session.expunge(obj)
            continue
    raise RuntimeError("could not allocate a number")
