"""Linli benchmark: seed a database at the reference size of SPEC §14, measure, print figures.

Usage (from the repository root)::

    .venv/bin/python -m bench                       # reference size (100,000 members), 200 samples
    .venv/bin/python -m bench --size small --n 50   # quick run on the small demo data
    .venv/bin/python -m bench --gunicorn            # also: throughput with gunicorn -w 2 + wrk
    .venv/bin/python -m bench --only login          # figures whose name contains "login"
    .venv/bin/python -m bench --list                # list the figures and their targets
    .venv/bin/python -m bench --database postgresql # the same on a throwaway PostgreSQL cluster

The database is ``instance/bench/<size>-<seed>.db``; it is built with ``flask db upgrade`` and
``flask demo seed`` (that run is itself a figure) and reused while the demo generator and the
migrations are unchanged (``--fresh`` rebuilds it). In-process figures use Flask's test client
on the development configuration with rate limiting off; staff pages log in through the real
login form as the demo user ``staff``.

Output: one line per figure with median and p95 (or the single value), its target and OK /
MISS; setup notes go to stderr. Nothing is asserted: the numbers depend on the machine.
Figures live in ``bench/figures.py`` (in-process) and ``bench/serve.py`` (gunicorn); add one
with the ``@figure(name, target=..., ...)`` decorator from ``bench/registry.py``.
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
import platform
import sys
from pathlib import Path

from bench import figures as _figures  # noqa: F401  (registers the in-process figures)
from bench import figures_direct as _figures_direct  # noqa: F401
from bench import figures_dual as _figures_dual  # noqa: F401
from bench import figures_followup as _figures_followup  # noqa: F401
from bench import figures_followup_dues as _figures_followup_dues  # noqa: F401
from bench import figures_members as _figures_members  # noqa: F401
from bench import figures_organization as _figures_org  # noqa: F401
from bench import figures_stats as _figures_stats  # noqa: F401
from bench import figures_work as _figures_work  # noqa: F401
from bench import serve
from bench.database import DEFAULT_DIR, postgresql, prepare
from bench.figures import Context
from bench.registry import FIGURES, Line, run


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    parser.add_argument(
        "--size",
        choices=["small", "reference", "district"],
        default="reference",
        help="district: 1,000,000 members, by hand only (slow to build)",
    )
    parser.add_argument(
        "--database", choices=["sqlite", "postgresql"], default="sqlite", help="database engine"
    )
    parser.add_argument("--seed", type=int, default=2026, help="demo data seed (default 2026)")
    parser.add_argument("--n", type=int, default=200, help="samples per latency figure")
    parser.add_argument("--gunicorn", action="store_true", help="also measure throughput")
    parser.add_argument("--duration", type=int, default=10, help="seconds per wrk run")
    parser.add_argument("--only", default="", help="run figures whose name contains this")
    parser.add_argument("--fresh", action="store_true", help="rebuild the bench database")
    parser.add_argument("--dir", type=Path, default=DEFAULT_DIR, help="where the database lives")
    parser.add_argument("--list", action="store_true", help="list the figures and exit")
    return parser.parse_args(argv)


def note(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def emit(line: Line | None, width: int) -> None:
    if line is not None:
        print(line.render(width), flush=True)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.list:
        for fig in FIGURES:
            target = "—" if fig.target is None else f"{fig.target} {fig.unit}"
            print(f"{fig.phase:<10} {fig.name:<52} target {target}")
        return 0
    selected = [f for f in FIGURES if args.only.lower() in f.name.lower()]
    with contextlib.ExitStack() as stack:
        if args.database == "postgresql":
            database = stack.enter_context(
                postgresql(args.size, args.seed, args.dir, fresh=args.fresh, log=note)
            )
        else:
            database = prepare(args.size, args.seed, args.dir, fresh=args.fresh, log=note)
        return measure(args, selected, database)


def measure(args: argparse.Namespace, selected: list, database) -> int:  # noqa: ANN001

    from app import create_app

    logging.getLogger("alembic").setLevel(logging.WARNING)
    app = create_app("development", SQLALCHEMY_DATABASE_URI=database.url, RATELIMIT_ENABLED=False)
    ctx = Context(app=app, size=args.size, n=args.n, database=database, duration=args.duration)
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    note(
        f"# {platform.node()}: {os.cpu_count()} CPU, load {load}, Python"
        f" {platform.python_version()}; {database.engine}; size {args.size}, seed {args.seed},"
        f" n={args.n}"
    )
    width = max([len(f.name) for f in selected] + [40]) + 2
    for fig in selected:
        if fig.phase in {"setup", "inprocess"}:
            emit(run(fig, ctx), width)
    throughput = [f for f in selected if f.phase == "gunicorn"]
    if args.gunicorn and throughput:
        with serve.gunicorn(database.url, args.dir / "gunicorn.log") as base:
            ctx.server_url = base
            for fig in throughput:
                emit(run(fig, ctx), width)
    return 0


if __name__ == "__main__":
    sys.exit(main())
