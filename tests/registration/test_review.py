"""The staff review queue: scope, filters, paging, diff, approve / reject / return, bulk, audit."""

from __future__ import annotations

import re

from sqlalchemy import select

from app import paging
from app.audit.models import AuditEntry
from app.auth.models import User
from app.extensions import db
from app.members.models import Member
from app.organization.models import Place
from app.registration import services
from app.registration.models import Registration
from tests.conftest import csrf_token

HX = {"HX-Request": "true"}


def _decide(client, reg, action, reason="", **kw):
    token = csrf_token(client, "/home")
    return client.post(
        f"/registrations/{reg.id}/decide",
        data={"action": action, "reason": reason, "csrf_token": token},
        **kw,
    )


def test_queue_shows_only_registrations_in_scope(client, auth, register, tree, staff_of):
    other = Place(kind="community", name="外社区")
    db.session.add(other)
    db.session.commit()
    inside = register("flow_in")
    outside = register("flow_in", community_id=str(other.id), grid_id="", building_id="")
    user = staff_of(org=tree["committee"])
    auth.login(user.username)
    html = client.get("/registrations/").get_data(as_text=True)
    assert f"/registrations/{inside.id}" in html
    assert f"/registrations/{outside.id}" not in html
    assert client.get(f"/registrations/{outside.id}").status_code == 404
    assert client.get(f"/registrations/{inside.id}").status_code == 200
    # The nav badge (loaded by htmx after the page) counts the same scope.
    assert 'hx-get="/registrations/pending-count?nav=1"' in html
    assert client.get("/registrations/pending-count").get_data(as_text=True) == "1"


def test_grid_worker_sees_registrations_of_their_grid(client, auth, register, tree, grid_worker_of):
    in_grid = register("flow_in")
    other_grid = register(
        "flow_in", grid_id=str(tree["grid_b"].id), building_id=str(tree["building_b"].id)
    )
    worker = grid_worker_of(tree["grid_a"])
    auth.login(worker.username)
    html = client.get("/registrations/").get_data(as_text=True)
    assert f"/registrations/{in_grid.id}" in html
    assert f"/registrations/{other_grid.id}" not in html


def test_filters_in_the_url_and_counts(client, auth, register, tree):
    register("flow_in")
    register("in_service_report")
    returned = register("relation_transfer_in")
    auth.login_as("admin")
    services.return_for_correction(returned, auth.user, "缺少介绍信")
    db.session.commit()
    html = client.get("/registrations/?kind=flow_in").get_data(as_text=True)
    assert html.count('name="ids"') == 1
    html = client.get("/registrations/?status=returned").get_data(as_text=True)
    assert html.count('name="ids"') == 1 and "退回修改" in html
    html = client.get("/registrations/?status=").get_data(as_text=True)
    assert html.count('name="ids"') == 3
    assert "待审核 <strong>2</strong>" in html and "退回修改 <strong>1</strong>" in html
    html = client.get(f"/registrations/?community={tree['community'].id}").get_data(as_text=True)
    assert html.count('name="ids"') == 2
    assert client.get("/registrations/?kind=nonsense&community=x&after=-1").status_code == 200
    partial = client.get("/registrations/?kind=flow_in", headers=HX)
    assert "<html" not in partial.get_data(as_text=True)


def test_keyset_paging(client, auth, register, tree, monkeypatch):

    monkeypatch.setattr(paging, "PAGE_SIZE", 2)
    regs = [register("flow_in") for _ in range(5)]
    auth.login_as("admin")
    html = client.get("/registrations/").get_data(as_text=True)
    assert html.count('name="ids"') == 2
    after = re.search(r'hx-get="([^"]*after=\d+)"', html).group(1).replace("&amp;", "&")
    page2 = client.get(after, headers=HX).get_data(as_text=True)
    assert page2.count('name="ids"') == 2 and "<html" not in page2
    assert f"/registrations/{regs[2].id}" in page2


def test_approve_flow_in_creates_member_with_mobility_and_login(client, auth, register, tree):
    reg = register("flow_in")
    auth.login_as("admin")
    response = _decide(client, reg, "approve")
    html = response.get_data(as_text=True)
    assert response.status_code == 200, html[-2000:]
    assert "已通过，已新建党员记录" in html
    password = re.search(r"初始密码 <strong class=\"mono\">([^<]+)<", html).group(1)
    db.session.expire_all()
    member = db.session.execute(select(Member)).scalar_one()
    assert reg.status == "approved" and reg.member_id == member.id
    assert member.mobility == "flow_in" and member.mobility_place == "甘肃省武威市民勤县"
    assert member.relation_location == "elsewhere"
    assert member.relation_org_name == "民勤县大坝镇党委"
    assert member.category == "coordinated"
    assert member.building_id == tree["building_a"].id and member.grid_id == tree["grid_a"].id
    assert member.community_id == tree["community"].id
    assert member.group_id is None  # relation elsewhere: no party group here
    assert member.source == "registration"
    user = db.session.execute(select(User).where(User.member_id == member.id)).scalar_one()
    assert user.role == "member" and user.must_change_password
    assert user.username == member.phone
    # The member can log in with the one-time password and must change it first.
    auth.logout()
    login = auth.login(user.username, password)
    assert login.status_code == 302 and "password" in login.headers["Location"]
    actions = set(db.session.execute(select(AuditEntry.action)).scalars())
    assert {"registration_approve", "member_create", "user_create"} <= actions


