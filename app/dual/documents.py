"""The 双管 printed documents: feedback sheets (one, or a work unit's batch with its cover
letter), the periodic notice to a work unit, the reply to a work unit's request for opinion.
All through the one engine (app/certificates/engine.py); masking as in ``member_rows``."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from app.certificates.documents import cn_date, community_contacts, member_rows
from app.certificates.engine import html_to_pdf, render_html
from app.dual.models import RATINGS, FeedbackSheet, OpinionRequest
from app.dual.queries import Period, current_period, figures_for
from app.extensions import db
from app.members.models import Member
from app.timeutil import local_today


def _hours(minutes: int) -> str:
    return f"{minutes / 60:.1f}"


def sheet_docs(members: list[Member], period: Period) -> list[dict[str, Any]]:
    """One dict per member: the printable row, the period's figures and the sheet's rating."""
    contacts = community_contacts(members)
    figures = figures_for(members, period)
    sheets = {
        s.member_id: s
        for s in db.session.execute(
            select(FeedbackSheet).where(
                FeedbackSheet.member_id.in_([m.id for m in members]),
                FeedbackSheet.period_key == period.key,
            )
        ).scalars()
    }
    docs = []
    for m, row in zip(members, member_rows(members), strict=True):
        f, sheet = figures[m.id], sheets.get(m.id)
        docs.append(
            row
            | {
                "committee": contacts.get(m.community_id, {}),
                "posts": "、".join(f.posts),
                "hours": _hours(f.minutes),
                "activities": f.activities,
                "services": [
                    {"date": cn_date(s.served_on), "content": s.content, "hours": _hours(s.minutes)}
                    for s in f.services
                ],
                "reported_on": cn_date(f.reported_on),
                "rating": sheet.rating if sheet else None,
                "comment": (sheet.comment if sheet else None) or "",
            }
        )
    return docs


def feedback_html(members: list[Member], period: Period | None = None, cover: bool = False) -> str:
    period = period or current_period()
    docs = sheet_docs(members, period)
    employer = next((m.work_unit for m in members if m.work_unit), "")
    return render_html(
        "feedback_sheet.html",
        {
            "docs": docs,
            "period": period.label,
            "ratings": RATINGS,
            "today": cn_date(local_today()),
            "cover": cover,
            "employer": employer,
            "committee": docs[0]["committee"] if docs else {},
        },
    )


def contact_card_extra(members: list[Member], period: Period | None = None) -> dict[int, dict]:
    """What the contact card shows of each member's record for the period."""
    period = period or current_period()
    figures = figures_for(members, period)
    return {
        m.id: {
            "period": period.label,
            "posts": "、".join(figures[m.id].posts),
            "hours": _hours(figures[m.id].minutes),
            "services": [
                {"date": cn_date(s.served_on), "content": s.content, "hours": _hours(s.minutes)}
                for s in figures[m.id].services[-8:]
            ],
        }
        for m in members
    }


def notice_rows(members: list[Member], period: Period) -> list[dict[str, Any]]:
    figures = figures_for(members, period)
    return [
        {
            "name": m.name,
            "work_unit": m.work_unit or "",
            "posts": "、".join(figures[m.id].posts),
            "hours": _hours(figures[m.id].minutes),
            "services": len(figures[m.id].services),
            "activities": figures[m.id].activities,
        }
        for m in members
    ]


def notice_pdf(members: list[Member], period: Period, employer: str) -> bytes:
    contacts = community_contacts(members)
    committee = next(iter(contacts.values()), {})
    return html_to_pdf(
        render_html(
            "dual_notice.html",
            {
                "rows": notice_rows(members, period),
                "period": period.label,
                "employer": employer,
                "committee": committee,
                "today": cn_date(local_today()),
            },
        )
    )


def opinion_pdf(row: OpinionRequest) -> bytes:
    member = db.session.get(Member, row.member_id)
    committee = community_contacts([member]).get(member.community_id, {})
    return html_to_pdf(
        render_html(
            "dual_opinion.html",
            {
                "member": member_rows([member])[0],
                "employer": row.employer,
                "purpose": row.purpose,
                "requested_on": cn_date(row.requested_on),
                "answer": row.answer or "",
                "answered_on": cn_date(row.answered_on),
                "committee": committee,
            },
        )
    )
