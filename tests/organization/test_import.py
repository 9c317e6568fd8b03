"""Structure import: formats, encodings, synonyms, per-cell reasons, idempotence, guards, CLI."""

from __future__ import annotations

import io
import zipfile

import pytest
import xlsxwriter
from python_calamine import CalamineWorkbook
from sqlalchemy import func, select

from app.audit.models import AuditEntry
from app.extensions import db
from app.organization import importer
from app.organization.models import GridWorker, Org, Place

HEADER = ["社区", "网格", "楼栋", "地址", "所在支部", "所在党小组", "网格员"]
ROWS = [
    ["幸福社区", "第一网格", "1号楼", "幸福路1号", "第一支部", "1号楼党小组", ""],
    ["幸福社区", "第一网格", "2号楼", "幸福路2号", "第一支部", "1号楼党小组", ""],
    ["幸福社区", "第二网格", "3号楼", "", "第二支部", "3号楼党小组", ""],
    ["和平社区", "第一网格", "A座", "和平街8号", "", "", ""],
]


def csv_bytes(rows, header=HEADER, encoding="utf-8", bom=False) -> bytes:
    text = "\r\n".join(",".join(r) for r in [header, *rows]) + "\r\n"
    data = text.encode(encoding)
    return (b"\xef\xbb\xbf" + data) if bom else data


def xlsx_bytes(rows, header=HEADER) -> bytes:
    buffer = io.BytesIO()
    workbook = xlsxwriter.Workbook(buffer, {"in_memory": True})
    sheet = workbook.add_worksheet()
    for c, title in enumerate(header):
        sheet.write(0, c, title)
    for r, row in enumerate(rows, start=1):
        for c, value in enumerate(row):
            sheet.write(r, c, value)
    workbook.close()
    return buffer.getvalue()


def run(data: bytes, name: str = "s.csv", apply: bool = False):
    rows = importer.parse_rows(importer.read_table(name, data))
    preview = importer.analyze(rows, apply=apply)
    if apply:
        db.session.commit()
    else:
        db.session.rollback()
    return preview


def counts():
    return db.session.execute(select(Place.kind, func.count()).group_by(Place.kind)).all()


@pytest.mark.parametrize(
    ("data", "name"),
    [
        (csv_bytes(ROWS), "s.csv"),
        (csv_bytes(ROWS, bom=True), "s.csv"),
        (csv_bytes(ROWS, encoding="gbk"), "s.csv"),
        (xlsx_bytes(ROWS), "s.xlsx"),
    ],
    ids=["utf8", "utf8-bom", "gbk", "xlsx"],
)
def test_import_creates_the_structure_and_is_idempotent(app, data, name):
    preview = run(data, name)
    assert preview.counts == {"create": 4, "update": 0, "unchanged": 0, "rejected": 0}
    assert db.session.scalar(select(func.count(Place.id))) == 0  # preview writes nothing
    run(data, name, apply=True)
    assert sorted(counts()) == [("building", 4), ("community", 2), ("grid", 3)]
    street = db.session.scalar(select(Org).where(Org.kind == "street_committee"))
    assert street.name == "街道党工委"
    committee = db.session.scalar(select(Org).where(Org.name == "幸福社区党委"))
    assert committee.parent_id == street.id
    assert db.session.get(Place, committee.place_id).name == "幸福社区"
    b1 = db.session.scalar(select(Place).where(Place.name == "1号楼"))
    group = db.session.get(Org, b1.group_id)
    assert group.name == "1号楼党小组" and db.session.get(Org, group.parent_id).name == "第一支部"
    assert b1.address == "幸福路1号"
    # The same file again: all unchanged, and committing changes nothing.
    before = db.session.scalar(select(func.count(AuditEntry.id)))
    again = run(data, name)
    assert again.counts == {"create": 0, "update": 0, "unchanged": 4, "rejected": 0}
    run(data, name, apply=True)
    assert db.session.scalar(select(func.count(AuditEntry.id))) == before
    assert sorted(counts()) == [("building", 4), ("community", 2), ("grid", 3)]


def test_synonyms_full_width_and_spaces(app):
    header = [" 社区名称 ", "网格名称", "楼号", "详细地址", "党支部", "楼栋党小组", "备注"]
    rows = [["幸福社区 ", "第一网格", "１２", "幸福路１２号", " 第一支部", "１２号楼党小组", "x"]]
    preview = run(csv_bytes(rows, header=header), apply=True)
    assert preview.counts["create"] == 1
    building = db.session.scalar(select(Place).where(Place.kind == "building"))
    assert building.name == "12" and building.address == "幸福路12号"
    assert db.session.get(Org, building.group_id).name == "12号楼党小组"


def test_xlsx_numbers_become_text(app):
    preview = run(xlsx_bytes([["幸福社区", "第一网格", 5, "", "", "", ""]]), "s.xlsx", apply=True)
    assert preview.counts["create"] == 1
    assert db.session.scalar(select(Place.name).where(Place.kind == "building")) == "5"


