"""Figures for the statistics dashboard (SPEC §10): the whole street with every panel, computed
afresh on each request (the dashboard's figure cache emptied first), and as served while the
data does not change (cached); the demo staff user's community; a past month."""

from __future__ import annotations

from datetime import date

from bench.figures import Context, time_requests
from bench.registry import Result, figure

CACHES = ("linli_cache",)  # app.cache: every cached figure, scopes included


def _time_dashboard(ctx: Context, user: str, path: str, n: int, cold: bool) -> list[float]:
    def empty() -> None:
        for name in CACHES:
            ctx.app.extensions.pop(name, None)

    return time_requests(ctx.logged_in(user), "GET", path, n, before=empty if cold else None)


@figure("dashboard, whole street, all panels (admin, computed)", target=100, source="SPEC §14")
def dashboard_street(ctx: Context) -> Result:
    samples = _time_dashboard(ctx, "admin", "/stats/", min(ctx.n, 60), cold=True)
    return Result(samples, note="figure cache emptied before each request")


@figure("dashboard, whole street, all panels (admin, cached)", target=100)
def dashboard_street_cached(ctx: Context) -> Result:
    samples = _time_dashboard(ctx, "admin", "/stats/", ctx.n, cold=False)
    return Result(samples, note="no change to the data between requests")


@figure("dashboard, the staff user's scope (computed)", target=100)
def dashboard_staff(ctx: Context) -> list[float]:
    return _time_dashboard(ctx, "staff", "/stats/", min(ctx.n, 60), cold=True)


@figure("dashboard --as-of last June, whole street (admin, computed)", target=100)
def dashboard_as_of(ctx: Context) -> list[float]:
    month = f"{date.today().year - 1}-06"
    return _time_dashboard(ctx, "admin", f"/stats/?as_of={month}", min(ctx.n, 30), cold=True)
