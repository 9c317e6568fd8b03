"""Hostile spreadsheets cannot make an import eat the machine's memory ([7/7] finding 8)."""

from __future__ import annotations

import io
import random
import subprocess
import sys
import textwrap
import zipfile
from pathlib import Path

import pytest

from app import spreadsheets
from app.spreadsheets import ImportFileError, import_slot, read_table

ROOT = Path(__file__).resolve().parents[1]
PARTS = {
    "[Content_Types].xml": '<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/><Default Extension="xml" ContentType="application/xml"/><Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/><Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/><Override PartName="/xl/sharedStrings.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"/></Types>',
    "_rels/.rels": '<?xml version="1.0"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="xl/workbook.xml"/></Relationships>',
    "xl/workbook.xml": '<?xml version="1.0"?><workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"><sheets><sheet name="S" sheetId="1" r:id="rId1"/></sheets></workbook>',
    "xl/_rels/workbook.xml.rels": '<?xml version="1.0"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" Target="worksheets/sheet1.xml"/><Relationship Id="rId2" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/sharedStrings" Target="sharedStrings.xml"/></Relationships>',
}


def workbook(shared: str, inline: str = "") -> bytes:
    """A minimal XLSX: cell A1 is shared string 0; B1 an inline string (if any)."""
    cells = '<c r="A1" t="s"><v>0</v></c>'
    if inline:
        cells += f'<c r="B1" t="inlineStr"><is><t>{inline}</t></is></c>'
    sheet = (
        '<?xml version="1.0"?><worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/'
        f'2006/main"><sheetData><row r="1">{cells}</row></sheetData></worksheet>'
    )
    sst = (
        '<?xml version="1.0"?><sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/'
        f'main" count="1" uniqueCount="1"><si><t>{shared}</t></si></sst>'
    )
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, body in PARTS.items():
            archive.writestr(name, body)
        archive.writestr("xl/worksheets/sheet1.xml", sheet)
        archive.writestr("xl/sharedStrings.xml", sst)
    return buffer.getvalue()


def test_a_normal_workbook_reads(app):
    assert read_table("r.xlsx", workbook("张三", "李四")) == [["张三", "李四"]]


def test_an_oversized_shared_string_table_is_refused(app, monkeypatch):
    monkeypatch.setattr(spreadsheets, "MAX_SHARED_STRINGS", 10_000)
    text = "".join(random.Random(1).choices("AB", weights=[9, 1], k=20_000))
    with pytest.raises(ImportFileError, match="文字内容过多"):
        read_table("r.xlsx", workbook(text))


@pytest.mark.parametrize("where", ["shared", "inline"])
def test_a_cell_longer_than_excel_allows_is_refused(app, where):
    text = "".join(random.Random(2).choices("AB", weights=[9, 1], k=32767 * 4 + 10))
    data = workbook(text) if where == "shared" else workbook("x", text)
    with pytest.raises(ImportFileError, match="超长的单元格"):
        read_table("r.xlsx", data)


def test_one_import_per_user_and_a_machine_wide_limit(app):
    with import_slot(7):
        with pytest.raises(ImportFileError, match="您已有一个导入"), import_slot(7):
            pass
        with (
            import_slot(8),  # the second machine-wide slot
            pytest.raises(ImportFileError, match="其他导入"),
            import_slot(9),
        ):
            pass
    with import_slot(7):  # released again
        pass


def test_the_hostile_upload_of_the_attack_stays_small(tmp_path):
    """The attack's file: 7 MB holding a 90 MB shared string. Refused, reading only a little."""
    script = textwrap.dedent(
        f"""
        import io, random, resource, sys, zipfile
        sys.path.insert(0, {str(ROOT)!r})
        from tests.test_hostile_uploads import workbook
        from app import create_app
        from app.spreadsheets import ImportFileError, read_table
        table = bytes(66 if b < 26 else 65 for b in range(256))  # B one time in ten, else A
        text = random.Random(1).randbytes(90_000_000).translate(table).decode()
        data = workbook(text)
        del text
        before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        app = create_app("testing")
        with app.app_context():
            try:
                read_table("h.xlsx", data)
                print("read")
            except ImportFileError:
                print("refused")
        print(len(data), resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before)
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True, cwd=tmp_path
    )
    verdict, numbers = done.stdout.split("\n")[:2]
    size, grown_kb = map(int, numbers.split())
    assert verdict == "refused" and size < spreadsheets.MAX_BYTES
    assert grown_kb < 50 * 1024  # reading it cost under 50 MB more than building it
