"""系统设置 (admins): the thresholds and intervals the rules read, with defaults in code."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, url_for
from flask_login import current_user

from app.errors import errors_onto, render_form
from app.forms import localize_errors
from app.security import admin_required
from app.settings.editable import editable_values, save_settings
from app.settings.forms import changes_of, sections, settings_form

bp = Blueprint("settings", __name__, url_prefix="/admin/settings")


@bp.route("/", methods=["GET", "POST"])
@admin_required
def index():
    form = settings_form(data=editable_values())
    if form.validate_on_submit():
        with errors_onto(form):
            changed = save_settings(changes_of(form), current_user)
            message = f"已保存 {len(changed)} 项设置" if changed else "设置没有变化"
            if "flow_out_coordinated_months" in changed:
                from app.members.services import reclassify_due

                moved = reclassify_due(current_user)
                message += f"；已按新规则重新分类 {len(moved)} 名外出党员"
            flash(message, "success")
            return redirect(url_for(".index"), code=303)
    localize_errors(form)
    return render_form("settings/index.html", "form", form, sections=sections())
