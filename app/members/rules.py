"""Pure domain rules for members: five-management classification (SPEC §6) and name keys."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from app.members.models import TAKEOVER_EMPLOYMENTS


@dataclass(frozen=True)
class ClassificationFacts:
    employment: str
    relation_location: str  # community / work_unit / original_unit / elsewhere
    mobility: str  # none / flow_in / flow_out
    mobility_since: date | None = None
    mobility_expected_return: date | None = None
    has_open_certificate: bool = False
    mobility_open_ended: bool = False

    @classmethod
    def of(cls, row: Any, has_open_certificate: bool = False) -> ClassificationFacts:
        """The facts of a member, a result row or a dict of member values."""
        get = row.get if isinstance(row, dict) else (lambda key: getattr(row, key, None))
        return cls(
            employment=get("employment") or "resident",
            relation_location=get("relation_location") or "community",
            mobility=get("mobility") or "none",
            mobility_since=get("mobility_since"),
            mobility_expected_return=get("mobility_expected_return"),
            has_open_certificate=has_open_certificate,
            mobility_open_ended=bool(get("mobility_open_ended")),
        )


def months_between(start: date, end: date) -> int:
    """Whole months from ``start`` to ``end`` (a day-of-month not yet reached does not count)."""
    months = (end.year - start.year) * 12 + (end.month - start.month)
    if end.day < start.day:
        months -= 1
    return months


def flow_out_months(facts: ClassificationFacts, today: date) -> int:
    """Length of a flow-out: planned (until expected return) or elapsed, whichever is longer.
    A planned trip (start in the future) has not begun: 0."""
    if facts.mobility != "flow_out" or facts.mobility_since is None:
        return 0
    if facts.mobility_since > today:
        return 0
    elapsed = months_between(facts.mobility_since, today)
    planned = (
        months_between(facts.mobility_since, facts.mobility_expected_return)
        if facts.mobility_expected_return
        else 0
    )
    return max(elapsed, planned)


def classify(facts: ClassificationFacts, today: date, coordinated_months: int = 6) -> str:
    """Propose the five-management category. Rules in order, first match wins (SPEC §6)."""
    # 1. Mobile members: flow-in, flow-out of >= threshold months, or an open certificate.
    if facts.mobility == "flow_in" or facts.relation_location == "elsewhere":
        return "coordinated"
    if facts.has_open_certificate:
        return "coordinated"
    # A trip that has begun: long enough by plan or elapsed time, or deliberately open-ended.
    begun = facts.mobility == "flow_out" and facts.mobility_since and facts.mobility_since <= today
    if begun and (facts.mobility_open_ended or flow_out_months(facts, today) >= coordinated_months):
        return "coordinated"
    # 2. In-service members whose org relation is held by the work unit.
    if facts.employment == "in_service" and facts.relation_location == "work_unit":
        return "dual"
    # 3. Retired members.
    if facts.employment == "retired":
        return "shared"
    # 4. Laid-off, waiting for a post, contract terminated, unplaced veterans, graduates.
    if facts.employment in TAKEOVER_EMPLOYMENTS:
        return "takeover"
    # 5. Everyone else: resident members whose relation is in the community.
    return "direct"


def name_keys(name: str) -> tuple[str, str]:
    """(full pinyin for sorting and prefix search, initials for initials search)."""
    # Imported on first use: its dictionaries take ~55 MB, which the processes that never
    # compute a name's pinyin (the print-job worker, its render processes) do not load.
    from pypinyin import lazy_pinyin

    syllables = lazy_pinyin(name, errors="ignore")
    full = " ".join(syllables).lower()
    # The first letter of each syllable (what Style.FIRST_LETTER gives, without a second pass).
    initials = "".join(p[0] for p in syllables if p).lower()
    return full, initials


# ---- dates (SPEC §4: joined ≤ full member ≤ today; age at joining ≥ 18) ---------------------

MIN_JOINING_AGE = 18


def age_on(birth_date: date, day: date) -> int:
    """Age in whole years on ``day`` (a birthday on Feb 29 counts from Mar 1 in other years)."""
    years = day.year - birth_date.year
    if (day.month, day.day) < (birth_date.month, birth_date.day):
        years -= 1
    return years


def party_date_errors(
    birth_date: date | None,
    joined_on: date | None,
    full_member_on: date | None,
    member_type: str,
    today: date,
) -> dict[str, str]:
    """Check the party dates of a record; returns {field: Chinese message} (empty when valid)."""
    errors: dict[str, str] = {}
    if joined_on is not None:
        if joined_on > today:
            errors["joined_on"] = "入党日期不能晚于今天"
        elif birth_date is not None and age_on(birth_date, joined_on) < MIN_JOINING_AGE:
            errors["joined_on"] = "入党时应年满 18 周岁（按身份证号中的出生日期计算）"
    if full_member_on is not None:
        if member_type == "probationary":
            errors["full_member_on"] = "预备党员尚未转正，请不要填写转正日期"
        elif full_member_on > today:
            errors["full_member_on"] = "转正日期不能晚于今天"
        elif joined_on is None:
            errors["full_member_on"] = "填写转正日期前请先填写入党日期"
        elif full_member_on < joined_on:
            errors["full_member_on"] = "转正日期不能早于入党日期"
    return errors


def identity_errors(
    id_birth_date: date, id_sex: str, birth_date: date | None, sex: str | None
) -> dict[str, str]:
    """The birth date and sex stored must agree with the ID number."""
    errors: dict[str, str] = {}
    if birth_date is not None and birth_date != id_birth_date:
        errors["birth_date"] = (
            "出生日期与身份证号不一致（身份证号中为 "
            f"{id_birth_date.year}年{id_birth_date.month}月{id_birth_date.day}日）"
        )
    if sex and sex != id_sex:
        errors["sex"] = "性别与身份证号不一致（身份证号第 17 位奇数为男、偶数为女）"
    return errors


def month_end(month: str | date) -> date:
    """Last day of a month given as ``YYYY-MM`` or any date in it; ``ValueError`` if malformed."""
    if isinstance(month, str):
        text = month.strip()
        if len(text) != 7 or text[4] != "-":
            raise ValueError("月份格式应为 YYYY-MM")
        year, mon = int(text[:4]), int(text[5:])
        if not 1 <= mon <= 12 or year < 1900:
            raise ValueError("月份格式应为 YYYY-MM")
    else:
        year, mon = month.year, month.month
    if mon == 12:
        return date(year, 12, 31)
    return date(year, mon + 1, 1) - timedelta(days=1)
