from __future__ import annotations

import time
import unicodedata

import click
from flask import Blueprint, current_app
from sqlalchemy import func, select
from sqlalchemy import text as sa_text

from app.auth.models import ROLES, User
from app.extensions import db
from app.members.models import Member
from app.organization.models import Org, Place

bp = Blueprint("demo", __name__, cli_group="demo")


def _count(model) -> int:  # noqa: ANN001
    return db.session.execute(select(func.count()).select_from(model)).scalar() or 0


@bp.cli.command("seed")
@click.option(
    "--size",
    type=click.Choice(["small", "reference", "district"]),
    default="small",
    show_default=True,
)
@click.option("--if-empty", is_flag=True, help="只在数据库中还没有任何账号时生成")
@click.option("--seed", "random_seed", default=2026, show_default=True, help="随机种子")
def seed(size: str, if_empty: bool, random_seed: int) -> None:
    """Fill the database with realistic demo data (not for production)."""
    if current_app.config.get("ENV_NAME") == "production" or current_app.config.get("HSTS"):
        raise click.ClickException("生产环境不能生成演示数据")
    if if_empty and _count(User):
        click.echo("数据库中已有数据，跳过演示数据生成。")
        _print_logins()
        return
    if _count(User) or _count(Org) or _count(Place) or _count(Member):
        raise click.ClickException(
            "数据库中已有账号、组织或党员数据：演示数据只能生成到空数据库中（加 --if-empty 可跳过）"
        )
    from app.demo.generate import generate

    started = time.perf_counter()
    if size != "small":
        click.echo(f"正在生成演示数据（规模 {size}，随机种子 {random_seed}）……")
    stats = generate(size=size, seed=random_seed, echo=click.echo)
    db.session.commit()
    # Fresh planner statistics for the bulk-loaded tables.
    db.session.execute(sa_text("ANALYZE"))
    db.session.commit()
    elapsed = time.perf_counter() - started
    click.echo(
        "演示数据已生成："
        + "，".join(f"{k} {v}" for k, v in stats.items())
        + f"（用时 {elapsed:.1f} 秒）"
    )
    _print_logins()


def _pad(text: str, width: int) -> str:
    """Left-align ``text`` in ``width`` terminal columns (CJK characters take two)."""
    used = sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)
    return text + " " * max(0, width - used)


def _print_logins() -> None:
    from app.demo.accounts import DEMO_ACCOUNTS

    click.echo("演示账号（仅供本机体验）：")
    for username, _name, role, password in DEMO_ACCOUNTS:
        label = ROLES.get(role, role)
        click.echo(f"  {_pad(label, 12)}用户名 {username:<8} 密码 {password}")
