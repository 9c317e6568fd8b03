"""Figures for 党费 / 失联党员 / 民主评议 (SPEC §9): the work lists as staff and
admin see them (first page with its total, partial htmx page), the member's dues page, the
appraisal counts and one branch's bulk form."""

from __future__ import annotations

from sqlalchemy import func, select

from bench.figures import HX, Context, time_requests
from bench.registry import Result, figure


def _ids(ctx: Context) -> dict:
    """A member and the largest branch (read once)."""
    cache = ctx.__dict__.setdefault("_followup2", {})
    if not cache:
        from app.extensions import db
        from app.members.models import Member

        with ctx.app.app_context():
            cache["member"] = db.session.execute(select(func.min(Member.id))).scalar_one()
            branch, size = db.session.execute(
                select(Member.branch_id, func.count())
                .where(Member.branch_id.is_not(None))
                .group_by(Member.branch_id)
                .order_by(func.count().desc())
                .limit(1)
            ).one()
            cache["branch"], cache["branch_size"] = branch, size
    return cache


@figure("dues: behind ≥1 month, first page with total (staff)", target=30)
def dues_behind_staff(ctx: Context) -> list[float]:
    return time_requests(ctx.logged_in("staff"), "GET", "/followup/dues", ctx.n, headers=HX)


@figure("dues: behind ≥6 months, first page with total (admin, whole street)", target=50)
def dues_behind_admin(ctx: Context) -> list[float]:
    path = "/followup/dues?months=6"
    return time_requests(ctx.logged_in("admin"), "GET", path, ctx.n, headers=HX)


@figure("dues: amount to confirm (SQL proposal), first page (admin)", target=50)
def dues_unconfirmed_admin(ctx: Context) -> list[float]:
    path = "/followup/dues?tab=unconfirmed"
    return time_requests(ctx.logged_in("admin"), "GET", path, ctx.n, headers=HX)


@figure("dues: one member's page, full page (admin)", target=50)
def dues_member(ctx: Context) -> list[float]:
    path = f"/followup/dues/members/{_ids(ctx)['member']}"
    return time_requests(ctx.logged_in("admin"), "GET", path, ctx.n)


@figure("lost contact: open cases with >1/>2 year counts (admin)", target=50)
def lost_list(ctx: Context) -> list[float]:
    return time_requests(ctx.logged_in("admin"), "GET", "/followup/lost", ctx.n, headers=HX)


@figure("lost contact: proposals, first page with total (admin)", target=50)
def lost_proposals(ctx: Context) -> list[float]:
    path = "/followup/lost/proposals"
    return time_requests(ctx.logged_in("admin"), "GET", path, ctx.n, headers=HX)


@figure("appraisal: counts per branch for a year (admin)", target=50)
def appraisal_counts(ctx: Context) -> list[float]:
    return time_requests(ctx.logged_in("admin"), "GET", "/followup/appraisal", ctx.n, headers=HX)


@figure("appraisal: largest branch's bulk form (admin)", target=100)
def appraisal_branch(ctx: Context) -> Result:
    ids = _ids(ctx)
    path = f"/followup/appraisal/branches/{ids['branch']}"
    samples = time_requests(ctx.logged_in("admin"), "GET", path, min(ctx.n, 30), headers=HX)
    return Result(samples, note=f"{ids['branch_size']} members")
