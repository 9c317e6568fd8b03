"""Reading a roster file (SPEC §11): the columns and their header synonyms, the limits, and
the roster's date formats.

``parse_rows`` maps the header (SPEC §11's names and the synonyms in ``SYNONYMS``) and cleans
every cell (trimmed, full-width digits/letters made half-width); ``read_roster`` reads the file
through ``app.spreadsheets`` (content-checked type, zip-bomb guard, UTF-8/GBK CSV).
"""

from __future__ import annotations

import re
from datetime import date, timedelta

from app.spreadsheets import ImportFileError, clean_cell, map_header, read_table

# Column key → header written on export (SPEC §11's names, in its order).
COLUMNS = {
    "name": "姓名",
    "sex": "性别",
    "ethnicity": "民族",
    "id_number": "身份证号",
    "phone": "手机号",
    "joined_on": "入党日期",
    "full_member_on": "转正日期",
    "member_type": "党员类型(正式/预备)",
    "employment": "就业状态",
    "work_unit": "工作单位",
    "work_unit_org": "单位党组织",
    "relation": "组织关系所在",
    "mobility": "流动情况(无/流入/流出)",
    "mobility_place": "流动去向或来源",
    "mobility_since": "流动开始日期",
    "community": "社区",
    "grid": "网格",
    "building": "楼栋",
    "room": "房号",
    "branch": "所在支部",
    "group": "所在党小组",
    "notes": "备注",
}
EXTRA_COLUMNS = {"category": "五管分类", "status": "状态"}
ALL_COLUMNS = {**COLUMNS, **EXTRA_COLUMNS}
SHORT_LABELS = {
    key: re.sub(r"[（(].*[)）]$", "", label) for key, label in ALL_COLUMNS.items()
}  # 党员类型(正式/预备) → 党员类型, for messages
REQUIRED_HEADERS = ("name", "id_number")
SYNONYMS = {
    **{SHORT_LABELS[key]: key for key in ALL_COLUMNS},
    "名字": "name",
    "党员姓名": "name",
    "身份证": "id_number",
    "身份证号码": "id_number",
    "公民身份号码": "id_number",
    "证件号码": "id_number",
    "手机": "phone",
    "手机号码": "phone",
    "联系电话": "phone",
    "电话": "phone",
    "入党时间": "joined_on",
    "转正时间": "full_member_on",
    "党员类别": "member_type",
    "正式/预备": "member_type",
    "就业情况": "employment",
    "人员类别": "employment",
    "工作单位名称": "work_unit",
    "单位": "work_unit",
    "工作单位党组织": "work_unit_org",
    "单位党组织名称": "work_unit_org",
    "组织关系所在地": "relation",
    "组织关系": "relation",
    "党组织关系所在": "relation",
    "组织关系所在党组织": "relation",
    "流动状态": "mobility",
    "是否流动": "mobility",
    "流动去向": "mobility_place",
    "流动来源": "mobility_place",
    "流入来源": "mobility_place",
    "流出去向": "mobility_place",
    "流动去向/来源": "mobility_place",
    "流动日期": "mobility_since",
    "流入日期": "mobility_since",
    "流出日期": "mobility_since",
    "外出日期": "mobility_since",
    "所在社区": "community",
    "所属社区": "community",
    "社区名称": "community",
    "所在网格": "grid",
    "所属网格": "grid",
    "网格名称": "grid",
    "楼号": "building",
    "楼栋号": "building",
    "所在楼栋": "building",
    "门牌号": "room",
    "房间号": "room",
    "室号": "room",
    "支部": "branch",
    "党支部": "branch",
    "所属支部": "branch",
    "党小组": "group",
    "楼栋党小组": "group",
    "所属党小组": "group",
    "说明": "notes",
    "五管": "category",
    "管理类别": "category",
    "党员状态": "status",
}
# A roster of 100,000 members is about 20 MB as CSV; XLSX sheets expand ~10× when unzipped.
MAX_BYTES = 40 * 1024 * 1024
MAX_UNCOMPRESSED = 400 * 1024 * 1024
MAX_ROWS = 200_000


# ---- cells --------------------------------------------------------------------------------

_YMD = re.compile(r"^(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?$")
_YM = re.compile(r"^(\d{4})\s*[-/.年]\s*(\d{1,2})\s*月?$")
_COMPACT = re.compile(r"^(\d{4})(\d{2})(\d{2})$")
_SERIAL = re.compile(r"^\d{1,5}(\.\d+)?$")
EXCEL_EPOCH = date(1899, 12, 30)
DATE_ERROR = "日期无法识别，请写成 2001-07-01、2001/7/1、2001.7.1 或 2001年7月1日"


def parse_roster_date(text: str) -> date | None:
    """A roster date: ``2001-07-01``, ``2001/7/1``, ``2001.7.1``, ``2001年7月1日``, ``20010701``,
    an Excel date serial (``37073``), or a month alone (``2001.07`` → 1 July 2001, as old
    rosters record party dates). Empty → None; anything else raises ``ValueError``."""
    text = (text or "").strip()
    if not text:
        return None
    text = text.split(" ")[0] if re.match(r"^\d{4}-\d{2}-\d{2} \d", text) else text
    for pattern in (_YMD, _COMPACT):
        match = pattern.match(text)
        if match:
            year, month, day = (int(x) for x in match.groups())
            break
    else:
        match = _YM.match(text)
        if match:
            year, month, day = int(match.group(1)), int(match.group(2)), 1
        elif _SERIAL.match(text):
            serial = int(float(text))
            if not 1 <= serial <= 2958465:
                raise ValueError(DATE_ERROR)
            return EXCEL_EPOCH + timedelta(days=serial)
        else:
            raise ValueError(DATE_ERROR)
    if year < 1900:
        raise ValueError(DATE_ERROR)
    try:
        return date(year, month, day)
    except ValueError:
        raise ValueError("不是一个真实的日期") from None


# ---- reading ------------------------------------------------------------------------------


def parse_rows(table: list[list[str]]) -> tuple[list[dict], list[str]]:
    """Header-mapped rows ``[{"line": 2, "values": {...}}, ...]`` (line numbers as in the file)
    and the columns the file has."""
    header_at = next((i for i, row in enumerate(table) if any(clean_cell(c) for c in row)), None)
    if header_at is None:
        raise ImportFileError("文件中没有任何内容")
    mapping = map_header(table[header_at], SYNONYMS)
    missing = [SHORT_LABELS[c] for c in REQUIRED_HEADERS if c not in mapping.values()]
    if missing:
        raise ImportFileError(
            f"缺少必需的列：{'、'.join(missing)}（第一行应为表头，如：姓名、性别、身份证号、手机号……）"
        )
    rows = []
    items = list(mapping.items())
    for offset, cells in enumerate(table[header_at + 1 :], start=header_at + 2):
        width = len(cells)
        values = {column: clean_cell(cells[index]) for index, column in items if index < width}
        if not any(values.values()):
            continue
        rows.append({"line": offset, "values": values})
        if len(rows) > MAX_ROWS:
            raise ImportFileError(f"一次最多导入 {MAX_ROWS} 行，请拆分文件")
    if not rows:
        raise ImportFileError("文件中只有表头，没有数据行")
    return rows, [c for c in ALL_COLUMNS if c in mapping.values()]


def read_roster(filename: str, data: bytes) -> tuple[list[dict], list[str]]:
    table = read_table(filename, data, max_bytes=MAX_BYTES, max_uncompressed=MAX_UNCOMPRESSED)
    return parse_rows(table)
