"""The public registration: every kind end to end, steps without JavaScript and with htmx,
inline validation, residence lists, consent, idempotency, duplicates, progress, correction."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select

from app.audit.models import AuditEntry
from app.crypto import decrypt
from app.extensions import db
from app.organization.models import Place
from app.registration import rules
from app.registration.models import Registration
from app.timeutil import utcnow
from tests.conftest import make_app
from tests.registration.conftest import Walker, answers

HX = {"HX-Request": "true"}
CODE_RE = re.compile(r'class="tracking-code"[^>]*>([A-Z0-9-]+)<')


def _only_registration() -> Registration:
    db.session.expire_all()
    return db.session.execute(select(Registration)).scalar_one()


@pytest.mark.parametrize("kind", list(rules.KIND_FIELDS))
def test_each_kind_end_to_end(client, walker, tree, kind):
    values = answers(kind, tree)
    response = walker.run(kind, values)
    assert response.status_code == 303
    assert response.headers["Location"].endswith("/register/done")
    done = client.get("/register/done")
    html = done.get_data(as_text=True)
    code = CODE_RE.search(html).group(1).replace("-", "")
    assert done.headers["Cache-Control"] == "no-store"
    reg = _only_registration()
    assert reg.kind == kind and reg.status == "submitted"
    assert reg.tracking_code == code
    assert decrypt(reg.id_number_enc) == values["id_number"]
    assert "id_number" not in reg.data
    assert reg.consent_version == "2026-11" and reg.sensitive_consent and reg.consent_at
    assert reg.community_id == tree["community"].id
    assert reg.grid_id == tree["grid_a"].id and reg.building_id == tree["building_a"].id
    # Kind-specific extra fields were kept.
    extra = {
        "in_service_report": "work_unit",
        "relation_transfer_in": "transfer_letter_no",
        "flow_in": "origin_org",
        "flow_out_report": "destination",
    }[kind]
    assert reg.data[extra] == values[extra]
    entry = db.session.execute(
        select(AuditEntry).where(AuditEntry.action == "registration_submit")
    ).scalar_one()
    assert values["id_number"] not in str(entry.after)  # masked in the audit row


def test_no_personal_data_in_urls(client, walker, tree):
    walker.run("flow_in", answers("flow_in", tree))
    html = client.get("/register/done").get_data(as_text=True)
    for href in re.findall(r'(?:href|action|hx-get|hx-post)="([^"]+)"', html):
        assert "1391234" not in href and "620302" not in href


def test_start_page_lists_the_four_kinds_and_presets_community(client, tree):
    html = client.get(f"/register?c={tree['community'].id}").get_data(as_text=True)
    for label in ("在职党员到社区报到", "组织关系转入", "流入党员登记", "外出报告"):
        assert label in html
    assert f"c={tree['community'].id}" in html
    assert "金川社区" in html
    form = client.get(f"/register/flow_in?c={tree['community'].id}").get_data(as_text=True)
    assert "身份信息" in form


def test_login_page_links_to_registration(client):
    assert 'href="/register"' in client.get("/login").get_data(as_text=True)


def test_invalid_step_keeps_what_was_typed_and_answers_422(walker, tree):
    walker.start("flow_in")
    values = answers("flow_in", tree, id_number="620302198503041235", name="王  芳")
    response = walker.post("identity", values)
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert "校验位不正确" in html
    assert 'value="620302198503041235"' in html  # what was typed is still there
    assert 'aria-invalid="true"' in html
    fixed = walker.post("identity", answers("flow_in", tree))
    assert fixed.status_code == 200 and "党籍信息" in fixed.get_data(as_text=True)


def test_back_and_forward_never_lose_values(walker, tree):
    values = answers("flow_in", tree)
    walker.start("flow_in")
    walker.post("identity", values)
    walker.post("party", values)
    back = walker.post("situation", {**values, "occupation": "焊工"}, action="back")
    html = back.get_data(as_text=True)
    assert back.status_code == 200 and 'value="民勤县大坝镇党委"' in html
    again = walker.post("party", values)
    assert 'value="焊工"' in again.get_data(as_text=True)  # typed on a step left with "back"
    back2 = walker.post("situation", values, action="back")
    back3 = walker.post("party", values, action="back")
    assert values["id_number"] in back3.get_data(as_text=True)
    assert back2.status_code == 200


def test_htmx_step_returns_only_the_wizard_fragment(walker, tree):
    walker.start("flow_in")
    response = walker.post("identity", answers("flow_in", tree), headers=HX)
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "<html" not in html and "党籍信息" in html and 'name="draft"' in html
    bad = walker.post("party", {"joined_on": "2030-01-01"}, headers=HX)
    assert bad.status_code == 422 and "<html" not in bad.get_data(as_text=True)


def test_htmx_submit_redirects_the_whole_page(walker, tree):
    values = answers("flow_in", tree)
    walker.start("flow_in")
    for step in rules.STEPS[:-1]:
        walker.post(step, values)
    response = walker.post("consent", values, action="submit", headers=HX)
    assert response.status_code == 200
    assert response.headers["HX-Redirect"].endswith("/register/done")


def test_tampered_or_missing_draft_starts_again(client, walker, tree):
    walker.start("flow_in")
    walker.draft = walker.draft[:-3] + "abc"
    response = walker.post("identity", answers("flow_in", tree))
    assert response.status_code == 422
    assert "已过期" in response.get_data(as_text=True)


def test_consent_is_required_both_ticks(walker, tree):
    values = answers("flow_in", tree)
    walker.start("flow_in")
    for step in rules.STEPS[:-1]:
        walker.post(step, values)
    html = walker.last.get_data(as_text=True)
    for text in ("收集哪些信息", "为什么收集", "谁能看到", "保存多久", "敏感个人信息", "2026-11"):
        assert text in html
    response = walker.post("consent", {**values, "sensitive_consent": ""}, action="submit")
    assert response.status_code == 422 and "勾选" in response.get_data(as_text=True)
    assert db.session.execute(select(func.count()).select_from(Registration)).scalar() == 0
    ok = walker.post("consent", values, action="submit")
    assert ok.status_code == 303


def test_submit_is_idempotent(client, walker, tree):
    values = answers("flow_in", tree)
    first = walker.run("flow_in", values)
    assert first.status_code == 303
    # Double click / retry / back-and-submit: the same draft and key again.
    for _ in range(3):
        again = walker.post("consent", values, action="submit")
        assert again.status_code == 303
    assert db.session.execute(select(func.count()).select_from(Registration)).scalar() == 1


def test_second_open_registration_of_the_same_person_gets_a_clear_message(app, tree):
    values = answers("flow_in", tree)
    assert Walker(app.test_client()).run("flow_in", values).status_code == 303
    other = Walker(app.test_client()).run("in_service_report", answers("in_service_report", tree))
    assert other.status_code == 422
    assert "已有一份正在办理的报到登记" in other.get_data(as_text=True)
    assert db.session.execute(select(func.count()).select_from(Registration)).scalar() == 1


def test_tampered_final_values_are_checked_again(walker, tree):
    """The consent step re-checks every step: a forged draft value cannot slip through."""
    from app.registration.drafts import Draft

    values = answers("flow_in", tree)
    walker.start("flow_in")
    for step in rules.STEPS[:-1]:
        walker.post(step, values)
    draft = Draft.load(walker.draft)
    draft.values["phone"] = "123"
    walker.draft = draft.dump()
    response = walker.post("consent", values, action="submit")
    assert response.status_code == 422 and "手机号应为 11 位" in response.get_data(as_text=True)


def test_inline_validation_endpoints(client, walker, tree):
    walker.start("flow_in")
    token = walker.csrf
    cases = {
        "id_number": ("620302198503041235", "校验位不正确"),
        "phone": ("1391234567", "11 位"),
        "joined_on": ("2030-01-01", "不能晚于今天"),
        "name": ("", "请填写姓名"),
    }
    for field, (value, message) in cases.items():
        response = client.post(
            f"/register/validate/{field}",
            data={field: value, "draft": walker.draft, "csrf_token": token},
            headers=HX,
        )
        html = response.get_data(as_text=True)
        assert response.status_code == 200
        assert message in html and f'id="{field}-error"' in html and "<html" not in html
    good = client.post(
        "/register/validate/id_number",
        data={"id_number": answers("flow_in", tree)["id_number"], "csrf_token": token},
    )
    assert re.search(r'id="id_number-error" role="alert"></p>', good.get_data(as_text=True))
    assert client.post("/register/validate/consent", data={"csrf_token": token}).status_code == 404


def test_inline_date_rule_uses_the_id_number_in_the_draft(client, walker, tree):
    values = answers("flow_in", tree)
    walker.start("flow_in")
    walker.post("identity", values)  # born 1985-03-04
    response = client.post(
        "/register/validate/joined_on",
        data={"joined_on": "2002-05-01", "draft": walker.draft, "csrf_token": walker.csrf},
    )
    assert "年满 18" in response.get_data(as_text=True)


def test_building_search_hides_retired_grids_buildings(client, tree):
    """Finding the building by typing: tests/registration/test_correction_and_building_search.py."""
    from tests.conftest import csrf_token

    retired = Place(
        kind="grid", name="撤销网格", parent_id=tree["community"].id, retired_at=utcnow()
    )
    db.session.add(retired)
    db.session.flush()
    db.session.add(Place(kind="building", name="7号楼", parent_id=retired.id))
    db.session.commit()
    token = csrf_token(client, "/register/flow_in")

    def search(query: str) -> str:
        data = {"community_id": str(tree["community"].id), "building_q": query}
        response = client.post("/register/buildings", data=data, headers={"X-CSRFToken": token})
        assert response.status_code == 200
        return response.get_data(as_text=True)

    assert "1号楼" in search("1号楼") and "第一网格" in search("1号楼")
    assert "没有找到" in search("7号楼")


def _status(client, code: str, phone: str):
    from tests.conftest import csrf_token

    token = csrf_token(client, "/register/status")
    return client.post("/register/status", data={"code": code, "phone": phone, "csrf_token": token})


def test_status_page_shows_status_and_reason_only(app, client, register, tree):
    reg = register("flow_in")
    phone = reg.phone
    wrong = _status(client, reg.tracking_code, "13900000000")
    assert wrong.status_code == 422 and "不正确" in wrong.get_data(as_text=True)
    reg.status, reg.decision_reason = "rejected", "经核实不属于本社区"
    db.session.commit()
    pretty = rules.format_tracking_code(reg.tracking_code).lower()
    response = _status(client, pretty, phone)
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and "未通过" in html and "经核实不属于本社区" in html
    assert response.headers["Cache-Control"] == "no-store"
    assert "民勤县" not in html and reg.name not in html  # status and reason only


def test_status_is_rate_limited():
    app = make_app(RATELIMIT_ENABLED=True, SQLALCHEMY_DATABASE_URI="sqlite://")
    with app.app_context():
        db.create_all()
        client = app.test_client()
        from tests.conftest import csrf_token

        token = csrf_token(client, "/register/status")
        codes = [
            client.post(
                "/register/status", data={"code": "X", "phone": "1", "csrf_token": token}
            ).status_code
            for _ in range(12)
        ]
        assert codes[:10] == [422] * 10 and 429 in codes[10:]
        db.session.remove()
        db.drop_all()


def test_returned_registration_can_be_corrected_and_resubmitted(client, register, tree, make_user):
    from app.registration import services

    reg = register("flow_in")
    staff = make_user("admin")
    services.return_for_correction(reg, staff, "请补充原党组织联系人电话")
    db.session.commit()
    assert client.get("/register/correct").status_code == 302  # not without code + phone
    html = _status(client, reg.tracking_code, reg.phone).get_data(as_text=True)
    assert "请补充原党组织联系人电话" in html and "修改并重新提交" in html
    form = client.get("/register/correct")
    page = form.get_data(as_text=True)
    assert form.status_code == 200 and 'value="张晓明"' in page
    assert "请重新填写身份证号" in page
    walker = Walker(client)
    walker._read(form)
    walker.kind = "flow_in"
    values = answers("flow_in", tree, seq=101, origin_org_contact="王书记 13800002222")
    for step in rules.STEPS:
        response = walker.post(step, values, "submit" if step == "consent" else "next")
    assert response.status_code == 303
    db.session.expire_all()
    assert reg.status == "submitted" and reg.decision_reason is None
    assert reg.data["origin_org_contact"] == "王书记 13800002222"
    assert db.session.execute(select(func.count()).select_from(Registration)).scalar() == 1


def test_receipt_is_printable_and_masked(client, walker, tree):
    values = answers("flow_in", tree)
    walker.run("flow_in", values)
    response = client.get("/register/receipt")
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and "党员报到回执" in html
    assert values["id_number"] not in html and values["id_number"][-4:] in html
    assert "139****" in html and response.headers["Cache-Control"] == "no-store"


def test_receipt_needs_the_session(client):
    assert client.get("/register/receipt").status_code == 302
    assert client.get("/register/done").status_code == 302


def test_receipt_pdf_download(client, walker, tree):
    walker.run("flow_in", answers("flow_in", tree))
    page = client.get("/register/receipt").get_data(as_text=True)
    assert "/register/receipt.pdf" in page
    response = client.get("/register/receipt.pdf")
    assert response.status_code == 200
    assert response.mimetype == "application/pdf" and response.data[:5] == b"%PDF-"
    assert response.headers["Cache-Control"] == "no-store"
    assert "attachment" in response.headers["Content-Disposition"]


def test_submits_are_rate_limited():
    """Ten final submits a minute per address; the other steps have a wider limit."""
    app = make_app(
        RATELIMIT_ENABLED=True, WTF_CSRF_ENABLED=False, SQLALCHEMY_DATABASE_URI="sqlite://"
    )
    with app.app_context():
        db.create_all()
        client = app.test_client()
        codes = [
            client.post(
                "/register/flow_in", data={"step": "consent", "action": "submit", "draft": "x"}
            ).status_code
            for _ in range(11)
        ]
        assert codes[:10] == [422] * 10 and codes[10] == 429
        steps = [
            client.post("/register/flow_in", data={"step": "identity", "draft": "x"}).status_code
            for _ in range(20)
        ]
        assert 429 not in steps
        db.session.remove()
        db.drop_all()


def test_a_shared_phone_forgets_the_receipt_after_an_hour(client, walker, tree, monkeypatch):
    import time

    from app.registration import routes

    walker.run("flow_in", answers("flow_in", tree))
    assert client.get("/register/receipt").status_code == 200
    later = time.time() + routes.SESSION_MINUTES * 60 + 5
    monkeypatch.setattr(routes.time, "time", lambda: later)
    assert client.get("/register/receipt").status_code == 302
    assert client.get("/register/done").status_code == 302
