"""Roster import/export (SPEC §11): formats, cell rules, preview, idempotence, CLI, stats."""

from __future__ import annotations

import io
import json
from datetime import date, timedelta

import pytest
import xlsxwriter
from python_calamine import CalamineWorkbook
from sqlalchemy import func, select

from app.audit.models import AuditEntry
from app.crypto import keyed_hash
from app.extensions import db
from app.members import importer, services
from app.members.models import Member, MemberHistory
from app.spreadsheets import ImportFileError
from app.timeutil import local_today

from .conftest import id_number

TODAY = local_today()
HEADER = list(importer.COLUMNS.values())


def row(n: int, **cells) -> dict:
    """A valid roster row for person ``n`` (defaults: resident, placed in 第一网格 1号楼)."""
    birth = date(1950, 1, 1) + timedelta(days=37 * n)
    values = {
        "姓名": f"王{n}",
        "性别": "男" if n % 2 else "女",
        "民族": "汉族",
        "身份证号": id_number(birth, n % 500, "M" if n % 2 else "F"),
        "手机号": f"139{n:08d}",
        "入党日期": (birth + timedelta(days=365 * 30)).isoformat(),
        "转正日期": "",
        "党员类型(正式/预备)": "正式",
        "就业状态": "其他/居民",
        "工作单位": "",
        "单位党组织": "",
        "组织关系所在": "本社区",
        "流动情况(无/流入/流出)": "无",
        "流动去向或来源": "",
        "流动开始日期": "",
        "社区": "金川社区",
        "网格": "第一网格",
        "楼栋": "1号楼",
        "房号": f"{n}01",
        "所在支部": "第一小区党支部",
        "所在党小组": "1号楼党小组",
        "备注": "",
    }
    aliases = {"流动情况": "流动情况(无/流入/流出)", "党员类型": "党员类型(正式/预备)"}
    values.update({aliases.get(k, k): v for k, v in cells.items()})
    return values


def csv_bytes(rows: list[dict], encoding: str = "utf-8", bom: bool = False) -> bytes:
    header = list(rows[0])
    lines = [",".join(header)] + [",".join(str(r[h]) for h in header) for r in rows]
    data = ("\r\n".join(lines) + "\r\n").encode(encoding)
    return b"\xef\xbb\xbf" + data if bom else data


def xlsx_bytes(rows: list[dict], typed: dict | None = None) -> bytes:
    """XLSX with text cells; ``typed`` {(row, header): value} writes real numbers/dates."""
    buffer = io.BytesIO()
    book = xlsxwriter.Workbook(buffer, {"in_memory": True})
    sheet = book.add_worksheet()
    date_format = book.add_format({"num_format": "yyyy-mm-dd"})
    header = list(rows[0])
    for c, title in enumerate(header):
        sheet.write_string(0, c, title)
    for r, values in enumerate(rows, start=1):
        for c, key in enumerate(header):
            value = (typed or {}).get((r - 1, key), values[key])
            if isinstance(value, date):
                sheet.write_datetime(r, c, value, date_format)
            elif isinstance(value, (int, float)):
                sheet.write_number(r, c, value)
            else:
                sheet.write_string(r, c, str(value))
    book.close()
    return buffer.getvalue()


def run(data: bytes, name: str = "r.csv", apply: bool = False, user=None):
    rows, columns = importer.read_roster(name, data)
    preview = importer.analyze(rows, columns, apply=apply, user=user)
    if apply:
        db.session.commit()
    else:
        db.session.rollback()
    return preview


def members() -> int:
    return db.session.execute(select(func.count()).select_from(Member)).scalar_one()


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2001-07-01", date(2001, 7, 1)),
        ("2001/7/1", date(2001, 7, 1)),
        ("2001.7.1", date(2001, 7, 1)),
        ("2001年7月1日", date(2001, 7, 1)),
        ("2001 年 7 月 1 日", date(2001, 7, 1)),
        ("20010701", date(2001, 7, 1)),
        ("37073", date(2001, 7, 1)),  # Excel serial
        ("37073.0", date(2001, 7, 1)),
        ("2001.07", date(2001, 7, 1)),  # month only, as old rosters write it
        ("2001年7月", date(2001, 7, 1)),
        ("2001-07-01 00:00:00", date(2001, 7, 1)),
        ("", None),
    ],
)
def test_roster_dates(text, expected):
    assert importer.parse_roster_date(text) == expected


