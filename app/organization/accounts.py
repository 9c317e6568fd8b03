"""Staff accounts: create with a one-time initial password, reset, deactivate.

Functions flush and audit; the caller commits. The initial password is returned to the caller
to be shown once and is never stored anywhere but as its hash.
"""

from __future__ import annotations

import re
import secrets

from sqlalchemy import Select, func, select

from app.audit import record
from app.auth import services as auth_services
from app.auth import throttle
from app.auth.models import ROLES, User
from app.auth.passwords import hash_password, password_problems
from app.errors import DomainError
from app.extensions import db
from app.names import name_problem

STAFF_ACCOUNT_ROLES = {
    "staff": ROLES["staff"],
    "grid_worker": ROLES["grid_worker"],
    "admin": ROLES["admin"],
}
USERNAME_RE = re.compile(r"^[A-Za-z0-9_.-]{3,64}$")
# No look-alike characters (0/O, 1/l/I): the password is read off a screen and typed.
_ALPHABET = "abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789"


def generate_password(personal: tuple[str | None, ...] = ()) -> str:
    while True:
        body = "".join(secrets.choice(_ALPHABET) for _ in range(12))
        password = f"{body[:4]}-{body[4:8]}-{body[8:]}"
        if not password_problems(password, "staff", personal=personal):
            return password


def create_account(username: str, display_name: str, role: str, phone: str | None = None):
    """Create a staff / grid-worker / admin account; returns ``(user, initial_password)``."""
    username = (username or "").strip()
    display_name = " ".join((display_name or "").split())
    if not USERNAME_RE.match(username):
        raise DomainError("用户名须为 3–64 位字母、数字、下划线、点或短横线", "username")
    if auth_services.find_user(username) is not None:
        raise DomainError(f"用户名 {username} 已存在", "username")
    if not display_name:
        raise DomainError("请填写姓名", "display_name")
    if problem := name_problem(display_name):  # the one name rule (app/names.py)
        raise DomainError(problem, "display_name")
    if role not in STAFF_ACCOUNT_ROLES:
        raise DomainError("请选择角色", "role")
    phone = (phone or "").strip() or None
    if phone and not re.fullmatch(r"[0-9+\- ]{5,30}", phone):
        raise DomainError("电话号码格式不正确", "phone")
    password = generate_password((username, phone))
    user = auth_services.create_user(
        username, display_name, role, password, must_change_password=True, phone=phone
    )
    return user, password


def reset_password(user: User, actor: User | None = None) -> str:
    if user.role not in STAFF_ACCOUNT_ROLES:
        raise DomainError("只能为工作人员账号重置密码")
    password = generate_password((user.username, user.phone))
    user.password_hash = hash_password(password)
    user.must_change_password = True
    user.failed_logins = 0
    user.locked_until = None
    throttle.clear_username(user.username)  # lifts the login locks of every address
    auth_services.end_sessions(user)
    db.session.flush()
    record("password_reset", user, detail="管理员重置密码，首次登录须修改")
    return password


def set_active(user: User, active: bool, actor: User | None = None) -> User:
    if actor is not None and actor.id == user.id and not active:
        raise DomainError("不能停用自己的账号")
    if user.active == active:
        return user
    if not active and user.role == "admin":
        admins = db.session.scalar(
            select(func.count()).where(User.role == "admin", User.active.is_(True))
        )
        if admins <= 1:
            raise DomainError("这是最后一个在用的管理员账号，不能停用")
    user.active = active
    if not active:
        auth_services.end_sessions(user)
    db.session.flush()
    record(
        "user_activate" if active else "user_deactivate",
        user,
        before={"active": not active},
        after={"active": active},
    )
    return user


def staff_accounts_query(role: str | None = None, q: str | None = None) -> Select:
    """The staff accounts with ``role`` whose username or name contains ``q`` (the list is
    paged in ``STAFF_ACCOUNT_ORDER``)."""
    query = select(User).where(User.role.in_(STAFF_ACCOUNT_ROLES))
    if role in STAFF_ACCOUNT_ROLES:
        query = query.where(User.role == role)
    if q:
        like = f"%{q.strip()}%"
        query = query.where((User.username.ilike(like)) | (User.display_name.ilike(like)))
    return query


STAFF_ACCOUNT_ORDER = (User.role, User.username, User.id)
