"""Services of the 直管 practice: they change state, ``flush``, audit, and raise DomainError;
the request commits (app/uow.py)."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import date
from typing import Any

from itsdangerous import BadSignature
from sqlalchemy import delete, select

from app import audit
from app.certificates.signing import _signer
from app.direct import rules
from app.direct.models import (
    FIVE_GOOD_ASSESSMENTS,
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
from app.errors import Conflict, DomainError
from app.extensions import db
from app.members.management import MANAGED_STATUSES
from app.members.models import Member
from app.organization.models import Place
from app.timeutil import local_today

SERIAL_PREFIX = "duty:"  # keeps 责任卡 tokens apart from certificate tokens (same signer)


# ---- places -----------------------------------------------------------------------------------


def community_buildings_select(community_id: int):
    grids = select(Place.id).where(Place.parent_id == community_id, Place.kind == "grid")
    return select(Place.id).where(
        Place.kind == "building", Place.parent_id.in_(grids), Place.retired_at.is_(None)
    )


def community_buildings(community_id: int | None) -> list[Place]:
    if community_id is None:
        return []
    return list(
        db.session.execute(
            select(Place)
            .where(Place.id.in_(community_buildings_select(community_id)))
            .order_by(Place.parent_id, Place.position, Place.id)
        ).scalars()
    )


def _check_member(member: Member) -> None:
    if member.community_id is None:
        raise DomainError("该党员还没有登记所在社区和楼栋，请先调整分配")
    if member.status not in MANAGED_STATUSES:
        raise DomainError("该党员已不在本社区管理，不能设岗或结对")


# ---- posts ------------------------------------------------------------------------------------


def ensure_seed_posts(community_id: int, user: Any = None) -> int:
    """The seed's five posts for a community that has none yet; returns how many were added."""
    exists = db.session.scalar(
        select(DutyPost.id).where(DutyPost.community_id == community_id).limit(1)
    )
    if exists:
        return 0
    for position, (name, duties) in enumerate(SEED_POSTS, start=1):
        db.session.add(
            DutyPost(
                community_id=community_id,
                name=name,
                duties=duties,
                position=position,
                created_by_id=getattr(user, "id", None),
            )
        )
    db.session.flush()
    return len(SEED_POSTS)


def _name_taken(community_id: int, name: str, post_id: int | None = None) -> bool:
    stmt = select(DutyPost.id).where(DutyPost.community_id == community_id, DutyPost.name == name)
    if post_id is not None:
        stmt = stmt.where(DutyPost.id != post_id)
    return db.session.scalar(stmt.limit(1)) is not None


def create_post(community_id: int, name: str, duties: str, user: Any) -> DutyPost:
    name, duties = (name or "").strip(), (duties or "").strip()
    if _name_taken(community_id, name):
        raise DomainError({"name": "本社区已有同名岗位"})
    position = db.session.scalar(
        select(DutyPost.position)
        .where(DutyPost.community_id == community_id)
        .order_by(DutyPost.position.desc())
        .limit(1)
    )
    post = DutyPost(
        community_id=community_id,
        name=name,
        duties=duties,
        position=(position or 0) + 1,
        created_by_id=user.id,
    )
    db.session.add(post)
    db.session.flush()
    audit.record("direct_post_create", post, after={"name": name, "duties": duties})
    return post


def update_post(post: DutyPost, name: str, duties: str, retired: bool, user: Any) -> None:
    from app.timeutil import utcnow

    name, duties = (name or "").strip(), (duties or "").strip()
    if _name_taken(post.community_id, name, post.id):
        raise DomainError({"name": "本社区已有同名岗位"})
    before = {"name": post.name, "duties": post.duties, "retired": post.retired_at is not None}
    post.name, post.duties = name, duties
    if retired and post.retired_at is None:
        post.retired_at = utcnow()
    elif not retired:
        post.retired_at = None
    db.session.flush()
    after = {"name": name, "duties": duties, "retired": retired}
    if before != after:
        audit.record("direct_post_update", post, before=before, after=after)


# ---- member posts -----------------------------------------------------------------------------


def new_serial() -> str:
    return secrets.token_hex(16)


def _validate_assignment(
    member: Member,
    post_id: int | None,
    starts_on: date | None,
    ends_on: date | None,
    building_ids: list[int],
    skip_id: int | None = None,
) -> DutyPost:
    _check_member(member)
    errors = rules.period_errors(starts_on, ends_on)
    post = db.session.get(DutyPost, post_id) if post_id else None
    if post is None or post.community_id != member.community_id or post.retired_at is not None:
        errors["post_id"] = "请选择本社区的岗位"
    allowed = set(db.session.execute(community_buildings_select(member.community_id)).scalars())
    errors.update(rules.area_errors(building_ids, allowed))
    if errors:
        raise DomainError(errors)
    others = db.session.execute(
        select(PostAssignment.starts_on, PostAssignment.ends_on).where(
            PostAssignment.member_id == member.id,
            PostAssignment.post_id == post.id,
            PostAssignment.status.in_(("active", "requested")),
            PostAssignment.id != (skip_id or 0),
        )
    ).all()
    if any(rules.overlaps(starts_on, ends_on, s, e) for s, e in others):
        raise DomainError({"starts_on": "该党员在这段时间已担任（或已申请）这个岗位"})
    return post


