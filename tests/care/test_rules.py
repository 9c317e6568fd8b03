"""共管 due rules: round birthdays, festivals (七一, 春节, 重阳 from the table), illness; 党龄."""

from __future__ import annotations

from datetime import date

import pytest

from app.care import rules

R = rules.Rules()  # lead 15 days, late 30 days, birthdays 70, 80, 90 …; 重阳 from 60


@pytest.mark.parametrize(
    ("birth", "today", "visited", "expected"),
    [
        # A round birthday is due from 15 days before …
        (date(1946, 5, 20), date(2026, 5, 4), set(), []),
        (date(1946, 5, 20), date(2026, 5, 5), set(), ["birthday-80"]),
        (date(1946, 5, 20), date(2026, 5, 20), set(), ["birthday-80"]),
        # … until 30 days after it.
        (date(1946, 5, 20), date(2026, 6, 19), set(), ["birthday-80", "qiyi-2026"]),
        (date(1946, 5, 20), date(2026, 6, 20), set(), ["qiyi-2026"]),
        # Not a round age: nothing.
        (date(1947, 5, 20), date(2026, 5, 20), set(), []),
        # Below the first round age (70): nothing.
        (date(1966, 5, 20), date(2026, 5, 20), set(), []),
        # 70 and 100 are round ages too.
        (date(1956, 5, 20), date(2026, 5, 20), set(), ["birthday-70"]),
        (date(1926, 5, 20), date(2026, 5, 20), set(), ["birthday-100"]),
        # A visit logged for it: gone.
        (date(1946, 5, 20), date(2026, 5, 20), {"birthday-80"}, []),
        # Born on 29 February: the 28th in a common year.
        # (1948: leap year to leap year, the 29th; 春节 2028 is still within its 30 days.)
        (date(1948, 2, 29), date(2028, 2, 14), set(), ["spring-2028", "birthday-80"]),
        (date(1956, 2, 29), date(2026, 3, 30), set(), ["birthday-70"]),
        (date(1956, 2, 29), date(2026, 3, 31), set(), []),
        # 七一 for every 共管 member, from 16 June.
        (date(1960, 1, 1), date(2026, 6, 15), set(), []),
        (date(1960, 1, 1), date(2026, 6, 16), set(), ["qiyi-2026"]),
        (date(1960, 1, 1), date(2026, 7, 31), set(), ["qiyi-2026"]),
        (date(1960, 1, 1), date(2026, 8, 1), set(), []),
        # 春节 from the lunar table: 2027-02-06, due from 22 January.
        (date(1960, 1, 1), date(2027, 1, 21), set(), []),
        (date(1960, 1, 1), date(2027, 1, 22), set(), ["spring-2027"]),
        (date(1960, 1, 1), date(2027, 1, 22), {"spring-2027"}, []),
        # 春节 2028 is 26 January: on 1 January 2028 it is not due yet (lead 15 days) …
        (date(1960, 1, 1), date(2028, 1, 10), set(), []),
        (date(1960, 1, 1), date(2028, 1, 11), set(), ["spring-2028"]),
        # 重阳 2026 is 18 October, for members aged 60 or more that day.
        (date(1966, 10, 18), date(2026, 10, 18), set(), ["chongyang-2026"]),
        (date(1966, 10, 19), date(2026, 10, 18), set(), []),
        # Beyond the table (2031): no 春节 or 重阳 visit is scheduled.
        (date(1960, 1, 1), date(2031, 10, 20), set(), []),
        # Two occasions at once, earliest first.
        (date(1956, 6, 25), date(2026, 6, 20), set(), ["birthday-70", "qiyi-2026"]),
    ],
)
def test_due_occasions(birth, today, visited, expected):
    found = rules.due_occasions(birth, today, R, visited=visited)
    assert [o.key for o in found] == expected


@pytest.mark.parametrize(
    ("occurred", "today", "visited", "expected"),
    [
        (date(2026, 3, 1), date(2026, 3, 1), set(), ["illness-7"]),
        (date(2026, 3, 1), date(2026, 9, 1), set(), ["illness-7"]),  # due until visited
        (date(2026, 3, 1), date(2026, 3, 2), {"illness-7"}, []),
        (date(2026, 3, 5), date(2026, 3, 4), set(), []),  # not before it happened
    ],
)
def test_illness_is_due_until_visited(occurred, today, visited, expected):
    found = rules.due_occasions(None, today, R, [(7, occurred, "住院探望")], visited)
    assert [o.key for o in found] == expected


@pytest.mark.parametrize(
    ("settings", "birth", "today", "expected"),
    [
        (
            {"birthday_from_age": 75, "birthday_every": 5},
            date(1951, 5, 20),
            date(2026, 5, 20),
            ["birthday-75"],
        ),
        (
            {"birthday_from_age": 75, "birthday_every": 5},
            date(1946, 5, 20),
            date(2026, 5, 20),
            ["birthday-80"],
        ),
        ({"lead_days": 0}, date(1946, 5, 20), date(2026, 5, 19), []),
        ({"late_days": 0}, date(1946, 5, 20), date(2026, 5, 21), []),
        ({"qiyi_min_age": 80}, date(1960, 1, 1), date(2026, 7, 1), []),
        ({"chongyang_min_age": 0}, date(1990, 1, 1), date(2026, 10, 18), ["chongyang-2026"]),
    ],
)
def test_rules_follow_the_settings(settings, birth, today, expected):
    found = rules.due_occasions(birth, today, rules.Rules.of(settings))
    assert [o.key for o in found] == expected


@pytest.mark.parametrize("age", [70, 80, 100])
@pytest.mark.parametrize(
    "today", [date(2026, 5, 20), date(2028, 2, 29), date(2027, 3, 1), date(2026, 12, 31)]
)
def test_birth_range_holds_exactly_the_due_birthdays(age, today):
    lo, hi = rules.birth_range(age, today, R)
    for offset in range(-3, 4):
        for edge in (lo, hi):
            birth = date.fromordinal(edge.toordinal() + offset)
            due = rules.in_window(rules.anniversary(birth, age), today, R)
            assert due == (lo <= birth <= hi), (birth, lo, hi)


def test_festival_tables_cover_2024_to_2030():
    assert sorted(rules.SPRING_FESTIVAL) == list(range(2024, 2031))
    assert sorted(rules.CHONGYANG) == list(range(2024, 2031))
    assert all(date(y, 1, 20) <= d <= date(y, 2, 21) for y, d in rules.SPRING_FESTIVAL.items())
    assert all(date(y, 9, 28) <= d <= date(y, 10, 31) for y, d in rules.CHONGYANG.items())


@pytest.mark.parametrize(
    ("joined", "on", "years"),
    [
        (date(1976, 7, 1), date(2026, 6, 30), 49),
        (date(1976, 7, 1), date(2026, 7, 1), 50),
        (date(1976, 2, 29), date(2026, 2, 28), 49),
        (date(1976, 2, 29), date(2026, 3, 1), 50),
        (None, date(2026, 1, 1), None),
    ],
)
def test_party_years(joined, on, years):
    assert rules.party_years(joined, on) == years
