"""0019_numbers: every 失联 member without an open lost-contact case gets one (audited, chained);
nothing else changes."""

from __future__ import annotations

from datetime import date

from flask_migrate import upgrade
from sqlalchemy import select, text, update

from app import create_app
from app.extensions import db
from tests.test_migrations import _fresh_url


def test_upgrade_opens_a_case_for_each_lost_member_without_one(tmp_path):
    from app.audit import chain
    from app.audit.models import AuditEntry
    from app.followup.models import LostContactCase
    from app.members.models import Member, MemberHistory
    from app.members.services import create_member

    url = _fresh_url(tmp_path)
    application = create_app("testing", SQLALCHEMY_DATABASE_URI=url)
    with application.app_context():
        upgrade(directory="migrations", revision="0016_login_throttle")
        ids = [
            create_member(
                {"name": f"老数据{n}", "id_number": number, "joined_on": date(2015, 1, 1)}, None
            ).id
            for n, number in enumerate(
                ("110101199003070011", "110101199003070038", "110101199003070054")
            )
        ]
        db.session.commit()
        lost_old, lost_followed, active = ids
        # What the old member form did: status 失联 with its history row, and no case.
        db.session.execute(
            update(Member).where(Member.id.in_(ids[:2])).values(status="lost_contact")
        )
        db.session.execute(
            update(MemberHistory)
            .where(MemberHistory.member_id == lost_old, MemberHistory.aspect == "status")
            .values(effective_to=date(2024, 3, 1))
        )
        db.session.add(
            MemberHistory(
                member_id=lost_old,
                aspect="status",
                value={"status": "lost_contact"},
                effective_from=date(2024, 3, 1),
            )
        )
        db.session.add(
            LostContactCase(
                member_id=lost_followed,
                kind="hidden",
                reason="moved",
                since=date(2023, 5, 1),
                stage="verify",
                opened_on=date(2023, 6, 1),
            )
        )
        db.session.commit()
        before = db.session.execute(text("SELECT COUNT(*) FROM audit_entry")).scalar_one()
        db.session.remove()

        upgrade(directory="migrations")

        cases = db.session.execute(select(LostContactCase).order_by(LostContactCase.id)).scalars()
        by_member = {c.member_id: c for c in cases}
        assert set(by_member) == {lost_old, lost_followed}
        added = by_member[lost_old]
        assert (added.stage, added.kind, added.reason) == ("survey", "roster", "other")
        assert added.since == date(2024, 3, 1) and "升级时补建" in added.reason_note
        assert by_member[lost_followed].kind == "hidden"  # the existing case is untouched
        statuses = dict(db.session.execute(select(Member.id, Member.status)).all())
        assert statuses == {
            lost_old: "lost_contact",
            lost_followed: "lost_contact",
            active: "active",
        }
        rows = (
            db.session.execute(select(AuditEntry).where(AuditEntry.action == "lost_contact_open"))
            .scalars()
            .all()
        )
        assert len(rows) == 1 and rows[0].object_id == str(added.id)
        assert rows[0].after["member_id"] == lost_old
        assert db.session.execute(text("SELECT COUNT(*) FROM audit_entry")).scalar_one() == (
            before + 1
        )
        result = chain.verify()
        assert result.ok, result.summary()
        db.session.remove()
        # Running the data step again finds nothing to do.
        upgrade(directory="migrations")
        db.engine.dispose()
