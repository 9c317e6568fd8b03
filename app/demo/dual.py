"""Demo 双管 data: each community's needs and posts, claims by its in-service members, service
records with hours (most confirmed, some waiting), and feedback sheets for the last period
(some sent, some returned). Set-based (bulk inserts), so reference-size seeding stays fast."""

from __future__ import annotations

import random
from datetime import timedelta

from sqlalchemy import select

from app.demo.common import bulk_insert
from app.dual.models import Claim, FeedbackSheet, Need, Service
from app.dual.queries import previous_period
from app.extensions import db
from app.members.models import Member

NEEDS = (
    ("post", "楼道环境卫生监督岗", "本小区各楼栋", "每周六 9:00-11:00", 6, None),
    ("post", "政策宣传员", "社区党群服务中心", None, 4, "宣讲、写作"),
    ("need", "老年人智能手机教学", "社区活动室", "每月第二个周日下午", 3, "熟悉手机操作"),
    ("need", "义务法律咨询", "社区党群服务中心", "每月 15 日上午", 2, "法律"),
    ("activity", "“共驻共建”志愿服务日", "社区广场", "本月最后一个周六", 20, None),
)


def build_dual(gen, staff_user_id: int | None) -> None:  # noqa: ANN001
    today = gen.today
    rng = random.Random(26)
    need_rows = [
        {
            "community_id": c.place_id,
            "kind": kind,
            "title": title,
            "place": place,
            "slots": slots,
            "starts_on": today - timedelta(days=120),
            "ends_on": None,
            "places": places,
            "claimed": 0,
            "skills": skills,
            "description": None,
            "status": "open",
            "created_by_id": staff_user_id,
        }
        for c in gen.communities
        for kind, title, place, slots, places, skills in NEEDS
    ]
    bulk_insert(Need, need_rows)
    needs: dict[int, list] = {}
    for row in db.session.execute(select(Need.id, Need.community_id, Need.places, Need.title)):
        needs.setdefault(row.community_id, []).append(row)
    members = db.session.execute(
        select(Member.id, Member.community_id, Member.work_unit).where(
            Member.category == "dual", Member.status == "active"
        )
    ).all()
    taken: dict[int, int] = {}
    claims, services = [], []
    period = previous_period()
    for m in members:
        options = needs.get(m.community_id) or []
        if not options or rng.random() < 0.3:
            continue
        need = rng.choice(options)
        if taken.get(need.id, 0) < need.places:
            taken[need.id] = taken.get(need.id, 0) + 1
            claims.append({"need_id": need.id, "member_id": m.id, "status": "claimed"})
        for n in range(rng.randint(1, 3)):
            served = today - timedelta(days=rng.randint(1, 300))
            services.append(
                {
                    "member_id": m.id,
                    "need_id": need.id,
                    "served_on": served,
                    "minutes": rng.choice((60, 90, 120, 180)),
                    "content": need.title,
                    "source": "staff" if n else "member",
                    "status": "pending" if rng.random() < 0.15 else "confirmed",
                    "created_by_id": staff_user_id,
                }
            )
    bulk_insert(Claim, claims)
    for need_id, count in taken.items():
        db.session.execute(Need.__table__.update().where(Need.id == need_id).values(claimed=count))
    bulk_insert(Service, services)
    sheets = []
    for m in members[: max(len(members) // 3, 1)]:
        returned = rng.random() < 0.5
        sent_on = period.end + timedelta(days=rng.randint(5, 20))
        if sent_on > today:
            continue
        sheets.append(
            {
                "version": 1,
                "member_id": m.id,
                "period_key": period.key,
                "period_start": period.start,
                "period_end": period.end,
                "employer": m.work_unit,
                "rating": rng.choice(("excellent", "good", "good", "fair")),
                "comment": None,
                "status": "returned" if returned else "sent",
                "sent_on": sent_on,
                "sent_via": "post",
                "returned_on": min(sent_on + timedelta(days=10), today) if returned else None,
                "employer_note": "已收悉，纳入年度考核" if returned else None,
            }
        )
    bulk_insert(FeedbackSheet, sheets)
