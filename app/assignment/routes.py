"""Assignment pages: unassigned work list, one member's placement and liaison, bulk moves."""

from __future__ import annotations

from typing import Any

from flask import flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from sqlalchemy import select
from sqlalchemy.orm import aliased

from app import paging
from app.assignment import liaisons, services, wording, worklist
from app.assignment.blueprint import (
    BRANCH,
    BUILDING,
    GRID,
    GROUP,
    _building_choices,
    _changed,
    _fill_choices,
    _grid_choices,
    bp,
)
from app.assignment.forms import LiaisonForm, TargetForm
from app.errors import DomainError, put_errors
from app.extensions import db
from app.forms import validated
from app.htmx import client_redirect, is_htmx, is_partial, render_page_or_block
from app.members import management
from app.members.management import liaison_of
from app.members.models import CATEGORIES, MOBILITIES, Member
from app.organization.models import Org
from app.organization.scope import (
    get_in_scope_or_404,
    member_scope_filter,
)
from app.paging import next_page_url, page_of
from app.params import parse_int
from app.security import mark_personal, mask_phone, staff_required

# ---- unassigned work list ---------------------------------------------------------------------

GROUP_BRANCH = aliased(Org, name="grp_branch")  # the branch of the building's group


@bp.route("/")
@staff_required
def unassigned():
    mark_personal()
    kind = request.args.get("kind")
    after = parse_int(request.args.get("after"))
    counts = None
    if kind not in services.UNASSIGNED_KINDS:
        # No choice yet: open the first kind that has work.
        counts = worklist.unassigned_counts(current_user)
        kind = next((k for k in services.UNASSIGNED_KINDS if counts[k]), "building")
    ids = worklist.unassigned_page(current_user, kind, after, paging.PAGE_SIZE)
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
                GROUP.parent_id.label("building_branch_id"),
                GROUP_BRANCH.name.label("building_branch_name"),
                Member.branch_id,
                BRANCH.name.label("branch_name"),
                BRANCH.is_joint.label("branch_is_joint"),
            )
            .outerjoin(GRID, GRID.id == Member.grid_id)
            .outerjoin(BUILDING, BUILDING.id == Member.building_id)
            .outerjoin(GROUP, GROUP.id == BUILDING.group_id)
            .outerjoin(GROUP_BRANCH, GROUP_BRANCH.id == GROUP.parent_id)
            .outerjoin(BRANCH, BRANCH.id == Member.branch_id)
            .where(Member.id.in_(ids), member_scope_filter(current_user))
        )
    }
    rows = [found[i] for i in ids if i in found]
    page = page_of(
        rows, size=paging.PAGE_SIZE, after=after, url=lambda c: next_page_url(c, kind=kind)
    )
    context: dict[str, Any] = {
        "transfers": {r.id: _transfer_row(r) for r in page.rows},
        "grid_choices": _grid_choices() if kind == "building" else [],
        "kind": kind,
        "kinds": services.UNASSIGNED_KINDS,
        "page": page,
        "rows": page.rows,
        "categories": CATEGORIES,
        "mobilities": MOBILITIES,
        "counts": counts or worklist.unassigned_counts(current_user),
    }
    return render_page_or_block("assignment/unassigned.html", "results", **context)


def _transfer_row(r: Any) -> str | None:
    """ "从 X 调到 Y" when the building's proposal would take the member out of a branch of his
    own (the one-click then asks for a second, deliberate confirmation)."""
    if not r.building_branch_id or r.building_branch_id == r.branch_id:
        return None
    if not management.own_branch(r.branch_id, r.branch_is_joint, r.building_branch_id):
        return None
    return f"从 {r.branch_name} 调到 {r.building_branch_name} · {r.building_group_name}"


@bp.route("/counts")
@staff_required
def counts():
    """Counters of the work list: the navigation badge (``?nav=1``) or the page's tabs."""
    mark_personal()
    kind = request.args.get("kind")
    return render_template(
        "assignment/_counts.html",
        counts=worklist.unassigned_counts(current_user),
        kinds=services.UNASSIGNED_KINDS,
        kind=kind if kind in services.UNASSIGNED_KINDS else "building",
        nav=request.args.get("nav") == "1",
    )


