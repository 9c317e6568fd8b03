"""The audit log's hash chain makes tampering visible (SPEC §12, issue [7/7] finding 9)."""

from __future__ import annotations

from sqlalchemy import text

from app.audit import record
from app.audit.chain import disable_append_only_sql, enable_append_only_sql, verify
from app.audit.models import AuditChain, AuditEntry
from app.extensions import db


def _write(n: int) -> list[AuditEntry]:
    entries = [
        record("member_update", object_type="member", object_id=i, after={"phone": f"13{i}"})
        for i in range(n)
    ]
    db.session.commit()
    return entries


def _tamper(statement: str, **params) -> None:
    for ddl in disable_append_only_sql(db.engine.dialect.name):
        db.session.execute(text(ddl))
    db.session.execute(text(statement), params)
    for ddl in enable_append_only_sql(db.engine.dialect.name):
        db.session.execute(text(ddl))
    db.session.commit()


def test_rows_are_chained_in_order(app):
    entries = _write(3)
    entries += _write(2)
    assert [e.seq for e in entries] == [1, 2, 3, 4, 5]
    assert entries[0].prev_hash == "0" * 64
    for before, after in zip(entries, entries[1:], strict=False):
        assert after.prev_hash == before.row_hash
    head = db.session.get(AuditChain, 1)
    assert (head.seq, head.last_hash) == (5, entries[-1].row_hash)
    result = verify()
    assert result.ok and result.checked == 5


def test_an_edited_row_is_reported(app):
    entries = _write(4)
    _tamper("UPDATE audit_entry SET detail = 'x' WHERE id = :id", id=entries[2].id)
    result = verify()
    assert not result.ok
    assert (result.broken_seq, result.broken_id) == (3, entries[2].id)
    assert "内容已被改动" in result.summary()


def test_a_deleted_row_is_reported(app):
    entries = _write(4)
    _tamper("DELETE FROM audit_entry WHERE id = :id", id=entries[1].id)
    result = verify()
    assert not result.ok and result.broken_seq == 2
    assert "已被删除" in result.summary()


def test_deleted_last_rows_are_reported(app):
    entries = _write(4)
    _tamper("DELETE FROM audit_entry WHERE id = :id", id=entries[3].id)
    result = verify()
    assert not result.ok and "链尾" in result.summary()


def test_a_rehashed_row_without_the_key_does_not_pass(app):
    """Someone who recomputes a plain SHA-256 (no key) cannot make an edit look right."""
    import hashlib

    entries = _write(2)
    fake = hashlib.sha256(b"forged").hexdigest()
    _tamper(
        "UPDATE audit_entry SET detail = 'x', row_hash = :h WHERE id = :id",
        h=fake,
        id=entries[1].id,
    )
    assert not verify().ok


def test_cli_and_admin_page_show_the_state(app, runner, auth, client):
    _write(2)
    result = runner.invoke(args=["audit", "verify"])
    assert result.exit_code == 0 and "审计链完整" in result.output
    auth.login_as("admin")
    html = client.get("/admin/audit/").get_data(as_text=True)
    assert "审计链完整" in html
    entries = db.session.query(AuditEntry).order_by(AuditEntry.id).all()
    _tamper("UPDATE audit_entry SET action = 'x' WHERE id = :id", id=entries[0].id)
    result = runner.invoke(args=["audit", "verify"])
    assert result.exit_code == 1 and "审计链被破坏" in result.output
    response = client.post("/admin/audit/verify", data={"csrf_token": auth.token()})
    assert response.status_code == 302
    assert "审计链被破坏" in client.get("/admin/audit/").get_data(as_text=True)
