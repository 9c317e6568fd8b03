"""The building export (导出楼栋表) names each grid's worker, so export → import changes nothing
([2/7] #6)."""

from __future__ import annotations

import io

from python_calamine import CalamineWorkbook

from app.extensions import db
from tests.organization.test_scope import scoped  # noqa: F401


def test_export_names_the_grid_worker(scoped, auth):  # noqa: F811
    auth.login(scoped["staff"].username)
    response = auth.client.get("/places/export.xlsx")
    rows = CalamineWorkbook.from_filelike(io.BytesIO(response.data)).get_sheet_by_index(0)
    rows = rows.to_python()
    assert rows[0][6] == "网格员"
    workers = {r[1]: r[6] for r in rows[1:]}
    assert workers == {"甲一网格": scoped["worker"].username}


def test_exported_file_imports_without_changes(scoped, auth):  # noqa: F811
    from app.organization import importer

    auth.login(scoped["staff"].username)
    data = auth.client.get("/places/export.xlsx").data
    preview = importer.analyze(importer.parse_rows(importer.read_table("s.xlsx", data)))
    db.session.rollback()
    counts = preview.counts
    assert counts["unchanged"] == len(preview.rows) > 0
    assert counts["update"] == counts["create"] == counts["rejected"] == 0


def test_a_branch_without_its_group_is_refused_not_dropped(app):
    """A building joins a branch through its group: a row naming only the branch is refused
    with the reason next to the cell instead of being shown as 新建支部 and then lost."""
    from tests.organization.test_import import csv_bytes, run

    rows = [["幸福社区", "第一网格", "1号楼", "", "第一支部", "", ""]]
    preview = run(csv_bytes(rows))
    (row,) = preview.rows
    assert row.status == "rejected"
    assert "须同时填写所在党小组" in row.errors["group"]
    applied = run(csv_bytes(rows), apply=True)
    assert applied.counts["create"] == 0 and applied.counts["rejected"] == 1
