"""Certificate lifecycle, numbering, signed serials, verification; transfer letters.

State changes flush and write the audit entry; the caller (route, CLI) commits.

Lifecycle of a 流动党员活动证 (SPEC §8)::

    issued --check (periodic verification: a CertificateCheck, next due moves on)--> issued
    issued/expired --renew (validity extended, same number)--> issued
    issued --reissue (lost/damaged: new number + serial, replaces_id -> old)--> revoked (old)
    issued --return--> returned     issued --transfer--> transferred
    issued --revoke--> revoked      issued --expire (valid_until passed)--> expired
"""

from __future__ import annotations

import hashlib
import secrets
import string
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from itsdangerous import BadSignature
from sqlalchemy import and_, case, func, select

from app.audit import record
from app.certificates.documents import certificate_pdf
from app.certificates.models import (
    CERTIFICATE_STATUSES,
    INTERVALS,
    Certificate,
    CertificateCheck,
)
from app.certificates.numbering import (
    _insert_numbered,
    community_code,
    number_prefix,
)
from app.certificates.signing import _signer
from app.certificates.trips import end_trip, liaison_value, record_trip, trip_length_errors
from app.errors import DomainError
from app.extensions import db
from app.members.management import liaison_of
from app.members.models import Member
from app.organization.models import Org, Place
from app.settings import get_setting
from app.timeutil import add_months, local_today

SHORT_CODE_ALPHABET = "".join(c for c in string.ascii_uppercase + string.digits if c not in "01IOU")
OPEN = "issued"
TRANSFER_MAX_DAYS = 92  # "at most 3 months" (SPEC §15)


# ---- serials and signed tokens ----------------------------------------------------------------


def new_serial() -> str:
    """A random serial of 192 bits (url-safe), carried by the QR code; no personal data."""
    return secrets.token_urlsafe(24)


def new_short_code() -> str:
    """An 8-character code printed on the document and shown by the verification page."""
    return "".join(secrets.choice(SHORT_CODE_ALPHABET) for _ in range(8))


@dataclass(frozen=True)
class Verdict:
    """What the public verification page may show: nothing else."""

    state: str  # valid | forged | tampered | unknown | revoked | expired | returned | transferred
    genuine: bool
    headline: str
    explanation: str
    certificate: Certificate | None = None

    @property
    def valid(self) -> bool:
        return self.state == "valid"


VERDICTS = {
    "valid": ("证件真实有效", "本证由本系统签发，当前处于有效状态。"),
    "forged": (
        "不是本系统签发的证件",
        "二维码内容不完整或格式不正确，无法证明本证真实，请与发证党组织联系核实。",
    ),
    "tampered": (
        "防伪校验未通过：二维码被篡改或伪造",
        "二维码签名与本系统不符，证件可能被伪造或涂改，请勿凭此证办理任何事项。",
    ),
    "unknown": ("查无此证", "签名有效，但系统中没有对应的证件记录，请与发证党组织联系核实。"),
    "revoked": ("该证件已注销", "本证已由发证党组织注销，不再有效。"),
    "expired": ("该证件已过有效期", "本证已超过有效期，不再有效；持证人应向发证党组织申请换发。"),
    "returned": ("该证件已交回", "持证人已返回原籍并交回本证，本证不再有效。"),
    "transferred": ("该证件已转接", "持证人的组织关系已转接，本证不再有效。"),
}


def _verdict(state: str, certificate: Certificate | None = None, detail: str = "") -> Verdict:
    headline, explanation = VERDICTS[state]
    if detail:
        explanation = f"{explanation}{detail}"
    genuine = state not in {"forged", "tampered", "unknown"}
    return Verdict(state, genuine, headline, explanation, certificate)


