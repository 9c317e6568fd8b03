"""民主评议: bulk grades for a branch and year, counts per branch, certificate evidence for
mobile members, scope, invalid input."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import select

from app.audit.models import AuditEntry
from app.certificates.models import Certificate, CertificateCheck
from app.extensions import db
from app.followup.models import Appraisal

HX = {"HX-Request": "true"}


@pytest.fixture
def staff(auth, staff_of, tree):
    user = staff_of(org=tree["committee"])
    assert auth.login(user.username).status_code == 302
    return user


def _grades(year):
    return dict(
        db.session.execute(
            select(Appraisal.member_id, Appraisal.grade).where(Appraisal.year == year)
        ).all()
    )


def test_bulk_grades_for_a_branch(client, auth, staff, tree, make_member):
    a = make_member(name="甲", building=tree["building_a"], group=tree["group_a"])
    b = make_member(name="乙", building=tree["building_a"], group=tree["group_a"])
    c = make_member(name="丙", building=tree["building_a"], group=tree["group_a"])
    other_branch = make_member(name="丁", building=tree["building_b"], group=tree["group_b"])
    url = f"/followup/appraisal/branches/{tree['branch_a'].id}"
    html = client.get(url + "?year=2025").get_data(as_text=True)
    assert ">甲<" in html and ">丁<" not in html and "未评议" in html
    token = auth.token(url)
    response = client.post(
        url,
        data={
            "csrf_token": token,
            "year": "2025",
            f"grade_{a.id}": "excellent",
            f"grade_{b.id}": "qualified",
            f"grade_{c.id}": "",
            f"grade_{other_branch.id}": "unqualified",  # not of this branch: ignored
        },
    )
    assert response.status_code == 303
    assert _grades(2025) == {a.id: "excellent", b.id: "qualified"}
    entry = db.session.execute(
        select(AuditEntry).where(AuditEntry.action == "appraisal_save")
    ).scalar_one()
    assert entry.after == {str(a.id): "excellent", str(b.id): "qualified"}
    # Change one, clear one; an unchanged form writes nothing.
    response = client.post(
        url,
        data={
            "csrf_token": token,
            "year": "2025",
            f"grade_{a.id}": "basically_qualified",
            f"grade_{b.id}": "",
            f"grade_{c.id}": "",
        },
    )
    assert response.status_code == 303
    assert _grades(2025) == {a.id: "basically_qualified"}
    response = client.post(
        url, data={"csrf_token": token, "year": "2025", f"grade_{a.id}": "basically_qualified"}
    )
    assert response.status_code == 303
    assert (
        len(
            db.session.execute(
                select(AuditEntry.id).where(AuditEntry.action == "appraisal_save")
            ).all()
        )
        == 2
    )
    # Another year is separate.
    assert _grades(2024) == {}
    index = client.get("/followup/appraisal?year=2025").get_data(as_text=True)
    assert tree["branch_a"].name in index and tree["branch_b"].name in index


def test_counts_per_branch(client, auth, staff, tree, make_member):
    members = [make_member(building=tree["building_a"], group=tree["group_a"]) for _ in range(4)]
    make_member(building=tree["building_b"], group=tree["group_b"])
    for m, grade in zip(members[:3], ["excellent", "qualified", "qualified"], strict=True):
        db.session.add(Appraisal(member_id=m.id, year=2025, grade=grade))
    db.session.commit()
    from app.followup import appraisal

    counts = appraisal.branch_counts(2025, [tree["branch_a"].id, tree["branch_b"].id], db.true())
    assert counts[tree["branch_a"].id]["excellent"] == 1
    assert counts[tree["branch_a"].id]["qualified"] == 2
    assert counts[tree["branch_a"].id]["ungraded"] == 1
    assert counts[tree["branch_b"].id]["ungraded"] == 1
    html = client.get("/followup/appraisal?year=2025").get_data(as_text=True)
    assert "2025 年度评议情况" in html


def test_invalid_grade_and_year_are_422(client, auth, staff, tree, make_member):
    a = make_member(name="甲", building=tree["building_a"], group=tree["group_a"])
    url = f"/followup/appraisal/branches/{tree['branch_a'].id}"
    token = auth.token(url)
    bad = client.post(
        url, data={"csrf_token": token, "year": "2025", f"grade_{a.id}": "perfect"}, headers=HX
    )
    assert bad.status_code == 422 and "请选择有效的等次" in bad.get_data(as_text=True)
    bad_year = client.post(url, data={"csrf_token": token, "year": "1800"})
    assert bad_year.status_code == 422
    assert _grades(2025) == {}


def test_mobile_members_certificate_is_the_evidence(client, staff, tree, make_member):
    mobile = make_member(
        name="流动甲",
        building=tree["building_a"],
        group=tree["group_a"],
        mobility="flow_out",
        mobility_place="深圳",
        mobility_since=date(2024, 3, 1),
    )
    cert = Certificate(
        number="C1-2024-0001",
        serial="appraisal-evidence-serial-0123456789",
        member_id=mobile.id,
        issued_on=date(2024, 3, 1),
        valid_until=date(2026, 3, 1),
    )
    db.session.add(cert)
    db.session.flush()
    db.session.add_all(
        [
            CertificateCheck(
                certificate_id=cert.id, checked_on=date(2025, 4, 1), organization="深圳某党支部"
            ),
            CertificateCheck(
                certificate_id=cert.id, checked_on=date(2025, 10, 1), organization="深圳某党支部"
            ),
            CertificateCheck(
                certificate_id=cert.id, checked_on=date(2024, 10, 1), organization="深圳某党支部"
            ),
        ]
    )
    db.session.commit()
    html = client.get(f"/followup/appraisal/branches/{tree['branch_a'].id}?year=2025").get_data(
        as_text=True
    )
    assert f"/certificates/{cert.id}" in html and "活动证 C1-2024-0001" in html
    assert "2025 年查验 2 次" in html


def test_scope(client, auth, staff_of, tree, make_member, grid_worker_of):
    user = staff_of(org=tree["branch_a"])
    auth.login(user.username)
    assert client.get(f"/followup/appraisal/branches/{tree['branch_b'].id}").status_code == 404
    assert client.get(f"/followup/appraisal/branches/{tree['branch_a'].id}").status_code == 200
    assert client.get(f"/followup/appraisal/branches/{tree['group_a'].id}").status_code == 404
    html = client.get("/followup/appraisal").get_data(as_text=True)
    assert tree["branch_a"].name in html and tree["branch_b"].name not in html
