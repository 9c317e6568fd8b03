"""The members blueprint, shared by the registry routes and the roster import/export routes."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("members", __name__, url_prefix="/members")