def verify_token(token: str, today: date | None = None) -> Verdict:
    """Decide what a scanned token means. The database status is the truth."""
    today = today or local_today()
    token = (token or "").strip()
    if token.count(".") != 1 or not 20 <= len(token) <= 200:
        return _verdict("forged")
    try:
        serial = _signer().unsign(token).decode()
    except BadSignature:
        return _verdict("tampered")
    certificate = db.session.execute(
        select(Certificate).where(Certificate.serial == serial)
    ).scalar_one_or_none()
    if certificate is None:
        return _verdict("unknown")
    status = certificate.status
    if status == OPEN and certificate.valid_until < today:
        status = "expired"
    if status == OPEN:
        return _verdict("valid", certificate)
    detail = ""
    if status == "revoked" and certificate.closed_reason:
        detail = f"注销原因：{certificate.closed_reason}。"
    return _verdict(status, certificate, detail)


# ---- lifecycle --------------------------------------------------------------------------------


def _snapshot(c: Certificate) -> dict[str, Any]:
    return {
        "number": c.number,
        "status": c.status,
        "valid_until": c.valid_until,
        "next_verification_due": c.next_verification_due,
        "closed_reason": c.closed_reason,
    }


def _org_contact(org: Org | None) -> str:
    if org is None:
        return ""
    return " ".join(x for x in (org.contact_name, org.contact_phone) if x)


def issuing_org_for(member: Member) -> Org | None:
    """The member's branch, else the community committee of the member's community."""
    if member.branch_id:
        return db.session.get(Org, member.branch_id)
    if member.community_id:
        return db.session.execute(
            select(Org).where(Org.place_id == member.community_id).order_by(Org.id).limit(1)
        ).scalar_one_or_none()
    return None


def prefill(member: Member, today: date | None = None) -> dict[str, Any]:
    """Issue-form defaults from the member's mobility fields and liaison."""
    today = today or local_today()
    liaison = liaison_of(member)
    trip = member.mobility == "flow_out"
    return {
        "left_on": (member.mobility_since if trip else None) or today,
        "expected_return": member.mobility_expected_return if trip else None,
        "open_ended": bool(member.mobility_open_ended) if trip else False,
        "destination": (member.mobility_place if trip else None) or "",
        "occupation": member.mobility_occupation or "",
        "contact_phone": member.phone or "",
        "liaison": liaison_value(liaison),
        "reason": "外出务工经商" if member.mobility_occupation else "",
        "issued_on": today,
    }


def issue_errors(member: Member, data: dict[str, Any]) -> dict[str, str]:
    """Rules for issuing (pure apart from the open-certificate check)."""
    errors: dict[str, str] = {}
    if member.status not in {"active", "flowed_out"}:
        errors["member"] = "该党员当前状态不能发证"
    if member.relation_location == "elsewhere" and member.mobility == "flow_in":
        errors["member"] = "流入党员的活动证由其原籍党组织发放，本社区只登记"
    errors.update(trip_length_errors(data))
    if not data.get("liaison") and liaison_of(member) is None:
        errors["liaison"] = "请选择联络人（联络人负责与外出党员保持联系）"
    if data["left_on"] > data["issued_on"] + timedelta(days=60):
        errors["left_on"] = "外出时间不能晚于发证日期 60 天以上"
    if not (data.get("destination") or "").strip():
        errors["destination"] = "请填写流入地"
    if member.id is not None and open_certificate(member) is not None:
        errors["member"] = "该党员已持有有效的活动证，如需补发请在原证页面操作"
    return errors


DUE_FILTERS = {"overdue": "查验已逾期", "soon": "30 天内需查验", "expiring": "90 天内到期"}


def due_clauses(due: str, today: date) -> list:
    """Open certificates whose check is overdue, due within 30 days, or which expire within
    90 days (the list filters and the reminders)."""
    if due == "overdue":
        return [Certificate.status == OPEN, Certificate.next_verification_due < today]
    if due == "soon":
        return [
            Certificate.status == OPEN,
            Certificate.next_verification_due >= today,
            Certificate.next_verification_due <= today + timedelta(days=30),
        ]
    if due == "expiring":
        return [Certificate.status == OPEN, Certificate.valid_until <= today + timedelta(days=90)]
    return []


