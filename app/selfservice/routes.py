"""Member self-service pages (我的信息, 我的证件) and the staff review queue (信息变更)."""

from __future__ import annotations

import io
from typing import Any

from flask import (
    Blueprint,
    Response,
    abort,
    flash,
    redirect,
    render_template,
    request,
    send_file,
    url_for,
)
from flask_login import current_user
from sqlalchemy import func, select

from app import reminders
from app.audit import record
from app.auth.models import User
from app.certificates import documents
from app.certificates.models import Certificate, TransferLetter
from app.crypto import decrypt
from app.errors import DomainError, put_errors
from app.extensions import db
from app.forms import localize_errors
from app.htmx import is_partial, render_page_or_block, see_other, trigger
from app.members.management import picture_of
from app.members.models import ChangeRequest, Member
from app.organization.models import Org, Place
from app.organization.scope import member_scope_filter
from app.paging import keyset_page
from app.params import parse_int
from app.security import mark_personal, mask_id_blob, roles_required, staff_required
from app.selfservice import services
from app.selfservice.forms import ChangeRequestForm
from app.templating import NAV_LIVE_BADGES
from app.timeutil import local_today

bp = Blueprint("selfservice", __name__)
EVENT = "change-requests-changed"
# The navigation's "信息变更" entry shows the pending requests in scope, refreshed live.
NAV_LIVE_BADGES["selfservice.queue"] = ("selfservice.pending_count", EVENT)
reminders.register(
    "change_requests", "待审核的信息变更", services.pending_count, "selfservice.queue", order=15
)

MAX_SELECTED = 200
LAYOUTS = ("a5", "a4")
NOT_LINKED = "您的账号尚未关联党员档案，请联系社区党务工作者。"


def _own_member() -> Member | None:
    return services.own_member(current_user)


def _own_member_or_404() -> Member:
    member = _own_member()
    if member is None:
        abort(404)
    return member


def _pdf(data: bytes, filename: str) -> Response:
    response = send_file(io.BytesIO(data), mimetype="application/pdf", download_name=filename)
    response.headers["Cache-Control"] = "no-store"
    return response


# ---- member: 我的信息 ---------------------------------------------------------------------------


def _names(model: type[Org] | type[Place], ids: set[int | None]) -> dict[int, str]:
    ids = {i for i in ids if i}
    if not ids:
        return {}
    return dict(db.session.execute(select(model.id, model.name).where(model.id.in_(ids))).all())


def _profile_context(member: Member | None, form: ChangeRequestForm, **extra: Any) -> dict:
    if member is None:
        return {"member": None, "form": form, **extra}
    pending = services.pending_request(member)
    places = _names(Place, {member.community_id, member.grid_id, member.building_id})
    orgs = _names(Org, {member.branch_id, member.group_id})
    return {
        "member": member,
        "form": form,
        "id_masked": mask_id_blob(member.id_number_enc),
        "places": places,
        "orgs": orgs,
        "pending": pending,
        "picture": picture_of(member, local_today()),
        "pending_rows": services.diff_rows(pending) if pending else [],
        "history": services.member_requests(member),
        "labels": services.LABELS,
        "statuses": services.STATUSES,
        "editable": services.EDITABLE,
        **extra,
    }


@bp.route("/my/profile", methods=["GET", "POST"])
@roles_required("member")
def profile():
    mark_personal()
    member = _own_member()
    form = ChangeRequestForm()
    if member is None:
        if request.method == "POST":
            flash(NOT_LINKED, "warning")
            return redirect(url_for("selfservice.profile"), code=303)
        return render_template("selfservice/profile.html", **_profile_context(None, form))
    if request.method == "GET":
        pending = services.pending_request(member)
        wished = {k: d["new"] for k, d in services.fields_of(pending).items()} if pending else {}
        for key, value in services.current_values(member).items():
            getattr(form, key).data = wished.get(key, value) or ""
        return render_template("selfservice/profile.html", **_profile_context(member, form))
    form_error = None
    if form.validate():
        try:
            services.submit_request(member, form.values(), current_user, form.note.data)
        except DomainError as exc:
            db.session.rollback()
            put_errors(form, exc)
            form_error = "；".join(form.form_errors) or form_error
        else:
            flash("变更申请已提交，社区工作人员审核通过后生效。", "success")
            url = url_for("selfservice.profile")
            return see_other(url)
    localize_errors(form)
    return render_page_or_block(
        "selfservice/profile.html",
        "form",
        status=422,
        **_profile_context(member, form, form_error=form_error),
    )


