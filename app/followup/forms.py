"""Follow-up forms: an org-life event, a thought report, a contact log entry; a member's dues
standard and payments; a lost-contact case, its attempts, stages and closing.

The forms parse; the rules (scope of the branch, dates not in the future, required text) live
in ``services`` so the same checks apply to every caller.
"""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import (
    DateField,
    HiddenField,
    IntegerField,
    MonthField,
    RadioField,
    SelectChoice,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.validators import InputRequired, Length, NumberRange, Optional

from app.followup import dues
from app.followup.models import (
    CONTACT_METHODS,
    EVENT_KINDS,
    LOST_CONTACT_KINDS,
    LOST_CONTACT_METHOD_HINTS,
    LOST_CONTACT_OUTCOMES,
    LOST_CONTACT_REASONS,
    LOST_CONTACT_STAGES,
)
from app.params import parse_int


def _choices(labels: dict[str, str]) -> list[SelectChoice]:
    return [SelectChoice("", "请选择")] + [SelectChoice(k, v) for k, v in labels.items()]


def _pairs(pairs) -> list[SelectChoice]:  # noqa: ANN001
    return [SelectChoice(value, label) for value, label in pairs]


class EventForm(FlaskForm):
    org_id = SelectField("党支部 / 党小组", coerce=parse_int, validate_choice=False)
    kind = SelectField(
        "活动类型",
        choices=_choices(EVENT_KINDS),
        validate_choice=False,
    )
    held_on = DateField("活动日期", validators=[Optional()])
    title = StringField("主题", validators=[Length(max=100, message="主题不能超过 100 个字")])
    place = StringField(
        "地点", validators=[Optional(), Length(max=100, message="地点不能超过 100 个字")]
    )
    notes = TextAreaField(
        "内容摘要", validators=[Optional(), Length(max=2000, message="不能超过 2000 字")]
    )
    version = HiddenField()

    def values(self) -> dict:
        return {
            "org_id": self.org_id.data,
            "kind": self.kind.data,
            "held_on": self.held_on.data,
            "title": self.title.data,
            "place": self.place.data,
            "notes": self.notes.data,
        }


class ThoughtReportForm(FlaskForm):
    period = MonthField("所属月份", validators=[Optional()])
    submitted_on = DateField("提交日期", validators=[Optional()])
    summary = TextAreaField("汇报内容（或摘要）")


class MyThoughtReportForm(FlaskForm):
    period = MonthField("所属月份", validators=[Optional()])
    summary = TextAreaField("汇报内容")


class ContactForm(FlaskForm):
    contacted_on = DateField("联系日期", validators=[Optional()])
    method = SelectField(
        "联系方式",
        choices=_choices(CONTACT_METHODS),
        validate_choice=False,
    )
    summary = TextAreaField("联系情况")


# ---- 党费 and 失联党员 (dues_routes, lost_routes) ----------------------------------------------


class StandardForm(FlaskForm):
    mode = RadioField(
        "党费标准",
        choices=_pairs([("confirm", "按测算金额确认"), ("reduce", "困难减免")]),
        default="confirm",
        validators=[InputRequired("请选择")],
    )
    amount = StringField("减免后每月党费（元）", validators=[Optional(), Length(max=20)])
    reason = StringField("减免原因（困难情况）", validators=[Optional()])
    version = HiddenField()


class PaymentForm(FlaskForm):
    months = IntegerField(
        "交纳月数",
        default=1,
        validators=[
            InputRequired("请填写交纳月数"),
            NumberRange(1, dues.MAX_MONTHS, f"一次可交 1 至 {dues.MAX_MONTHS} 个月"),
        ],
    )
    amount = StringField("实交金额（元）", validators=[Optional(), Length(max=20)])
    paid_on = DateField("交纳日期", validators=[InputRequired("请填写交纳日期")])
    paid_by_member_id = HiddenField()
    note = StringField(
        "备注", validators=[Optional(), Length(max=200, message="备注请控制在 200 字以内")]
    )


class OpenCaseForm(FlaskForm):
    kind = SelectField(
        "失联类型",
        choices=_pairs([("", "请选择"), *LOST_CONTACT_KINDS.items()]),
        validate_choice=False,
    )
    reason = SelectField(
        "失联原因",
        choices=_pairs([("", "请选择"), *LOST_CONTACT_REASONS.items()]),
        validate_choice=False,
    )
    reason_note = StringField("原因说明", validators=[Optional()])
    since = DateField("失联起始日期", validators=[Optional()])


class AttemptForm(FlaskForm):
    method = RadioField(
        "查找方式",
        choices=_pairs(LOST_CONTACT_METHOD_HINTS.items()),
        validate_choice=False,
    )
    attempted_on = DateField("查找日期", validators=[Optional()])
    summary = TextAreaField("查找情况", validators=[Optional()])


class StageForm(FlaskForm):
    stage = SelectField(
        "阶段",
        choices=_pairs((k, v) for k, v in LOST_CONTACT_STAGES.items() if k != "closed"),
        validate_choice=False,
    )
    suspended_on = DateField("停止党籍日期（如已停止）", validators=[Optional()])
    version = HiddenField()


class CloseForm(FlaskForm):
    outcome = SelectField(
        "验收结果",
        # 停止党籍 is recorded on the open case, not as a closing outcome.
        choices=_pairs(
            [
                ("", "请选择"),
                *((k, v) for k, v in LOST_CONTACT_OUTCOMES.items() if k != "suspended"),
            ]
        ),
        validate_choice=False,
    )
    closed_on = DateField("验收日期", validators=[Optional()])
    outcome_note = TextAreaField("说明", validators=[Optional()])
    version = HiddenField()
