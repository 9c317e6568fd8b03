"""Login, lockout, logout and password change. Functions flush and audit; callers commit."""

from __future__ import annotations

from dataclasses import dataclass

from flask import current_app
from sqlalchemy import func, select

from app.audit import record
from app.auth import throttle
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


def attempt_login(username: str, password: str, source: str | None = None) -> LoginResult:
    """Check a login. A guess is reserved (counted) before the password is evaluated: without
    one, the answer is the lock message and the password is not checked. Unknown and known
    usernames get the same answers (the counters are keyed by the typed name); see throttle.py.
    """
    guess = throttle.reserve(username, source or "unknown")
    if isinstance(guess, throttle.Refusal):
        return _refused(username, guess)
    user = find_user(username)
    if user is None:
        dummy_verify(password)  # as long as a real check
        ok = False
    else:
        ok = verify_password(user.password_hash, password)
    if not ok:
        return _wrong_password(username, user, guess)
    throttle.clear(guess.key, guess.source)
    if not user.active:
        record("login", user, result="failed", detail="inactive", user=user)
        return LoginResult(None, "该账号已停用，请联系社区管理员")
    user.last_login_at = utcnow()
    if needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    record("login", user, user=user)
    return LoginResult(user)


def _record_attempt(user: User | None, result: str, detail: str) -> None:
    if user is None:
        record("login", object_type="user", result=result, detail=detail)
    else:
        record("login", user, result=result, detail=detail, user=user)


def _refused(username: str, refusal: throttle.Refusal) -> LoginResult:
    user = find_user(username)
    if refusal.scope == "account":
        _record_attempt(user, "locked", "throttled")
        wait = (refusal.until or throttle.now_seconds()) - throttle.now_seconds()
        return LoginResult(None, f"该账号登录失败次数过多，请 {throttle.wait_text(wait)}后再试")
    _record_attempt(user, "locked", "locked")
    if refusal.until is None:  # the last guess is still being checked
        return LoginResult(None, "连续输错密码次数过多，账号已锁定，请稍后再试")
    until = format_local(throttle.to_datetime(refusal.until), "%H:%M")
    return LoginResult(None, f"连续输错密码次数过多，账号已锁定，请于 {until} 后再试")


def _wrong_password(username: str, user: User | None, guess: throttle.Guess) -> LoginResult:
    cfg = current_app.config
    threshold = cfg["LOCKOUT_THRESHOLD"]
    _record_attempt(user, "failed", "unknown user" if user is None else "wrong password")
    if guess.count >= threshold and guess.locked_until is not None:
        _record_lock(username, user, guess, "source", guess.locked_until)
    if guess.account_count == cfg["LOGIN_ACCOUNT_THRESHOLD"] and guess.next_at is not None:
        _record_lock(username, user, guess, "account", guess.next_at)
    if guess.count >= threshold:
        minutes = cfg["LOCKOUT_MINUTES"]
        return LoginResult(None, f"连续输错密码 {threshold} 次，账号已锁定 {minutes} 分钟")
    left = threshold - guess.count
    return LoginResult(None, f"{GENERIC_ERROR}（再错 {left} 次账号将被锁定）")


def _record_lock(
    username: str, user: User | None, guess: throttle.Guess, scope: str, until: float
) -> None:
    """Audit a lock: which username (the account, or a masked form and hash of what was typed),
    from where, how far, until when."""
    after = {
        "scope": scope,
        "username": user.username if user else throttle.mask_username(username),
        "username_hash": guess.key[:16],
        "source": guess.source if scope == "source" else "*",
        "failures": guess.count if scope == "source" else guess.account_count,
        "until": throttle.to_datetime(until).isoformat(timespec="seconds"),
    }
    detail = "source locked" if scope == "source" else "account throttled"
    if user is None:
        record("login_lock", object_type="user", result="locked", detail=detail, after=after)
    else:
        record("login_lock", user, result="locked", detail=detail, after=after, user=user)


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
