"""Figures for 直管 (app/direct): the first page of the staff lists of member posts and
结对帮扶 pairs at reference size."""

from __future__ import annotations

from bench.figures import HX, Context, time_requests
from bench.registry import figure


@figure("直管: member posts list, first page (staff)", target=30)
def direct_posts_staff(ctx: Context) -> list[float]:
    return time_requests(ctx.logged_in("staff"), "GET", "/direct/assignments", ctx.n, headers=HX)


@figure("直管: 结对帮扶 pairs list, first page (staff)", target=30)
def direct_pairs_staff(ctx: Context) -> list[float]:
    return time_requests(ctx.logged_in("staff"), "GET", "/direct/pairs", ctx.n, headers=HX)


@figure("直管: member posts list, first page (admin, whole street)", target=30)
def direct_posts_admin(ctx: Context) -> list[float]:
    return time_requests(ctx.logged_in("admin"), "GET", "/direct/assignments", ctx.n, headers=HX)
