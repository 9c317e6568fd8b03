"""Figures for 双管 (app/dual): the staff lists' first pages (target ≤ 30 ms, issue 14)."""

from __future__ import annotations

from bench.figures import HX, Context, time_requests
from bench.registry import figure


@figure("dual: needs and posts, first page (staff)", target=30)
def dual_needs(ctx: Context) -> list[float]:
    return time_requests(ctx.logged_in("staff"), "GET", "/dual/needs", ctx.n, headers=HX)


@figure("dual: services to confirm, first page (staff)", target=30)
def dual_services(ctx: Context) -> list[float]:
    return time_requests(ctx.logged_in("staff"), "GET", "/dual/services", ctx.n, headers=HX)


@figure("dual: feedback sheets of the period, first page (staff)", target=30)
def dual_feedback(ctx: Context) -> list[float]:
    return time_requests(ctx.logged_in("staff"), "GET", "/dual/feedback", ctx.n, headers=HX)


@figure("dual: feedback sheets still to send, first page (staff)", target=30)
def dual_feedback_pending(ctx: Context) -> list[float]:
    path = "/dual/feedback?due=1&status=pending"
    return time_requests(ctx.logged_in("staff"), "GET", path, ctx.n, headers=HX)


@figure("dual: opinion requests, first page (staff)", target=30)
def dual_opinions(ctx: Context) -> list[float]:
    return time_requests(ctx.logged_in("staff"), "GET", "/dual/opinions", ctx.n, headers=HX)
