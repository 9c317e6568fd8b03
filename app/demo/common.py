"""Small helpers shared by the demo generator's parts: sizes of parts, dates, bulk writes."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from datetime import time as dtime

from sqlalchemy import insert

from app.extensions import db

CHUNK = 5_000

Echo = Callable[[str], None]


def chinese_number(n: int) -> str:
    """1 → 一, 10 → 十, 17 → 十七, 23 → 二十三 (1–99)."""
    digits = "零一二三四五六七八九"
    tens, ones = divmod(n, 10)
    if tens == 0:
        return digits[ones]
    head = "" if tens == 1 else digits[tens]
    return head + "十" + (digits[ones] if ones else "")


def apportion(total: int, weights: list[float], minimum: int = 0) -> list[int]:
    """Split ``total`` into integer parts proportional to ``weights`` (largest remainder)."""
    n = len(weights)
    if n == 0:
        return []
    base = minimum * n
    if total < base:
        raise ValueError("total too small for the minimum")
    rest = total - base
    wsum = sum(weights) or 1.0
    exact = [rest * w / wsum for w in weights]
    parts = [int(x) for x in exact]
    short = rest - sum(parts)
    order = sorted(range(n), key=lambda i: exact[i] - parts[i], reverse=True)
    for i in order[:short]:
        parts[i] += 1
    return [p + minimum for p in parts]


def add_years(d: date, years: int) -> date:
    try:
        return d.replace(year=d.year + years)
    except ValueError:  # 29 February
        return d.replace(year=d.year + years, day=28)


def at_morning(d: date) -> datetime:
    """09:30 in Asia/Shanghai as a naive UTC timestamp."""
    return datetime.combine(d, dtime(1, 30))


def bulk_insert(model, rows: list[dict]) -> None:  # noqa: ANN001
    """Core executemany in chunks (every row has the same keys; no ORM bookkeeping; column
    defaults such as created_at apply)."""
    statement = insert(model.__table__)
    for start in range(0, len(rows), CHUNK):
        db.session.execute(statement, rows[start : start + CHUNK])
