from __future__ import annotations

import secrets

import click
from flask import Blueprint

from app.auth import services
from app.auth.passwords import password_problems
from app.extensions import db

bp = Blueprint("users", __name__, cli_group="users")


@bp.cli.command("create-admin")
@click.option("--username", required=True, help="登录用户名")
@click.option("--name", "display_name", default="管理员", show_default=True, help="显示名称")
@click.option("--password", default=None, help="初始密码（不填则自动生成并打印）")
def create_admin(username: str, display_name: str, password: str | None) -> None:
    """Create an admin account; its first login must set a new password."""
    if services.find_user(username) is not None:
        raise click.ClickException(f"用户名 {username} 已存在")
    generated = password is None
    if generated:
        password = secrets.token_urlsafe(9) + "Aa1!"
    problems = password_problems(password, "admin", personal=(username,))
    if problems:
        raise click.ClickException("；".join(problems))
    services.create_user(username, display_name, "admin", password, must_change_password=True)
    db.session.commit()
    click.echo(f"已创建管理员 {username}")
    if generated:
        click.echo(f"初始密码：{password}（首次登录后须修改）")
