"""The public form never tells a stranger that an ID number has a pending registration or is a
member's: only someone who also gives the phone number recorded on the pending registration is
told; anyone else gets the ordinary answer, and the submission waits with the pending
registration for the staff (同一身份证号的另一次提交) — never a second open registration."""

from __future__ import annotations

import re

from sqlalchemy import func, select

from app.audit.models import AuditEntry
from app.extensions import db
from app.registration import rules, services
from app.registration.models import MERGED, OPEN_STATUSES, Registration
from tests.conftest import csrf_token
from tests.registration.conftest import Walker, answers

HX = {"HX-Request": "true"}
CODE_RE = re.compile(r'class="tracking-code"[^>]*>([A-Z0-9-]+)<')
TOKEN_RE = re.compile(r"[\w-]{20,}\.[\w-]{4,}\.[\w-]{20,}")  # signed CSRF tokens
OWNER_PHONE = "13912340001"
OTHER_PHONE = "13700000002"


def _count(*where) -> int:
    db.session.expire_all()
    return db.session.execute(
        select(func.count()).select_from(Registration).where(*where)
    ).scalar_one()


def _pending(app, tree) -> Registration:
    """The victim's registration: in-service report, phone OWNER_PHONE."""
    values = answers("in_service_report", tree, name="李红梅", phone=OWNER_PHONE)
    assert Walker(app.test_client()).run("in_service_report", values).status_code == 303
    return db.session.execute(select(Registration)).scalar_one()


def _submit(app, values, headers=None):
    """A new visitor (a fresh browser) submits the whole form; returns the final response and
    the done page (the page the visitor lands on)."""
    client = app.test_client()
    walker = Walker(client)
    walker.start("flow_in")
    for step in rules.STEPS[:-1]:
        assert walker.post(step, values).status_code == 200
    final = walker.post("consent", values, action="submit", headers=headers or {})
    done = client.get("/register/done")
    return final, done, client


def _normalized(html: str, code: str) -> str:
    """A page with what differs between any two submissions taken out: its tracking code and
    the CSRF token."""
    return TOKEN_RE.sub(
        "", html.replace(code, "CODE").replace(rules.format_tracking_code(code), "CODE")
    )


def _code(done) -> str:
    return CODE_RE.search(done.get_data(as_text=True)).group(1).replace("-", "")


def test_a_stranger_with_the_id_number_gets_the_ordinary_answer(app, tree):
    pending = _pending(app, tree)
    # A fresh submission (another person, another ID number): the answer everyone gets.
    fresh, fresh_done, _ = _submit(app, answers("flow_in", tree, seq=2, phone="13600000003"))
    # The same ID number as the pending registration, another phone number.
    probe_values = answers("flow_in", tree, seq=1, phone=OTHER_PHONE)
    assert probe_values["id_number"] == answers("in_service_report", tree)["id_number"]
    probe, probe_done, _ = _submit(app, probe_values)

    assert probe.status_code == fresh.status_code == 303
    assert probe.headers["Location"] == fresh.headers["Location"]
    assert probe_done.status_code == fresh_done.status_code == 200
    html = probe_done.get_data(as_text=True)
    assert "正在办理" not in html and "李红梅" not in html
    code, fresh_code = _code(probe_done), _code(fresh_done)
    assert len(code) == len(fresh_code) == rules.TRACKING_LENGTH
    assert _normalized(html, code) == _normalized(fresh_done.get_data(as_text=True), fresh_code)

    # No second open registration: the submission waits with the pending one, audited.
    assert (
        _count(Registration.id_hash == pending.id_hash, Registration.status.in_(OPEN_STATUSES)) == 1
    )
    merged = db.session.execute(
        select(Registration).where(Registration.tracking_code == code)
    ).scalar_one()
    assert merged.status == MERGED and merged.merged_into_id == pending.id
    assert merged.phone == OTHER_PHONE and merged.kind == "flow_in"
    entry = db.session.execute(
        select(AuditEntry).where(AuditEntry.action == "registration_merge")
    ).scalar_one()
    assert entry.object_id == str(merged.id)
    assert entry.after["merged_into"] == pending.id
    assert probe_values["id_number"] not in str(entry.after)
    # The staff queue still counts one pending registration for the person.
    assert _count(Registration.status == "submitted") == 2  # the victim's and the fresh one


def test_the_htmx_answer_is_the_ordinary_one_too(app, tree):
    _pending(app, tree)
    fresh, _, _ = _submit(app, answers("flow_in", tree, seq=2, phone="13600000003"), HX)
    probe, _, _ = _submit(app, answers("flow_in", tree, seq=1, phone=OTHER_PHONE), HX)
    assert probe.status_code == fresh.status_code
    assert probe.headers.get("HX-Redirect") == fresh.headers.get("HX-Redirect")
    assert probe.get_data() == fresh.get_data()


def test_the_owner_with_the_phone_number_is_told(app, tree):
    pending = _pending(app, tree)
    response, _, _ = _submit(app, answers("flow_in", tree, seq=1, phone=OWNER_PHONE))
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert "该身份证号已有一份正在办理的报到登记" in html and "查询进度" in html
    assert _count() == 1 and pending.status == "submitted"


