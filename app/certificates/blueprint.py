"""The certificates blueprint and what its route modules share: filters, scoped loaders."""

from __future__ import annotations

import io
from datetime import date

from flask import (
    Blueprint,
    Response,
    send_file,
)
from flask_login import current_user

from app import reminders
from app.certificates import documents, services
from app.certificates.models import (
    Certificate,
)
from app.members.models import Member
from app.organization.scope import (
    get_in_scope_or_404,
    get_of_member_in_scope_or_404,
    member_scope_filter,
)
from app.timeutil import format_local

bp = Blueprint("certificates", __name__)

VERIFY_LIMIT = "30 per minute; 300 per hour"
DUE_FILTERS = services.DUE_FILTERS
for _order, (_due, _label, _overdue) in enumerate(
    (
        ("overdue", "活动证查验已逾期", True),
        ("soon", "30 天内需查验的活动证", False),
        ("expiring", "90 天内到期的活动证", False),
    ),
    start=30,
):
    reminders.register(
        f"certificates_{_due}",
        _label,
        lambda user, due=_due: services.due_counts(user)[due],
        "certificates.index",
        overdue=_overdue,
        order=_order,
        due=_due,
    )
LAYOUTS = {"a5": "A5 单页", "booklet": "A5 折页本", "a4": "A4"}  # certificate print layouts


@bp.app_template_filter("cn_date")
def _cn_date(value: date | None) -> str:
    return documents.cn_date(value)


@bp.app_template_filter("local_time")
def _local_time(value) -> str:  # noqa: ANN001
    return format_local(value)


def _scoped_certificate(cert_id: int) -> Certificate:
    """A certificate whose member is in the user's scope, else 404."""
    return get_of_member_in_scope_or_404(Certificate, cert_id, current_user)


def _scoped_member(member_id: int) -> Member:
    return get_in_scope_or_404(Member, member_id, current_user, member_scope_filter)


def _pdf_response(pdf: bytes, filename: str, inline: bool = True) -> Response:
    response = send_file(
        io.BytesIO(pdf),
        mimetype="application/pdf",
        as_attachment=not inline,
        download_name=filename,
    )
    response.headers["Cache-Control"] = "no-store"
    return response
