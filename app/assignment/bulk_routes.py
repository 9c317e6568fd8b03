"""Bulk moves: several members (selected, or all that match the list's filters) to one target, with a preview."""

from __future__ import annotations

from typing import Any

from flask import render_template, request, url_for
from flask_login import current_user
from sqlalchemy import Select, func, select
from werkzeug.datastructures import MultiDict

from app import search_text
from app.assignment import services, wording
from app.assignment.blueprint import MAX_SELECTED, PREVIEW_PAGE, _changed, _fill_choices, bp
from app.assignment.forms import TargetForm
from app.errors import DomainError, put_errors
from app.extensions import db
from app.forms import validated
from app.htmx import render_page_or_block
from app.members.models import CATEGORIES, MOBILITIES, Member
from app.members.queries import FILTER_KEYS, filter_where, read_filters
from app.organization.models import Org, Place
from app.params import parse_int
from app.security import mark_personal, staff_required

# ---- bulk moves -------------------------------------------------------------------------------


def _filters_from(source: MultiDict, prefix: str) -> dict[str, Any]:
    return read_filters(
        MultiDict({k[len(prefix) :]: v for k, v in source.items() if k.startswith(prefix)})
    )


def _selection(source: MultiDict, prefix: str = "f_") -> dict[str, Any]:
    """What the bulk action works on: checked rows, or everything matching the list filters."""
    if source.get("all") == "1":
        f = _filters_from(source, prefix)
        where, asof = filter_where(f, current_user)
        query: Select = select(Member.id).where(*where)
        if asof is not None:
            query = query.join(asof, asof.c.member_id == Member.id)
        count = db.session.execute(select(func.count()).select_from(query.subquery())).scalar_one()
        return {"all": True, "filters": f, "query": query, "ids": [], "count": count}
    ids = []
    for raw in source.getlist("member_id")[:MAX_SELECTED]:
        value = parse_int(raw)
        if value and value not in ids:
            ids.append(value)
    return {"all": False, "filters": {}, "query": ids, "ids": ids, "count": len(ids)}


def _filter_summary(f: dict[str, Any]) -> list[str]:
    parts = []
    if f.get("q"):
        parts.append(f"搜索“{f['q']}”")
    for key, label in (("category", CATEGORIES), ("mobility", MOBILITIES)):
        if f.get(key):
            parts.append(label.get(f[key], f[key]))
    if f.get("status"):
        from app.members.models import STATUSES

        parts.append(STATUSES.get(f["status"], f["status"]))
    for key, model in (("grid", Place), ("building", Place), ("branch", Org)):
        if f.get(key):
            node = db.session.get(model, f[key])
            if node is not None:
                parts.append(node.name)
    if f.get("as_of"):
        parts.append(f"{f['as_of']} 月末")
    return parts


def _bulk_context(selection: dict[str, Any], form: TargetForm, **extra) -> dict[str, Any]:
    _fill_choices(form, "保持原楼栋")
    back = url_for("members.index", **search_text.link_args(selection["filters"]))
    return {
        "selection": selection,
        "filter_summary": _filter_summary(selection["filters"]),
        "filter_keys": FILTER_KEYS,
        "form": form,
        "back_url": back,
        **extra,
    }


@bp.route("/bulk", methods=["GET", "POST"])
@staff_required
def bulk():
    """The bulk form: pick the target for the selected members (POST from the member list with
    the checked rows) or for every member matching the list filters (GET ``?all=1&…``)."""
    mark_personal()
    if request.method == "GET":
        source = search_text.args()  # the search text from its s= token, never from the URL
        if source.get("all") == "1":
            source = MultiDict(
                {"all": "1", **{f"f_{k}": v for k, v in source.items() if k in FILTER_KEYS}}
            )
    else:
        source = request.form
    selection = _selection(source)
    form = TargetForm(formdata=None, org_mode="auto")
    return render_template("assignment/bulk.html", **_bulk_context(selection, form))


PREVIEW_IGNORED = {"csrf_token", "preview_key", "offset", "skip_failed", "confirm"}


def preview_key(source: MultiDict) -> str:
    """Fingerprint of what was previewed (selection + target): confirming anything else
    asks for a new preview."""
    import hashlib

    items = sorted(
        (k, v) for k, values in source.lists() if k not in PREVIEW_IGNORED for v in values
    )
    raw = "\x1f".join(f"{k}={v}" for k, v in items)
    return hashlib.sha256(raw.encode()).hexdigest()[:32]


def _area(status: int, **context):  # noqa: ANN202
    """The whole bulk area again (errors next to the fields): retarget the htmx swap."""
    response = render_page_or_block("assignment/bulk.html", "form", status=status, **context)
    response.headers["HX-Retarget"] = "#bulk-area"
    response.headers["HX-Reswap"] = "outerHTML"
    return response


