"""目标考核: indicators per category computed from the year's records against the targets of the
setting, the staff's grade per member, the branch table (page, XLSX, PDF), and the evidence on
the 民主评议 form."""

from __future__ import annotations

from datetime import date
from io import BytesIO

import pytest
from openpyxl import load_workbook
from sqlalchemy import select

from app.assessment import targets
from app.assessment.models import AssessmentGrade
from app.assessment.services import branch_table
from app.audit.models import AuditEntry
from app.certificates.models import Certificate, CertificateCheck
from app.extensions import db
from app.followup.models import ContactLog, OrgEvent, OrgEventAttendance, ThoughtReport
from app.organization.models import Org, Place
from app.settings import DEFAULTS
from app.takeover.models import FiveOneEvidence
from app.timeutil import local_today
from tests.certificates.conftest import pdf_text
from tests.conftest import csrf_token

YEAR = 2026


def _attend(member, branch_id: int, statuses: list[str], year: int = YEAR) -> None:
    for n, status in enumerate(statuses):
        event = OrgEvent(
            org_id=branch_id, kind="branch_meeting", held_on=date(year, 3, n + 1), title="会"
        )
        db.session.add(event)
        db.session.flush()
        db.session.add(
            OrgEventAttendance(
                event_id=event.id, member_id=member.id, held_on=event.held_on, status=status
            )
        )


def _results(member, year=YEAR) -> dict[str, tuple]:
    db.session.commit()
    from app.members.models import Member

    rows = branch_table(member.branch_id, year, Member.id == member.id)
    return {r.indicator.key: (r.value, r.met) for r in rows[0]["results"]}


def test_the_indicator_table_is_the_setting(app):
    table = targets(DEFAULTS["assessment_targets"])
    assert ("attendance_rate", 80) in table["direct"]
    assert ("five_one", 5) in table["takeover"]
    assert ("card_checks", 1) in table["coordinated"]
    changed = targets({**DEFAULTS["assessment_targets"], "direct.attendance_rate": 0})
    assert "attendance_rate" not in dict(changed["direct"])  # 0 leaves it out


# (category set-up, records, indicator -> (value, met))
CASES = [
    ("direct", "3 of 4 present, 1 excused", {"attendance_rate": (75.0, False)}),
    ("direct", "4 of 4 present", {"attendance_rate": (100.0, True), "reports": (0, False)}),
    ("direct", "no org life", {"attendance_rate": (None, False)}),
    ("takeover", "five items confirmed", {"five_one": (5, True)}),
    ("takeover", "two items confirmed", {"five_one": (2, False)}),
    ("coordinated", "contacts and a card check", {"contacts": (4, True), "card_checks": (1, True)}),
    ("coordinated", "no card", {"card_checks": (None, False), "contacts": (0, False)}),
]


@pytest.mark.parametrize(("category", "records", "expected"), CASES, ids=[c[1] for c in CASES])
def test_indicators_come_from_the_records_of_the_year(
    app, tree, make_member, category, records, expected
):
    fields = {"community_id": tree["community"].id, "branch": tree["branch_a"]}
    if category == "takeover":
        fields["employment"] = "laid_off"
    if category == "coordinated":
        fields.update(
            mobility="flow_in",
            mobility_place="甘肃民勤",
            mobility_since=date(2025, 1, 1),
            relation_location="elsewhere",
            relation_org_name="民勤县党委",
        )
    member = make_member(**fields)
    assert member.category == category
    branch = tree["branch_a"].id
    if records == "3 of 4 present, 1 excused":
        _attend(member, branch, ["present", "present", "absent", "present", "excused"])
        _attend(member, branch, ["absent"] * 3, year=YEAR - 1)  # another year does not count
    elif records == "4 of 4 present":
        _attend(member, branch, ["present"] * 4)
    elif records.endswith("items confirmed"):
        items = ["org_life", "report", "skill", "job", "contribution"]
        for item in items[: 5 if records.startswith("five") else 2]:
            db.session.add(
                FiveOneEvidence(
                    member_id=member.id, year=YEAR, item=item, done_on=date(YEAR, 2, 1), note="确认"
                )
            )
    elif records == "contacts and a card check":
        for month in (1, 4, 7, 10):
            db.session.add(
                ContactLog(
                    member_id=member.id,
                    contacted_on=date(YEAR, month, 5),
                    method="phone",
                    summary="联系",
                )
            )
        cert = Certificate(
            number="X-2026-0001",
            serial="s" * 32,
            short_code="ABCDEFGH",
            member_id=member.id,
            issuing_org_name="民勤县党委",
            issued_on=date(2025, 6, 1),
            valid_until=date(2027, 6, 1),
            direction="in",
        )
        db.session.add(cert)
        db.session.flush()
        db.session.add(
            CertificateCheck(
                certificate_id=cert.id, checked_on=date(YEAR, 6, 1), organization="本社区"
            )
        )
    got = _results(member)
    for key, want in expected.items():
        assert got[key] == want, key


