"""Retention: rejected registrations are purged after the configured period (audited)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import or_, select

from app.audit import record
from app.extensions import db
from app.registration.models import MERGED, Registration
from app.settings import get_setting
from app.timeutil import utcnow

# ---- retention -----------------------------------------------------------------------------------


def purge_expired(now: Any = None, dry_run: bool = False) -> int:
    """Delete registrations past their retention period (SPEC §12): rejected ones, and returned
    ones never corrected, older than the ``retention_years_rejected_registration`` setting (with
    the other submissions for the same ID number still waiting with them)."""
    from datetime import timedelta

    from sqlalchemy import and_, delete

    now = now or utcnow()
    cutoff = now - timedelta(days=365 * int(get_setting("retention_years_rejected_registration")))
    where = or_(
        and_(Registration.status == "rejected", Registration.decided_at < cutoff),
        and_(Registration.status == "returned", Registration.updated_at < cutoff),
    )
    ids = list(db.session.execute(select(Registration.id).where(where)).scalars())
    if ids:  # submissions still waiting with a purged registration go with it
        ids += list(
            db.session.execute(
                select(Registration.id).where(
                    Registration.merged_into_id.in_(ids), Registration.status == MERGED
                )
            ).scalars()
        )
    if ids and not dry_run:
        db.session.execute(
            delete(Registration)
            .where(Registration.id.in_(ids))
            .execution_options(synchronize_session=False)
        )
        record(
            "registration_purge",
            object_type="registration",
            detail=f"删除超过保存期限的报到登记 {len(ids)} 条",
            after={"count": len(ids), "cutoff": cutoff.isoformat()},
        )
    return len(ids)
