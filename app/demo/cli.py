from __future__ import annotations

import click
from flask import Blueprint, current_app
from sqlalchemy import func, select

from app.auth.models import User
from app.extensions import db

bp = Blueprint("demo", __name__, cli_group="demo")


@bp.cli.command("seed")
@click.option(
    "--size", type=click.Choice(["small", "reference"]), default="small", show_default=True
)
@click.option("--if-empty", is_flag=True, help="只在数据库中还没有任何账号时生成")
@click.option("--seed", "random_seed", default=2026, show_default=True, help="随机种子")
def seed(size: str, if_empty: bool, random_seed: int) -> None:
    """Fill the database with realistic demo data (not for production)."""
    if current_app.config.get("ENV_NAME") == "production" or current_app.config.get("HSTS"):
        raise click.ClickException("生产环境不能生成演示数据")
    if if_empty and db.session.execute(select(func.count()).select_from(User)).scalar():
        click.echo("数据库中已有数据，跳过演示数据生成。")
        _print_logins()
        return
    from app.demo.generate import generate

    stats = generate(size=size, seed=random_seed, echo=click.echo)
    db.session.commit()
    click.echo("演示数据已生成：" + "，".join(f"{k} {v}" for k, v in stats.items()))
    _print_logins()


def _print_logins() -> None:
    from app.demo.generate import DEMO_ACCOUNTS

    click.echo("演示账号（仅供本机体验）：")
    for username, _name, role, password in DEMO_ACCOUNTS:
        click.echo(f"  {role:<12} 用户名 {username:<10} 密码 {password}")
