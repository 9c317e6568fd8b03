"""Figures for 跟踪管理 part 1 (SPEC §9): the landing page's counts, the overdue and alert work
lists (first page and a keyset page), the event list and one event's attendance page."""

from __future__ import annotations

import re

from sqlalchemy import func, select

from bench.figures import HX, Context, time_requests
from bench.registry import Result, figure


def _largest_event(ctx: Context) -> tuple[int, int]:
    cache = ctx.__dict__.setdefault("_followup1", {})
    if not cache:
        from app.extensions import db
        from app.followup.models import OrgEventAttendance

        with ctx.app.app_context():
            cache["event"] = db.session.execute(
                select(OrgEventAttendance.event_id, func.count())
                .group_by(OrgEventAttendance.event_id)
                .order_by(func.count().desc())
                .limit(1)
            ).one()
    return cache["event"]


@figure("follow-up: landing counts (staff, one community)", target=30)
def landing_staff(ctx: Context) -> list[float]:
    return time_requests(ctx.logged_in("staff"), "GET", "/followup/", ctx.n, headers=HX)


@figure("follow-up: landing counts (admin, whole street, counts kept until a change)", target=200)
def landing_admin(ctx: Context) -> list[float]:
    return time_requests(ctx.logged_in("admin"), "GET", "/followup/", min(ctx.n, 30), headers=HX)


@figure(
    "follow-up: landing counts computed, no cache (admin, whole street, in-process)", target=200
)
def landing_admin_computed(ctx: Context) -> list[float]:
    """The counting query itself (what the first landing after a change pays)."""
    import time

    from app.auth.models import User
    from app.extensions import db
    from app.followup.work_lists import Cutoffs, count_lists

    samples = []
    with ctx.app.test_request_context():
        admin = db.session.execute(select(User).filter_by(username="admin")).scalar_one()
        c = Cutoffs.current()
        for _ in range(min(ctx.n, 10)):
            start = time.perf_counter()
            count_lists(admin, c)
            samples.append((time.perf_counter() - start) * 1000)
        db.session.remove()
    return samples


@figure("follow-up: thought reports overdue, first page (staff)", target=20)
def thought_staff(ctx: Context) -> list[float]:
    path = "/followup/thought-reports"
    return time_requests(ctx.logged_in("staff"), "GET", path, ctx.n, headers=HX)


@figure("follow-up: thought reports overdue, next page (admin)", target=20)
def thought_admin_next(ctx: Context) -> list[float]:
    client = ctx.logged_in("admin")
    html = client.get("/followup/thought-reports", headers=HX).get_data(as_text=True)
    match = re.search(r'hx-get="([^"]*after=\d+[^"]*)"', html)
    path = match.group(1).replace("&amp;", "&") if match else "/followup/thought-reports"
    return time_requests(client, "GET", path, ctx.n, headers=HX)


@figure("follow-up: mobile contacts overdue, first page (staff)", target=30)
def contacts_staff(ctx: Context) -> list[float]:
    return time_requests(ctx.logged_in("staff"), "GET", "/followup/contacts", ctx.n, headers=HX)


@figure("follow-up: alert list with reasons, first page (staff)", target=30)
def alerts_staff(ctx: Context) -> list[float]:
    return time_requests(ctx.logged_in("staff"), "GET", "/followup/alerts", ctx.n, headers=HX)


@figure("follow-up: event list with attendance counts (admin)", target=30)
def events_admin(ctx: Context) -> list[float]:
    return time_requests(ctx.logged_in("admin"), "GET", "/followup/events", ctx.n, headers=HX)


@figure("follow-up: largest event's attendance page (admin)", target=50)
def event_page(ctx: Context) -> Result:
    event_id, size = _largest_event(ctx)
    path = f"/followup/events/{event_id}"
    samples = time_requests(ctx.logged_in("admin"), "GET", path, min(ctx.n, 50), headers=HX)
    return Result(samples, note=f"{size} members")