# ---- one member -------------------------------------------------------------------------------


def _load(member_id: int) -> Member:
    return get_in_scope_or_404(Member, member_id, current_user, member_scope_filter)


def _member_context(member: Member, **extra) -> dict[str, Any]:
    names = wording.names_for(
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
    elsewhere = member.relation_location in services.RELATION_ELSEWHERE
    if elsewhere and building and building.group_id:
        report_group = db.session.get(Org, building.group_id)
    own_branch = proposal = None
    if member.branch_id and not elsewhere:
        branch = db.session.get(Org, member.branch_id)
        home = building.branch_id if building else None
        if branch is not None and management.own_branch(branch.id, branch.is_joint, home):
            own_branch = branch
            plan = services.plan_moves([member.id], services.Target(), current_user)
            if plan.moves and plan.moves[0].transfer:
                proposal = wording.transfer_text(plan.moves[0], wording.names_for(plan.moves))
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
        "current_placement": wording.describe(
            {k: getattr(member, k) for k in services.PLACEMENT_KEYS}, names
        ),
        "elsewhere": elsewhere,
        "report_group": report_group,
        "own_branch": own_branch,
        "proposal": proposal,
        "form": form,
        "liaison_form": liaison_form,
        "liaison": liaison_of(member),
        "needs_liaison": liaisons.needs_liaison(member),
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
    if not validated(form):
        return _member_error(m, form, inline)
    try:
        plan = services.place_members(
            [m.id],
            form.target(),
            current_user,
            effective=form.effective_on.data,
            reason=form.reason.data,
            expected_versions={m.id: parse_int(form.version.data)},
            confirm=bool(form.confirm.data),
        )
    except services.ConflictError:
        db.session.rollback()
        form.form_errors.append("该党员的分配已被他人修改，请刷新后重新操作")
        return _member_error(_load(member_id), form, inline, 409)
    except DomainError as exc:
        db.session.rollback()
        if inline and set(exc.errors) == {"confirm"}:
            return _inline_confirm(_load(member_id), form, exc.errors["confirm"])
        put_errors(form, exc)
        return _member_error(_load(member_id), form, inline)
    except services.BatchFailed as exc:
        db.session.rollback()
        message = exc.plan.failed[0].error or "无法调整"
        form.form_errors.append(message)
        status = 409 if "他人修改" in message else 422
        return _member_error(_load(member_id), form, inline, status)
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


def _inline_confirm(m: Member, form: TargetForm, message: str):  # noqa: ANN202
    """The work list's one click would take the member out of a branch of his own: the row
    says from where to where and offers the deliberate second click (``confirm=1``)."""
    return app_response(
        render_template(
            "assignment/_inline_confirm.html",
            message=message,
            name=m.name,
            member_id=m.id,
            form=form,
        ),
        422,
    )


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


@bp.route("/members/<int:member_id>/liaison-candidates", methods=["POST"])
@staff_required
def liaison_candidates(member_id: int):
    """Candidates for the typed name (POSTed: a name never travels in a URL)."""
    mark_personal()
    m = _load(member_id)
    q = request.form.get("q", "")
    found = liaisons.liaison_candidates(m, current_user, q)
    return render_template("assignment/_candidates.html", member=m, q=q, version=m.version, **found)


@bp.route("/members/<int:member_id>/liaison", methods=["POST"])
@staff_required
def liaison(member_id: int):
    mark_personal()
    m = _load(member_id)
    form = LiaisonForm()
    user_id, liaison_member_id = form.ids()
    try:
        changed = liaisons.set_liaison(
            m,
            current_user,
            liaison_user_id=user_id,
            liaison_member_id=liaison_member_id,
            expected_version=parse_int(form.version.data),
            reason=form.reason.data,
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
    except DomainError as exc:
        db.session.rollback()
        m = _load(member_id)
        return render_page_or_block(
            "assignment/member.html",
            "liaison",
            status=422,
            **_member_context(m, liaison_error=exc.errors.get("liaison")),
        )
    except Exception as exc:  # DomainError from the member record itself
        if not isinstance(exc, DomainError):
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
            liaisons.my_members_query(current_user)
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
