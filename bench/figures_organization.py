"""Figures for the organization feature (issue 3): tree pages, scope cost, structure import."""

from __future__ import annotations

import statistics
import tempfile
import time
from pathlib import Path

from sqlalchemy import select

from bench.figures import WARMUP, Context, time_requests
from bench.registry import BenchError, Result, figure


def _first(ctx: Context, model, **filters):  # noqa: ANN001
    from app.extensions import db

    with ctx.app.app_context():
        node = db.session.execute(select(model).filter_by(**filters).limit(1)).scalar_one_or_none()
        if node is None:
            raise BenchError(f"no {model.__name__} {filters}")
        return node.id


@figure("org tree page, one community committee (GET /admin/org/org/<id>)", target=20)
def org_tree_community(ctx: Context) -> list[float]:
    from app.organization.models import Org

    committee = _first(ctx, Org, kind="community_committee")
    return time_requests(ctx.logged_in("admin"), "GET", f"/admin/org/org/{committee}", ctx.n)


@figure("places tree page, one community (GET /admin/org/place/<id>)", target=20)
def place_tree_community(ctx: Context) -> list[float]:
    from app.organization.models import Place

    community = _first(ctx, Place, kind="community")
    return time_requests(ctx.logged_in("admin"), "GET", f"/admin/org/place/{community}", ctx.n)


@figure("street tree page (GET /admin/org)", target=20)
def street_tree(ctx: Context) -> list[float]:
    return time_requests(ctx.logged_in("admin"), "GET", "/admin/org", ctx.n)


@figure("scope filter cost on a 50-row member list query (staff of one community)", target=1)
def scope_filter_cost(ctx: Context) -> Result:
    """Median of (the request's scope look-up + scoped keyset query) minus the same query
    unscoped. The scope itself is cached per application until the trees or scopes change; a
    scope made of alternatives (a community OR a joint branch) is read the way the member list
    reads it (``merged_page``: each alternative's first rows from its own sort index)."""
    from app.auth.models import User
    from app.extensions import db
    from app.members.models import Member
    from app.members.queries import PINYIN_ORDER, merged_page
    from app.organization.scope import member_scope_filter

    def query(where):  # noqa: ANN001, ANN202
        stmt = select(Member).order_by(*PINYIN_ORDER).limit(50)
        if where is not None:
            stmt = stmt.where(*merged_page([where], 50))
        return db.session.execute(stmt).scalars().all()

    with ctx.app.test_request_context():
        staff = db.session.execute(select(User).filter_by(username="staff")).scalar_one()
        plain, scoped = [], []
        for i in range(WARMUP + ctx.n):
            started = time.perf_counter()
            query(None)
            middle = time.perf_counter()
            rows = query(member_scope_filter(staff))  # looks up the scope as a request does
            done = time.perf_counter()
            from flask import g

            g.pop("_scopes", None)
            if not rows:
                raise BenchError("the staff scope holds no members")
            if i >= WARMUP:
                plain.append((middle - started) * 1000)
                scoped.append((done - middle) * 1000)
            db.session.expunge_all()
    extra = statistics.median(scoped) - statistics.median(plain)
    note = f"unscoped {statistics.median(plain):.2f} ms, scoped {statistics.median(scoped):.2f} ms"
    return Result([extra], note=note)


def _structure_csv(communities: int = 30, grids: int = 500, buildings: int = 5000) -> bytes:
    """One row per building: 30 communities, 500 grids, 300 branches, 1,000 groups."""
    lines = ["社区,网格,楼栋,地址,所在支部,所在党小组"]
    per_grid = buildings // grids
    for b in range(buildings):
        grid = b // per_grid
        community = grid % communities
        branch = (grid // communities) % 10  # 10 branches per community: 300 in all
        group = b * 1000 // buildings  # 1,000 groups, 5 neighbouring buildings share one
        lines.append(
            f"基准{community:02d}社区,第{grid:03d}网格,{b:04d}号楼,基准路{b}号,"
            f"基准{community:02d}社区第{branch}党支部,第{group:04d}党小组"
        )
    return "\n".join(lines).encode("utf-8")


@figure("structure import, 5,000 buildings (preview + commit)", unit="s", target=10)
def structure_import(ctx: Context) -> Result:
    """Into an empty database of its own: parse, preview, then commit."""
    from app import create_app
    from app.extensions import db
    from app.organization import importer

    data = _structure_csv()
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{Path(tmp) / 'import.db'}"
        app = create_app("development", SQLALCHEMY_DATABASE_URI=url, RATELIMIT_ENABLED=False)
        with app.app_context():
            db.create_all()
            started = time.perf_counter()
            rows = importer.parse_rows(importer.read_table("structure.csv", data))
            preview = importer.analyze(rows, apply=False)
            db.session.rollback()
            preview_done = time.perf_counter()
            committed = importer.analyze(rows, apply=True)
            db.session.commit()
            finished = time.perf_counter()
            if committed.rejected:
                raise BenchError(f"{len(committed.rejected)} rows rejected")
            again = importer.analyze(rows, apply=False)
            db.session.rollback()
            db.session.remove()
            db.engine.dispose()
    note = (
        f"preview {preview_done - started:.1f} s ({preview.summary()}), "
        f"commit {finished - preview_done:.1f} s; re-import: {again.summary()}"
    )
    return Result([finished - started], note=note)
