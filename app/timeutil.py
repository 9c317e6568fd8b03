"""Time helpers: timestamps are stored in UTC and shown in Asia/Shanghai."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

LOCAL_TZ = ZoneInfo("Asia/Shanghai")


def utcnow() -> datetime:
    """Naive UTC timestamp (stored as-is in both SQLite and PostgreSQL)."""
    return datetime.now(UTC).replace(tzinfo=None)


def local_today() -> date:
    return datetime.now(LOCAL_TZ).date()


def to_local(ts: datetime | None) -> datetime | None:
    if ts is None:
        return None
    return ts.replace(tzinfo=UTC).astimezone(LOCAL_TZ)


def format_local(ts: datetime | None, fmt: str = "%Y-%m-%d %H:%M") -> str:
    local = to_local(ts)
    return local.strftime(fmt) if local else ""