def test_approve_transfer_in_places_member_in_the_buildings_group(client, auth, register, tree):
    reg = register("relation_transfer_in")
    auth.login_as("admin")
    assert _decide(client, reg, "approve").status_code == 200
    db.session.expire_all()
    member = db.session.get(Member, reg.member_id)
    assert member.relation_location == "community" and member.employment == "retired"
    assert member.group_id == tree["group_a"].id and member.branch_id == tree["branch_a"].id
    assert member.category == "shared"
    assert not member.notes  # the letter's number is a field of the registration, not a note
    from app.registration.changes import documents_brought

    brought = documents_brought(member.id)
    assert brought["transfer_letter_no"] == "甘组转字2026第017号"
    assert brought["from_org"] == "金昌市第二中学党支部"


def test_approve_in_service_report(client, auth, register, tree):
    reg = register("in_service_report")
    auth.login_as("admin")
    assert _decide(client, reg, "approve").status_code == 200
    db.session.expire_all()
    member = db.session.get(Member, reg.member_id)
    assert member.employment == "in_service" and member.work_unit == "金昌市供电公司"
    assert member.category == "dual" and member.group_id is None


def test_approve_updates_an_existing_member_never_a_duplicate(
    client, auth, register, tree, make_member
):
    from tests.registration.conftest import answers

    existing = make_member(
        id_number=answers("flow_out_report", tree, seq=101)["id_number"],
        name="张晓明",
        building=tree["building_a"],
    )
    reg = register("flow_out_report")
    auth.login_as("admin")
    detail = client.get(f"/registrations/{reg.id}").get_data(as_text=True)
    assert "现有记录" in detail and "通过后将<strong>更新</strong>原记录" in detail
    assert 'class="diff-changed"' in detail  # mobility differs
    response = _decide(client, reg, "approve")
    assert "已更新原有党员记录" in response.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.execute(select(Member)).scalars().all() == [existing]
    assert existing.mobility == "flow_out" and existing.mobility_place == "广东省深圳市南山区"
    assert existing.mobility_contact == "13912345678"
    assert reg.member_id == existing.id


def test_reject_and_return_need_a_reason(client, auth, register, tree):
    reg = register("flow_in")
    auth.login_as("staff")
    auth.user  # noqa: B018
    admin_client = client
    auth.logout()
    auth.login_as("admin")
    for action in ("reject", "return"):
        response = _decide(admin_client, reg, action, "  ")
        assert response.status_code == 422 and "请填写理由" in response.get_data(as_text=True)
    response = _decide(admin_client, reg, "return", "请补充原党组织联系人")
    assert response.status_code == 200
    db.session.expire_all()
    assert reg.status == "returned" and reg.decision_reason == "请补充原党组织联系人"
    # A returned registration cannot be approved until resubmitted.
    response = _decide(admin_client, reg, "approve")
    assert response.status_code == 422 and "不能通过" in response.get_data(as_text=True)
    response = _decide(admin_client, reg, "reject", "重复登记")
    assert response.status_code == 200
    db.session.expire_all()
    assert reg.status == "rejected" and reg.decided_at is not None
    actions = [
        a
        for a in db.session.execute(
            select(AuditEntry.action).where(AuditEntry.object_type == "registration")
        ).scalars()
    ]
    assert "registration_return" in actions and "registration_reject" in actions