def _sorted_moves(plan: services.Plan) -> list[services.Move]:
    """The preview table: every move but the transfers (listed on their own)."""
    order = {"failed": 0, "move": 1, "unchanged": 2}
    moves = [m for m in plan.moves if m.outcome in order and not m.transfer]
    return sorted(moves, key=lambda m: (order[m.outcome], not m.warnings, m.member_id))


def _row(m: services.Move, names: dict[str, dict[int, str]]) -> dict[str, Any]:
    return {
        "member_id": m.member_id,
        "name": m.name,
        "outcome": m.outcome,
        "before": wording.describe(m.before, names) if m.before else "—",
        "after": wording.describe(m.after, names) if m.after else "—",
        "warnings": m.warnings,
        "error": m.error,
        "report_group": names["orgs"].get(m.report_group_id),
        "transfer": wording.transfer_text(m, names) if m.transfer else None,
    }


def _preview_rows(plan: services.Plan, offset: int) -> dict[str, Any]:
    moves = _sorted_moves(plan)
    page = moves[offset : offset + PREVIEW_PAGE]
    names = wording.names_for(page)
    rows = [_row(m, names) for m in page]
    next_offset = offset + PREVIEW_PAGE if len(moves) > offset + PREVIEW_PAGE else None
    return {"rows": rows, "next_offset": next_offset}


def _transfers(plan: services.Plan) -> dict[str, Any]:
    """Members the target would take out of a branch of their own: listed apart (the first
    ``PREVIEW_PAGE`` of them), moved only when the confirmation is ticked."""
    moves = sorted(
        (m for m in plan.moves if m.transfer and m.outcome in ("held", "move")),
        key=lambda m: m.member_id,
    )
    names = wording.names_for(moves[:PREVIEW_PAGE])
    return {
        "transfer_rows": [_row(m, names) for m in moves[:PREVIEW_PAGE]],
        "transfer_count": len(moves),
    }


def _plan_from_request(
    form: TargetForm, selection: dict[str, Any], confirm: bool = False
) -> services.Plan:
    return services.plan_moves(
        selection["query"],
        form.target(),
        current_user,
        effective=form.effective_on.data,
        reason=form.reason.data,
        confirm_transfers=confirm,
    )


@bp.route("/bulk/preview", methods=["POST"])
@staff_required
def bulk_preview():
    mark_personal()
    selection = _selection(request.form)
    form = TargetForm()
    offset = max(parse_int(request.form.get("offset")) or 0, 0)
    if not validated(form):
        return _area(422, **_bulk_context(selection, form))
    try:
        plan = _plan_from_request(form, selection)
    except DomainError as exc:
        put_errors(form, exc)
        return _area(422, **_bulk_context(selection, form))
    preview = _preview_rows(plan, offset)
    if offset:
        return render_page_or_block(
            "assignment/bulk.html", "preview_rows", **_bulk_context(selection, form, **preview)
        )
    return render_page_or_block(
        "assignment/bulk.html",
        "outcome",
        **_bulk_context(
            selection,
            form,
            plan=plan,
            counts=plan.counts(),
            **_transfers(plan),
            preview_key=preview_key(request.form),
            **preview,
        ),
    )


@bp.route("/bulk/apply", methods=["POST"])
@staff_required
def bulk_apply():
    """Apply the whole move in one transaction; any failure leaves everything unchanged."""
    mark_personal()
    selection = _selection(request.form)
    form = TargetForm()
    skip_failed = request.form.get("skip_failed") == "1"
    if not validated(form):
        return _area(422, **_bulk_context(selection, form))
    if request.form.get("preview_key") != preview_key(request.form):
        form.form_errors.append("调整对象或目标在预览后有变化，请重新预览后再确认")
        return _area(422, **_bulk_context(selection, form))
    try:
        plan = _plan_from_request(form, selection, confirm=bool(form.confirm.data))
        services.apply_plan(plan, current_user, skip_failed=skip_failed)
    except services.ConflictError:
        db.session.rollback()
        form.form_errors.append(
            "有党员的分配在预览后被他人修改，本次调整未执行。请重新预览后再确认。"
        )
        return _area(409, **_bulk_context(selection, form))
    except DomainError as exc:
        db.session.rollback()
        put_errors(form, exc)
        return _area(422, **_bulk_context(selection, form))
    except services.BatchFailed as exc:
        db.session.rollback()
        preview = _preview_rows(exc.plan, 0)
        return render_page_or_block(
            "assignment/bulk.html",
            "outcome",
            status=422,
            **_bulk_context(
                selection,
                form,
                plan=exc.plan,
                counts=exc.plan.counts(),
                **_transfers(exc.plan),
                blocked=True,
                preview_key=preview_key(request.form),
                **preview,
            ),
        )
    counts = plan.counts()
    failed = _preview_rows(services.Plan(plan.target, plan.effective, plan.reason, plan.failed), 0)
    response = render_page_or_block(
        "assignment/bulk.html",
        "outcome",
        **_bulk_context(selection, form, done=True, counts=counts, failed_rows=failed["rows"]),
    )
    return _changed(response)
