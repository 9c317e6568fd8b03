"""直管 fixtures: the members feature's tree (one community, two grids), a second community
outside a first-community staff user's scope, a resident member with the seed's posts."""

from __future__ import annotations

import pytest

from tests.assignment.conftest import other  # noqa: F401  (fixtures re-used here)
from tests.conftest import csrf_token
from tests.members.conftest import (  # noqa: F401
    grid_worker_of,
    id_number,
    make_member,
    staff_of,
    tree,
)


@pytest.fixture
def staff_a(staff_of, tree):  # noqa: F811
    return staff_of(org=tree["committee"])


@pytest.fixture
def resident(make_member, tree):  # noqa: F811
    """A 直管 member of the first community, living in building A, with the five posts."""
    from app.direct import services
    from app.extensions import db

    member = make_member(name="王建国", building=tree["building_a"], group=tree["group_a"])
    services.ensure_seed_posts(member.community_id)
    db.session.commit()
    return member


@pytest.fixture
def foreigner(make_member, other):  # noqa: F811
    from app.direct import services
    from app.extensions import db

    member = make_member(name="外社区党员", building=other["building"], group=other["group"])
    services.ensure_seed_posts(member.community_id)
    db.session.commit()
    return member


def post_id(member, name: str = "环境卫生监督员") -> int:
    from sqlalchemy import select

    from app.direct.models import DutyPost
    from app.extensions import db

    return db.session.scalar(
        select(DutyPost.id).where(
            DutyPost.community_id == member.community_id, DutyPost.name == name
        )
    )


def login(client, user) -> str:  # noqa: ANN001
    token = csrf_token(client, "/login")
    response = client.post(
        "/login",
        data={"username": user.username, "password": "Test-Passw0rd!", "csrf_token": token},
    )
    assert response.status_code == 302
    return csrf_token(client, "/home")
