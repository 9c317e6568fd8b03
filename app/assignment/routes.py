"""Assignment pages: unassigned work list, one member's placement and liaison, bulk moves."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from sqlalchemy import Select, func, select
from sqlalchemy.orm import aliased
from werkzeug.datastructures import MultiDict
from wtforms import SelectChoice

from app import paging, reminders
from app.assignment import services
from app.assignment.forms import LiaisonForm, TargetForm
from app.extensions import db
from app.forms import localize_errors
from app.htmx import client_redirect, is_htmx, is_partial, render_page_or_block, trigger
from app.members.models import CATEGORIES, MOBILITIES, Member
from app.members.queries import FILTER_KEYS, filter_where, read_filters
from app.organization.models import Org, Place
from app.organization.scope import (
    get_in_scope_or_404,
    member_scope_filter,
    org_scope_filter,
    place_scope_filter,
)
from app.paging import next_page_url, page_of
from app.params import parse_int
from app.security import mark_personal, mask_phone, staff_required
from app.templating import NAV_LIVE_BADGES

bp = Blueprint("assignment", __name__, url_prefix="/assignment")
# The navigation's "待分配" entry shows the open items, refreshed live after each change.
NAV_LIVE_BADGES["assignment.unassigned"] = ("assignment.counts", "assignment-changed")
reminders.register(
    "unassigned",
    "待分配的党员（楼栋、党小组或联络人）",
    lambda user: services.unassigned_counts(user)["total"],
    "assignment.unassigned",
    order=20,
)

PREVIEW_PAGE = 100
MAX_SELECTED = 5000
EVENT = "assignment-changed"
GRID = aliased(Place, name="grid")
BUILDING = aliased(Place, name="building")
BRANCH = aliased(Org, name="branch")
GROUP = aliased(Org, name="grp")


def _changed(response):  # noqa: ANN001, ANN202
    trigger(response, EVENT)
    return trigger(response, "members-changed")


# ---- unassigned work list ---------------------------------------------------------------------


@bp.route("/")
@staff_required
def unassigned():
    mark_personal()
    kind = request.args.get("kind")
    after = parse_int(request.args.get("after"))
    counts = None
    if kind not in services.UNASSIGNED_KINDS:
        # No choice yet: open the first kind that has work.
        counts = services.unassigned_counts(current_user)
        kind = next((k for k in services.UNASSIGNED_KINDS if counts[k]), "building")
    ids = services.unassigned_page(current_user, kind, after, paging.PAGE_SIZE)
    found = {
        r.id: r
        for r in db.session.execute(
            select(
                Member.id,
                Member.name,
                Member.version,
                Member.category,
                Member.mobility,
                Member.mobility_place,
                Member.relation_location,
                Member.room,
                GRID.name.label("grid_name"),
                BUILDING.name.label("building_name"),
                BUILDING.group_id.label("building_group_id"),
                GROUP.name.label("building_group_name"),
                BRANCH.name.label("branch_name"),
            )
            .outerjoin(GRID, GRID.id == Member.grid_id)
            .outerjoin(BUILDING, BUILDING.id == Member.building_id)
            .outerjoin(GROUP, GROUP.id == BUILDING.group_id)
            .outerjoin(BRANCH, BRANCH.id == Member.branch_id)
            .where(Member.id.in_(ids), member_scope_filter(current_user))
        )
    }
    rows = [found[i] for i in ids if i in found]
    page = page_of(
        rows, size=paging.PAGE_SIZE, after=after, url=lambda c: next_page_url(c, kind=kind)
    )
    context: dict[str, Any] = {
        "grid_choices": _grid_choices() if kind == "building" else [],
        "kind": kind,
        "kinds": services.UNASSIGNED_KINDS,
        "page": page,
        "rows": page.rows,
        "categories": CATEGORIES,
        "mobilities": MOBILITIES,
        "counts": counts or services.unassigned_counts(current_user),
    }
    return render_page_or_block("assignment/unassigned.html", "results", **context)


@bp.route("/counts")
@staff_required
def counts():
    """Counters of the work list: the navigation badge (``?nav=1``) or the page's tabs."""
    mark_personal()
    kind = request.args.get("kind")
    return render_template(
        "assignment/_counts.html",
        counts=services.unassigned_counts(current_user),
        kinds=services.UNASSIGNED_KINDS,
        kind=kind if kind in services.UNASSIGNED_KINDS else "building",
        nav=request.args.get("nav") == "1",
    )


# ---- one member -------------------------------------------------------------------------------


def _load(member_id: int) -> Member:
    return get_in_scope_or_404(Member, member_id, current_user, member_scope_filter)


