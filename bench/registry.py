"""The registry of figures: each a named measurement with its unit and target.

Adding a figure::

    @figure("member list, filtered (GET /members?category=…)", target=4, target_p95=12,
            source="SPEC §14")
    def member_list_filtered(ctx: Context) -> list[float]:
        client = ctx.logged_in("staff")
        return time_requests(client, "GET", "/members?category=dual", ctx.n)

A measurement returns its samples (milliseconds for latencies), or a ``Result`` with a note.
It never asserts: anything unexpected raises ``BenchError`` and is printed on the figure's line.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

PHASES = ("setup", "inprocess", "gunicorn")


class BenchError(RuntimeError):
    """A measurement could not be taken (wrong status code, server did not start, ...)."""


@dataclass
class Result:
    samples: list[float]
    note: str = ""
    suffix: str = ""  # appended to the figure's name, e.g. " --size reference"
    target: float | None = None  # overrides the figure's target
    source: str | None = None  # overrides where the target comes from


@dataclass(frozen=True)
class Figure:
    name: str
    measure: Callable[[Any], list[float] | Result | None]
    unit: str = "ms"
    target: float | None = None  # on the median (or on the single value)
    target_p95: float | None = None
    higher_is_better: bool = False
    phase: str = "inprocess"  # setup (from preparing the database), inprocess, gunicorn
    source: str = "house"  # where the target comes from


FIGURES: list[Figure] = []


def figure(name: str, **options) -> Callable:
    """Register the decorated function as the measurement of a figure."""

    def register(function: Callable) -> Callable:
        if options.get("phase", "inprocess") not in PHASES:
            raise ValueError(f"unknown phase for {name!r}")
        FIGURES.append(Figure(name=name, measure=function, **options))
        return function

    return register


def percentile(samples: list[float], fraction: float) -> float:
    """Nearest-rank percentile of the samples."""
    ordered = sorted(samples)
    rank = max(1, min(len(ordered), math.ceil(fraction * len(ordered))))
    return ordered[rank - 1]


def bound(value: float) -> str:
    """A target as written: 120, 4, 0.5."""
    return f"{value:g}"


def number(value: float) -> str:
    if value >= 100:
        return f"{value:.0f}"
    if value >= 10:
        return f"{value:.1f}"
    return f"{value:.2f}"


@dataclass
class Line:
    figure: Figure
    samples: list[float] = field(default_factory=list)
    note: str = ""
    error: str = ""
    suffix: str = ""
    target: float | None = None
    source: str | None = None

    def __post_init__(self) -> None:
        if self.target is None:
            self.target = self.figure.target
        if self.source is None:
            self.source = self.figure.source

    @property
    def name(self) -> str:
        return self.figure.name + self.suffix

    def met(self) -> bool | None:
        fig = self.figure
        if self.target is None and fig.target_p95 is None:
            return None
        ok = True
        central = self.central()
        if self.target is not None:
            ok = central >= self.target if fig.higher_is_better else central <= self.target
        if fig.target_p95 is not None and len(self.samples) > 1:
            ok = ok and percentile(self.samples, 0.95) <= fig.target_p95
        return ok

    def central(self) -> float:
        return statistics.median(self.samples)

    def render(self, width: int = 46) -> str:
        fig = self.figure
        head = f"{self.name:<{width}}"
        if self.error:
            return f"{head} ERROR  {self.error}"
        unit = fig.unit
        if len(self.samples) > 1 and not fig.higher_is_better:
            values = (
                f"median {number(self.central()):>6} {unit:<5}"
                f" p95 {number(percentile(self.samples, 0.95)):>6} {unit:<5}"
            )
        else:
            values = f"{number(self.central()):>13} {unit:<5}{'':>17}"
        target = "target —"
        if self.target is not None:
            sign = "≥" if fig.higher_is_better else "≤"
            target = f"target {sign} {bound(self.target)}"
            if fig.target_p95 is not None:
                target += f" / p95 ≤ {bound(fig.target_p95)}"
            target += f" {unit}"
        met = self.met()
        verdict = "" if met is None else ("OK" if met else "MISS")
        source = "" if self.source == "house" or self.target is None else f" ({self.source})"
        text = f"{head} {values}  {target + source:<30} {verdict:<4}"
        if self.note:
            text += f"  {self.note}"
        return text.rstrip()


def run(fig: Figure, ctx: Any) -> Line | None:
    """Measure one figure; None when it has nothing to report this time."""
    try:
        outcome = fig.measure(ctx)
    except BenchError as exc:
        return Line(fig, error=str(exc))
    if outcome is None:
        return None
    if isinstance(outcome, Result):
        return Line(
            fig,
            outcome.samples,
            note=outcome.note,
            suffix=outcome.suffix,
            target=outcome.target,
            source=outcome.source,
        )
    return Line(fig, list(outcome))
