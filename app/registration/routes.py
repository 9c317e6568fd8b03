"""Reporting arrivals (报到): the public multi-step form, progress look-up, receipt, the member's
own page, and the staff review queue."""

from __future__ import annotations

import time
from typing import Any

from flask import (
    Response,
    abort,
    flash,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_login import current_user
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError, OperationalError
from wtforms import SelectChoice

from app.certificates.documents import render_registration_receipt
from app.crypto import decrypt
from app.errors import DomainError
from app.extensions import db, limiter
from app.htmx import client_redirect, is_htmx, render_page_or_block
from app.members.models import Member
from app.organization.models import Place
from app.params import parse_int
from app.registration import building_search, drafts, rules, services
from app.registration.blueprint import (
    PRIVACY,
    PUBLIC_LIMIT,
    STATUS_LIMIT,
    SUBMIT_LIMIT,
    VALIDATE_LIMIT,
    bp,
)
from app.registration.forms import FlowOutForm, RegistrationForm
from app.registration.models import (
    REGISTRATION_KINDS,
    Registration,
)
from app.security import mark_personal, mask_id_blob, mask_id_number, roles_required
from app.settings import get_setting
from app.timeutil import local_today

# ---- public: start, the multi-step form -----------------------------------------------------------


@bp.route("/register")
@limiter.limit(PUBLIC_LIMIT)
def start():
    community_id = parse_int(request.args.get("c"))
    community = db.session.get(Place, community_id) if community_id else None
    if community is not None and (community.kind != "community" or community.retired_at):
        community = None
    return render_template(
        "registration/start.html",
        kinds=REGISTRATION_KINDS,
        hints=rules.kind_hints(),
        community=community,
    )


@bp.route("/register/<kind>", methods=["GET", "POST"])
@limiter.limit(PUBLIC_LIMIT)
@limiter.limit(
    SUBMIT_LIMIT, methods=["POST"], exempt_when=lambda: request.form.get("action") != "submit"
)
def wizard(kind: str):
    if kind not in REGISTRATION_KINDS:
        abort(404)
    mark_personal()
    today = local_today()
    if request.method == "GET":
        draft = drafts.Draft(kind=kind)
        community_id = parse_int(request.args.get("c"))
        if community_id:
            draft.values["community_id"] = str(community_id)
        return _render_step(draft, "identity", {})

    draft = drafts.Draft.load(request.form.get("draft"))
    if draft is None or draft.kind != kind:
        flash("填写页面已过期（超过 24 小时）或已损坏，请重新填写。", "warning")
        return _render_step(drafts.Draft(kind=kind), "identity", {}, status=422)
    step = request.form.get("step")
    if step not in rules.STEPS:
        step = "identity"
    # Keep everything typed on this step, valid or not: nothing is ever lost.
    for name in rules.step_fields(kind, step):
        value = request.form.get(name, "")
        draft.values[name] = value[:300]
    if step == "residence":
        drafts.derive_grid(draft.values)
        draft.values["building_q"] = request.form.get("building_q", "")[: building_search.MAX_QUERY]
    action = request.form.get("action", "next")
    index = rules.STEPS.index(step)

    if action == "back":
        return _render_step(draft, rules.STEPS[max(0, index - 1)], {})
    if action in ("search", "refresh"):  # without JavaScript: list the buildings found
        return _render_step(draft, step, {})
    context = drafts.draft_context(draft, today)
    result = rules.step_errors(kind, step, draft.values, today, context)
    if step == "residence" and not result.errors:
        result.errors.update(drafts.place_errors(result.values))
    if result.errors:
        return _render_step(draft, step, result.errors, status=422)
    if step != "consent":
        return _render_step(draft, rules.STEPS[index + 1], {})
    return _submit(draft, today)


def _submit(draft: drafts.Draft, today) -> Response:  # noqa: ANN001
    drafts.derive_grid(draft.values)
    values, errors = rules.clean_all(draft.kind, draft.values, today)
    if not errors:
        errors = drafts.place_errors(values)
    if errors:
        step = rules.first_step_with_error(draft.kind, errors) or "consent"
        return _render_step(draft, step, errors, status=422)
    user = current_user if current_user.is_authenticated else None
    if draft.registration_id:
        return _resubmit(draft, values, user)
    for attempt in range(5):
        try:
            registration, _created = services.submit(draft.kind, values, draft.key, user)
            break
        except DomainError as exc:
            db.session.rollback()
            return _render_step(draft, "identity", exc.errors, status=422)
        except IntegrityError:
            db.session.rollback()
            registration = services.after_conflict(draft.key)
            if registration is None:  # a code collision or a concurrent open registration
                continue
            break
        except OperationalError:  # SQLite: another writer holds the lock; try again
            db.session.rollback()
            time.sleep(0.02 * (attempt + 1))
    else:
        flash("系统繁忙，请稍后再点“提交”。您填写的内容仍然保留。", "error")
        return _render_step(draft, "consent", {}, status=503)
    _remember("registration_done", registration.id)
    return _to(url_for("registration.done"))


def _to(url: str) -> Response:
    """After a submit: a full page load (htmx follows HX-Redirect; without JS, 303 See Other)."""
    if is_htmx():
        return client_redirect(url)
    return redirect(url, code=303)


def _resubmit(draft: drafts.Draft, values: dict, user) -> Response:  # noqa: ANN001
    registration = db.session.get(Registration, draft.registration_id)
    if registration is None or _remembered("registration_seen") != registration.id:
        abort(404)
    for _attempt in range(2):
        try:
            services.resubmit(registration, values, user)
            break
        except DomainError as exc:
            db.session.rollback()
            return _render_step(draft, "identity", exc.errors, status=422)
        except IntegrityError:  # another open registration of the ID number made meanwhile
            db.session.rollback()
    else:
        flash("系统繁忙，请稍后再点“提交”。您填写的内容仍然保留。", "error")
        return _render_step(draft, "consent", {}, status=503)
    _remember("registration_done", registration.id)
    return _to(url_for("registration.done"))


def _render_step(
    draft: drafts.Draft,
    step: str,
    errors: dict[str, str],
    status: int = 200,
    return_reason: str | None = None,
) -> Response:
    kind = draft.kind
    form = RegistrationForm(formdata=None, data=dict(draft.values), kind=kind)
    _fill_place_choices(form, draft.values)
    for name, message in errors.items():
        if name in form:
            form[name].errors = [message]
    steps = [(s, rules.STEP_LABELS[s]) for s in rules.STEPS]
    summary = None
    if step == "consent":
        summary = _summary(draft, form)
    picker = {}
    if step == "residence":
        picker = building_search.picker(
            parse_int(draft.values.get("community_id")),
            draft.values.get("building_q", ""),
            parse_int(draft.values.get("building_id")),
        )
    return render_page_or_block(
        "registration/form.html",
        "wizard",
        status=status,
        kind=kind,
        kind_label=REGISTRATION_KINDS[kind],
        draft_token=draft.dump(),
        correcting=bool(draft.registration_id),
        return_reason=return_reason,
        step=step,
        step_index=rules.STEPS.index(step),
        steps=steps,
        fields=[form[name] for name in rules.step_fields(kind, step)],
        form=form,
        error_count=len(errors),
        privacy=PRIVACY,
        consent_version=get_setting("consent_version"),
        summary=summary,
        **picker,
    )


def _summary(draft: drafts.Draft, form: RegistrationForm) -> list[tuple[str, str]]:
    rows = []
    for step in rules.STEPS[:-1]:
        for name in rules.step_fields(draft.kind, step):
            value = draft.values.get(name, "")
            if not value:
                continue
            if name == "id_number":
                value = mask_id_number(value.strip().upper())
            elif name in ("community_id", "grid_id", "building_id"):
                place = db.session.get(Place, parse_int(value) or 0)
                if place is None:
                    continue
                value = place.name + (f"（{place.address}）" if place.address else "")
                if name == "grid_id":
                    value = f"{place.name}（按楼栋确定）"
            elif name in rules.CHOICES:
                value = rules.CHOICES[name].get(value, value)
            rows.append((form[name].label.text, value))
    return rows


def _fill_place_choices(form: RegistrationForm, values: dict[str, str]) -> None:
    """The community list; the building is found by typing (``building_search``)."""
    form.community_id.choices = [SelectChoice("", "请选择社区")] + [
        SelectChoice(str(p.id), p.name) for p in drafts.active_places("community")
    ]
    form.community_id.render_kw = {
        "hx-post": url_for("registration.buildings"),
        "hx-target": "#building-matches",
        "hx-swap": "innerHTML",
        "hx-trigger": "change",
        "hx-include": "#building_q, #building-matches",
    }


@bp.route("/register/validate/<field>", methods=["POST"])
@limiter.limit(VALIDATE_LIMIT)
def validate_field(field: str):
    """Inline validation as a field is left: only the message element comes back."""
    if field not in rules.VALIDATABLE:
        abort(404)
    kind = request.form.get("kind") or ""
    draft = drafts.Draft.load(request.form.get("draft"))
    if draft is not None:
        kind = draft.kind
    today = local_today()
    errors: list[str] = []
    raw = request.form.get(field, "")[:300]
    try:
        value = rules.check_field(field, raw, today, kind)
    except ValueError as exc:
        errors.append(str(exc))
    else:
        if field in (
            "joined_on",
            "full_member_on",
            "expected_return",
            "expected_until",
            "mobility_since",
        ):
            context = drafts.draft_context(draft, today) if draft else {}
            for name in ("member_type", "joined_on", "full_member_on", "mobility_since"):
                if name in request.form and name != field:
                    try:
                        context[name] = rules.check_field(
                            name, request.form[name][:300], today, kind
                        )
                    except ValueError:
                        context.pop(name, None)
            context[field] = value
            message = rules.cross_errors(kind, context, today).get(field)
            if message:
                errors.append(message)
    response = Response(
        render_template("registration/_field_error.html", field_id=field, errors=errors),
        mimetype="text/html",
    )
    return response


@bp.route("/register/buildings", methods=["POST"])
@limiter.limit(VALIDATE_LIMIT)
def buildings():
    """The live building search of the residence step: only the chosen community's active
    buildings (name, address, grid) — nothing personal, the text never in a URL."""
    picker = building_search.picker(
        parse_int(request.form.get("community_id")),
        request.form.get("building_q", ""),
        parse_int(request.form.get("building_id")),
    )
    return render_template("registration/_building_matches.html", **picker)


# ---- public: done, progress, correction, receipt ---------------------------------------------------


SESSION_MINUTES = 60  # how long a device keeps showing the registration it just sent or opened


def _remember(key: str, registration_id: int) -> None:
    session[key] = [registration_id, int(time.time())]


def _remembered(key: str) -> int | None:
    """The registration this browser sent or opened with code + phone, for one hour only
    (a shared phone must not show the previous person's receipt for ever)."""
    value = session.get(key)
    if not isinstance(value, list) or len(value) != 2:
        return None
    registration_id, at = value
    if not isinstance(registration_id, int) or not isinstance(at, int):
        return None
    if time.time() - at > SESSION_MINUTES * 60:
        session.pop(key, None)
        return None
    return registration_id


def _session_registration(*keys: str) -> Registration | None:
    for key in keys:
        reg_id = _remembered(key)
        if reg_id is not None:
            registration = db.session.get(Registration, reg_id)
            if registration is not None:
                return registration
    return None


@bp.route("/register/done")
def done():
    mark_personal()
    registration = _session_registration("registration_done")
    if registration is None:
        return redirect(url_for("registration.status"))
    return render_template(
        "registration/done.html",
        registration=registration,
        code=rules.format_tracking_code(registration.tracking_code),
    )


@bp.route("/register/status", methods=["GET", "POST"])
@limiter.limit(STATUS_LIMIT, methods=["POST"])
def status():
    mark_personal()
    registration = None
    error = None
    code = phone = ""
    if request.method == "POST":
        code = (request.form.get("code") or "")[:20]
        phone = (request.form.get("phone") or "")[:20]
        registration = services.find_by_code_and_phone(code, phone)
        if registration is None:
            error = "查询码或手机号不正确，请核对后再试（查询码不含数字 0、1 和字母 O、I、L）"
            session.pop("registration_seen", None)
        else:
            _remember("registration_seen", registration.id)
    elif request.args.get("mine") == "1":
        registration = _session_registration("registration_seen")
    return render_template(
        "registration/status.html",
        registration=registration,
        error=error,
        code=code,
        phone=phone,
        display_code=rules.format_tracking_code(registration.tracking_code) if registration else "",
    ), (422 if error else 200)


@bp.route("/register/correct")
def correct():
    """A returned registration, opened again with code + phone, can be corrected and resubmitted."""
    mark_personal()
    registration = _session_registration("registration_seen")
    if registration is None or registration.status != "returned":
        flash("请先凭查询码和手机号查询进度；只有被退回修改的登记可以修改。", "warning")
        return redirect(url_for("registration.status"))
    draft = drafts.Draft(
        kind=registration.kind,
        values=services.form_values(registration),
        registration_id=registration.id,
    )
    # The ID number is never shown back (privacy): the page says why it is empty, and every
    # other answer is filled in from the returned registration.
    return _render_step(draft, "identity", {}, return_reason=registration.decision_reason or "")


@bp.route("/register/receipt")
def receipt():
    mark_personal()
    registration = _session_registration("registration_done", "registration_seen")
    if registration is None:
        return redirect(url_for("registration.status"))
    return render_template("registration/receipt.html", **_receipt_context(registration))


@bp.route("/register/receipt.pdf")
def receipt_pdf():
    mark_personal()
    registration = _session_registration("registration_done", "registration_seen")
    if registration is None:
        return redirect(url_for("registration.status"))
    pdf = render_registration_receipt(registration)
    response = Response(pdf, mimetype="application/pdf")
    response.headers["Content-Disposition"] = (
        f"attachment; filename=receipt-{registration.tracking_code}.pdf"
    )
    return response


def _receipt_context(registration: Registration, pdf: bool = False) -> dict[str, Any]:
    community = (
        db.session.get(Place, registration.community_id) if registration.community_id else None
    )
    return {
        "registration": registration,
        "code": rules.format_tracking_code(registration.tracking_code),
        "name": registration.name,
        "id_masked": mask_id_number(decrypt(registration.id_number_enc)),
        "community": community,
        "pdf": pdf,
    }


# ---- logged-in member ------------------------------------------------------------------------


@bp.route("/register/mine")
@roles_required("member")
def mine():
    member = db.session.get(Member, current_user.member_id) if current_user.member_id else None
    return render_template(
        "registration/mine.html",
        member=member,
        registrations=_own_registrations(member),
        id_masked=_member_id_masked(member),
    )


def _member_id_masked(member: Member | None) -> str:
    if member is None:
        return ""

    return mask_id_blob(member.id_number_enc)


def _own_registrations(member: Member | None) -> list[Registration]:
    clauses = [Registration.submitted_by_user_id == current_user.id]
    if member is not None:
        clauses += [Registration.member_id == member.id, Registration.id_hash == member.id_hash]
    from sqlalchemy import or_

    return list(
        db.session.execute(
            select(Registration).where(or_(*clauses)).order_by(Registration.id.desc()).limit(50)
        ).scalars()
    )


@bp.route("/register/mine/flow-out", methods=["GET", "POST"])
@roles_required("member")
def flow_out():
    member = db.session.get(Member, current_user.member_id) if current_user.member_id else None
    if member is None:
        flash("您的账号尚未关联党员档案，请联系社区党务工作者。", "warning")
        return redirect(url_for("registration.mine"))
    form = FlowOutForm(formdata=request.form if request.method == "POST" else None)
    if request.method == "GET":
        form_key = drafts.Draft(kind="flow_out_report").key
        return _flow_out_page(form, form_key)
    form_key = (request.form.get("form_key") or "")[:64] or drafts.Draft(kind="x").key
    today = local_today()
    names = (
        "destination",
        "mobility_since",
        "expected_return",
        "occupation",
        "contact_there",
        "consent",
        "sensitive_consent",
    )
    raw = {name: request.form.get(name, "")[:300] for name in names}
    result = rules.clean_fields("flow_out_report", names, raw, today)
    for name, message in rules.cross_errors("flow_out_report", result.values, today).items():
        result.errors.setdefault(name, message)
    if result.errors:
        for name, message in result.errors.items():
            form[name].errors = [message]
        return _flow_out_page(form, form_key), 422
    values = {
        **result.values,
        "name": member.name,
        "id_number": decrypt(member.id_number_enc),
        "phone": member.phone or current_user.phone or "",
        "member_type": member.member_type,
        "joined_on": member.joined_on,
        "full_member_on": member.full_member_on,
        "community_id": member.community_id,
        "grid_id": member.grid_id,
        "building_id": member.building_id,
        "room": member.room,
    }
    if not values["phone"]:
        form.contact_there.errors = ["您的档案中没有手机号，请联系社区工作人员补充后再报告"]
        return _flow_out_page(form, form_key), 422
    try:
        services.submit("flow_out_report", values, form_key, current_user)
    except (DomainError, IntegrityError):
        db.session.rollback()
        existing = services.by_idempotency_key(form_key)
        if existing is None:
            flash(services.OPEN_EXISTS, "error")
            return _flow_out_page(form, form_key), 422
    flash("外出报告已提交，社区工作人员审核后会与您联系。", "success")
    return redirect(url_for("registration.mine"), code=303)


def _flow_out_page(form, form_key: str) -> str:  # noqa: ANN001
    return render_template(
        "registration/flow_out.html",
        form=form,
        form_key=form_key,
        privacy=PRIVACY,
        report_months=rules.report_months(),
    )
