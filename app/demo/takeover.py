"""Demo 接管 data: job leads per community, training records, referrals (some answered) and a
few staff confirmations of the 五个一, so the board and the member pages have content.

Deterministic: every choice is a function of the member id. Called once from
``app.demo.generate.generate`` after the follow-up data.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import TYPE_CHECKING

from app.demo.common import bulk_insert
from app.takeover.models import FiveOneEvidence, JobLead, JobReferral, TrainingRecord

if TYPE_CHECKING:
    from app.demo.generate import Generator

LEADS = [
    ("金川物业服务有限公司", "保安员", "王经理 0935-8221001"),
    ("市家政服务中心", "养老护理员", "李老师 0935-8221002"),
    ("惠民超市", "理货员", "张店长 0935-8221003"),
    ("市公交公司", "调度员", "赵科长 0935-8221004"),
]
COURSES = [
    ("养老护理", "市就业培训中心", "养老护理员（初级）"),
    ("家电维修", "市职业技术学校", None),
    ("电子商务", "社区再就业培训学校", "结业证书"),
    ("中式烹调", "市就业培训中心", "中式烹调师（五级）"),
]
OUTCOMES = ("pending", "declined", "rejected")


def build_takeover(gen: Generator, staff_user_id: int | None) -> None:
    today = gen.today
    lead_rows = []
    for c in gen.communities:
        for n, (employer, post, contact) in enumerate(LEADS):
            lead_rows.append(
                {
                    "community_id": c.place_id,
                    "employer": employer,
                    "post": post,
                    "contact": contact,
                    "valid_until": today + timedelta(days=15 + 20 * n),
                    "notes": None,
                    "created_by_id": staff_user_id,
                }
            )
    bulk_insert(JobLead, lead_rows)
    members = [
        m for m in gen.member_rows if m["category"] == "takeover" and m["status"] == "active"
    ]
    trainings, referrals, evidence = [], [], []
    for m in members:
        mid = m["id"]
        if mid % 3 == 0:
            course, provider, certificate = COURSES[mid % len(COURSES)]
            started = today - timedelta(days=20 + mid % 200)
            trainings.append(
                {
                    "member_id": mid,
                    "course": course,
                    "provider": provider,
                    "started_on": started,
                    "ended_on": started + timedelta(days=30) if mid % 2 else None,
                    "certificate": certificate if mid % 2 else None,
                    "recorded_by_id": staff_user_id,
                }
            )
        if mid % 4 == 1:
            employer, post, _contact = LEADS[mid % len(LEADS)]
            referred = today - timedelta(days=5 + mid % 60)
            outcome = OUTCOMES[mid % len(OUTCOMES)]
            referrals.append(
                {
                    "member_id": mid,
                    "job_lead_id": None,
                    "employer": employer,
                    "post": post,
                    "referred_on": referred,
                    "outcome": outcome,
                    "outcome_on": None if outcome == "pending" else referred + timedelta(days=3),
                    "note": None,
                    "recorded_by_id": staff_user_id,
                }
            )
        if mid % 5 == 2:
            evidence.append(
                {
                    "member_id": mid,
                    "year": today.year,
                    "item": "contribution",
                    "done_on": max(date(today.year, 1, 1), today - timedelta(days=mid % 90)),
                    "note": "参加楼道清扫和垃圾分类宣传",
                    "recorded_by_id": staff_user_id,
                }
            )
    bulk_insert(TrainingRecord, trainings)
    bulk_insert(JobReferral, referrals)
    bulk_insert(FiveOneEvidence, evidence)
    gen.progress(
        f"岗位信息 {len(lead_rows)} 条、培训 {len(trainings)} 条、推荐 {len(referrals)} 条已写入"
    )
