"""失联党员 (lost-contact cases): the case list, proposals, opening a case, attempts, stages, closing.

Thin views over ``app.followup.lost_contact``.
"""

from __future__ import annotations

from typing import Any

from flask import flash, redirect, request, url_for
from flask_login import current_user
from sqlalchemy import func, select

from app.errors import errors_onto, render_form
from app.extensions import db
from app.followup import dues, lost_contact
from app.followup.blueprint import (
    _done,
    _member,
    bp,
)
from app.followup.forms import (
    AttemptForm,
    CloseForm,
    OpenCaseForm,
    StageForm,
)
from app.followup.models import (
    LOST_CONTACT_KINDS,
    LOST_CONTACT_OUTCOMES,
    LOST_CONTACT_REASONS,
    LOST_CONTACT_STAGES,
    LostContactAttempt,
    LostContactCase,
)
from app.followup.work_lists import with_grid_and_branch
from app.forms import validated
from app.htmx import render_page_or_block
from app.members.models import MOBILITIES, STATUSES, Member
from app.members.queries import FEW_ROWS_PINYIN_ORDER
from app.organization.scope import (
    get_of_member_in_scope_or_404,
    member_scope_filter,
)
from app.paging import keyset_page
from app.params import parse_int
from app.security import mark_personal, mask_phone, staff_required
from app.settings import get_setting
from app.timeutil import local_today

# ==== 失联党员 =================================================================================

LOST_STAGE_FILTERS = {"open": "未结案", **LOST_CONTACT_STAGES, "all": "全部"}


def _case(case_id: int) -> LostContactCase:
    return get_of_member_in_scope_or_404(LostContactCase, case_id, current_user)


@bp.route("/lost")
@staff_required
def lost_list():
    """Cases of the scope, longest hidden first, with the seed's duration counts."""
    mark_personal()
    kind = request.args.get("kind") or ""
    kind = kind if kind in LOST_CONTACT_KINDS else ""
    stage = request.args.get("stage") or "open"
    stage = stage if stage in LOST_STAGE_FILTERS else "open"
    scope = member_scope_filter(current_user)
    today = local_today()
    where = [scope]
    if kind:
        where.append(LostContactCase.kind == kind)
    if stage == "open":
        where.append(LostContactCase.stage != "closed")
    elif stage != "all":
        where.append(LostContactCase.stage == stage)
    args = {"kind": kind or None, "stage": stage}
    page = keyset_page(
        with_grid_and_branch(
            select(
                LostContactCase.id,
                LostContactCase.kind,
                LostContactCase.reason,
                LostContactCase.since,
                LostContactCase.stage,
                LostContactCase.outcome,
                LostContactCase.suspended_on,
                LostContactCase.opened_on,
                Member.id.label("member_id"),
                Member.name,
            ).join(Member, Member.id == LostContactCase.member_id)
        ).where(*where),
        [LostContactCase.since, LostContactCase.id],
        url=lambda cursor: url_for("followup.lost_list", **args, after=cursor),
    )
    found = page.rows
    page.rows = rows = [
        {
            "id": r.id,
            "member_id": r.member_id,
            "name": r.name,
            "kind": LOST_CONTACT_KINDS.get(r.kind, r.kind),
            "reason": LOST_CONTACT_REASONS.get(r.reason, r.reason),
            "since": r.since,
            "stage": r.stage,
            "stage_label": LOST_CONTACT_STAGES.get(r.stage, r.stage),
            "outcome": LOST_CONTACT_OUTCOMES.get(r.outcome or "", ""),
            "place": " · ".join(x for x in (r.grid_name, r.branch_name) if x),
            "flags": lost_contact.flags(
                since=r.since,
                stage=r.stage,
                outcome=r.outcome,
                suspended_on=r.suspended_on,
                today=today,
            ),
        }
        for r in found
    ]
    context: dict[str, Any] = {"page": page, "rows": rows}
    context.update(
        kind=kind,
        stage=stage,
        kinds=LOST_CONTACT_KINDS,
        stages=LOST_STAGE_FILTERS,
        counts=lost_contact.counts_by_kind(scope, today),
    )
    return render_page_or_block("followup/lost.html", "results", **context)


