"""Demo data: one street's org and places trees, staff and grid workers, members with history,
and open mobile-member certificates.

Deterministic for a given seed and day (``random.Random``; only ciphertexts, certificate serials
and password hashes differ between runs). Rows are written with bulk inserts and explicit
primary keys, so the reference size of SPEC §14 (100,000 members) takes well under two minutes.
"""

from __future__ import annotations

import random
import time
from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import func, select, text

from app.auth.models import User
from app.certificates.models import Certificate
from app.demo.accounts import DEMO_ACCOUNTS, AccountBuilder, create_demo_accounts
from app.demo.care import build_care
from app.demo.certificates import CertificateBuilder
from app.demo.common import Echo, bulk_insert
from app.demo.dual import build_dual
from app.demo.followup import build_followup
from app.demo.history import HistoryBuilder
from app.demo.members import MemberBuilder
from app.demo.people import People
from app.demo.places import Community, Grid, TreeBuilder
from app.demo.takeover import build_takeover
from app.extensions import db
from app.followup import dues
from app.members.models import Member, MemberHistory
from app.organization.models import GridWorker, Org, Place, UserScope
from app.timeutil import local_today


@dataclass(frozen=True)
class Size:
    communities: int
    grids: int
    buildings: int
    branches: int  # including the joint branches
    joint_branches: int
    groups: int
    members: int
    certificates: int
    staff_per_community: int
    streets: int = 1  # street committees the communities are spread over


SIZES = {
    "small": Size(3, 12, 60, 9, 1, 30, 600, 60, 1),
    # SPEC §14 reference size.
    "reference": Size(30, 500, 5_000, 300, 10, 1_000, 100_000, 10_000, 2),
    # A district's worth of members (issue 16): ten times the reference street, spread over 50
    # street committees; run by hand with the bench (``python -m bench --size district``),
    # never in CI.
    "district": Size(300, 5_000, 50_000, 3_000, 100, 10_000, 1_000_000, 100_000, 2, 50),
}


class Generator(
    People, TreeBuilder, AccountBuilder, MemberBuilder, CertificateBuilder, HistoryBuilder
):
    """The street being generated: its rows, and the parts that build them (one mixin per part,
    sharing this state)."""

    def __init__(self, size: Size, seed: int, echo: Echo, verbose: bool):
        self.size = size
        self.rng = random.Random(seed)
        self.echo = echo if verbose else (lambda _msg: None)
        self.today = local_today()
        self.ids: dict[str, int] = {}
        self.org_rows: list[dict] = []
        self.community_place_rows: list[dict] = []
        self.place_rows: list[dict] = []  # grids and buildings
        self.communities: list[Community] = []
        self.grids: dict[int, Grid] = {}
        self.org_names: dict[int, tuple[str, str | None, str | None]] = {}
        self.user_rows: list[dict] = []
        self.member_rows: list[dict] = []
        self.history_rows: list[dict] = []
        self.certificate_rows: list[dict] = []
        People.__init__(self)
        # The dues amounts come from the real rules and the configured brackets.
        self.dues_rules = dues.settings()
        self.started = time.perf_counter()

    # ---- ids and progress ------------------------------------------------------------------

    def next_id(self, table: str) -> int:
        value = self.ids[table]
        self.ids[table] = value + 1
        return value

    def progress(self, message: str) -> None:
        self.echo(f"  [{time.perf_counter() - self.started:6.1f} 秒] {message}")

    def write(self, demo: dict[str, User]) -> None:
        session = db.session
        if session.get_bind().dialect.name == "sqlite":
            # Random-order index inserts (pinyin, ID hash, history) thrash SQLite's default
            # 2 MB page cache; a larger cache for this connection keeps them in memory.
            session.execute(text("PRAGMA cache_size = -400000"))
        bulk_insert(Place, self.community_place_rows)
        bulk_insert(Org, self.org_rows)
        bulk_insert(Place, self.place_rows)
        self.progress(
            f"组织树 {len(self.org_rows)} 个节点，地点树 {len(self.place_rows) + len(self.communities)} 个节点"
        )
        bulk_insert(User, self.user_rows)
        scopes = [
            {"user_id": uid, "org_id": c.org_id, "place_id": None}
            for c in self.communities
            for uid in c.staff_ids
        ]
        bulk_insert(UserScope, scopes)
        workers = [{"grid_id": g.id, "user_id": g.worker_id} for g in self.grids.values()]
        bulk_insert(GridWorker, workers)
        bulk_insert(Member, self.member_rows)
        self.progress(f"党员 {len(self.member_rows)} 名已写入")
        bulk_insert(Certificate, self.certificate_rows)
        bulk_insert(MemberHistory, self.history_rows)
        self.progress(
            f"历史记录 {len(self.history_rows)} 条、活动证 {len(self.certificate_rows)} 张已写入"
        )
        # The demo member's login is linked to a member of the demo grid.
        member_row = self.demo_member_row()
        member_user = demo["member"]
        member_user.member_id = member_row["id"]
        member_user.display_name = member_row["name"]
        member_user.phone = member_row["phone"]
        session.flush()
        sync_sequences([Org, Place, User, Member])

    def demo_member_row(self) -> dict:
        grid_id = self.communities[0].grid_ids[0]
        candidates = [
            r
            for r in self.member_rows
            if r["grid_id"] == grid_id
            and r["status"] == "active"
            and r["relation_location"] == "community"
            and r["mobility"] == "none"
            and r["phone"]
        ]
        candidates = candidates or [
            r for r in self.member_rows if r["community_id"] == self.communities[0].place_id
        ]
        return candidates[0]


