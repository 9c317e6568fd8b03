"""``flask audit verify``: walk the audit log's hash chain (app/audit/chain.py)."""

from __future__ import annotations

import click
from flask import Blueprint

from app.audit import chain
from app.extensions import db

bp = Blueprint("audit_cli", __name__, cli_group="audit")


@bp.cli.command("verify")
def verify_command() -> None:
    """Check every chained audit row; exit status 1 at the first broken link."""
    result = chain.verify()
    chain.remember(result)
    db.session.commit()
    click.echo(result.summary())
    if not result.ok:
        raise SystemExit(1)
