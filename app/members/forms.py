"""Member forms. Field validators call the same pure functions as the import and the services."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    DateField,
    DecimalField,
    HiddenField,
    MonthField,
    SelectChoice,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.validators import InputRequired, Length, NumberRange, Optional, ValidationError

from app.members.identity import IdNumberError, normalize_mobile, normalize_phone, parse_id_number
from app.members.models import (
    CATEGORIES,
    EMPLOYMENTS,
    MEMBER_TYPES,
    MOBILITIES,
    RELATION_LOCATIONS,
    STATUSES,
)
from app.timeutil import local_today


def _choices(mapping: dict[str, str]) -> list[SelectChoice]:
    return [SelectChoice(value, label) for value, label in mapping.items()]


def _id_number(form, field):  # noqa: ANN001
    if field.data and field.data.strip():
        try:
            parse_id_number(field.data, today=local_today())
        except IdNumberError as exc:
            raise ValidationError(str(exc)) from None


def _mobile(form, field):  # noqa: ANN001
    if field.data and field.data.strip():
        try:
            normalize_mobile(field.data)
        except ValueError as exc:
            raise ValidationError(str(exc)) from None


def _phone(form, field):  # noqa: ANN001
    if field.data and field.data.strip():
        try:
            normalize_phone(field.data)
        except ValueError as exc:
            raise ValidationError(str(exc)) from None


def _date(label: str) -> DateField:
    return DateField(label, validators=[Optional()], format="%Y-%m-%d")


class MemberForm(FlaskForm):
    version = HiddenField()
    name = StringField(
        "姓名", validators=[InputRequired("请填写姓名"), Length(max=50, message="姓名过长")]
    )
    id_number = StringField("身份证号", validators=[_id_number])
    ethnicity = StringField("民族", validators=[Optional(), Length(max=20)])
    native_place = StringField("籍贯", validators=[Optional(), Length(max=100)])
    phone = StringField("手机号", validators=[_mobile])
    second_phone = StringField("其他电话", validators=[_phone])
    education = StringField("学历", validators=[Optional(), Length(max=30)])
    degree = StringField("学位", validators=[Optional(), Length(max=30)])
    room = StringField("房号", validators=[Optional(), Length(max=30)])
    address = StringField("地址", validators=[Optional(), Length(max=200)])

    member_type = SelectField("党员类型", choices=_choices(MEMBER_TYPES))
    joined_on = _date("入党日期")
    full_member_on = _date("转正日期")
    introducers = StringField("入党介绍人", validators=[Optional(), Length(max=100)])
    party_post = StringField("党内职务", validators=[Optional(), Length(max=50)])
    relation_location = SelectField("组织关系所在", choices=_choices(RELATION_LOCATIONS))
    relation_org_name = StringField("组织关系所在党组织", validators=[Optional(), Length(max=100)])
    status = SelectField("状态", choices=_choices(STATUSES))

    employment = SelectField("就业状态", choices=_choices(EMPLOYMENTS))
    work_unit = StringField("工作单位", validators=[Optional(), Length(max=100)])
    work_unit_org = StringField("单位党组织", validators=[Optional(), Length(max=100)])
    work_unit_contact = StringField("单位联系人", validators=[Optional(), Length(max=100)])
    original_unit = StringField("原工作单位", validators=[Optional(), Length(max=100)])
    employer = StringField("现工作单位或服务场所", validators=[Optional(), Length(max=100)])
    monthly_income = DecimalField(
        "月收入（元）",
        places=2,
        validators=[Optional(), NumberRange(min=0, max=10_000_000, message="请填写合理的金额")],
    )
    hardship = StringField("困难情况", validators=[Optional(), Length(max=200)])
    aid_received = StringField("帮扶情况", validators=[Optional(), Length(max=200)])
    dues_paid_until = MonthField("党费交至（年月）", validators=[Optional()])
    dues_reduced = BooleanField("党费减免")

    mobility = SelectField("流动情况", choices=_choices(MOBILITIES))
    mobility_place = StringField("流入来源或流出去向", validators=[Optional(), Length(max=100)])
    mobility_since = _date("流动开始日期")
    mobility_expected_return = _date("预计返回日期")
    mobility_open_ended = BooleanField("长期外出（返回时间不定）")
    mobility_occupation = StringField("外出从事职业", validators=[Optional(), Length(max=100)])
    mobility_contact = StringField("外出期间联系方式", validators=[Optional(), Length(max=100)])
    origin_org_contact = StringField("原党组织联系人", validators=[Optional(), Length(max=100)])

    notes = TextAreaField("备注", validators=[Optional(), Length(max=5000)])
    reason = StringField("变更原因", validators=[Optional(), Length(max=300)])
    effective_on = _date("生效日期")

    TEXT = (
        "name",
        "ethnicity",
        "native_place",
        "education",
        "degree",
        "room",
        "address",
        "member_type",
        "joined_on",
        "full_member_on",
        "introducers",
        "party_post",
        "relation_location",
        "relation_org_name",
        "status",
        "employment",
        "work_unit",
        "work_unit_org",
        "work_unit_contact",
        "original_unit",
        "employer",
        "hardship",
        "aid_received",
        "dues_paid_until",
        "dues_reduced",
        "mobility",
        "mobility_place",
        "mobility_since",
        "mobility_expected_return",
        "mobility_open_ended",
        "mobility_occupation",
        "mobility_contact",
        "origin_org_contact",
        "notes",
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for name in (
            "joined_on",
            "full_member_on",
            "mobility_since",
            "mobility_expected_return",
            "effective_on",
        ):
            getattr(self, name).render_kw = {"placeholder": "2001-07-01"}

    def load(self, member) -> None:  # noqa: ANN001
        """Fill the form from a member (GET)."""
        for name in self.TEXT:
            getattr(self, name).data = getattr(member, name)
        self.monthly_income.data = (
            Decimal(member.monthly_income_fen) / 100 if member.monthly_income_fen else None
        )
        self.version.data = str(member.version)

    def changes(self) -> dict:
        """The submitted values as service-level changes."""
        out = {name: getattr(self, name).data for name in self.TEXT}
        if out["dues_paid_until"] is not None:
            out["dues_paid_until"] = out["dues_paid_until"].replace(day=1)
        income = self.monthly_income.data
        out["monthly_income_fen"] = (
            int((income * 100).quantize(Decimal(1), rounding=ROUND_HALF_UP))
            if income is not None
            else None
        )
        # Like the ID number, phones are not prefilled (that would reveal them without an audit
        # entry): an empty field means "unchanged".
        for name in ("id_number", "phone", "second_phone"):
            value = getattr(self, name).data
            if value and value.strip():
                out[name] = value
        return out

    def expected_version(self) -> int | None:
        try:
            return int(self.version.data)
        except (TypeError, ValueError):
            return None


class CategoryForm(FlaskForm):
    version = HiddenField()
    category = SelectField("五管分类", choices=_choices(CATEGORIES))
    reason = TextAreaField(
        "调整理由",
        validators=[Length(max=300, message="理由不能超过 300 个字")],
    )
    clear = HiddenField()
