"""Follow-up forms (part 1): an org-life event, a thought report, a contact log entry.

The forms parse; the rules (scope of the branch, dates not in the future, required text) live
in ``services`` so the same checks apply to every caller.
"""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import (
    DateField,
    HiddenField,
    MonthField,
    SelectChoice,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.validators import Length, Optional

from app.followup.models import CONTACT_METHODS, EVENT_KINDS


def _int_or_none(value):  # noqa: ANN001, ANN202
    try:
        return int(value) if value not in (None, "", "None") else None
    except (TypeError, ValueError):
        return None


def _choices(labels: dict[str, str]) -> list[SelectChoice]:
    return [SelectChoice("", "请选择")] + [SelectChoice(k, v) for k, v in labels.items()]


class EventForm(FlaskForm):
    org_id = SelectField("党支部 / 党小组", coerce=_int_or_none, validate_choice=False)
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
