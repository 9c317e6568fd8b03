"""Reading and writing spreadsheets for the imports and exports (structure, roster, lists).

``read_table`` turns an uploaded file into rows of text cells: the type is checked by content,
not by name; XLSX goes through a zip-bomb guard and python-calamine; CSV is UTF-8 with or
without BOM, else GBK (GB18030). ``write_xlsx`` writes text cells with formula-like values
escaped. ``save_upload`` / ``load_upload`` keep an upload between its preview and the confirm.
"""

from __future__ import annotations

import csv
import fcntl
import hashlib
import io
import json
import re
import secrets
import time
import zipfile
from collections import Counter
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import ClassVar

from flask import Response, abort, current_app, has_app_context, has_request_context

from app.members.identity import normalize_text

MAX_BYTES = 10 * 1024 * 1024
MAX_UNCOMPRESSED = 100 * 1024 * 1024
MAX_RATIO = 200  # a compressed entry expanding more than this is treated as a zip bomb
# Memory bounds for hostile workbooks (a 7 MB file can hold a 90 MB shared string that costs a
# worker ~1 GB): the shared-string table's size, and the longest text run in any XML part
# (Excel itself allows 32,767 characters in a cell; UTF-8 needs at most 4 bytes each).
MAX_SHARED_STRINGS = 16 * 1024 * 1024
MAX_CELL_CHARS = 32767
_LONG_TEXT = re.compile(rb"[^<]{%d,}" % (MAX_CELL_CHARS * 4 + 1))
# At most this many imports read files at once on one machine, and one per user.
IMPORT_SLOTS = 2
PREVIEW_MAX_AGE = 24 * 3600
FORMULA_PREFIXES = ("=", "+", "-", "@")
XLSX_MIMETYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


class ImportFileError(ValueError):
    """The file as a whole cannot be read (message in Chinese)."""


# ---- reading ------------------------------------------------------------------------------


def _cell_text(value) -> str:  # noqa: ANN001
    if value is None:
        return ""
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, datetime):
        return value.date().isoformat()
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def clean_cell(value) -> str:  # noqa: ANN001
    """Trimmed, inner whitespace collapsed, full-width digits/letters made half-width."""
    text = " ".join(normalize_text(_cell_text(value)).split())
    # A cell we escaped on export ('=...) comes back without the guard.
    if len(text) > 1 and text[0] == "'" and text[1] in FORMULA_PREFIXES:
        text = text[1:]
    return text


def header_key(cell) -> str:  # noqa: ANN001
    """A header cell as a synonym key: no spaces, stars or colons, no trailing (…) note."""
    key = re.sub(r"[\s*＊:：]", "", clean_cell(cell))
    return re.sub(r"[（(].*[)）]$", "", key)  # 党员类型(正式/预备) → 党员类型


def map_header(cells: list[str], synonyms: dict[str, str]) -> dict[int, str]:
    """Column index → field for the recognised header cells (the first of duplicates wins)."""
    mapping: dict[int, str] = {}
    for index, cell in enumerate(cells):
        column = synonyms.get(header_key(cell))
        if column and column not in mapping.values():
            mapping[index] = column
    return mapping


def _check_zip(data: bytes, max_uncompressed: int = MAX_UNCOMPRESSED) -> None:
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except zipfile.BadZipFile as exc:
        raise ImportFileError("文件已损坏，无法作为 Excel（.xlsx）文件打开") from exc
    with archive:
        infos = archive.infolist()
        names = {info.filename for info in infos}
        if "[Content_Types].xml" not in names or not any(n.startswith("xl/") for n in names):
            raise ImportFileError("文件内容不是 Excel（.xlsx）工作簿")
        total = 0
        for info in infos:
            total += info.file_size
            ratio = info.file_size / max(info.compress_size, 1)
            if total > max_uncompressed or (info.file_size > 1024 * 1024 and ratio > MAX_RATIO):
                raise ImportFileError("文件解压后过大，疑似异常文件，已拒绝")
            if (
                info.filename.lower() == "xl/sharedstrings.xml"
                and info.file_size > MAX_SHARED_STRINGS
            ):
                raise ImportFileError(
                    f"文件中的文字内容过多（超过 {MAX_SHARED_STRINGS // 1024 // 1024} MB），"
                    "疑似异常文件，已拒绝；如确为正常名册，请拆分后再导入"
                )
        for info in infos:
            if info.filename.lower().endswith(".xml"):
                _check_text_runs(archive, info)