def test_bulk_actions_report_per_row(client, auth, register, tree, staff_of):
    regs = [register("flow_in"), register("relation_transfer_in"), register("in_service_report")]
    other = Place(kind="community", name="外社区")
    db.session.add(other)
    db.session.commit()
    foreign = register("flow_in", community_id=str(other.id), grid_id="", building_id="")
    user = staff_of(org=tree["committee"])
    auth.login(user.username)
    token = csrf_token(client, "/home")
    response = client.post(
        "/registrations/bulk",
        data={"action": "return", "reason": "", "ids": [r.id for r in regs], "csrf_token": token},
        headers=HX,
    )
    assert response.status_code == 422 and "必须填写理由" in response.get_data(as_text=True)
    response = client.post(
        "/registrations/bulk",
        data={
            "action": "approve",
            "ids": [regs[0].id, regs[1].id, foreign.id],
            "csrf_token": token,
        },
        headers=HX,
    )
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and "<html" not in html
    assert html.count("已通过，已新建党员记录") == 2
    assert "不存在或不在您的管理范围内" in html
    assert html.count("初始密码") == 2
    assert "registrations-changed" in response.headers["HX-Trigger"]
    response = client.post(
        "/registrations/bulk",
        data={
            "action": "reject",
            "reason": "不属于本社区",
            "ids": [regs[0].id, regs[2].id],
            "csrf_token": token,
        },
    )
    html = response.get_data(as_text=True)
    assert "<html" in html  # without htmx: a whole page
    assert "不能不予通过" in html and "已不予通过" in html
    db.session.expire_all()
    assert [r.status for r in regs] == ["approved", "approved", "rejected"]
    assert foreign.status == "submitted"


def test_detail_masks_and_out_of_scope_member_is_not_shown(
    client, auth, register, tree, staff_of, make_member
):
    from tests.registration.conftest import answers

    other = Place(kind="community", name="外社区")
    db.session.add(other)
    db.session.commit()
    make_member(id_number=answers("flow_in", tree, seq=101)["id_number"], name="另一个名字")
    reg = register("flow_in")
    db.session.execute(select(Member)).scalar_one().community_id = other.id
    db.session.commit()
    user = staff_of(org=tree["committee"])
    auth.login(user.username)
    html = client.get(f"/registrations/{reg.id}").get_data(as_text=True)
    assert "管理范围以外" in html and "另一个名字" not in html
    id_number = answers("flow_in", tree, seq=101)["id_number"]
    assert id_number not in html and id_number[:6] + "********" + id_number[-4:] in html
    assert reg.phone not in html


def test_poster_has_a_qr_code_of_the_public_url(client, auth, tree):
    auth.login_as("admin")
    response = client.get(f"/registrations/poster?community={tree['community'].id}")
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and "<svg" in html
    assert f"/register?c={tree['community'].id}" in html


def test_decisions_are_rejected_on_already_decided_rows(app, register, tree, make_user):
    reg = register("flow_in")
    admin = make_user("admin")
    assert services.approve(reg, admin).ok
    db.session.commit()
    second = services.approve(reg, admin)
    assert not second.ok and "已通过" in second.message
    assert db.session.execute(select(Registration.status)).scalar_one() == "approved"


def test_purge_deletes_only_expired_rejected_and_abandoned(app, runner, register, tree, make_user):
    from datetime import timedelta

    from app.timeutil import utcnow

    admin = make_user("admin")
    old_rejected, new_rejected, old_returned, approved = (register("flow_in") for _ in range(4))
    for reg in (old_rejected, new_rejected):
        services.reject(reg, admin, "不属于本社区")
    services.return_for_correction(old_returned, admin, "请补充")
    services.approve(approved, admin)
    db.session.commit()
    long_ago = utcnow() - timedelta(days=400)
    old_rejected.decided_at = long_ago
    db.session.commit()
    db.session.execute(
        Registration.__table__.update()
        .where(Registration.id == old_returned.id)
        .values(updated_at=long_ago)
    )
    db.session.commit()
    dry = runner.invoke(args=["registration", "purge", "--dry-run"])
    assert "将删除 2 条" in dry.output
    result = runner.invoke(args=["registration", "purge"])
    assert "已删除 2 条" in result.output, result.output
    db.session.expire_all()
    left = set(db.session.execute(select(Registration.id)).scalars())
    assert left == {new_rejected.id, approved.id}
    assert db.session.execute(
        select(AuditEntry).where(AuditEntry.action == "registration_purge")
    ).scalar_one()


def test_approval_cannot_touch_a_member_outside_the_scope(
    client, auth, register, tree, staff_of, make_member
):
    from tests.registration.conftest import answers

    other = Place(kind="community", name="外社区")
    db.session.add(other)
    db.session.commit()
    outsider = make_member(id_number=answers("flow_in", tree, seq=101)["id_number"])
    outsider.community_id = other.id
    db.session.commit()
    reg = register("flow_in")
    user = staff_of(org=tree["committee"])
    auth.login(user.username)
    response = _decide(client, reg, "approve")
    assert response.status_code == 422
    assert "不在您管理范围内" in response.get_data(as_text=True)
    db.session.expire_all()
    assert reg.status == "submitted" and outsider.mobility == "none"


