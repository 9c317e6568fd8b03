"""Member registry: list with active search, registration card, edit, category override, reveal."""

from __future__ import annotations

from datetime import date
from typing import Any, NamedTuple

from flask import Response, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user
from jinja2_fragments.flask import render_block
from sqlalchemy import func, or_, select, union
from werkzeug.exceptions import Forbidden

from app import paging, search_text, uow
from app.audit.labels import ACTION_LABELS
from app.audit.models import AuditEntry
from app.auth.models import User
from app.errors import DomainError, put_errors
from app.extensions import db
from app.forms import localize_errors
from app.htmx import is_partial, render_page_or_block
from app.members import filters as member_filters
from app.members import services, validation
from app.members.blueprint import bp
from app.members.forms import CategoryForm, MemberForm
from app.members.identity import (
    normalize_mobile,
    normalize_phone,
    parse_id_number,
)
from app.members.management import liaison_of, picture_of
from app.members.models import (
    CATEGORIES,
    HISTORY_ASPECTS,
    MOBILITIES,
    SEXES,
    STATUSES,
    Member,
    MemberHistory,
)
from app.members.queries import (
    CHOICE_LABELS,
    COUNT_CAP,
    LIST_SELECT,
    MOBILITY_FILTERS,
    PINYIN_ORDER,
    SEARCH_COUNT_CAP,
    STATUS_FILTERS,
    _list_select,
    _scope_branches,
    filter_where,
    keyset_after,
    merged_page,
    merged_search,
    read_filters,
    search_alternatives,
)
from app.members.rules import age_on
from app.organization.models import Org, Place
from app.organization.scope import (
    get_in_scope_or_404,
    member_scope_filter,
)
from app.paging import page_of
from app.params import parse_int
from app.registration.changes import BROUGHT, documents_brought
from app.search_text import searchable
from app.security import mark_personal, mask_id_blob, mask_phone, staff_required
from app.templating import id_url
from app.timeutil import local_today


class ListRow(NamedTuple):
    """One row of the member list, masked (attributes: cheaper for Jinja than dict keys)."""

    id: int
    href: str
    name: str
    sex: str
    age: int | None
    id_masked: str
    phone_masked: str
    category: str
    category_label: str
    status_label: str
    mobility_label: str
    place: str
    branch_name: str


@bp.route("/", methods=["GET", "POST"])
@staff_required
@searchable
def index():
    mark_personal()
    f = member_filters.settle(read_filters(search_text.args()))
    where, asof = filter_where(f, current_user, search=False)
    alternatives = search_alternatives(f["q"])
    unsearched = list(where)
    if alternatives:
        where.append(or_(*alternatives) if len(alternatives) > 1 else alternatives[0])
    category_col = asof.c.category if asof is not None else Member.category
    status_col = asof.c.status if asof is not None else Member.status

    after = parse_int(request.args.get("after"))
    page_where = [*where, *keyset_after(after, where[0])]

    query = LIST_SELECT if asof is None else _list_select(category_col, status_col)
    if asof is not None:
        query = query.join(asof, asof.c.member_id == Member.id)
    if asof is None and len(alternatives) > 1:
        # pinyin OR initials: each alternative's first page from its own index, merged.
        page_where = merged_search(
            [*unsearched, *page_where[len(where) :]], alternatives, paging.PAGE_SIZE + 1
        )
    elif asof is None and not (f["building"] or f["group"]):
        # A building or a group already narrows to a few rows through its own index; merging
        # pays off for the large sets (the whole scope, a category, a status, a surname).
        page_where = merged_page(page_where, paging.PAGE_SIZE + 1)
    link_filters = search_text.link_args(f)
    page = page_of(
        db.session.execute(
            query.where(*page_where).order_by(*PINYIN_ORDER).limit(paging.PAGE_SIZE + 1)
        ).all(),
        size=paging.PAGE_SIZE,
        after=after,
        url=lambda cursor: url_for("members.index", after=cursor, **link_filters),
    )
    rows = page.rows
    today = local_today()
    card_url = id_url("members.card", "member_id")
    members = [
        ListRow(
            id=r.id,
            href=card_url(r.id),
            name=r.name,
            sex=SEXES.get(r.sex, ""),
            age=age_on(r.birth_date, today),
            id_masked=mask_id_blob(r.id_number_enc),
            phone_masked=mask_phone(r.phone),
            category=r.category,
            category_label=CATEGORIES.get(r.category, "—"),
            status_label=STATUSES.get(r.status, "—"),
            mobility_label=MOBILITIES.get(r.mobility, "") if r.mobility != "none" else "",
            place=" · ".join(x for x in (r.grid_name, r.building_name, r.room) if x),
            branch_name=r.branch_name or "",
        )
        for r in rows
    ]
    context: dict[str, Any] = {
        "page": page,
        "members": members,
        "filters": f,
        "link_filters": link_filters,
        "categories": CATEGORIES,
        "statuses": STATUS_FILTERS,
        "mobilities": MOBILITY_FILTERS,
    }
    cap = SEARCH_COUNT_CAP if f["q"] else COUNT_CAP
    if page.more or not page.first:
        # Counted up to a cap: exact for a community or grid, "10000+" for a whole street,
        # "1000+" for a search.
        counted = select(Member.id).where(*where)
        if asof is not None:
            counted = counted.join(asof, asof.c.member_id == Member.id)
        elif f["q"] and (alternatives_of_scope := _scope_branches(where[0])):
            # A search in a scope of a few alternatives (a community OR a joint branch): each
            # alternative through its own index, the union without duplicates.
            counted = union(
                *(select(Member.id).where(b, *where[1:]) for b in alternatives_of_scope)
            )
        total = db.session.execute(
            select(func.count()).select_from(counted.limit(cap + 1).subquery())
        ).scalar_one()
    else:
        total = len(rows)  # the first page holds every match
    context["total"] = min(total, cap)
    context["total_capped"] = total > cap
    if not is_partial():
        context.update(member_filters.options(current_user, f))
        return render_page_or_block("members/index.html", "results", **context)
    body = render_block("members/index.html", "results", **context)
    if after is None:
        # A search or a filter change: the cascade's selects follow the chosen parents (an
        # out-of-band swap next to the results; 加载更多 keeps the form as it is).
        context.update(member_filters.options(current_user, f))
        body += render_block("members/index.html", "cascade", oob=True, **context)
    return Response(body, mimetype="text/html")


