"""The 直管 rules, table-driven (app/direct/rules.py)."""

from __future__ import annotations

from datetime import date

import pytest

from app.direct import rules

D = date


@pytest.mark.parametrize(
    ("starts", "ends", "errors"),
    [
        (D(2026, 1, 1), None, {}),
        (D(2026, 1, 1), D(2026, 1, 1), {}),
        (D(2026, 1, 1), D(2026, 12, 31), {}),
        (None, None, {"starts_on": "请填写开始日期"}),
        (D(2026, 1, 2), D(2026, 1, 1), {"ends_on": "结束日期不能早于开始日期"}),
        (D(2026, 1, 1), D(2040, 1, 1), {"ends_on": "任期最长 10 年"}),
    ],
)
def test_period(starts, ends, errors):
    assert rules.period_errors(starts, ends) == errors


@pytest.mark.parametrize(
    ("a", "b", "overlap"),
    [
        ((D(2026, 1, 1), D(2026, 3, 31)), (D(2026, 4, 1), None), False),
        ((D(2026, 1, 1), D(2026, 3, 31)), (D(2026, 3, 31), None), True),
        ((D(2026, 1, 1), None), (D(2030, 1, 1), D(2030, 2, 1)), True),
        ((D(2026, 5, 1), D(2026, 6, 1)), (D(2026, 1, 1), D(2026, 4, 30)), False),
    ],
)
def test_overlaps(a, b, overlap):
    assert rules.overlaps(*a, *b) is overlap
    assert rules.overlaps(*b, *a) is overlap


@pytest.mark.parametrize(
    ("chosen", "errors"),
    [
        ([1], {}),
        ([1, 2], {}),
        ([], {"buildings": "请至少选择一栋楼作为责任区"}),
        ([1, 99], {"buildings": "责任区只能选择该党员所在社区的楼栋"}),
    ],
)
def test_area(chosen, errors):
    assert rules.area_errors(chosen, {1, 2, 3}) == errors


TODAY = D(2026, 6, 15)


@pytest.mark.parametrize(
    ("visited", "errors"),
    [
        (TODAY, {}),
        (D(2026, 1, 1), {}),
        (None, {"visited_on": "请填写帮扶日期"}),
        (D(2026, 6, 16), {"visited_on": "帮扶日期不能晚于今天"}),
        (D(2025, 12, 31), {"visited_on": "帮扶日期不能早于结对开始日期"}),
    ],
)
def test_visit(visited, errors):
    assert rules.visit_errors(visited, D(2026, 1, 1), TODAY) == errors


@pytest.mark.parametrize(("year", "ok"), [(2026, True), (2000, True), (2027, False), (None, False)])
def test_review_year(year, ok):
    assert (rules.review_year_errors(year, TODAY) == {}) is ok
