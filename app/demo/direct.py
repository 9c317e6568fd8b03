"""Demo 直管 data: the seed's five posts in every community, resident members holding posts
over a 责任区, 结对帮扶 pairs with visits, and last year's 争五好 reviews.

Deterministic (a function of the member id); bulk inserts with explicit ids. Called once from
``app.demo.generate.generate`` after the members are written.
"""

from __future__ import annotations

import secrets
from datetime import timedelta
from typing import TYPE_CHECKING

from sqlalchemy import func, select

from app.demo.common import bulk_insert
from app.direct.models import (
    FIVE_GOOD_ITEMS,
    NEED_KINDS,
    SEED_POSTS,
    DutyPost,
    FiveGoodReview,
    HelpPair,
    HelpVisit,
    PostArea,
    PostAssignment,
)
from app.extensions import db

if TYPE_CHECKING:
    from app.demo.generate import Generator

HELPED_SURNAMES = "刘陈杨赵黄周吴徐孙马朱胡郭何高林罗郑梁谢"
HELPED_GIVEN = ("秀英", "桂兰", "玉珍", "德明", "建华", "小宇", "淑芬", "国庆", "凤英", "子涵")
VISIT_TEXTS = (
    "上门看望，了解生活近况，帮忙打扫卫生。",
    "陪同到社区卫生服务站量血压、取药。",
    "代购米面油等生活用品，检查燃气和用电安全。",
    "协助办理临时救助申请材料，送到社区。",
    "辅导孩子作业，和家长电话沟通学习情况。",
)
ASSESSMENTS = ("excellent", "good", "good", "good", "fair")


def _next_id(model) -> int:  # noqa: ANN001
    return (db.session.scalar(select(func.max(model.id))) or 0) + 1


def build_direct(gen: Generator, staff_user_id: int | None) -> dict[str, int]:
    from app.demo.generate import sync_sequences

    today = gen.today
    post_id = _next_id(DutyPost)
    posts: dict[int, list[int]] = {}
    post_rows = []
    for community in gen.communities:
        posts[community.place_id] = []
        for position, (name, duties) in enumerate(SEED_POSTS, start=1):
            post_rows.append(
                {
                    "id": post_id,
                    "community_id": community.place_id,
                    "name": name,
                    "duties": duties,
                    "position": position,
                    "created_by_id": staff_user_id,
                }
            )
            posts[community.place_id].append(post_id)
            post_id += 1
    bulk_insert(DutyPost, post_rows)

    buildings_of: dict[int, list[int]] = {
        c.place_id: [b.id for b in c.buildings] for c in gen.communities
    }
    demo_member = gen.demo_member_row()["id"]
    residents = [
        r
        for r in gen.member_rows
        if r["status"] == "active"
        and (r["category"] == "direct" or r["id"] == demo_member)
        and r["building_id"]
        and r["community_id"] in posts
    ]
    assignment_id, pair_id = _next_id(PostAssignment), _next_id(HelpPair)
    assignments, areas, pairs, visits, reviews = [], [], [], [], []
    for r in residents:
        mid = r["id"]
        community = r["community_id"]
        if mid % 6 == 0 or mid == demo_member:
            requested = mid % 60 == 0 and mid != demo_member
            starts = today - timedelta(days=30 + mid % 700)
            ends = None if mid % 3 else starts + timedelta(days=730)
            if ends is not None and ends < today - timedelta(days=200):
                ends = today + timedelta(days=mid % 45)  # some end within the month
            assignments.append(
                {
                    "id": assignment_id,
                    "member_id": mid,
                    "post_id": posts[community][mid % len(SEED_POSTS)],
                    "starts_on": starts,
                    "ends_on": ends,
                    "status": "requested" if requested else "active",
                    "serial": secrets.token_hex(16),
                    "note": None,
                    "decided_by_id": None if requested else staff_user_id,
                    "refuse_reason": None,
                    "created_by_id": staff_user_id,
                }
            )
            area = {r["building_id"]}
            neighbours = buildings_of[community]
            if mid % 4 == 0 and len(neighbours) > 1:
                area.add(neighbours[(neighbours.index(r["building_id"]) + 1) % len(neighbours)])
            areas += [{"assignment_id": assignment_id, "building_id": b} for b in sorted(area)]
            assignment_id += 1
        if mid % 20 == 0 or mid == demo_member:
            kind = list(NEED_KINDS)[mid % len(NEED_KINDS)]
            starts = today - timedelta(days=60 + mid % 400)
            n_visits = 0 if mid % 7 == 0 else 2 + mid % 3
            last = None
            for n in range(n_visits):
                day = today - timedelta(days=5 + n * 23 + mid % 11)
                if day < starts:
                    break
                visits.append(
                    {
                        "pair_id": pair_id,
                        "visited_on": day,
                        "content": VISIT_TEXTS[(mid + n) % len(VISIT_TEXTS)],
                        "visitor": r["name"],
                        "recorded_by_id": staff_user_id,
                    }
                )
                last = max(last, day) if last else day
            pairs.append(
                {
                    "id": pair_id,
                    "member_id": mid,
                    "helped_name": HELPED_SURNAMES[mid % len(HELPED_SURNAMES)]
                    + HELPED_GIVEN[(mid // 7) % len(HELPED_GIVEN)],
                    "helped_phone": gen.mobile() if mid % 3 else None,
                    "building_id": r["building_id"],
                    "room": f"{1 + mid % 3}单元{1 + mid % 6}0{1 + mid % 2}",
                    "need_kind": kind,
                    "need_note": None,
                    "starts_on": starts,
                    "ends_on": None,
                    "last_visit_on": last,
                    "created_by_id": staff_user_id,
                }
            )
            pair_id += 1
        if mid % 5 == 0 or mid == demo_member:
            review = {
                "member_id": mid,
                "year": today.year - 1,
                "assessment": ASSESSMENTS[mid % len(ASSESSMENTS)],
                "note": None,
                "recorded_by_id": staff_user_id,
            }
            for n, key in enumerate(FIVE_GOOD_ITEMS):
                review[key] = (mid + n) % 4 != 0
            reviews.append(review)
    bulk_insert(PostAssignment, assignments)
    bulk_insert(PostArea, areas)
    bulk_insert(HelpPair, pairs)
    bulk_insert(HelpVisit, visits)
    bulk_insert(FiveGoodReview, reviews)
    sync_sequences([DutyPost, PostAssignment, HelpPair])
    gen.progress(
        f"直管：岗位 {len(post_rows)} 个，责任岗位 {len(assignments)} 个，"
        f"结对帮扶 {len(pairs)} 对（走访 {len(visits)} 次），争五好评议 {len(reviews)} 份"
    )
    return {"责任岗位": len(assignments), "结对帮扶": len(pairs)}
