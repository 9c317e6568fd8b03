"""``flask backup create|restore|list``: operator commands around app.maintenance.backup."""

from __future__ import annotations

import sys
from pathlib import Path

import click
from flask import Blueprint

from app.audit import record
from app.extensions import db
from app.maintenance import backup as service
from app.maintenance import restore
from app.timeutil import format_local

bp = Blueprint("backup_cli", __name__, cli_group="backup")


def _describe_database() -> str:
    url = service.database_url()
    if url.get_backend_name() == "sqlite":
        return f"SQLite 数据库 {url.database}"
    return f"PostgreSQL 数据库 {url.render_as_string(hide_password=True)}"


@bp.cli.command("create")
@click.argument("target", required=False, type=click.Path(path_type=Path))
@click.option(
    "--gzip", "compress", is_flag=True, help="用 gzip 压缩（仅 SQLite；pg_dump 本身已压缩）"
)
@click.option(
    "--keep", type=click.IntRange(min=1), default=None, help="只保留该目录中最近的 N 个备份"
)
def create_command(target: Path | None, compress: bool, keep: int | None) -> None:
    """Back up the database while the app keeps running (default folder: instance/backups)."""
    if compress and service.database_url().get_backend_name() == "postgresql":
        click.echo("PostgreSQL 的备份（pg_dump 自定义格式）本身已压缩，忽略 --gzip")
        compress = False
    try:
        result = service.create_backup(target, compress=compress, keep=keep)
    except service.BackupError as exc:
        record_failure("backup_create", str(exc))
        raise click.ClickException(f"备份失败：{exc}") from exc
    db.session.commit()
    check = "完整性检查通过" if result.engine == "sqlite" else "pg_restore 可以完整读取"
    click.echo(f"备份完成：{result.path}")
    click.echo(f"  大小 {service.human_size(result.size)}，用时 {result.seconds:.2f} 秒，{check}")
    if result.pruned:
        click.echo(f"已删除 {len(result.pruned)} 个较早的备份（保留最近 {keep} 个）")


@bp.cli.command("restore")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--yes", is_flag=True, help="确认用备份替换当前数据库")
def restore_command(file: Path, yes: bool) -> None:
    """Replace the database with a backup, then bring its schema up to date."""
    click.echo(f"将用备份 {file} 替换当前的 {_describe_database()}。")
    click.echo("恢复前请先停止应用（gunicorn 和 flask worker）；当前数据库会先另存一份。")
    if not yes:
        if not sys.stdin.isatty():
            raise click.ClickException("未确认，数据库没有改动。确认无误后加 --yes 再运行。")
        if not click.confirm("确定要恢复吗？", default=False):
            raise click.ClickException("已取消，数据库没有改动。")
    try:
        result = restore.restore_backup(file)
    except service.BackupError as exc:
        record_failure("backup_restore", str(exc))
        raise click.ClickException(f"恢复失败：{exc}") from exc
    db.session.commit()
    click.echo(
        f"恢复完成：数据库版本 {result.from_revision} → {result.to_revision}，"
        f"用时 {result.seconds:.2f} 秒"
    )
    if result.previous:
        click.echo(f"恢复前的数据库已另存为：{result.previous}")
    click.echo("请重新启动应用（gunicorn 和 flask worker）。")


@bp.cli.command("list")
@click.argument("directory", required=False, type=click.Path(file_okay=False, path_type=Path))
def list_command(directory: Path | None) -> None:
    """List the backups in a folder (default: instance/backups), oldest first."""
    folder = directory or service.default_dir()
    backups = service.list_backups(folder)
    if not backups:
        click.echo(f"{folder} 中没有备份")
        return
    click.echo(f"{folder} 中有 {len(backups)} 个备份：")
    for path in backups:
        taken = service.backup_time(path)
        local = format_local(taken.replace(tzinfo=None) if taken else None, "%Y-%m-%d %H:%M:%S")
        size = service.human_size(path.stat().st_size)
        click.echo(f"  {path.name}  {size:>9}  北京时间 {local}")


def record_failure(action: str, message: str) -> None:
    """Audit a failed backup/restore, if the database can still take the entry."""
    try:
        db.session.rollback()
        record(action, object_type="database", result="failed", detail=message[:500])
        db.session.commit()
    except Exception:  # noqa: BLE001 - the database itself may be the problem
        db.session.rollback()
