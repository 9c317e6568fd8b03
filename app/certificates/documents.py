"""Context builders for every printed document, all rendered by the one engine.

Each builder turns database rows into plain dicts of display strings (masking applied here:
ID numbers first 6 + last 4 unless the ``print_full_id_number`` setting says otherwise),
so a template can never print more than its builder chose to give it.
"""

from __future__ import annotations

import hashlib
import json
from datetime import date
from typing import Any

import segno
from flask import current_app, has_request_context, request
from sqlalchemy import select

from app.certificates.engine import html_to_pdf, render_html, render_pdf
from app.certificates.models import INTERVALS, Certificate, ReceivedLetter, TransferLetter
from app.certificates.signing import token_for
from app.extensions import db
from app.members.address import member_address
from app.members.models import EMPLOYMENTS, MEMBER_TYPES, SEXES, Member
from app.organization.models import Org, Place
from app.security import mask_id_blob, mask_id_parts, mask_phone
from app.settings import get_setting
from app.timeutil import local_today

NOTES = [
    "本证是流动党员外出期间参加党的组织生活、交纳党费的凭证，由流出地党组织发放，持证人妥善保管，不得转借。",
    "持证人到达流入地后，应主动向流入地党组织出示本证，可以参加流入地党组织的组织生活、交纳党费，"
    "但不参加流入地党组织的选举和表决，不享有选举权和被选举权。",
    "流入地党组织应在本证相应页面记录持证人参加组织生活、交纳党费和民主评议情况，并定期查验、签署意见、盖章。",
    "持证人外出返回或组织关系转接后，应将本证交回发证党组织；本证遗失应及时报告，经核实后补发。",
    "扫描二维码可核验本证真伪与当前状态；核验页显示的防伪码和数据指纹应与本证一致。",
]


def cn_date(value: date | None) -> str:
    return f"{value.year}年{value.month}月{value.day}日" if value else ""


def cn_month(value: date | None) -> str:
    return f"{value.year}年{value.month}月" if value else ""


def public_base_url() -> str:
    """PUBLIC_BASE_URL when configured (paper printed on the intranet must carry the public
    address), else the address of this request."""
    base = current_app.config.get("PUBLIC_BASE_URL")
    if base:
        return base.rstrip("/")
    if has_request_context():
        return request.host_url.rstrip("/")
    return "http://127.0.0.1:5000"


def verify_url(cert: Certificate) -> str:

    # Built by hand: background jobs have no request to build URLs from.
    return f"{public_base_url()}/verify/{token_for(cert)}"


def qr_svg(data: str) -> str:
    """An inline SVG QR code (segno); sized by the print CSS."""
    return segno.make(data, error="m", micro=False).svg_inline(scale=4, border=2, dark="#000")


def id_display(member: Member) -> str:
    if get_setting("print_full_id_number"):
        from app.crypto import decrypt

        return decrypt(member.id_number_enc)
    return mask_id_blob(member.id_number_enc)


def _issuer_top(org_id: int | None) -> str:
    """The top of the issuing organization's chain (the community committee's name)."""
    if not org_id:
        return "社区党组织"
    org = db.session.get(Org, org_id)
    while org is not None and org.kind not in {"community_committee", "street_committee"}:
        org = db.session.get(Org, org.parent_id) if org.parent_id else None
    return org.name if org is not None else "社区党组织"


def certificate_context(cert: Certificate, member: Member | None = None) -> dict[str, Any]:
    data = printed_data(cert, member)
    url = verify_url(cert)
    return data | {
        "fingerprint": fingerprint_label(data),
        "verify_url": url,
        "qr_svg": qr_svg(url),
    }