def test_an_existing_member_id_number_gets_the_ordinary_answer(app, tree, make_member):
    member = make_member(name="王建国", phone=OWNER_PHONE)
    from app.crypto import decrypt

    number = decrypt(member.id_number_enc)
    fresh, fresh_done, _ = _submit(app, answers("flow_in", tree, seq=2, phone="13600000003"))
    probe, probe_done, _ = _submit(
        app, answers("flow_in", tree, seq=1, id_number=number, phone=OTHER_PHONE)
    )
    assert probe.status_code == fresh.status_code == 303
    html = probe_done.get_data(as_text=True)
    assert "王建国" not in html
    assert _normalized(html, _code(probe_done)) == _normalized(
        fresh_done.get_data(as_text=True), _code(fresh_done)
    )


def test_inline_validation_of_the_id_number_tells_nothing(app, client, tree, make_member):
    """Leaving the ID field (htmx, VALIDATE_LIMIT) answers the same for a pending registration's
    ID number, a member's ID number and an unknown one."""
    _pending(app, tree)
    member = make_member()
    from app.crypto import decrypt

    token = csrf_token(client, "/register/flow_in")
    answers_ = []
    for number in (
        answers("flow_in", tree, seq=1)["id_number"],  # pending
        decrypt(member.id_number_enc),  # a member
        answers("flow_in", tree, seq=77)["id_number"],  # nobody
    ):
        response = client.post(
            "/register/validate/id_number",
            data={"id_number": number, "kind": "flow_in", "csrf_token": token},
            headers=HX,
        )
        answers_.append((response.status_code, response.get_data()))
    assert answers_[0] == answers_[1] == answers_[2]


def _status(client, code: str, phone: str):
    token = csrf_token(client, "/register/status")
    return client.post("/register/status", data={"code": code, "phone": phone, "csrf_token": token})


def test_the_status_page_of_a_merged_submission_reveals_nothing(app, tree):
    _pending(app, tree)
    _, fresh_done, _ = _submit(app, answers("flow_in", tree, seq=2, phone="13600000003"))
    _, probe_done, probe_client = _submit(app, answers("flow_in", tree, seq=1, phone=OTHER_PHONE))
    fresh_code, code = _code(fresh_done), _code(probe_done)

    fresh_client = app.test_client()
    fresh_status = _status(fresh_client, fresh_code, "13600000003")
    status = _status(probe_client, code, OTHER_PHONE)
    assert status.status_code == fresh_status.status_code == 200
    html = status.get_data(as_text=True)
    assert "待审核" in html and "社区工作人员正在审核" in html
    for secret in (
        "李红梅",
        "在职党员到社区报到",
        "供电公司",
        "另一次提交",
        "并入",
        "3912****0001",
    ):
        assert secret not in html
    assert _normalized(html, code).replace(OTHER_PHONE, "P") == _normalized(
        fresh_status.get_data(as_text=True), fresh_code
    ).replace("13600000003", "P")
    # The receipt is the submitter's own: own name, own kind, pending.
    receipt = probe_client.get("/register/receipt").get_data(as_text=True)
    assert "待审核" in receipt and "流入党员登记" in receipt and "李红梅" not in receipt
    # The victim's code with the stranger's phone finds nothing.
    victim = db.session.execute(
        select(Registration).where(
            Registration.status == "submitted", Registration.kind == "in_service_report"
        )
    ).scalar_one()
    assert _status(app.test_client(), victim.tracking_code, OTHER_PHONE).status_code == 422


def test_a_corrected_registration_moved_to_a_pending_id_number_is_merged(
    app, client, register, tree, make_user
):
    pending = _pending(app, tree)
    mine = register("flow_in", phone=OTHER_PHONE)
    services.return_for_correction(mine, make_user("admin"), "请补充原党组织联系人电话")
    db.session.commit()
    _status(client, mine.tracking_code, OTHER_PHONE)
    walker = Walker(client)
    walker._read(client.get("/register/correct"))
    walker.kind = "flow_in"
    values = answers("flow_in", tree, seq=1, phone=OTHER_PHONE)  # the pending one's ID number
    for step in rules.STEPS:
        response = walker.post(step, values, "submit" if step == "consent" else "next")
    assert response.status_code == 303
    db.session.expire_all()
    assert mine.status == MERGED and mine.merged_into_id == pending.id
    assert (
        _count(Registration.id_hash == pending.id_hash, Registration.status.in_(OPEN_STATUSES)) == 1
    )
    html = _status(app.test_client(), mine.tracking_code, OTHER_PHONE).get_data(as_text=True)
    assert "待审核" in html and "请补充" not in html


# ---- the staff side ----------------------------------------------------------------------------


