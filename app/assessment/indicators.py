"""Every indicator, computed from the records of the features: org life, thought reports, contacts,
card checks, 直管 posts and pairs, 双管 hours and returned feedback sheets, the 五个一 of 接管 members, 共管 visits, 协管 contacts with the
other organization."""

from __future__ import annotations

from datetime import date

from sqlalchemy import case, func, select

from app.assessment import register
from app.certificates.models import Certificate, CertificateCheck
from app.extensions import db
from app.followup.models import ContactLog, OrgEventAttendance, ThoughtReport


def _bounds(year: int) -> tuple[date, date]:
    return date(year, 1, 1), date(year, 12, 31)


def attendance_rate(ids: list[int], year: int) -> dict[int, float | None]:
    """出席 / (出席 + 缺席) of the year's org life, in percent; 请假 and 外出 do not count."""
    first, last = _bounds(year)
    rows = db.session.execute(
        select(
            OrgEventAttendance.member_id,
            func.sum(case((OrgEventAttendance.status == "present", 1), else_=0)),
            func.count(),
        )
        .where(
            OrgEventAttendance.member_id.in_(ids),
            OrgEventAttendance.held_on.between(first, last),
            OrgEventAttendance.status.in_(("present", "absent")),
        )
        .group_by(OrgEventAttendance.member_id)
    ).all()
    return {member_id: 100.0 * present / total for member_id, present, total in rows if total}


def _count(column, member_column, ids: list[int], year: int, *where) -> dict[int, int]:  # noqa: ANN001
    first, last = _bounds(year)
    rows = db.session.execute(
        select(member_column, func.count())
        .where(member_column.in_(ids), column.between(first, last), *where)
        .group_by(member_column)
    ).all()
    counts = dict.fromkeys(ids, 0)
    counts.update(dict(rows))
    return counts


def reports(ids: list[int], year: int) -> dict[int, int]:
    return _count(ThoughtReport.submitted_on, ThoughtReport.member_id, ids, year)


def contacts(ids: list[int], year: int) -> dict[int, int]:
    return _count(ContactLog.contacted_on, ContactLog.member_id, ids, year)


def card_checks(ids: list[int], year: int) -> dict[int, int | None]:
    """查验 recorded on the member's cards in the year; 不适用 for a member without a card."""
    first, last = _bounds(year)
    holders = set(
        db.session.execute(
            select(Certificate.member_id).where(Certificate.member_id.in_(ids))
        ).scalars()
    )
    rows = dict(
        db.session.execute(
            select(Certificate.member_id, func.count())
            .join(CertificateCheck, CertificateCheck.certificate_id == Certificate.id)
            .where(Certificate.member_id.in_(ids), CertificateCheck.checked_on.between(first, last))
            .group_by(Certificate.member_id)
        ).all()
    )
    return {i: rows.get(i, 0) for i in ids if i in holders}


def five_one(ids: list[int], year: int) -> dict[int, int]:
    from app.takeover import rules

    return {
        member_id: sum(1 for how in items.values() if how)
        for member_id, items in rules.five_one(ids, year).items()
    }


register("attendance_rate", attendance_rate)
register("reports", reports)
register("contacts", contacts)
register("card_checks", card_checks)
register("five_one", five_one)


def visits_received(ids: list[int], year: int) -> dict[int, int]:
    from app.care.models import CareVisit

    return _count(CareVisit.visited_on, CareVisit.member_id, ids, year)


def other_org_contacts(ids: list[int], year: int) -> dict[int, int]:
    from app.mobile.models import MobileContact

    return _count(MobileContact.contacted_on, MobileContact.member_id, ids, year)


register("visits_received", visits_received)
register("other_org_contacts", other_org_contacts)


def _overlapping(model, ids: list[int], year: int, *where) -> dict[int, int]:  # noqa: ANN001
    """Rows of ``model`` (starts_on, ends_on) that overlap the year, counted per member."""
    first, last = _bounds(year)
    rows = db.session.execute(
        select(model.member_id, func.count())
        .where(
            model.member_id.in_(ids),
            model.starts_on <= last,
            (model.ends_on.is_(None)) | (model.ends_on >= first),
            *where,
        )
        .group_by(model.member_id)
    ).all()
    counts = dict.fromkeys(ids, 0)
    counts.update(dict(rows))
    return counts


def post_held(ids: list[int], year: int) -> dict[int, int]:
    from app.direct.models import PostAssignment

    return _overlapping(PostAssignment, ids, year, PostAssignment.status == "active")


def pairs_active(ids: list[int], year: int) -> dict[int, int]:
    from app.direct.models import HelpPair

    return _overlapping(HelpPair, ids, year)


register("post_held", post_held)
register("pairs_active", pairs_active)


def service_hours(ids: list[int], year: int) -> dict[int, float]:
    """Hours of community service confirmed by staff (双管)."""
    from app.dual.models import Service

    first, last = _bounds(year)
    rows = db.session.execute(
        select(Service.member_id, func.sum(Service.minutes))
        .where(
            Service.member_id.in_(ids),
            Service.status == "confirmed",
            Service.served_on.between(first, last),
        )
        .group_by(Service.member_id)
    ).all()
    hours = dict.fromkeys(ids, 0.0)
    hours.update({member_id: round(minutes / 60, 1) for member_id, minutes in rows})
    return hours


def feedback_returned(ids: list[int], year: int) -> dict[int, int]:
    """在职党员社区表现反馈单 of the year's periods that came back from the work unit."""
    from app.dual.models import FeedbackSheet

    return _count(
        FeedbackSheet.period_start,
        FeedbackSheet.member_id,
        ids,
        year,
        FeedbackSheet.status == "returned",
    )


register("service_hours", service_hours)
register("feedback_returned", feedback_returned)