def test_the_branch_table_saves_grades_and_exports(app, client, auth, tree, make_member, tmp_path):
    member = make_member(name="考核甲", community_id=tree["community"].id, branch=tree["branch_a"])
    _attend(member, tree["branch_a"].id, ["present", "present"], year=local_today().year)
    db.session.add(
        ThoughtReport(
            member_id=member.id, period=local_today(), submitted_on=local_today(), summary="汇报"
        )
    )
    db.session.commit()
    auth.login_as("admin")
    path = f"/assessment/branches/{tree['branch_a'].id}"
    html = client.get(path).get_data(as_text=True)
    assert "考核甲" in html and "组织生活出席率" in html and "100.0%" in html
    bad = client.post(
        path,
        data={
            "csrf_token": csrf_token(client, path),
            f"grade_{member.id}": "great",
            f"note_{member.id}": "表现突出",
        },
    )
    assert bad.status_code == 422 and "请选择有效的评价" in bad.get_data(as_text=True)
    assert 'value="表现突出"' in bad.get_data(as_text=True)
    ok = client.post(
        path,
        data={
            "csrf_token": csrf_token(client, path),
            f"grade_{member.id}": "good",
            f"note_{member.id}": "表现突出",
        },
    )
    assert ok.status_code == 303
    grade = db.session.execute(select(AssessmentGrade)).scalar_one()
    assert (grade.grade, grade.note, grade.year) == ("good", "表现突出", local_today().year)

    sheet = load_workbook(BytesIO(client.get(path + ".xlsx").data)).active
    values = [[c.value for c in row] for row in sheet.iter_rows()]
    assert values[0][:4] == ["姓名", "类别", "指标", "达标"]
    assert values[1][0] == "考核甲" and values[1][4] == "好" and "组织生活出席率" in values[1][2]
    text = pdf_text(client.get(path + ".pdf").data, tmp_path).replace(" ", "")
    assert "目标考核表" in text and "考核甲" in text
    actions = set(db.session.execute(select(AuditEntry.action)).scalars())
    assert {"assessment_save", "assessment_export", "assessment_print"} <= actions


def test_the_appraisal_form_shows_the_assessment_as_evidence(app, client, auth, tree, make_member):
    member = make_member(name="评议乙", community_id=tree["community"].id, branch=tree["branch_a"])
    _attend(member, tree["branch_a"].id, ["present", "absent"], year=local_today().year)
    db.session.commit()
    auth.login_as("admin")
    html = client.get(f"/followup/appraisal/branches/{tree['branch_a'].id}").get_data(as_text=True)
    assert "目标考核" in html and "未达标：组织生活出席率 50.0%" in html


def test_targets_are_edited_on_the_settings_page(app, client, auth):
    auth.login_as("admin")
    page = client.get("/admin/settings/").get_data(as_text=True)
    assert "直管 · 组织生活出席率（%）" in page


def test_other_branches_are_404(app, client, auth, tree, staff_of):
    other_c = Place(kind="community", name="别的社区", code="C9")
    db.session.add(other_c)
    db.session.flush()
    other = Org(kind="branch", name="外支部")
    db.session.add(other)
    db.session.commit()
    staff = staff_of(org=tree["committee"])
    auth.login(staff.username)
    for suffix in ("", ".xlsx", ".pdf"):
        assert client.get(f"/assessment/branches/{other.id}{suffix}").status_code == 404
    assert (
        client.get(f"/assessment/branches/{tree['group_a'].id}").status_code == 404
    )  # not a branch
    listing = client.get("/assessment/").get_data(as_text=True)
    assert "第一小区党支部" in listing and "外支部" not in listing