def _check_text_runs(archive: zipfile.ZipFile, info: zipfile.ZipInfo) -> None:
    """Refuse a part with a text run longer than any real cell, reading it as a stream."""
    carry = b""
    with archive.open(info) as part:
        while chunk := part.read(1024 * 1024):
            block = carry + chunk
            if _LONG_TEXT.search(block):
                raise ImportFileError(
                    f"文件中有超长的单元格（超过 {MAX_CELL_CHARS} 个字符），疑似异常文件，已拒绝"
                )
            cut = block.rfind(b"<")
            carry = block[cut:] if cut >= 0 else block


def _decode_csv(data: bytes) -> str:
    if b"\x00" in data:
        raise ImportFileError("文件内容不是 CSV 文本，请另存为 UTF-8 或 GBK 编码的 CSV")
    if data.startswith(b"\xef\xbb\xbf"):
        return data[3:].decode("utf-8", errors="strict")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    try:
        return data.decode("gb18030")
    except UnicodeDecodeError as exc:
        raise ImportFileError("无法识别文件编码，请另存为 UTF-8 或 GBK 编码的 CSV") from exc


@contextmanager
def import_slot(user_id: int | None = None) -> Iterator[None]:
    """Hold one of the machine's ``IMPORT_SLOTS`` import slots (and the user's own) while a file
    is read: lock files in ``instance/locks`` shared by every worker process of this machine."""
    directory = Path(current_app.instance_path) / "locks" if has_app_context() else None
    if directory is None:
        yield
        return
    directory.mkdir(parents=True, exist_ok=True)
    held: list = []
    try:
        if user_id is not None:
            mine = _try_lock(directory / f"import-user-{int(user_id)}.lock")
            if mine is None:
                raise ImportFileError("您已有一个导入正在读取文件，请等它完成后再试")
            held.append(mine)
        for n in range(IMPORT_SLOTS):
            slot = _try_lock(directory / f"import-slot-{n}.lock")
            if slot is not None:
                held.append(slot)
                break
        else:
            raise ImportFileError("系统正在处理其他导入，请稍后再试")
        yield
    finally:
        for handle in held:
            fcntl.flock(handle, fcntl.LOCK_UN)
            handle.close()


def _try_lock(path: Path):  # noqa: ANN202
    handle = path.open("a")
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.close()
        return None
    return handle


def _current_user_id() -> int | None:
    if not has_request_context():
        return None
    from flask_login import current_user

    return current_user.id if current_user.is_authenticated else None


def read_table(
    filename: str,
    data: bytes,
    *,
    max_bytes: int = MAX_BYTES,
    max_uncompressed: int = MAX_UNCOMPRESSED,
    raw: bool = False,
) -> list[list]:
    """All rows of the first sheet (or the CSV), as text cells.

    With ``raw`` the XLSX cells keep their types (dates, numbers) so a caller can tell a real
    spreadsheet date from text; CSV cells are always text. Reading holds an import slot.
    """
    with import_slot(_current_user_id()):
        return _read_table(
            filename, data, max_bytes=max_bytes, max_uncompressed=max_uncompressed, raw=raw
        )


