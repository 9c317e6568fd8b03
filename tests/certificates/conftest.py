"""Certificate fixtures: the members' tree and factory, a flow-out member and an issued card."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from app.extensions import db
from app.timeutil import local_today
from tests.members.conftest import grid_worker_of, make_member, staff_of, tree  # noqa: F401


@pytest.fixture
def away(make_member, tree):  # noqa: F811
    """A flow-out member of branch A (grid A), away for a year; his liaison is 王联络, a
    member of the same building."""
    today = local_today()
    liaison = make_member(
        name="王联络", building=tree["building_a"], group=tree["group_a"], phone="13900001111"
    )
    return make_member(
        name="张晓明",
        liaison_member_id=liaison.id,
        building=tree["building_a"],
        mobility="flow_out",
        mobility_place="广东省深圳市南山区",
        mobility_since=today - timedelta(days=20),
        mobility_expected_return=today + timedelta(days=400),
        mobility_occupation="软件工程师",
    )


@pytest.fixture
def issue(app, make_member):  # noqa: F811
    """Issue a certificate through the service and commit. A member without a liaison gets
    one (a member of the same building); a trip without a planned return is open-ended."""
    from app.certificates import services

    def factory(member, user=None, **data):
        if member.liaison_user_id is None and member.liaison_member_id is None:
            liaison = make_member(name="联络员", building_id=member.building_id)
            member.liaison_member_id = liaison.id
        values = services.prefill(member)
        values.update(data)
        if values.get("expected_return") is None and "open_ended" not in data:
            values["open_ended"] = True
        cert = services.issue_certificate(member, values, user)
        db.session.commit()
        return cert

    return factory


def pdf_text(pdf: bytes, tmp_path) -> str:
    import subprocess

    path = tmp_path / "doc.pdf"
    path.write_bytes(pdf)
    return subprocess.run(
        ["pdftotext", "-layout", str(path), "-"], capture_output=True, text=True, check=True
    ).stdout


@pytest.fixture
def make_app_file(tmp_path, request):
    """An app whose database several threads can use at once: a SQLite file (or the
    PostgreSQL test database), with one community and ``n`` flow-out members."""
    from app.members.services import create_member
    from app.organization.models import Org, Place
    from tests.conftest import PG_URL, make_app
    from tests.members.conftest import id_number

    apps = []

    def factory(n: int):
        if PG_URL:
            app = request.getfixturevalue("app")
        else:
            app = make_app(SQLALCHEMY_DATABASE_URI=f"sqlite:///{tmp_path / 'concurrency.db'}")
            apps.append(app)
        with app.app_context():
            db.create_all()
            community = Place(kind="community", name="并发社区", code="620302009")
            db.session.add(community)
            db.session.flush()
            grid = Place(kind="grid", name="并发网格", parent_id=community.id)
            db.session.add(grid)
            db.session.flush()
            building = Place(kind="building", name="1号楼", parent_id=grid.id)
            db.session.add(building)
            db.session.add(
                Org(kind="community_committee", name="并发社区党委", place_id=community.id)
            )
            db.session.flush()
            ids = []
            liaison = create_member(
                {"name": "并发联络", "id_number": id_number(date(1970, 3, 3), 350)}, None
            )
            for i in range(n):
                member = create_member(
                    {
                        "name": f"并发{i}",
                        "id_number": id_number(date(1980, 1, 1) + timedelta(days=i), 300 + i),
                        "building_id": building.id,
                        "mobility": "flow_out",
                        "mobility_place": "上海",
                        "mobility_since": local_today(),
                        "mobility_open_ended": True,
                        "liaison_member_id": liaison.id,
                    },
                    None,
                )
                ids.append(member.id)
            db.session.commit()
            db.session.execute(db.update(Place).values(group_id=None))
            db.session.commit()
        return app, ids

    yield factory
    for app in apps:
        with app.app_context():
            db.session.remove()
            db.engine.dispose()