@pytest.mark.parametrize("text", ["2001-02-30", "七月一日", "01/07/2001", "1800-01-01", "0"])
def test_bad_roster_dates(text):
    with pytest.raises(ValueError):
        importer.parse_roster_date(text)


@pytest.mark.parametrize(("encoding", "bom"), [("utf-8", False), ("utf-8", True), ("gbk", False)])
def test_csv_encodings_create_members(app, tree, encoding, bom):
    data = csv_bytes([row(1), row(2)], encoding, bom)
    preview = run(data)
    assert preview.counts == {"create": 2, "update": 0, "unchanged": 0, "rejected": 0}
    assert members() == 0  # preview writes nothing
    run(data, apply=True)
    member = db.session.execute(select(Member).where(Member.name == "王1")).scalar_one()
    assert member.building_id == tree["building_a"].id
    assert member.grid_id == tree["grid_a"].id and member.community_id == tree["community"].id
    assert member.group_id == tree["group_a"].id and member.branch_id == tree["branch_a"].id
    assert member.category == "direct" and member.source == "import"
    aspects = db.session.execute(
        select(MemberHistory.aspect).where(MemberHistory.member_id == member.id)
    ).scalars()
    assert set(aspects) == {"category", "placement", "status", "mobility", "liaison"}


def test_xlsx_with_real_dates_serials_full_width_and_spaces(app, tree):
    r0 = row(3, 姓名="  李　四 ", 手机号="１３９００００１１１１", 入党日期="")
    r1 = row(4, 入党日期="1990年7月1日", 转正日期="1991.7.1")
    r2 = row(5, 入党日期="", 身份证号=" " + row(5)["身份证号"].lower() + " ")
    typed = {(0, "入党日期"): date(1985, 7, 1), (2, "入党日期"): 32690}  # 1989-07-01 serial
    data = xlsx_bytes([r0, r1, r2], typed)
    run(data, "r.xlsx", apply=True)
    got = {m.name: m for m in db.session.execute(select(Member)).scalars()}
    assert set(got) == {"李 四", "王4", "王5"}
    assert got["李 四"].phone == "13900001111" and got["李 四"].joined_on == date(1985, 7, 1)
    assert got["王4"].joined_on == date(1990, 7, 1)
    assert got["王4"].full_member_on == date(1991, 7, 1)
    assert got["王5"].joined_on == date(1989, 7, 1)


def test_header_synonyms_and_extra_columns(app, tree):
    data = csv_bytes(
        [
            {
                "党员姓名": "赵六",
                "身份证号码": id_number(date(1970, 5, 5), 9),
                "联系电话": "13800001234",
                "入党时间": "1995/7/1",
                "组织关系": "本社区",
                "楼号": "1号楼",
                "网格": "第一网格",
                "身高": "175",
            }
        ]
    )
    preview = run(data, apply=True)
    assert preview.counts["create"] == 1
    member = db.session.execute(select(Member)).scalar_one()
    assert member.phone == "13800001234" and member.building_id == tree["building_a"].id
    # One community in the system: 社区 may be left out.
    assert member.community_id == tree["community"].id


def test_missing_required_header_is_refused(app, tree):
    with pytest.raises(ImportFileError, match="缺少必需的列：身份证号"):
        importer.read_roster("r.csv", "姓名,手机号\n张三,13900000000\n".encode())