def _merged_pair(register, tree):
    """A pending flow-in registration and another submission for its ID number (another phone,
    another origin org) merged into it through the service."""
    from app.timeutil import local_today

    pending = register("flow_in", phone=OWNER_PHONE)
    number = answers("flow_in", tree, seq=101)["id_number"]
    raw = answers(
        "flow_in", tree, seq=101, name="张晓明", phone=OTHER_PHONE, origin_org="永昌县城关镇党委"
    )
    values, errors = rules.clean_all("flow_in", raw, local_today())
    assert not errors and values["id_number"] == number
    other, created = services.submit("flow_in", values, "key-merged")
    db.session.commit()
    assert created and other.status == MERGED and other.merged_into_id == pending.id
    return pending, other


def _post(client, url, **data):
    token = csrf_token(client, "/home")
    return client.post(url, data={**data, "csrf_token": token})


def test_staff_see_the_other_submission_and_resolve_it_before_deciding(
    client, auth, register, tree, staff_of
):
    pending, other = _merged_pair(register, tree)
    auth.login(staff_of(org=tree["committee"]).username)
    queue = client.get("/registrations/").get_data(as_text=True)
    assert f"/registrations/{pending.id}" in queue and "另有 1 次提交" in queue
    assert f"/registrations/{other.id}" not in queue  # one row per person
    assert client.get("/registrations/pending-count").get_data(as_text=True) == "1"
    # The merged row's own address leads to the registration it waits with.
    assert (
        client.get(f"/registrations/{other.id}")
        .headers["Location"]
        .endswith(f"/registrations/{pending.id}")
    )

    page = client.get(f"/registrations/{pending.id}")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and "同一身份证号的另一次提交" in html
    assert "永昌县城关镇党委" in html and "民勤县大坝镇党委" in html
    assert re.search(r'<tr class="diff-changed"><th scope="row">原党组织', html)
    assert re.search(r'<tr class="diff-changed"><th scope="row">手机号', html)
    assert OTHER_PHONE not in html and "137****0002" in html  # masked like every phone

    # Approving waits until the other submission is resolved.
    approve = _post(client, f"/registrations/{pending.id}/decide", action="approve")
    assert approve.status_code == 422 and "另一次提交未处理" in approve.get_data(as_text=True)
    url = f"/registrations/{pending.id}/submissions/{other.id}"
    no_reason = _post(client, url, action="discard")
    assert no_reason.status_code == 422 and "请填写理由" in no_reason.get_data(as_text=True)
    discard = _post(
        client, url, action="discard", **{f"s{other.id}-reason": "经电话核实非本人提交"}
    )
    assert discard.status_code == 200 and "已作废此次提交" in discard.get_data(as_text=True)
    db.session.expire_all()
    assert other.status == "rejected" and other.decision_reason == "经电话核实非本人提交"
    assert db.session.execute(
        select(AuditEntry).where(AuditEntry.action == "registration_merged_discard")
    ).scalar_one()
    assert _post(client, f"/registrations/{pending.id}/decide", action="approve").status_code == 200
    db.session.expire_all()
    assert pending.status == "approved"


def test_staff_can_take_the_other_submission_over(client, auth, register, tree, staff_of):
    pending, other = _merged_pair(register, tree)
    auth.login(staff_of(org=tree["committee"]).username)
    response = _post(client, f"/registrations/{pending.id}/submissions/{other.id}", action="adopt")
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and "已改为以此次提交为准" in html
    db.session.expire_all()
    assert other.status == "submitted" and other.merged_into_id is None
    assert pending.status == MERGED and pending.merged_into_id == other.id
    assert (
        _count(Registration.id_hash == other.id_hash, Registration.status.in_(OPEN_STATUSES)) == 1
    )
    assert "同一身份证号的另一次提交" in html  # the former registration now waits with it
    assert db.session.execute(
        select(AuditEntry).where(AuditEntry.action == "registration_merged_adopt")
    ).scalar_one()
    # The former registration's owner still reads 待审核.
    status = _status(
        app_client := client.application.test_client(), pending.tracking_code, OWNER_PHONE
    )
    assert "待审核" in status.get_data(as_text=True)
    del app_client
    # A submission already handled cannot be handled again.
    again = _post(client, f"/registrations/{pending.id}/submissions/{other.id}", action="adopt")
    assert again.status_code == 404


def test_other_submissions_follow_the_scope_of_the_registration_they_wait_with(
    client, auth, register, tree, staff_of
):
    from app.organization.models import Place

    pending, other = _merged_pair(register, tree)
    elsewhere = Place(kind="community", name="外社区")
    db.session.add(elsewhere)
    db.session.commit()
    auth.login(staff_of(place=elsewhere).username)
    assert client.get(f"/registrations/{pending.id}").status_code == 404
    url = f"/registrations/{pending.id}/submissions/{other.id}"
    assert _post(client, url, action="adopt").status_code == 404


def test_purge_takes_the_waiting_submissions_along(app, runner, register, tree):
    from datetime import timedelta

    from app.timeutil import utcnow

    pending, other = _merged_pair(register, tree)
    # Returned (the other submission arrived after the return) and never corrected.
    db.session.execute(
        Registration.__table__.update()
        .where(Registration.id == pending.id)
        .values(status="returned", updated_at=utcnow() - timedelta(days=400))
    )
    db.session.commit()
    result = runner.invoke(args=["registration", "purge"])
    assert "已删除 2 条" in result.output, result.output
    assert _count() == 0