# ---- the registration card -------------------------------------------------------------


def _load(member_id: int) -> Member:
    return get_in_scope_or_404(Member, member_id, current_user, member_scope_filter)


def _names(model, ids: set[int]) -> dict[int, str]:  # noqa: ANN001
    ids = {i for i in ids if i}
    if not ids:
        return {}
    return dict(db.session.execute(select(model.id, model.name).where(model.id.in_(ids))).all())


def _fmt(key: str, value: Any) -> str:
    if value is None or value == "":
        return "（空）"
    if key in CHOICE_LABELS:
        return CHOICE_LABELS[key].get(value, str(value))
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, bool):
        return "是" if value else "否"
    if key in ("monthly_income_fen", "dues_fen"):
        return f"{value / 100:.2f} 元"
    return str(value)


def _describe(row: MemberHistory, places: dict, orgs: dict, users: dict, members: dict) -> str:
    v = row.value or {}
    if row.aspect == "category":
        text = CATEGORIES.get(v.get("category"), "—")
        if v.get("category_override_reason"):
            proposed = CATEGORIES.get(v.get("category_proposed"), "—")
            text += f"（人工调整，系统建议：{proposed}）"
        return text
    if row.aspect == "placement":
        parts = [places.get(v.get(k)) for k in ("community_id", "grid_id", "building_id")]
        parts += [orgs.get(v.get(k)) for k in ("branch_id", "group_id")]
        return " · ".join(p for p in parts if p) or "未分配"
    if row.aspect == "status":
        return STATUSES.get(v.get("status"), "—")
    if row.aspect == "mobility":
        kind = v.get("mobility") or "none"
        if kind == "none":
            return "无流动"
        text = MOBILITIES.get(kind, kind)
        if v.get("mobility_place"):
            text += ("自 " if kind == "flow_in" else "至 ") + v["mobility_place"]
        if v.get("mobility_since"):
            text += f"，{v['mobility_since']} 起"
        return text
    if row.aspect == "liaison":
        name = users.get(v.get("liaison_user_id")) or members.get(v.get("liaison_member_id"))
        return name or "未指定"
    return ""


