"""Assignment forms: the target of a move (one member or many) and a liaison choice."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    DateField,
    HiddenField,
    RadioField,
    SelectChoice,
    SelectField,
    StringField,
)
from wtforms.validators import Length, Optional

from app.assignment.services import ORG_MODES, Target
from app.params import parse_int


class TargetForm(FlaskForm):
    """Where to put the member(s). Choices are filled by the route, inside the user's scope;
    the service checks every id again (trees, scope, group-in-branch)."""

    grid = SelectField("网格", coerce=parse_int, validate_choice=False)
    building_id = SelectField("楼栋", coerce=parse_int, validate_choice=False)
    org_mode = RadioField(
        "党支部和党小组",
        choices=[SelectChoice(k, v) for k, v in ORG_MODES.items()],
        default="auto",
        validate_choice=False,
    )
    branch_id = SelectField("党支部", coerce=parse_int, validate_choice=False)
    group_id = SelectField("党小组", coerce=parse_int, validate_choice=False)
    effective_on = DateField("生效日期", validators=[Optional()])
    reason = StringField(
        "调整原因", validators=[Optional(), Length(max=300, message="原因不能超过 300 个字")]
    )
    version = HiddenField()
    # Taking a member out of a branch of his own (联合党支部, or not his building's) is deliberate.
    confirm = BooleanField("确认调整党支部")

    def target(self) -> Target:
        return Target(
            building_id=self.building_id.data,
            org_mode=self.org_mode.data or "auto",
            branch_id=self.branch_id.data,
            group_id=self.group_id.data,
        )


class LiaisonForm(FlaskForm):
    liaison_user_id = HiddenField()
    liaison_member_id = HiddenField()
    version = HiddenField()
    reason = StringField("说明", validators=[Optional(), Length(max=300)])

    def ids(self) -> tuple[int | None, int | None]:
        return parse_int(self.liaison_user_id.data), parse_int(self.liaison_member_id.data)