@bp.route("/my/profile/reveal", methods=["POST"])
@roles_required("member")
def reveal():
    """The member's own full ID number, on an explicit 显示 (audited like every reveal)."""
    mark_personal()
    member = _own_member_or_404()
    full = decrypt(member.id_number_enc)
    record("member_self_reveal", member, detail="本人查看完整身份证号")
    return render_page_or_block(
        "selfservice/profile.html",
        "idnumber",
        **_profile_context(member, ChangeRequestForm(), id_full=full),
    )


@bp.route("/my/requests/<int:request_id>/cancel", methods=["POST"])
@roles_required("member")
def cancel(request_id: int):
    member = _own_member_or_404()
    change = db.session.get(ChangeRequest, request_id)
    if change is None or change.member_id != member.id:
        abort(404)
    try:
        services.cancel_request(change, current_user)
    except DomainError as exc:
        db.session.rollback()
        flash(str(exc), "warning")
    else:
        flash("已撤回变更申请。", "success")
    url = url_for("selfservice.profile")
    return see_other(url)


# ---- member: 我的证件 ---------------------------------------------------------------------------


def _own_certificates(member: Member):  # noqa: ANN202
    """Current (valid) certificates this community issued to the member."""
    return select(Certificate).where(
        Certificate.member_id == member.id,
        Certificate.status == "issued",
        Certificate.direction == "out",
    )


def _own_letters(member: Member):  # noqa: ANN202
    """Transfer letters still out (return slip not yet back)."""
    return select(TransferLetter).where(
        TransferLetter.member_id == member.id, TransferLetter.status == "issued"
    )


@bp.route("/my/documents")
@roles_required("member")
def documents_page():
    mark_personal()
    member = _own_member()
    certs = letters = []
    if member is not None:
        certs = list(db.session.execute(_own_certificates(member)).scalars())
        letters = list(
            db.session.execute(_own_letters(member).order_by(TransferLetter.id.desc())).scalars()
        )
    return render_template(
        "selfservice/documents.html", member=member, certs=certs, letters=letters
    )


@bp.route("/my/documents/certificate/<int:cert_id>.pdf")
@roles_required("member")
def certificate_pdf(cert_id: int):
    member = _own_member_or_404()
    cert = db.one_or_404(_own_certificates(member).where(Certificate.id == cert_id))
    layout = request.args.get("layout", "a5")
    if layout not in LAYOUTS:
        layout = "a5"
    data = documents.certificate_pdf(cert, member, layout=layout)
    record("certificate_self_download", cert, detail=f"layout={layout}")
    return _pdf(data, f"certificate-{cert.number}-{layout}.pdf")


@bp.route("/my/documents/transfer/<int:letter_id>.pdf")
@roles_required("member")
def transfer_pdf(letter_id: int):
    member = _own_member_or_404()
    letter = db.one_or_404(_own_letters(member).where(TransferLetter.id == letter_id))
    data = documents.transfer_letter_pdf(letter)
    record("transfer_letter_self_download", letter)
    return _pdf(data, f"transfer-{letter.number}.pdf")


# ---- staff: review queue --------------------------------------------------------------------


def _status_arg(value: str | None) -> str:
    return value if value in services.STATUSES or value == "all" else "pending"


def _queue_context(status: str, after: int | None = None, **extra: Any) -> dict[str, Any]:
    query = services.in_scope(current_user).add_columns(Member)
    if status != "all":
        query = query.where(ChangeRequest.status == status)
    page = keyset_page(
        query,
        [ChangeRequest.id],
        after=after,
        descending=True,
        cursor=lambda row: row[0].id,
        url=lambda cursor: url_for("selfservice.queue", status=status, after=cursor),
    )
    items = []
    for change, member in page.rows:
        rows = services.diff_rows(change, member if change.status == "pending" else None)
        items.append({"request": change, "member": member, "rows": rows})
    counts = dict(
        db.session.execute(
            select(ChangeRequest.status, func.count())
            .join(Member, Member.id == ChangeRequest.member_id)
            .where(member_scope_filter(current_user))
            .group_by(ChangeRequest.status)
        ).all()
    )
    decided = {item["request"].decided_by_id for item in items} - {None}
    users = (
        dict(
            db.session.execute(select(User.id, User.display_name).where(User.id.in_(decided))).all()
        )
        if decided
        else {}
    )
    return {
        "entries": items,  # not "items": base.html sets that name for the navigation
        "view": status,
        "statuses": services.STATUSES,
        "counts": counts,
        "page": page,
        "users": users,
        "errors": {},
        "reasons": {},
        "conflicts": {},
        "results": None,
        "notice": None,
        **extra,
    }


