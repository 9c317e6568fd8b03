"""Pure rules of the registration form: per-field checks, step rules, tracking codes."""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.members.identity import PROVINCE_CODES, check_char
from app.registration import rules

TODAY = date(2026, 11, 22)


def _id(birth: str, seq: str = "123", region: str = "620302") -> str:
    first17 = region + birth + seq
    return first17 + check_char(first17)


@pytest.mark.parametrize(
    ("name", "raw", "expected"),
    [
        ("id_number", _id("19850304"), _id("19850304")),
        ("id_number", _id("19850304", "12" + "9").lower(), _id("19850304", "129").upper()),
        ("id_number", "６２０３０２" + _id("19850304")[6:], _id("19850304")),  # full-width digits
        ("id_number", _id("19850304", region="654322"), _id("19850304", region="654322")),
        ("phone", "139 1234 5678", "13912345678"),
        ("phone", "+8613912345678", "13912345678"),
        ("second_phone", "0935-8123456", "0935-8123456"),
        ("joined_on", "2001/7/1", date(2001, 7, 1)),
        ("joined_on", "2001年7月1日", date(2001, 7, 1)),
        ("joined_on", "2001.07.01", date(2001, 7, 1)),
        ("full_member_on", "", None),
        ("name", "  李 明 ", "李 明"),
        ("name", "阿依古丽·买买提", "阿依古丽·买买提"),
        ("room", "", None),
        ("consent", "y", True),
        ("member_type", "probationary", "probationary"),
        ("community_id", "12", 12),
    ],
)
def test_check_field_accepts(name, raw, expected):
    assert rules.check_field(name, raw, TODAY, "flow_in") == expected


@pytest.mark.parametrize(
    ("name", "raw", "message"),
    [
        ("id_number", "", "请填写身份证号"),
        (
            "id_number",
            _id("19850304")[:-1] + ("0" if _id("19850304")[-1] != "0" else "1"),
            "校验位",
        ),
        ("id_number", _id("19850230")[:17] + "0", "真实的日期"),
        ("id_number", _id("20300101"), "晚于今天"),
        ("id_number", _id("19850304", region="990302"), "省级"),
        ("id_number", "12345", "18 位"),
        ("phone", "1234567890", "11 位"),
        ("phone", "12912345678", "格式不正确"),
        ("phone", "", "请填写手机号"),
        ("second_phone", "12345", "电话号码格式不正确"),
        ("joined_on", "2001-7", "年-月-日"),
        ("joined_on", "2001-13-01", "不存在"),
        ("joined_on", "2001-02-30", "不存在"),
        ("joined_on", "2030-01-01", "不能晚于今天"),
        ("joined_on", "", "请填写入党日期"),
        ("name", "Robert'); DROP", "姓名只能包含"),
        ("name", "张" * 51, "不能超过 50"),
        ("consent", "", "勾选"),
        ("member_type", "boss", "请选择"),
        ("community_id", "abc", "请选择社区"),
        ("community_id", "", "请选择社区"),
        ("origin_place", "", "请填写"),
        ("room", "x\x00", "无法识别"),
    ],
)
def test_check_field_refuses(name, raw, message):
    with pytest.raises(ValueError, match=message):
        rules.check_field(name, raw, TODAY, "flow_in")


@pytest.mark.parametrize(
    ("kind", "values", "field", "message"),
    [
        # Joined before 18 (born 1985-03-04).
        ("flow_in", {"joined_on": "2002-01-01"}, "joined_on", "年满 18"),
        ("flow_in", {"full_member_on": "2007-01-01"}, "full_member_on", "不能早于入党日期"),
        ("flow_in", {"member_type": "probationary"}, "full_member_on", "尚未转正"),
        ("flow_in", {"expected_until": "2024-01-01"}, "expected_until", "不能早于到达日期"),
        ("flow_in", {"mobility_since": "2027-01-01"}, "mobility_since", "不能晚于今天"),
        ("flow_out_report", {"expected_return": "2026-10-01"}, "expected_return", "不足 3 个月"),
        ("flow_out_report", {"expected_return": "2026-08-01"}, "expected_return", "应晚于"),
        ("flow_out_report", {"mobility_since": "2027-06-01"}, "mobility_since", "3 个月后"),
        ("in_service_report", {"work_unit_org": ""}, "work_unit_org", "单位党组织"),
    ],
)
def test_cross_field_rules(app, kind, values, field, message):
    base = {
        "id_number": _id("19850304"),
        "member_type": "formal",
        "joined_on": "2008-07-01",
        "full_member_on": "2009-07-01",
        "mobility_since": "2025-03-01" if kind == "flow_in" else "2026-09-01",
        "expected_until": "2027-03-01",
        "expected_return": "2027-06-30",
        "relation_location": "work_unit",
        "work_unit": "供电公司",
        "work_unit_org": "供电公司党委",
    }
    base.update(values)
    cleaned = {}
    for name, raw in base.items():
        try:
            cleaned[name] = rules.check_field(name, raw, TODAY, kind)
        except ValueError as exc:
            assert field == name and message in str(exc)
            return
    assert message in rules.cross_errors(kind, cleaned, TODAY)[field]