def _read_table(
    filename: str,
    data: bytes,
    *,
    max_bytes: int,
    max_uncompressed: int,
    raw: bool,
) -> list[list]:
    if not data:
        raise ImportFileError("文件是空的")
    if len(data) > max_bytes:
        raise ImportFileError(f"文件超过 {max_bytes // 1024 // 1024} MB，请拆分后再导入")
    suffix = Path(filename or "").suffix.lower()
    is_zip = data[:4] == b"PK\x03\x04"
    if suffix == ".xls" or data[:8] == b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1":
        raise ImportFileError("不支持旧版 .xls 文件，请另存为 .xlsx 或 .csv 后再导入")
    if suffix == ".xlsx" or is_zip:
        if not is_zip:
            raise ImportFileError("文件内容不是 Excel（.xlsx）格式")
        _check_zip(data, max_uncompressed)
        from python_calamine import CalamineWorkbook

        try:
            workbook = CalamineWorkbook.from_filelike(io.BytesIO(data))
            sheet = workbook.get_sheet_by_index(0)
            # Row by row: the typed cells of one row at a time, never the whole sheet twice.
            if raw:
                return list(sheet.iter_rows())
            seen: dict[str, str] = {}  # one object per repeated value (汉族, 正式, 社区 names …)
            return [
                [seen.setdefault(text, text) for text in map(_cell_text, row)]
                for row in sheet.iter_rows()
            ]
        except Exception as exc:  # noqa: BLE001 - any parser failure is a bad file
            raise ImportFileError("无法读取该 Excel 文件，请确认文件未损坏") from exc
    if suffix in {".csv", ".txt", ""}:
        text = _decode_csv(data)
        try:
            return [row for row in csv.reader(io.StringIO(text))]
        except csv.Error as exc:
            raise ImportFileError("CSV 文件格式有误，无法解析") from exc
    raise ImportFileError("只支持 .xlsx 和 .csv 文件")


# ---- the preview between upload and confirm -----------------------------------------------

TOKEN_RE = re.compile(r"^[A-Za-z0-9_-]{20,64}$")


def save_upload(
    directory: Path,
    user_id: int | None,
    filename: str,
    data: bytes,
    rows: list,
    street: str = "",
    **extra,
) -> str:
    """Keep the parsed rows of an upload for its confirm step; returns an unguessable token."""
    directory.mkdir(parents=True, exist_ok=True)
    _purge_old(directory)
    token = secrets.token_urlsafe(24)
    payload = {
        "user_id": user_id,
        "filename": Path(filename or "").name[:200],
        "sha256": hashlib.sha256(data).hexdigest(),
        "street": street,
        "created": time.time(),
        "committed": False,
        "rows": rows,
        **extra,
    }
    (directory / f"{token}.json").write_text(json.dumps(payload, ensure_ascii=False), "utf-8")
    return token


def load_upload(directory: Path, token: str, user_id: int | None) -> dict | None:
    """The stored upload, only for the user who made it and only while it is fresh."""
    if not TOKEN_RE.match(token or ""):
        return None
    path = directory / f"{token}.json"
    try:
        payload = json.loads(path.read_text("utf-8"))
    except (OSError, ValueError):
        return None
    if payload.get("user_id") != user_id or time.time() - payload["created"] > PREVIEW_MAX_AGE:
        return None
    return payload


def upload_or_404(directory: Path, token: str, user_id: int | None) -> dict:
    """``load_upload`` for a route: a stale, foreign or unknown token answers 404."""
    payload = load_upload(directory, token, user_id)
    if payload is None:
        abort(404)
    return payload


def mark_committed(directory: Path, token: str, payload: dict) -> None:
    payload["committed"] = True
    (directory / f"{token}.json").write_text(json.dumps(payload, ensure_ascii=False), "utf-8")


def _purge_old(directory: Path) -> None:
    now = time.time()
    for path in directory.glob("*.json"):
        try:
            if now - path.stat().st_mtime > PREVIEW_MAX_AGE:
                path.unlink()
        except OSError:
            pass


# ---- writing spreadsheets -----------------------------------------------------------------


def escape_cell(value) -> str:  # noqa: ANN001
    text = "" if value is None else str(value)
    if text.startswith(FORMULA_PREFIXES):
        return "'" + text
    return text


