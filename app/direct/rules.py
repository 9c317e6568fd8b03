"""The 直管 rules as pure functions (one place for the forms and the services)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date

MAX_PERIOD_YEARS = 10


def period_errors(starts_on: date | None, ends_on: date | None) -> dict[str, str]:
    """A post's or a pair's period: a start, and an end (optional) not before it."""
    errors: dict[str, str] = {}
    if starts_on is None:
        errors["starts_on"] = "请填写开始日期"
    elif ends_on is not None and ends_on < starts_on:
        errors["ends_on"] = "结束日期不能早于开始日期"
    elif ends_on is not None and (ends_on - starts_on).days > 366 * MAX_PERIOD_YEARS:
        errors["ends_on"] = f"任期最长 {MAX_PERIOD_YEARS} 年"
    return errors


def overlaps(a_start: date, a_end: date | None, b_start: date, b_end: date | None) -> bool:
    """Two periods (an end of None: open) share at least one day."""
    return (a_end is None or b_start <= a_end) and (b_end is None or a_start <= b_end)


def area_errors(building_ids: Iterable[int], community_buildings: set[int]) -> dict[str, str]:
    """A 责任区: one or more buildings, all of the member's community."""
    chosen = set(building_ids)
    if not chosen:
        return {"buildings": "请至少选择一栋楼作为责任区"}
    if chosen - community_buildings:
        return {"buildings": "责任区只能选择该党员所在社区的楼栋"}
    return {}


def visit_errors(visited_on: date | None, starts_on: date, today: date) -> dict[str, str]:
    if visited_on is None:
        return {"visited_on": "请填写帮扶日期"}
    if visited_on > today:
        return {"visited_on": "帮扶日期不能晚于今天"}
    if visited_on < starts_on:
        return {"visited_on": "帮扶日期不能早于结对开始日期"}
    return {}


def review_year_errors(year: int | None, today: date) -> dict[str, str]:
    if year is None or not 2000 <= year <= today.year:
        return {"year": f"请选择 2000 至 {today.year} 之间的年度"}
    return {}
