from __future__ import annotations

import secrets
from datetime import datetime
from urllib.parse import urlsplit

from flask import (
    Blueprint,
    Flask,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_login import current_user, login_required, login_user, logout_user

from app import uow
from app.audit import record
from app.auth import services, session_cache
from app.auth.forms import ChangePasswordForm, LoginForm
from app.auth.models import User
from app.extensions import db, limiter, login_manager
from app.htmx import client_redirect, is_htmx
from app.timeutil import utcnow

bp = Blueprint("auth", __name__)


def _safe_next(target: str | None) -> str | None:
    if not target:
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return None
    return target


def _login_rate_limit() -> str:
    return current_app.config["LOGIN_RATE_LIMIT"]


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(_login_rate_limit, methods=["POST"])
def login():
    if current_user.is_authenticated:
        return redirect(url_for("main.home"))
    form = LoginForm()
    status = 200
    if form.validate_on_submit():
        result = services.attempt_login(
            form.username.data, form.password.data, source=request.remote_addr
        )
        if result.user is not None:
            start_session(result.user)
            if result.user.must_change_password:
                flash("首次登录，请先设置您自己的密码", "info")
                return redirect(url_for("auth.change_password"))
            return redirect(_safe_next(request.args.get("next")) or url_for("main.home"))
        uow.keep()  # the failure's audit entries stay, although the answer is 422
        form.password.errors = [result.error]
        status = 422
    elif request.method == "POST":
        status = 422
    return render_template("auth/login.html", form=form), status


def start_session(user: User) -> None:
    """Rotate the session at login: drop everything the anonymous session held."""
    session.clear()
    login_user(user)
    session.pop("_id", None)  # Flask-Login's protection hash, unused (app/extensions.py)
    now = utcnow().timestamp()
    session["sid"] = secrets.token_urlsafe(16)
    session["login_at"] = now
    session["seen_at"] = now
    session.permanent = True


@bp.route("/logout", methods=["POST"])
@login_required
def logout():
    user = db.session.get(User, current_user.id)
    services.end_sessions(user)
    record("logout", user)
    logout_user()
    session.clear()
    flash("您已安全退出", "info")
    return redirect(url_for("auth.login"))


@bp.route("/account/password", methods=["GET", "POST"])
@login_required
def change_password():
    form = ChangePasswordForm()
    status = 200
    if form.validate_on_submit():
        user = db.session.get(User, current_user.id)
        errors = services.change_password(user, form.current_password.data, form.new_password.data)
        uow.keep()  # a wrong current password is audited even though the answer is 422
        if not errors:
            start_session(user)  # this session continues with the new session version
            flash("密码已修改，其他设备上的登录已失效", "success")
            return redirect(url_for("main.home"))
        for name, messages in errors.items():
            getattr(form, name).errors = messages
        status = 422
    elif request.method == "POST":
        status = 422
    return render_template("auth/change_password.html", form=form), status


# ---- session plumbing ------------------------------------------------------------------


@login_manager.user_loader
def load_user(user_id: str) -> User | None:
    try:
        raw_id, raw_version = user_id.split(":", 1)
        uid, version = int(raw_id), int(raw_version)
    except ValueError:
        return None
    user = session_cache.get_user(uid)  # no query of its own (app/auth/session_cache.py)
    if user is None or user.session_version != version or not user.active:
        return None
    return user


@login_manager.unauthorized_handler
def unauthorized():
    login_url = url_for("auth.login", next=request.full_path.rstrip("?"))
    if is_htmx():
        return client_redirect(login_url, status=401)
    if session.pop("_expired", False):
        flash("登录已超时，请重新登录", "warning")
    else:
        flash("请先登录", "info")
    return redirect(login_url)


PASSWORD_CHANGE_EXEMPT = {"auth.change_password", "auth.logout", "static"}


def init_app(app: Flask) -> None:
    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    login_manager.session_protection = None  # our own rotation and timeouts below

    @app.before_request
    def _enforce_session_limits():
        if not current_user.is_authenticated:
            return None
        now = utcnow().timestamp()
        cfg = app.config
        login_at = session.get("login_at", 0)
        seen_at = session.get("seen_at", 0)
        if (
            now - seen_at > cfg["SESSION_IDLE_TIMEOUT"].total_seconds()
            or now - login_at > cfg["SESSION_ABSOLUTE_TIMEOUT"].total_seconds()
        ):
            logout_user()
            session.clear()
            session["_expired"] = True
            return login_manager.unauthorized()
        if now - seen_at > 60:
            # Refreshed once a minute, not on every request: an unchanged session is not
            # re-signed and re-sent, and the idle limit stays exact to the minute.
            session["seen_at"] = now
        if current_user.must_change_password and request.endpoint not in PASSWORD_CHANGE_EXEMPT:
            if is_htmx():
                return client_redirect(url_for("auth.change_password"), status=403)
            return redirect(url_for("auth.change_password"))
        return None

    @app.template_filter("localtime")
    def _localtime(value: datetime | None, fmt: str = "%Y-%m-%d %H:%M") -> str:
        from app.timeutil import format_local

        return format_local(value, fmt)
