"""系统设置 (admins): the thresholds and intervals the rules read, with defaults in code."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, flash, redirect, render_template, url_for
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import BooleanField, IntegerField, StringField
from wtforms.validators import InputRequired, Length, NumberRange

from app.forms import localize_errors
from app.security import admin_required
from app.settings import EDITABLE, Editable, editable_values, save_settings

bp = Blueprint("settings", __name__, url_prefix="/admin/settings")


def _field(item: Editable):  # noqa: ANN202
    if item.kind == "bool":
        return BooleanField(item.label)
    if item.kind == "int":
        return IntegerField(
            item.label,
            validators=[
                InputRequired("请填写"),
                NumberRange(
                    item.minimum,
                    item.maximum,
                    f"请填写 {item.minimum} 至 {item.maximum} 之间的整数",
                ),
            ],
        )
    return StringField(
        item.label,
        validators=[
            InputRequired("请填写"),
            Length(max=item.maximum, message=f"不能超过 {item.maximum} 个字"),
        ],
    )


def settings_form(**kwargs: Any) -> FlaskForm:
    form_class = type("SettingsForm", (FlaskForm,), {i.name: _field(i) for i in EDITABLE})
    return form_class(**kwargs)


@bp.route("/", methods=["GET", "POST"])
@admin_required
def index():
    form = settings_form(data=editable_values())
    status = 200
    if form.validate_on_submit():
        changes = {item.name: form[item.name].data for item in EDITABLE}
        for item in EDITABLE:
            if item.kind == "text":
                changes[item.name] = changes[item.name].strip()
        changed = save_settings(changes, current_user)
        message = f"已保存 {len(changed)} 项设置" if changed else "设置没有变化"
        if "flow_out_coordinated_months" in changed:
            from app.members.services import reclassify_due

            moved = reclassify_due(current_user)
            message += f"；已按新规则重新分类 {len(moved)} 名外出党员"
        flash(message, "success")
        return redirect(url_for(".index"), code=303)
    if form.errors:
        localize_errors(form)
        status = 422
    sections: dict[str, list[Editable]] = {}
    for item in EDITABLE:
        sections.setdefault(item.section, []).append(item)
    return render_template("admin/settings.html", form=form, sections=sections), status