def timeline(member: Member) -> list[dict[str, Any]]:
    """History rows and audit entries of one member, newest first."""
    history = (
        db.session.execute(
            select(MemberHistory)
            .where(MemberHistory.member_id == member.id)
            .order_by(MemberHistory.changed_at.desc(), MemberHistory.id.desc())
        )
        .scalars()
        .all()
    )
    place_ids, org_ids, user_ids, member_ids = set(), set(), set(), set()
    for row in history:
        v = row.value or {}
        place_ids |= {v.get("community_id"), v.get("grid_id"), v.get("building_id")}
        org_ids |= {v.get("branch_id"), v.get("group_id")}
        user_ids |= {v.get("liaison_user_id"), row.changed_by_id}
        member_ids.add(v.get("liaison_member_id"))
    places, orgs = _names(Place, place_ids), _names(Org, org_ids)
    members = _names(Member, member_ids)
    users = {}
    if {u for u in user_ids if u}:
        users = dict(
            db.session.execute(
                select(User.id, User.display_name).where(User.id.in_({u for u in user_ids if u}))
            ).all()
        )
    items = [
        {
            "at": row.changed_at,
            "kind": "history",
            "title": HISTORY_ASPECTS.get(row.aspect, row.aspect),
            "text": _describe(row, places, orgs, users, members),
            "effective": f"{row.effective_from.isoformat()} 起"
            + (f"，至 {row.effective_to.isoformat()}" if row.effective_to else "（当前）"),
            "reason": row.reason,
            "who": users.get(row.changed_by_id, "系统"),
            "current": row.effective_to is None,
        }
        for row in history
    ]
    audits = (
        db.session.execute(
            select(AuditEntry)
            .where(AuditEntry.object_type == "member", AuditEntry.object_id == str(member.id))
            .order_by(AuditEntry.id.desc())
            .limit(200)
        )
        .scalars()
        .all()
    )
    audit_users = {e.user_id for e in audits if e.user_id and e.user_id not in users}
    if audit_users:
        users.update(
            db.session.execute(
                select(User.id, User.display_name).where(User.id.in_(audit_users))
            ).all()
        )
    for entry in audits:
        fields = [validation.FIELD_LABELS.get(k, k) for k in (entry.after or {})]
        items.append(
            {
                "at": entry.at,
                "kind": "audit",
                "title": ACTION_LABELS.get(entry.action, entry.action),
                "text": ("涉及：" + "、".join(fields)) if fields else "",
                "effective": "",
                "reason": entry.detail,
                "who": users.get(entry.user_id) or entry.username or "系统",
                "result": entry.result,
                "current": False,
            }
        )
    items.sort(key=lambda i: i["at"], reverse=True)
    return items


def _card_context(member: Member, **extra) -> dict[str, Any]:
    places = _names(Place, {member.community_id, member.grid_id, member.building_id})
    orgs = _names(Org, {member.branch_id, member.group_id})
    picture = picture_of(member, local_today())
    category_form = extra.pop("category_form", None) or CategoryForm(
        formdata=None, category=member.category, version=str(member.version)
    )
    return {
        "member": member,
        "places": places,
        "orgs": orgs,
        "liaison": liaison_of(member),
        "picture": picture,
        "brought": documents_brought(member.id),
        "brought_labels": BROUGHT,
        "labels": CHOICE_LABELS,
        "categories": CATEGORIES,
        "id_masked": mask_id_blob(member.id_number_enc),
        "phone_masked": mask_phone(member.phone),
        "age": age_on(member.birth_date, local_today()),
        "timeline": timeline(member),
        "category_form": category_form,
        "can_reveal": current_user.can_reveal,
        **extra,
    }


@bp.route("/<int:member_id>")
@staff_required
def card(member_id: int):
    mark_personal()
    member = _load(member_id)
    return render_page_or_block("members/card.html", "content", **_card_context(member))


@bp.route("/<int:member_id>/edit", methods=["GET", "POST"])
@staff_required
def edit(member_id: int):
    mark_personal()
    member = _load(member_id)
    form = MemberForm()
    if request.method == "GET":
        form.load(member)
        return render_page_or_block("members/edit.html", "form", **_edit_context(member, form))
    if not form.validate():
        localize_errors(form)
        # Also show the record rules (dates, mobility...) for the fields that did parse.
        changes = {k: v for k, v in form.changes().items() if not _field_errors(form, k)}
        for key, message in validation.validation_errors(member, changes).items():
            if not _field_errors(form, key):
                _add_error(form, key, message)
        return _edit_error(member, form)
    try:
        changed = services.update_member(
            member,
            form.changes(),
            current_user,
            form.expected_version(),
            reason=(form.reason.data or "").strip() or None,
            effective=form.effective_on.data,
        )
    except services.ConflictError as conflict:
        db.session.rollback()
        services.fresh_conflict(conflict)
        return render_page_or_block(
            "members/edit.html",
            "form",
            status=409,
            **_edit_context(member, form, conflict=_conflict_rows(form, conflict)),
        )
    except DomainError as exc:
        db.session.rollback()
        for key, message in exc.errors.items():
            _add_error(form, key, message)  # maps record fields onto the form's (FORM_FIELD)
        return _edit_error(member, form)
    flash("已保存修改" if changed else "没有需要保存的修改", "success" if changed else "info")
    if member.mobility != "flow_out" and services.has_open_certificate(member):
        # The trip is closed on the record, but the card is still out: say what is still open.
        flash("该党员仍持有有效的流动党员活动证：请在“证件与文书”页面办理交回或注销", "warning")
    return redirect(url_for("members.card", member_id=member_id), code=303)


