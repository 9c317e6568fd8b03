"""直管 forms: they parse; the rules live in ``rules`` / ``services`` (one place)."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    DateField,
    SelectChoice,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
    ValidationError,
    widgets,
)
from wtforms.validators import InputRequired, Length, Optional

from app.direct.models import FIVE_GOOD_ASSESSMENTS, FIVE_GOOD_ITEMS, NEED_KINDS
from app.members.identity import LANDLINE_RE, MOBILE_RE

REQUIRED = "此项为必填项"


def _choices(labels: dict[str, str]) -> list[SelectChoice]:
    return [SelectChoice("", "请选择")] + [SelectChoice(k, v) for k, v in labels.items()]


def _int_or_none(value):  # noqa: ANN001, ANN202
    try:
        return int(value) if value not in (None, "") else None
    except (TypeError, ValueError):
        return None


class CheckboxList(SelectMultipleField):
    widget = widgets.ListWidget(prefix_label=False)
    option_widget = widgets.CheckboxInput()

    def pre_validate(self, form) -> None:  # noqa: ANN001
        pass  # the service says which buildings are allowed (message next to the field)


class PostForm(FlaskForm):
    community_id = SelectField("所属社区", coerce=_int_or_none, validate_choice=False)
    name = StringField("岗位名称", validators=[InputRequired(REQUIRED), Length(max=50)])
    duties = TextAreaField("岗位职责", validators=[InputRequired(REQUIRED), Length(max=1000)])
    retired = BooleanField("停用此岗位（已有的任职不受影响）")


class AssignForm(FlaskForm):
    post_id = SelectField("岗位", coerce=_int_or_none, validate_choice=False)
    starts_on = DateField("开始日期", validators=[Optional()])
    ends_on = DateField("结束日期（可不填）", validators=[Optional()])
    buildings = CheckboxList("责任区（楼栋，可多选）", coerce=int)
    note = StringField("备注", validators=[Optional(), Length(max=200)])


class DecideForm(FlaskForm):
    reason = StringField("不通过的理由", validators=[Optional(), Length(max=200)])


class EndForm(FlaskForm):
    ends_on = DateField("结束日期", validators=[Optional()])


def _phone(form, field) -> None:  # noqa: ANN001
    value = (field.data or "").strip()
    if value and not (MOBILE_RE.match(value) or LANDLINE_RE.match(value)):
        raise ValidationError("请填写11位手机号或带区号的固定电话")


class PairForm(FlaskForm):
    helped_name = StringField(
        "帮扶对象姓名（户主）", validators=[InputRequired(REQUIRED), Length(max=50)]
    )
    helped_phone = StringField("联系电话", validators=[Optional(), Length(max=20), _phone])
    building_id = SelectField("所在楼栋", coerce=_int_or_none, validate_choice=False)
    room = StringField("房号", validators=[Optional(), Length(max=30)])
    need_kind = SelectField(
        "帮扶类别",
        choices=_choices(NEED_KINDS),
        validate_choice=False,
    )
    need_note = StringField("困难情况", validators=[Optional(), Length(max=200)])
    starts_on = DateField("开始日期", validators=[Optional()])
    ends_on = DateField("结束日期（可不填）", validators=[Optional()])


class VisitForm(FlaskForm):
    visited_on = DateField("日期", validators=[Optional()])
    content = TextAreaField("帮扶内容", validators=[InputRequired(REQUIRED), Length(max=1000)])
    visitor = StringField("帮扶人", validators=[InputRequired(REQUIRED), Length(max=50)])


class ReviewForm(FlaskForm):
    year = SelectField("年度", coerce=_int_or_none, validate_choice=False)
    good_citizen = BooleanField(FIVE_GOOD_ITEMS["good_citizen"])
    good_member = BooleanField(FIVE_GOOD_ITEMS["good_member"])
    good_worker = BooleanField(FIVE_GOOD_ITEMS["good_worker"])
    good_neighbor = BooleanField(FIVE_GOOD_ITEMS["good_neighbor"])
    good_parent = BooleanField(FIVE_GOOD_ITEMS["good_parent"])
    assessment = SelectField(
        "社区评定",
        choices=_choices(FIVE_GOOD_ASSESSMENTS),
        validate_choice=False,
    )
    note = TextAreaField("评语", validators=[Optional(), Length(max=500)])
