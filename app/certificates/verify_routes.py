"""The public verification page of a certificate's QR code (no login, rate-limited, no-store)."""

from __future__ import annotations

from flask import (
    current_app,
    make_response,
    render_template,
)

from app.certificates import documents, services
from app.certificates.blueprint import (
    VERIFY_LIMIT,
    bp,
)
from app.certificates.models import (
    CERTIFICATE_STATUSES,
)
from app.extensions import db, limiter
from app.members.models import Member
from app.security import mark_personal, mask_name

# ---- public verification ----------------------------------------------------------------------


@bp.route("/verify/<token>")
@limiter.limit(lambda: current_app.config.get("VERIFY_RATE_LIMIT") or VERIFY_LIMIT)
def verify(token: str):
    mark_personal()
    verdict = services.verify_token(token)
    cert = verdict.certificate
    shown = None
    if cert is not None:
        member = db.session.get(Member, cert.member_id)
        member_name = member.name
        shown = {
            "status": CERTIFICATE_STATUSES.get(cert.status, cert.status),
            "valid_until": documents.cn_date(cert.valid_until),
            "issuer": cert.issuing_org_name or "",
            "name": mask_name(member_name),
            "short_code": cert.short_code or "",
            "sha256": cert.pdf_sha256 or "",
            # printed on both layouts; for a card recorded from elsewhere there is no print here
            "fingerprint": documents.certificate_fingerprint(cert, member)
            if cert.direction == "out"
            else "",
        }
        if verdict.state == "expired":
            shown["status"] = CERTIFICATE_STATUSES["expired"]
    response = make_response(
        render_template("certificates/verify.html", verdict=verdict, shown=shown)
    )
    response.headers["X-Robots-Tag"] = "noindex, nofollow"
    return response
