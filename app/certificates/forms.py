"""Certificate and transfer-letter forms (messages in Chinese)."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    DateField,
    IntegerField,
    MonthField,
    SelectChoice,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.validators import InputRequired, Length, NumberRange, Optional, ValidationError

from app.forms import DATE_MSG
from app.members.identity import normalize_phone


def _phone(form, field):  # noqa: ANN001
    if field.data and field.data.strip():
        try:
            field.data = normalize_phone(field.data)
        except ValueError as exc:
            raise ValidationError(str(exc)) from None


class IssueForm(FlaskForm):
    left_on = DateField("外出时间", validators=[InputRequired(DATE_MSG)])
    expected_return = DateField("预计返回时间", validators=[Optional()])
    open_ended = BooleanField("长期外出（返回时间不定）")
    reason = StringField("外出原因", validators=[Optional(), Length(max=100)])
    destination = StringField(
        "流入地（外出地点）", validators=[InputRequired("请填写流入地"), Length(max=100)]
    )
    occupation = StringField("在流入地从事的职业", validators=[Optional(), Length(max=100)])
    contact_phone = StringField("持证人联系电话", validators=[Optional(), _phone])
    liaison = SelectField("联络人", choices=[], validate_choice=False)
    issued_on = DateField("发证日期", validators=[InputRequired(DATE_MSG)])


class IncomingForm(FlaskForm):
    """A certificate a flow-in member brings from their home organization (登记外地活动证)."""

    number = StringField(
        "证件编号", validators=[InputRequired("请填写证件上的编号"), Length(max=32)]
    )
    issuing_org_name = StringField(
        "发证党组织", validators=[InputRequired("请填写发证的党组织"), Length(max=100)]
    )
    issued_on = DateField("发证日期", validators=[InputRequired(DATE_MSG)])
    valid_until = DateField("有效期至", validators=[InputRequired(DATE_MSG)])
    reason = StringField("外出原因", validators=[Optional(), Length(max=100)])
    occupation = StringField("在本地从事的职业", validators=[Optional(), Length(max=100)])
    contact_phone = StringField("持证人联系电话", validators=[Optional(), _phone])


class CheckForm(FlaskForm):
    checked_on = DateField("查验日期", validators=[InputRequired(DATE_MSG)])
    organization = StringField(
        "查验组织", validators=[InputRequired("请填写查验组织"), Length(max=100)]
    )
    opinion = StringField("查验意见", validators=[Optional(), Length(max=300)])


class CloseForm(FlaskForm):
    action = SelectField(
        "操作",
        choices=[
            SelectChoice("returned", "交回（外出返回）"),
            SelectChoice("transferred", "转接（组织关系已转出）"),
            SelectChoice("revoked", "注销"),
        ],
    )
    reason = TextAreaField("原因", validators=[Optional(), Length(max=300)])


class ReissueForm(FlaskForm):
    reason = StringField("补发原因", validators=[InputRequired("请填写补发原因"), Length(max=200)])


class TransferForm(FlaskForm):
    to_org_name = StringField(
        "接收党组织", validators=[InputRequired("请填写接收党组织"), Length(max=100)]
    )
    dues_paid_until = MonthField("党费交至", validators=[Optional()])
    valid_days = IntegerField(
        "有效期（天）",
        default=30,
        validators=[
            InputRequired("请填写有效天数"),
            NumberRange(1, 92, "有效期为 1 至 92 天（最长三个月）"),
        ],
    )


class ReturnSlipForm(FlaskForm):
    returned_on = DateField("回执退回日期", validators=[InputRequired(DATE_MSG)])


class BatchForm(FlaskForm):
    kind = SelectField(
        "打印内容",
        choices=[
            SelectChoice("certificates", "活动证（本支部全部有效证件）"),
            SelectChoice("feedback", "在职党员社区表现反馈单"),
            SelectChoice("contact_cards", "社区联系卡"),
            SelectChoice("roster", "党员名册"),
        ],
    )
    layout = SelectField(
        "版式", choices=[SelectChoice("a4", "A4"), SelectChoice("a5", "A5 折页本")]
    )
    branch = SelectField("党支部", coerce=str, validators=[Optional()])
    grid = SelectField("网格", coerce=str, validators=[Optional()])


class ReceivedLetterForm(FlaskForm):
    """An incoming 组织关系介绍信, recorded so its 回执 can be printed and sent back."""

    number = StringField(
        "介绍信编号", validators=[InputRequired("请填写介绍信上的编号"), Length(max=40)]
    )
    from_org_name = StringField(
        "开具介绍信的党组织", validators=[InputRequired("请填写转出党组织"), Length(max=100)]
    )
    received_on = DateField("收到日期", validators=[InputRequired(DATE_MSG)])


class ReplySentForm(FlaskForm):
    sent_on = DateField("回执寄出日期", validators=[InputRequired(DATE_MSG)])
