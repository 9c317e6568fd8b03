"""How the 五个一 of a year are ticked: from the records where they exist, else staff evidence.

| item           | ticked by                                                                   |
|----------------|-----------------------------------------------------------------------------|
| org_life       | 出席 an org-life event (not 志愿服务) held in the year                       |
| report         | a 思想汇报 submitted in the year                                             |
| skill          | a training record that started or ended in the year                        |
| job            | a referral whose outcome 已录用 was recorded in the year                       |
| contribution   | 出席 a 志愿服务 event in the year, or community service confirmed by staff (双管 records) |
| any item       | staff evidence recorded for that year                                       |
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import date

from sqlalchemy import Select, and_, or_, select

from app.extensions import db
from app.followup.models import OrgEvent, OrgEventAttendance, ThoughtReport
from app.takeover.models import FIVE_ITEMS, FiveOneEvidence, JobReferral, TrainingRecord


def year_bounds(year: int) -> tuple[date, date]:
    return date(year, 1, 1), date(year, 12, 31)


def _org_life(ids: list[int], first: date, last: date) -> Select:
    return (
        select(OrgEventAttendance.member_id)
        .join(OrgEvent, OrgEvent.id == OrgEventAttendance.event_id)
        .where(
            OrgEventAttendance.member_id.in_(ids),
            OrgEventAttendance.status == "present",
            OrgEventAttendance.held_on.between(first, last),
            OrgEvent.kind != "volunteer",
        )
    )


def _volunteering(ids: list[int], first: date, last: date) -> Select:
    return (
        select(OrgEventAttendance.member_id)
        .join(OrgEvent, OrgEvent.id == OrgEventAttendance.event_id)
        .where(
            OrgEventAttendance.member_id.in_(ids),
            OrgEventAttendance.status == "present",
            OrgEventAttendance.held_on.between(first, last),
            OrgEvent.kind == "volunteer",
        )
    )


def _service(ids: list[int], first: date, last: date) -> Select:
    from app.dual.models import Service

    return select(Service.member_id).where(
        Service.member_id.in_(ids),
        Service.status == "confirmed",
        Service.served_on.between(first, last),
    )


def _report(ids: list[int], first: date, last: date) -> Select:
    return select(ThoughtReport.member_id).where(
        ThoughtReport.member_id.in_(ids), ThoughtReport.submitted_on.between(first, last)
    )


def _skill(ids: list[int], first: date, last: date) -> Select:
    return select(TrainingRecord.member_id).where(
        TrainingRecord.member_id.in_(ids),
        or_(
            TrainingRecord.started_on.between(first, last),
            and_(
                TrainingRecord.ended_on.is_not(None), TrainingRecord.ended_on.between(first, last)
            ),
        ),
    )


def _job(ids: list[int], first: date, last: date) -> Select:
    return select(JobReferral.member_id).where(
        JobReferral.member_id.in_(ids),
        JobReferral.outcome == "hired",
        JobReferral.outcome_on.between(first, last),
    )


RECORD_SOURCES: dict[str, list[Callable[[list[int], date, date], Select]]] = {
    "org_life": [_org_life],
    "report": [_report],
    "skill": [_skill],
    "job": [_job],
    "contribution": [_volunteering, _service],
}


def five_one(member_ids: Iterable[int], year: int) -> dict[int, dict[str, str | None]]:
    """For each member, each item → "记录" (ticked by a record), "工作人员确认" (staff evidence)
    or None (not yet). One query per item, whatever the number of members."""
    ids = sorted(set(member_ids))
    result: dict[int, dict[str, str | None]] = {i: dict.fromkeys(FIVE_ITEMS) for i in ids}
    if not ids:
        return result
    first, last = year_bounds(year)
    for item, sources in RECORD_SOURCES.items():
        for source in sources:
            for member_id in db.session.execute(source(ids, first, last).distinct()).scalars():
                result[member_id][item] = "记录"
    evidence = db.session.execute(
        select(FiveOneEvidence.member_id, FiveOneEvidence.item).where(
            FiveOneEvidence.member_id.in_(ids), FiveOneEvidence.year == year
        )
    ).all()
    for member_id, item in evidence:
        if result[member_id].get(item) is None:
            result[member_id][item] = "工作人员确认"
    return result


def missing_items(status: dict[str, str | None]) -> list[str]:
    return [FIVE_ITEMS[item] for item, how in status.items() if how is None]
