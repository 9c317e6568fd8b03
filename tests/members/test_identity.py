"""ID-number and phone validation: table-driven, plus a property test against python-stdnum."""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from stdnum.cn import ric

from app.members.identity import (
    IdNumberError,
    check_char,
    normalize_mobile,
    normalize_phone,
    parse_id_number,
)

TODAY = date(2026, 11, 22)


def make_id(area: str, birth: str, seq: str) -> str:
    first17 = area + birth + seq
    return first17 + check_char(first17)


@pytest.mark.parametrize(
    ("raw", "birth", "sex"),
    [
        (make_id("620302", "19800115", "123"), date(1980, 1, 15), "M"),  # 金川区: real, old code
        (make_id("654322", "19721231", "002"), date(1972, 12, 31), "F"),  # 富蕴县
        (make_id("110105", "20000229", "017"), date(2000, 2, 29), "M"),  # leap day
        (" " + make_id("310104", "19550601", "048") + " ", date(1955, 6, 1), "F"),  # spaces
    ],
)
def test_valid_numbers(raw, birth, sex):
    parsed = parse_id_number(raw, today=TODAY)
    assert parsed.birth_date == birth
    assert parsed.sex == sex
    assert len(parsed.value) == 18


def test_lower_case_x_is_accepted_and_stored_upper_case():
    # Find a sequence whose check character is X.
    for seq in range(1000):
        first17 = f"440305198806{1 + seq % 28:02d}{seq:03d}"
        if check_char(first17) == "X":
            break
    parsed = parse_id_number(first17 + "x", today=TODAY)
    assert parsed.value.endswith("X")


def test_full_width_digits_are_normalized():
    number = make_id("620302", "19800115", "123")
    full = number.translate(str.maketrans("0123456789X", "０１２３４５６７８９Ｘ"))
    assert parse_id_number(full, today=TODAY).value == number


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ("", "请填写身份证号"),
        ("62030219800115123", "应为 18 位"),
        ("6203021980011512345", "应为 18 位"),
        ("62030219800115A234", "前 17 位应为数字"),
        (make_id("990302", "19800115", "123"), "省级行政区划代码"),
        (make_id("620302", "19800230", "123"), "不是一个真实的日期"),
        (make_id("620302", "20300101", "123"), "晚于今天"),
        (make_id("620302", "18991231", "123"), "早于 1900 年"),
        (make_id("620302", "19800115", "123")[:17] + "0", "校验位不正确"),
    ],
)
def test_invalid_numbers_say_why(raw, message):
    if raw.endswith("0") and check_char(raw[:17]) == "0":
        raw = raw[:17] + "1"
    with pytest.raises(IdNumberError, match=message):
        parse_id_number(raw, today=TODAY)


def test_legacy_15_digit_numbers_are_upgraded_or_refused():
    legacy = "620302800115123"  # 1980-01-15, sequence 123 (odd: male)
    parsed = parse_id_number(legacy, today=TODAY)
    assert parsed.upgraded_from_15
    assert parsed.value == make_id("620302", "19800115", "123")
    assert parsed.birth_date == date(1980, 1, 15) and parsed.sex == "M"
    with pytest.raises(IdNumberError, match="15 位旧身份证号已停用"):
        parse_id_number(legacy, today=TODAY, allow_15=False)


@settings(max_examples=500, deadline=None)
@given(
    province=st.sampled_from(["11", "31", "44", "62", "65"]),
    county=st.integers(min_value=0, max_value=9999),
    birth=st.dates(min_value=date(1900, 1, 1), max_value=TODAY),
    seq=st.integers(min_value=0, max_value=999),
    corrupt=st.booleans(),
)
def test_agrees_with_stdnum_on_check_digit_and_birth_date(province, county, birth, seq, corrupt):
    """stdnum is the oracle for the check digit and birth date (not for regions)."""
    first17 = f"{province}{county:04d}{birth:%Y%m%d}{seq:03d}"
    number = first17 + check_char(first17)
    if corrupt:
        number = first17 + ("0" if number[-1] != "0" else "1")
    try:
        ours = parse_id_number(number, today=TODAY)
    except IdNumberError:
        ours = None
    # stdnum's own validation also checks its (incomplete) region table; compare the parts
    # that are reliable: the check character and the birth date.
    assert (ours is not None) == (ric.calc_check_digit(number) == number[-1])
    if ours is not None:
        assert ours.birth_date == ric.get_birth_date(number)


@given(st.text(max_size=30))
def test_any_text_gives_a_result_or_a_chinese_message(text):
    try:
        parse_id_number(text, today=TODAY)
    except IdNumberError as exc:
        assert any("\u4e00" <= ch <= "\u9fff" for ch in str(exc))


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("13812345678", "13812345678"),
        (" 138 1234 5678 ", "13812345678"),
        ("+8613812345678", "13812345678"),
        ("１３８１２３４５６７８", "13812345678"),
        ("19912345678", "19912345678"),
    ],
)
def test_mobile_ok(raw, expected):
    assert normalize_mobile(raw) == expected


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ("", "请填写手机号"),
        ("1381234567", "应为 11 位"),
        ("12812345678", "格式不正确"),
        ("1381234567a", "只能包含数字"),
    ],
)
def test_mobile_refused(raw, message):
    with pytest.raises(ValueError, match=message):
        normalize_mobile(raw)


def test_second_phone_may_be_a_landline():
    assert normalize_phone("0931-8123456") == "0931-8123456"
    assert normalize_phone("13812345678") == "13812345678"
    with pytest.raises(ValueError, match="座机"):
        normalize_phone("12345")