def test_rejections_name_the_cell_and_reason(app, tree):
    rows = [
        row(1, 身份证号="620302197001011230"),  # bad check digit
        row(2, 手机号="12345"),
        row(3, 入党日期="某年某月"),
        row(4, 就业状态="自由职业"),
        row(5, 流动情况="流出"),  # 流出 needs 流动开始日期
        row(6, 楼栋="99号楼"),
        row(7, 性别="女"),  # person 7 is male by the ID number
        row(8, 社区="不存在社区"),
        row(9, 所在党小组="9号楼党小组"),  # group of the other branch
        row(10),
        row(11, 身份证号=row(10)["身份证号"]),  # same person twice in the file
        row(12, 转正日期="1960-01-01"),  # before joining
    ]
    preview = run(csv_bytes(rows))
    reasons = {r.line: r.errors for r in preview.rows}
    assert "校验位" in reasons[2]["id_number"]
    assert "手机号" in reasons[3]["phone"]
    assert "日期无法识别" in reasons[4]["joined_on"]
    assert "应为" in reasons[5]["employment"]
    assert "流动开始日期" in reasons[6]["mobility_since"]
    assert "99号楼" in reasons[7]["building"]
    assert "性别" in reasons[8]["sex"]
    assert "不存在社区" in reasons[9]["community"]
    assert "党小组" in reasons[10]["group"]
    assert reasons[11] == {}
    assert "第 11 行" in reasons[12]["id_number"]
    assert "转正日期" in reasons[13]["full_member_on"]
    assert preview.counts == {"create": 1, "update": 0, "unchanged": 0, "rejected": 11}
    # The rejected rows as a file: the same columns, plus the reason and the original line.
    sheet = CalamineWorkbook.from_filelike(io.BytesIO(importer.rejected_xlsx(preview)))
    table = sheet.get_sheet_by_index(0).to_python()
    assert table[0][-2:] == ["原因", "原行号"] and table[0][0] == "姓名"
    assert len(table) == 12 and "身份证号：" in table[1][-2]


def test_reimport_changes_nothing_and_update_goes_through_services(app, tree, make_user):
    data = csv_bytes([row(1), row(2), row(3)])
    run(data, apply=True)
    history_before = db.session.execute(select(func.count(MemberHistory.id))).scalar_one()
    again = run(data, apply=True)
    assert again.counts == {"create": 0, "update": 0, "unchanged": 3, "rejected": 0}
    assert db.session.execute(select(func.count(MemberHistory.id))).scalar_one() == history_before

    changed = csv_bytes(
        [
            row(1, 就业状态="离退休", 楼栋="9号楼", 网格="第二网格", 所在支部="", 所在党小组=""),
            row(2, 手机号="", 备注="新备注"),  # empty cell: unchanged
            row(3),
        ]
    )
    preview = run(changed, apply=True)
    assert preview.counts == {"create": 0, "update": 2, "unchanged": 1, "rejected": 0}
    m1 = db.session.execute(select(Member).where(Member.name == "王1")).scalar_one()
    assert m1.employment == "retired" and m1.category == "shared"
    assert m1.building_id == tree["building_b"].id and m1.grid_id == tree["grid_b"].id
    assert m1.group_id == tree["group_a"].id  # empty 支部/党小组 cells: unchanged
    m2 = db.session.execute(select(Member).where(Member.name == "王2")).scalar_one()
    assert m2.phone == "13900000002" and m2.notes == "新备注"
    updates = (
        db.session.execute(select(AuditEntry).where(AuditEntry.action == "member_update"))
        .scalars()
        .all()
    )
    assert {u.object_id for u in updates} == {str(m1.id), str(m2.id)}
    assert all(u.detail == "名册导入" for u in updates)
    category_rows = (
        db.session.execute(
            select(MemberHistory).where(
                MemberHistory.member_id == m1.id, MemberHistory.aspect == "category"
            )
        )
        .scalars()
        .all()
    )
    assert [h.value["category"] for h in category_rows] == ["direct", "shared"]


def test_mobility_and_relation_vocabulary(app, tree):
    since = (TODAY - timedelta(days=300)).isoformat()
    recent = (TODAY - timedelta(days=60)).isoformat()
    rows = [
        row(
            1,
            流动情况="流入",
            流动去向或来源="兰州市某街道",
            流动开始日期=since,
            组织关系所在="兰州市城关区某党支部",
        ),
        row(2, 流动情况="流出", 流动去向或来源="深圳", 流动开始日期=since),
        row(3, 流动情况="流出", 流动去向或来源="深圳", 流动开始日期=recent),
        row(4, 就业状态="在职", 组织关系所在="工作单位", 工作单位="市供电公司"),
        row(5, 就业状态="在职", 组织关系所在="本社区", 工作单位="小餐馆"),
        row(6, 就业状态="下岗", 组织关系所在="原单位"),
        row(7, 就业状态="居民", 流动情况=""),
    ]
    run(csv_bytes(rows), apply=True)
    got = {m.name: m for m in db.session.execute(select(Member)).scalars()}
    assert got["王1"].mobility == "flow_in" and got["王1"].relation_location == "elsewhere"
    assert got["王1"].relation_org_name == "兰州市城关区某党支部"
    assert [got[f"王{n}"].category for n in range(1, 8)] == [
        "coordinated",
        "coordinated",
        "direct",
        "dual",
        "direct",
        "takeover",
        "direct",
    ]
    assert got["王6"].relation_location == "original_unit"
    # Coming back: 流动情况 无 clears the old destination.
    run(csv_bytes([row(2, 流动情况="无")]), apply=True)
    db.session.expire_all()
    back = db.session.get(Member, got["王2"].id)
    assert back.mobility == "none" and back.mobility_place is None and back.category == "direct"


