"""Follow-up pages: landing page with counts, org life and attendance, thought reports,
contact logs for mobile members, the alert list; the member's own page.

Dues, lost-contact cases and appraisal have route modules of their own on the same blueprint;
the landing page links to them.
"""

from __future__ import annotations

from typing import Any

from flask import abort, flash, redirect, request, url_for
from flask_login import current_user
from sqlalchemy import select
from werkzeug.wrappers import Response
from wtforms import SelectChoice

from app import paging, reminders
from app.errors import DomainError, errors_onto, render_form
from app.extensions import db
from app.followup import rules, services, work_lists
from app.followup.blueprint import bp
from app.followup.forms import ContactForm, EventForm, MyThoughtReportForm, ThoughtReportForm
from app.followup.models import (
    ATTENDANCE_STATUSES,
    CONTACT_METHODS,
    EVENT_KINDS,
    OrgEvent,
)
from app.forms import validated
from app.htmx import client_redirect, is_htmx, render_page_or_block
from app.members.models import CATEGORIES, MOBILITIES, Member
from app.organization.models import Org, Place
from app.organization.scope import (
    get_in_scope_or_404,
    member_scope_filter,
    org_scope_filter,
    place_scope_filter,
    scope_cached,
)
from app.paging import Page, current_after, next_page_url
from app.params import parse_int
from app.security import mark_personal, mask_phone, roles_required, staff_required
from app.timeutil import local_date, local_today

EVENT_PAGE = 30


def _see(target: str) -> Response:
    """After a successful POST: a full navigation (htmx or not)."""
    if is_htmx():
        return client_redirect(target)
    return redirect(target, code=303)


def _apply_errors(form, errors: dict[str, str]) -> None:  # noqa: ANN001
    """Add the service's messages, except where the field already has one (a parse error)."""
    for key, message in errors.items():
        if key in form:
            if not form[key].errors:
                form[key].errors = [*form[key].errors, message]
        else:
            form.form_errors.append(message)


def _event_form_valid(form: EventForm) -> bool:
    """Parse, then apply the event rules too, so every message shows at once."""
    ok = validated(form)
    try:
        services.check_event_data(current_user, form.values())
    except DomainError as exc:
        _apply_errors(form, exc.errors)
        return False
    return ok


# ---- landing page ------------------------------------------------------------------------------


@bp.route("/")
@staff_required
def index():
    counts = work_lists.list_counts(current_user)
    events, _ = services.recent_events(current_user, limit=5)
    return render_page_or_block(
        "followup/index.html",
        "content",
        counts=counts,
        kinds=services.LIST_KINDS,
        events=events,
        can_hold_events=bool(_event_org_choices()),
        more_pages=[
            ("followup.dues_list", "党费收缴"),
            ("followup.lost_list", "失联党员"),
            ("followup.appraisal_index", "民主评议"),
        ],
    )


# ---- work lists --------------------------------------------------------------------------------


def _filter_choices() -> dict[str, list]:
    def compute() -> dict[str, list]:
        grids = db.session.execute(
            select_choices(Place, Place.kind == "grid", place_scope_filter(current_user))
        ).all()
        branches = db.session.execute(
            select_choices(Org, Org.kind == "branch", org_scope_filter(current_user))
        ).all()
        return {
            "grids": [(r.id, r.name) for r in grids],
            "branches": [(r.id, r.name) for r in branches],
        }

    return scope_cached(current_user, "followup_filters", (), compute)


def select_choices(model, *where):  # noqa: ANN001, ANN201

    return (
        select(model.id, model.name)
        .where(*where, model.retired_at.is_(None))
        .order_by(model.position, model.id)
    )


