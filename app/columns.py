"""Columns and properties that many models share, declared once (mixed into ``db.Model``
classes; the columns are the same as if each model declared them itself).

- ``Created``: ``created_at`` (UTC); ``Updated`` adds ``updated_at``.
- ``RecordedBy`` / ``CreatedBy``: the staff user who recorded or created the row, and when.
- ``Versioned``: the ``version`` column and its ``version_id_col`` (a stale edit is a conflict).
- ``Retirable``: ``retired_at`` and ``is_active`` of tree nodes.
- ``label_of``: the Chinese label of a coded column.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey
from sqlalchemy.orm import Mapped, declared_attr, mapped_column

from app.timeutil import utcnow


class Created:
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Updated(Created):
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class RecordedBy(Created):
    recorded_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))


class CreatedBy(Created):
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))


class Versioned:
    version: Mapped[int] = mapped_column(default=1)

    @declared_attr.directive
    def __mapper_args__(cls) -> dict[str, Any]:  # noqa: N805
        return {"version_id_col": cls.__table__.c.version}


class Retirable:
    retired_at: Mapped[datetime | None]

    @property
    def is_active(self) -> bool:
        return self.retired_at is None


def label_of(codes: Mapping[str, str], column: str) -> property:
    """A property: the label ``codes`` gives the value of ``column`` (an unknown code shows
    as itself, no value as "")."""

    def label(self: Any) -> str:
        value = getattr(self, column)
        return "" if value is None else codes.get(value, value)

    return property(label)