def test_export_is_a_valid_import_file(app, tree, runner, tmp_path, make_member):
    since = (TODAY - timedelta(days=300)).isoformat()
    rows = [
        row(1),
        row(2, 就业状态="在职", 组织关系所在="工作单位", 工作单位="=HYPERLINK(1)", 备注="@note"),
        row(3, 流动情况="流入", 流动去向或来源="兰州", 流动开始日期=since, 组织关系所在="某党委"),
        row(4, 网格="", 楼栋="", 所在支部="", 所在党小组="", 社区=""),
        row(5, 转正日期="2000-01-01", 党员类型="正式"),
    ]
    run(csv_bytes(rows), apply=True)
    make_member(name="手工录入", building=tree["building_b"], group=tree["group_b"])
    target = tmp_path / "roster.xlsx"
    result = runner.invoke(args=["roster", "export", str(target)])
    assert result.exit_code == 0, result.output
    assert "已导出 6 名党员" in result.output
    table = CalamineWorkbook.from_filelike(io.BytesIO(target.read_bytes()))
    cells = table.get_sheet_by_index(0).to_python()
    assert cells[0] == [*importer.COLUMNS.values(), "五管分类", "状态"]
    flat = [c for r in cells for c in r]
    assert "'=HYPERLINK(1)" in flat and "'@note" in flat  # formulas escaped
    assert row(1)["身份证号"] in flat  # the operator's export is full
    result = runner.invoke(args=["roster", "import", str(target)])
    assert result.exit_code == 0, result.output
    assert "新建 0 人，更新 0 人，无变化 6 人，有误 0 行" in result.output
    assert "没有需要写入的变化" in result.output
    audit = (
        db.session.execute(select(AuditEntry.action).where(AuditEntry.object_type == "roster"))
        .scalars()
        .all()
    )
    assert audit == ["member_export", "member_import"]


def test_cli_dry_run_and_rejected_file(app, tree, runner, tmp_path):
    source = tmp_path / "名册.csv"
    source.write_bytes(csv_bytes([row(1), row(2, 手机号="1"), row(3, 入党日期="x")]))
    result = runner.invoke(args=["roster", "import", str(source), "--dry-run"])
    assert result.exit_code == 0, result.output
    assert "新建 1 人" in result.output and "有误 2 行" in result.output
    assert "试运行：未写入数据库" in result.output
    assert members() == 0
    rejected = tmp_path / "名册.rejected.xlsx"
    assert rejected.exists()
    # Fix the rejected rows in their file and import it: they are created.
    table = CalamineWorkbook.from_filelike(io.BytesIO(rejected.read_bytes()))
    cells = table.get_sheet_by_index(0).to_python()
    header = cells[0]
    fixed = []
    for line in cells[1:]:
        values = dict(zip(header, line, strict=True))
        values["手机号"] = "13912340000" if values["手机号"] == "1" else values["手机号"]
        values["入党日期"] = "1999-07-01" if values["入党日期"] == "x" else values["入党日期"]
        fixed.append({k: v for k, v in values.items()})
    again = tmp_path / "fixed.xlsx"
    again.write_bytes(xlsx_bytes(fixed))
    result = runner.invoke(args=["roster", "import", str(again)])
    assert "新建 2 人" in result.output and "有误 0 行" in result.output, result.output
    assert members() == 2