def next_ids() -> dict[str, int]:
    return {
        table: (db.session.execute(select(func.max(model.id))).scalar() or 0) + 1
        for table, model in {"org": Org, "place": Place, "user": User, "member": Member}.items()
    }


def sync_sequences(models: Iterable) -> None:
    """PostgreSQL: explicit primary keys leave the id sequences behind; move them on."""
    if db.session.get_bind().dialect.name != "postgresql":
        return
    for model in models:
        table = model.__tablename__
        db.session.execute(
            text(
                f"SELECT setval(pg_get_serial_sequence('\"{table}\"', 'id'), "  # noqa: S608
                f'(SELECT COALESCE(MAX(id), 1) FROM "{table}"))'
            )
        )


def generate(size: str, seed: int, echo: Echo) -> dict[str, int]:
    """Fill an empty database with demo data; returns Chinese-labelled counts."""
    spec = SIZES[size]
    gen = Generator(spec, seed, echo, verbose=size != "small")
    demo = create_demo_accounts()
    demo["grid"].phone = gen.mobile()
    db.session.flush()
    gen.ids = next_ids()
    gen.build_trees()
    gen.progress(f"组织树与地点树：{len(gen.communities)} 个社区")
    gen.build_users(demo)
    gen.build_members()
    gen.progress(f"党员 {len(gen.member_rows)} 名已生成")
    gen.build_certificates()
    gen.build_history()
    gen.progress("历史记录与活动证已生成")
    gen.write(demo)
    build_followup(gen, demo["staff"].id)
    build_takeover(gen, demo["staff"].id)
    care_counts = build_care(gen, demo["staff"].id)
    from app.demo.direct import build_direct

    direct_counts = build_direct(gen, demo["staff"].id)
    build_dual(gen, demo["staff"].id)
    branches = sum(1 for r in gen.org_rows if r["kind"] == "branch")
    return {
        "社区": len(gen.communities),
        "网格": len(gen.grids),
        "楼栋": sum(len(c.buildings) for c in gen.communities),
        "党支部": branches,
        "其中联合党支部": sum(1 for r in gen.org_rows if r["is_joint"]),
        "党小组": sum(1 for r in gen.org_rows if r["kind"] == "group"),
        "党员": len(gen.member_rows),
        "流动党员活动证": len(gen.certificate_rows),
        "历史记录": len(gen.history_rows),
        "账号": len(DEMO_ACCOUNTS) + len(gen.user_rows),
        **care_counts,
        **direct_counts,
    }
