"""账号与权限: staff accounts, their scopes and grid appointments (admins only)."""

from __future__ import annotations

from flask import Blueprint, Response, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import select

from app import search_text
from app.auth.models import User
from app.errors import DomainError, errors_onto, form_status, render_form
from app.extensions import db
from app.htmx import client_redirect, is_htmx, is_partial, render_page_or_block
from app.organization import accounts, appointments
from app.organization.forms import AccountForm, ActionForm, GridForm, ScopeForm, choices
from app.organization.models import Org, Place
from app.paging import keyset_page
from app.params import parse_int
from app.search_text import searchable
from app.security import admin_required, mark_personal

bp = Blueprint("accounts", __name__, url_prefix="/admin/users")


def _user_or_404(user_id: int) -> User:
    user = db.session.get(User, user_id)
    if user is None or user.role not in accounts.STAFF_ACCOUNT_ROLES:
        abort(404)
    return user


def _back(user: User, message: str | None = None) -> Response:
    if message:
        flash(message, "success")
    url = url_for(".user", user_id=user.id)
    return client_redirect(url) if is_htmx() else redirect(url, code=303)


def _scope_form(formdata=None) -> ScopeForm:  # noqa: ANN001
    form = ScopeForm(formdata=formdata)
    orgs = db.session.execute(
        select(Org)
        .where(
            Org.kind.in_(("street_committee", "community_committee", "branch")),
            Org.retired_at.is_(None),
        )
        .order_by(Org.kind.desc(), Org.position, Org.id)
    ).scalars()
    places = db.session.execute(
        select(Place)
        .where(Place.kind.in_(("community", "grid")), Place.retired_at.is_(None))
        .order_by(Place.position, Place.id)
    ).scalars()
    place_choices = [
        (f"place:{p.id}", f"{p.kind_label}：{label}") for p, label in _places_named(places)
    ]
    form.target.choices = (
        choices([("", "请选择党组织、社区或网格")])
        + choices([(f"org:{o.id}", f"{o.kind_label}：{o.name}") for o in orgs], "党组织")
        + choices(place_choices, "社区与网格")
    )
    return form


def _places_named(places) -> list[tuple[Place, str]]:  # noqa: ANN001
    """Communities and grids labelled so that same-named grids are told apart: each community
    ("甲社区"), then its grids ("甲社区 / 第一网格")."""
    places = list(places)
    communities = [p for p in places if p.kind == "community"]
    names = {c.id: c.name for c in communities}
    grids: dict[int | None, list[Place]] = {}
    for p in places:
        if p.kind == "grid":
            grids.setdefault(p.parent_id, []).append(p)
    out: list[tuple[Place, str]] = []
    for c in communities:
        out.append((c, c.name))
        out += [(g, f"{c.name} / {g.name}") for g in grids.pop(c.id, [])]
    for parent_id, rest in grids.items():  # under a retired community
        out += [(g, f"{names.get(parent_id) or '（已撤销社区）'} / {g.name}") for g in rest]
    return out


def _grid_form(formdata=None) -> GridForm:  # noqa: ANN001
    form = GridForm(formdata=formdata)
    communities = dict(
        db.session.execute(select(Place.id, Place.name).where(Place.kind == "community")).all()
    )
    grids = db.session.execute(
        select(Place)
        .where(Place.kind == "grid", Place.retired_at.is_(None))
        .order_by(Place.parent_id, Place.position)
    ).scalars()
    form.grid_id.choices = choices(
        [(0, "请选择网格")]
        + [(g.id, f"{communities.get(g.parent_id, '')} / {g.name}") for g in grids]
    )
    return form


def _user_page(user: User, status: int = 200, block: str | None = None, **forms) -> Response:
    ctx = {
        "user": user,
        "scopes": appointments.scopes_of(user),
        "grids": appointments.grids_of(user),
        "scope_form": forms.get("scope_form") or _scope_form(),
        "grid_form": forms.get("grid_form") or _grid_form(),
        "action_form": forms.get("action_form") or ActionForm(),
    }
    if block:
        return render_page_or_block("organization/accounts/user.html", block, status=status, **ctx)
    return Response(
        render_template("organization/accounts/user.html", **ctx),
        status=status,
        mimetype="text/html",
    )


