"""Pure rules of the public registration (报到): steps, fields, per-field checks, tracking codes.

One rule, one place: the per-field validation endpoints, the WTForms validators and the final
submit all call ``check_field`` / ``step_errors``; the identity checks come from
``app.members.identity`` and the date rules from ``app.members.rules`` (the same functions the
member services and the roster import use).
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from datetime import date
from typing import Any

from app.forms import DATE_MSG
from app.members.identity import (
    IdNumberError,
    normalize_mobile,
    normalize_phone,
    normalize_text,
    parse_id_number,
)
from app.members.models import EMPLOYMENTS, MEMBER_TYPES
from app.members.rules import months_between, party_date_errors
from app.names import validate_person_name
from app.params import parse_int

# ---- tracking codes ---------------------------------------------------------------------------

# No 0/O, 1/I/L: a code read aloud or copied from paper is never ambiguous.
TRACKING_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
TRACKING_LENGTH = 8


def new_tracking_code() -> str:
    return "".join(secrets.choice(TRACKING_ALPHABET) for _ in range(TRACKING_LENGTH))


def normalize_tracking_code(raw: str | None) -> str:
    """Upper-case, without spaces or dashes; '' when it cannot be a tracking code."""
    value = re.sub(r"[\s\-－—_]", "", normalize_text(raw)).upper()
    if len(value) != TRACKING_LENGTH or any(c not in TRACKING_ALPHABET for c in value):
        return ""
    return value


def format_tracking_code(code: str) -> str:
    """``K7P2-9XQM``: two groups of four are easier to read and type."""
    return f"{code[:4]}-{code[4:]}" if len(code) == TRACKING_LENGTH else code


# ---- steps and fields -------------------------------------------------------------------------

STEPS = ("identity", "party", "situation", "residence", "consent")
STEP_LABELS = {
    "identity": "身份信息",
    "party": "党籍信息",
    "situation": "现在情况",
    "residence": "居住地址",
    "consent": "确认提交",
}
KIND_HINTS = {
    "in_service_report": "在机关、企事业单位工作，居住在本社区的党员",
    "relation_transfer_in": "离退休、下岗、毕业生、复转军人等，把组织关系转到本社区",
    "flow_in": "组织关系在外地，在本社区居住或工作的党员",
    "flow_out_report": "本社区党员外出务工经商、学习等 {months} 个月以上",
}
RELATION_CHOICES = {"work_unit": "工作单位", "community": "本社区"}
# Employment for a transfer-in (in-service members use the in-service report instead).
TRANSFER_EMPLOYMENTS = {k: v for k, v in EMPLOYMENTS.items() if k != "in_service"}

COMMON_FIELDS: dict[str, tuple[str, ...]] = {
    "identity": ("name", "id_number", "phone", "second_phone", "ethnicity", "education"),
    "party": ("member_type", "joined_on", "full_member_on", "party_post"),
    "situation": (),
    "residence": ("community_id", "grid_id", "building_id", "room", "address"),
    "consent": ("consent", "sensitive_consent"),
}
KIND_FIELDS: dict[str, dict[str, tuple[str, ...]]] = {
    "in_service_report": {
        "party": ("relation_location",),
        "situation": ("work_unit", "work_unit_org", "work_unit_contact"),
    },
    "relation_transfer_in": {
        "party": ("transfer_letter_no", "from_org"),
        "situation": ("employment", "original_unit"),
    },
    "flow_in": {
        "party": (
            "origin_org",
            "origin_org_contact",
            "certificate_no",
            "certificate_org",
            "certificate_valid_until",
        ),
        "situation": ("origin_place", "mobility_since", "expected_until", "employer", "occupation"),
    },
    "flow_out_report": {
        "situation": (
            "destination",
            "mobility_since",
            "expected_return",
            "occupation",
            "contact_there",
        ),
    },
}
REQUIRED = {
    "name",
    "id_number",
    "phone",
    "member_type",
    "joined_on",
    "community_id",
    "consent",
    "sensitive_consent",
    "transfer_letter_no",
    "from_org",
    "employment",
    "work_unit",
    "relation_location",
    "origin_org",
    "origin_org_contact",
    "origin_place",
    "mobility_since",
    "destination",
    "expected_return",
    "occupation",
    "contact_there",
}
LABELS = {
    "name": "姓名",
    "id_number": "身份证号",
    "phone": "手机号",
    "second_phone": "其他电话",
    "ethnicity": "民族",
    "education": "学历",
    "member_type": "党员类型",
    "joined_on": "入党日期",
    "full_member_on": "转正日期",
    "party_post": "党内职务",
    "relation_location": "组织关系所在",
    "transfer_letter_no": "介绍信编号",
    "from_org": "转出党组织",
    "employment": "就业状态",
    "original_unit": "原工作单位",
    "work_unit": "工作单位",
    "work_unit_org": "单位党组织",
    "work_unit_contact": "单位联系人及电话",
    "origin_org": "原党组织（组织关系所在）",
    "origin_org_contact": "原党组织联系人及电话",
    "certificate_no": "流动党员活动证编号",
    "certificate_org": "活动证发证党组织",
    "certificate_valid_until": "活动证有效期至",
    "origin_place": "从哪里流入（省市县）",
    "mobility_since": "到达本社区日期",
    "expected_until": "预计居住到",
    "employer": "现工作单位或服务场所",
    "occupation": "从事职业",
    "destination": "外出去向（省市县及单位）",
    "expected_return": "预计返回日期",
    "contact_there": "外出期间联系方式",
    "community_id": "社区",
    "grid_id": "网格",
    "building_id": "楼栋",
    "room": "房号",
    "address": "详细地址",
    "consent": "我已阅读并同意《个人信息处理告知书》",
    "sensitive_consent": "我单独同意处理我的身份证号和党员身份等敏感个人信息",
}
# Required in general but optional for some kinds.
KIND_OPTIONAL = {"flow_in": {"occupation"}}


def is_required(name: str, kind: str) -> bool:
    return name in REQUIRED and name not in KIND_OPTIONAL.get(kind, set())


# Per-kind label overrides.
KIND_LABELS = {"flow_out_report": {"mobility_since": "外出日期"}}
TEXT_LIMITS = {
    "name": 50,
    "ethnicity": 20,
    "education": 30,
    "party_post": 50,
    "room": 30,
    "address": 200,
    "transfer_letter_no": 40,
    "certificate_no": 40,
}
DATE_FIELDS = {
    "joined_on",
    "full_member_on",
    "mobility_since",
    "expected_until",
    "expected_return",
    "certificate_valid_until",
}
ID_FIELDS = {"community_id", "grid_id", "building_id"}
BOOL_FIELDS = {"consent", "sensitive_consent"}
CHOICES: dict[str, dict[str, str]] = {
    "member_type": MEMBER_TYPES,
    "relation_location": RELATION_CHOICES,
    "employment": TRANSFER_EMPLOYMENTS,
}
VALIDATABLE = {
    name
    for name in LABELS
    if name not in ID_FIELDS and name not in BOOL_FIELDS and name not in CHOICES
}


def step_fields(kind: str, step: str) -> tuple[str, ...]:
    return COMMON_FIELDS[step] + KIND_FIELDS.get(kind, {}).get(step, ())


def all_fields(kind: str) -> tuple[str, ...]:
    return tuple(name for step in STEPS for name in step_fields(kind, step))


def label(kind: str, name: str) -> str:
    return KIND_LABELS.get(kind, {}).get(name, LABELS[name])


# ---- single-field checks ---------------------------------------------------------------------

DATE_RE = re.compile(r"^(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?$")


def parse_date(raw: str | None) -> date | None:
    """``2001-07-01``, ``2001/7/1``, ``2001.7.1``, ``2001年7月1日``; None when empty."""
    text = normalize_text(raw)
    if not text:
        return None
    match = DATE_RE.match(text)
    if not match:
        raise ValueError(DATE_MSG)
    try:
        value = date(int(match[1]), int(match[2]), int(match[3]))
    except ValueError:
        raise ValueError("这一天不存在，请核对日期") from None
    if value.year < 1900:
        raise ValueError("日期不能早于 1900 年")
    return value


def check_field(name: str, raw: Any, today: date, kind: str = "") -> Any:
    """Validate and clean one value on its own; raises ``ValueError`` with a Chinese message.

    Returns the cleaned value (None for an empty optional field).
    """
    text = normalize_text(raw if isinstance(raw, str) else ("" if raw is None else str(raw)))
    if "\x00" in text:
        raise ValueError("内容含有无法识别的字符")
    if name in BOOL_FIELDS:
        if text not in ("y", "on", "1", "true"):
            raise ValueError("需要您勾选同意后才能提交")
        return True
    if not text:
        if is_required(name, kind):
            return _missing(name, kind)
        return None
    if name == "id_number":
        try:
            return parse_id_number(text, today=today).value
        except IdNumberError as exc:
            raise ValueError(str(exc)) from None
    if name == "phone":
        return normalize_mobile(text)
    if name == "second_phone":
        return normalize_phone(text)
    if name in DATE_FIELDS:
        value = parse_date(text)
        if name in ("joined_on", "full_member_on") and value and value > today:
            raise ValueError(f"{label(kind, name)}不能晚于今天")
        if name == "mobility_since" and kind == "flow_in" and value and value > today:
            raise ValueError("到达日期不能晚于今天")
        return value
    if name in ID_FIELDS:
        number = parse_int(text)
        if number is None or not text.isdigit():
            raise ValueError(f"请选择{label(kind, name)}")
        return number
    if name in CHOICES:
        if text not in CHOICES[name]:
            raise ValueError(f"请选择{label(kind, name)}")
        return text
    if name == "name":
        return validate_person_name(text)  # the one name rule (app/names.py)
    limit = TEXT_LIMITS.get(name, 100)
    if len(text) > limit:
        raise ValueError(f"{label(kind, name)}不能超过 {limit} 个字")
    return text


def _missing(name: str, kind: str) -> Any:
    verb = "选择" if name in ID_FIELDS or name in CHOICES else "填写"
    raise ValueError(f"请{verb}{label(kind, name)}")


# ---- whole steps -------------------------------------------------------------------------------


@dataclass
class StepResult:
    values: dict[str, Any]
    errors: dict[str, str]


def clean_fields(kind: str, names: tuple[str, ...], raw: dict[str, Any], today: date) -> StepResult:
    values: dict[str, Any] = {}
    errors: dict[str, str] = {}
    for name in names:
        try:
            values[name] = check_field(name, raw.get(name), today, kind)
        except ValueError as exc:
            errors[name] = str(exc)
    return StepResult(values, errors)


def report_months() -> int:
    """How long an absence must last to need a flow-out report (setting
    ``flow_out_report_months``, SPEC §5)."""
    from app.settings import get_setting

    return int(get_setting("flow_out_report_months"))


def kind_hints() -> dict[str, str]:
    return {kind: hint.format(months=report_months()) for kind, hint in KIND_HINTS.items()}


def cross_errors(
    kind: str, values: dict[str, Any], today: date, min_months: int | None = None
) -> dict[str, str]:
    """Rules between fields (only for fields that are themselves valid). ``min_months``: the
    shortest absence a flow-out report is for (default: the setting)."""
    errors: dict[str, str] = {}
    id_number = values.get("id_number")
    birth = parse_id_number(id_number, today=today).birth_date if id_number else None
    if "joined_on" in values or "full_member_on" in values:
        errors.update(
            party_date_errors(
                birth,
                values.get("joined_on"),
                values.get("full_member_on"),
                values.get("member_type") or "formal",
                today,
            )
        )
    since = values.get("mobility_since")
    if kind == "flow_in":
        until = values.get("expected_until")
        if since and until and until < since:
            errors["expected_until"] = "预计居住到的日期不能早于到达日期"
    if kind == "flow_out_report":
        back = values.get("expected_return")
        if since and back:
            if back <= since:
                errors["expected_return"] = "预计返回日期应晚于外出日期"
            else:
                months = report_months() if min_months is None else min_months
                if months_between(since, back) < months:
                    errors["expected_return"] = (
                        f"外出不足 {months} 个月无需报告；外出 {months} 个月以上请填写预计返回日期"
                    )
        if since and (since - today).days > 90:
            errors["mobility_since"] = "外出日期不能晚于 3 个月后"
    if (
        kind == "in_service_report"
        and values.get("relation_location") == "work_unit"
        and "work_unit_org" in values
        and not values.get("work_unit_org")
    ):
        errors["work_unit_org"] = "组织关系在工作单位时，请填写单位党组织名称"
    return errors


def step_errors(
    kind: str, step: str, raw: dict[str, Any], today: date, context: dict[str, Any] | None = None
) -> StepResult:
    """Check one step; ``context`` holds already-cleaned values of earlier steps (e.g. the ID)."""
    result = clean_fields(kind, step_fields(kind, step), raw, today)
    merged = {**(context or {}), **result.values}
    for name, message in cross_errors(kind, merged, today).items():
        if name in step_fields(kind, step) and name not in result.errors:
            result.errors[name] = message
    return result


def clean_all(kind: str, raw: dict[str, Any], today: date) -> tuple[dict[str, Any], dict[str, str]]:
    """Every step at once (the final submit re-checks everything it was sent)."""
    values: dict[str, Any] = {}
    errors: dict[str, str] = {}
    for step in STEPS:
        result = clean_fields(kind, step_fields(kind, step), raw, today)
        values.update(result.values)
        errors.update(result.errors)
    for name, message in cross_errors(kind, values, today).items():
        errors.setdefault(name, message)
    return values, errors


def first_step_with_error(kind: str, errors: dict[str, str]) -> str | None:
    for step in STEPS:
        if any(name in errors for name in step_fields(kind, step)):
            return step
    return None
