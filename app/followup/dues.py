"""党费 (SPEC §9): the monthly amount proposed from income, months paid and owed, and the
services that confirm amounts, set hardship reductions and record payments.

Money is integer fen throughout; rates are per-mille integers (5 = 0.5%), so no float ever
touches an amount. The brackets live in the ``dues_brackets`` setting.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import BigInteger, Index, and_, case, cast, func, literal, null, or_, select
from sqlalchemy.orm import aliased

from app.audit import record
from app.errors import Conflict, DomainError
from app.extensions import db
from app.followup.models import DuesPayment
from app.members.management import dues_here_clause
from app.members.models import Member
from app.settings import get_setting
from app.timeutil import add_months, month_start
from app.uow import flush_or_conflict

# Indexes on the member table for the dues and lost-contact work lists (migration 0006):
# members behind on dues; lost-contact proposals (no org life and no
# dues); members per branch for the appraisal counts. Declared here, next to the queries.
_member = Member.__table__
Index("ix_member_status_dues", _member.c.status, _member.c.dues_paid_until)
Index(
    "ix_member_status_orglife_dues",
    _member.c.status,
    _member.c.last_org_life_on,
    _member.c.dues_paid_until,
)
Index("ix_member_branch_status", _member.c.branch_id, _member.c.status)
# Members here behind on dues (migration 0032): the whole street's count and the lost-contact
# proposals read two ranges of this index (no payment yet, paid until before the cut-off), each
# member tested in the index, instead of every member's row.
Index(
    "ix_member_dues_behind",
    _member.c.relation_location,
    _member.c.status,
    _member.c.dues_paid_until,
    _member.c.mobility,
)
# "Amount to confirm" (migration 0028): every column ``unconfirmed_filter`` reads, so the
# proposal is computed for each member from this narrow index, not from the wide table rows;
# only the few members whose amount differs are then read from the table.
Index(
    "ix_member_dues_standard",
    _member.c.relation_location,
    _member.c.status,
    _member.c.dues_reduced,
    _member.c.employment,
    _member.c.monthly_income_fen,
    _member.c.dues_fen,
    _member.c.mobility,
)

# The conflict message: the member was changed meanwhile (a stale version).
STALE_MEMBER = "该党员信息已被他人修改，请刷新页面后重新操作"

# Employments that pay the flat amount (下岗、待岗、解除劳动合同、未安置复转军人、未就业毕业生).
FLAT_EMPLOYMENTS = frozenset(
    {"laid_off", "waiting_post", "contract_terminated", "unplaced_veteran", "unemployed_graduate"}
)

# Who needs a monthly income for a proposal: in-service and retired members.
INCOME_EMPLOYMENTS = frozenset({"in_service", "retired"})


@dataclass(frozen=True)
class Proposal:
    """The proposed monthly amount (``fen`` is None when it cannot be proposed) and why."""

    fen: int | None
    basis: str

    @property
    def yuan(self) -> str:
        return fen_to_yuan(self.fen) if self.fen is not None else ""


def fen_to_yuan(fen: int | None) -> str:
    """12345 → "123.45" (integer arithmetic; negative amounts keep their sign)."""
    if fen is None:
        return ""
    sign = "-" if fen < 0 else ""
    whole, part = divmod(abs(int(fen)), 100)
    return f"{sign}{whole}.{part:02d}"


def yuan_to_fen(text: str) -> int:
    """Parse an amount typed in yuan ("12", "12.3", "12.34", "１２.５", "¥12") into fen.

    Raises ValueError for anything else (more than two decimals, negative, not a number)."""
    cleaned = str(text or "").strip().translate(_FULLWIDTH).replace("¥", "").replace("元", "")
    cleaned = cleaned.replace(",", "").strip()
    if not cleaned:
        raise ValueError("empty")
    whole, dot, part = cleaned.partition(".")
    if not whole:
        whole = "0"
    if not whole.isdigit() or (dot and not part.isdigit()) or len(part) > 2:
        raise ValueError(cleaned)
    if len(whole) > 9:
        raise ValueError("too large")
    return int(whole) * 100 + int((part + "00")[:2])


_FULLWIDTH = str.maketrans("０１２３４５６７８９．，", "0123456789.,")


def percent_label(per_mille: int) -> str:
    """5 → "0.5%", 10 → "1%", 15 → "1.5%"."""
    whole, tenth = divmod(int(per_mille), 10)
    return f"{whole}.{tenth}%" if tenth else f"{whole}%"


def half_up(income_fen: int, per_mille: int) -> int:
    """``income_fen`` × per_mille / 1000 rounded half-up to a whole fen (0.01 yuan)."""
    return (income_fen * per_mille * 2 + 1000) // 2000


def rate_for(income_fen: int, brackets: list[list[Any]]) -> int:
    """The per-mille rate of the bracket holding ``income_fen``; each bracket is
    ``[upper_fen or None, per_mille]`` in ascending order and its upper bound belongs to it
    (a boundary belongs to the lower band)."""
    for upper, per_mille in brackets:
        if upper is None or income_fen <= int(upper):
            return int(per_mille)
    return int(brackets[-1][1])


def propose(
    employment: str,
    monthly_income_fen: int | None,
    settings: dict[str, Any],
    *,
    on_relief: bool = False,
) -> Proposal:
    """The monthly dues the party's rules give for this situation.

    - students, laid-off (and the other take-over situations) and members living on relief
      (``on_relief``): the flat amount (0.2 yuan);
    - retired: the retiree brackets of the monthly pension;
    - in service: the in-service brackets of the monthly pay;
    - other residents with an income: the in-service brackets; without one, the flat amount.
    """
    flat = int(settings["flat_fen"])
    if on_relief:
        return Proposal(flat, "依靠救济生活，每月交纳 " + fen_to_yuan(flat) + " 元")
    if employment in FLAT_EMPLOYMENTS:
        return Proposal(flat, "下岗失业等情形，每月交纳 " + fen_to_yuan(flat) + " 元")
    if monthly_income_fen is None or monthly_income_fen <= 0:
        if employment in INCOME_EMPLOYMENTS:
            return Proposal(None, "登记卡中没有月收入，无法按比例测算，请先填写月收入")
        return Proposal(flat, "无固定收入，每月交纳 " + fen_to_yuan(flat) + " 元")
    table = settings["retired"] if employment == "retired" else settings["in_service"]
    per_mille = rate_for(monthly_income_fen, table)
    who = "离退休党员" if employment == "retired" else "按月工资收入"
    return Proposal(
        half_up(monthly_income_fen, per_mille),
        f"{who}：月收入 {fen_to_yuan(monthly_income_fen)} 元 × {percent_label(per_mille)}",
    )


def bracket_rows(settings: dict[str, Any]) -> list[tuple[str, str, str]]:
    """The brackets as (who, income band, rate) rows for the help table."""
    rows = []
    for key, who in (("in_service", "在职党员"), ("retired", "离退休党员")):
        lower = 0
        for upper, per_mille in settings[key]:
            if upper is None:
                band = f"{fen_to_yuan(lower).removesuffix('.00')} 元以上"
            elif lower == 0:
                band = f"{fen_to_yuan(int(upper)).removesuffix('.00')} 元及以下"
            else:
                band = (
                    f"{fen_to_yuan(lower).removesuffix('.00')}–"
                    f"{fen_to_yuan(int(upper)).removesuffix('.00')} 元（含）"
                )
            rows.append((who, band, percent_label(per_mille)))
            lower = int(upper) if upper is not None else lower
    flat = fen_to_yuan(int(settings["flat_fen"]))
    rows.append(("学生、下岗失业、依靠救济生活的党员", "—", f"每月 {flat} 元"))
    return rows


# ---- months ---------------------------------------------------------------------------------


def month_index(d: date) -> int:
    return d.year * 12 + d.month - 1


def months_behind(paid_until: date | None, today: date) -> int | None:
    """Whole months owed before the current one (the current month may still be paid during
    the month): paid up to last month → 0. None when nothing was ever recorded."""
    if paid_until is None:
        return None
    return max(month_index(today) - month_index(paid_until) - 1, 0)


def behind_cutoff(today: date, months: int) -> date:
    """Members paid up to a month before this date are at least ``months`` behind."""
    return add_months(month_start(today), -months)


def payment_months(paid_until: date | None, months: int, today: date) -> tuple[date, date]:
    """The months a payment of ``months`` months covers: from the month after ``paid_until``
    (or the current month when nothing was recorded) onwards."""
    start = add_months(month_start(paid_until), 1) if paid_until else month_start(today)
    return start, add_months(start, months - 1)


def month_label(d: date | None) -> str:
    return f"{d.year}年{d.month}月" if d else ""


# ---- SQL: the same proposal, for lists over the whole scope -----------------------------------


def proposed_fen_sql(settings: dict[str, Any]):  # noqa: ANN201
    """A SQL expression giving ``propose(...).fen`` for each member row (NULL where no amount
    can be proposed), so the "amount to confirm" list filters in the database. Integer
    arithmetic in BIGINT on both engines (the tests check it agrees with ``propose``).

    The bracket picks a rate and the rounding is written once (not once per bracket): the list
    evaluates this for every member of the street, so its length is its cost."""
    income = Member.monthly_income_fen
    flat = literal(int(settings["flat_fen"]), BigInteger)

    def rate(table: list[list[Any]]):  # noqa: ANN202
        whens = []
        for upper, per_mille in table:
            if upper is None:
                return case(*whens, else_=int(per_mille)) if whens else literal(int(per_mille))
            whens.append((income <= int(upper), int(per_mille)))
        return case(*whens, else_=null())

    per_mille = case(
        (Member.employment == "retired", rate(settings["retired"])),
        else_=rate(settings["in_service"]),
    )
    no_income = or_(income.is_(None), income <= 0)
    return case(
        (Member.employment.in_(sorted(FLAT_EMPLOYMENTS)), flat),
        (
            no_income,
            case((Member.employment.in_(sorted(INCOME_EMPLOYMENTS)), null()), else_=flat),
        ),
        else_=(cast(income, BigInteger) * per_mille * 2 + 1000) // 2000,
    )


# ---- services: amounts and payments ------------------------------------------------------------

# Members whose dues are followed (in the community's care, membership not ended).
DUES_STATUSES = ("active", "flowed_out", "lost_contact")
MAX_MONTHS = 24


def settings() -> dict[str, Any]:
    return get_setting("dues_brackets")


def proposal_for(member: Member) -> Proposal:
    return propose(member.employment, member.monthly_income_fen, settings())


def set_standard(
    member: Member,
    user: Any,
    *,
    reduced: bool,
    amount_fen: int | None,
    reason: str | None,
    expected_version: int | None,
) -> bool:
    """Confirm the proposed amount (``reduced`` False) or set a hardship reduction (an amount
    below the proposal and a reason, kept as the member's 困难情况). Returns whether anything
    changed; audited as ``dues_standard``."""
    if expected_version is not None and expected_version != member.version:
        raise Conflict(STALE_MEMBER)
    proposal = proposal_for(member)
    reason = (reason or "").strip() or None
    if reduced:
        errors = {}
        if amount_fen is None:
            errors["amount"] = "请填写减免后的每月党费"
        elif proposal.fen is not None and amount_fen >= proposal.fen:
            errors["amount"] = f"减免后的金额应低于测算金额 {proposal.yuan} 元"
        if not reason:
            errors["reason"] = "请填写减免原因（困难情况）"
        elif len(reason) > 200:
            errors["reason"] = "减免原因请控制在 200 字以内"
        if errors:
            raise DomainError(errors)
        after = {"dues_fen": amount_fen, "dues_reduced": True, "hardship": reason}
    else:
        if proposal.fen is None:
            raise DomainError({"amount": proposal.basis})
        after = {"dues_fen": proposal.fen, "dues_reduced": False}
    before = {key: getattr(member, key) for key in after}
    if before == after:
        return False
    for key, value in after.items():
        setattr(member, key, value)
    record(
        "dues_standard",
        member,
        user=user,
        before=before,
        after=after,
        detail="困难减免" if reduced else "按测算确认",
    )
    flush_or_conflict(lambda: Conflict(STALE_MEMBER))
    return True


def record_payment(
    member: Member,
    user: Any,
    *,
    months: int,
    amount_fen: int | None,
    paid_on: date,
    today: date,
    paid_by: Member | None = None,
    note: str | None = None,
) -> DuesPayment:
    """Record a payment of ``months`` months (the months after "paid up to"), possibly paid
    by another member, and advance the member's "dues paid up to"."""
    errors = {}
    if not 1 <= months <= MAX_MONTHS:
        errors["months"] = f"一次可交 1 至 {MAX_MONTHS} 个月"
    if amount_fen is None:
        if member.dues_fen is None:
            errors["amount"] = "该党员尚未确定党费标准，请填写实交金额"
        else:
            amount_fen = member.dues_fen * months
    elif amount_fen <= 0:
        errors["amount"] = "实交金额应大于 0"
    if paid_on > today:
        errors["paid_on"] = "交纳日期不能晚于今天"
    if paid_by is not None and paid_by.id == member.id:
        paid_by = None
    if errors:
        raise DomainError(errors)
    start, end = payment_months(member.dues_paid_until, months, today)
    payment = DuesPayment(
        member_id=member.id,
        from_month=start,
        to_month=end,
        amount_fen=amount_fen,
        paid_on=paid_on,
        paid_by_member_id=paid_by.id if paid_by else None,
        recorded_by_id=getattr(user, "id", None),
        note=(note or "").strip()[:200] or None,
    )
    db.session.add(payment)
    before = member.dues_paid_until
    member.dues_paid_until = end
    db.session.flush()
    record(
        "dues_payment",
        member,
        user=user,
        before={"dues_paid_until": before},
        after={"dues_paid_until": end},
        detail=f"交纳 {months} 个月（{month_label(start)}至{month_label(end)}），"
        f"{fen_to_yuan(amount_fen)} 元" + (f"，由 {paid_by.name} 代交" if paid_by else ""),
    )
    flush_or_conflict(lambda: Conflict(STALE_MEMBER))
    return payment


def behind_filter(today: date, months: int):  # noqa: ANN201
    """Members who pay here (management picture) at least ``months`` whole months behind (or
    with nothing recorded); dues paid at a work unit or home organization are not behind here."""
    return and_(
        Member.status.in_(DUES_STATUSES),
        dues_here_clause(),
        or_(
            Member.dues_paid_until.is_(None),
            Member.dues_paid_until < behind_cutoff(today, months),
        ),
    )


def unconfirmed_filter():  # noqa: ANN201
    """Members whose stored amount differs from the proposal (hardship reductions excepted).

    The proposal is evaluated once per member: a missing amount counts as -1, which no
    proposal equals, and a member without a proposal compares as NULL (left out). Every column
    it reads is in ``ix_member_dues_standard``, so the scan stays in that index."""
    proposed = proposed_fen_sql(settings())
    return and_(
        Member.status.in_(DUES_STATUSES),
        dues_here_clause(),
        Member.dues_reduced.is_(False),
        func.coalesce(Member.dues_fen, -1) != proposed,
    )


def _payments(mine, theirs, label: str, member: Member, limit: int) -> list:  # noqa: ANN001
    """Payments whose ``mine`` column is ``member``, newest first, each with the name of the
    member in ``theirs`` (the payer, or the member paid for) as ``label``."""
    other = aliased(Member)
    return db.session.execute(
        select(DuesPayment, other.name.label(label))
        .outerjoin(other, other.id == theirs)
        .where(mine == member.id)
        .order_by(DuesPayment.paid_on.desc(), DuesPayment.id.desc())
        .limit(limit)
    ).all()


def payments_of(member: Member, limit: int = 24) -> list:
    pair = (DuesPayment.member_id, DuesPayment.paid_by_member_id)
    return _payments(*pair, "payer_name", member, limit)


def paid_for_others(member: Member, limit: int = 12) -> list:
    """Payments this member made on behalf of other members."""
    pair = (DuesPayment.paid_by_member_id, DuesPayment.member_id)
    return _payments(*pair, "member_name", member, limit)