def test_care_visits_and_other_org_contacts_count(app, tree, make_member):
    from app.care.models import CareVisit
    from app.mobile.models import MobileContact

    retired = make_member(
        employment="retired", community_id=tree["community"].id, branch=tree["branch_a"]
    )
    assert retired.category == "shared"
    for day in (date(YEAR, 1, 20), date(YEAR, 10, 1), date(YEAR - 1, 6, 1)):
        db.session.add(
            CareVisit(member_id=retired.id, visited_on=day, occasion="birthday", visitors="社区")
        )
    db.session.commit()
    assert _results(retired)["visits_received"] == (2, True)
    mobile = make_member(
        community_id=tree["community"].id,
        branch=tree["branch_a"],
        mobility="flow_in",
        mobility_place="甘肃民勤",
        mobility_since=date(2025, 1, 1),
        relation_location="elsewhere",
        relation_org_name="民勤县党委",
    )
    assert _results(mobile)["other_org_contacts"] == (0, False)
    db.session.add(
        MobileContact(
            member_id=mobile.id,
            contacted_on=date(YEAR, 5, 1),
            direction="out",
            channel="letter",
            org_name="民勤县党委",
            summary="情况反馈",
        )
    )
    assert _results(mobile)["other_org_contacts"] == (1, True)


def test_direct_posts_and_pairs_count_when_they_overlap_the_year(app, tree, make_member):
    from app.direct.models import DutyPost, HelpPair, PostAssignment

    member = make_member(community_id=tree["community"].id, branch=tree["branch_a"])
    assert _results(member)["post_held"] == (0, False)
    post = DutyPost(community_id=tree["community"].id, name="民间纠纷调解员", duties="调解")
    db.session.add(post)
    db.session.flush()
    db.session.add_all(
        [
            PostAssignment(
                member_id=member.id,
                post_id=post.id,
                starts_on=date(YEAR - 2, 1, 1),
                ends_on=date(YEAR - 1, 12, 31),
                serial="s-old",
            ),  # ended before the year
            PostAssignment(
                member_id=member.id,
                post_id=post.id,
                starts_on=date(YEAR, 3, 1),
                status="refused",
                serial="s-refused",
            ),
        ]
    )
    assert _results(member)["post_held"] == (0, False)
    db.session.add(
        PostAssignment(
            member_id=member.id, post_id=post.id, starts_on=date(YEAR, 3, 1), serial="s-now"
        )
    )
    db.session.add(
        HelpPair(
            member_id=member.id,
            helped_name="王大妈",
            building_id=tree["building_a"].id,
            need_kind="elderly_alone",
            starts_on=date(YEAR - 1, 5, 1),
        )
    )
    got = _results(member)
    assert got["post_held"] == (1, True) and got["pairs_active"] == (1, True)


def test_dual_hours_count_only_confirmed_and_returned_sheets(app, tree, make_member):
    from app.dual.models import FeedbackSheet, Service

    member = make_member(
        community_id=tree["community"].id,
        branch=tree["branch_a"],
        employment="in_service",
        relation_location="work_unit",
        work_unit="市第一中学",
    )
    assert member.category == "dual"
    for minutes, status in ((600, "confirmed"), (180, "confirmed"), (600, "pending")):
        db.session.add(
            Service(
                member_id=member.id,
                served_on=date(YEAR, 4, 1),
                minutes=minutes,
                content="服务",
                source="staff",
                status=status,
            )
        )
    db.session.add(
        FeedbackSheet(
            member_id=member.id,
            period_key=f"{YEAR}H1",
            period_start=date(YEAR, 1, 1),
            period_end=date(YEAR, 6, 30),
            status="sent",
        )
    )
    got = _results(member)
    assert got["service_hours"] == (13.0, True) and got["feedback_returned"] == (0, False)
