"""Incoming 组织关系介绍信 (a member transferring in) and the 回执 sent back to the issuing organization."""

from __future__ import annotations

from flask import flash, request, url_for
from flask_login import current_user

from app.audit import record
from app.certificates import documents, letters
from app.certificates.blueprint import _pdf_response, _scoped_member, bp
from app.certificates.forms import ReceivedLetterForm, ReplySentForm
from app.certificates.models import ReceivedLetter
from app.errors import errors_onto, render_form
from app.extensions import db
from app.forms import validated
from app.htmx import see_other
from app.members.models import Member
from app.organization.scope import get_of_member_in_scope_or_404
from app.security import mark_personal, staff_required
from app.timeutil import local_today


def _scoped_received(letter_id: int) -> ReceivedLetter:
    return get_of_member_in_scope_or_404(ReceivedLetter, letter_id, current_user)


@bp.route("/certificates/member/<int:member_id>/received", methods=["GET", "POST"])
@staff_required
def received_new(member_id: int):
    """登记转入介绍信: prefilled from the member's 组织关系转入 registration."""
    mark_personal()
    member = _scoped_member(member_id)
    form = ReceivedLetterForm()
    if request.method == "GET":
        defaults = letters.received_letter_defaults(member)
        form.number.data = defaults["number"]
        form.from_org_name.data = defaults["from_org_name"]
        form.received_on.data = defaults["received_on"]
    elif validated(form):
        with errors_onto(form):
            letter = letters.record_received_letter(
                member,
                {
                    "number": form.number.data,
                    "from_org_name": form.from_org_name.data,
                    "received_on": form.received_on.data,
                },
                current_user,
            )
            flash("已登记转入介绍信，请打印回执寄回转出党组织", "success")
            return see_other(url_for("certificates.received", received_id=letter.id))
    return render_form("certificates/received_new.html", "form", form, member=member)


@bp.route("/certificates/received/<int:received_id>", methods=["GET", "POST"])
@staff_required
def received(received_id: int):
    mark_personal()
    letter = _scoped_received(received_id)
    form = ReplySentForm()
    if request.method == "GET":
        form.sent_on.data = local_today()
    elif validated(form):
        with errors_onto(form):
            letters.record_reply_sent(letter, current_user, form.sent_on.data)
            flash("已登记回执寄出", "success")
            return see_other(url_for("certificates.received", received_id=letter.id))
        letter = _scoped_received(received_id)
    return render_form(
        "certificates/received.html",
        "content",
        form,
        letter=letter,
        member=db.session.get(Member, letter.member_id),
    )


@bp.route("/certificates/received/<int:received_id>/reply.pdf")
@staff_required
def received_reply_pdf(received_id: int):
    letter = _scoped_received(received_id)
    data = documents.received_reply_pdf(letter)
    record("received_letter_print", letter)
    return _pdf_response(data, f"reply-{letter.id}.pdf")
