"""Change requests: the diff, one pending request, approve through members.services, reject,
conflicts with an edit made meanwhile, concurrent decisions."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from app.audit.models import AuditEntry
from app.errors import DomainError
from app.extensions import db
from app.members import services as members
from app.members.models import ChangeRequest
from app.selfservice import services
from tests.selfservice.conftest import reload


def _actions(object_id: int | None = None) -> list[tuple[str, str | None]]:
    query = select(AuditEntry.action, AuditEntry.detail).order_by(AuditEntry.id)
    if object_id is not None:
        query = query.where(AuditEntry.object_id == str(object_id))
    return [tuple(r) for r in db.session.execute(query).all()]


def test_submit_keeps_only_the_changed_fields_normalized(people):
    change = services.submit_request(
        people.a,
        {"phone": "+86 139-1234-5678", "room": "1单元101", "address": "  滨河路 8 号 "},
        people.user_a,
        note="换了新号码",
    )
    db.session.commit()
    assert change.status == "pending"
    assert services.fields_of(change) == {
        "phone": {"old": "13900000001", "new": "13912345678"},
        "address": {"old": None, "new": "滨河路 8 号"},
    }
    assert change.changes["note"] == "换了新号码"
    assert change.changes["base_version"] == people.a.version
    entry = db.session.execute(
        select(AuditEntry).where(AuditEntry.action == "change_request_submit")
    ).scalar_one()
    assert entry.after["phone"]["new"] == "139****5678"  # phones masked in the audit log
    assert reload(people.a).phone == "13900000001"  # nothing applied before review


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        ({"phone": "1391234"}, "phone", "手机号应为 11 位"),
        ({"phone": "139abc12345"}, "phone", "手机号只能包含数字"),
        ({"phone": ""}, "phone", "手机号不能为空"),
        ({"second_phone": "12345"}, "second_phone", "电话号码格式不正确"),
        ({"room": "房" * 31}, "room", "房号不能超过 30 个字"),
        ({"room": "1单元101"}, "", "您没有修改任何信息"),
    ],
)
def test_submit_refuses_invalid_or_empty_changes(people, data, field, message):
    with pytest.raises(DomainError) as exc:
        services.submit_request(people.a, data, people.user_a)
    assert message in exc.value.errors[field]
    assert db.session.execute(select(ChangeRequest)).first() is None


def test_a_new_request_replaces_the_pending_one(people):
    first = services.submit_request(people.a, {"phone": "13911111111"}, people.user_a)
    second = services.submit_request(people.a, {"phone": "13922222222"}, people.user_a)
    db.session.commit()
    assert reload(first).status == "cancelled"
    assert reload(first).reason == services.REPLACED_REASON
    assert second.status == "pending"
    pending = db.session.execute(
        select(ChangeRequest).where(ChangeRequest.status == "pending")
    ).scalars()
    assert [r.id for r in pending] == [second.id]


def test_approve_applies_through_update_member_with_history_reason_and_audit(people):
    change = services.submit_request(
        people.a, {"phone": "13912345678", "work_unit": "金川集团"}, people.user_a
    )
    db.session.commit()
    version = people.a.version
    changed = services.approve(change, people.staff)
    db.session.commit()
    member = reload(people.a)
    assert (member.phone, member.phone_last4, member.work_unit) == (
        "13912345678",
        "5678",
        "金川集团",
    )
    assert member.version == version + 1  # one optimistic-locking update
    assert set(changed) == {"phone", "work_unit"}
    change = reload(change)
    assert (change.status, change.decided_by_id) == ("approved", people.staff.id)
    assert change.decided_at is not None
    actions = _actions()
    assert ("member_update", services.REVIEW_REASON) in actions
    assert ("change_request_approve", None) in actions


def test_the_member_update_audit_carries_the_reason(people):
    """Phone, address and employer are not "as of" aspects (no MemberHistory rows); the
    member's timeline shows the member_update entry with its reason instead."""
    change = services.submit_request(people.a, {"employer": "新城物业"}, people.user_a)
    db.session.commit()
    services.approve(change, people.staff)
    db.session.commit()
    entry = db.session.execute(
        select(AuditEntry).where(AuditEntry.action == "member_update")
    ).scalar_one()
    assert entry.object_id == str(people.a.id)
    assert (entry.before, entry.after) == ({"employer": None}, {"employer": "新城物业"})
    assert (entry.detail, entry.user_id) == ("党员申请变更", people.staff.id)


def test_reject_needs_a_reason_and_keeps_the_record(people):
    change = services.submit_request(people.a, {"phone": "13912345678"}, people.user_a)
    db.session.commit()
    with pytest.raises(DomainError) as exc:
        services.reject(change, people.staff, "  ")
    assert "理由" in exc.value.errors["reason"]
    services.reject(change, people.staff, "号码与本人核实不符")
    db.session.commit()
    assert reload(change).status == "rejected"
    assert reload(change).reason == "号码与本人核实不符"
    assert reload(people.a).phone == "13900000001"
    assert ("change_request_reject", "号码与本人核实不符") in _actions(change.id)


def test_conflict_when_the_record_changed_meanwhile(people):
    change = services.submit_request(people.a, {"phone": "13912345678"}, people.user_a)
    db.session.commit()
    members.update_member(people.a, {"phone": "13800000000"}, people.staff, None)
    db.session.commit()
    with pytest.raises(services.ChangeConflict) as exc:
        services.approve(change, people.staff)
    db.session.rollback()
    assert "手机号现为“13800000000”（申请时为“13900000001”）" in str(exc.value)
    assert reload(change).status == "pending"
    assert reload(people.a).phone == "13800000000"
    # Staff confirmed the member's value wins.
    services.approve(reload(change), people.staff, force=True)
    db.session.commit()
    assert reload(people.a).phone == "13912345678"


def test_an_unrelated_edit_meanwhile_is_not_a_conflict(people):
    change = services.submit_request(people.a, {"phone": "13912345678"}, people.user_a)
    db.session.commit()
    members.update_member(people.a, {"education": "大学本科"}, people.staff, None)
    db.session.commit()
    services.approve(change, people.staff)
    db.session.commit()
    assert reload(people.a).phone == "13912345678"


def test_a_decided_request_cannot_be_decided_again(people):
    change = services.submit_request(people.a, {"phone": "13912345678"}, people.user_a)
    db.session.commit()
    services.reject(change, people.staff, "请来社区核对")
    db.session.commit()
    with pytest.raises(DomainError, match="已被处理"):
        services.approve(reload(change), people.worker)
    with pytest.raises(DomainError, match="已被处理"):
        services.reject(reload(change), people.worker, "又一次")
    with pytest.raises(DomainError, match="不能撤回"):
        services.cancel_request(reload(change), people.user_a)


def test_the_conditional_update_lets_only_one_decision_win(people):
    """Two staff decide the same request: the second sees it is no longer pending even
    though its in-memory copy still says so."""
    change = services.submit_request(people.a, {"phone": "13912345678"}, people.user_a)
    db.session.commit()
    db.session.execute(
        ChangeRequest.__table__.update()
        .where(ChangeRequest.id == change.id)
        .values(status="rejected", reason="他人已处理")
    )
    with pytest.raises(DomainError, match="已被处理"):
        services._close(change, "approved", people.staff, None)


def test_pending_count_follows_the_scope(people):
    services.submit_request(people.a, {"phone": "13912345678"}, people.user_a)
    services.submit_request(people.b, {"room": "2单元"}, people.user_b)
    db.session.commit()
    assert services.pending_count(people.staff) == 2
    assert services.pending_count(people.worker) == 1