def due_counts(user: Any) -> dict[str, int]:
    """How many open certificates of the user's scope are in each due list — one query,
    read once per request (the reminders ask for the three lists one after the other)."""
    from flask import g, has_request_context

    from app.organization.scope import member_scope_filter, scope_of

    key = ("_certificate_due_counts", getattr(user, "id", None))
    if has_request_context() and key in g.setdefault("_memo", {}):
        return g._memo[key]
    today = local_today()
    if scope_of(user).everything:
        # Whole street: each list is one range of its index.
        counts = {
            due: db.session.execute(
                select(func.count()).select_from(Certificate).where(*due_clauses(due, today))
            ).scalar_one()
            for due in DUE_FILTERS
        }
    else:
        # One pass over the open certificates of the scope's members (their ids from the
        # members' own indexes, rather than a join reading every member row).
        in_scope = Certificate.member_id.in_(select(Member.id).where(member_scope_filter(user)))
        columns = [
            func.coalesce(func.sum(case((and_(*due_clauses(due, today)[1:]), 1), else_=0)), 0)
            for due in DUE_FILTERS
        ]
        row = db.session.execute(
            select(*columns).select_from(Certificate).where(Certificate.status == OPEN, in_scope)
        ).one()
        counts = dict(zip(DUE_FILTERS, (int(n) for n in row), strict=True))
    if has_request_context():
        g._memo[key] = counts
    return counts


def open_certificate(member: Member) -> Certificate | None:
    return db.session.execute(
        select(Certificate).where(Certificate.member_id == member.id, Certificate.status == OPEN)
    ).scalar_one_or_none()


def _valid_until(issued_on: date) -> date:
    return add_months(issued_on, 12 * int(get_setting("certificate_valid_years")))


def _interval() -> int:
    value = int(get_setting("certificate_verification_months"))
    return value if value in INTERVALS else 12


def issue_certificate(member: Member, data: dict[str, Any], user: Any) -> Certificate:
    """Issue a certificate to a flow-out member; raises DomainError with the errors."""
    errors = issue_errors(member, data)
    if errors:
        raise DomainError(errors)
    record_trip(member, data, user)
    liaison = liaison_of(member)
    data = {**data, "liaison_name": liaison.name, "liaison_phone": liaison.phone or None}
    return _create(member, data, user, replaces=None)


def _create(member: Member, data: dict[str, Any], user: Any, replaces: Certificate | None):
    org = issuing_org_for(member)
    issued_on = data.get("issued_on") or local_today()
    interval = _interval()
    cert = Certificate(
        serial=new_serial(),
        short_code=new_short_code(),
        member_id=member.id,
        direction="out",
        status=OPEN,
        issuing_org_id=org.id if org else None,
        issuing_org_name=org.name if org else "",
        issued_on=issued_on,
        valid_until=data.get("valid_until") or _valid_until(issued_on),
        left_on=data.get("left_on"),
        reason=(data.get("reason") or "").strip() or None,
        destination=(data.get("destination") or "").strip() or None,
        occupation=(data.get("occupation") or "").strip() or None,
        contact_phone=(data.get("contact_phone") or "").strip() or None,
        liaison_name=(data.get("liaison_name") or "").strip() or None,
        liaison_phone=(data.get("liaison_phone") or "").strip() or None,
        verification_interval_months=interval,
        next_verification_due=add_months(issued_on, interval),
        replaces_id=replaces.id if replaces else None,
        created_by_id=getattr(user, "id", None),
    )
    _insert_numbered(
        cert,
        number_prefix(community_code(member), issued_on.year),
        prepare=lambda: stamp_pdf(cert, member),
    )
    record(
        "certificate_issue" if replaces is None else "certificate_reissue",
        cert,
        user=user,
        after=_snapshot(cert)
        | {"member_id": member.id, "replaces": replaces.number if replaces else None},
    )
    _reclassify(member, user)
    db.session.flush()
    return cert