FORM_FIELD = {"monthly_income_fen": "monthly_income", "birth_date": "id_number", "sex": "id_number"}


def _field_errors(form: MemberForm, key: str) -> list:
    target = FORM_FIELD.get(key, key)
    return list(form[target].errors) if target in form else []


def _add_error(form: MemberForm, key: str, message: str) -> None:
    target = FORM_FIELD.get(key, key)
    if target in form:
        form[target].errors = [*form[target].errors, message]
    else:
        form.form_errors.append(message)


def _edit_context(member: Member, form: MemberForm, **extra) -> dict[str, Any]:
    return {
        "member": member,
        "form": form,
        "id_masked": mask_id_blob(member.id_number_enc),
        "phone_masked": mask_phone(member.phone),
        "second_masked": mask_phone(member.second_phone),
        "labels": CHOICE_LABELS,
        "lost_case_id": _open_lost_case_id(member),
        **extra,
    }


def _open_lost_case_id(member: Member) -> int | None:
    """The member's open lost-contact case: 失联 is set and left only through it."""
    from app.followup.models import LostContactCase

    return db.session.execute(
        select(LostContactCase.id).where(
            LostContactCase.member_id == member.id, LostContactCase.stage != "closed"
        )
    ).scalar()


def _edit_error(member: Member, form: MemberForm):
    db.session.expire(member)  # show the stored header values, not half-applied changes
    return render_page_or_block(
        "members/edit.html", "form", status=422, **_edit_context(member, form)
    )


def _conflict_rows(form: MemberForm, conflict: services.ConflictError) -> dict[str, Any]:
    """Fields where the newer saved value differs from what this user submitted."""
    mine = form.changes()
    rows = []
    for key, theirs in conflict.current.items():
        if key not in mine or key == "id_number":
            continue
        if mine[key] != theirs and not (mine[key] in ("", None) and theirs in ("", None)):
            rows.append(
                {
                    "label": validation.FIELD_LABELS.get(key, key),
                    "mine": _fmt(key, mine[key]),
                    "theirs": _fmt(key, theirs),
                }
            )
    form.version.data = str(conflict.current_version or "")
    return {"rows": rows, "version": conflict.current_version}


@bp.route("/<int:member_id>/category", methods=["POST"])
@staff_required
def category(member_id: int):
    mark_personal()
    member = _load(member_id)
    form = CategoryForm()
    version = parse_int(form.version.data)
    try:
        if form.clear.data:
            services.clear_override(member, current_user, reason=form.reason.data)
        else:
            if not form.validate():
                raise DomainError(
                    {"reason": form.reason.errors[0] if form.reason.errors else "请检查填写内容"}
                )
            services.override_category(
                member, form.category.data, form.reason.data, current_user, expected_version=version
            )
    except services.ConflictError:
        db.session.rollback()
        flash("该党员信息已被他人修改，请查看最新内容后重新调整", "warning")
        return redirect(url_for("members.card", member_id=member_id), code=303)
    except DomainError as exc:
        db.session.rollback()
        member = _load(member_id)
        put_errors(form, exc)
        return render_page_or_block(
            "members/card.html",
            "category",
            status=422,
            **_card_context(member, category_form=form),
        )
    flash("已恢复为系统建议的分类" if form.clear.data else "已调整五管分类", "success")
    return redirect(url_for("members.card", member_id=member_id), code=303)


@bp.route("/<int:member_id>/reveal", methods=["POST"])
@staff_required
def reveal(member_id: int):
    mark_personal()
    member = _load(member_id)
    try:
        id_number = services.reveal_id_number(member, current_user)
    except Forbidden:
        uow.keep()  # the audited refusal stays
        abort(403)
    return render_page_or_block(
        "members/reveal.html",
        "revealed",
        member=member,
        id_number=id_number,
        phone=member.phone,
    )


def _check_id_number(value: str) -> None:
    parse_id_number(value, today=local_today())


def _check_optional(check):  # noqa: ANN001, ANN202
    def run(value: str) -> None:
        if value.strip():
            check(value)

    return run


FIELD_CHECKS = {
    "id_number": _check_optional(_check_id_number),
    "phone": _check_optional(normalize_mobile),
    "second_phone": _check_optional(normalize_phone),
}


@bp.route("/validate/<field>", methods=["POST"])
@staff_required
def validate_field(field: str):
    """Inline validation as the user leaves a field: only the message element comes back."""
    check = FIELD_CHECKS.get(field)
    if check is None:
        abort(404)
    errors: list[str] = []
    try:
        check(request.form.get(field, "")[:100])
    except ValueError as exc:  # IdNumberError is a ValueError
        errors.append(str(exc))
    return render_template("members/_field_error.html", field_id=field, errors=errors)