def test_cli_errors_are_chinese(app, runner, tmp_path):
    bad = tmp_path / "x.xlsx"
    bad.write_bytes(b"not a zip")
    result = runner.invoke(args=["roster", "import", str(bad)])
    assert result.exit_code != 0 and "不是 Excel" in result.output


def test_scope_rejects_rows_outside_the_users_community(app, tree, staff_of, make_member):
    from app.organization.models import Place

    other = Place(kind="community", name="和平社区")
    db.session.add(other)
    db.session.commit()
    outsider = make_member(name="外人", community_id=other.id)
    staff = staff_of(place=tree["community"])
    rows = [
        row(1),
        row(2, 社区="和平社区", 网格="", 楼栋="", 所在支部="", 所在党小组=""),
        row(3, 社区="", 网格="", 楼栋="", 所在支部="", 所在党小组=""),
    ]
    outsider_number = services.decrypt(outsider.id_number_enc)
    rows.append(row(4, 身份证号=outsider_number, 姓名="外人", 社区="金川社区"))
    preview = run(csv_bytes(rows), user=staff)
    status = {r.line: (r.status, r.errors) for r in preview.rows}
    assert status[2][0] == "create"
    assert "管辖范围" in status[3][1]["community"]
    assert "管辖范围" in status[4][1]["community"]
    assert "管辖范围" in status[5][1]["id_number"]


def test_concurrent_create_of_same_id_number_gives_duplicate_message(app, monkeypatch):
    number = id_number(date(1970, 1, 1), 3)
    services.create_member(
        {"name": "先到", "id_number": number, "joined_on": date(1995, 7, 1)}, None
    )
    db.session.commit()
    real = services.find_by_id_number
    calls = {"n": 0}

    def racing(value):  # the other request committed after this one looked
        calls["n"] += 1
        return None if calls["n"] == 1 else real(value)

    monkeypatch.setattr(services, "find_by_id_number", racing)
    with pytest.raises(services.DuplicateMemberError) as exc:
        services.create_member({"name": "后到", "id_number": number}, None)
    assert "已登记" in exc.value.errors["id_number"]
    # The caller's transaction is still usable.
    assert db.session.execute(select(func.count()).select_from(Member)).scalar_one() == 1