def test_valid_answers_pass_every_step(tree):
    from tests.registration.conftest import answers

    for kind in rules.KIND_FIELDS:
        values, errors = rules.clean_all(kind, answers(kind, tree), TODAY)
        assert errors == {}, (kind, errors)
        assert values["id_number"].endswith(answers(kind, tree)["id_number"][-4:])


def test_each_kind_has_its_extra_fields():
    assert "transfer_letter_no" in rules.all_fields("relation_transfer_in")
    assert "origin_org" in rules.all_fields("flow_in")
    assert "work_unit" in rules.all_fields("in_service_report")
    assert "destination" in rules.all_fields("flow_out_report")
    for kind in rules.KIND_FIELDS:
        assert rules.step_fields(kind, "consent") == ("consent", "sensitive_consent")


def test_tracking_codes_are_short_and_unambiguous():
    codes = {rules.new_tracking_code() for _ in range(2000)}
    assert len(codes) == 2000
    for code in codes:
        assert len(code) == 8
        assert not set(code) & set("01OIL")
    code = next(iter(codes))
    pretty = rules.format_tracking_code(code)
    assert rules.normalize_tracking_code(f" {pretty.lower()} ") == code
    assert rules.normalize_tracking_code("ABCD-EFG0") == ""
    assert rules.normalize_tracking_code("ABC") == ""


def test_first_step_with_error():
    assert rules.first_step_with_error("flow_in", {"origin_org": "x"}) == "party"
    assert rules.first_step_with_error("flow_in", {"room": "x", "phone": "y"}) == "identity"
    assert rules.first_step_with_error("flow_in", {}) is None


@settings(max_examples=300, deadline=None)
@given(
    province=st.sampled_from(sorted(PROVINCE_CODES)),
    county=st.integers(0, 9999),
    birth=st.dates(min_value=date(1900, 1, 1), max_value=TODAY),
    seq=st.integers(0, 999),
    check=st.sampled_from("0123456789X"),
)
def test_id_check_agrees_with_stdnum(province, county, birth, seq, check):
    """The registration's ID check accepts exactly what python-stdnum's check digit and birth
    date logic accept (its region table is not used: it rejects real codes such as 620302)."""
    from stdnum.cn import ric
    from stdnum.exceptions import InvalidChecksum, InvalidComponent

    number = f"{province}{county:04d}{birth:%Y%m%d}{seq:03d}{check}"
    try:
        ric.get_birth_date(number)
        expected = ric.calc_check_digit(number) == number[-1]
    except (InvalidChecksum, InvalidComponent):
        expected = False
    try:
        rules.check_field("id_number", number, TODAY, "flow_in")
        accepted = True
    except ValueError:
        accepted = False
    assert accepted == expected


def test_flow_out_report_threshold_follows_the_setting(app):
    from app.extensions import db
    from app.settings import Setting

    values = {"mobility_since": date(2026, 12, 1), "expected_return": date(2027, 2, 15)}
    errors = rules.cross_errors("flow_out_report", values, TODAY)
    assert "外出不足 3 个月无需报告" in errors["expected_return"]
    assert "3 个月以上" in rules.kind_hints()["flow_out_report"]
    db.session.add(Setting(key="flow_out_report_months", value=2))
    db.session.commit()
    assert rules.cross_errors("flow_out_report", values, TODAY) == {}
    assert "2 个月以上" in rules.kind_hints()["flow_out_report"]
    values["expected_return"] = date(2027, 1, 15)
    assert (
        "外出不足 2 个月" in rules.cross_errors("flow_out_report", values, TODAY)["expected_return"]
    )
