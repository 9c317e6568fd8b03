"""Login, lockout, logout and password change. Functions flush and audit; callers commit."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from flask import current_app
from sqlalchemy import func, select

from app.audit import record
from app.auth.models import User
from app.auth.passwords import (
    dummy_verify,
    hash_password,
    needs_rehash,
    password_problems,
    verify_password,
)
from app.extensions import db
from app.timeutil import format_local, utcnow


@dataclass
class LoginResult:
    user: User | None
    error: str | None = None


GENERIC_ERROR = "用户名或密码错误"


def find_user(username: str) -> User | None:
    return db.session.execute(
        select(User).where(func.lower(User.username) == username.strip().lower())
    ).scalar_one_or_none()


def attempt_login(username: str, password: str) -> LoginResult:
    user = find_user(username)
    now = utcnow()
    if user is None:
        dummy_verify(password)
        record("login", object_type="user", result="failed", detail="unknown user")
        return LoginResult(None, GENERIC_ERROR)
    if user.locked_until and user.locked_until > now:
        record("login", user, result="locked", user=user)
        until = format_local(user.locked_until, "%H:%M")
        return LoginResult(None, f"连续输错密码次数过多，账号已锁定，请于 {until} 后再试")
    if not verify_password(user.password_hash, password):
        threshold = current_app.config["LOCKOUT_THRESHOLD"]
        user.failed_logins += 1
        if user.failed_logins >= threshold:
            user.locked_until = now + timedelta(minutes=current_app.config["LOCKOUT_MINUTES"])
            user.failed_logins = 0
            record("login", user, result="failed", detail="locked", user=user)
            minutes = current_app.config["LOCKOUT_MINUTES"]
            return LoginResult(None, f"连续输错密码 {threshold} 次，账号已锁定 {minutes} 分钟")
        record("login", user, result="failed", detail="wrong password", user=user)
        left = threshold - user.failed_logins
        return LoginResult(None, f"{GENERIC_ERROR}（再错 {left} 次账号将被锁定）")
    if not user.active:
        record("login", user, result="failed", detail="inactive", user=user)
        return LoginResult(None, "该账号已停用，请联系社区管理员")
    user.failed_logins = 0
    user.locked_until = None
    user.last_login_at = now
    if needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    record("login", user, user=user)
    return LoginResult(user)


def end_sessions(user: User) -> None:
    """Make every existing session cookie of ``user`` useless."""
    user.session_version += 1


def personal_values(user: User) -> tuple[str | None, ...]:
    values: list[str | None] = [user.username, user.phone]
    if user.member_id:
        from app.crypto import decrypt
        from app.members.models import Member

        member = db.session.get(Member, user.member_id)
        if member is not None:
            values += [decrypt(member.id_number_enc), member.phone]
    return tuple(values)


def change_password(user: User, current: str, new: str) -> dict[str, list[str]]:
    """Return field errors, or change the password and end the user's other sessions."""
    if not verify_password(user.password_hash, current):
        record("password_change", user, result="failed", detail="wrong current password")
        return {"current_password": ["当前密码不正确"]}
    problems = password_problems(new, user.role, personal=personal_values(user))
    if not problems and verify_password(user.password_hash, new):
        problems.append("新密码不能与当前密码相同")
    if problems:
        return {"new_password": problems}
    user.password_hash = hash_password(new)
    user.must_change_password = False
    user.password_changed_at = utcnow()
    end_sessions(user)
    record("password_change", user)
    return {}


def create_user(
    username: str,
    display_name: str,
    role: str,
    password: str,
    *,
    must_change_password: bool = True,
    **fields,
) -> User:
    user = User(
        username=username.strip(),
        display_name=display_name.strip(),
        role=role,
        password_hash=hash_password(password),
        must_change_password=must_change_password,
        **fields,
    )
    db.session.add(user)
    db.session.flush()
    record("user_create", user, after={"username": user.username, "role": role})
    return user