def seed_003_rows() -> list[dict]:
    """1952 members: 927 retired, 128 laid-off, 170 mobile, 214 in-service, 173 other takeover,
    the rest (340) residents — seed 003's own table."""
    long_ago = (TODAY - timedelta(days=400)).isoformat()
    plan = (
        [{"就业状态": "离退休", "组织关系所在": "本社区"}] * 927
        + [{"就业状态": "下岗", "组织关系所在": "原单位"}] * 128
        + [
            {
                "流动情况(无/流入/流出)": "流入",
                "流动去向或来源": "外省",
                "流动开始日期": long_ago,
                "组织关系所在": "外省某党支部",
            }
        ]
        * 100
        + [{"流动情况(无/流入/流出)": "流出", "流动去向或来源": "深圳", "流动开始日期": long_ago}]
        * 70
        + [{"就业状态": "在职", "组织关系所在": "工作单位", "工作单位": "市某局"}] * 214
        + [{"就业状态": kind} for kind in ("待岗", "解除劳动合同", "未安置复转军人")] * 43
        + [{"就业状态": "未就业大中专毕业生"}] * 44
        + [{"就业状态": "其他/居民"}] * 340
    )
    assert len(plan) == 1952
    rows = []
    for n, extra in enumerate(plan):
        birth = date(1940, 1, 1) + timedelta(days=n % 9000)
        r = row(n)
        r["身份证号"] = id_number(birth, n // 9000 * 7 + 1, "M")
        r["性别"] = "男"
        r["入党日期"] = (birth + timedelta(days=365 * 20 + 5)).isoformat()
        r.update(extra)
        rows.append(r)
    return rows


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_seed_003_roster_gives_its_category_counts(app, tree, runner, tmp_path, fmt):
    rows = seed_003_rows()
    path = tmp_path / f"seed003.{fmt}"
    path.write_bytes(csv_bytes(rows, "gbk") if fmt == "csv" else xlsx_bytes(rows))
    result = runner.invoke(args=["roster", "import", str(path)])
    assert "新建 1952 人" in result.output and "有误 0 行" in result.output, result.output
    result = runner.invoke(args=["stats", "--json"])
    counts = json.loads(result.output)
    assert counts["by_category"] == {
        "shared": 927,
        "coordinated": 170,
        "dual": 214,
        "takeover": 128 + 173,
        "direct": 1952 - 927 - 128 - 170 - 214 - 173,
    }
    assert counts["total"] == 1952 and counts["by_status"]["active"] == 1952
    laid_off = db.session.execute(
        select(func.count()).where(Member.employment == "laid_off")
    ).scalar_one()
    assert laid_off == 128
    text = runner.invoke(args=["stats", "--community", "金川社区"]).output
    assert "共管  927" in text and "党员总数：1952" in text


def test_stats_as_of_a_past_month(app, tree, runner, make_member):
    last_year = TODAY.replace(day=1) - timedelta(days=400)
    member = make_member(effective=last_year, name="老党员")
    make_member(effective=last_year, name="老退休党员", employment="retired")  # unchanged since
    make_member(name="新党员")
    services.update_member(
        member, {"employment": "retired"}, None, None, effective=TODAY, reason="退休"
    )
    db.session.commit()
    month = f"{last_year:%Y-%m}"
    counts = json.loads(runner.invoke(args=["stats", "--json", "--as-of", month]).output)
    assert counts["total"] == 2
    assert counts["by_category"]["direct"] == 1 and counts["by_category"]["shared"] == 1
    now = json.loads(runner.invoke(args=["stats", "--json"]).output)
    assert now["total"] == 3 and now["by_category"]["shared"] == 2
    bad = runner.invoke(args=["stats", "--as-of", "2999-01"])
    assert bad.exit_code != 0 and "YYYY-MM" in bad.output
    unknown = runner.invoke(args=["stats", "--community", "没有"])
    assert unknown.exit_code != 0 and "没有名为" in unknown.output


def test_masked_browser_export_values_are_not_changes(app, tree):
    run(csv_bytes([row(1)]), apply=True)
    m = db.session.execute(select(Member)).scalar_one()
    preview = run(csv_bytes([row(1, 手机号=f"139****{m.phone[-4:]}")]))
    assert preview.counts["unchanged"] == 1
    masked = row(1, 身份证号=f"{m.id_prefix6}********{m.id_last4}")
    preview = run(csv_bytes([masked]))
    assert "隐藏" in preview.rows[0].errors["id_number"]
    assert keyed_hash(services.decrypt(m.id_number_enc)) == m.id_hash


def test_roster_zip_bomb_is_refused(app):
    import zipfile

    bomb = io.BytesIO()
    with zipfile.ZipFile(bomb, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", "<x/>")
        archive.writestr("xl/worksheets/sheet1.xml", b"\0" * (20 * 1024 * 1024))
    with pytest.raises(ImportFileError, match="解压后过大"):
        importer.read_roster("r.xlsx", bomb.getvalue())


def test_cli_export_filters(app, tree, runner, tmp_path):
    from app.organization.models import Place

    other = Place(kind="community", name="和平社区")
    db.session.add(other)
    db.session.commit()
    rows = [
        row(1, 就业状态="离退休"),
        row(2),
        row(3, 就业状态="离退休", 社区="和平社区", 网格="", 楼栋="", 所在支部="", 所在党小组=""),
    ]
    run(csv_bytes(rows), apply=True)
    target = tmp_path / "out.xlsx"
    result = runner.invoke(
        args=["roster", "export", str(target), "--category", "shared", "--community", "金川社区"]
    )
    assert "已导出 1 名党员" in result.output, result.output
    cells = CalamineWorkbook.from_filelike(io.BytesIO(target.read_bytes()))
    table = cells.get_sheet_by_index(0).to_python()
    assert [r[0] for r in table[1:]] == ["王1"] and table[1][-2:] == ["共管", "正常"]
    audit = db.session.execute(
        select(AuditEntry).where(AuditEntry.action == "member_export")
    ).scalar_one()
    assert audit.after["filters"] == {"category": "shared", "community": "金川社区"}
    bad = runner.invoke(args=["roster", "export", str(target), "--community", "无此社区"])
    assert bad.exit_code != 0 and "没有名为" in bad.output
