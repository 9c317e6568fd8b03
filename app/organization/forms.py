"""Forms of the structure and account admin. CSRF is checked globally (CSRFProtect)."""

from __future__ import annotations

from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import BooleanField, SelectField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, Optional

from app.params import parse_int


def choices(pairs, optgroup: str | None = None) -> list[SelectChoice]:  # noqa: ANN001
    """``[(value, label), ...]`` as WTForms 3.3 choices."""
    return [SelectChoice(value, label, optgroup=optgroup) for value, label in pairs]


def node_id(value) -> int:  # noqa: ANN001
    """A select's id (0: nothing chosen). Garbage or a number the database cannot hold is -1,
    an id that does not exist, so the service refuses it next to the field."""
    number = parse_int(value, minimum=0)
    return -1 if number is None else number


class _Form(FlaskForm):
    class Meta:
        csrf = False  # CSRFProtect already checks every POST, htmx ones by header


class ActionForm(_Form):
    """A button's form (停用, 删除, 重置密码 …): no fields, its messages are about the action."""


class AddNodeForm(_Form):
    name = StringField("名称", validators=[DataRequired("请填写名称"), Length(max=100)])
    address = StringField("地址", validators=[Optional(), Length(max=200)])
    is_joint = BooleanField("联合党支部")
    place_id = SelectField("对应社区", coerce=node_id, validate_choice=False, default=0)


class RenameForm(_Form):
    name = StringField("名称", validators=[DataRequired("请填写名称"), Length(max=100)])


class NodeForm(_Form):
    name = StringField("名称", validators=[DataRequired("请填写名称"), Length(max=100)])
    code = StringField("编码", validators=[Optional(), Length(max=32)])
    address = StringField("地址", validators=[Optional(), Length(max=200)])
    contact_name = StringField("联系人", validators=[Optional(), Length(max=50)])
    contact_phone = StringField("联系电话", validators=[Optional(), Length(max=30)])
    is_joint = BooleanField("联合党支部（非公企业、社会组织党员）")
    place_id = SelectField("对应社区", coerce=node_id, validate_choice=False, default=0)


class MoveForm(_Form):
    parent_id = SelectField("新的上级", coerce=node_id, validate_choice=False, default=0)


class GroupLinkForm(_Form):
    group_id = SelectField("楼栋党小组", coerce=node_id, validate_choice=False, default=0)


class WorkerForm(_Form):
    user_id = SelectField("网格员账号", coerce=node_id, validate_choice=False, default=0)


class GridForm(_Form):
    grid_id = SelectField("网格", coerce=node_id, validate_choice=False, default=0)


class AccountForm(_Form):
    username = StringField(
        "用户名", validators=[DataRequired("请填写用户名"), Length(max=64, message="用户名过长")]
    )
    display_name = StringField(
        "姓名", validators=[DataRequired("请填写姓名"), Length(max=50, message="姓名过长")]
    )
    role = SelectField(
        "角色",
        choices=[
            SelectChoice("grid_worker", "网格员"),
            SelectChoice("staff", "党务工作者"),
            SelectChoice("admin", "管理员"),
        ],
        default="grid_worker",
    )
    phone = StringField("电话", validators=[Optional(), Length(max=30)])


class ScopeForm(_Form):
    target = SelectField("加入管理范围", validate_choice=False, default="")


class ImportForm(_Form):
    file = FileField("结构表（.xlsx 或 .csv）")
    street = StringField("街道党工委名称", default="街道党工委", validators=[Length(max=100)])
