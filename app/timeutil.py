"""Time helpers, the one place that reads the clock.

Timestamps are stored in naive UTC and shown in the local zone (``TIMEZONE``, Asia/Shanghai by
default). Every "today" in the application is ``local_today()``; the date a stored timestamp
falls on is ``local_date(ts)`` — never ``date.today()`` or ``ts.date()`` on a UTC timestamp,
which gives yesterday between 00:00 and 08:00 Beijing time. Tests freeze the clock with
``freeze(datetime)`` (a naive UTC instant).
"""

from __future__ import annotations

import calendar
from collections.abc import Callable
from contextlib import contextmanager
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

LOCAL_TZ = ZoneInfo("Asia/Shanghai")


def _system_clock() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


_clock: Callable[[], datetime] = _system_clock


def set_timezone(name: str) -> None:
    """Called by the app factory from ``TIMEZONE``."""
    global LOCAL_TZ
    LOCAL_TZ = ZoneInfo(name)


def utcnow() -> datetime:
    """Naive UTC timestamp (stored as-is in both SQLite and PostgreSQL)."""
    return _clock()


def local_now() -> datetime:
    """The local wall-clock time (aware)."""
    return utcnow().replace(tzinfo=UTC).astimezone(LOCAL_TZ)


def local_today() -> date:
    return local_now().date()


def to_local(ts: datetime | None) -> datetime | None:
    if ts is None:
        return None
    return ts.replace(tzinfo=UTC).astimezone(LOCAL_TZ)


def local_date(ts: datetime | None) -> date | None:
    """The local day a stored (naive UTC) timestamp falls on."""
    local = to_local(ts)
    return local.date() if local else None


def format_local(ts: datetime | None, fmt: str = "%Y-%m-%d %H:%M") -> str:
    local = to_local(ts)
    return local.strftime(fmt) if local else ""


def add_months(day: date, months: int) -> date:
    """The same day ``months`` later (or earlier), clamped to the month's last day
    (31 January + 1 month = 28/29 February)."""
    year, month0 = divmod(day.year * 12 + day.month - 1 + months, 12)
    last = calendar.monthrange(year, month0 + 1)[1]
    return date(year, month0 + 1, min(day.day, last))


def month_start(day: date) -> date:
    return day.replace(day=1)


@contextmanager
def freeze(instant: datetime):
    """Tests: the clock stands at ``instant`` (naive UTC) inside the block."""
    global _clock
    previous = _clock
    _clock = lambda: instant  # noqa: E731
    try:
        yield
    finally:
        _clock = previous