def incoming_errors(member: Member, data: dict[str, Any], today: date) -> dict[str, str]:
    """Rules for recording a certificate a flow-in member brings from elsewhere."""
    errors: dict[str, str] = {}
    if member.mobility != "flow_in":
        errors["member"] = "只有流入党员的活动证需要登记；本社区外出党员请使用“发放活动证”"
    elif member.id is not None and open_certificate(member) is not None:
        errors["member"] = "该党员已有登记中的有效活动证"
    number = (data.get("number") or "").strip()
    if not number:
        errors["number"] = "请填写证件上的编号"
    elif db.session.execute(select(Certificate.id).where(Certificate.number == number)).first():
        errors["number"] = "该证号已登记过，请核对"
    if not (data.get("issuing_org_name") or "").strip():
        errors["issuing_org_name"] = "请填写发证的党组织"
    issued_on, valid_until = data.get("issued_on"), data.get("valid_until")
    if issued_on and issued_on > today:
        errors["issued_on"] = "发证日期不能晚于今天"
    if issued_on and valid_until and valid_until <= issued_on:
        errors["valid_until"] = "有效期应晚于发证日期"
    return errors


def record_incoming(member: Member, data: dict[str, Any], user: Any) -> Certificate:
    """登记 a certificate issued elsewhere to a member who flowed in: kept with its own number
    for the periodic checks and the member's category; never printed or verified here."""
    today = local_today()
    errors = incoming_errors(member, data, today)
    if errors:
        raise DomainError("；".join(errors.values()))
    interval = _interval()
    community = db.session.get(Place, member.community_id) if member.community_id else None
    cert = Certificate(
        number=data["number"].strip(),
        serial=new_serial(),
        member_id=member.id,
        direction="in",
        status=OPEN,
        issuing_org_name=data["issuing_org_name"].strip(),
        issued_on=data["issued_on"],
        valid_until=data["valid_until"],
        reason=(data.get("reason") or "").strip() or None,
        destination=community.name if community else None,
        occupation=(data.get("occupation") or "").strip() or None,
        contact_phone=(data.get("contact_phone") or "").strip() or None,
        verification_interval_months=interval,
        next_verification_due=add_months(max(data["issued_on"], today), interval),
        created_by_id=getattr(user, "id", None),
    )
    db.session.add(cert)
    db.session.flush()
    record(
        "certificate_record_in", cert, user=user, after=_snapshot(cert) | {"member_id": member.id}
    )
    _reclassify(member, user)
    db.session.flush()
    return cert


def _require_ours(cert: Certificate, action: str) -> None:
    if cert.direction != "out":
        raise DomainError(f"外地发放的活动证由原发证党组织{action}，本社区只登记和查验")


def stamp_pdf(cert: Certificate, member: Member | None = None) -> bytes:
    """Render the issued document (A5 booklet) and keep its SHA-256 on the certificate."""
    pdf = certificate_pdf(cert, member=member, layout="a5")
    cert.pdf_sha256 = hashlib.sha256(pdf).hexdigest()
    return pdf


def _reclassify(member: Member, user: Any) -> None:
    from app.members.services import reclassify

    reclassify(member, user, reason="活动证变更后重新分类")


def _require_open(cert: Certificate, action: str) -> None:
    if cert.status != OPEN:
        label = CERTIFICATE_STATUSES.get(cert.status, cert.status)
        raise DomainError(f"该证件当前为“{label}”，不能{action}")


def record_check(
    cert: Certificate, user: Any, checked_on: date, organization: str, opinion: str | None
) -> CertificateCheck:
    """A periodic verification (查验): a dated stamp; the next due date moves on."""
    _require_open(cert, "查验")
    if checked_on > local_today():
        raise DomainError("查验日期不能晚于今天")
    if checked_on < cert.issued_on:
        raise DomainError("查验日期不能早于发证日期")
    if not organization.strip():
        raise DomainError("请填写查验组织")
    before = _snapshot(cert)
    check = CertificateCheck(
        certificate_id=cert.id,
        checked_on=checked_on,
        organization=organization.strip(),
        opinion=(opinion or "").strip() or None,
        recorded_by_id=getattr(user, "id", None),
    )
    db.session.add(check)
    cert.next_verification_due = add_months(checked_on, cert.verification_interval_months or 12)
    db.session.flush()
    record("certificate_check", cert, user=user, before=before, after=_snapshot(cert))
    return check


