"""协管 forms: they parse; the rules live in ``app.mobile.services``."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import DateField, SelectChoice, SelectField, StringField, TextAreaField
from wtforms.validators import InputRequired, Length, Optional

from app.mobile.models import CHANNELS, DIRECTIONS, KINDS


def choices(pairs) -> list[SelectChoice]:  # noqa: ANN001
    """SelectChoice values from (value, label) pairs or a code → label dict."""
    items = pairs.items() if isinstance(pairs, dict) else pairs
    return [SelectChoice(value, label) for value, label in items]


class ContactForm(FlaskForm):
    kind = SelectField("类别", choices=choices(KINDS), default="feedback")
    direction = SelectField("方向", choices=choices(DIRECTIONS))
    channel = SelectField("方式", choices=choices(CHANNELS))
    contacted_on = DateField("日期", validators=[InputRequired("请填写日期")])
    org_name = StringField(
        "对方党组织",
        validators=[InputRequired("请填写对方党组织"), Length(max=100, message="不超过 100 字")],
    )
    summary = TextAreaField(
        "主要内容",
        validators=[InputRequired("请填写主要内容"), Length(max=2000, message="不超过 2000 字")],
    )


class LetterForm(FlaskForm):
    class Meta:
        csrf = False  # a GET form (the PDF's period)

    start = DateField("起始日期", validators=[InputRequired("请填写起始日期")])
    end = DateField("截止日期", validators=[InputRequired("请填写截止日期")])


class StationForm(FlaskForm):
    community_id = SelectField("所属社区", coerce=int, validate_choice=True)
    name = StringField(
        "管理站名称", validators=[InputRequired("请填写管理站名称"), Length(max=100)]
    )
    place = StringField(
        "所在地（从业地）", validators=[InputRequired("请填写所在地"), Length(max=100)]
    )
    contact = StringField("负责人及联系方式", validators=[Optional(), Length(max=100)])
    notes = StringField("备注", validators=[Optional(), Length(max=300)])


class StationMemberForm(FlaskForm):
    member = SelectField("党员", coerce=str, validate_choice=False)