def _grid_choices() -> list[tuple[Any, str]]:
    rows = db.session.execute(
        select(Place.id, Place.name)
        .where(Place.kind == "grid", Place.retired_at.is_(None), place_scope_filter(current_user))
        .order_by(Place.position, Place.id)
    ).all()
    return [("", "请选择网格")] + [(r.id, r.name) for r in rows]


def _building_choices(grid_id: int | None, keep_label: str = "请选择楼栋") -> list:
    choices: list[tuple[Any, str]] = [("", keep_label)]
    if not grid_id:
        return choices
    rows = db.session.execute(
        select(Place.id, Place.name, Org.name.label("group_name"))
        .outerjoin(Org, Org.id == Place.group_id)
        .where(
            Place.kind == "building",
            Place.parent_id == grid_id,
            Place.retired_at.is_(None),
            place_scope_filter(current_user),
        )
        .order_by(Place.position, Place.id)
    ).all()
    return choices + [
        (r.id, f"{r.name}（{r.group_name}）" if r.group_name else f"{r.name}（未建党小组）")
        for r in rows
    ]


def _org_choices() -> tuple[list, list]:
    branches = db.session.execute(
        select(Org.id, Org.name)
        .where(Org.kind == "branch", Org.retired_at.is_(None), org_scope_filter(current_user))
        .order_by(Org.position, Org.id)
    ).all()
    groups = db.session.execute(
        select(Org.id, Org.name, BRANCH.name.label("branch_name"))
        .join(BRANCH, BRANCH.id == Org.parent_id)
        .where(Org.kind == "group", Org.retired_at.is_(None), org_scope_filter(current_user))
        .order_by(BRANCH.position, BRANCH.id, Org.position, Org.id)
    ).all()
    return (
        [("", "请选择党支部")] + [(r.id, r.name) for r in branches],
        [("", "不指定（按楼栋或只编入支部）")]
        + [(r.id, f"{r.branch_name} › {r.name}") for r in groups],
    )


def _select(choices: list[tuple[Any, str]]) -> list[SelectChoice]:
    return [SelectChoice(value, label) for value, label in choices]


def _fill_choices(form: TargetForm, keep_label: str = "请选择楼栋") -> None:
    form.grid.choices = _select(_grid_choices())
    form.building_id.choices = _select(_building_choices(form.grid.data, keep_label))
    branches, groups = _org_choices()
    form.branch_id.choices, form.group_id.choices = _select(branches), _select(groups)


def _member_context(member: Member, **extra) -> dict[str, Any]:
    names = services.names_for(
        [
            services.Move(
                member.id,
                member.name,
                member.version,
                {k: getattr(member, k) for k in services.PLACEMENT_KEYS},
                {},
            )
        ]
    )
    building = services._buildings({member.building_id or 0}).get(member.building_id)
    report_group = None
    if member.relation_location in services.RELATION_ELSEWHERE and building and building.group_id:
        report_group = db.session.get(Org, building.group_id)
    form = extra.pop("form", None)
    if form is None:
        form = TargetForm(
            formdata=None,
            grid=member.grid_id,
            building_id=member.building_id,
            version=str(member.version),
        )
    _fill_choices(form)
    liaison_form = extra.pop("liaison_form", None) or LiaisonForm(
        formdata=None, version=str(member.version)
    )
    return {
        "member": member,
        "names": names,
        "current": services.describe(
            {k: getattr(member, k) for k in services.PLACEMENT_KEYS}, names
        ),
        "elsewhere": member.relation_location in services.RELATION_ELSEWHERE,
        "report_group": report_group,
        "form": form,
        "liaison_form": liaison_form,
        "liaison": services.liaison_of(member),
        "needs_liaison": services.needs_liaison(member),
        "phone_masked": mask_phone(member.phone),
        "categories": CATEGORIES,
        "mobilities": MOBILITIES,
        **extra,
    }


@bp.route("/members/<int:member_id>")
@staff_required
def member(member_id: int):
    mark_personal()
    m = _load(member_id)
    return render_page_or_block("assignment/member.html", "content", **_member_context(m))


@bp.route("/buildings")
@staff_required
def buildings():
    """Cascading choice: the buildings of one grid (inside the user's scope)."""
    grid_id = parse_int(request.args.get("grid"))
    keep = request.args.get("keep") == "1"
    choices = _building_choices(grid_id, "保持原楼栋" if keep else "请选择楼栋")
    select_id = request.args.get("select_id", "")
    if not select_id.replace("_", "").isalpha():
        select_id = ""
    return render_template(
        "assignment/_building_select.html", choices=choices, select_id=select_id[:30]
    )


