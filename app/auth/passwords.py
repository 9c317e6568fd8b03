"""Password hashing (Argon2id) and the password rules of SPEC §12."""

from __future__ import annotations

import re

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from flask import current_app

# A small list of passwords that appear at the top of every leaked-password list,
# with the Chinese favourites; anything containing one of them with only digits or
# symbols around it is refused too.
COMMON_PASSWORDS = {
    "password",
    "passw0rd",
    "p@ssw0rd",
    "p@ssword",
    "admin",
    "administrator",
    "root",
    "qwerty",
    "qwertyuiop",
    "asdfgh",
    "asdfghjkl",
    "zxcvbnm",
    "1qaz2wsx",
    "1q2w3e4r",
    "qazwsx",
    "abc123",
    "abcd1234",
    "a1b2c3d4",
    "iloveyou",
    "woaini",
    "woaini1314",
    "5201314",
    "1314520",
    "letmein",
    "welcome",
    "monkey",
    "dragon",
    "football",
    "baseball",
    "sunshine",
    "princess",
    "master",
    "shadow",
    "superman",
    "trustno1",
    "linli",
    "dangyuan",
    "gongchandang",
    "zhongguo",
    "china",
    "beijing",
    "shanghai",
    "123456",
    "1234567",
    "12345678",
    "123456789",
    "1234567890",
    "0123456789",
    "111111",
    "11111111",
    "000000",
    "00000000",
    "666666",
    "88888888",
    "888888",
    "987654321",
    "147258369",
    "112233",
    "121212",
    "123123",
    "123321",
    "654321",
}
PASSWORD_CLASSES = (r"[a-z]", r"[A-Z]", r"[0-9]", r"[^a-zA-Z0-9]")
STAFF_MIN_LENGTH = 10
MEMBER_MIN_LENGTH = 8


def _hasher() -> PasswordHasher:
    cfg = current_app.config
    return PasswordHasher(
        time_cost=cfg.get("ARGON2_TIME_COST", 3),
        memory_cost=cfg.get("ARGON2_MEMORY_COST", 65536),
        parallelism=cfg.get("ARGON2_PARALLELISM", 2),
    )


def hash_password(password: str) -> str:
    return _hasher().hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    try:
        return _hasher().verify(password_hash, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    try:
        return _hasher().check_needs_rehash(password_hash)
    except InvalidHashError:
        return True


# A valid hash of a random password: verifying against it costs the same as a real check,
# so an unknown user name takes as long as a wrong password.
_DUMMY: dict[str, str] = {}


def dummy_verify(password: str) -> None:
    key = "hash"
    if key not in _DUMMY:
        _DUMMY[key] = hash_password("dummy-password-for-timing")
    verify_password(_DUMMY[key], password)


def _is_common(password: str) -> bool:
    lowered = password.lower()
    if lowered in COMMON_PASSWORDS:
        return True
    core = re.sub(r"^[\d\W_]+|[\d\W_]+$", "", lowered)
    if core and core in COMMON_PASSWORDS:
        return True
    # One repeated character, or a plain run like abcdefgh / 12345678.
    if len(set(lowered)) <= 2:
        return True
    return lowered in "abcdefghijklmnopqrstuvwxyz" or lowered in "01234567890123456789"


def password_problems(
    password: str, role: str, *, personal: tuple[str | None, ...] = ()
) -> list[str]:
    """Return the reasons (Chinese) why ``password`` is not acceptable for ``role``."""
    problems: list[str] = []
    is_staff = role != "member"
    min_length = STAFF_MIN_LENGTH if is_staff else MEMBER_MIN_LENGTH
    if len(password) < min_length:
        problems.append(f"密码至少需要 {min_length} 个字符")
    if len(password) > 128:
        problems.append("密码不能超过 128 个字符")
    if is_staff:
        classes = sum(1 for pattern in PASSWORD_CLASSES if re.search(pattern, password))
        if classes < 3:
            problems.append("密码需包含大写字母、小写字母、数字、符号中的至少三类")
    if _is_common(password):
        problems.append("密码过于常见，容易被猜到，请换一个")
    lowered = password.lower()
    for value in personal:
        if value and len(value) >= 4 and value.lower() in lowered:
            problems.append("密码不能包含您的身份证号、手机号或用户名")
            break
    return problems
