"""Resident ID numbers (GB 11643-1999) and phone numbers: pure validation functions.

One rule, one place: the registration form, the member edit form and the roster import all
call these.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

from app.timeutil import local_today

# GB/T 2260 province-level codes (first two digits).
PROVINCE_CODES = {
    "11": "北京市",
    "12": "天津市",
    "13": "河北省",
    "14": "山西省",
    "15": "内蒙古自治区",
    "21": "辽宁省",
    "22": "吉林省",
    "23": "黑龙江省",
    "31": "上海市",
    "32": "江苏省",
    "33": "浙江省",
    "34": "安徽省",
    "35": "福建省",
    "36": "江西省",
    "37": "山东省",
    "41": "河南省",
    "42": "湖北省",
    "43": "湖南省",
    "44": "广东省",
    "45": "广西壮族自治区",
    "46": "海南省",
    "50": "重庆市",
    "51": "四川省",
    "52": "贵州省",
    "53": "云南省",
    "54": "西藏自治区",
    "61": "陕西省",
    "62": "甘肃省",
    "63": "青海省",
    "64": "宁夏回族自治区",
    "65": "新疆维吾尔自治区",
    "71": "台湾省",
    "81": "香港特别行政区",
    "82": "澳门特别行政区",
}
WEIGHTS = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]
CHECK_CHARS = "10X98765432"  # index: sum mod 11 → check character (ISO 7064 MOD 11-2)
FULLWIDTH = str.maketrans(
    "０１２３４５６７８９ＡＢＣＤＥＦＧＨＩＪＫＬＭＮＯＰＱＲＳＴＵＶＷＸＹＺａｂｃｄｅｆｇｈｉｊｋｌｍｎｏｐｑｒｓｔｕｖｗｘｙｚ　",
    "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz ",
)
MOBILE_RE = re.compile(r"^1[3-9]\d{9}$")
LANDLINE_RE = re.compile(r"^0\d{2,3}-?\d{7,8}(-\d{1,6})?$")


class IdNumberError(ValueError):
    """Raised with a Chinese message a user can act on."""


@dataclass(frozen=True)
class IdNumber:
    value: str  # 18 characters, upper-case X
    birth_date: date
    sex: str  # "M" or "F"
    upgraded_from_15: bool = False

    @property
    def province(self) -> str:
        return PROVINCE_CODES[self.value[:2]]


def normalize_text(value: str | None) -> str:
    """Full-width digits/letters to half-width, trimmed."""
    return (value or "").translate(FULLWIDTH).strip()


def check_char(first17: str) -> str:
    total = sum(int(d) * w for d, w in zip(first17, WEIGHTS, strict=True))
    return CHECK_CHARS[total % 11]


def _birth(yyyymmdd: str) -> date:
    try:
        return date(int(yyyymmdd[:4]), int(yyyymmdd[4:6]), int(yyyymmdd[6:8]))
    except ValueError as exc:
        raise IdNumberError("身份证号中的出生日期不是一个真实的日期") from exc


def parse_id_number(
    raw: str | None, *, today: date | None = None, allow_15: bool = True
) -> IdNumber:
    """Validate and normalize a resident ID number, or raise ``IdNumberError``."""
    today = today or local_today()
    value = normalize_text(raw).replace(" ", "").upper()
    if not value:
        raise IdNumberError("请填写身份证号")
    if len(value) == 15:
        if not allow_15:
            raise IdNumberError("15 位旧身份证号已停用，请填写 18 位身份证号")
        if not value.isdigit():
            raise IdNumberError("15 位身份证号只能由数字组成")
        # Legacy numbers: insert century "19" and compute the check character.
        first17 = value[:6] + "19" + value[6:]
        parsed = parse_id_number(first17 + check_char(first17), today=today, allow_15=False)
        return IdNumber(parsed.value, parsed.birth_date, parsed.sex, upgraded_from_15=True)
    if len(value) != 18:
        raise IdNumberError(f"身份证号应为 18 位，您填写了 {len(value)} 位")
    if not value[:17].isdigit() or not (value[17].isdigit() or value[17] == "X"):
        raise IdNumberError("身份证号前 17 位应为数字，最后一位为数字或 X")
    if value[:2] not in PROVINCE_CODES:
        raise IdNumberError("身份证号前两位不是有效的省级行政区划代码")
    birth = _birth(value[6:14])
    if birth > today:
        raise IdNumberError("身份证号中的出生日期晚于今天")
    if birth.year < 1900:
        raise IdNumberError("身份证号中的出生日期早于 1900 年")
    if check_char(value[:17]) != value[17]:
        raise IdNumberError("身份证号校验位不正确，请逐位核对")
    sex = "M" if int(value[16]) % 2 == 1 else "F"
    return IdNumber(value, birth, sex)


def normalize_mobile(raw: str | None) -> str:
    """Return an 11-digit mainland mobile number or raise ``ValueError`` (Chinese message)."""
    value = re.sub(r"[\s\-]", "", normalize_text(raw))
    if value.startswith("+86"):
        value = value[3:]
    elif value.startswith("0086"):
        value = value[4:]
    if not value:
        raise ValueError("请填写手机号")
    if not value.isdigit():
        raise ValueError("手机号只能包含数字")
    if len(value) != 11:
        raise ValueError(f"手机号应为 11 位，您填写了 {len(value)} 位")
    if not MOBILE_RE.match(value):
        raise ValueError("手机号格式不正确（应以 13–19 开头）")
    return value


def normalize_phone(raw: str | None) -> str:
    """A mobile number, or a landline with area code (the optional second phone)."""
    value = normalize_text(raw).replace(" ", "")
    if MOBILE_RE.match(value):
        return value
    if LANDLINE_RE.match(value):
        return value
    raise ValueError("电话号码格式不正确：请填写 11 位手机号，或带区号的座机号（如 0931-8123456）")