@bp.route("/members/<int:member_id>/place", methods=["POST"])
@staff_required
def place(member_id: int):
    """Place one member (card page, or one click in the work list: then the row disappears)."""
    mark_personal()
    m = _load(member_id)
    form = TargetForm()
    inline = request.form.get("inline") == "1"
    if not form.validate():
        localize_errors(form)
        return _member_error(m, form, inline)
    try:
        plan = services.place_members(
            [m.id],
            form.target(),
            current_user,
            effective=form.effective_on.data,
            reason=form.reason.data,
            expected_versions={m.id: parse_int(form.version.data)},
        )
    except services.PlacementError as exc:
        db.session.rollback()
        for key, message in exc.errors.items():
            (form[key].errors.append(message) if key in form else form.form_errors.append(message))
        return _member_error(_load(member_id), form, inline)
    except services.BatchFailed as exc:
        db.session.rollback()
        message = exc.plan.failed[0].error or "无法调整"
        form.form_errors.append(message)
        status = 409 if "他人修改" in message else 422
        return _member_error(_load(member_id), form, inline, status)
    except services.ConflictError:
        db.session.rollback()
        form.form_errors.append("该党员的分配已被他人修改，请刷新后重新操作")
        return _member_error(_load(member_id), form, inline, 409)
    moved = bool(plan.moving)
    if inline:
        response = render_template("assignment/_resolved.html", name=m.name, moved=moved)
        return _changed(app_response(response))
    flash(f"已调整 {m.name} 的分配" if moved else "分配没有变化", "success" if moved else "info")
    target = url_for("assignment.member", member_id=member_id)
    if is_htmx():
        return _changed(client_redirect(target))
    return redirect(target, code=303)


def app_response(body: str, status: int = 200):  # noqa: ANN201
    from flask import Response

    return Response(body, status=status, mimetype="text/html")


def _member_error(m: Member, form: TargetForm, inline: bool, status: int = 422):  # noqa: ANN202
    if inline:
        message = "；".join([*form.form_errors, *(e for f in form for e in f.errors)]) or "无法调整"
        return app_response(
            render_template(
                "assignment/_inline_error.html", message=message, name=m.name, member_id=m.id
            ),
            status,
        )
    return render_page_or_block(
        "assignment/member.html", "placement", status=status, **_member_context(m, form=form)
    )


@bp.route("/members/<int:member_id>/liaison-candidates")
@staff_required
def liaison_candidates(member_id: int):
    mark_personal()
    m = _load(member_id)
    q = request.args.get("q", "")
    found = services.liaison_candidates(m, current_user, q)
    return render_template("assignment/_candidates.html", member=m, q=q, version=m.version, **found)


@bp.route("/members/<int:member_id>/liaison", methods=["POST"])
@staff_required
def liaison(member_id: int):
    mark_personal()
    m = _load(member_id)
    form = LiaisonForm()
    user_id, liaison_member_id = form.ids()
    try:
        changed = services.set_liaison(
            m,
            current_user,
            liaison_user_id=user_id,
            liaison_member_id=liaison_member_id,
            expected_version=parse_int(form.version.data),
            reason=form.reason.data,
        )
    except services.PlacementError as exc:
        db.session.rollback()
        m = _load(member_id)
        return render_page_or_block(
            "assignment/member.html",
            "liaison",
            status=422,
            **_member_context(m, liaison_error=exc.errors.get("liaison")),
        )
    except services.ConflictError:
        db.session.rollback()
        m = _load(member_id)
        return render_page_or_block(
            "assignment/member.html",
            "liaison",
            status=409,
            **_member_context(m, liaison_error="该党员信息已被他人修改，请查看最新的联络人后重试"),
        )
    except Exception as exc:  # MemberValidationError from the member record itself
        from app.members.services import MemberValidationError

        if not isinstance(exc, MemberValidationError):
            raise
        db.session.rollback()
        m = _load(member_id)
        message = "该党员登记卡有待补正的信息：" + "；".join(exc.errors.values())
        return render_page_or_block(
            "assignment/member.html",
            "liaison",
            status=422,
            **_member_context(m, liaison_error=message),
        )
    flash("已指定联络人" if changed else "联络人没有变化", "success" if changed else "info")
    # The whole page again: the placement form must carry the member's new version.
    target = url_for("assignment.member", member_id=member_id)
    if is_htmx():  # (a "#fragment" on the same URL would not reload the page)
        return _changed(client_redirect(target))
    return redirect(target + "#liaison", code=303)


# ---- the liaison's own list -------------------------------------------------------------------