def _work_list(kind: str) -> Response:
    mark_personal()
    filters = {
        "grid": parse_int(request.args.get("grid")),
        "branch": parse_int(request.args.get("branch")),
    }
    after = current_after()
    cutoffs = work_lists.Cutoffs.current()
    rows, more = work_lists.list_page(kind, current_user, filters, after, paging.PAGE_SIZE, cutoffs)
    rows = [r._replace(phone=mask_phone(r.phone)) for r in rows]
    page = Page(rows, next_page_url(rows[-1].id) if more else None, after)
    context: dict[str, Any] = {
        "kind": kind,
        "title": services.LIST_KINDS[kind],
        "page": page,
        "rows": rows,
        "filters": filters,
        "categories": CATEGORIES,
        "mobilities": MOBILITIES,
        "cutoffs": cutoffs,
        **_filter_choices(),
    }
    return render_page_or_block("followup/list.html", "results", **context)


@bp.route("/thought-reports")
@staff_required
def thought_overdue():
    return _work_list("thought")


@bp.route("/contacts")
@staff_required
def contact_overdue():
    return _work_list("contact")


@bp.route("/alerts")
@staff_required
def alerts():
    return _work_list("alert")


def _list_count(kind: str):  # noqa: ANN202
    """A 待办提醒 source: how many members of the user's scope a work list holds (the landing
    page's counts, one query for the three lists, kept until the data change)."""

    def count(user) -> int:  # noqa: ANN001
        return work_lists.list_counts(user)[kind]

    return count


for _order, (_kind, _endpoint, _overdue) in enumerate(
    (
        ("thought", "followup.thought_overdue", True),
        ("contact", "followup.contact_overdue", True),
        ("alert", "followup.alerts", False),
    ),
    start=40,
):
    reminders.register(
        f"followup_{_kind}",
        services.LIST_KINDS[_kind],
        _list_count(_kind),
        _endpoint,
        overdue=_overdue,
        order=_order,
    )


# ---- org-life events ---------------------------------------------------------------------------


def _event_org_choices() -> list[tuple[int, str]]:
    return scope_cached(
        current_user, "followup_event_orgs", (), lambda: services.event_orgs(current_user)
    )


def _load_event(event_id: int) -> OrgEvent:
    return get_in_scope_or_404(OrgEvent, event_id, current_user, services.event_scope_filter)


@bp.route("/events")
@staff_required
def events():
    org_id = parse_int(request.args.get("org"))
    after = current_after()
    rows, more = services.recent_events(current_user, org_id, after, EVENT_PAGE)
    page = Page(rows, next_page_url(rows[-1].id) if more else None, after)
    context = {"page": page, "rows": rows, "org_id": org_id, "orgs": _event_org_choices()}
    return render_page_or_block("followup/events.html", "results", **context)


def _event_form_page(form: EventForm, event: OrgEvent | None) -> Response:
    form.org_id.choices = [SelectChoice("", "请选择")] + [
        SelectChoice(value, label) for value, label in _event_org_choices()
    ]
    return render_form("followup/event_form.html", "form", form, event=event)


@bp.route("/events/new", methods=["GET", "POST"])
@staff_required
def event_new():
    if request.method == "GET":
        form = EventForm(
            formdata=None, held_on=local_today(), org_id=parse_int(request.args.get("org"))
        )
        return _event_form_page(form, None)
    form = EventForm()
    if _event_form_valid(form):
        with errors_onto(form):
            event = services.create_event(current_user, form.values())
            flash("已创建活动，请登记出席情况", "success")
            return _see(url_for("followup.event", event_id=event.id))
    return _event_form_page(form, None)


@bp.route("/events/<int:event_id>/edit", methods=["GET", "POST"])
@staff_required
def event_edit(event_id: int):
    event = _load_event(event_id)
    if request.method == "GET":
        form = EventForm(formdata=None, obj=event)
        form.version.data = str(event.version)
        return _event_form_page(form, event)
    form = EventForm()
    if _event_form_valid(form):
        with errors_onto(form):  # a stale version: 409 with the message above the form
            services.update_event(event, current_user, form.values(), parse_int(form.version.data))
            flash("已保存活动", "success")
            return _see(url_for("followup.event", event_id=event_id))
    return _event_form_page(form, event)


