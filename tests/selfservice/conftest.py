"""Self-service fixtures: the members' tree and factory, two members with their own logins."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from app.extensions import db
from app.members.models import ChangeRequest, Member
from tests.conftest import PASSWORD, csrf_token
from tests.members.conftest import (  # noqa: F401  (fixtures re-used here)
    grid_worker_of,
    make_member,
    staff_of,
    tree,
)


@pytest.fixture
def people(tree, make_member, make_user, grid_worker_of, staff_of):  # noqa: F811
    """Member A (grid A) and member B (grid B), each with a member login; a grid worker of
    grid A (sees A only) and a staff user of the community committee (sees both)."""
    a = make_member(
        name="王小红", building=tree["building_a"], phone="13900000001", room="1单元101"
    )
    b = make_member(name="李大山", building=tree["building_b"], phone="13900000002")
    return SimpleNamespace(
        a=a,
        b=b,
        user_a=make_user("member", member_id=a.id),
        user_b=make_user("member", member_id=b.id),
        worker=grid_worker_of(tree["grid_a"]),
        staff=staff_of(org=tree["committee"]),
    )


def login(app, user):
    """A fresh client logged in as ``user``."""
    client = app.test_client()
    token = csrf_token(client, "/login")
    response = client.post(
        "/login", data={"username": user.username, "password": PASSWORD, "csrf_token": token}
    )
    assert response.status_code == 302, response.get_data(as_text=True)[-800:]
    return client


def post(client, url: str, data: dict | None = None, htmx: bool = False):
    token = csrf_token(client, "/home")
    headers = {"HX-Request": "true"} if htmx else {}
    return client.post(url, data={"csrf_token": token, **(data or {})}, headers=headers)


def reload(obj):
    db.session.expire_all()
    return db.session.get(type(obj), obj.id)


def pending_of(member: Member) -> ChangeRequest | None:
    db.session.expire_all()
    return db.session.execute(
        db.select(ChangeRequest).where(
            ChangeRequest.member_id == member.id, ChangeRequest.status == "pending"
        )
    ).scalar_one_or_none()
