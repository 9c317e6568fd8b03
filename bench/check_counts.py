"""Check the headline numbers on the demo data: for every community, the numbers 工作台, 统计分析,
名册统计 and the org trees show (read from the pages themselves, as its staff and as the admin)
agree, and 失联 members = open lost-contact cases.

Usage (from the repository root)::

    .venv/bin/python -m bench.check_counts                  # reference size, seed 2026
    .venv/bin/python -m bench.check_counts --size small

The database is the benchmark's (``bench/database.py``: built once with ``flask db upgrade`` and
``flask demo seed``, reused while the generator and the migrations are unchanged). Prints one
row per community and exits 1 when any row disagrees.
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

from bench.database import DEFAULT_DIR, prepare
from bench.figures import login

FIGURE = re.compile(r'data-figure="(\w+)">(\d+)<')
HX = {"HX-Request": "true"}
KEYS = ("on_roster", "managed", "lost_contact", "away")


def figures(client, url: str, headers: dict | None = None) -> dict[str, int]:  # noqa: ANN001
    response = client.get(url, headers=headers or {})
    if response.status_code != 200:
        raise SystemExit(f"{url} answered {response.status_code}")
    found: dict[str, int] = {}
    for key, value in FIGURE.findall(response.get_data(as_text=True)):
        found.setdefault(key, int(value))
    return found


def open_cases_shown(client) -> int:  # noqa: ANN001
    html = client.get("/followup/lost").get_data(as_text=True)
    row = re.search(
        r'class="total-row">.*?<td data-label="人数" class="mono">(\d+)</td>', html, re.S
    )
    return int(row.group(1)) if row else -1


def fmt(f: dict[str, int]) -> str:
    return "/".join(str(f.get(k, "—")) for k in KEYS)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", choices=["small", "reference"], default="reference")
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--dir", type=Path, default=DEFAULT_DIR)
    args = parser.parse_args(argv)
    database = prepare(args.size, args.seed, args.dir, log=lambda m: print(m, file=sys.stderr))

    from sqlalchemy import func, select

    from app import create_app
    from app.auth.models import User
    from app.demo.accounts import DEMO_PASSWORD
    from app.extensions import db
    from app.followup.models import LostContactCase
    from app.members.models import Member
    from app.organization.models import Org, Place, UserScope

    app = create_app("development", SQLALCHEMY_DATABASE_URI=database.url, RATELIMIT_ENABLED=False)
    with app.app_context():
        communities = db.session.execute(
            select(Place.id, Place.name, Org.id)
            .join(Org, Org.place_id == Place.id)
            .where(Place.kind == "community", Org.kind == "community_committee")
            .order_by(Place.position, Place.id)
        ).all()
        staff_of = {}
        for committee, username in db.session.execute(
            select(UserScope.org_id, User.username)
            .join(User, User.id == UserScope.user_id)
            .where(User.role == "staff", User.active.is_(True))
            .order_by(User.id)
        ):
            staff_of.setdefault(committee, username)
        lost = dict(
            db.session.execute(
                select(Member.community_id, func.count())
                .where(Member.status == "lost_contact")
                .group_by(Member.community_id)
            ).all()
        )
        cases = dict(
            db.session.execute(
                select(Member.community_id, func.count())
                .join(LostContactCase, LostContactCase.member_id == Member.id)
                .where(LostContactCase.stage != "closed")
                .group_by(Member.community_id)
            ).all()
        )
        db.session.remove()

    print(f"# {database.engine}; size {args.size}, seed {args.seed}; 数字为 在册/在管/失联/流出")
    header = (
        "社区",
        "工作台",
        "统计分析",
        "名册统计",
        "我的网格",
        "统计(社区)",
        "组织树(地点)",
        "组织树(社区党委)",
        "失联党员",
        "失联登记",
        "一致",
    )
    print(" | ".join(header))
    admin = login(app.test_client(), "admin", DEMO_PASSWORD)
    bad = 0
    for place_id, name, committee in communities:
        username = staff_of.get(committee)
        row: dict[str, dict[str, int]] = {}
        shown_cases = -1
        if username:
            staff = login(app.test_client(), username, DEMO_PASSWORD)
            row["工作台"] = figures(staff, "/home")
            row["统计分析"] = figures(staff, "/stats/")
            row["名册统计"] = figures(staff, "/members/counts")
            row["我的网格"] = figures(staff, "/places")
            shown_cases = open_cases_shown(staff)
        row["统计(社区)"] = figures(admin, f"/stats/?focus=community-{place_id}")
        row["组织树(地点)"] = figures(admin, f"/admin/org/place/{place_id}/counts", HX)
        row["组织树(社区党委)"] = figures(admin, f"/admin/org/org/{committee}/counts", HX)
        scope_pages = [row[k] for k in ("工作台", "统计分析", "名册统计", "我的网格") if k in row]
        node_pages = [row[k] for k in ("统计(社区)", "组织树(地点)", "组织树(社区党委)")]
        n_lost, n_cases = lost.get(place_id, 0), cases.get(place_id, 0)
        agree = (
            all(p == scope_pages[0] for p in scope_pages)
            and all(p == node_pages[0] for p in node_pages)
            and n_lost == n_cases == node_pages[0]["lost_contact"]
            and (shown_cases in (-1, scope_pages[0]["lost_contact"]) if scope_pages else True)
        )
        bad += not agree
        cells = [name] + [fmt(row[k]) if k in row else "—" for k in header[1:8]]
        cells += [str(n_lost), str(n_cases), "是" if agree else "否"]
        print(" | ".join(cells))
    street = figures(admin, "/home")
    print(f"全街道（admin 工作台）：{fmt(street)}")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