def test_rejected_rows_with_reasons_per_cell(app, make_user):
    make_user("member", username="just_a_member")
    rows = [
        ["", "第一网格", "1号楼", "", "", "", ""],
        ["幸福社区", "第一网格", "2号楼", "", "", "2号楼党小组", ""],
        ["幸福社区", "第一网格", "3号楼", "", "", "", "nobody"],
        ["幸福社区", "第一网格", "4号楼", "", "", "", "just_a_member"],
        ["幸福社区", "第一网格", "5号楼", "", "", "", ""],
        ["幸福社区", "第一网格", "5号楼", "", "", "", ""],
        ["幸福社区", "第一网格", "=cmd|'/c calc'!A1", "", "", "", ""],
    ]
    preview = run(csv_bytes(rows))
    by_line = {r.line: r for r in preview.rows}
    assert by_line[2].errors == {"community": "必填"}
    assert "须同时填写所在支部" in by_line[3].errors["branch"]
    assert by_line[4].errors["worker"] == "账号 nobody 不存在"
    assert "不是网格员" in by_line[5].errors["worker"]
    assert by_line[6].status == "create"
    assert by_line[7].errors["building"] == "与第 6 行重复"
    assert by_line[8].status == "create"
    assert preview.counts["rejected"] == 5
    sheet = CalamineWorkbook.from_filelike(io.BytesIO(importer.rejected_xlsx(preview)))
    table = sheet.get_sheet_by_index(0).to_python()
    assert table[0][-1] == "原因" and len(table) == 6
    assert "社区：必填" in table[1][-1]


def test_formula_cells_are_escaped_on_export(app):
    data = importer.write_xlsx(["楼栋"], [["=1+1"], ["@x"], ["-2"], ["+3"], ["ok"]])
    table = CalamineWorkbook.from_filelike(io.BytesIO(data)).get_sheet_by_index(0).to_python()
    assert [r[0] for r in table[1:]] == ["'=1+1", "'@x", "'-2", "'+3", "ok"]
    assert importer.clean_cell("'=1+1") == "=1+1"


def test_update_rows_and_grid_worker(app, make_user):
    run(csv_bytes(ROWS), apply=True)
    worker = make_user("grid_worker", username="wang_gw")
    rows = [["幸福社区", "第一网格", "1号楼", "幸福路1号之一", "第一支部", "新党小组", "WANG_GW"]]
    preview = run(csv_bytes(rows))
    assert preview.rows[0].status == "update"
    assert any("新建党小组" in c for c in preview.rows[0].changes)
    run(csv_bytes(rows), apply=True)
    b1 = db.session.scalar(select(Place).where(Place.name == "1号楼"))
    assert b1.address == "幸福路1号之一" and db.session.get(Org, b1.group_id).name == "新党小组"
    grid = db.session.get(Place, b1.parent_id)
    assert db.session.scalar(
        select(GridWorker).where(GridWorker.grid_id == grid.id, GridWorker.user_id == worker.id)
    )
    assert run(csv_bytes(rows)).counts["unchanged"] == 1


@pytest.mark.parametrize(
    ("data", "name", "message"),
    [
        (b"this is not a zip", "s.xlsx", "不是 Excel"),
        (b"", "s.csv", "空的"),
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"0" * 100, "old.xls", "旧版 .xls"),
        (b"x" * (importer.MAX_BYTES + 1), "big.csv", "超过 10 MB"),
        (b"a\x00b", "s.csv", "不是 CSV"),
        ("社区,网格\n甲,乙\n".encode(), "s.csv", "缺少必需的列：楼栋"),
        ("社区,网格,楼栋\n".encode(), "s.csv", "只有表头"),
        (b"PK\x03\x04garbage", "s.xlsx", "已损坏"),
        (b"data", "s.pdf", "只支持"),
    ],
)
def test_bad_files_are_refused(app, data, name, message):
    with pytest.raises(importer.ImportFileError, match=message):
        importer.parse_rows(importer.read_table(name, data))


def test_zip_without_workbook_and_zip_bomb_refused(app):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("hello.txt", "hi")
    with pytest.raises(importer.ImportFileError, match="不是 Excel"):
        importer.read_table("s.xlsx", buffer.getvalue())
    bomb = io.BytesIO()
    with zipfile.ZipFile(bomb, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", "<x/>")
        archive.writestr("xl/worksheets/sheet1.xml", b"\0" * (50 * 1024 * 1024))
    data = bomb.getvalue()
    assert len(data) < importer.MAX_BYTES
    with pytest.raises(importer.ImportFileError, match="解压后过大"):
        importer.read_table("s.xlsx", data)


def test_cli_import_dry_run_then_commit(app, runner, tmp_path):
    path = tmp_path / "structure.csv"
    path.write_bytes(csv_bytes(ROWS, encoding="gbk"))
    result = runner.invoke(
        args=["org", "import", str(path), "--dry-run", "--street", "幸福街道党工委"]
    )
    assert result.exit_code == 0, result.output
    assert "新建 4 行" in result.output and "试运行" in result.output
    assert db.session.scalar(select(func.count(Place.id))) == 0
    result = runner.invoke(args=["org", "import", str(path), "--street", "幸福街道党工委"])
    assert result.exit_code == 0, result.output
    assert "已写入数据库" in result.output
    db.session.expire_all()
    assert (
        db.session.scalar(select(Org.name).where(Org.kind == "street_committee"))
        == "幸福街道党工委"
    )
    result = runner.invoke(args=["org", "import", str(path)])
    assert "无变化 4 行" in result.output and "没有需要写入的变化" in result.output
    bad = tmp_path / "bad.xlsx"
    bad.write_bytes(b"nope")
    result = runner.invoke(args=["org", "import", str(bad)])
    assert result.exit_code != 0 and "不是 Excel" in result.output