@bp.route("/events/<int:event_id>/delete", methods=["POST"])
@staff_required
def event_delete(event_id: int):
    event = _load_event(event_id)
    services.delete_event(event, current_user)
    flash("已删除活动及其出席记录", "success")
    return _see(url_for("followup.events"))


def _event_context(event: OrgEvent, **extra) -> dict[str, Any]:
    roster = services.event_roster(event, current_user)
    recorded = any(r.status for r in roster)
    return {
        "event": event,
        "org": db.session.get(Org, event.org_id),
        "roster": roster,
        "recorded": recorded,
        "statuses": ATTENDANCE_STATUSES,
        "categories": CATEGORIES,
        "counts": {k: sum(1 for r in roster if r.status == k) for k in ATTENDANCE_STATUSES},
        **extra,
    }


@bp.route("/events/<int:event_id>")
@staff_required
def event(event_id: int):
    mark_personal()
    ev = _load_event(event_id)
    return render_page_or_block("followup/event.html", "content", **_event_context(ev))


@bp.route("/events/<int:event_id>/attendance", methods=["POST"])
@staff_required
def attendance(event_id: int):
    """Ticked ``present`` → 出席, ticked ``excused`` → 请假, neither → 缺席, for every member
    listed on the form (``member`` hidden fields)."""
    mark_personal()
    ev = _load_event(event_id)
    listed = [i for i in (parse_int(v) for v in request.form.getlist("member")) if i]
    present = {parse_int(v) for v in request.form.getlist("present")}
    excused = {parse_int(v) for v in request.form.getlist("excused")}
    statuses = {
        m: "present" if m in present else "excused" if m in excused else "absent" for m in listed
    }
    # Members away on a trip are recorded only when ticked (never as absent).
    for m in (i for i in (parse_int(v) for v in request.form.getlist("away")) if i):
        if m in present or m in excused:
            statuses[m] = "present" if m in present else "excused"
    try:
        counts = services.set_attendance(ev, current_user, statuses)
    except DomainError as exc:  # refused before any write; the 422 rolls the request back
        return render_page_or_block(
            "followup/event.html",
            "attendance",
            status=exc.status,
            **_event_context(ev, error=exc.message),
        )
    flash(
        f"已登记出席情况：出席 {counts['present']} 人，缺席 {counts['absent']} 人，"
        f"请假 {counts['excused']} 人",
        "success",
    )
    return _see(url_for("followup.event", event_id=event_id))


# ---- one member: thought reports and contacts --------------------------------------------------


def _load_member(member_id: int) -> Member:
    return get_in_scope_or_404(Member, member_id, current_user, member_scope_filter)


def _member_context(member: Member, **extra) -> dict[str, Any]:
    cutoffs = work_lists.Cutoffs.current()
    baseline = local_date(member.created_at)
    thought_months = cutoffs.thought_months(member.category)
    contact_base = member.mobility_since or baseline
    report_form = extra.pop("report_form", None) or ThoughtReportForm(
        formdata=None, period=local_today(), submitted_on=local_today()
    )
    contact_form = extra.pop("contact_form", None) or ContactForm(
        formdata=None, contacted_on=local_today()
    )
    return {
        "member": member,
        "phone_masked": mask_phone(member.phone),
        "report_form": report_form,
        "contact_form": contact_form,
        "reports": services.member_thought_reports(member.id),
        "contacts": services.member_contacts(member.id),
        "attendance": services.member_attendance(member.id, 12),
        "thought_months": thought_months,
        "thought_due": rules.due_date(member.last_thought_report_on, baseline, thought_months),
        "thought_overdue": rules.is_overdue(
            member.last_thought_report_on, baseline, thought_months, cutoffs.today
        ),
        "mobile": member.mobility != "none",
        "contact_months": cutoffs.contact_months,
        "contact_due": rules.due_date(member.last_contact_on, contact_base, cutoffs.contact_months),
        "contact_overdue": rules.is_overdue(
            member.last_contact_on, contact_base, cutoffs.contact_months, cutoffs.today
        ),
        "statuses": ATTENDANCE_STATUSES,
        "event_kinds": EVENT_KINDS,
        "mobilities": MOBILITIES,
        "methods": CONTACT_METHODS,
        **extra,
    }