def renew(cert: Certificate, user: Any, today: date | None = None) -> Certificate:
    """Extend the validity (换发 in place, same number); allowed while open or expired."""
    today = today or local_today()
    _require_ours(cert, "续期")
    if cert.status not in {OPEN, "expired"}:
        _require_open(cert, "续期")
    before = _snapshot(cert)
    start = max(today, cert.valid_until)
    cert.valid_until = _valid_until(start)
    cert.status = OPEN
    cert.closed_on = None
    cert.closed_reason = None
    cert.short_code = new_short_code()
    stamp_pdf(cert)
    db.session.flush()
    record("certificate_renew", cert, user=user, before=before, after=_snapshot(cert))
    return cert


def reissue(cert: Certificate, user: Any, reason: str) -> Certificate:
    """Lost or damaged card: the old one is revoked, a new number replaces it (history kept)."""
    _require_ours(cert, "补发")
    _require_open(cert, "补发")
    reason = (reason or "").strip()
    if not reason:
        raise DomainError("请填写补发原因")
    member = db.session.get(Member, cert.member_id)
    close(cert, user, "revoked", f"已补发新证（{reason}）", action="certificate_reissue_old")
    data = {
        key: getattr(cert, key)
        for key in (
            "left_on",
            "reason",
            "destination",
            "occupation",
            "contact_phone",
            "liaison_name",
            "liaison_phone",
            "valid_until",
        )
    }
    data["issued_on"] = local_today()
    new = _create(member, data, user, replaces=cert)
    cert.closed_reason = f"已补发新证 {new.number}（{reason}）"
    db.session.flush()
    return new


CLOSE_ACTIONS = {
    "returned": "交回",
    "transferred": "转接",
    "revoked": "注销",
    "expired": "置为过期",
}


def close(
    cert: Certificate,
    user: Any,
    status: str,
    reason: str | None = None,
    on: date | None = None,
    action: str | None = None,
) -> Certificate:
    """Return / transfer / revoke / expire: the certificate stops being valid at once."""
    if status not in CLOSE_ACTIONS:
        raise DomainError("未知的操作")
    _require_open(cert, CLOSE_ACTIONS[status])
    if status == "revoked" and not (reason or "").strip():
        raise DomainError("注销必须填写原因")
    before = _snapshot(cert)
    cert.status = status
    cert.closed_on = on or local_today()
    cert.closed_reason = (reason or "").strip() or None
    db.session.flush()
    record(action or f"certificate_{status}", cert, user=user, before=before, after=_snapshot(cert))
    member = db.session.get(Member, cert.member_id)
    if member is not None:
        if status == "returned" and cert.direction == "out" and member.mobility == "flow_out":
            end_trip(member, user, "交回活动证，外出结束")
        _reclassify(member, user)
    return cert


def expire_overdue(today: date | None = None, user: Any = None) -> int:
    """Mark open certificates past their validity as expired (scheduled command)."""
    today = today or local_today()
    rows = db.session.execute(
        select(Certificate).where(Certificate.status == OPEN, Certificate.valid_until < today)
    ).scalars()
    count = 0
    for cert in rows:
        close(cert, user, "expired", "超过有效期", on=today)
        count += 1
    return count


def history_chain(cert: Certificate) -> list[Certificate]:
    """The numbers this card replaced and was replaced by, oldest first."""
    chain = [cert]
    seen = {cert.id}
    current = cert
    while current.replaces_id and current.replaces_id not in seen:
        current = db.session.get(Certificate, current.replaces_id)
        if current is None:
            break
        seen.add(current.id)
        chain.insert(0, current)
    current = cert
    while True:
        newer = db.session.execute(
            select(Certificate).where(Certificate.replaces_id == current.id)
        ).scalar_one_or_none()
        if newer is None or newer.id in seen:
            break
        seen.add(newer.id)
        chain.append(newer)
        current = newer
    return chain
