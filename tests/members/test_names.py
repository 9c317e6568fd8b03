"""One name rule at every entry point (finding 10): the public registration form, the member
forms, the roster import and staff accounts refuse markup and formulas with the same Chinese
message, and accept real names — 少数民族 names with "·", rare characters, long names."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from app.auth.models import User
from app.extensions import db
from app.members.models import Member
from app.names import NAME_MESSAGE, validate_person_name
from app.registration import rules
from app.timeutil import local_today
from tests.conftest import csrf_token
from tests.members.test_roster import members, row, run, xlsx_bytes
from tests.members.test_routes import edit_data

HOSTILE = [
    '"><img src=x onerror=alert(1)>',
    '=HYPERLINK("http://x","y")',
    "+张三",
    "@SUM(1)",
    "-2+3",
    "张三<script>",
    "1张三",
]
REAL = [
    "张三",
    "买买提·艾力",
    "阿卜杜热合曼·买买提依明·阿卜杜拉",
    "迪丽热巴·迪力木拉提",
    "𠮷野",  # a CJK Extension B character
    "欧阳娜娜",
    "John Smith",
    "张伟2",  # rosters tell namesakes apart
    "爱新觉罗·" + "溥" * 40,  # long, within 50
]


@pytest.mark.parametrize("name", REAL)
def test_rule_accepts_real_names(name):
    assert validate_person_name(f"  {name} ") == name


def test_rule_normalizes_lookalike_dots():
    for dot in ("•", "・", "‧"):
        assert validate_person_name(f"买买提{dot}艾力") == "买买提·艾力"


@pytest.mark.parametrize("name", HOSTILE + ["·张三", "张三·", "买买提··艾力"])
def test_rule_refuses(name):
    with pytest.raises(ValueError, match="姓名只能包含"):
        validate_person_name(name)


def test_rule_refuses_too_long():
    with pytest.raises(ValueError, match="不能超过 50 个字"):
        validate_person_name("张" * 51)


# ---- public registration form ----------------------------------------------------------------


@pytest.mark.parametrize("name", HOSTILE)
def test_registration_form_refuses(client, name):
    with pytest.raises(ValueError, match=NAME_MESSAGE):
        rules.check_field("name", name, local_today())
    response = client.post(
        "/register/validate/name", data={"name": name, "csrf_token": csrf_token(client)}
    )
    assert NAME_MESSAGE in response.get_data(as_text=True)


@pytest.mark.parametrize("name", REAL)
def test_registration_form_accepts(name):
    assert rules.check_field("name", name, local_today()) == name


# ---- member edit form (and new member, registration approval: services.clean) ----------------


@pytest.mark.parametrize("name", HOSTILE)
def test_member_edit_form_refuses(client, auth, make_member, name):
    member = make_member(name="吴十")
    auth.login_as("admin")
    response = client.post(
        f"/members/{member.id}/edit", data=edit_data(member, name=name, csrf_token=auth.token())
    )
    assert response.status_code == 422
    assert NAME_MESSAGE in response.get_data(as_text=True)
    db.session.expire_all()
    assert member.name == "吴十" and member.version == 1


@pytest.mark.parametrize("name", ["买买提·艾力", "阿卜杜热合曼·买买提依明·阿卜杜拉"])
def test_member_edit_form_accepts(client, auth, make_member, name):
    member = make_member(name="吴十")
    auth.login_as("admin")
    response = client.post(
        f"/members/{member.id}/edit", data=edit_data(member, name=name, csrf_token=auth.token())
    )
    assert response.status_code == 303
    db.session.expire_all()
    assert member.name == name


# ---- roster import ---------------------------------------------------------------------------


def test_roster_import_refuses_hostile_names_and_accepts_real_ones(app, tree):
    names = HOSTILE + REAL
    rows = [row(n, 姓名=name) for n, name in enumerate(names, start=1)]
    preview = run(xlsx_bytes(rows), "r.xlsx", apply=True)
    errors = {r.line - 1: r.errors for r in preview.rows}  # line 1 is the header
    for n, name in enumerate(names, start=1):
        if name in HOSTILE:
            assert errors[n].get("name") == NAME_MESSAGE, (name, errors[n])
        else:
            assert errors[n] == {}, (name, errors[n])
    stored = set(db.session.execute(select(Member.name)).scalars())
    assert stored == set(REAL) and members() == len(REAL)


# ---- staff accounts --------------------------------------------------------------------------


@pytest.mark.parametrize("name", HOSTILE[:2])
def test_staff_account_refuses(client, auth, name):
    auth.login_as("admin")
    response = client.post(
        "/admin/users/new",
        data={
            "username": "x_gw",
            "display_name": name,
            "role": "staff",
            "csrf_token": auth.token(),
        },
    )
    assert response.status_code == 422 and NAME_MESSAGE in response.get_data(as_text=True)
    assert db.session.scalar(select(User).where(User.username == "x_gw")) is None


def test_staff_account_accepts_a_dotted_name(client, auth):
    auth.login_as("admin")
    response = client.post(
        "/admin/users/new",
        data={
            "username": "x_gw",
            "display_name": "买买提·艾力",
            "role": "staff",
            "csrf_token": auth.token(),
        },
    )
    assert response.status_code == 200
    assert (
        db.session.scalar(select(User.display_name).where(User.username == "x_gw")) == "买买提·艾力"
    )
