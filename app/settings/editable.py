"""What admins may edit on 系统设置 (/admin/settings): the entries, their current values, saving."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from app.extensions import db
from app.settings.models import Setting, all_settings


@dataclass(frozen=True)
class Editable:
    """One value on the settings page: a setting, or one entry of a setting that is a dict."""

    key: str
    part: str | None
    section: str
    label: str
    hint: str
    kind: str  # "int", "bool" or "text"
    minimum: int = 0
    maximum: int = 0

    @property
    def name(self) -> str:
        return f"{self.key}__{self.part}" if self.part else self.key


EDITABLE: tuple[Editable, ...] = (
    Editable(
        "flow_out_coordinated_months",
        None,
        "五管分类",
        "外出满多少个月列为协管（月）",
        "保存后立即按新规则重新分类外出党员；覆盖过分类的党员保留人工分类。",
        "int",
        1,
        24,
    ),
    Editable(
        "flow_out_report_months",
        None,
        "报到",
        "外出多少个月以上需要报告（月）",
        "党员外出报告的最短外出时间。",
        "int",
        1,
        12,
    ),
    Editable(
        "consent_version",
        None,
        "报到",
        "隐私告知版本",
        "修改隐私告知内容后更新此版本号，新的报到会记录同意的版本。",
        "text",
        1,
        20,
    ),
    Editable(
        "certificate_valid_years",
        None,
        "流动党员活动证",
        "活动证有效期（年）",
        "新开具的活动证自开具之日起的有效年限。",
        "int",
        1,
        5,
    ),
    Editable(
        "certificate_verification_months",
        None,
        "流动党员活动证",
        "查验间隔（月）",
        "活动证定期查验的间隔。",
        "int",
        1,
        24,
    ),
    Editable(
        "print_full_id_number",
        None,
        "流动党员活动证",
        "证件上打印完整身份证号",
        "默认只打印前 6 位和后 4 位。",
        "bool",
    ),
    Editable(
        "transfer_letter_valid_days",
        None,
        "流动党员活动证",
        "组织关系介绍信有效期（天）",
        "默认 30 天，最长 3 个月。",
        "int",
        1,
        92,
    ),
    Editable(
        "thought_report_months",
        "takeover",
        "跟踪管理",
        "接管党员思想汇报周期（月）",
        "",
        "int",
        1,
        12,
    ),
    Editable(
        "thought_report_months",
        "default",
        "跟踪管理",
        "其他党员思想汇报周期（月）",
        "",
        "int",
        1,
        12,
    ),
    Editable(
        "contact_log_months",
        None,
        "跟踪管理",
        "流动党员联系周期（月）",
        "超过周期未联系的流动党员列入联系逾期名单。",
        "int",
        1,
        12,
    ),
    Editable(
        "alert_absent_months",
        None,
        "跟踪管理",
        "连续多少个月未参加组织生活或未交党费时提醒（月）",
        "只提醒，由支部研究决定。",
        "int",
        3,
        12,
    ),
    Editable(
        "retention_years_rejected_registration",
        None,
        "隐私与保留",
        "未通过的报到保留年限（年）",
        "到期后由每日任务删除。",
        "int",
        1,
        10,
    ),
    Editable(
        "care_visit_rules",
        "lead_days",
        "共管走访",
        "生日、节日提前多少天列入待走访名单（天）",
        "七一、春节、重阳和整寿生日。",
        "int",
        0,
        60,
    ),
    Editable(
        "care_visit_rules",
        "late_days",
        "共管走访",
        "过后多少天内仍列入名单（天）",
        "",
        "int",
        0,
        90,
    ),
    Editable(
        "care_visit_rules",
        "birthday_from_age",
        "共管走访",
        "整寿生日走访起始年龄（岁）",
        "从该年龄起每隔若干岁走访一次，如 70、80、90 岁。",
        "int",
        50,
        100,
    ),
    Editable(
        "care_visit_rules", "birthday_every", "共管走访", "整寿生日间隔（岁）", "", "int", 1, 20
    ),
    Editable(
        "care_visit_rules",
        "chongyang_min_age",
        "共管走访",
        "重阳节走访的最低年龄（岁）",
        "0 表示全部共管党员。",
        "int",
        0,
        100,
    ),
    Editable(
        "mobile_org_contact_days",
        None,
        "协管",
        "与对方党组织联系周期（天）",
        "超过天数未与流入地或流出地党组织互通情况，列入提醒。",
        "int",
        7,
        365,
    ),
    Editable(
        "probation_reminder_days",
        None,
        "协管",
        "流动预备党员转正提前提醒（天）",
        "",
        "int",
        1,
        120,
    ),
    Editable(
        "dual_signin_minutes",
        None,
        "双管",
        "活动签到二维码有效时间（分钟）",
        "工作人员手机上的签到二维码每次刷新生成新码，超过此时间的码不能再签到。",
        "int",
        1,
        120,
    ),
    Editable(
        "help_pair_visit_days",
        None,
        "五管工作",
        "结对帮扶多少天未走访时提醒（天）",
        "超过天数没有走访记录的结对帮扶列入待办提醒。",
        "int",
        7,
        180,
    ),
    Editable(
        "dual_feedback_yearly",
        None,
        "双管",
        "表现反馈单按年度填写",
        "不勾选时按半年填写（上半年、下半年）。",
        "bool",
    ),
    Editable(
        "dual_feedback_return_days",
        None,
        "双管",
        "反馈单发出多少天未回执提醒（天）",
        "反馈单发出后超过此天数仍未收到单位回执，列入待办提醒。",
        "int",
        1,
        365,
    ),
)


def _assessment_targets() -> tuple[Editable, ...]:
    """One entry per target of the 目标考核 indicator table."""
    from app.assessment import NAMES
    from app.members.models import CATEGORIES
    from app.settings.models import DEFAULTS

    entries = []
    for part in DEFAULTS["assessment_targets"]:
        category, _, indicator = part.partition(".")
        label, unit = NAMES[indicator]
        entries.append(
            Editable(
                "assessment_targets",
                part,
                "目标考核",
                f"{CATEGORIES[category]} · {label}（{unit}）",
                "全年达到此数即为达标；填 0 表示不考核这一项。",
                "int",
                0,
                1000,
            )
        )
    return tuple(entries)


EDITABLE = EDITABLE + _assessment_targets()


def editable_values() -> dict[str, Any]:
    """The current value of every editable entry, by its form name."""
    values = all_settings()
    current = {}
    for item in EDITABLE:
        value = values[item.key]
        current[item.name] = value.get(item.part) if item.part else value
    return current


def save_settings(changes: dict[str, Any], user: Any) -> list[str]:
    """Store the edited entries (form name → value) that differ from the current values; one
    audit entry per changed setting. Returns the changed setting keys."""
    from app.audit import record

    values = all_settings()
    changed: list[str] = []
    for key in dict.fromkeys(item.key for item in EDITABLE):
        before = values[key]
        if isinstance(before, dict):
            after = dict(before)
            for item in EDITABLE:
                if item.key == key and item.name in changes:
                    after[item.part] = changes[item.name]
        else:
            after = changes.get(key, before)
        if after == before:
            continue
        row = db.session.get(Setting, key)
        if row is None:
            db.session.add(Setting(key=key, value=after))
        else:
            row.value = after
        record(
            "setting_change",
            object_type="setting",
            object_id=key,
            user=user,
            before={key: before},
            after={key: after},
        )
        changed.append(key)
    db.session.flush()
    return changed