@bp.route("/mine")
@login_required
def mine():
    """我联系的党员: the members a staff user or a member keeps in touch with as liaison."""
    mark_personal()
    rows = (
        db.session.execute(
            services.my_members_query(current_user)
            .order_by(Member.name_pinyin, Member.id)
            .limit(500)
        )
        .scalars()
        .all()
    )
    items = [
        {
            "id": r.id,
            "name": r.name,
            "mobility": MOBILITIES.get(r.mobility, "") if r.mobility != "none" else "",
            "place": r.mobility_place or "",
            "since": r.mobility_since,
            "phone": mask_phone(r.phone),
            "last_contact": r.last_contact_on,
        }
        for r in rows
    ]
    is_member = current_user.role == "member"
    if is_member and not is_partial():
        return redirect(url_for("main.home"))
    if is_member and not items:
        return app_response("")  # not a liaison: nothing on the member's home page
    return render_page_or_block(
        "assignment/mine.html", "mine", liaison_items=items, is_member=is_member
    )


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
    filters = {k: v for k, v in selection["filters"].items() if v not in ("", None)}
    back = url_for("members.index", **filters)
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
        source = MultiDict(request.args)
        if source.get("all") == "1":
            source = MultiDict(
                {"all": "1", **{f"f_{k}": v for k, v in request.args.items() if k in FILTER_KEYS}}
            )
    else:
        source = request.form
    selection = _selection(source)
    form = TargetForm(formdata=None, org_mode="auto")
    return render_template("assignment/bulk.html", **_bulk_context(selection, form))


PREVIEW_IGNORED = {"csrf_token", "preview_key", "offset", "skip_failed"}


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
    order = {"failed": 0, "move": 1, "unchanged": 2}
    return sorted(plan.moves, key=lambda m: (order[m.outcome], not m.warnings, m.member_id))


def _preview_rows(plan: services.Plan, offset: int) -> dict[str, Any]:
    moves = _sorted_moves(plan)
    page = moves[offset : offset + PREVIEW_PAGE]
    names = services.names_for(page)
    rows = [
        {
            "member_id": m.member_id,
            "name": m.name,
            "outcome": m.outcome,
            "before": services.describe(m.before, names) if m.before else "—",
            "after": services.describe(m.after, names) if m.after else "—",
            "warnings": m.warnings,
            "error": m.error,
            "report_group": names["orgs"].get(m.report_group_id),
        }
        for m in page
    ]
    next_offset = offset + PREVIEW_PAGE if len(moves) > offset + PREVIEW_PAGE else None
    return {"rows": rows, "next_offset": next_offset}


def _plan_from_request(form: TargetForm, selection: dict[str, Any]) -> services.Plan:
    return services.plan_moves(
        selection["query"],
        form.target(),
        current_user,
        effective=form.effective_on.data,
        reason=form.reason.data,
    )


@bp.route("/bulk/preview", methods=["POST"])
@staff_required
def bulk_preview():
    mark_personal()
    selection = _selection(request.form)
    form = TargetForm()
    offset = max(parse_int(request.form.get("offset")) or 0, 0)
    if not form.validate():
        localize_errors(form)
        return _area(422, **_bulk_context(selection, form))
    try:
        plan = _plan_from_request(form, selection)
    except services.PlacementError as exc:
        for key, message in exc.errors.items():
            (form[key].errors.append(message) if key in form else form.form_errors.append(message))
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
    if not form.validate():
        localize_errors(form)
        return _area(422, **_bulk_context(selection, form))
    if request.form.get("preview_key") != preview_key(request.form):
        form.form_errors.append("调整对象或目标在预览后有变化，请重新预览后再确认")
        return _area(422, **_bulk_context(selection, form))
    try:
        plan = _plan_from_request(form, selection)
        services.apply_plan(plan, current_user, skip_failed=skip_failed)
    except services.PlacementError as exc:
        db.session.rollback()
        for key, message in exc.errors.items():
            (form[key].errors.append(message) if key in form else form.form_errors.append(message))
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
                blocked=True,
                preview_key=preview_key(request.form),
                **preview,
            ),
        )
    except services.ConflictError:
        db.session.rollback()
        form.form_errors.append(
            "有党员的分配在预览后被他人修改，本次调整未执行。请重新预览后再确认。"
        )
        return _area(409, **_bulk_context(selection, form))
    counts = plan.counts()
    failed = _preview_rows(services.Plan(plan.target, plan.effective, plan.reason, plan.failed), 0)
    response = render_page_or_block(
        "assignment/bulk.html",
        "outcome",
        **_bulk_context(selection, form, done=True, counts=counts, failed_rows=failed["rows"]),
    )
    return _changed(response)
