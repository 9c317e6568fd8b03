"""Staff review: the queue, a registration's page, decisions one by one and in bulk."""

from __future__ import annotations

from typing import Any

import click
import segno
from flask import (
    Response,
    abort,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_login import current_user
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm.exc import StaleDataError

from app import reminders
from app.certificates.documents import public_base_url
from app.crypto import decrypt
from app.errors import DomainError
from app.extensions import db
from app.htmx import render_page_or_block, trigger
from app.members.models import Member
from app.members.services import find_by_id_number
from app.organization.models import Place
from app.organization.scope import get_in_scope_or_404, member_scope_filter, place_scope_filter
from app.paging import keyset_page
from app.params import parse_int
from app.registration import compare, retention, rules, services
from app.registration.blueprint import (
    bp,
)
from app.registration.forms import DecisionForm
from app.registration.models import (
    MERGED,
    REGISTRATION_KINDS,
    REGISTRATION_STATUSES,
    Registration,
)
from app.security import mark_personal, mask_id_number, staff_required
from app.templating import NAV_LIVE_BADGES

# ---- staff: review queue ------------------------------------------------------------------------


def _filters(args) -> dict[str, Any]:  # noqa: ANN001
    f = {"kind": "", "status": "submitted", "community": ""}
    if args.get("kind") in REGISTRATION_KINDS:
        f["kind"] = args["kind"]
    if "status" in args:
        f["status"] = args["status"] if args["status"] in REGISTRATION_STATUSES else ""
    f["community"] = parse_int(args.get("community")) or ""
    return f


def _queue_where(f: dict[str, Any]) -> list:
    # A merged submission is reviewed on the page of the registration it waits with.
    where = [services.scope_filter(current_user), Registration.status != MERGED]
    if f["kind"]:
        where.append(Registration.kind == f["kind"])
    if f["status"]:
        where.append(Registration.status == f["status"])
    if f["community"]:
        where.append(Registration.community_id == f["community"])
    return where


@bp.route("/registrations/")
@staff_required
def queue():
    mark_personal()
    f = _filters(request.args)
    page = keyset_page(
        select(Registration).where(*_queue_where(f)),
        [Registration.id],
        descending=True,
        cursor=lambda row: row[0].id,
    )
    page.rows = rows = [r[0] for r in page.rows]
    places = _place_names(
        {r.community_id for r in rows} | {r.grid_id for r in rows} | {r.building_id for r in rows}
    )
    base = [services.scope_filter(current_user), Registration.status != MERGED]
    if f["kind"]:
        base.append(Registration.kind == f["kind"])
    if f["community"]:
        base.append(Registration.community_id == f["community"])
    counts = dict(
        db.session.execute(
            select(Registration.status, func.count()).where(*base).group_by(Registration.status)
        ).all()
    )
    communities = list(
        db.session.execute(
            select(Place.id, Place.name)
            .where(Place.kind == "community", place_scope_filter(current_user))
            .order_by(Place.position, Place.name)
        ).all()
    )
    return render_page_or_block(
        "registration/queue.html",
        "listing",
        page=page,
        rows=rows,
        places=places,
        merged=services.merged_counts([r.id for r in rows]),
        f=f,
        counts=counts,
        kinds=REGISTRATION_KINDS,
        statuses=REGISTRATION_STATUSES,
        communities=communities,
        results=None,
    )


def _place_names(ids: set) -> dict[int, str]:
    ids = {i for i in ids if i}
    if not ids:
        return {}
    return dict(db.session.execute(select(Place.id, Place.name).where(Place.id.in_(ids))).all())


@bp.route("/registrations/<int:registration_id>")
@staff_required
def detail(registration_id: int):
    mark_personal()
    registration = get_in_scope_or_404(
        Registration, registration_id, current_user, services.scope_filter
    )
    if registration.status == MERGED and registration.merged_into_id:
        # Reviewed with the registration it waits with (whose scope decides who sees it).
        return redirect(url_for("registration.detail", registration_id=registration.merged_into_id))
    return render_template("registration/detail.html", **_detail_context(registration))


def _detail_context(registration: Registration, **extra) -> dict[str, Any]:
    id_number = decrypt(registration.id_number_enc)
    existing = find_by_id_number(id_number)
    existing_in_scope = None
    if existing is not None:
        existing_in_scope = db.session.execute(
            select(Member).where(Member.id == existing.id, member_scope_filter(current_user))
        ).scalar_one_or_none()
    places = _place_names(
        {registration.community_id, registration.grid_id, registration.building_id}
    )
    return {
        "registration": registration,
        "id_masked": mask_id_number(id_number),
        "existing": existing,
        "existing_in_scope": existing_in_scope,
        "rows": compare.diff_rows(registration, existing_in_scope),
        "places": places,
        "code": rules.format_tracking_code(registration.tracking_code),
        "form": DecisionForm(formdata=None),
        "data_rows": _data_rows(registration),
        "submissions": _submissions(registration),
        **extra,
    }


def _submissions(registration: Registration) -> list[dict[str, Any]]:
    """Other submissions for the same ID number waiting with this registration, each with the
    fields that differ from it."""
    rows = []
    for other in services.merged_submissions(registration):
        diff = compare.submission_rows(registration, other)
        rows.append(
            {
                "registration": other,
                "code": rules.format_tracking_code(other.tracking_code),
                "rows": diff,
                "differing": sum(1 for r in diff if r["differs"]),
                "form": _submission_form(other),
            }
        )
    return rows


def _submission_form(other: Registration, formdata=None) -> DecisionForm:  # noqa: ANN001
    form = DecisionForm(formdata=formdata, prefix=_prefix(other))
    form.reason.label.text = "理由（作废时必填，会告知此次提交的人）"
    return form


def _prefix(other: Registration) -> str:
    """Each submission's form has its own field names (and so its own element ids)."""
    return f"s{other.id}"


def _data_rows(registration: Registration) -> list[tuple[str, str]]:
    data = registration.data or {}
    out = []
    for name in rules.all_fields(registration.kind):
        if name in (
            "community_id",
            "grid_id",
            "building_id",
            "consent",
            "sensitive_consent",
            "id_number",
        ):
            continue
        value = data.get(name)
        if value in (None, ""):
            continue
        if name in rules.CHOICES:
            value = rules.CHOICES[name].get(value, value)
        elif name == "phone":
            from app.security import mask_phone

            value = mask_phone(value)
        out.append((rules.label(registration.kind, name), str(value)))
    return out


@bp.route("/registrations/<int:registration_id>/decide", methods=["POST"])
@staff_required
def decide(registration_id: int):
    mark_personal()
    registration = get_in_scope_or_404(
        Registration, registration_id, current_user, services.scope_filter
    )
    action = request.form.get("action", "")
    if action not in services.ACTION_LABELS:
        abort(400)
    try:
        decision = _apply(registration, action, request.form.get("reason"))
    except DomainError as exc:
        db.session.rollback()
        form = DecisionForm(formdata=request.form)
        form.reason.errors = [exc.errors.get("reason", str(exc))]
        context = _detail_context(registration, form=form)
        return render_template("registration/detail.html", **context), 422
    if not decision.ok:
        context = _detail_context(registration, decision_error=decision.message)
        return render_template("registration/detail.html", **context), 422
    context = _detail_context(registration, decision=decision)
    response = Response(
        render_template("registration/detail.html", **context), mimetype="text/html"
    )
    return trigger(response, "registrations-changed")


@bp.route("/registrations/<int:registration_id>/submissions/<int:submission_id>", methods=["POST"])
@staff_required
def submission(registration_id: int, submission_id: int):
    """Take over or discard another submission for the same ID number (seen on the page of the
    registration it waits with; that registration's scope decides)."""
    mark_personal()
    registration = get_in_scope_or_404(
        Registration, registration_id, current_user, services.scope_filter
    )
    other = db.session.get(Registration, submission_id)
    if other is None or other.merged_into_id != registration.id:
        abort(404)
    action = request.form.get("action", "")
    if action not in services.SUBMISSION_ACTIONS:
        abort(400)
    reason = request.form.get(f"{_prefix(other)}-reason")
    try:
        decision = _apply_submission(registration, other, action, reason)
    except DomainError as exc:
        db.session.rollback()
        context = _detail_context(registration)
        for item in context["submissions"]:
            if item["registration"].id == other.id:
                item["form"] = _submission_form(other, request.form)
                item["form"].reason.errors = [exc.errors.get("reason", str(exc))]
        return render_template("registration/detail.html", **context), 422
    if not decision.ok:
        context = _detail_context(registration, decision_error=decision.message)
        return render_template("registration/detail.html", **context), 422
    shown = registration
    if action == "adopt" and _in_scope(other):
        shown = other  # the registration now under review
    context = _detail_context(shown, decision=decision)
    response = Response(
        render_template("registration/detail.html", **context), mimetype="text/html"
    )
    return trigger(response, "registrations-changed")


def _in_scope(registration: Registration) -> bool:
    return (
        db.session.execute(
            select(Registration.id).where(
                Registration.id == registration.id, services.scope_filter(current_user)
            )
        ).first()
        is not None
    )


def _apply_submission(
    registration: Registration, other: Registration, action: str, reason: str | None
) -> services.Decision:
    try:
        with db.session.begin_nested():
            decision = services.decide_submission(registration, other, action, current_user, reason)
            if not decision.ok:
                raise _Undone(decision)
        return decision
    except _Undone as undone:
        return undone.decision
    except (StaleDataError, IntegrityError):
        return services.Decision(other, False, "该提交刚刚被他人处理或修改，请刷新后查看")


class _Undone(Exception):
    def __init__(self, decision: services.Decision):
        self.decision = decision


def _apply(registration: Registration, action: str, reason: str | None) -> services.Decision:
    """One decision in its own savepoint (the request commits the others); a refused or
    concurrent decision undoes only itself and answers with a message."""
    try:
        with db.session.begin_nested():
            decision = services.decide(registration, action, current_user, reason)
            if not decision.ok:
                raise _Undone(decision)
        return decision
    except _Undone as undone:
        return undone.decision
    except (StaleDataError, IntegrityError):
        return services.Decision(registration, False, "该登记刚刚被他人处理或修改，请刷新后查看")


@bp.route("/registrations/bulk", methods=["POST"])
@staff_required
def bulk():
    """Approve, reject or return several registrations at once; one result line per row."""
    mark_personal()
    action = request.form.get("action", "")
    if action not in services.ACTION_LABELS:
        abort(400)
    ids = [i for i in (parse_int(v) for v in request.form.getlist("ids")[:200]) if i]
    reason = request.form.get("reason")
    results = []
    if not ids:
        results.append({"name": "", "ok": False, "message": "请先勾选要处理的登记"})
    elif action != "approve" and not (reason or "").strip():
        results.append({"name": "", "ok": False, "message": "不予通过或退回修改时必须填写理由"})
    else:
        registrations = (
            db.session.execute(
                select(Registration)
                .where(Registration.id.in_(ids), services.scope_filter(current_user))
                .order_by(Registration.id)
            )
            .scalars()
            .all()
        )
        found = {r.id for r in registrations}
        for registration in registrations:
            name = registration.name
            try:
                decision = _apply(registration, action, reason)
            except DomainError as exc:
                db.session.rollback()
                results.append({"name": name, "ok": False, "message": str(exc)})
                continue
            results.append(
                {
                    "name": name,
                    "code": rules.format_tracking_code(registration.tracking_code),
                    "ok": decision.ok,
                    "message": decision.message,
                    "username": decision.username,
                    "password": decision.initial_password,
                }
            )
        for missing in sorted(set(ids) - found):
            results.append(
                {"name": f"#{missing}", "ok": False, "message": "不存在或不在您的管理范围内"}
            )
    changed = any(r["ok"] for r in results)
    response = render_page_or_block(
        "registration/bulk_result.html",
        "results",
        status=200 if changed else 422,
        results=results,
        action=action,
    )
    # Refresh the queue only when something changed: a refused request keeps the ticked rows.
    return trigger(response, "registrations-changed") if changed else response


@bp.route("/registrations/poster")
@staff_required
def poster():
    """A printable QR poster of the public registration page for one community."""
    communities = list(
        db.session.execute(
            select(Place)
            .where(
                Place.kind == "community",
                Place.retired_at.is_(None),
                place_scope_filter(current_user),
            )
            .order_by(Place.position, Place.name)
        ).scalars()
    )
    community_id = parse_int(request.args.get("community"))
    community = next((c for c in communities if c.id == community_id), None)
    if community is None and len(communities) == 1:
        community = communities[0]
    qr_svg = url = None
    if community is not None:
        url = public_base_url() + url_for("registration.start", c=community.id)
        qr = segno.make(url, error="m")
        qr_svg = qr.svg_inline(scale=8, border=2, omitsize=True)
    return render_template(
        "registration/poster.html",
        communities=communities,
        community=community,
        qr_svg=qr_svg,
        url=url,
    )


@bp.route("/registrations/pending-count")
@staff_required
def pending_count():
    """The navigation badge: registrations waiting for review in the user's scope (loaded by
    htmx after the page, refreshed by the ``registrations-changed`` event)."""
    mark_personal()
    count = services.pending_count(current_user)
    return Response(str(count) if count else "", mimetype="text/html")


NAV_LIVE_BADGES["registration.queue"] = ("registration.pending_count", "registrations-changed")
reminders.register(
    "registrations", "待审核的报到", services.pending_count, "registration.queue", order=10
)


@bp.cli.command("purge")
@click.option("--dry-run", is_flag=True, help="only count what would be deleted")
def purge_command(dry_run: bool) -> None:
    """Delete rejected and abandoned registrations past their retention period."""
    count = retention.purge_expired(dry_run=dry_run)
    click.echo(f"{'将删除' if dry_run else '已删除'} {count} 条超过保存期限的报到登记")