def _set_area(assignment: PostAssignment, building_ids: list[int]) -> None:
    db.session.execute(delete(PostArea).where(PostArea.assignment_id == assignment.id))
    for building_id in sorted(set(building_ids)):
        db.session.add(PostArea(assignment_id=assignment.id, building_id=building_id))
    db.session.flush()


def assign_post(
    member: Member,
    user: Any,
    *,
    post_id: int | None,
    starts_on: date | None,
    ends_on: date | None,
    building_ids: list[int],
    note: str | None = None,
    requested: bool = False,
) -> PostAssignment:
    """Staff assign a post (active at once), or the member requests one (待审核)."""
    post = _validate_assignment(member, post_id, starts_on, ends_on, building_ids)
    assignment = PostAssignment(
        member_id=member.id,
        post_id=post.id,
        starts_on=starts_on,
        ends_on=ends_on,
        status="requested" if requested else "active",
        serial=new_serial(),
        note=(note or "").strip() or None,
        created_by_id=user.id,
        decided_by_id=None if requested else user.id,
    )
    db.session.add(assignment)
    db.session.flush()
    _set_area(assignment, building_ids)
    audit.record(
        "direct_post_request" if requested else "direct_post_assign",
        assignment,
        after={
            "member_id": member.id,
            "post": post.name,
            "starts_on": starts_on,
            "ends_on": ends_on,
            "buildings": sorted(set(building_ids)),
        },
    )
    return assignment


def decide(assignment: PostAssignment, action: str, reason: str | None, user: Any) -> None:
    """Approve or refuse a member's request (reason required to refuse)."""
    if assignment.status != "requested":
        raise Conflict("这条申请已经处理过了，请刷新页面")
    reason = (reason or "").strip()
    if action == "refuse":
        if not reason:
            raise DomainError({"reason": "不通过时请写明理由，理由会显示给党员"})
        assignment.status, assignment.refuse_reason = "refused", reason[:200]
    elif action == "approve":
        member = db.session.get(Member, assignment.member_id)
        buildings = list(
            db.session.execute(
                select(PostArea.building_id).where(PostArea.assignment_id == assignment.id)
            ).scalars()
        )
        _validate_assignment(
            member,
            assignment.post_id,
            assignment.starts_on,
            assignment.ends_on,
            buildings,
            skip_id=assignment.id,
        )
        assignment.status = "active"
    else:
        raise DomainError({"action": "请选择通过或不通过"})
    assignment.decided_by_id = user.id
    db.session.flush()
    audit.record(
        "direct_post_approve" if action == "approve" else "direct_post_refuse",
        assignment,
        before={"status": "requested"},
        after={"status": assignment.status, "reason": reason or None},
    )


def end_assignment(assignment: PostAssignment, ends_on: date | None, user: Any) -> None:
    if assignment.status != "active":
        raise DomainError({"ends_on": "只有在岗的岗位可以结束"})
    errors = rules.period_errors(assignment.starts_on, ends_on)
    if ends_on is None:
        errors["ends_on"] = "请填写结束日期"
    if errors:
        raise DomainError(errors)
    before = {"ends_on": assignment.ends_on}
    assignment.ends_on = ends_on
    db.session.flush()
    audit.record("direct_post_end", assignment, before=before, after={"ends_on": ends_on})


# ---- the 责任卡 QR ------------------------------------------------------------------------------


def token_for(assignment: PostAssignment) -> str:
    return _signer().sign(SERIAL_PREFIX + assignment.serial).decode()


@dataclass(frozen=True)
class Verdict:
    state: str  # valid, upcoming, ended, tampered, unknown
    headline: str
    assignment: PostAssignment | None = None

    @property
    def valid(self) -> bool:
        return self.state == "valid"


HEADLINES = {
    "valid": "责任卡有效：该党员正在岗",
    "upcoming": "责任卡尚未生效：岗位任期还没有开始",
    "ended": "责任卡已失效：该岗位任期已结束",
    "tampered": "无法核验：二维码内容被改动，不是本系统签发的责任卡",
    "unknown": "无法核验：查无此责任卡",
}


