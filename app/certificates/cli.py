"""CLI: ``flask worker`` (the print-job consumer) and ``flask certificates expire|purge-jobs``."""

from __future__ import annotations

import click
from flask import Blueprint, current_app

from app.extensions import db

bp = Blueprint("certificates_cli", __name__, cli_group=None)


@bp.cli.command("worker")
@click.option("--workers", default=2, show_default=True, help="Jobs run at the same time.")
def worker(workers: int) -> None:
    """Run the background print-job consumer (huey). Each job renders on 2 processes."""
    from app.certificates.jobs import run_consumer

    click.echo(
        f"print worker: {workers} workers, queue {current_app.config.get('REDIS_URL') or 'SQLite'}"
    )
    run_consumer(current_app._get_current_object(), workers=workers)


@bp.cli.group("certificates")
def certificates() -> None:
    """Certificate maintenance."""


@certificates.command("expire")
def expire() -> None:
    """Mark open certificates past their validity as expired (run daily)."""
    from app.certificates.services import expire_overdue

    count = expire_overdue()
    db.session.commit()
    click.echo(f"已过期：{count} 张")


@certificates.command("purge-jobs")
def purge_jobs() -> None:
    """Delete batch-print results past their keeping time."""
    from app.certificates.jobs import purge_expired

    count = purge_expired()
    db.session.commit()
    click.echo(f"已清除：{count} 个打印结果")