@bp.route("/members/<int:member_id>")
@staff_required
def member(member_id: int):
    mark_personal()
    m = _load_member(member_id)
    return render_page_or_block("followup/member.html", "content", **_member_context(m))


@bp.route("/members/<int:member_id>/thought-reports", methods=["POST"])
@staff_required
def record_report(member_id: int):
    mark_personal()
    m = _load_member(member_id)
    form = ThoughtReportForm()
    parsed = validated(form)
    errors = services.thought_report_errors(
        form.period.data, form.summary.data, form.submitted_on.data
    )
    _apply_errors(form, errors)
    if parsed and not errors:
        with errors_onto(form):
            services.record_thought_report(
                m,
                current_user,
                period=form.period.data,
                submitted_on=form.submitted_on.data,
                summary=form.summary.data,
                source="staff",
            )
            flash("已登记思想汇报", "success")
            return _see(url_for("followup.member", member_id=member_id))
    return render_form(
        "followup/member.html", "report_form", form, **_member_context(m, report_form=form)
    )


@bp.route("/members/<int:member_id>/contacts", methods=["POST"])
@staff_required
def record_contact(member_id: int):
    mark_personal()
    m = _load_member(member_id)
    form = ContactForm()
    parsed = validated(form)
    errors = services.contact_errors(form.contacted_on.data, form.method.data, form.summary.data)
    _apply_errors(form, errors)
    if parsed and not errors:
        with errors_onto(form):
            services.record_contact(
                m,
                current_user,
                contacted_on=form.contacted_on.data,
                method=form.method.data,
                summary=form.summary.data,
            )
            flash("已记录联系情况", "success")
            return _see(url_for("followup.member", member_id=member_id))
    return render_form(
        "followup/member.html", "contact_form", form, **_member_context(m, contact_form=form)
    )


# ---- the member's own page ---------------------------------------------------------------------


def _own_member() -> Member | None:
    return db.session.get(Member, current_user.member_id) if current_user.member_id else None


def _mine_context(member: Member, form: MyThoughtReportForm | None = None) -> dict[str, Any]:
    cutoffs = work_lists.Cutoffs.current()
    months = cutoffs.thought_months(member.category)
    baseline = local_date(member.created_at)
    return {
        "member": member,
        "form": form or MyThoughtReportForm(formdata=None, period=local_today()),
        "reports": services.member_thought_reports(member.id, 12),
        "attendance": services.member_attendance(member.id, 12),
        "statuses": ATTENDANCE_STATUSES,
        "event_kinds": EVENT_KINDS,
        "months": months,
        "due": rules.due_date(member.last_thought_report_on, baseline, months),
        "overdue": rules.is_overdue(member.last_thought_report_on, baseline, months, cutoffs.today),
    }


@bp.route("/mine", methods=["GET", "POST"])
@roles_required("member")
def mine():
    """A member's org life and thought reports, and the form to submit a report online."""
    mark_personal()
    member = _own_member()
    if member is None:
        if request.method == "POST":
            abort(404)
        return render_page_or_block("followup/mine.html", "content", member=None)
    if request.method == "GET":
        return render_page_or_block("followup/mine.html", "content", **_mine_context(member))
    form = MyThoughtReportForm()
    parsed = validated(form)
    errors = services.thought_report_errors(form.period.data, form.summary.data, None)
    _apply_errors(form, errors)
    if parsed and not errors:
        with errors_onto(form):
            services.record_thought_report(
                member,
                current_user,
                period=form.period.data,
                summary=form.summary.data,
                source="member",
            )
            flash("思想汇报已提交，谢谢！", "success")
            return _see(url_for("followup.mine"))
    context = _mine_context(member, form)
    del context["form"]
    return render_form("followup/mine.html", "report_form", form, **context)
