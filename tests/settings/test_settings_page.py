"""系统设置: admins edit the rule thresholds; bad values are refused next to the field."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from app.audit.models import AuditEntry
from app.extensions import db
from app.members.models import Member
from app.settings import get_setting
from app.timeutil import local_today
from tests.members.conftest import (
    make_member,  # noqa: F401  (fixture)
    tree,  # noqa: F401  (fixture)
)


def _form(client, auth, **overrides) -> dict:
    """The settings form as shown (every current value), with ``overrides``."""
    html = client.get("/admin/settings/").get_data(as_text=True)
    assert "系统设置" in html
    from app.settings import editable_values

    data = {k: v for k, v in editable_values().items() if v is not False}
    data.update(overrides)
    data["csrf_token"] = auth.token("/admin/settings/")
    return data


def test_admin_changes_a_threshold_and_it_is_audited(client, auth):
    auth.login_as("admin")
    response = client.post("/admin/settings/", data=_form(client, auth, alert_absent_months=4))
    assert response.status_code == 303
    assert get_setting("alert_absent_months") == 4
    entry = db.session.execute(
        select(AuditEntry).where(AuditEntry.action == "setting_change")
    ).scalar_one()
    assert entry.object_id == "alert_absent_months"
    assert entry.before == {"alert_absent_months": 6}
    assert entry.after == {"alert_absent_months": 4}
    assert "已保存 1 项设置" in client.get("/admin/settings/").get_data(as_text=True)


def test_dict_setting_keeps_its_other_entries(client, auth):
    auth.login_as("admin")
    client.post("/admin/settings/", data=_form(client, auth, thought_report_months__default=2))
    assert get_setting("thought_report_months") == {"takeover": 1, "default": 2}


def test_unchanged_form_writes_nothing(client, auth):
    auth.login_as("admin")
    client.post("/admin/settings/", data=_form(client, auth))
    assert (
        db.session.execute(select(AuditEntry).where(AuditEntry.action == "setting_change")).first()
        is None
    )


def test_bad_values_get_chinese_messages_and_keep_input(client, auth):
    auth.login_as("admin")
    response = client.post(
        "/admin/settings/",
        data=_form(
            client, auth, alert_absent_months="abc", certificate_valid_years=9, consent_version=""
        ),
    )
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert "请填写整数" in html
    assert "请填写 1 至 5 之间的整数" in html
    assert 'value="abc"' in html and 'value="9"' in html
    assert "请填写" in html
    assert get_setting("certificate_valid_years") == 2  # nothing saved


def test_changing_the_flow_out_threshold_reclassifies_at_once(client, auth, make_member):  # noqa: F811
    member = make_member(
        mobility="flow_out",
        mobility_place="深圳",
        mobility_since=local_today() - timedelta(days=130),
    )
    assert member.category == "direct"
    auth.login_as("admin")
    client.post("/admin/settings/", data=_form(client, auth, flow_out_coordinated_months=3))
    html = client.get("/admin/settings/").get_data(as_text=True)
    assert "已按新规则重新分类 1 名外出党员" in html
    db.session.expire_all()
    assert db.session.get(Member, member.id).category == "coordinated"


def test_a_number_too_large_is_a_field_message(client, auth):
    auth.login_as("admin")
    huge = "99999999999999999999999"
    response = client.post("/admin/settings/", data=_form(client, auth, alert_absent_months=huge))
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert "请填写 3 至 12 之间的整数" in html and f'value="{huge}"' in html
    assert get_setting("alert_absent_months") == 6


def test_settings_is_one_package():
    import app.settings as settings
    from app.settings.routes import bp

    assert settings.__file__.endswith("settings/__init__.py")
    assert bp.name == "settings" and bp.url_prefix == "/admin/settings"
    assert {"Setting", "DEFAULTS", "get_setting", "save_settings"} <= set(settings.__all__)


def test_htmx_gets_the_form_block(client, auth):
    auth.login_as("admin")
    response = client.get("/admin/settings/", headers={"HX-Request": "true"})
    body = response.get_data(as_text=True)
    assert response.status_code == 200 and "<html" not in body and "保存设置" in body
