"""Follow-up services: events and attendance keep the members' stamps current; the work lists'
SQL agrees with the pure rules; every change is audited; lists stay inside the scope."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest
from sqlalchemy import select, update

from app.audit.models import AuditEntry
from app.errors import Conflict, DomainError
from app.extensions import db
from app.followup import rules, services, work_lists
from app.followup.models import OrgEvent, OrgEventAttendance
from app.members.models import Member
from app.timeutil import add_months, local_today, month_start

TODAY = local_today()


def setm(member: Member, **values) -> Member:
    """Set columns directly (stamps, category, dates) and reload."""
    db.session.execute(update(Member.__table__).where(Member.id == member.id).values(**values))
    db.session.commit()
    db.session.expire_all()
    return db.session.get(Member, member.id)


def actions() -> list[str]:
    return list(db.session.execute(select(AuditEntry.action).order_by(AuditEntry.id)).scalars())


@pytest.fixture
def branch_members(tree, make_member):
    """Three members of branch A (group A) and one of branch B."""
    a = [
        make_member(name=n, building=tree["building_a"], group=tree["group_a"])
        for n in ("安明", "白雪", "陈刚")
    ]
    b = make_member(name="丁一", building=tree["building_b"], group=tree["group_b"])
    return a, b


def _event(staff, tree, held_on: date, org=None, **kw) -> OrgEvent:
    event = services.create_event(
        staff,
        {
            "org_id": (org or tree["branch_a"]).id,
            "kind": kw.get("kind", "branch_meeting"),
            "held_on": held_on,
            "title": kw.get("title", "支部党员大会"),
        },
    )
    db.session.commit()
    return event


# ---- events and attendance ---------------------------------------------------------------------


def test_create_event_checks_scope_kind_and_date(tree, other, staff_of):
    staff = staff_of(org=tree["branch_a"])
    with pytest.raises(DomainError) as exc:
        services.create_event(
            staff,
            {"org_id": other["branch"].id, "kind": "nope", "held_on": TODAY + timedelta(1)},
        )
    assert set(exc.value.errors) == {"org_id", "kind", "title", "held_on"}
    # Branch B of the same community is outside a branch-A staff user's scope too.
    with pytest.raises(DomainError) as exc:
        services.create_event(
            staff,
            {"org_id": tree["branch_b"].id, "kind": "party_class", "held_on": TODAY, "title": "x"},
        )
    assert set(exc.value.errors) == {"org_id"}
    event = _event(staff, tree, TODAY, org=tree["group_a"], kind="group_meeting")
    assert event.org_id == tree["group_a"].id
    assert actions()[-1] == "followup_event_create"
    labels = dict(services.event_orgs(staff))
    assert labels == {
        tree["branch_a"].id: "第一小区党支部",
        tree["group_a"].id: "第一小区党支部 › 1号楼党小组",
    }


def test_attendance_updates_last_org_life_and_deleting_restores_it(tree, staff_a, branch_members):
    (m1, m2, m3), outsider = branch_members
    early = _event(staff_a, tree, TODAY - timedelta(days=60))
    late = _event(staff_a, tree, TODAY - timedelta(days=10))
    roster = services.event_roster(late, staff_a)
    assert [r.id for r in roster] == [m1.id, m2.id, m3.id]  # pinyin order, branch A only
    services.set_attendance(early, staff_a, {m1.id: "present", m2.id: "present", m3.id: "absent"})
    counts = services.set_attendance(
        late, staff_a, {m1.id: "present", m2.id: "absent", m3.id: "excused"}
    )
    db.session.commit()
    assert counts == {"present": 1, "absent": 1, "excused": 1}
    stamps = lambda: {  # noqa: E731
        m.id: m.last_org_life_on
        for m in db.session.execute(
            select(Member).where(Member.id.in_([m1.id, m2.id, m3.id]))
        ).scalars()
    }
    db.session.expire_all()
    assert stamps() == {m1.id: late.held_on, m2.id: early.held_on, m3.id: None}
    # Correcting a tick moves the stamp back; the member's version is untouched (no conflict
    # for someone editing the card meanwhile).
    version = db.session.get(Member, m1.id).version
    services.set_attendance(late, staff_a, {m1.id: "absent"})
    db.session.commit()
    db.session.expire_all()
    assert stamps()[m1.id] == early.held_on
    assert db.session.get(Member, m1.id).version == version
    services.delete_event(early, staff_a)
    db.session.commit()
    db.session.expire_all()
    assert stamps() == {m1.id: None, m2.id: None, m3.id: None}
    assert db.session.execute(select(OrgEventAttendance.event_id)).scalars().all() == [late.id] * 3
    assert actions()[-4:] == [
        "followup_attendance",
        "followup_attendance",
        "followup_attendance",
        "followup_event_delete",
    ]


def test_attendance_refuses_members_outside_the_roster(tree, staff_a, branch_members):
    (m1, _, _), outsider = branch_members
    event = _event(staff_a, tree, TODAY)
    with pytest.raises(DomainError):
        services.set_attendance(event, staff_a, {m1.id: "present", outsider.id: "present"})
    with pytest.raises(DomainError):
        services.set_attendance(event, staff_a, {m1.id: "asleep"})


def test_moving_an_event_date_moves_the_stamps(tree, staff_a, branch_members):
    (m1, _, _), _ = branch_members
    event = _event(staff_a, tree, TODAY - timedelta(days=30))
    services.set_attendance(event, staff_a, {m1.id: "present"})
    db.session.commit()
    new_day = TODAY - timedelta(days=3)
    services.update_event(
        event,
        staff_a,
        {"org_id": event.org_id, "kind": event.kind, "held_on": new_day, "title": "改期"},
        event.version,
    )
    db.session.commit()
    db.session.expire_all()
    assert db.session.get(Member, m1.id).last_org_life_on == new_day
    with pytest.raises(Conflict):
        services.update_event(event, staff_a, {}, event.version - 1)


# ---- thought reports and contacts --------------------------------------------------------------


def test_thought_report_moves_the_stamp_forward_only(tree, staff_a, make_member):
    member = make_member(building=tree["building_a"], group=tree["group_a"])
    services.record_thought_report(
        member, staff_a, period=TODAY, summary="学习体会", submitted_on=TODAY - timedelta(5)
    )
    services.record_thought_report(
        member, staff_a, period=TODAY, summary="补录", submitted_on=TODAY - timedelta(90)
    )
    db.session.commit()
    db.session.expire_all()
    assert db.session.get(Member, member.id).last_thought_report_on == TODAY - timedelta(5)
    with pytest.raises(DomainError) as exc:
        services.record_thought_report(member, staff_a, period=add_months(TODAY, 1), summary=" ")
    assert set(exc.value.errors) == {"period", "summary"}
    assert actions().count("thought_report_create") == 2


def test_contact_log_updates_last_contact(tree, staff_a, make_member):
    member = make_member(building=tree["building_a"])
    services.record_contact(
        member, staff_a, contacted_on=TODAY - timedelta(2), method="phone", summary="电话问候"
    )
    db.session.commit()
    db.session.expire_all()
    assert db.session.get(Member, member.id).last_contact_on == TODAY - timedelta(2)
    with pytest.raises(DomainError) as exc:
        services.record_contact(
            member, staff_a, contacted_on=TODAY + timedelta(1), method="fax", summary=""
        )
    assert set(exc.value.errors) == {"contacted_on", "method", "summary"}
    assert "contact_log_create" in actions()


# ---- work lists: SQL == rules ------------------------------------------------------------------


def _ids(kind: str, user, c: work_lists.Cutoffs, **filters) -> set[int]:
    rows, _ = work_lists.list_page(kind, user, filters, None, 500, c)
    return {r.id for r in rows}


def test_thought_list_matches_the_rule(tree, staff_a, make_member):
    c = work_lists.Cutoffs.current()
    long_ago = datetime(2020, 1, 1)
    cases = []
    for category in ("takeover", "direct"):
        for last in (None, TODAY - timedelta(20), TODAY - timedelta(40), TODAY - timedelta(100)):
            for created in (long_ago, datetime.combine(TODAY, datetime.min.time())):
                m = make_member(building=tree["building_a"])
                m = setm(m, category=category, last_thought_report_on=last, created_at=created)
                cases.append(m)
    inactive = setm(make_member(building=tree["building_a"]), status="deceased")
    expected = {
        m.id
        for m in cases
        if rules.is_overdue(
            m.last_thought_report_on, m.created_at.date(), c.thought_months(m.category), c.today
        )
    }
    assert expected and expected != {m.id for m in cases}
    assert _ids("thought", staff_a, c) == expected
    assert inactive.id not in expected
    assert work_lists.list_counts(staff_a, c)["thought"] == len(expected)


def test_contact_list_holds_mobile_members_only(tree, staff_a, make_member):
    c = work_lists.Cutoffs.current()
    old = TODAY - timedelta(days=200)
    resident = setm(make_member(building=tree["building_a"]), created_at=datetime(2020, 1, 1))
    away = setm(
        make_member(building=tree["building_a"]),
        mobility="flow_out",
        mobility_since=old,
        created_at=datetime(2020, 1, 1),
    )
    called = setm(
        make_member(building=tree["building_a"]),
        mobility="flow_in",
        mobility_since=old,
        last_contact_on=TODAY - timedelta(days=10),
    )
    new = setm(make_member(building=tree["building_a"]), mobility="flow_out", mobility_since=TODAY)
    assert _ids("contact", staff_a, c) == {away.id}
    assert not {resident.id, called.id, new.id} & _ids("contact", staff_a, c)
    rows, _ = work_lists.list_page("contact", staff_a, {}, None, 10, c)
    assert rows[0].due_on == add_months(old, c.contact_months)


def test_alert_list_matches_the_rules_and_says_why(tree, staff_a, make_member):
    c = work_lists.Cutoffs.current()
    members = [make_member(building=tree["building_a"], group=tree["group_a"]) for _ in range(6)]
    days = [TODAY - timedelta(days=d) for d in (300, 240, 200, 120, 30)]  # five events of branch A
    events = [_event(staff_a, tree, d) for d in days]
    patterns = [
        "AAAAA",  # absent since 300 days: flagged
        "PAAAA",  # absent since 240 days: flagged
        "PPPAA",  # absent since 120 days: not yet
        "AAAPA",  # came 120 days ago: not flagged
        "AEEEE",  # one absence then excused: flagged (excused does not break the run)
        "EEEEE",  # excused throughout: not flagged
    ]
    code = {"A": "absent", "P": "present", "E": "excused"}
    for i, event in enumerate(events):
        services.set_attendance(
            event, staff_a, {m.id: code[p[i]] for m, p in zip(members, patterns, strict=True)}
        )
    db.session.commit()
    dues_late = setm(
        make_member(building=tree["building_a"]),
        dues_paid_until=add_months(month_start(TODAY), -7),
    )
    dues_ok = setm(
        make_member(building=tree["building_a"]),
        dues_paid_until=add_months(month_start(TODAY), -2),
    )
    expected = {
        m.id
        for m, p in zip(members, patterns, strict=True)
        if rules.absent_too_long(
            rules.absence_run_start([(d, code[s]) for d, s in zip(days, p, strict=True)]),
            c.today,
            c.absent_months,
        )
    }
    assert expected == {members[0].id, members[1].id, members[4].id}
    assert _ids("alert", staff_a, c) == expected | {dues_late.id}
    assert dues_ok.id not in _ids("alert", staff_a, c)
    rows = {r.id: r for r in work_lists.list_page("alert", staff_a, {}, None, 50, c)[0]}
    assert "连续未参加组织生活" in rows[members[1].id].reasons[0]
    assert days[1].strftime("%Y年%m月%d日") in rows[members[1].id].reasons[0]
    assert rows[dues_late.id].reasons == (
        "党费交至 " + add_months(month_start(TODAY), -7).strftime("%Y年%m月") + "，已 6 个月未交纳",
    )
    assert work_lists.list_counts(staff_a, c)["alert"] == 4


def test_lists_stay_inside_the_scope_and_filter(tree, other, staff_of, make_member):
    c = work_lists.Cutoffs.current()
    old = datetime(2020, 1, 1)
    in_a = setm(make_member(building=tree["building_a"], group=tree["group_a"]), created_at=old)
    in_b = setm(make_member(building=tree["building_b"], group=tree["group_b"]), created_at=old)
    outside = setm(make_member(building=other["building"], group=other["group"]), created_at=old)
    staff = staff_of(place=tree["community"])
    assert _ids("thought", staff, c) == {in_a.id, in_b.id}
    assert _ids("thought", staff, c, grid=tree["grid_a"].id) == {in_a.id}
    assert _ids("thought", staff, c, branch=tree["branch_b"].id) == {in_b.id}
    assert _ids("thought", staff, c, branch=other["branch"].id) == set()
    assert work_lists.list_counts(staff, c)["thought"] == 2
    worker = staff_of(place=tree["grid_b"])
    assert _ids("thought", worker, c) == {in_b.id}
    assert outside.id not in _ids("thought", staff, c)


def test_list_pages_follow_pinyin_order(tree, staff_a, make_member):
    c = work_lists.Cutoffs.current()
    names = ["赵", "安", "孙", "李", "钱"]
    for n in names:
        setm(
            make_member(name=n + "某", building=tree["building_a"]), created_at=datetime(2020, 1, 1)
        )
    first, more = work_lists.list_page("thought", staff_a, {}, None, 3, c)
    assert more
    second, more = work_lists.list_page("thought", staff_a, {}, first[-1].id, 3, c)
    assert not more
    assert [r.name for r in first + second] == ["安某", "李某", "钱某", "孙某", "赵某"]
