"""共管 pages: the visits-due work list, a member's care page (plan, events, visits), 老党员."""

from __future__ import annotations

from flask import Blueprint, flash, request, url_for
from flask_login import current_user
from sqlalchemy import select

from app import reminders, work
from app.audit import record
from app.care import queries, rules, services
from app.care.forms import CareEventForm, CarePlanForm, VisitForm, choices
from app.certificates.blueprint import _pdf_response
from app.certificates.engine import render_pdf
from app.errors import errors_onto
from app.extensions import db
from app.forms import validated
from app.htmx import render_page_or_block, see_other
from app.members.models import Member
from app.members.queries import PINYIN_ORDER
from app.organization.scope import get_in_scope_or_404, member_scope_filter
from app.paging import keyset_page
from app.params import query_int
from app.security import mark_personal, staff_required
from app.timeutil import local_today

bp = Blueprint("care", __name__, url_prefix="/care")

reminders.register(
    "care_visits_due", "共管党员待走访慰问", queries.due_count, "care.visits", order=60
)
work.register("shared", "走访慰问：待走访名单", "care.visits", order=10)
work.register("shared", "老党员名单（光荣在党50年）", "care.veterans", order=20)
VETERAN_YEARS = (50, 60, 70)


@bp.app_context_processor
def _card_helpers() -> dict:
    """What templates/care/_card.html (included on the member card) reads."""
    return {"care_card": _card_facts}


def _card_facts(member: Member) -> dict:
    facts = queries.care_facts(member)
    return {
        "plan": facts.plan,
        "due": facts.due,
        "last_visit": facts.visits[0] if facts.visits else None,
        "party_years": rules.party_years(member.joined_on, local_today()),
    }


def _member(member_id: int) -> Member:
    return get_in_scope_or_404(Member, member_id, current_user, member_scope_filter)


@bp.route("/visits")
@staff_required
def visits():
    """走访慰问: 共管 members with a visit due (round birthdays, festivals, illness)."""
    mark_personal()
    today, r = local_today(), queries.current_rules()
    where = queries.due_where(current_user, today, r)
    page = keyset_page(select(Member).where(*where), PINYIN_ORDER, cursor=lambda row: row[0].id)
    members = [row[0] for row in page.rows]
    due = queries.due_for(members, today, r)
    return render_page_or_block(
        "care/visits.html",
        "results",
        page=page,
        rows=[(m, due[m.id]) for m in members],
        total=queries.due_count(current_user, where),
        today=today,
        r=r,
    )


def _page_context(member: Member, **forms) -> dict:
    facts = queries.care_facts(member)
    plan_form = forms.get("plan_form") or CarePlanForm(obj=facts.plan, formdata=None)
    visit_form = forms.get("visit_form") or VisitForm(formdata=None)
    visit_form.occasion.choices = choices(services.occasion_choices(member, facts.due))
    if visit_form.visited_on.data is None and "visit_form" not in forms:
        visit_form.visited_on.data = local_today()
        if request.args.get("occasion"):
            visit_form.occasion.data = request.args["occasion"]
    event_form = forms.get("event_form") or CareEventForm(formdata=None)
    if event_form.occurred_on.data is None and "event_form" not in forms:
        event_form.occurred_on.data = local_today()
    return {
        "member": member,
        "facts": facts,
        "plan_form": plan_form,
        "visit_form": visit_form,
        "event_form": event_form,
        "party_years": rules.party_years(member.joined_on, local_today()),
        "age": rules.age_on(member.birth_date, local_today()),
    }


def _render(member: Member, status: int = 200, **forms):
    return render_page_or_block(
        "care/member.html", "content", status=status, **_page_context(member, **forms)
    )


@bp.route("/member/<int:member_id>")
@staff_required
def member(member_id: int):
    mark_personal()
    return _render(_member(member_id))


@bp.route("/member/<int:member_id>/plan", methods=["POST"])
@staff_required
def plan(member_id: int):
    mark_personal()
    m = _member(member_id)
    form = CarePlanForm()
    if validated(form):
        with errors_onto(form):
            services.save_plan(m, form.data, current_user)
            flash("已保存关怀计划", "success")
            return see_other(url_for("care.member", member_id=m.id))
    return _render(_member(member_id), 422, plan_form=form)


@bp.route("/member/<int:member_id>/visit", methods=["POST"])
@staff_required
def visit(member_id: int):
    mark_personal()
    m = _member(member_id)
    form = VisitForm()
    due = queries.care_facts(m).due
    if validated(form):
        with errors_onto(form):
            services.log_visit(m, form.data, due, current_user)
            flash("已登记走访，该事由已从待走访名单中移除", "success")
            return see_other(url_for("care.member", member_id=m.id))
    return _render(_member(member_id), 422, visit_form=form)


@bp.route("/member/<int:member_id>/event", methods=["POST"])
@staff_required
def event(member_id: int):
    mark_personal()
    m = _member(member_id)
    form = CareEventForm()
    if validated(form):
        with errors_onto(form):
            services.record_event(m, form.data, current_user)
            flash("已登记，待走访名单中已加入探望", "success")
            return see_other(url_for("care.member", member_id=m.id))
    return _render(_member(member_id), 422, event_form=form)


def _veteran_args() -> tuple[int, int, bool]:
    today = local_today()
    year = query_int(request.args, "year", minimum=1950, maximum=today.year + 5) or today.year
    years = query_int(request.args, "years") or 50
    if years not in VETERAN_YEARS:
        years = 50
    only = request.args.get("only", "1") != "0"
    return year, years, only


@bp.route("/veterans")
@staff_required
def veterans():
    """老党员: members by 党龄 — those reaching N years in a year (光荣在党N年), or all with ≥ N."""
    mark_personal()
    year, years, only = _veteran_args()
    where = queries.veterans_where(current_user, year, years, only)
    page = keyset_page(select(Member).where(*where), PINYIN_ORDER, cursor=lambda row: row[0].id)
    from sqlalchemy import func

    total = db.session.execute(select(func.count(Member.id)).where(*where)).scalar_one()
    return render_page_or_block(
        "care/veterans.html",
        "results",
        page=page,
        rows=[row[0] for row in page.rows],
        total=total,
        year=year,
        years=years,
        only=only,
        choices=VETERAN_YEARS,
        party_years=lambda m: rules.party_years(m.joined_on, _year_end(year)),
    )


def _year_end(year: int):
    from datetime import date

    return date(year, 12, 31)


@bp.route("/veterans.pdf")
@staff_required
def veterans_pdf():
    year, years, only = _veteran_args()
    where = queries.veterans_where(current_user, year, years, only)
    members = db.session.execute(
        select(Member).where(*where).order_by(*PINYIN_ORDER).limit(5000)
    ).scalars()
    title = (
        f"{year}年“光荣在党{years}年”党员名单"
        if only
        else f"党龄{years}年以上党员名单（截至{year}年底）"
    )
    rows = [
        {
            "name": m.name,
            "sex": {"M": "男", "F": "女"}.get(m.sex, ""),
            "birth": m.birth_date.strftime("%Y年%m月"),
            "joined": m.joined_on.strftime("%Y年%m月%d日") if m.joined_on else "",
            "years": rules.party_years(m.joined_on, _year_end(year)),
            "category": m.category_label,
            "address": m.address or "",
        }
        for m in members
    ]
    data = render_pdf("care_veterans.html", {"title": title, "rows": rows, "today": local_today()})
    record(
        "care_veterans_print",
        object_type="member",
        after={"year": year, "years": years, "count": len(rows)},
    )
    return _pdf_response(data, f"veterans-{year}-{years}.pdf")
