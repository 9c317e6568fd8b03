"""共管 forms: they parse; the rules live in ``app.care.services``."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import (
    DateField,
    SelectChoice,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)
from wtforms.validators import InputRequired, Length, Optional
from wtforms.widgets import CheckboxInput, ListWidget

from app.care.models import ABILITIES, EVENT_KINDS, HEALTH


def choices(pairs) -> list[SelectChoice]:  # noqa: ANN001
    """SelectChoice values from (value, label) pairs or a code → label dict."""
    items = pairs.items() if isinstance(pairs, dict) else pairs
    return [SelectChoice(value, label) for value, label in items]


class CheckboxesField(SelectMultipleField):
    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


class CarePlanForm(FlaskForm):
    health = SelectField("健康状况", choices=choices(HEALTH), default="healthy")
    unit_org_name = StringField(
        "原单位党组织", validators=[Optional(), Length(max=100, message="不超过 100 字")]
    )
    unit_contact = StringField(
        "原单位联系人及电话", validators=[Optional(), Length(max=100, message="不超过 100 字")]
    )
    abilities = CheckboxesField("还能发挥的作用", choices=choices(ABILITIES))
    notes = StringField("备注", validators=[Optional(), Length(max=300, message="不超过 300 字")])


class CareEventForm(FlaskForm):
    kind = SelectField("情况", choices=choices(EVENT_KINDS))
    occurred_on = DateField("日期", validators=[InputRequired("请填写日期")])
    note = StringField("说明", validators=[Optional(), Length(max=300, message="不超过 300 字")])


class VisitForm(FlaskForm):
    occasion = SelectField(
        "走访事由", choices=choices([("other", "日常走访")]), validate_choice=False
    )
    visited_on = DateField("走访日期", validators=[InputRequired("请填写走访日期")])
    visitors = StringField(
        "走访人",
        validators=[InputRequired("请填写走访人"), Length(max=200, message="不超过 200 字")],
    )
    unit_co_visitor = StringField(
        "原单位共同走访（单位及人员）",
        validators=[Optional(), Length(max=100, message="不超过 100 字")],
    )
    brought = StringField(
        "带去的慰问品 / 帮助解决的事",
        validators=[Optional(), Length(max=300, message="不超过 300 字")],
    )
    follow_up = TextAreaField(
        "后续跟进", validators=[Optional(), Length(max=2000, message="不超过 2000 字")]
    )
