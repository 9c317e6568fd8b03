import pytest

from app.auth.passwords import hash_password, password_problems, verify_password


@pytest.mark.parametrize(
    ("password", "role", "ok"),
    [
        ("Str0ng-Passw0rd", "staff", True),
        ("abcdefgh12", "staff", False),  # only two classes
        ("Abc-1234", "staff", False),  # too short for staff
        ("Abc-1234x", "admin", False),
        ("Zq8#mT4!wLp", "admin", True),
        ("qingshan88", "member", True),  # members: >= 8 characters
        ("qing88", "member", False),
        ("12345678", "member", False),  # common
        ("password", "member", False),
        ("Password123!", "staff", False),  # common word with digits/symbols around it
        ("aaaaaaaaaa", "member", False),
        ("woaini1314", "member", False),
    ],
)
def test_password_rules(password, role, ok):
    assert (password_problems(password, role) == []) is ok


def test_own_id_number_or_phone_refused():
    problems = password_problems(
        "x13812345678", "member", personal=("13812345678", "620302199001011234")
    )
    assert "密码不能包含您的身份证号、手机号或用户名" in problems
    assert password_problems("620302199001011234", "member", personal=("620302199001011234",))


def test_argon2id_hash(app):
    hashed = hash_password("Str0ng-Passw0rd")
    assert hashed.startswith("$argon2id$")
    assert verify_password(hashed, "Str0ng-Passw0rd")
    assert not verify_password(hashed, "Str0ng-Passw0rd ")
    assert not verify_password("not-a-hash", "x")
