"""目标考核: an annual assessment per 五管 category (seed 003: "科学制定目标考核体系 … 定性、定量指标").

Quantitative: indicators computed from the year's records. Each feature registers the indicators
its records give (``register``); which indicators count for which category, and their targets, is
the setting ``assessment_targets`` ({"<category>.<indicator>": target}; 0 leaves an indicator out).
Qualitative: the staff's grade per member and year (``AssessmentGrade``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from app.members.models import CATEGORIES

Compute = Callable[[list[int], int], dict[int, float | int | None]]


# Every indicator's name and unit (the settings page names targets with them too).
NAMES: dict[str, tuple[str, str]] = {
    "attendance_rate": ("组织生活出席率", "%"),
    "reports": ("思想汇报", "份"),
    "contacts": ("联系记录", "次"),
    "card_checks": ("活动证查验", "次"),
    "five_one": ("“五个一”完成", "项"),
    "post_held": ("担任岗位", "个"),
    "pairs_active": ("结对帮扶", "对"),
    "service_hours": ("社区服务时长", "小时"),
    "feedback_returned": ("表现反馈单回执", "份"),
    "visits_received": ("走访慰问", "次"),
    "other_org_contacts": ("与对方党组织联系", "次"),
}


@dataclass(frozen=True)
class Indicator:
    key: str
    label: str
    unit: str
    compute: Compute  # (member ids, year) -> value per member; a missing id or None: 不适用


INDICATORS: dict[str, Indicator] = {}


def register(key: str, compute: Compute) -> None:
    label, unit = NAMES[key]
    INDICATORS[key] = Indicator(key, label, unit, compute)


@dataclass
class Result:
    indicator: Indicator
    value: float | int | None
    target: int

    @property
    def applies(self) -> bool:
        return self.value is not None

    @property
    def met(self) -> bool:
        return self.value is not None and self.value >= self.target

    @property
    def text(self) -> str:
        if self.value is None:
            return "不适用"
        value = round(self.value, 1) if isinstance(self.value, float) else self.value
        return f"{value}{self.indicator.unit}"


def targets(settings_value: dict[str, Any]) -> dict[str, list[tuple[str, int]]]:
    """category -> [(indicator key, target)] for the indicators registered and targeted (> 0),
    from the setting ``assessment_targets``."""
    values = settings_value or {}
    table: dict[str, list[tuple[str, int]]] = {key: [] for key in CATEGORIES}
    for name, target in values.items():
        category, _, indicator = name.partition(".")
        if category in table and indicator in INDICATORS and int(target or 0) > 0:
            table[category].append((indicator, int(target)))
    return table


def evaluate(
    members: list[tuple[int, str]], year: int, table: dict[str, list[tuple[str, int]]]
) -> dict[int, list[Result]]:
    """For (member id, category) pairs: each member's results on their category's indicators.
    One ``compute`` call per indicator, for all the members it applies to."""
    wanted: dict[str, list[int]] = {}
    for member_id, category in members:
        for key, _target in table.get(category, []):
            wanted.setdefault(key, []).append(member_id)
    values = {key: INDICATORS[key].compute(ids, year) for key, ids in wanted.items()}
    return {
        member_id: [
            Result(INDICATORS[key], values[key].get(member_id), target)
            for key, target in table.get(category, [])
        ]
        for member_id, category in members
    }


def summary(results: list[Result]) -> tuple[int, int]:
    """(met, applicable)."""
    applicable = [r for r in results if r.applies]
    return sum(1 for r in applicable if r.met), len(applicable)
