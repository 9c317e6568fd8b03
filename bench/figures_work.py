"""Figures for the 五管 work lists of 共管, 协管, 接管 and 目标考核: the first page of each staff
list at reference size (whole pages for the 工作台-like pages, fragments for the lists)."""

from __future__ import annotations

from sqlalchemy import func, select

from bench.figures import HX, Context, time_requests
from bench.registry import figure


def _staff_branch(ctx: Context) -> int:
    """The branch of the staff user's scope with the most members."""
    cache = ctx.__dict__.setdefault("_work_branch", {})
    if not cache:
        from app.auth.models import User
        from app.extensions import db
        from app.members.models import Member
        from app.organization.scope import member_scope_filter

        with ctx.app.app_context():
            staff = db.session.execute(select(User).where(User.username == "staff")).scalar_one()
            cache["id"] = db.session.execute(
                select(Member.branch_id)
                .where(member_scope_filter(staff), Member.branch_id.is_not(None))
                .group_by(Member.branch_id)
                .order_by(func.count().desc())
                .limit(1)
            ).scalar_one()
    return cache["id"]


@figure("共管: visits due, first page (staff)", target=30)
def care_visits_staff(ctx: Context) -> list[float]:
    return time_requests(ctx.logged_in("staff"), "GET", "/care/visits", ctx.n, headers=HX)


@figure("共管: 老党员 list (staff)", target=30)
def care_veterans_staff(ctx: Context) -> list[float]:
    return time_requests(ctx.logged_in("staff"), "GET", "/care/veterans", ctx.n, headers=HX)


@figure("协管: two-way management list, first page (staff)", target=30)
def mobile_list_staff(ctx: Context) -> list[float]:
    return time_requests(ctx.logged_in("staff"), "GET", "/mobile/", ctx.n, headers=HX)


@figure("协管: 二卡三簿 ledger page (staff, book counts kept until a change)", target=30)
def mobile_ledger_staff(ctx: Context) -> list[float]:
    return time_requests(ctx.logged_in("staff"), "GET", "/mobile/ledger", ctx.n, headers=HX)


@figure("协管: 二卡三簿 book counts computed, no cache (staff, in-process)", target=50)
def mobile_ledger_counts_computed(ctx: Context) -> list[float]:
    """What the first ledger page after a change pays for its five counts."""
    import time

    from app.auth.models import User
    from app.extensions import db
    from app.mobile import ledger
    from app.timeutil import local_today

    samples = []
    with ctx.app.test_request_context():
        staff = db.session.execute(select(User).filter_by(username="staff")).scalar_one()
        year = local_today().year
        for _ in range(min(ctx.n, 30)):
            start = time.perf_counter()
            ledger.counts(staff, year)
            samples.append((time.perf_counter() - start) * 1000)
    return samples


@figure("接管: 五个一 board, first page (staff)", target=30)
def takeover_board_staff(ctx: Context) -> list[float]:
    return time_requests(ctx.logged_in("staff"), "GET", "/takeover/", ctx.n, headers=HX)


@figure("接管: 五个一 board, first page (admin, whole street)", target=30)
def takeover_board_admin(ctx: Context) -> list[float]:
    return time_requests(ctx.logged_in("admin"), "GET", "/takeover/", ctx.n, headers=HX)


@figure("接管: job leads, first page (staff)", target=30)
def takeover_jobs_staff(ctx: Context) -> list[float]:
    return time_requests(ctx.logged_in("staff"), "GET", "/takeover/jobs", ctx.n, headers=HX)


@figure("目标考核: the largest branch's table (staff, whole page)", target=200)
def assessment_branch_staff(ctx: Context) -> list[float]:
    branch = _staff_branch(ctx)
    return time_requests(
        ctx.logged_in("staff"), "GET", f"/assessment/branches/{branch}", max(ctx.n // 10, 5)
    )
