"""接管 pages: the 五个一 board per branch, a member's 接管 page, job leads, the 责任书."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, flash, request, url_for
from flask_login import current_user
from sqlalchemy import func, select
from wtforms import SelectChoice

from app import reminders, work
from app.audit import record
from app.certificates.blueprint import _pdf_response
from app.certificates.engine import render_pdf
from app.errors import DomainError, errors_onto, render_form
from app.extensions import db
from app.forms import validated
from app.htmx import render_page_or_block, see_other
from app.members.management import managed_clause
from app.members.models import EMPLOYMENTS, Member
from app.organization.models import Org, Place
from app.organization.scope import (
    get_in_scope_or_404,
    get_of_member_in_scope_or_404,
    member_scope_filter,
    org_scope_filter,
    place_scope_filter,
)
from app.paging import keyset_page
from app.params import query_int
from app.security import mark_personal, staff_required
from app.takeover import rules, services
from app.takeover.forms import EvidenceForm, LeadForm, OutcomeForm, ReferralForm, TrainingForm
from app.takeover.models import (
    FIVE_ITEMS,
    FiveOneEvidence,
    JobLead,
    JobReferral,
    TrainingRecord,
)
from app.timeutil import local_today

bp = Blueprint("takeover", __name__, url_prefix="/takeover")

work.register("takeover", "五个一活动（按支部）", "takeover.board", order=10)
work.register("takeover", "岗位信息与推荐就业", "takeover.jobs", order=20)


def _year() -> int:
    today = local_today()
    year = query_int(request.args, "year")
    return year if year and 2000 <= year <= today.year + 1 else today.year


def _takeover_where(branch_id: int | None = None) -> list:
    where = [Member.category == "takeover", managed_clause(), member_scope_filter(current_user)]
    if branch_id:
        where.append(Member.branch_id == branch_id)
    return where


def gaps_count(user: Any) -> int:
    """接管 members in scope with a 五个一 item still open this year, counted from 1 November
    (one statement: the board's rules, ``rules.five_one``, over the whole scope as sets)."""
    today = local_today()
    if today.month < 11:
        return 0
    where = [Member.category == "takeover", managed_clause(), member_scope_filter(user)]
    members = select(Member.id).where(*where)
    return (
        db.session.scalar(
            select(func.count())
            .select_from(Member)
            .where(*where, rules.open_items_clause(members, today.year))
        )
        or 0
    )


reminders.register(
    "takeover_gaps",
    "接管党员“五个一”尚未完成（年底前）",
    gaps_count,
    "takeover.board",
    order=60,
    gaps="1",
)


# ---- the board -------------------------------------------------------------------------------


def _branches() -> list:
    return db.session.execute(
        select(Org.id, Org.name)
        .where(Org.kind == "branch", Org.retired_at.is_(None), org_scope_filter(current_user))
        .order_by(Org.position, Org.id)
    ).all()


@bp.route("/")
@staff_required
def board():
    """五个一 of the year for each 接管 member of the scope (or of one branch), pinyin order."""
    mark_personal()
    year = _year()
    branch = query_int(request.args, "branch")
    gaps_only = request.args.get("gaps") == "1"
    where = _takeover_where(branch)
    stmt = select(Member.id, Member.name, Member.name_pinyin, Member.employment).where(*where)
    args = {"year": year, "branch": branch or None, "gaps": "1" if gaps_only else None}
    args = {k: v for k, v in args.items() if v}
    page = keyset_page(
        stmt,
        [Member.name_pinyin, Member.id],
        url=lambda cursor: url_for("takeover.board", **args, after=cursor),
    )
    status = rules.five_one([r.id for r in page.rows], year)
    rows = [
        {
            "id": r.id,
            "name": r.name,
            "items": status[r.id],
            "missing": rules.missing_items(status[r.id]),
        }
        for r in page.rows
    ]
    if gaps_only:
        rows = [r for r in rows if r["missing"]]
    total = db.session.execute(select(func.count()).select_from(Member).where(*where)).scalar_one()
    return render_page_or_block(
        "takeover/board.html",
        "results",
        rows=rows,
        page=page,
        total=total,
        year=year,
        branch=branch,
        gaps_only=gaps_only,
        branches=_branches(),
        five_items=FIVE_ITEMS,
    )


# ---- one member -----------------------------------------------------------------------------


def _scoped_member(member_id: int) -> Member:
    return get_in_scope_or_404(Member, member_id, current_user, member_scope_filter)


def _leads_for(member: Member) -> list[JobLead]:
    return list(
        db.session.execute(
            select(JobLead)
            .where(
                JobLead.community_id == member.community_id, JobLead.valid_until >= local_today()
            )
            .order_by(JobLead.valid_until, JobLead.id)
        ).scalars()
    )


def _member_context(member: Member, year: int, **forms: Any) -> dict[str, Any]:
    today = local_today()
    training = forms.get("training") or TrainingForm(formdata=None)
    referral = forms.get("referral") or ReferralForm(formdata=None)
    evidence = forms.get("evidence") or EvidenceForm(formdata=None)
    for f, name in ((training, "started_on"), (referral, "referred_on"), (evidence, "done_on")):
        if f[name].data is None and not f[name].errors:
            f[name].data = today
    referral.job_lead_id.choices = [SelectChoice("", "不从岗位信息中选择（下面填写）")] + [
        SelectChoice(
            str(lead.id), f"{lead.employer} · {lead.post}（至 {lead.valid_until.isoformat()}）"
        )
        for lead in _leads_for(member)
    ]
    referrals = list(
        db.session.execute(
            select(JobReferral)
            .where(JobReferral.member_id == member.id)
            .order_by(JobReferral.referred_on.desc(), JobReferral.id.desc())
        ).scalars()
    )
    outcome_forms = {}
    for r in referrals:
        if r.outcome == "pending":
            f = forms.get("outcome") if forms.get("outcome_id") == r.id else None
            f = f or OutcomeForm(formdata=None, prefix=f"r{r.id}")
            if f.outcome_on.data is None and not f.outcome_on.errors:
                f.outcome_on.data = today
            outcome_forms[r.id] = f
    return {
        "member": member,
        "year": year,
        "five_items": FIVE_ITEMS,
        "five_status": rules.five_one([member.id], year)[member.id],
        "trainings": list(
            db.session.execute(
                select(TrainingRecord)
                .where(TrainingRecord.member_id == member.id)
                .order_by(TrainingRecord.started_on.desc(), TrainingRecord.id.desc())
            ).scalars()
        ),
        "referrals": referrals,
        "evidence": list(
            db.session.execute(
                select(FiveOneEvidence)
                .where(FiveOneEvidence.member_id == member.id)
                .order_by(FiveOneEvidence.year.desc(), FiveOneEvidence.id.desc())
            ).scalars()
        ),
        "training_form": training,
        "referral_form": referral,
        "evidence_form": evidence,
        "outcome_forms": outcome_forms,
    }


def _member_url(member: Member) -> str:
    return url_for("takeover.member", member_id=member.id)


@bp.route("/member/<int:member_id>")
@staff_required
def member(member_id: int):
    mark_personal()
    m = _scoped_member(member_id)
    return render_page_or_block("takeover/member.html", "content", **_member_context(m, _year()))


def _member_form(m: Member, key: str, form: Any, **extra: Any):
    ctx = _member_context(m, local_today().year, **{key: form}, **extra)
    return render_form("takeover/member.html", "content", form, **{k: v for k, v in ctx.items()})


@bp.route("/member/<int:member_id>/training", methods=["POST"])
@staff_required
def add_training(member_id: int):
    m = _scoped_member(member_id)
    form = TrainingForm()
    if validated(form):
        with errors_onto(form):
            services.add_training(m, form.data, current_user)
            return see_other(_member_url(m))
        m = _scoped_member(member_id)
    return _member_form(m, "training", form)


@bp.route("/member/<int:member_id>/referral", methods=["POST"])
@staff_required
def add_referral(member_id: int):
    m = _scoped_member(member_id)
    form = ReferralForm()
    form.job_lead_id.choices = []
    if validated(form):
        lead = None
        lead_id = query_int(request.form, "job_lead_id")
        if lead_id:
            lead = next((x for x in _leads_for(m) if x.id == lead_id), None)
        with errors_onto(form):
            if lead_id and lead is None:
                raise DomainError("该岗位信息已过期或不属于本社区", field="job_lead_id")
            services.refer(m, form.data, current_user, lead)
            return see_other(_member_url(m))
        m = _scoped_member(member_id)
    return _member_form(m, "referral", form)


@bp.route("/member/<int:member_id>/evidence", methods=["POST"])
@staff_required
def add_evidence(member_id: int):
    m = _scoped_member(member_id)
    form = EvidenceForm()
    if validated(form):
        with errors_onto(form):
            services.add_evidence(m, form.data, current_user)
            return see_other(_member_url(m))
        m = _scoped_member(member_id)
    return _member_form(m, "evidence", form)


@bp.route("/referrals/<int:referral_id>/outcome", methods=["POST"])
@staff_required
def referral_outcome(referral_id: int):
    referral = get_of_member_in_scope_or_404(JobReferral, referral_id, current_user)
    m = db.session.get(Member, referral.member_id)
    form = OutcomeForm(prefix=f"r{referral.id}")
    if validated(form):
        with errors_onto(form):
            changed = services.record_outcome(referral, m, form.data, current_user)
            if "category" in changed or "category_proposed" in changed:
                flash("已按新的就业情况重新分类，详见党员登记卡的变更记录", "success")
            return see_other(_member_url(m))
        referral = get_of_member_in_scope_or_404(JobReferral, referral_id, current_user)
        m = db.session.get(Member, referral.member_id)
    return _member_form(m, "outcome", form, outcome_id=referral.id)


@bp.route("/member/<int:member_id>/pledge.pdf")
@staff_required
def pledge(member_id: int):
    """下岗党员责任书 (seed 000): what the member commits to while the community takes over."""
    m = _scoped_member(member_id)
    community = db.session.get(Place, m.community_id) if m.community_id else None
    pdf = render_pdf(
        "takeover_pledge.html",
        {
            "name": m.name,
            "original_unit": m.original_unit or "",
            "employment": EMPLOYMENTS.get(m.employment or "", ""),
            "community": community.name if community else "本社区",
            "year": local_today().year,
            "items": list(FIVE_ITEMS.values()),
        },
    )
    record("document_print", m, detail="takeover_pledge")
    return _pdf_response(pdf, f"pledge-{m.id}.pdf")


# ---- job leads --------------------------------------------------------------------------------


def _communities() -> list:
    return db.session.execute(
        select(Place.id, Place.name)
        .where(
            Place.kind == "community", Place.retired_at.is_(None), place_scope_filter(current_user)
        )
        .order_by(Place.position, Place.id)
    ).all()


@bp.route("/jobs")
@staff_required
def jobs():
    show_expired = request.args.get("expired") == "1"
    where = [place_scope_filter(current_user, JobLead.community_id)]
    if not show_expired:
        where.append(JobLead.valid_until >= local_today())
    stmt = select(JobLead).where(*where)
    page = keyset_page(
        stmt,
        [JobLead.id],
        descending=True,
        url=lambda cursor: url_for(
            "takeover.jobs", after=cursor, **({"expired": "1"} if show_expired else {})
        ),
    )
    leads = [row[0] for row in page.rows]
    counts = (
        dict(
            db.session.execute(
                select(JobReferral.job_lead_id, func.count())
                .where(JobReferral.job_lead_id.in_([lead.id for lead in leads]))
                .group_by(JobReferral.job_lead_id)
            ).all()
        )
        if leads
        else {}
    )
    return render_page_or_block(
        "takeover/jobs.html",
        "results",
        leads=leads,
        page=page,
        counts=counts,
        show_expired=show_expired,
        today=local_today(),
    )


@bp.route("/jobs/new", methods=["GET", "POST"])
@staff_required
def new_job():
    form = LeadForm()
    communities = _communities()
    form.community_id.choices = [SelectChoice(str(c.id), c.name) for c in communities]
    if request.method == "POST" and validated(form):
        community_id = query_int(request.form, "community_id")
        with errors_onto(form):
            if community_id not in {c.id for c in communities}:
                raise DomainError("请选择社区", field="community_id")
            services.publish_lead(community_id, form.data, current_user)
            return see_other(url_for("takeover.jobs"))
    return render_form("takeover/job_new.html", "form", form)