@bp.route("/selfservice/requests")
@staff_required
def queue():
    mark_personal()
    status = _status_arg(request.args.get("status"))
    after = parse_int(request.args.get("after"))
    return render_page_or_block(
        "selfservice/queue.html", "listing", **_queue_context(status, after)
    )


@bp.route("/selfservice/requests/count")
@staff_required
def pending_count():
    """The navigation badge: pending change requests in the user's scope."""
    mark_personal()
    count = services.pending_count(current_user)
    return Response(str(count) if count else "", mimetype="text/html")


def _in_scope_or_404(request_id: int) -> ChangeRequest:
    return db.one_or_404(services.in_scope(current_user).where(ChangeRequest.id == request_id))


def _decide(change: ChangeRequest, action: str, reason: str | None) -> str:
    """One decision in its own savepoint (a refusal undoes only itself); returns the result
    line or raises."""
    name = db.session.get(Member, change.member_id).name
    with db.session.begin_nested():
        if action == "reject":
            services.reject(change, current_user, reason)
        else:
            services.approve(change, current_user, force=action == "force")
    return f"{name}：{'已通过，新信息已生效' if action != 'reject' else '已退回，党员可看到理由'}"


def _changed(response: Response) -> Response:
    trigger(response, EVENT)
    return trigger(response, "members-changed")


@bp.route("/selfservice/requests/<int:request_id>/decide", methods=["POST"])
@staff_required
def decide(request_id: int):
    mark_personal()
    change = _in_scope_or_404(request_id)
    action = request.form.get("action", "")
    if action not in ("approve", "reject", "force"):
        abort(400)
    status = _status_arg(request.form.get("status"))
    reason = request.form.get(f"reason_{request_id}")
    extra: dict[str, Any] = {}
    try:
        message = _decide(change, action, reason)
    except services.ChangeConflict as exc:
        extra["conflicts"] = {request_id: str(exc)}
    except DomainError as exc:
        extra["errors"] = {request_id: "；".join(exc.errors.values())}
    else:
        if not is_partial():
            flash(message, "success")
            return redirect(url_for("selfservice.queue", status=status), code=303)
        response = render_page_or_block(
            "selfservice/queue.html", "listing", **_queue_context(status, notice=message)
        )
        return _changed(response)
    extra["reasons"] = {request_id: reason or ""}
    return render_page_or_block(
        "selfservice/queue.html", "listing", status=422, **_queue_context(status, **extra)
    )


@bp.route("/selfservice/requests/bulk", methods=["POST"])
@staff_required
def bulk():
    """Approve or reject the ticked requests; one result line per row."""
    mark_personal()
    action = request.form.get("action", "")
    if action not in ("approve", "reject"):
        abort(400)
    status = _status_arg(request.form.get("status"))
    ids = [i for i in (parse_int(v) for v in request.form.getlist("ids")[:MAX_SELECTED]) if i]
    reason = request.form.get("bulk_reason")
    results: list[dict[str, Any]] = []
    if not ids:
        results.append({"name": "", "ok": False, "message": "请先勾选要处理的申请"})
    elif action == "reject" and not (reason or "").strip():
        results.append({"name": "", "ok": False, "message": "批量退回时必须填写理由"})
    else:
        rows = db.session.execute(
            services.in_scope(current_user)
            .where(ChangeRequest.id.in_(ids))
            .add_columns(Member.name)
            .order_by(ChangeRequest.id)
        ).all()
        found = set()
        for change, name in rows:
            found.add(change.id)
            try:
                _decide(change, action, reason)
            except (DomainError, services.ChangeConflict) as exc:
                results.append({"name": name, "ok": False, "message": str(exc)})
                continue
            results.append(
                {
                    "name": name,
                    "ok": True,
                    "message": "已通过，新信息已生效" if action == "approve" else "已退回",
                }
            )
        for missing in sorted(set(ids) - found):
            results.append(
                {"name": f"#{missing}", "ok": False, "message": "不存在或不在您的管理范围内"}
            )
    changed = any(r["ok"] for r in results)
    response = render_page_or_block(
        "selfservice/queue.html",
        "listing",
        status=200 if changed else 422,
        **_queue_context(status, results=results),
    )
    return _changed(response) if changed else response
