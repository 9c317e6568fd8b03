"""Follow-up pages: landing page with counts, org life and attendance, thought reports,
contact logs for mobile members, the alert list.

The part-2 pages (dues, lost-contact cases, appraisal) live in ``routes_part2`` and attach to
the same blueprint: ``from app.followup.routes import bp``.
"""

from __future__ import annotations

import importlib.util

from flask import Blueprint

from app.security import staff_required

bp = Blueprint("followup", __name__, url_prefix="/followup")


@bp.route("/")
@staff_required
def index():  # placeholder, replaced below
    return ""


# Part 2 attaches its routes to ``bp`` when its module exists.
if importlib.util.find_spec("app.followup.routes_part2") is not None:
    from app.followup import routes_part2  # noqa: E402, F401
