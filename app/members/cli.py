"""``flask roster import FILE [--dry-run]``, ``flask roster export FILE`` and ``flask stats``.

Run by an operator on the server: no scope limit, full ID numbers and phones in the export;
every run is audited.
"""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace

import click
from flask import Blueprint
from sqlalchemy import select

from app.audit import record
from app.extensions import db
from app.members import importer
from app.members.models import CATEGORIES, MOBILITIES, STATUSES, Member
from app.members.rules import month_end
from app.members.stats import member_counts, render_text
from app.organization.models import Place
from app.spreadsheets import ImportFileError
from app.timeutil import local_today

bp = Blueprint("roster_cli", __name__, cli_group="roster")
stats_bp = Blueprint("stats_cli", __name__, cli_group=None)

# The command line sees everything, like an admin (the same filter function as the list).
OPERATOR = SimpleNamespace(is_authenticated=True, role="admin", id=None, username=None)


def rejected_path(file: Path) -> Path:
    return file.with_name(f"{file.stem}.rejected.xlsx")


@bp.cli.command("reclassify")
@click.option("--all", "everyone", is_flag=True, help="重新评估全部党员（修改分类规则设置后使用）")
@click.option("--dry-run", is_flag=True, help="只显示需要调整的人数，不写入数据库")
def reclassify_command(everyone: bool, dry_run: bool) -> None:
    """Re-evaluate the five-management categories that time has changed (daily)."""
    from app.members.services import reclassify_due

    due = reclassify_due(None, everyone=everyone, apply=not dry_run)
    if dry_run:
        click.echo(f"需要重新分类 {len(due)} 人（未写入）")
        return
    db.session.commit()
    click.echo(f"已重新分类 {len(due)} 人")


@bp.cli.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--dry-run", is_flag=True, help="只检查并显示结果，不写入数据库")
def import_command(file: Path, dry_run: bool) -> None:
    """Import a roster (XLSX or CSV): create new members, update changed ones."""
    data = file.read_bytes()
    try:
        rows, columns = importer.read_roster(file.name, data)
    except ImportFileError as exc:
        raise click.ClickException(exc.args[0]) from exc
    preview = importer.analyze(rows, columns, apply=not dry_run)
    for note in preview.notes:
        click.echo(note)
    rejected = preview.rejected
    for row in rejected[:50]:
        click.echo(f"第 {row.line} 行有误：{row.reason}")
    if len(rejected) > 50:
        click.echo(f"……另有 {len(rejected) - 50} 行有误")
    counts = preview.counts
    click.echo(
        f"共 {len(preview.rows)} 行：新建 {counts['create']} 人，更新 {counts['update']} 人，"
        f"无变化 {counts['unchanged']} 人，有误 {counts['rejected']} 行"
    )
    if rejected:
        target = rejected_path(file)
        target.write_bytes(importer.rejected_xlsx(preview))
        click.echo(f"有误的行已写入：{target}（改正后可再次导入）")
    after = {"file": file.name, "rows": len(preview.rows), **counts}
    preview.finish_command(dry_run, "member_import", "roster", after)


def _filters(category: str, status: str, mobility: str, q: str) -> dict:
    from app.members.queries import read_filters

    return read_filters({"category": category, "status": status, "mobility": mobility, "q": q})


def _community_clause(name: str | None) -> list:
    if not name:
        return []
    community_id = db.session.execute(
        select(Place.id).where(Place.kind == "community", Place.name == name.strip())
    ).scalar()
    if community_id is None:
        raise click.ClickException(f"没有名为「{name}」的社区")
    return [Member.community_id == community_id]


@bp.cli.command("export")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--category", type=click.Choice(list(CATEGORIES)), help="五管分类")
@click.option("--status", type=click.Choice(list(STATUSES)), help="状态")
@click.option("--mobility", type=click.Choice(list(MOBILITIES)), help="流动情况")
@click.option("--community", help="社区名称")
@click.option("--q", default="", help="搜索：姓名、拼音首字母或证件号/手机后四位")
def export_command(
    file: Path, category: str, status: str, mobility: str, community: str, q: str
) -> None:
    """Export the roster to XLSX (full values; the file is itself a valid import file)."""
    from app.members.queries import filter_where

    f = _filters(category or "", status or "", mobility or "", q)
    where, _ = filter_where(f, OPERATOR)
    where += _community_clause(community)
    data, count = importer.export_xlsx(where, reveal=True)
    file.write_bytes(data)
    used = {k: v for k, v in f.items() if v}
    if community:
        used["community"] = community
    record(
        "member_export",
        object_type="roster",
        after={"file": file.name, "rows": count, "filters": used, "format": "xlsx"},
        detail="命令行导出（完整证件号）",
    )
    db.session.commit()
    click.echo(f"已导出 {count} 名党员到 {file}")


@stats_bp.cli.command("stats")
@click.option("--json", "as_json", is_flag=True, help="以 JSON 输出")
@click.option("--as-of", "as_of", default="", help="按某月月底的情况统计，格式 YYYY-MM")
@click.option("--community", help="只统计该社区")
def stats_command(as_json: bool, as_of: str, community: str | None) -> None:
    """Members by five-management category and by status."""
    if as_of:
        try:
            if month_end(as_of) > month_end(local_today()):
                raise ValueError
        except ValueError:
            raise click.BadParameter(
                "应为不晚于本月的月份，格式 YYYY-MM", param_hint="--as-of"
            ) from None
    counts = member_counts(_community_clause(community), as_of or None)
    db.session.rollback()
    if as_json:
        counts["community"] = community
        click.echo(json.dumps(counts, ensure_ascii=False, indent=2))
        return
    scope = f"社区：{community}" if community else "全部社区"
    when = f"截至 {as_of} 月底" if as_of else "当前"
    click.echo(render_text(counts, f"党员统计（{scope}，{when}）"))