def test_a_concurrent_decision_gets_a_message_not_a_500(client, auth, register, tree):
    reg = register("flow_in")
    auth.login_as("admin")
    token = csrf_token(client, "/home")
    from app.registration import routes

    original = services.decide

    def racing(registration, action, user, reason):
        # Another staff user decides first (the row's version moves on underneath us).
        db.session.execute(
            Registration.__table__.update()
            .where(Registration.id == registration.id)
            .values(version=Registration.version + 1, status="rejected")
        )
        return original(registration, action, user, reason)

    routes.services.decide = racing
    try:
        response = client.post(
            f"/registrations/{reg.id}/decide",
            data={"action": "return", "reason": "请补充", "csrf_token": token},
        )
    finally:
        routes.services.decide = original
    assert response.status_code == 422
    assert "刚刚被他人处理" in response.get_data(as_text=True)


def test_queue_query_count_does_not_grow_with_rows(client, auth, register, tree, count_queries):
    auth.login_as("admin")
    register("flow_in")
    client.get("/registrations/")
    with count_queries() as few:
        client.get("/registrations/")
    for _ in range(12):
        register("flow_in")
    with count_queries() as many:
        client.get("/registrations/")
    assert many.count == few.count


def test_poster_uses_the_public_base_url(app, client, auth, tree):
    app.config["PUBLIC_BASE_URL"] = "https://dangjian.example.cn/"
    auth.login_as("admin")
    html = client.get(f"/registrations/poster?community={tree['community'].id}").get_data(
        as_text=True
    )
    assert f"https://dangjian.example.cn/register?c={tree['community'].id}" in html


def test_a_report_before_leaving_is_approved_as_a_planned_trip(
    client, auth, register, tree, make_member
):
    """外出报告 filed before departure (a future date): 通过 records a planned trip (计划外出)
    instead of failing with "流动开始日期不能晚于今天"; the category changes on the start date."""
    from datetime import timedelta

    from app.members.management import picture_of
    from app.members.services import reclassify_due
    from app.timeutil import local_today
    from tests.registration.conftest import answers

    start = local_today() + timedelta(days=20)
    over = {
        "mobility_since": start.isoformat(),
        "expected_return": (start + timedelta(days=300)).isoformat(),
    }
    existing = make_member(
        id_number=answers("flow_out_report", tree, seq=101)["id_number"],
        name="张晓明",
        building=tree["building_a"],
    )
    reg = register("flow_out_report", **over)
    auth.login_as("admin")
    response = _decide(client, reg, "approve")
    assert response.status_code == 200, response.get_data(as_text=True)
    db.session.expire_all()
    assert reg.status == "approved"
    assert existing.mobility == "flow_out" and existing.mobility_since == start
    picture = picture_of(existing, local_today())
    assert picture.trip.state_label == "计划外出" and not picture.away
    assert existing.category == "direct"  # not yet away
    assert reclassify_due(None, today=start) == [existing.id]  # takes effect on its date
    assert existing.category == "coordinated"


def test_flow_in_documents_land_in_fields_and_prefill_the_incoming_card(
    client, auth, register, tree
):
    """The card number and origin organization of a 流入党员登记 are not buried in 备注: the member
    card shows them as fields and 登记外地活动证 starts filled in."""
    reg = register("flow_in", certificate_no="民勤2025-0088")
    auth.login_as("admin")
    assert _decide(client, reg, "approve").status_code == 200
    db.session.expire_all()
    member = db.session.get(Member, reg.member_id)
    assert "民勤2025-0088" not in (member.notes or "")
    card = client.get(f"/members/{member.id}").get_data(as_text=True)
    assert "报到时登记的证件" in card and "民勤2025-0088" in card and "民勤县大坝镇党委" in card
    form = client.get(f"/certificates/record/{member.id}").get_data(as_text=True)
    assert 'value="民勤2025-0088"' in form and 'value="民勤县大坝镇党委"' in form


def test_flow_in_card_issuer_and_validity_prefill_the_incoming_card(client, auth, register, tree):
    """The card's issuing organization and validity, asked at 流入党员登记, are carried over to
    登记外地活动证 (not re-typed from the paper card)."""
    reg = register(
        "flow_in",
        certificate_no="民勤2025-0089",
        certificate_org="民勤县委组织部",
        certificate_valid_until="2027-06-30",
    )
    auth.login_as("admin")
    assert _decide(client, reg, "approve").status_code == 200
    db.session.expire_all()
    member = db.session.get(Member, reg.member_id)
    card = client.get(f"/members/{member.id}").get_data(as_text=True)
    assert "活动证发证党组织" in card and "民勤县委组织部" in card and "2027-06-30" in card
    form = client.get(f"/certificates/record/{member.id}").get_data(as_text=True)
    assert 'value="民勤县委组织部"' in form and 'value="2027-06-30"' in form