def _proposal_where() -> list:
    months = int(get_setting("alert_absent_months"))
    # As an id set: the (status, dues) index finds the few proposed members first; as plain
    # conditions SQLite would walk the whole pinyin index for the page's order instead.
    proposed = select(Member.id).where(lost_contact.proposal_filter(local_today(), months))
    return [member_scope_filter(current_user), Member.id.in_(proposed)]


def _proposal_count() -> int:
    return db.session.execute(
        select(func.count()).select_from(Member).where(*_proposal_where())
    ).scalar_one()


@bp.route("/lost/proposals/count")
@staff_required
def lost_proposal_count():
    """The number on the list page's 建议登记 button, loaded after the page."""
    from flask import Response

    return Response(str(_proposal_count()), mimetype="text/plain")


@bp.route("/lost/proposals")
@staff_required
def lost_proposals():
    """建议登记为失联: no org life and no dues for the alert period; people decide."""
    mark_personal()
    page = keyset_page(
        with_grid_and_branch(
            select(
                Member.id,
                Member.name,
                Member.phone,
                Member.last_org_life_on,
                Member.dues_paid_until,
                Member.mobility,
                Member.mobility_place,
            )
        ).where(*_proposal_where()),
        list(FEW_ROWS_PINYIN_ORDER),
    )
    page.rows = rows = [
        {
            "id": r.id,
            "name": r.name,
            "phone": mask_phone(r.phone),
            "last_org_life": r.last_org_life_on.isoformat() if r.last_org_life_on else "无记录",
            "paid_until": dues.month_label(r.dues_paid_until) or "无记录",
            "mobility": MOBILITIES.get(r.mobility, "") if r.mobility != "none" else "",
            "mobility_place": r.mobility_place or "",
            "place": " · ".join(x for x in (r.grid_name, r.branch_name) if x),
        }
        for r in page.rows
    ]
    context: dict[str, Any] = {
        "page": page,
        "rows": rows,
        "months": int(get_setting("alert_absent_months")),
        "total": len(rows) if page.first and not page.more else _proposal_count(),
    }
    return render_page_or_block("followup/lost_proposals.html", "results", **context)


@bp.route("/lost/open/<int:member_id>", methods=["GET", "POST"])
@staff_required
def lost_open(member_id: int):
    mark_personal()
    m = _member(member_id)
    existing = lost_contact.open_case_of(m)
    if request.method == "GET" and existing is not None:
        return redirect(url_for("followup.lost_case", case_id=existing.id))
    form = OpenCaseForm() if request.method == "POST" else OpenCaseForm(formdata=None)
    if request.method == "GET":
        form.since.data = m.last_org_life_on
    if request.method == "POST" and validated(form):
        with errors_onto(form):
            case_ = lost_contact.open_case(
                m,
                current_user,
                kind=form.kind.data or "",
                reason=form.reason.data or "",
                reason_note=form.reason_note.data,
                since=form.since.data,
                today=local_today(),
            )
            flash(f"已将 {m.name} 登记为失联党员，请记录查找情况", "success")
            return _done(url_for("followup.lost_case", case_id=case_.id))
    return render_form(
        "followup/lost_open.html",
        "form",
        form,
        member=m,
        phone_masked=mask_phone(m.phone),
        last_org_life=m.last_org_life_on,
        paid_until=dues.month_label(m.dues_paid_until) or "无记录",
        status_label=STATUSES.get(m.status, m.status),
    )


