"""``flask org import FILE [--dry-run] [--street NAME]``."""

from __future__ import annotations

from pathlib import Path

import click
from flask import Blueprint

from app.organization import importer

bp = Blueprint("org_cli", __name__, cli_group="org")


@bp.cli.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--dry-run", is_flag=True, help="只检查并显示结果，不写入数据库")
@click.option(
    "--street",
    default=importer.DEFAULT_STREET,
    show_default=True,
    help="街道党工委名称（没有时新建）",
)
def import_command(file: Path, dry_run: bool, street: str) -> None:
    """Import communities, grids, buildings, branches and groups (one row per building)."""
    data = file.read_bytes()
    try:
        rows = importer.parse_rows(importer.read_table(file.name, data))
    except importer.ImportFileError as exc:
        raise click.ClickException(exc.args[0]) from exc
    preview = importer.analyze(rows, street, apply=not dry_run)
    for note in preview.notes:
        click.echo(note)
    for row in preview.rejected:
        click.echo(f"第 {row.line} 行有误：{row.reason}")
    click.echo(f"共 {len(preview.rows)} 行：{preview.summary()}")
    preview.finish_command(
        dry_run, "org_import", "structure", {"file": file.name, **preview.counts}
    )
