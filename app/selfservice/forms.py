"""The member's change-request form: the field validators staff forms use (app.members.forms)."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import StringField
from wtforms.validators import Length

from app.members.forms import _mobile, _phone
from app.members.validation import TEXT_LIMITS
from app.selfservice.services import EDITABLE, LABELS, NOTE_LIMIT


def _text(key: str) -> StringField:
    limit = TEXT_LIMITS.get(key, 100)
    return StringField(
        LABELS[key], validators=[Length(max=limit, message=f"{LABELS[key]}不能超过 {limit} 个字")]
    )


class ChangeRequestForm(FlaskForm):
    phone = StringField(LABELS["phone"], validators=[_mobile])
    second_phone = StringField(LABELS["second_phone"], validators=[_phone])
    room = _text("room")
    address = _text("address")
    work_unit = _text("work_unit")
    employer = _text("employer")
    note = StringField(
        "说明（选填）",
        validators=[Length(max=NOTE_LIMIT, message=f"说明不能超过 {NOTE_LIMIT} 个字")],
    )

    def values(self) -> dict[str, str]:
        return {key: getattr(self, key).data or "" for key in EDITABLE}