def xlsx_download(data: bytes, filename: str) -> Response:
    """An XLSX file to download (``filename`` ASCII), never cached: exports hold personal data."""
    return Response(
        data,
        mimetype=XLSX_MIMETYPE,
        headers={
            "Content-Disposition": f"attachment; filename={filename}",
            "Cache-Control": "no-store",
        },
    )


def write_xlsx(header: list[str], rows: Iterable[list], sheet: str = "Sheet1") -> bytes:
    """One sheet of text cells (formula-like values escaped), bold header, in memory."""
    import xlsxwriter

    buffer = io.BytesIO()
    workbook = xlsxwriter.Workbook(
        buffer, {"in_memory": True, "strings_to_formulas": False, "constant_memory": False}
    )
    worksheet = workbook.add_worksheet(sheet)
    bold = workbook.add_format({"bold": True})
    for col, title in enumerate(header):
        worksheet.write_string(0, col, title, bold)
        worksheet.set_column(col, col, 16)
    for r, row in enumerate(rows, start=1):
        for col, value in enumerate(row):
            worksheet.write_string(r, col, escape_cell(value))
    workbook.close()
    return buffer.getvalue()


# ---- import previews ----------------------------------------------------------------------

IMPORT_STATUS_LABELS = {
    "create": "新建",
    "update": "更新",
    "unchanged": "无变化",
    "rejected": "有误",
}


@dataclass
class ImportRow:
    """One data row of an import: what will happen to it, and why it is refused."""

    line: int
    values: dict[str, str]
    status: str = "unchanged"
    errors: dict[str, str] = field(default_factory=dict)
    changes: list[str] = field(default_factory=list)
    column_labels: ClassVar[dict[str, str]] = {}  # field key → the column name users know

    @property
    def status_label(self) -> str:
        return IMPORT_STATUS_LABELS[self.status]

    @property
    def reason(self) -> str:
        return "；".join(f"{self.column_labels.get(k, k)}：{v}" for k, v in self.errors.items())


@dataclass
class ImportPreview:
    rows: list
    notes: list[str] = field(default_factory=list)

    @property
    def counts(self) -> dict[str, int]:
        counter = Counter(row.status for row in self.rows)
        return {status: counter.get(status, 0) for status in IMPORT_STATUS_LABELS}

    @property
    def rejected(self) -> list:
        return [row for row in self.rows if row.status == "rejected"]

    @property
    def has_changes(self) -> bool:
        counts = self.counts
        return bool(counts["create"] or counts["update"])

    def summary(self) -> str:
        counts = self.counts
        return "，".join(f"{IMPORT_STATUS_LABELS[k]} {counts[k]} 行" for k in IMPORT_STATUS_LABELS)

    def finish_command(self, dry_run: bool, action: str, object_type: str, after: dict) -> None:
        """The end of an import command (``flask … import``): a dry run is rolled back;
        otherwise the audit entry is written and everything committed."""
        import click

        from app.audit import record
        from app.extensions import db

        if dry_run:
            db.session.rollback()
            click.echo("试运行：未写入数据库。")
            return
        record(action, object_type=object_type, after=after, detail="命令行导入")
        db.session.commit()
        click.echo("已写入数据库。" if self.has_changes else "没有需要写入的变化。")


def write_workbook(sheets: list[tuple[str, list[str], Iterable[list]]]) -> bytes:
    """Several sheets (name, header, rows) in one workbook, cells as in ``write_xlsx``."""
    import xlsxwriter

    buffer = io.BytesIO()
    workbook = xlsxwriter.Workbook(
        buffer, {"in_memory": True, "strings_to_formulas": False, "constant_memory": False}
    )
    bold = workbook.add_format({"bold": True})
    for name, header, rows in sheets:
        worksheet = workbook.add_worksheet(name[:31])
        for col, title in enumerate(header):
            worksheet.write_string(0, col, title, bold)
            worksheet.set_column(col, col, 16)
        for r, row in enumerate(rows, start=1):
            for col, value in enumerate(row):
                worksheet.write_string(r, col, escape_cell(value))
    workbook.close()
    return buffer.getvalue()