def verify_token(token: str, today: date | None = None) -> Verdict:
    today = today or local_today()
    token = (token or "").strip()
    if token.count(".") != 1 or not 20 <= len(token) <= 200:
        return Verdict("tampered", HEADLINES["tampered"])
    try:
        value = _signer().unsign(token).decode()
    except BadSignature:
        return Verdict("tampered", HEADLINES["tampered"])
    if not value.startswith(SERIAL_PREFIX):
        return Verdict("unknown", HEADLINES["unknown"])
    assignment = db.session.execute(
        select(PostAssignment).where(PostAssignment.serial == value[len(SERIAL_PREFIX) :])
    ).scalar_one_or_none()
    if assignment is None or assignment.status not in ("active",):
        return Verdict("unknown", HEADLINES["unknown"])
    state = assignment.state(today)
    state = "valid" if state == "active" else state
    return Verdict(state, HEADLINES[state], assignment)


# ---- 结对帮扶 -------------------------------------------------------------------------------------


def create_pair(member: Member, user: Any, data: dict[str, Any]) -> HelpPair:
    _check_member(member)
    errors = rules.period_errors(data.get("starts_on"), data.get("ends_on"))
    if data.get("need_kind") not in NEED_KINDS:
        errors["need_kind"] = "请选择帮扶对象类别"
    allowed = set(db.session.execute(community_buildings_select(member.community_id)).scalars())
    if data.get("building_id") not in allowed:
        errors["building_id"] = "请选择该党员所在社区的楼栋"
    if errors:
        raise DomainError(errors)
    pair = HelpPair(
        member_id=member.id,
        helped_name=data["helped_name"].strip(),
        helped_phone=(data.get("helped_phone") or "").strip() or None,
        building_id=data["building_id"],
        room=(data.get("room") or "").strip() or None,
        need_kind=data["need_kind"],
        need_note=(data.get("need_note") or "").strip() or None,
        starts_on=data["starts_on"],
        ends_on=data.get("ends_on"),
        created_by_id=user.id,
    )
    db.session.add(pair)
    db.session.flush()
    # The audit keeps the fact, not the helped person's personal data.
    audit.record(
        "direct_pair_create",
        pair,
        after={"member_id": member.id, "need_kind": pair.need_kind, "starts_on": pair.starts_on},
    )
    return pair


def end_pair(pair: HelpPair, ends_on: date | None, user: Any) -> None:
    errors = rules.period_errors(pair.starts_on, ends_on)
    if ends_on is None:
        errors["ends_on"] = "请填写结束日期"
    if errors:
        raise DomainError(errors)
    before = {"ends_on": pair.ends_on}
    pair.ends_on = ends_on
    db.session.flush()
    audit.record("direct_pair_end", pair, before=before, after={"ends_on": ends_on})


def record_visit(
    pair: HelpPair, user: Any, *, visited_on: date | None, content: str, visitor: str
) -> HelpVisit:
    today = local_today()
    errors = rules.visit_errors(visited_on, pair.starts_on, today)
    if not errors and pair.ends_on is not None and visited_on > pair.ends_on:
        errors["visited_on"] = "帮扶日期不能晚于结对结束日期"
    if errors:
        raise DomainError(errors)
    visit = HelpVisit(
        pair_id=pair.id,
        visited_on=visited_on,
        content=content.strip(),
        visitor=visitor.strip(),
        recorded_by_id=user.id,
    )
    db.session.add(visit)
    if pair.last_visit_on is None or visited_on > pair.last_visit_on:
        pair.last_visit_on = visited_on
    db.session.flush()
    audit.record("direct_visit_create", visit, after={"pair_id": pair.id, "visited_on": visited_on})
    return visit


def reveal_pair(pair: HelpPair) -> None:
    audit.record("direct_pair_reveal", pair, detail="查看帮扶对象联系方式")


# ---- 争五好 ---------------------------------------------------------------------------------------


def save_review(
    member: Member,
    user: Any,
    *,
    year: int | None,
    items: dict[str, bool],
    assessment: str | None,
    note: str | None,
) -> FiveGoodReview:
    _check_member(member)
    errors = rules.review_year_errors(year, local_today())
    if assessment not in FIVE_GOOD_ASSESSMENTS:
        errors["assessment"] = "请选择评定结果"
    if errors:
        raise DomainError(errors)
    review = db.session.execute(
        select(FiveGoodReview).where(
            FiveGoodReview.member_id == member.id, FiveGoodReview.year == year
        )
    ).scalar_one_or_none()
    before = None
    if review is None:
        review = FiveGoodReview(member_id=member.id, year=year)
        db.session.add(review)
    else:
        before = {key: getattr(review, key) for key in (*FIVE_GOOD_ITEMS, "assessment", "note")}
    for key in FIVE_GOOD_ITEMS:
        setattr(review, key, bool(items.get(key)))
    review.assessment = assessment
    review.note = (note or "").strip() or None
    review.recorded_by_id = user.id
    db.session.flush()
    after = {key: getattr(review, key) for key in (*FIVE_GOOD_ITEMS, "assessment", "note")}
    audit.record("direct_review_save", review, before=before, after={"year": year, **after})
    return review
