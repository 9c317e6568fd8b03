"""WTForms of the 双管 pages."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import (
    DateField,
    DecimalField,
    HiddenField,
    IntegerField,
    RadioField,
    SelectChoice,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional

from app.dual.models import NEED_KINDS, RATINGS, SEND_METHODS

REQUIRED = "请填写此项"


def _choices(codes: dict[str, str]) -> list[SelectChoice]:
    return [SelectChoice(k, v) for k, v in codes.items()]


class NeedForm(FlaskForm):
    kind = SelectField("类型", choices=_choices(NEED_KINDS))
    community_id = SelectField("社区", coerce=int)
    title = StringField("名称", validators=[DataRequired(REQUIRED), Length(max=100)])
    place = StringField("地点", validators=[Optional(), Length(max=100)])
    slots = StringField("服务时段", validators=[Optional(), Length(max=200)])
    starts_on = DateField("开始日期", validators=[Optional()])
    ends_on = DateField("结束日期", validators=[Optional()])
    places = IntegerField(
        "需要人数",
        default=1,
        validators=[InputRequired("请填写需要人数"), NumberRange(1, 500, "人数应在 1 到 500 之间")],
    )
    skills = StringField("所需技能", validators=[Optional(), Length(max=200)])
    description = TextAreaField("说明", validators=[Optional(), Length(max=2000)])


class ServiceForm(FlaskForm):
    served_on = DateField("服务日期", validators=[InputRequired("请填写服务日期")])
    hours = DecimalField(
        "时长（小时）",
        places=1,
        validators=[
            InputRequired("请填写服务时长"),
            NumberRange(0.1, 24, "时长应在 0.1 到 24 小时之间"),
        ],
    )
    content = StringField("服务内容", validators=[DataRequired(REQUIRED), Length(max=300)])


class DecideForm(FlaskForm):
    hours = DecimalField(
        "确认时长（小时）",
        places=1,
        validators=[Optional(), NumberRange(0.1, 24, "时长应在 0.1 到 24 小时之间")],
    )


class SignInForm(FlaskForm):
    t = HiddenField()


class RatingForm(FlaskForm):
    rating = RadioField(
        "社区评价", choices=_choices(RATINGS), validators=[InputRequired("请选择评价等次")]
    )
    comment = TextAreaField("评价意见", validators=[Optional(), Length(max=1000)])


class SentForm(FlaskForm):
    sent_on = DateField("发送日期", validators=[InputRequired("请填写发送日期")])
    via = SelectField("送达方式", choices=_choices(SEND_METHODS))


class ReturnedForm(FlaskForm):
    returned_on = DateField("回执日期", validators=[InputRequired("请填写回执日期")])
    employer_note = TextAreaField("单位回执意见", validators=[Optional(), Length(max=1000)])


class OpinionForm(FlaskForm):
    employer = StringField("来函单位", validators=[DataRequired(REQUIRED), Length(max=100)])
    purpose = StringField("考察事由", validators=[DataRequired(REQUIRED), Length(max=200)])
    requested_on = DateField("来函日期", validators=[InputRequired("请填写来函日期")])


class AnswerForm(FlaskForm):
    answer = TextAreaField("社区党组织意见", validators=[DataRequired(REQUIRED), Length(max=2000)])
    answered_on = DateField("答复日期", validators=[InputRequired("请填写答复日期")])