def fingerprint_label(data: dict[str, Any]) -> str:
    """The certificate's data fingerprint as printed and shown on the verification page: the
    first 16 hex digits of the SHA-256 of the printed data (not of a file, so the A4 and the A5
    print carry the same one), in groups of four."""
    canonical = json.dumps(data, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    digest = hashlib.sha256(canonical.encode("utf-8")).hexdigest()[:16]
    return " ".join(digest[i : i + 4] for i in range(0, 16, 4))


def certificate_fingerprint(cert: Certificate, member: Member | None = None) -> str:
    return fingerprint_label(printed_data(cert, member))


def printed_data(cert: Certificate, member: Member | None = None) -> dict[str, Any]:
    """What a printed card says about its holder and itself (both layouts)."""
    member = member or db.session.get(Member, cert.member_id)
    org = db.session.get(Org, cert.issuing_org_id) if cert.issuing_org_id else None
    contact = ""
    if org is not None:
        contact = " ".join(x for x in (org.contact_name, org.contact_phone) if x)
    return {
        "number": cert.number,
        "short_code": cert.short_code or "",
        "name": member.name,
        "sex": SEXES.get(member.sex, ""),
        "ethnicity": member.ethnicity or "",
        "birth_date": cn_date(member.birth_date),
        "id_number": id_display(member),
        "joined_on": cn_date(member.joined_on),
        "member_type": MEMBER_TYPES.get(member.member_type, ""),
        "issuing_org_name": cert.issuing_org_name or "",
        "issuing_org_contact": contact,
        "issuer_top": _issuer_top(cert.issuing_org_id),
        "left_on": cn_date(cert.left_on),
        "reason": cert.reason or "",
        "destination": cert.destination or "",
        "occupation": cert.occupation or "",
        "contact_phone": cert.contact_phone or "",
        "liaison_name": cert.liaison_name or "",
        "liaison_phone": cert.liaison_phone or "",
        "issued_on": cn_date(cert.issued_on),
        "valid_until": cn_date(cert.valid_until),
        "interval_label": INTERVALS.get(cert.verification_interval_months, "每年查验一次"),
    }


def certificates_html(docs: list[dict[str, Any]], layout: str = "a5", part: str = "all") -> str:
    """``part``: "all" pages; "unique" (the pages that carry the holder's data) or "shared"
    (notes and ruled pages, the same on every card: batch printing renders them once)."""
    return render_html(
        "certificate.html", {"docs": docs, "layout": layout, "notes": NOTES, "part": part}
    )


UNIQUE_PAGES = {"a4": 1, "a5": 2}  # pages per card in the "unique" part


def certificate_pdf(cert: Certificate, member: Member | None = None, layout: str = "a5") -> bytes:
    return html_to_pdf(certificates_html([certificate_context(cert, member)], layout))


# ---- registration receipt (报到回执) ----------------------------------------------------------


def registration_context(registration: Any) -> dict[str, Any]:
    from app.registration.models import REGISTRATION_KINDS

    places = {}
    ids = [registration.community_id, registration.grid_id, registration.building_id]
    if any(ids):
        places = dict(
            db.session.execute(
                select(Place.id, Place.name).where(Place.id.in_([i for i in ids if i]))
            ).all()
        )
    data = registration.data or {}
    from app.crypto import decrypt

    raw = decrypt(registration.id_number_enc) if registration.id_number_enc else ""
    id_number = raw if get_setting("print_full_id_number") else mask_id_parts(raw[:6], raw[-4:])
    created = registration.created_at
    return {
        "tracking_code": registration.tracking_code,
        "kind": REGISTRATION_KINDS.get(registration.kind, registration.kind),
        "status": registration.public_status_label,  # a merged submission reads as pending
        "name": registration.name,
        "id_number": id_number if raw else "",
        "phone": mask_phone(registration.phone),
        "community": places.get(registration.community_id, ""),
        "grid": places.get(registration.grid_id, ""),
        "building": places.get(registration.building_id, ""),
        "work_unit": data.get("work_unit") or "",
        "submitted": cn_date(created.date()) if created else "",
    }


def render_registration_receipt(registration: Any) -> bytes:
    """报到回执 as PDF, for the registration feature's status page."""
    return render_pdf("receipt.html", {"r": registration_context(registration)})


# ---- member-based documents ----------------------------------------------------------------


def _org_names(ids: set[int]) -> dict[int, str]:
    ids = {i for i in ids if i}
    if not ids:
        return {}
    return dict(db.session.execute(select(Org.id, Org.name).where(Org.id.in_(ids))).all())


def _place_names(ids: set[int]) -> dict[int, str]:
    ids = {i for i in ids if i}
    if not ids:
        return {}
    return dict(db.session.execute(select(Place.id, Place.name).where(Place.id.in_(ids))).all())


def member_rows(members: list[Member]) -> list[dict[str, Any]]:
    orgs = _org_names({m.branch_id for m in members} | {m.group_id for m in members})
    places = _place_names(
        {m.community_id for m in members}
        | {m.grid_id for m in members}
        | {m.building_id for m in members}
    )
    full = bool(get_setting("print_full_id_number"))
    rows = []
    for m in members:
        if full:
            from app.crypto import decrypt

            id_number = decrypt(m.id_number_enc)
        else:
            id_number = mask_id_blob(m.id_number_enc)
        rows.append(
            {
                "name": m.name,
                "sex": SEXES.get(m.sex, ""),
                "birth": cn_month(m.birth_date),
                "id_number": id_number,
                "phone": mask_phone(m.phone),
                "joined_on": cn_date(m.joined_on),
                "member_type": MEMBER_TYPES.get(m.member_type, ""),
                "employment": EMPLOYMENTS.get(m.employment, ""),
                "work_unit": m.work_unit or "",
                "work_unit_org": m.work_unit_org or "",
                "category": m.category_label,
                "status": m.status_label,
                "community": places.get(m.community_id, ""),
                "grid": places.get(m.grid_id, ""),
                "building": places.get(m.building_id, ""),
                "room": m.room or "",
                "address": member_address(
                    m.address,
                    " ".join(
                        x for x in (places.get(m.community_id), places.get(m.building_id)) if x
                    ),
                    m.room,
                ),
                "branch": orgs.get(m.branch_id, ""),
                "group": orgs.get(m.group_id, ""),
            }
        )
    return rows


def community_contacts(members: list[Member]) -> dict[int, dict[str, str]]:
    """The community committee of each member's community: name and contact."""
    ids = {m.community_id for m in members if m.community_id}
    out: dict[int, dict[str, str]] = {}
    if not ids:
        return out
    for org in db.session.execute(select(Org).where(Org.place_id.in_(ids))).scalars():
        out.setdefault(
            org.place_id,
            {
                "name": org.name,
                "contact": " ".join(x for x in (org.contact_name, org.contact_phone) if x),
            },
        )
    return out


def contact_cards_html(members: list[Member]) -> str:
    from app.dual.documents import contact_card_extra

    contacts = community_contacts(members)
    extra = contact_card_extra(members)  # the member's claimed posts, services and hours
    docs = []
    for m, row in zip(members, member_rows(members), strict=True):
        docs.append(row | {"committee": contacts.get(m.community_id, {})} | extra[m.id])
    return render_html("contact_card.html", {"docs": docs, "today": cn_date(local_today())})


def feedback_sheets_html(members: list[Member], period: Any = None) -> str:
    """The feedback sheets, filled from the 双管 records of ``period`` (app.dual)."""
    from app.dual.documents import feedback_html

    return feedback_html(members, period)


def roster_html(members: list[Member], title: str) -> str:
    return render_html(
        "roster.html",
        {
            "rows": member_rows(members),
            "title": title,
            "today": cn_date(local_today()),
            "masked": not get_setting("print_full_id_number"),
        },
    )


def transfer_letter_context(letter: TransferLetter) -> dict[str, Any]:
    member = db.session.get(Member, letter.member_id)
    # A letter for this member's own transfer, to another organization: the full number
    # (printing it is audited by the routes that serve the PDF).
    row = member_rows([member])[0] | {"phone": member.phone or ""}
    from datetime import timedelta

    return {
        "number": letter.number,
        "member": row,
        "age": local_today().year - member.birth_date.year,
        "to_org": letter.to_org_name,
        "from_org": letter.from_org_name,
        "dues_paid_until": cn_month(letter.dues_paid_until)
        if letter.dues_paid_until
        else "____年__月",
        "issued_on": cn_date(letter.issued_on),
        "valid_days": letter.valid_days,
        "valid_until": cn_date(letter.issued_on + timedelta(days=letter.valid_days)),
        "returned_on": cn_date(letter.returned_on),
    }


def transfer_letter_pdf(letter: TransferLetter) -> bytes:
    return render_pdf("transfer_letter.html", {"docs": [transfer_letter_context(letter)]})


def current_quarter(today: date | None = None) -> str:
    today = today or local_today()
    return f"{today.year}年第{(today.month - 1) // 3 + 1}季度"


def received_reply_pdf(letter: ReceivedLetter) -> bytes:
    """回执 for an incoming 组织关系介绍信, sent back to the organization that issued it."""
    member = db.session.get(Member, letter.member_id)
    return render_pdf(
        "received_reply.html",
        {
            "number": letter.number,
            "name": member.name,
            "from_org": letter.from_org_name,
            "to_org": letter.to_org_name,
            "received_on": cn_date(letter.received_on),
            "today": cn_date(local_today()),
        },
    )
