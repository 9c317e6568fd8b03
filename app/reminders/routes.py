"""待办提醒: the reminder list (on the 工作台, loaded after the page) and the daily digest."""

from __future__ import annotations

import click
from flask import Blueprint, current_app
from flask_login import current_user
from sqlalchemy import select

from app.audit import record
from app.extensions import db
from app.htmx import render_page_or_block
from app.reminders import STAFF_ROLES, configured_sender, digest, reminders_for
from app.security import staff_required

bp = Blueprint("reminders", __name__, url_prefix="/reminders")


@bp.route("/")
@staff_required
def index():
    return render_page_or_block(
        "reminders/index.html", "panel", reminders=reminders_for(current_user)
    )


@bp.cli.command("send")
@click.option("--dry-run", is_flag=True, help="只显示将发送的内容，不发送")
def send_command(dry_run: bool) -> None:
    """Send every active staff user a digest of their reminders (daily)."""
    from app.auth.models import User

    config = current_app.config
    sender = None if dry_run else configured_sender(config)
    base = (config.get("PUBLIC_BASE_URL") or "").rstrip("/")
    users = db.session.execute(
        select(User).where(User.role.in_(STAFF_ROLES), User.active.is_(True)).order_by(User.id)
    ).scalars()
    sent = failed = 0
    for user in users:
        with current_app.test_request_context(base_url=base or "http://localhost"):
            items = reminders_for(user)
        if not items:
            continue
        text = digest(user, items, base)
        if dry_run:
            click.echo(f"== {user.username}\n{text}\n")
            sent += 1
            continue
        try:
            sender.send(user, "邻里待办提醒", text)
            sent += 1
        except OSError as exc:
            failed += 1
            click.echo(f"发送给 {user.username} 失败：{exc}", err=True)
    if not dry_run:
        record(
            "reminder_send",
            object_type="reminder",
            after={
                "sent": sent,
                "failed": failed,
                "sender": config.get("REMINDER_SENDER") or "log",
            },
            detail="每日待办提醒",
        )
    click.echo(
        f"{'将发送' if dry_run else '已发送'} {sent} 份待办提醒"
        + (f"，失败 {failed} 份" if failed else "")
    )
