"""Forms of the 接管 work (messages in Chinese)."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import BooleanField, DateField, SelectChoice, SelectField, StringField, TextAreaField
from wtforms.validators import InputRequired, Length, Optional

from app.forms import DATE_MSG
from app.takeover.models import FIVE_ITEMS, REFERRAL_OUTCOMES


class TrainingForm(FlaskForm):
    course = StringField("培训项目", validators=[InputRequired("请填写培训项目"), Length(max=100)])
    provider = StringField(
        "培训机构", validators=[InputRequired("请填写培训机构"), Length(max=100)]
    )
    started_on = DateField("开始日期", validators=[InputRequired(DATE_MSG)])
    ended_on = DateField("结束日期", validators=[Optional()])
    certificate = StringField("取得证书", validators=[Optional(), Length(max=100)])


class LeadForm(FlaskForm):
    community_id = SelectField("社区", choices=[], validate_choice=False)
    employer = StringField(
        "用人单位", validators=[InputRequired("请填写用人单位"), Length(max=100)]
    )
    post = StringField("岗位", validators=[InputRequired("请填写岗位"), Length(max=100)])
    contact = StringField(
        "联系人及电话", validators=[InputRequired("请填写联系人及电话"), Length(max=100)]
    )
    valid_until = DateField("有效期至", validators=[InputRequired(DATE_MSG)])
    notes = TextAreaField("要求与待遇", validators=[Optional(), Length(max=500)])


class ReferralForm(FlaskForm):
    job_lead_id = SelectField("岗位信息", choices=[], validate_choice=False)
    employer = StringField("用人单位", validators=[Optional(), Length(max=100)])
    post = StringField("岗位", validators=[Optional(), Length(max=100)])
    referred_on = DateField("推荐日期", validators=[InputRequired(DATE_MSG)])
    note = StringField("备注", validators=[Optional(), Length(max=200)])


class OutcomeForm(FlaskForm):
    outcome = SelectField(
        "结果",
        choices=[SelectChoice("", "请选择")]
        + [SelectChoice(k, v) for k, v in REFERRAL_OUTCOMES.items() if k != "pending"],
        validate_choice=False,
    )
    outcome_on = DateField("结果日期", validators=[InputRequired(DATE_MSG)])
    relation_moves = BooleanField("组织关系转入新单位党组织")
    work_unit_org = StringField("单位党组织", validators=[Optional(), Length(max=100)])


class EvidenceForm(FlaskForm):
    item = SelectField(
        "事项",
        choices=[SelectChoice("", "请选择")] + [SelectChoice(k, v) for k, v in FIVE_ITEMS.items()],
        validate_choice=False,
    )
    done_on = DateField("日期", validators=[InputRequired(DATE_MSG)])
    note = StringField("情况说明", validators=[InputRequired("请写明情况"), Length(max=200)])
