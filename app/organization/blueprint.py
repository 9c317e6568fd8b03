"""The organization blueprint, shared by its route modules (tree admin, places, import)."""

from __future__ import annotations

from flask import Blueprint, Response, flash, redirect

from app.htmx import client_redirect, is_htmx, trigger

bp = Blueprint("organization", __name__)


def done(url: str, message: str | None = None, event: str = "tree-changed") -> Response:
    """After a successful change: flash, then go to ``url`` (a client redirect under htmx)."""
    if message:
        flash(message, "success")
    response = client_redirect(url) if is_htmx() else redirect(url, code=303)
    return trigger(response, event)
