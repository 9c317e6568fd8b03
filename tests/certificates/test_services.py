"""Certificate lifecycle, numbering, signed tokens and verification (services)."""

from __future__ import annotations

import threading
from datetime import date, timedelta

import pytest
from sqlalchemy import select

from app import uow
from app.audit.models import AuditEntry
from app.certificates import services
from app.certificates.models import Certificate, CertificateCheck
from app.certificates.signing import token_for
from app.errors import DomainError
from app.extensions import db
from app.timeutil import add_months, local_today


def test_number_is_community_code_year_sequence(away, issue, make_member, tree):
    tree["community"].code = "620302001"
    db.session.commit()
    first = issue(away)
    year = local_today().year
    assert first.number == f"620302001-{year}-0001"
    other = make_member(
        building=tree["building_b"],
        mobility="flow_out",
        mobility_place="北京",
        mobility_since=local_today(),
    )
    second = issue(other)
    assert second.number == f"620302001-{year}-0002"


def test_serial_is_random_long_and_not_personal(away, issue):
    cert = issue(away)
    assert len(cert.serial) >= 32  # 192 bits url-safe
    assert away.name not in cert.serial and away.id_last4 not in cert.serial
    token = token_for(cert)
    assert token.startswith(cert.serial + ".")


def test_issue_sets_interval_due_hash_and_reclassifies(away, issue):
    cert = issue(away)
    assert cert.verification_interval_months == 12
    assert cert.next_verification_due == add_months(cert.issued_on, 12)
    assert len(cert.pdf_sha256) == 64 and len(cert.short_code) == 8
    db.session.refresh(away)
    assert away.category == "coordinated"
    assert db.session.execute(
        select(AuditEntry).where(AuditEntry.action == "certificate_issue")
    ).scalar_one()


def test_quarterly_interval_from_settings(away, issue):
    from app.settings import Setting

    db.session.add(Setting(key="certificate_verification_months", value=3))
    db.session.commit()
    cert = issue(away)
    assert cert.verification_interval_months == 3
    assert cert.next_verification_due == add_months(cert.issued_on, 3)


@pytest.mark.parametrize(
    ("start", "months", "expected"),
    [
        (date(2026, 1, 31), 1, date(2026, 2, 28)),
        (date(2024, 1, 31), 1, date(2024, 2, 29)),
        (date(2026, 11, 22), 3, date(2027, 2, 22)),
        (date(2026, 5, 10), 12, date(2027, 5, 10)),
    ],
)
def test_add_months(start, months, expected):
    assert add_months(start, months) == expected


def test_short_trip_refused(make_member, tree, issue):
    today = local_today()
    member = make_member(
        building=tree["building_a"],
        mobility="flow_out",
        mobility_place="兰州",
        mobility_since=today,
        mobility_expected_return=today + timedelta(days=60),
    )
    with pytest.raises(DomainError, match="不满 6 个月"):
        issue(member)


def test_an_open_ended_trip_needs_the_deliberate_tick(make_member, tree, issue):
    """Leaving 预计返回时间 blank no longer skips the 6-month rule: a member who left 2 months ago
    gets a card only if the trip is ticked 长期外出 (or has lasted 6 months)."""
    today = local_today()
    member = make_member(
        building=tree["building_a"],
        mobility="flow_out",
        mobility_place="兰州",
        mobility_since=today - timedelta(days=60),
    )
    with pytest.raises(DomainError, match="长期外出"):
        issue(member, expected_return=None, open_ended=False)
    cert = issue(member, expected_return=None, open_ended=True)
    assert cert.status == "issued"
    assert member.mobility_open_ended and member.category == "coordinated"
    lasted = make_member(
        building=tree["building_a"],
        mobility="flow_out",
        mobility_place="兰州",
        mobility_since=today - timedelta(days=200),
    )
    assert issue(lasted, expected_return=None, open_ended=False).status == "issued"


def test_second_open_certificate_refused(away, issue):
    issue(away)
    with pytest.raises(DomainError, match="已持有有效的活动证"):
        issue(away)


def test_check_moves_next_due_and_is_recorded(away, issue):
    cert = issue(away)
    services.record_check(cert, None, local_today(), "深圳市南山区某党支部", "表现良好")
    db.session.commit()
    assert cert.next_verification_due == add_months(local_today(), 12)
    assert db.session.execute(select(CertificateCheck)).scalar_one().opinion == "表现良好"


