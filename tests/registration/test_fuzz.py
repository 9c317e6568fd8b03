"""Property-based fuzzing of every public field: no input ever produces a 500 (≥ 2,000 examples)."""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.extensions import db
from app.members.identity import check_char
from app.registration import rules
from app.registration.drafts import Draft
from tests.conftest import make_app

KINDS = list(rules.KIND_FIELDS)


def fuzz_settings(examples: int) -> settings:
    return settings(
        max_examples=examples,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
    )


TEXT = st.one_of(
    st.text(st.characters(exclude_categories=("Cs",)), max_size=80),
    st.text("0123456789Xx-/. 年月日０１２３", max_size=24),
    st.sampled_from(["", " ", "\x00", "1" * 5000, "<script>", "' OR 1=1 --", "2001-02-30"]),
)


@pytest.fixture(scope="module")
def fuzz():
    app = make_app(WTF_CSRF_ENABLED=False, SQLALCHEMY_DATABASE_URI="sqlite://")
    with app.app_context():
        db.create_all()
        from app.organization.models import Place

        community = Place(kind="community", name="金川社区")
        db.session.add(community)
        db.session.flush()
        grid = Place(kind="grid", name="第一网格", parent_id=community.id)
        db.session.add(grid)
        db.session.flush()
        building = Place(kind="building", name="1号楼", parent_id=grid.id)
        db.session.add(building)
        db.session.commit()
        ids = {"community": community.id, "grid": grid.id, "building": building.id}
        yield app, app.test_client(), ids
        db.session.remove()
        db.drop_all()
        db.engine.dispose()


@fuzz_settings(1000)
@given(field=st.sampled_from(sorted(rules.VALIDATABLE)), value=TEXT, kind=st.sampled_from(KINDS))
def test_field_endpoints_never_fail(fuzz, field, value, kind):
    app, client, _ = fuzz
    with app.app_context():
        draft = Draft(kind=kind, values={"id_number": "620302198503041231"}).dump()
    response = client.post(
        f"/register/validate/{field}", data={field: value, "draft": draft, "member_type": value}
    )
    assert response.status_code == 200
    assert "<html" not in response.get_data(as_text=True)


@fuzz_settings(500)
@given(
    kind=st.sampled_from(KINDS),
    step=st.sampled_from(rules.STEPS),
    action=st.sampled_from(["next", "back", "refresh", "submit", "", "x"]),
    values=st.dictionaries(st.sampled_from(sorted(rules.LABELS)), TEXT, max_size=12),
)
def test_step_posts_never_fail(fuzz, kind, step, action, values):
    app, client, _ = fuzz
    with app.app_context():
        draft = Draft(kind=kind, values=dict(values)).dump()
    response = client.post(
        f"/register/{kind}", data={**values, "draft": draft, "step": step, "action": action}
    )
    assert response.status_code in (200, 303, 422)


def _valid(kind: str, ids: dict, n: int) -> dict[str, str]:
    first17 = f"620302{date(1980, 1, 1).toordinal() % 9 + 1980}0101{n % 1000:03d}"
    values = {
        "name": "李华",
        "id_number": first17 + check_char(first17),
        "phone": "13912345678",
        "member_type": "formal",
        "joined_on": "2008-07-01",
        "community_id": str(ids["community"]),
        "grid_id": str(ids["grid"]),
        "building_id": str(ids["building"]),
        "consent": "y",
        "sensitive_consent": "y",
        "relation_location": "community",
        "work_unit": "单位",
        "transfer_letter_no": "1",
        "from_org": "某支部",
        "employment": "retired",
        "origin_org": "某党委",
        "origin_org_contact": "王 13800001111",
        "origin_place": "甘肃",
        "mobility_since": "2026-09-01" if kind == "flow_out_report" else "2025-01-01",
        "destination": "深圳",
        "expected_return": "2027-06-01",
        "occupation": "工人",
        "contact_there": "13800001111",
    }
    return values


@fuzz_settings(400)
@given(
    kind=st.sampled_from(KINDS),
    broken=st.dictionaries(st.sampled_from(sorted(rules.LABELS)), TEXT, max_size=3),
    n=st.integers(0, 10_000),
)
def test_final_submit_never_fails(fuzz, kind, broken, n):
    """Valid answers with up to three fields replaced by arbitrary input."""
    app, client, ids = fuzz
    values = {**_valid(kind, ids, n), **broken}
    with app.app_context():
        draft = Draft(kind=kind, values=values, key=f"fuzz-{n}-{len(broken)}").dump()
    response = client.post(
        f"/register/{kind}",
        data={**values, "draft": draft, "step": "consent", "action": "submit"},
    )
    assert response.status_code in (303, 422), response.get_data(as_text=True)[-500:]


@fuzz_settings(200)
@given(code=TEXT, phone=TEXT)
def test_status_lookup_never_fails(fuzz, code, phone):
    _, client, _ = fuzz
    response = client.post("/register/status", data={"code": code, "phone": phone})
    assert response.status_code == 422
