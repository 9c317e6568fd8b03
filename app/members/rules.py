"""Pure domain rules for members: five-management classification (SPEC §6) and name keys."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from pypinyin import Style, lazy_pinyin

from app.members.models import TAKEOVER_EMPLOYMENTS


@dataclass(frozen=True)
class ClassificationFacts:
    employment: str
    relation_location: str  # community / work_unit / original_unit / elsewhere
    mobility: str  # none / flow_in / flow_out
    mobility_since: date | None = None
    mobility_expected_return: date | None = None
    has_open_certificate: bool = False


def months_between(start: date, end: date) -> int:
    """Whole months from ``start`` to ``end`` (a day-of-month not yet reached does not count)."""
    months = (end.year - start.year) * 12 + (end.month - start.month)
    if end.day < start.day:
        months -= 1
    return months


def flow_out_months(facts: ClassificationFacts, today: date) -> int:
    """Length of a flow-out: planned (until expected return) or elapsed, whichever is longer."""
    if facts.mobility != "flow_out" or facts.mobility_since is None:
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
    if facts.mobility == "flow_out" and flow_out_months(facts, today) >= coordinated_months:
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
    syllables = lazy_pinyin(name, errors="ignore")
    full = " ".join(syllables).lower()
    initials = "".join(
        p[0] for p in lazy_pinyin(name, style=Style.FIRST_LETTER, errors="ignore") if p
    ).lower()
    return full, initials
