"""接管: the 五个一 ticked from the records (or staff evidence), referrals whose 已录用 re-classifies
the member through the normal member update, job leads, the 责任书, scope."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import select

from app.audit.models import AuditEntry
from app.extensions import db
from app.followup.models import OrgEvent, OrgEventAttendance, ThoughtReport
from app.members.models import MemberHistory
from app.organization.models import Place
from app.takeover import rules
from app.takeover.models import FiveOneEvidence, JobLead, JobReferral, TrainingRecord
from app.timeutil import local_today
from tests.certificates.conftest import pdf_text
from tests.conftest import csrf_token

YEAR = 2026


def _event(org_id: int, kind: str, held_on: date) -> OrgEvent:
    event = OrgEvent(org_id=org_id, kind=kind, held_on=held_on, title="活动")
    db.session.add(event)
    db.session.flush()
    return event


def _attend(member, event: OrgEvent, status: str = "present") -> None:
    db.session.add(
        OrgEventAttendance(
            event_id=event.id, member_id=member.id, held_on=event.held_on, status=status
        )
    )


def _service(member, day: date, confirmed: bool) -> None:
    from app.dual.models import Service

    db.session.add(
        Service(
            member_id=member.id,
            served_on=day,
            minutes=90,
            content="楼道清扫",
            source="member",
            status="confirmed" if confirmed else "pending",
        )
    )


def _hired(member, day: date, hired: bool = True) -> None:
    db.session.add(
        JobReferral(
            member_id=member.id,
            employer="物业公司",
            post="保安",
            referred_on=day,
            outcome="hired" if hired else "pending",
            outcome_on=day if hired else None,
        )
    )


# (what is recorded, which items it ticks in YEAR)
CASES = [
    ("nothing", set()),
    ("present at a branch meeting", {"org_life"}),
    ("absent from a branch meeting", set()),
    ("present at a branch meeting last year", set()),
    ("present at volunteering", {"contribution"}),
    ("thought report", {"report"}),
    ("training that ended this year", {"skill"}),
    ("referral still pending", set()),
    ("referral hired", {"job"}),
    ("staff evidence for skill", {"skill"}),
    ("community service confirmed", {"contribution"}),
    ("community service not yet confirmed", set()),
]


@pytest.mark.parametrize(("case", "ticked"), CASES, ids=[c for c, _ in CASES])
def test_five_one_items_are_ticked_by_their_records(app, tree, make_member, case, ticked):
    member = make_member(employment="laid_off", community_id=tree["community"].id)
    branch = tree["branch_a"].id
    day = date(YEAR, 5, 10)
    if case == "present at a branch meeting":
        _attend(member, _event(branch, "branch_meeting", day))
    elif case == "absent from a branch meeting":
        _attend(member, _event(branch, "branch_meeting", day), status="absent")
    elif case == "present at a branch meeting last year":
        _attend(member, _event(branch, "branch_meeting", date(YEAR - 1, 12, 30)))
    elif case == "present at volunteering":
        _attend(member, _event(branch, "volunteer", day))
    elif case == "thought report":
        db.session.add(
            ThoughtReport(member_id=member.id, period=day, submitted_on=day, summary="汇报")
        )
    elif case == "training that ended this year":
        db.session.add(
            TrainingRecord(
                member_id=member.id,
                course="家政服务",
                provider="就业培训中心",
                started_on=date(YEAR - 1, 11, 1),
                ended_on=date(YEAR, 1, 20),
            )
        )
    elif case.startswith("referral"):
        _hired(member, day, hired=case.endswith("hired"))
    elif case.startswith("community service"):
        _service(member, day, confirmed="not yet" not in case)
    elif case == "staff evidence for skill":
        db.session.add(
            FiveOneEvidence(
                member_id=member.id, year=YEAR, item="skill", done_on=day, note="学会电工"
            )
        )
    db.session.commit()
    status = rules.five_one([member.id], YEAR)[member.id]
    assert {item for item, how in status.items() if how} == ticked
    if case == "staff evidence for skill":
        assert status["skill"] == "工作人员确认"


def _post(client, path, **data):
    return client.post(path, data={"csrf_token": csrf_token(client, "/home"), **data})


def test_the_board_fills_as_the_member_trains_and_is_hired(app, client, auth, tree, make_member):
    member = make_member(
        name="下岗甲",
        employment="laid_off",
        community_id=tree["community"].id,
        branch=tree["branch_a"],
    )
    assert member.category == "takeover"
    auth.login_as("admin")
    board = client.get("/takeover/?gaps=1").get_data(as_text=True)
    assert "下岗甲" in board and board.count("未完成") >= 5

    today = local_today().isoformat()
    response = _post(
        client,
        f"/takeover/member/{member.id}/training",
        course="养老护理",
        provider="市就业培训中心",
        started_on=today,
    )
    assert response.status_code == 303
    lead = JobLead(
        community_id=tree["community"].id,
        employer="市第一中学",
        post="后勤",
        contact="王老师 0935-1234567",
        valid_until=local_today() + timedelta(days=30),
    )
    db.session.add(lead)
    db.session.commit()
    page = client.get(f"/takeover/member/{member.id}").get_data(as_text=True)
    assert "市第一中学 · 后勤" in page  # the community's valid lead is offered
    assert (
        _post(
            client,
            f"/takeover/member/{member.id}/referral",
            job_lead_id=str(lead.id),
            referred_on=today,
        ).status_code
        == 303
    )
    referral = db.session.execute(select(JobReferral)).scalar_one()
    assert referral.employer == "市第一中学" and referral.job_lead_id == lead.id

    # 已录用 with the relation moving to the school's party organization: 双管, with history.
    prefix = f"r{referral.id}-"
    missing_org = _post(
        client,
        f"/takeover/referrals/{referral.id}/outcome",
        **{
            prefix + "outcome": "hired",
            prefix + "outcome_on": today,
            prefix + "relation_moves": "y",
        },
    )
    assert missing_org.status_code == 422
    assert "请填写单位党组织" in missing_org.get_data(as_text=True)
    done = _post(
        client,
        f"/takeover/referrals/{referral.id}/outcome",
        **{
            prefix + "outcome": "hired",
            prefix + "outcome_on": today,
            prefix + "relation_moves": "y",
            prefix + "work_unit_org": "市第一中学党支部",
        },
    )
    assert done.status_code == 303
    db.session.expire_all()
    assert member.employment == "in_service" and member.work_unit == "市第一中学"
    assert member.category == "dual"
    history = db.session.execute(
        select(MemberHistory).where(
            MemberHistory.member_id == member.id, MemberHistory.aspect == "category"
        )
    ).scalars()
    assert {h.value["category"] for h in history} == {"takeover", "dual"}
    status = rules.five_one([member.id], local_today().year)[member.id]
    assert status["skill"] and status["job"] and not status["report"]
    actions = set(db.session.execute(select(AuditEntry.action)).scalars())
    assert {"training_add", "job_referral_add", "job_referral_outcome"} <= actions


def test_hired_without_moving_the_relation_becomes_direct(app, client, auth, tree, make_member):
    member = make_member(employment="unemployed_graduate", community_id=tree["community"].id)
    auth.login_as("admin")
    today = local_today().isoformat()
    _post(
        client,
        f"/takeover/member/{member.id}/referral",
        employer="超市",
        post="收银",
        referred_on=today,
    )
    referral = db.session.execute(select(JobReferral)).scalar_one()
    prefix = f"r{referral.id}-"
    response = _post(
        client,
        f"/takeover/referrals/{referral.id}/outcome",
        **{prefix + "outcome": "hired", prefix + "outcome_on": today},
    )
    assert response.status_code == 303
    db.session.expire_all()
    assert member.category == "direct"


def test_bad_input_is_answered_next_to_the_field(app, client, auth, tree, make_member):
    member = make_member(employment="laid_off", community_id=tree["community"].id)
    auth.login_as("admin")
    future = (local_today() + timedelta(days=3)).isoformat()
    r = _post(
        client,
        f"/takeover/member/{member.id}/training",
        course="电工",
        provider="技校",
        started_on=future,
    )
    html = r.get_data(as_text=True)
    assert r.status_code == 422 and "开始日期不能晚于今天" in html and 'value="电工"' in html
    r = _post(
        client, f"/takeover/member/{member.id}/referral", referred_on=local_today().isoformat()
    )
    assert r.status_code == 422 and "请选择岗位信息，或填写用人单位" in r.get_data(as_text=True)
    today = local_today().isoformat()
    ok = _post(
        client,
        f"/takeover/member/{member.id}/evidence",
        item="contribution",
        done_on=today,
        note="清扫楼道",
    )
    assert ok.status_code == 303
    again = _post(
        client,
        f"/takeover/member/{member.id}/evidence",
        item="contribution",
        done_on=today,
        note="又一次",
    )
    assert again.status_code == 422 and "已经确认过" in again.get_data(as_text=True)


def test_job_leads_are_published_per_community_and_listed_in_scope(
    app, client, auth, tree, make_member, staff_of
):
    other = Place(kind="community", name="别的社区", code="C9")
    db.session.add(other)
    db.session.flush()
    db.session.add(
        JobLead(
            community_id=other.id,
            employer="外社区单位",
            post="门卫",
            contact="张",
            valid_until=local_today() + timedelta(days=5),
        )
    )
    db.session.commit()
    staff = staff_of(org=tree["committee"])
    auth.login(staff.username)
    until = (local_today() + timedelta(days=20)).isoformat()
    r = _post(
        client,
        "/takeover/jobs/new",
        community_id=str(other.id),
        employer="越权单位",
        post="保洁",
        contact="李",
        valid_until=until,
    )
    assert r.status_code == 422 and "请选择社区" in r.get_data(as_text=True)
    r = _post(
        client,
        "/takeover/jobs/new",
        community_id=str(tree["community"].id),
        employer="金川物业",
        post="保洁",
        contact="李 13900000000",
        valid_until=until,
    )
    assert r.status_code == 303
    html = client.get("/takeover/jobs").get_data(as_text=True)
    assert "金川物业" in html and "外社区单位" not in html


def test_other_communities_members_are_404(app, client, auth, tree, make_member, staff_of):
    other = Place(kind="community", name="别的社区", code="C9")
    db.session.add(other)
    db.session.flush()
    stranger = make_member(name="外社区丙", employment="laid_off", community_id=other.id)
    referral = JobReferral(
        member_id=stranger.id, employer="某", post="某", referred_on=local_today()
    )
    db.session.add(referral)
    db.session.commit()
    staff = staff_of(org=tree["committee"])
    auth.login(staff.username)
    assert client.get(f"/takeover/member/{stranger.id}").status_code == 404
    assert client.get(f"/takeover/member/{stranger.id}/pledge.pdf").status_code == 404
    today = local_today().isoformat()
    assert (
        _post(
            client,
            f"/takeover/member/{stranger.id}/training",
            course="x",
            provider="y",
            started_on=today,
        ).status_code
        == 404
    )
    assert _post(client, f"/takeover/referrals/{referral.id}/outcome").status_code == 404
    assert "外社区丙" not in client.get("/takeover/").get_data(as_text=True)


def test_the_pledge_prints_the_member_and_the_five_items(
    app, client, auth, tree, make_member, tmp_path
):
    member = make_member(
        name="责任乙",
        employment="laid_off",
        community_id=tree["community"].id,
        original_unit="金川公司",
    )
    auth.login_as("admin")
    response = client.get(f"/takeover/member/{member.id}/pledge.pdf")
    assert response.status_code == 200
    text = pdf_text(response.data, tmp_path).replace(" ", "")
    assert "下岗失业党员责任书" in text and "责任乙" in text and "金川公司" in text
    assert "找一个合适岗位" in text
    assert db.session.execute(
        select(AuditEntry).where(AuditEntry.action == "document_print")
    ).first()


def test_year_end_reminder_counts_members_with_open_items(app, tree, make_member, staff_of):
    from datetime import datetime

    from app.takeover.routes import gaps_count
    from app.timeutil import freeze

    done = make_member(employment="laid_off", community_id=tree["community"].id)
    make_member(employment="laid_off", community_id=tree["community"].id)
    for item in ("org_life", "report", "skill", "job", "contribution"):
        db.session.add(
            FiveOneEvidence(
                member_id=done.id, year=2026, item=item, done_on=date(2026, 3, 1), note="确认"
            )
        )
    db.session.commit()
    staff = staff_of(org=tree["committee"])
    with freeze(datetime(2026, 6, 1, 4, 0)):
        assert gaps_count(staff) == 0  # not yet the end of the year
    with freeze(datetime(2026, 11, 20, 4, 0)):
        assert gaps_count(staff) == 1


def test_open_items_in_one_statement_agree_with_the_board(app, tree, make_member):
    """``open_items_clause`` (the year-end reminder's count) reads the same records and evidence
    as ``five_one`` (the board): members complete by records, by records and evidence, and one
    short of a confirmed service."""
    branch = tree["branch_a"].id
    day = date(YEAR, 5, 10)
    meeting = _event(branch, "branch_meeting", day)
    volunteering = _event(branch, "volunteer", day)
    members = [
        make_member(employment="laid_off", community_id=tree["community"].id) for _ in range(4)
    ]
    for member in members[:3]:
        _attend(member, meeting)
        db.session.add(
            ThoughtReport(member_id=member.id, period=day, submitted_on=day, summary="汇报")
        )
        db.session.add(
            TrainingRecord(member_id=member.id, course="电工", provider="中心", started_on=day)
        )
    by_records, by_evidence, short = members[:3]
    for member in (by_records, short):
        _hired(member, day)
    db.session.add(
        FiveOneEvidence(member_id=by_evidence.id, year=YEAR, item="job", done_on=day, note="自主")
    )
    _attend(by_records, volunteering)
    _attend(by_evidence, volunteering)
    _service(short, day, confirmed=False)
    db.session.commit()
    from app.members.models import Member

    ids = [m.id for m in members]
    scope = select(Member.id).where(Member.id.in_(ids))
    found = set(
        db.session.execute(
            select(Member.id).where(Member.id.in_(ids), rules.open_items_clause(scope, YEAR))
        ).scalars()
    )
    board = {i for i, items in rules.five_one(ids, YEAR).items() if rules.missing_items(items)}
    assert found == board == {short.id, members[3].id}
