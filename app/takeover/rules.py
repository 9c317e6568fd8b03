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

from sqlalchemy import ColumnElement, Select, and_, not_, or_, select

from app.extensions import db
from app.followup.models import OrgEvent, OrgEventAttendance, ThoughtReport
from app.members.models import Member
from app.takeover.models import FIVE_ITEMS, FiveOneEvidence, JobReferral, TrainingRecord


def year_bounds(year: int) -> tuple[date, date]:
    return date(year, 1, 1), date(year, 12, 31)


# Each source takes the members it looks at as a list of ids (a page of the board) or as a
# SELECT of ids (everyone in a scope, ``open_items_clause``): looked up per member, which is
# cheaper than reading a whole street's records of the year.
Members = list[int] | Select


def _org_life(ids: Members, first: date, last: date) -> Select:
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


def _volunteering(ids: Members, first: date, last: date) -> Select:
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


def _service(ids: Members, first: date, last: date) -> Select:
    from app.dual.models import Service

    return select(Service.member_id).where(
        Service.member_id.in_(ids),
        Service.status == "confirmed",
        Service.served_on.between(first, last),
    )


def _report(ids: Members, first: date, last: date) -> Select:
    return select(ThoughtReport.member_id).where(
        ThoughtReport.member_id.in_(ids), ThoughtReport.submitted_on.between(first, last)
    )


def _skill(ids: Members, first: date, last: date) -> Select:
    return select(TrainingRecord.member_id).where(
        TrainingRecord.member_id.in_(ids),
        or_(
            TrainingRecord.started_on.between(first, last),
            and_(
                TrainingRecord.ended_on.is_not(None), TrainingRecord.ended_on.between(first, last)
            ),
        ),
    )


def _job(ids: Members, first: date, last: date) -> Select:
    return select(JobReferral.member_id).where(
        JobReferral.member_id.in_(ids),
        JobReferral.outcome == "hired",
        JobReferral.outcome_on.between(first, last),
    )


RECORD_SOURCES: dict[str, list[Callable[[Members, date, date], Select]]] = {
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


def open_items_clause(members: Select, year: int) -> ColumnElement[bool]:
    """SQL: the member (of ``members``, a SELECT of member ids) has at least one item of the
    year not ticked — ``five_one``'s rules for a whole scope in one statement (each source
    read once as a set for those members, not one query per item with every id bound)."""
    first, last = year_bounds(year)
    done = []
    for item in FIVE_ITEMS:
        ticked = [Member.id.in_(source(members, first, last)) for source in RECORD_SOURCES[item]]
        ticked.append(
            Member.id.in_(
                select(FiveOneEvidence.member_id).where(
                    FiveOneEvidence.item == item, FiveOneEvidence.year == year
                )
            )
        )
        done.append(or_(*ticked))
    return not_(and_(*done))


def missing_items(status: dict[str, str | None]) -> list[str]:
    return [FIVE_ITEMS[item] for item, how in status.items() if how is None]