@pytest.mark.parametrize(
    ("first", "second"),
    [
        ("returned", "revoked"),
        ("revoked", "returned"),
        ("transferred", "revoked"),
        ("expired", "returned"),
    ],
)
def test_closed_certificate_refuses_transitions(away, issue, first, second):
    cert = issue(away)
    services.close(cert, None, first, "原因")
    db.session.commit()
    with pytest.raises(DomainError, match="不能"):
        services.close(cert, None, second, "原因")
    with pytest.raises(DomainError):
        services.record_check(cert, None, local_today(), "组织", None)
    with pytest.raises(DomainError):
        services.reissue(cert, None, "遗失")


def test_revoke_needs_reason(away, issue):
    cert = issue(away)
    with pytest.raises(DomainError, match="原因"):
        services.close(cert, None, "revoked", "  ")


def test_check_date_rules(away, issue):
    cert = issue(away)
    with pytest.raises(DomainError, match="晚于今天"):
        services.record_check(cert, None, local_today() + timedelta(days=1), "组织", None)
    with pytest.raises(DomainError, match="早于发证日期"):
        services.record_check(cert, None, cert.issued_on - timedelta(days=1), "组织", None)


def test_reissue_keeps_number_history(away, issue):
    old = issue(away)
    new = services.reissue(old, None, "遗失")
    db.session.commit()
    assert new.number != old.number and new.serial != old.serial
    assert new.replaces_id == old.id
    assert old.status == "revoked" and new.number in old.closed_reason
    assert [c.id for c in services.history_chain(new)] == [old.id, new.id]
    assert [c.id for c in services.history_chain(old)] == [old.id, new.id]
    assert services.verify_token(token_for(old)).state == "revoked"
    assert services.verify_token(token_for(new)).state == "valid"


def test_renew_extends_and_reopens_expired(away, issue):
    cert = issue(away)
    services.close(cert, None, "expired")
    before = cert.valid_until
    services.renew(cert, None)
    db.session.commit()
    assert cert.status == "issued" and cert.valid_until > before


def test_expire_overdue(away, issue):
    cert = issue(away)
    cert.valid_until = local_today() - timedelta(days=1)
    db.session.commit()
    assert services.verify_token(token_for(cert)).state == "expired"
    assert services.expire_overdue() == 1
    db.session.commit()
    assert cert.status == "expired"


def test_verify_answers(away, issue, app):
    cert = issue(away)
    token = token_for(cert)
    assert services.verify_token(token).state == "valid"
    serial, signature = token.split(".")
    # tampered: signature of another serial, or a changed character
    flipped = serial[:-1] + ("A" if serial[-1] != "A" else "B")
    assert services.verify_token(f"{flipped}.{signature}").state == "tampered"
    assert services.verify_token(f"{serial}.{'x' * len(signature)}").state == "tampered"
    # forged: not even in the token's shape
    assert services.verify_token("hello").state == "forged"
    assert services.verify_token("").state == "forged"
    # a token signed with another key
    from itsdangerous import Signer

    other = Signer("not-our-key", salt="linli.certificate.qr").sign(serial).decode()
    assert services.verify_token(other).state == "tampered"
    # signed but unknown serial
    assert services.verify_token(services._signer().sign("x" * 32).decode()).state == "unknown"


def test_number_unique_under_concurrency(tmp_path, make_app_file):
    """Eight threads issue at once (own connections, a file database): all numbers distinct."""
    app, members = make_app_file(8)
    numbers: list[str] = []
    errors: list[BaseException] = []

    def work(member_id: int) -> None:
        try:
            with app.app_context():
                from app.members.models import Member

                member = db.session.get(Member, member_id)
                data = services.prefill(member)
                cert = uow.retrying(lambda: services.issue_certificate(member, data, None))
                numbers.append(cert.number)
                db.session.commit()  # the test owns the transaction, as a request would
                db.session.remove()
        except BaseException as exc:  # noqa: BLE001
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(m,)) for m in members]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors
    assert len(numbers) == 8 and len(set(numbers)) == 8
    with app.app_context():
        assert db.session.execute(select(Certificate.number)).scalars().all().__len__() == 8


def test_cli_expire_and_worker_command(runner, away, issue):
    cert = issue(away)
    cert.valid_until = local_today() - timedelta(days=3)
    db.session.commit()
    result = runner.invoke(args=["certificates", "expire"])
    assert result.exit_code == 0 and "1" in result.output
    db.session.expire_all()
    assert db.session.get(Certificate, cert.id).status == "expired"
    help_text = runner.invoke(args=["worker", "--help"]).output
    assert "--workers" in help_text
