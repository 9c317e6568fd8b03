"""Member services: create, update, history, classification, override, locking, reveal, as-of."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from werkzeug.exceptions import Forbidden

from app.audit.models import AuditEntry
from app.certificates.models import Certificate
from app.crypto import decrypt, keyed_hash
from app.errors import DomainError
from app.extensions import db
from app.members import services
from app.members.history import as_of
from app.members.models import Member, MemberHistory
from app.settings import Setting
from app.timeutil import local_today

from .conftest import id_number

TODAY = local_today()


def history(member, aspect):
    return (
        db.session.execute(
            select(MemberHistory)
            .where(MemberHistory.member_id == member.id, MemberHistory.aspect == aspect)
            .order_by(MemberHistory.id)
        )
        .scalars()
        .all()
    )


def audits(member, action):
    return (
        db.session.execute(
            select(AuditEntry).where(
                AuditEntry.object_type == "member",
                AuditEntry.object_id == str(member.id),
                AuditEntry.action == action,
            )
        )
        .scalars()
        .all()
    )


def test_create_stores_encrypted_id_keys_history_and_audit(make_member, make_user, tree):
    staff = make_user("staff")
    number = id_number(date(1975, 3, 8), 7, "F")
    member = make_member(
        staff,
        name="张三丰",
        id_number=number.lower(),
        phone="13912345678",
        building=tree["building_a"],
        group=tree["group_a"],
        employment="retired",
    )
    assert member.id_number_enc != number.encode() and decrypt(member.id_number_enc) == number
    assert member.id_hash == keyed_hash(number)
    assert (member.id_prefix6, member.id_last4) == (number[:6], number[-4:])
    assert (member.birth_date, member.sex) == (date(1975, 3, 8), "F")
    assert member.phone_last4 == "5678"
    assert (member.name_pinyin, member.name_initials) == ("zhang san feng", "zsf")
    # The building implies grid and community; the group implies its branch.
    assert member.grid_id == tree["grid_a"].id
    assert member.community_id == tree["community"].id
    assert member.branch_id == tree["branch_a"].id
    assert (member.category, member.category_proposed) == ("shared", "shared")
    aspects = {h.aspect for h in db.session.execute(select(MemberHistory)).scalars()}
    assert aspects == {"category", "placement", "status", "mobility", "liaison"}
    for aspect in aspects:
        (row,) = history(member, aspect)
        assert row.effective_to is None and row.changed_by_id == staff.id
    (entry,) = audits(member, "member_create")
    assert entry.user_id == staff.id
    # The audit keeps no digits of the number (first 6 + last 4 and the birth date rebuild it).
    assert number not in str(entry.after) and number[-4:] not in str(entry.after)
    assert entry.after["id_number"] == "（已加密保存）"


def test_duplicate_id_number_is_refused(make_member):
    number = id_number(date(1980, 1, 1), 1)
    first = make_member(id_number=number)
    with pytest.raises(services.DuplicateMemberError) as exc:
        make_member(id_number=number, name="另一个人")
    assert exc.value.existing_id == first.id
    assert "已登记" in exc.value.errors["id_number"]
    db.session.rollback()
    assert db.session.execute(select(func.count()).select_from(Member)).scalar() == 1


@pytest.mark.parametrize(
    ("data", "field", "fragment"),
    [
        ({"id_number": "62030219800101001"}, "id_number", "18 位"),
        ({"id_number": "620302198001010010"}, "id_number", "校验位"),
        ({"sex": "F"}, "sex", "性别与身份证号不一致"),
        ({"birth_date": date(1980, 1, 2)}, "birth_date", "出生日期与身份证号不一致"),
        ({"joined_on": date(1990, 1, 1)}, "joined_on", "18 周岁"),
        (
            {"joined_on": date(2005, 1, 1), "full_member_on": date(2004, 1, 1)},
            "full_member_on",
            "早于入党日期",
        ),
        ({"phone": "12345"}, "phone", "手机号"),
        ({"second_phone": "abc"}, "second_phone", "电话号码格式不正确"),
        ({"mobility": "flow_out"}, "mobility_since", "流动开始日期"),
        ({"relation_location": "elsewhere"}, "relation_org_name", "党组织名称"),
        ({"name": "  "}, "name", "姓名"),
    ],
)
def test_create_validation(make_member, data, field, fragment):
    base = {"id_number": id_number(date(1980, 1, 1), 1, "M"), "joined_on": None}
    with pytest.raises(DomainError) as exc:
        make_member(**{**base, **data})
    assert fragment in exc.value.errors[field]


def test_update_keeps_history_and_audit(make_member, make_user, tree):
    staff = make_user("staff")
    member = make_member(
        staff,
        effective=TODAY - timedelta(days=60),
        building=tree["building_a"],
        employment="in_service",
        relation_location="work_unit",
    )
    assert member.category == "dual"
    start = TODAY - timedelta(days=30)
    changed = services.update_member(
        member,
        {"employment": "retired", "building_id": tree["building_b"].id, "status": "active"},
        staff,
        expected_version=member.version,
        reason="退休，搬迁",
        effective=start,
    )
    db.session.commit()
    assert {"employment", "building_id", "grid_id", "category"} <= changed.keys()
    assert member.category == "shared" and member.grid_id == tree["grid_b"].id
    old, new = history(member, "category")
    assert old.effective_to == start and new.effective_from == start
    assert new.value["category"] == "shared" and new.reason == "退休，搬迁"
    assert len(history(member, "placement")) == 2
    assert len(history(member, "status")) == 1  # unchanged aspects keep their one row
    (entry,) = audits(member, "member_update")
    assert entry.before["employment"] == "in_service" and entry.after["employment"] == "retired"
    assert entry.detail == "退休，搬迁"


def test_update_without_changes_writes_nothing(make_member):
    member = make_member()
    assert services.update_member(member, {"name": member.name}, None, member.version) == {}
    assert audits(member, "member_update") == []


def test_update_refuses_an_id_number_of_another_member(make_member):
    a = make_member()
    b = make_member()
    with pytest.raises(DomainError) as exc:
        services.update_member(b, {"id_number": decrypt(a.id_number_enc)}, None, b.version)
    assert "其他党员" in exc.value.errors["id_number"]


def test_override_is_kept_on_reevaluation_and_proposal_updated(make_member, make_user):
    staff = make_user("staff")
    member = make_member(staff)
    assert member.category == "direct"
    with pytest.raises(DomainError) as exc:
        services.override_category(member, "takeover", "  ", staff)
    assert "理由" in exc.value.errors["reason"]
    services.override_category(member, "takeover", "长期无固定工作，按接管对待", staff)
    db.session.commit()
    services.update_member(member, {"employment": "retired"}, staff, member.version)
    db.session.commit()
    assert member.category == "takeover"  # the override stays
    assert member.category_proposed == "shared"  # the proposal follows the record
    rows = history(member, "category")
    assert [r.value["category"] for r in rows] == ["direct", "takeover", "takeover"]
    assert [r.value["category_proposed"] for r in rows] == ["direct", "direct", "shared"]
    assert rows[1].reason == "长期无固定工作，按接管对待"
    assert audits(member, "member_category_override")
    services.clear_override(member, staff)
    db.session.commit()
    assert member.category == "shared" and member.category_override_reason is None


def test_open_certificate_makes_member_coordinated(make_member):
    member = make_member()
    db.session.add(
        Certificate(
            number="C1-2026-0001",
            serial="s" * 32,
            member_id=member.id,
            issued_on=TODAY,
            valid_until=TODAY + timedelta(days=700),
        )
    )
    db.session.flush()
    assert services.reclassify(member, None) is True
    assert member.category == "coordinated"
    assert services.reclassify(member, None) is False


def test_flow_out_threshold_comes_from_settings(make_member):
    member = make_member(
        mobility="flow_out", mobility_place="深圳", mobility_since=TODAY - timedelta(days=130)
    )
    assert member.category == "direct"  # about 4 months
    db.session.add(Setting(key="flow_out_coordinated_months", value=3))
    db.session.commit()
    services.reclassify(member, None)
    assert member.category == "coordinated"


def test_stale_version_from_the_form_is_a_conflict(make_member):
    member = make_member()
    services.update_member(member, {"notes": "第一次"}, None, member.version)
    db.session.commit()
    with pytest.raises(services.ConflictError) as exc:
        services.update_member(member, {"notes": "第二次"}, None, expected_version=1)
    assert exc.value.current_version == 2
    assert exc.value.current["notes"] == "第一次"


def test_concurrent_sessions_second_save_gets_conflict(app, make_member):
    member_id = make_member().id
    db.session.remove()
    first, second = Session(db.engine), Session(db.engine)
    try:
        mine = first.get(Member, member_id)
        theirs = second.get(Member, member_id)
        assert mine.version == theirs.version == 1
        mine.notes = "先保存"
        first.commit()
        # The second editor loaded version 1 too: the UPDATE matches no row → conflict.
        db.session.remove()
        stale = db.session.merge(theirs, load=False)
        with pytest.raises(services.ConflictError) as exc:
            services.update_member(stale, {"notes": "后保存"}, None, expected_version=1)
        db.session.rollback()  # the request's unit of work rolls back, then reads the news
        services.fresh_conflict(exc.value)
        assert exc.value.current_version == 2
        assert exc.value.current["notes"] == "先保存"
    finally:
        first.close()
        second.close()


def test_reveal_is_audited_and_refused_for_grid_workers(make_member, make_user):
    member = make_member()
    admin = make_user("admin")
    worker = make_user("grid_worker")
    staff = make_user("staff")
    revealer = make_user("staff", may_reveal=True)
    assert services.reveal_id_number(member, admin) == decrypt(member.id_number_enc)
    assert services.reveal_id_number(member, revealer) == decrypt(member.id_number_enc)
    for user in (worker, staff):
        with pytest.raises(Forbidden):
            services.reveal_id_number(member, user)
    db.session.commit()
    results = sorted((e.user_id, e.result) for e in audits(member, "member_reveal"))
    assert results == sorted(
        [(admin.id, "ok"), (revealer.id, "ok"), (worker.id, "denied"), (staff.id, "denied")]
    )


def test_as_of_reports_the_past(make_member, make_user):
    staff = make_user("staff")
    long_ago = TODAY - timedelta(days=200)
    member = make_member(staff, effective=long_ago)
    later = make_member(staff)  # created today: absent from past months
    services.update_member(
        member,
        {"employment": "laid_off", "status": "transferred_out"},
        staff,
        member.version,
        effective=TODAY,
    )
    db.session.commit()
    past = (long_ago + timedelta(days=40)).strftime("%Y-%m")
    asof = as_of(past)
    rows = db.session.execute(select(asof.c.member_id, asof.c.category, asof.c.status)).all()
    assert rows == [(member.id, "direct", "active")]
    now = as_of(TODAY)
    rows = dict(
        (mid, (cat, st))
        for mid, cat, st in db.session.execute(
            select(now.c.member_id, now.c.category, now.c.status)
        )
    )
    assert rows == {member.id: ("takeover", "transferred_out"), later.id: ("direct", "active")}


def test_backdating_before_the_open_history_row_is_refused(make_member):
    member = make_member()
    with pytest.raises(DomainError) as exc:
        services.update_member(
            member,
            {"status": "deceased"},
            None,
            member.version,
            effective=TODAY - timedelta(days=10),
        )
    assert "生效日期" in exc.value.errors["effective_on"]


def test_time_passing_reclassifies_a_long_flow_out(app, make_member):
    """A flow-out of 5 months is not yet coordinated; two months later the daily run moves it,
    with history and audit, and leaves everyone else alone."""
    long_out = make_member(
        mobility="flow_out", mobility_place="深圳", mobility_since=TODAY - timedelta(days=150)
    )
    resident = make_member()
    assert long_out.category == "direct"
    assert services.reclassify_due(None, today=TODAY) == []
    later = TODAY + timedelta(days=61)
    assert services.reclassify_due(None, today=later, apply=False) == [long_out.id]
    assert services.reclassify_due(None, today=later) == [long_out.id]
    db.session.commit()
    db.session.refresh(long_out)
    assert long_out.category == "coordinated"
    assert resident.category == "direct"
    history = db.session.execute(
        select(MemberHistory).where(
            MemberHistory.member_id == long_out.id, MemberHistory.aspect == "category"
        )
    ).scalars()
    assert "按规则定期重新分类" in [h.reason for h in history]
    assert db.session.scalar(
        select(func.count()).where(
            AuditEntry.action == "member_reclassify", AuditEntry.object_id == str(long_out.id)
        )
    )
    assert services.reclassify_due(None, today=later) == []  # done once


def test_reclassify_everyone_after_a_rule_setting_changed(app, make_member, runner):
    member = make_member(
        mobility="flow_out", mobility_place="深圳", mobility_since=TODAY - timedelta(days=130)
    )
    db.session.add(Setting(key="flow_out_coordinated_months", value=3))
    db.session.commit()
    result = runner.invoke(args=["roster", "reclassify", "--dry-run"])
    assert "需要重新分类 1 人" in result.output
    assert db.session.get(Member, member.id).category == "direct"
    result = runner.invoke(args=["roster", "reclassify", "--all"])
    assert "已重新分类 1 人" in result.output
    db.session.expire_all()
    assert db.session.get(Member, member.id).category == "coordinated"