def _case_context(case_: LostContactCase, **extra) -> dict[str, Any]:
    member = db.session.get(Member, case_.member_id)
    attempts = (
        db.session.execute(
            select(LostContactAttempt)
            .where(LostContactAttempt.case_id == case_.id)
            .order_by(LostContactAttempt.attempted_on.desc(), LostContactAttempt.id.desc())
        )
        .scalars()
        .all()
    )
    today = local_today()
    attempt_form = extra.pop("attempt_form", None) or AttemptForm(
        formdata=None, attempted_on=today, method="ask"
    )
    stage_form = extra.pop("stage_form", None) or StageForm(
        formdata=None,
        stage="verify" if case_.stage == "survey" else case_.stage,
        suspended_on=case_.suspended_on,
        version=str(case_.version),
    )
    close_form = extra.pop("close_form", None) or CloseForm(
        formdata=None, closed_on=today, version=str(case_.version)
    )
    return {
        "case": case_,
        "member": member,
        "phone_masked": mask_phone(member.phone) if member else "",
        "attempts": attempts,
        "flags": lost_contact.flags(
            since=case_.since,
            stage=case_.stage,
            outcome=case_.outcome,
            suspended_on=case_.suspended_on,
            today=today,
        ),
        "stage_order": [(k, LOST_CONTACT_STAGES[k]) for k in lost_contact.STAGE_ORDER],
        "attempt_form": attempt_form,
        "stage_form": stage_form,
        "close_form": close_form,
        "is_open": case_.stage != "closed",
        **extra,
    }


@bp.route("/lost/<int:case_id>")
@staff_required
def lost_case(case_id: int):
    mark_personal()
    case_ = _case(case_id)
    return render_page_or_block("followup/lost_case.html", "content", **_case_context(case_))


def _case_form(case_: LostContactCase, block: str, name: str, form):  # noqa: ANN001, ANN202
    """The case page (or ``block`` of it) with ``form`` in the place called ``name``:
    422 with its messages, 409 when the case was changed meanwhile."""
    return render_form(
        "followup/lost_case.html", block, form, **_case_context(case_, **{name: form})
    )


@bp.route("/lost/<int:case_id>/attempts", methods=["POST"])
@staff_required
def lost_attempt(case_id: int):
    mark_personal()
    case_ = _case(case_id)
    form = AttemptForm()
    if validated(form):
        with errors_onto(form):
            lost_contact.add_attempt(
                case_,
                current_user,
                method=form.method.data or "",
                attempted_on=form.attempted_on.data,
                summary=form.summary.data,
                today=local_today(),
            )
            flash("已记录查找情况", "success")
            return _done(url_for("followup.lost_case", case_id=case_id))
    return _case_form(case_, "attempt", "attempt_form", form)


@bp.route("/lost/<int:case_id>/stage", methods=["POST"])
@staff_required
def lost_stage(case_id: int):
    mark_personal()
    case_ = _case(case_id)
    form = StageForm()
    if validated(form):
        with errors_onto(form):  # a stale version: 409 with the message above the form
            changed = lost_contact.move_stage(
                case_,
                current_user,
                to=form.stage.data or "",
                suspended_on=form.suspended_on.data,
                expected_version=parse_int(form.version.data),
                today=local_today(),
            )
            flash("已更新阶段" if changed else "没有变化", "success" if changed else "info")
            return _done(url_for("followup.lost_case", case_id=case_id))
    return _case_form(case_, "stage", "stage_form", form)


@bp.route("/lost/<int:case_id>/close", methods=["POST"])
@staff_required
def lost_close(case_id: int):
    mark_personal()
    case_ = _case(case_id)
    form = CloseForm()
    if validated(form):
        with errors_onto(form):  # a stale version: 409 with the message above the form
            lost_contact.close_case(
                case_,
                current_user,
                outcome=form.outcome.data or "",
                note=form.outcome_note.data,
                closed_on=form.closed_on.data,
                expected_version=parse_int(form.version.data),
                today=local_today(),
            )
            flash("已验收结案", "success")
            return _done(url_for("followup.lost_case", case_id=case_id))
    return _case_form(case_, "close", "close_form", form)
