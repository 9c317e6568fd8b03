"""共管 care rules (pure functions, table-tested): when a care visit is due, and 党龄.

A visit is due for an *occasion*: a round birthday (70, 80, 90 … by the settings), a festival
(七一, 春节, 重阳 — the lunar ones from the small table below), or an illness/hospitalisation
recorded as an event. An occasion is due from ``lead_days`` before its date until
``late_days`` after it (an illness: from the day it is recorded until somebody visits). Each
occasion has a key; a visit logged with that key takes it off the due list.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

# 春节 (1st day of the 1st lunar month) and 重阳 (9th day of the 9th lunar month), 2024–2030.
SPRING_FESTIVAL = {
    2024: date(2024, 2, 10),
    2025: date(2025, 1, 29),
    2026: date(2026, 2, 17),
    2027: date(2027, 2, 6),
    2028: date(2028, 1, 26),
    2029: date(2029, 2, 13),
    2030: date(2030, 2, 3),
}
CHONGYANG = {
    2024: date(2024, 10, 11),
    2025: date(2025, 10, 29),
    2026: date(2026, 10, 18),
    2027: date(2027, 10, 8),
    2028: date(2028, 10, 26),
    2029: date(2029, 10, 16),
    2030: date(2030, 10, 5),
}
FESTIVALS = {"qiyi": "七一走访", "spring": "春节慰问", "chongyang": "重阳敬老"}
OLDEST = 120  # round birthdays are looked for up to this age

DEFAULT_RULES = {
    "lead_days": 15,  # due from this many days before the date
    "late_days": 30,  # still due this many days after it
    "birthday_from_age": 70,  # round birthdays: 70, 80, 90 …
    "birthday_every": 10,
    "qiyi_min_age": 0,  # festivals: members at least this old (0: every 共管 member)
    "spring_min_age": 0,
    "chongyang_min_age": 60,
}


@dataclass(frozen=True)
class Rules:
    lead_days: int = 15
    late_days: int = 30
    birthday_from_age: int = 70
    birthday_every: int = 10
    qiyi_min_age: int = 0
    spring_min_age: int = 0
    chongyang_min_age: int = 60

    @classmethod
    def of(cls, values: dict[str, Any] | None) -> Rules:
        merged = {**DEFAULT_RULES, **(values or {})}
        return cls(**{k: int(merged[k]) for k in DEFAULT_RULES})

    def round_ages(self) -> list[int]:
        every = max(1, self.birthday_every)
        return list(range(max(1, self.birthday_from_age), OLDEST + 1, every))


@dataclass(frozen=True)
class Occasion:
    key: str  # what a visit records to clear it, e.g. "birthday-80", "spring-2027", "illness-12"
    label: str
    on: date  # the occasion's date

    def overdue(self, today: date) -> bool:
        return today > self.on


def anniversary(birth: date, age: int) -> date:
    """The day ``birth`` turns ``age`` (29 February: the 28th in a common year)."""
    year = birth.year + age
    try:
        return birth.replace(year=year)
    except ValueError:
        return date(year, 2, 28)


def age_on(birth: date, day: date) -> int:
    return day.year - birth.year - ((day.month, day.day) < (birth.month, birth.day))


def festival_date(kind: str, year: int) -> date | None:
    if kind == "qiyi":
        return date(year, 7, 1)
    table = SPRING_FESTIVAL if kind == "spring" else CHONGYANG
    return table.get(year)


def in_window(on: date, today: date, rules: Rules) -> bool:
    return on - timedelta(days=rules.lead_days) <= today <= on + timedelta(days=rules.late_days)


def festival_occasions(today: date, rules: Rules) -> list[tuple[str, date, int]]:
    """(kind, date, minimum age) of the festivals whose window holds ``today``."""
    found = []
    for kind in FESTIVALS:
        for year in (today.year - 1, today.year, today.year + 1):
            on = festival_date(kind, year)
            if on is not None and in_window(on, today, rules):
                found.append((kind, on, getattr(rules, f"{kind}_min_age")))
    return found


def festival_key(kind: str, on: date) -> str:
    return f"{kind}-{on.year}"


def birthday_key(age: int) -> str:
    return f"birthday-{age}"


def illness_key(event_id: int) -> str:
    return f"illness-{event_id}"


def due_occasions(
    birth: date | None,
    today: date,
    rules: Rules,
    illnesses: list[tuple[int, date, str]] = (),  # (event id, date, label)
    visited: set[str] | frozenset[str] = frozenset(),
) -> list[Occasion]:
    """The occasions a visit is due for today, not yet visited, earliest first."""
    found: list[Occasion] = []
    if birth is not None:
        for age in rules.round_ages():
            on = anniversary(birth, age)
            if in_window(on, today, rules):
                found.append(Occasion(birthday_key(age), f"{age} 岁生日", on))
        for kind, on, min_age in festival_occasions(today, rules):
            if age_on(birth, on) >= min_age:
                found.append(Occasion(festival_key(kind, on), FESTIVALS[kind], on))
    for event_id, on, label in illnesses:
        if on <= today:
            found.append(Occasion(illness_key(event_id), label, on))
    return sorted((o for o in found if o.key not in visited), key=lambda o: (o.on, o.key))


def birth_range(age: int, today: date, rules: Rules) -> tuple[date, date]:
    """The birth dates whose ``age`` birthday has its window around ``today`` (for SQL):
    exactly those with ``today - late ≤ anniversary ≤ today + lead``."""
    first = today - timedelta(days=rules.late_days)
    last = today + timedelta(days=rules.lead_days)
    lo = _shift(first, -age)
    while anniversary(lo, age) < first:
        lo += timedelta(days=1)
    while anniversary(lo - timedelta(days=1), age) >= first:
        lo -= timedelta(days=1)
    hi = _shift(last, -age)
    while anniversary(hi, age) > last:
        hi -= timedelta(days=1)
    while anniversary(hi + timedelta(days=1), age) <= last:
        hi += timedelta(days=1)
    return lo, hi


def _shift(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:
        return date(day.year + years, 2, 28)


# ---- 党龄 --------------------------------------------------------------------------------------


def party_years(joined_on: date | None, on: date) -> int | None:
    """Full years of party membership on ``on`` (党龄), None without a joining date."""
    if joined_on is None:
        return None
    return max(0, age_on(joined_on, on))


def honour_year(joined_on: date | None, years: int = 50) -> int | None:
    """The year the member reaches ``years`` of membership (光荣在党50年 that year)."""
    return None if joined_on is None else joined_on.year + years