@bp.route("/", methods=["GET", "POST"])
@admin_required
@searchable
def users():
    role = search_text.args().get("role", "")
    q = search_text.text()[:64]
    page = keyset_page(
        accounts.staff_accounts_query(role or None, q or None),
        accounts.STAFF_ACCOUNT_ORDER,
        cursor=lambda row: row[0].id,
    )
    page.rows = [row[0] for row in page.rows]
    return render_page_or_block(
        "organization/accounts/users.html",
        "results",
        page=page,
        users=page.rows,
        role=role,
        q=q,
        roles=accounts.STAFF_ACCOUNT_ROLES,
    )


@bp.route("/new", methods=["GET", "POST"])
@admin_required
def new():
    form = AccountForm(formdata=request.form if request.method == "POST" else None)
    if request.method == "POST" and form.validate():
        with errors_onto(form):
            user, password = accounts.create_account(
                form.username.data, form.display_name.data, form.role.data, form.phone.data
            )
            return _created(user, password)
    return render_form("organization/accounts/new.html", "form", form)


def _created(user: User, password: str) -> Response:
    """The one-time password, shown instead of the page's content (not inside the form): the
    whole page without JavaScript; with htmx, the card in place of ``#main`` and the address
    of the new account in the address bar (a reload shows the account, never the password)."""
    mark_personal()
    response = render_page_or_block(
        "organization/accounts/password.html", "card", user=user, password=password, created=True
    )
    if is_partial():
        response.headers["HX-Retarget"] = "#main"
        response.headers["HX-Reswap"] = "innerHTML"
        response.headers["HX-Push-Url"] = url_for(".user", user_id=user.id)
    return response


@bp.route("/<int:user_id>")
@admin_required
def user(user_id: int):
    return _user_page(_user_or_404(user_id))


@bp.route("/<int:user_id>/password", methods=["POST"])
@admin_required
def reset_password(user_id: int):
    user = _user_or_404(user_id)
    form = ActionForm()
    with errors_onto(form):
        password = accounts.reset_password(user)
        return render_template(
            "organization/accounts/password.html", user=user, password=password, created=False
        )
    return _user_page(user, form_status(form), "actions", action_form=form)


@bp.route("/<int:user_id>/active", methods=["POST"])
@admin_required
def set_active(user_id: int):
    user = _user_or_404(user_id)
    active = request.form.get("active") == "1"
    form = ActionForm()
    with errors_onto(form):
        accounts.set_active(user, active, actor=current_user)
        return _back(user, "账号已启用" if active else "账号已停用，其登录已失效")
    return _user_page(user, form_status(form), "actions", action_form=form)


@bp.route("/<int:user_id>/scopes", methods=["POST"])
@admin_required
def scopes(user_id: int):
    user = _user_or_404(user_id)
    form = _scope_form(request.form)
    kind, _, raw_id = (form.target.data or "").partition(":")
    target = parse_int(raw_id)
    with errors_onto(form):
        appointments.add_scope(
            user,
            org_id=target if kind == "org" else None,
            place_id=target if kind == "place" else None,
        )
        return _back(user, "管理范围已更新")
    return _user_page(user, form_status(form), "scope", scope_form=form)


@bp.route("/<int:user_id>/scopes/<int:scope_id>/remove", methods=["POST"])
@admin_required
def scope_remove(user_id: int, scope_id: int):
    user = _user_or_404(user_id)
    try:
        appointments.remove_scope(user, scope_id)
    except DomainError:
        abort(404)
    return _back(user, "已从管理范围中移除")


@bp.route("/<int:user_id>/grids", methods=["POST"])
@admin_required
def grids(user_id: int):
    user = _user_or_404(user_id)
    form = _grid_form(request.form)
    grid = db.session.get(Place, form.grid_id.data) if form.grid_id.data else None
    with errors_onto(form):
        if grid is None or grid.kind != "grid":
            raise DomainError("请选择网格", "grid_id")
        appointments.appoint_grid_worker(grid, user)
        return _back(user, f"已任命为「{grid.name}」网格员")
    return _user_page(user, form_status(form), "scope", grid_form=form)


@bp.route("/<int:user_id>/grids/<int:grid_id>/remove", methods=["POST"])
@admin_required
def grid_remove(user_id: int, grid_id: int):
    user = _user_or_404(user_id)
    grid = db.session.get(Place, grid_id)
    if grid is None:
        abort(404)
    try:
        appointments.remove_grid_worker(grid, user)
    except DomainError:
        abort(404)
    return _back(user, f"已取消「{grid.name}」网格员任命")
