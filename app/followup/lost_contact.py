"""失联党员 (SPEC §9, seed 000): the rules — who is proposed as lost-contact, how long a case
has been hidden (the seed's "> 1 year" and "> 2 years" counts), the stage moves and the
suspension dates — and the services that open, work on and close cases.

The portal only proposes and flags; people decide (the national rule suspends the membership
of a lost-contact member, restorable within 2 years).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from app.followup.dues import add_months, behind_cutoff, month_start

# Stages of a case in order (摸底 → 核实 → 验收).
STAGE_ORDER = ("survey", "verify", "closed")
OPEN_STAGES = ("survey", "verify")
# Outcomes that close a case and the member status each one leads to (None: unchanged).
OUTCOME_STATUS = {
    "restored": "active",
    "membership_restored": "active",
    "suspended": "lost_contact",
    "removed": "withdrawn",
    "transferred": "transferred_out",
    "deceased": "deceased",
    "other": None,
}
# Months out of contact after which suspending the membership may be considered.
SUSPEND_AFTER_MONTHS = 6
RESTORE_YEARS = 2


def add_years(d: date, years: int) -> date:
    """The same day ``years`` later (29 February → 28 February in a common year)."""
    try:
        return d.replace(year=d.year + years)
    except ValueError:
        return d.replace(year=d.year + years, day=28)


def hidden_over(since: date, today: date, years: int) -> bool:
    """Hidden for more than ``years`` whole years (exactly one year is not "more than")."""
    return since < add_years(today, -years)


def hidden_cutoffs(today: date) -> tuple[date, date]:
    """``since`` before the first date → hidden > 1 year; before the second → > 2 years."""
    return add_years(today, -1), add_years(today, -2)


def proposal_cutoff(today: date, months: int) -> tuple[date, date]:
    """(last org life before, dues paid up to a month before): a member with neither org life
    since the first date nor dues paid from the second month on is proposed as lost-contact."""
    return _months_ago(today, months), behind_cutoff(today, months)


def _months_ago(today: date, months: int) -> date:
    """The same day ``months`` earlier (clamped to the month's end)."""
    first = add_months(month_start(today), -months)
    day = today.day
    while True:
        try:
            return first.replace(day=day)
        except ValueError:
            day -= 1


def is_candidate(
    last_org_life_on: date | None, dues_paid_until: date | None, today: date, months: int = 6
) -> bool:
    """No org life and no dues for ``months`` months (nothing recorded counts as none)."""
    org_before, dues_before = proposal_cutoff(today, months)
    no_org_life = last_org_life_on is None or last_org_life_on < org_before
    no_dues = dues_paid_until is None or dues_paid_until < dues_before
    return no_org_life and no_dues


def can_move(stage: str, to: str) -> bool:
    """Open cases move between 摸底 and 核实 (back to survey when verification fails); closing
    (验收) goes through ``close`` with an outcome."""
    return stage in OPEN_STAGES and to in OPEN_STAGES and to != stage


@dataclass(frozen=True)
class Flag:
    level: str  # "info", "warn" or "alert"
    text: str


def restore_deadline(suspended_on: date) -> date:
    return add_years(suspended_on, RESTORE_YEARS)


def flags(
    *,
    since: date,
    stage: str,
    outcome: str | None,
    suspended_on: date | None,
    today: date,
) -> list[Flag]:
    """What the case page and the list show next to a case (dates, not decisions)."""
    out: list[Flag] = []
    if suspended_on is not None and outcome not in {"membership_restored", "removed", "deceased"}:
        deadline = restore_deadline(suspended_on)
        if today <= deadline:
            out.append(Flag("warn", f"已停止党籍，恢复期限至 {deadline.isoformat()}"))
        else:
            out.append(
                Flag(
                    "alert",
                    f"停止党籍已满 {RESTORE_YEARS} 年（{deadline.isoformat()} 到期），"
                    "可研究按自行脱党除名",
                )
            )
        return out
    if stage in OPEN_STAGES:
        if hidden_over(since, today, 2):
            out.append(Flag("alert", "失联超过 2 年"))
        elif hidden_over(since, today, 1):
            out.append(Flag("warn", "失联超过 1 年"))
        if since <= _months_ago(today, SUSPEND_AFTER_MONTHS):
            out.append(Flag("info", f"失联已满 {SUSPEND_AFTER_MONTHS} 个月，可研究是否停止党籍"))
    return out


def share(part: int, total: int) -> str:
    """Percentage as the seed reports it ("61%"), "—" without a total."""
    if not total:
        return "—"
    return f"{(part * 100 * 2 + total) // (2 * total)}%"
