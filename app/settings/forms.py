"""The settings form: one field per editable entry, bounded to the entry's range."""

from __future__ import annotations

from typing import Any

from flask_wtf import FlaskForm
from wtforms import BooleanField, IntegerField, StringField
from wtforms.validators import InputRequired, Length, NumberRange

from app.settings.editable import EDITABLE, Editable


def _field(item: Editable):  # noqa: ANN202
    if item.kind == "bool":
        return BooleanField(item.label)
    if item.kind == "int":
        return IntegerField(
            item.label,
            validators=[
                InputRequired("请填写"),
                NumberRange(
                    item.minimum,
                    item.maximum,
                    f"请填写 {item.minimum} 至 {item.maximum} 之间的整数",
                ),
            ],
        )
    return StringField(
        item.label,
        validators=[
            InputRequired("请填写"),
            Length(max=item.maximum, message=f"不能超过 {item.maximum} 个字"),
        ],
    )


SettingsForm = type("SettingsForm", (FlaskForm,), {i.name: _field(i) for i in EDITABLE})


def settings_form(**kwargs: Any) -> FlaskForm:
    return SettingsForm(**kwargs)


def changes_of(form: FlaskForm) -> dict[str, Any]:
    """The submitted values by form name (text entries stripped)."""
    changes = {item.name: form[item.name].data for item in EDITABLE}
    for item in EDITABLE:
        if item.kind == "text":
            changes[item.name] = changes[item.name].strip()
    return changes


def sections() -> dict[str, list[Editable]]:
    """The entries grouped by their section, in page order."""
    grouped: dict[str, list[Editable]] = {}
    for item in EDITABLE:
        grouped.setdefault(item.section, []).append(item)
    return grouped
