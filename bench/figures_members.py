"""Figures for the member registry (issue 5): list, keyset paging, search, stats, roster import,
and the filtered list's throughput under gunicorn.

The roster import runs in a child process on an empty database of its own (its peak memory is
the child's VmHWM): ``python -m bench.figures_members import-child DIR ROWS``.
"""

from __future__ import annotations

import http.cookiejar
import json
import random
import re
import resource
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request
from datetime import date, timedelta
from pathlib import Path

from sqlalchemy import func, select

from bench.database import ROOT
from bench.figures import CSRF_RE, Context, csrf_token, time_requests
from bench.registry import BenchError, Result, figure

HX = {"HX-Request": "true"}
IMPORT_ROWS = 100_000


def _staff_sample(ctx: Context) -> dict:
    """From the demo staff user's scope: the busiest building and its commonest category,
    random members (keyset cursors), a common surname, initials and last-4 digits."""
    cache = ctx.__dict__.setdefault("_members_sample", {})
    if cache:
        return cache
    from app.auth.models import User
    from app.crypto import decrypt
    from app.extensions import db
    from app.members.models import Member
    from app.organization.scope import member_scope_filter

    with ctx.app.test_request_context():
        staff = db.session.execute(select(User).filter_by(username="staff")).scalar_one()
        scope = member_scope_filter(staff)
        row = db.session.execute(
            select(Member.building_id, Member.category, func.count())
            .where(scope, Member.building_id.is_not(None))
            .group_by(Member.building_id, Member.category)
            .order_by(func.count().desc())
            .limit(1)
        ).first()
        if row is None:
            raise BenchError("the staff scope holds no placed members")
        ids = list(db.session.execute(select(Member.id).where(scope)).scalars())
        names = db.session.execute(
            select(Member.name, Member.name_initials, Member.id_number_enc).where(scope).limit(500)
        ).all()
        last4 = [decrypt(n.id_number_enc)[-4:] for n in names][:50]  # the app's keys
        db.session.rollback()
    rng = random.Random(5)
    surnames = [n.name[0] for n in names]
    cache.update(
        building=row[0],
        category=row[1],
        building_count=row[2],
        cursors=rng.sample(ids, min(len(ids), 400)),
        scope_size=len(ids),
        surname=max(set(surnames), key=surnames.count),
        initials=[n.name_initials[:2] for n in names if len(n.name_initials) >= 2][:50],
        last4=last4,
    )
    return cache


def _time_paths(client, paths: list[str], n: int, headers: dict | None = None) -> list[float]:  # noqa: ANN001
    """One request per sample, cycling through ``paths`` (after a short warm-up)."""
    time_requests(client, "GET", paths[0], 0, headers=headers or {})  # warm-up
    samples = []
    for i in range(n):
        path = paths[i % len(paths)]
        started = time.perf_counter()
        response = client.get(path, headers=headers or {})
        samples.append((time.perf_counter() - started) * 1000)
        if response.status_code != 200:
            raise BenchError(f"GET {path} answered {response.status_code}")
    return samples


def _time_searches(client, texts: list[str], n: int) -> list[float]:  # noqa: ANN001
    """The search box as the browser sends it: the text POSTed by htmx (never in the URL)."""
    token = csrf_token(client, "/members/")
    client.post("/members/", data={"q": texts[0], "csrf_token": token}, headers=HX)  # warm-up
    samples = []
    for i in range(n):
        data = {"q": texts[i % len(texts)], "csrf_token": token}
        started = time.perf_counter()
        response = client.post("/members/", data=data, headers=HX)
        samples.append((time.perf_counter() - started) * 1000)
        if response.status_code != 200:
            raise BenchError(f"POST /members/ q={data['q']} answered {response.status_code}")
    return samples


def _rotating(ctx: Context, paths: list[str], headers: dict | None = None) -> list[float]:
    return _time_paths(ctx.logged_in("staff"), paths, ctx.n, headers)


@figure(
    "member list, category + building, one hot URL, full page (staff of one community)",
    target=4,
    target_p95=12,
    source="SPEC §14",
)
def member_list_filtered(ctx: Context) -> Result:
    s = _staff_sample(ctx)
    path = f"/members/?category={s['category']}&building={s['building']}"
    samples = time_requests(ctx.logged_in("staff"), "GET", path, ctx.n)
    return Result(samples, note=f"{s['building_count']} members match")


def _admin_sample(ctx: Context) -> dict:
    """Whole-street facts for the admin figures (cached per run): (category, building) pairs
    drawn with random.Random(1), member ids for cursors, the 10 most common surnames."""
    cache = ctx.__dict__.setdefault("_admin_sample", {})
    if cache:
        return cache
    from sqlalchemy import func

    from app.extensions import db
    from app.members.models import Member

    with ctx.app.app_context():
        pairs = db.session.execute(
            select(Member.category, Member.building_id)
            .where(Member.building_id.is_not(None))
            .group_by(Member.category, Member.building_id)
        ).all()
        ids = list(db.session.execute(select(Member.id)).scalars())
        first = func.substr(Member.name, 1, 1)
        surnames = [
            row[0]
            for row in db.session.execute(
                select(first).group_by(first).order_by(func.count().desc()).limit(10)
            )
        ]
        db.session.remove()
    rng = random.Random(1)
    cache.update(
        pairs=[rng.choice(pairs) for _ in range(max(ctx.n, 50))],
        cursors=rng.sample(ids, min(len(ids), max(ctx.n, 50))),
        surnames=surnames,
    )
    return cache


@figure(
    "member list, category + building, full page (admin, Random(1) pairs)",
    target=4,
    target_p95=12,
    source="SPEC §14",
)
def member_list_filtered_admin(ctx: Context) -> Result:
    """The honest headline: the all-seeing user, a different (category, building) per request,
    the whole page with its filter form."""
    pairs = _admin_sample(ctx)["pairs"]
    paths = [f"/members/?category={c}&building={b}" for c, b in pairs]
    return Result(
        _time_paths(ctx.logged_in("admin"), paths, ctx.n), note=f"{len(set(pairs))} pairs"
    )


@figure("member list, random page by keyset cursor, full page (staff)", target=8)
def member_list_random_page(ctx: Context) -> Result:
    s = _staff_sample(ctx)
    paths = [f"/members/?after={member_id}" for member_id in s["cursors"]]
    return Result(_rotating(ctx, paths), note=f"scope of {s['scope_size']} members")


@figure(
    "member list, random page by keyset cursor, rows fragment (staff)",
    target=8,
    source="SPEC §14",
)
def member_list_random_page_fragment(ctx: Context) -> Result:
    s = _staff_sample(ctx)
    paths = [f"/members/?after={member_id}" for member_id in s["cursors"]]
    return Result(_rotating(ctx, paths, HX), note=f"scope of {s['scope_size']} members")


@figure("member list, random page by keyset cursor, full page (admin, whole street)", target=8)
def member_list_random_page_admin(ctx: Context) -> list[float]:
    paths = [f"/members/?after={member_id}" for member_id in _admin_sample(ctx)["cursors"]]
    return _time_paths(ctx.logged_in("admin"), paths, ctx.n)


@figure("member list, random page by keyset cursor, rows fragment (admin, whole street)", target=8)
def member_list_random_page_admin_fragment(ctx: Context) -> list[float]:
    paths = [f"/members/?after={member_id}" for member_id in _admin_sample(ctx)["cursors"]]
    return _time_paths(ctx.logged_in("admin"), paths, ctx.n, HX)


@figure(
    "member search, 10 most common surnames (admin, whole street, results fragment)",
    target=10,
    target_p95=25,
    source="SPEC §14",
)
def member_search_surnames_admin(ctx: Context) -> Result:
    surnames = _admin_sample(ctx)["surnames"]
    samples = _time_searches(ctx.logged_in("admin"), surnames, ctx.n)
    return Result(samples, note="".join(surnames))


@figure("member search, most common surname in scope (staff, results fragment)", target=10)
def member_search_name(ctx: Context) -> Result:
    s = _staff_sample(ctx)
    samples = _time_searches(ctx.logged_in("staff"), [s["surname"]], ctx.n)
    return Result(samples, note=f"q={s['surname']}")


@figure("member search, pinyin initials (staff, results fragment)", target=10, source="SPEC §14")
def member_search_initials(ctx: Context) -> list[float]:
    s = _staff_sample(ctx)
    return _time_searches(ctx.logged_in("staff"), s["initials"], ctx.n)


@figure("member search, last 4 digits (staff, results fragment)", target=10, source="SPEC §14")
def member_search_last4(ctx: Context) -> list[float]:
    s = _staff_sample(ctx)
    return _time_searches(ctx.logged_in("staff"), s["last4"], ctx.n)


@figure("flask stats (whole street, in-process)", target=100, source="SPEC §14")
def flask_stats(ctx: Context) -> list[float]:
    runner = ctx.app.test_cli_runner()
    samples = []
    for i in range(min(ctx.n, 50) + 3):
        started = time.perf_counter()
        result = runner.invoke(args=["stats", "--json"])
        elapsed = (time.perf_counter() - started) * 1000
        if result.exit_code != 0:
            raise BenchError(f"flask stats failed: {result.output[:200]}")
        if i >= 3:
            samples.append(elapsed)
    return samples


@figure("flask stats --as-of last year (whole street, in-process)", target=100)
def flask_stats_as_of(ctx: Context) -> list[float]:
    runner = ctx.app.test_cli_runner()
    month = f"{date.today().year - 1}-06"
    samples = []
    for i in range(min(ctx.n, 20) + 2):
        started = time.perf_counter()
        result = runner.invoke(args=["stats", "--json", "--as-of", month])
        elapsed = (time.perf_counter() - started) * 1000
        if result.exit_code != 0:
            raise BenchError(f"flask stats --as-of failed: {result.output[:200]}")
        if i >= 2:
            samples.append(elapsed)
    return samples


# ---- roster import at the reference size ----------------------------------------------------


def roster_csv(rows: int, communities: int = 30, grids: int = 500, buildings: int = 5000) -> bytes:
    """A roster over the bench structure (see ``figures_organization._structure_csv``)."""
    from app.members.identity import check_char

    header = (
        "姓名,性别,民族,身份证号,手机号,入党日期,转正日期,党员类型(正式/预备),就业状态,工作单位,"
        "单位党组织,组织关系所在,流动情况(无/流入/流出),流动去向或来源,流动开始日期,社区,网格,"
        "楼栋,房号,所在支部,所在党小组,备注"
    )
    kinds = [
        ("离退休", "本社区", "无", "", ""),
        ("在职", "工作单位", "无", "", ""),
        ("其他/居民", "本社区", "无", "", ""),
        ("下岗", "原单位", "无", "", ""),
        ("在职", "本社区", "流出", "深圳", "2024-03-01"),
        ("其他/居民", "外省某党支部", "流入", "外省", "2023.5.1"),
    ]
    surnames = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗"
    given = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华"
    per_grid = buildings // grids
    lines = [header]
    base = date(1945, 1, 1)
    for n in range(rows):
        birth = base + timedelta(days=n % 16000)
        seq = n // 16000
        sex = n % 2
        order = seq * 2 + (1 if sex else 0)
        first17 = f"620302{birth:%Y%m%d}{order:03d}"
        number = first17 + check_char(first17)
        b = n % buildings
        grid = b // per_grid
        community = grid % communities
        branch = (grid // communities) % 10
        group = b * 1000 // buildings
        employment, relation, mobility, place, since = kinds[n % len(kinds)]
        name = surnames[n % 20] + given[(n // 20) % len(given)] + given[(n // 500) % len(given)]
        joined = date(birth.year + 25, birth.month, min(birth.day, 28))
        lines.append(
            f"{name},{'男' if sex else '女'},汉族,{number},139{n:08d},{joined.isoformat()},,正式,"
            f"{employment},,,{relation},{mobility},{place},{since},基准{community:02d}社区,"
            f"第{grid:03d}网格,{b:04d}号楼,{n % 600 + 101},"
            f"基准{community:02d}社区第{branch}党支部,第{group:04d}党小组,"
        )
    return ("\n".join(lines) + "\n").encode("utf-8")


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def import_child(directory: str, rows: int) -> dict:
    """In a fresh process: empty database, the 5,000-building structure, then the roster's
    preview and commit, and a re-import preview. Prints the figures as JSON."""
    from app import create_app
    from app.extensions import db
    from app.members import importer
    from app.organization import importer as structure
    from bench.figures_organization import _structure_csv

    url = f"sqlite:///{Path(directory) / 'roster.db'}"
    app = create_app("development", SQLALCHEMY_DATABASE_URI=url, RATELIMIT_ENABLED=False)
    with app.app_context():
        db.create_all()
        structure.analyze(
            structure.parse_rows(structure.read_table("s.csv", _structure_csv())), apply=True
        )
        db.session.commit()
        data = roster_csv(rows)
        cpu0 = _cpu()
        started = time.perf_counter()
        parsed, columns = importer.read_roster("roster.csv", data)
        preview = importer.analyze(parsed, columns)
        db.session.rollback()
        preview_done = time.perf_counter()
        cpu1 = _cpu()
        committed = importer.analyze(parsed, columns, apply=True)
        db.session.commit()
        finished = time.perf_counter()
        cpu2 = _cpu()
        again = importer.analyze(parsed, columns)
        db.session.rollback()
        reimport_done = time.perf_counter()
    status = Path("/proc/self/status").read_text()
    peak_kb = int(re.search(r"VmHWM:\s+(\d+) kB", status).group(1))
    return {
        "bytes": len(data),
        "preview_s": preview_done - started,
        "commit_s": finished - preview_done,
        "reimport_s": reimport_done - finished,
        "preview_cpu": cpu1 - cpu0,
        "commit_cpu": cpu2 - cpu1,
        "preview": preview.summary(),
        "committed": committed.counts,
        "again": again.summary(),
        "peak_mb": peak_kb / 1024,
    }


@figure("roster import, 100,000 rows (preview + commit)", unit="s", target=60, source="SPEC §14")
def roster_import(ctx: Context) -> Result:
    rows = IMPORT_ROWS if ctx.size in ("reference", "district") else 5000
    with tempfile.TemporaryDirectory() as tmp:
        completed = subprocess.run(
            [sys.executable, "-m", "bench.figures_members", "import-child", tmp, str(rows)],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=False,
            timeout=900,
        )
    if completed.returncode != 0:
        raise BenchError(f"import child failed: {completed.stderr.strip()[-300:]}")
    out = json.loads(completed.stdout.strip().splitlines()[-1])
    if out["committed"]["rejected"]:
        raise BenchError(f"{out['committed']['rejected']} rows rejected")
    note = (
        f"{rows} rows ({out['bytes'] / 1e6:.1f} MB CSV): preview {out['preview_s']:.1f} s, "
        f"commit {out['commit_s']:.1f} s (CPU {out['preview_cpu'] + out['commit_cpu']:.1f} s); "
        f"peak memory {out['peak_mb']:.0f} MB (target < 1024); "
        f"re-import {out['reimport_s']:.1f} s: {out['again']}"
    )
    suffix = "" if rows == IMPORT_ROWS else f" [{rows} rows]"
    return Result([out["preview_s"] + out["commit_s"]], note=note, suffix=suffix)


# ---- throughput -------------------------------------------------------------------------------


def _session_cookie(base: str, username: str) -> str:
    """Log in to the running server through its form; returns the Cookie header value."""
    from app.demo.accounts import DEMO_PASSWORD

    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    html = opener.open(base + "/login", timeout=10).read().decode()  # noqa: S310 - loopback
    match = CSRF_RE.search(html)
    if not match:
        raise BenchError("no CSRF token on /login")
    form = urllib.parse.urlencode(
        {
            "username": username,
            "password": DEMO_PASSWORD,
            "csrf_token": match.group(1) or match.group(2),
        }
    ).encode()
    opener.open(base + "/login", data=form, timeout=10)  # noqa: S310 - loopback
    cookies = "; ".join(f"{c.name}={c.value}" for c in jar)
    if "session" not in cookies:
        raise BenchError("login to gunicorn failed")
    return cookies


def _wrk(ctx: Context, username: str, path: str, expect_redirect: bool = False) -> Result:
    """Requests per second of ``path`` as ``username`` under wrk (gunicorn -w 2)."""
    from bench.serve import CONNECTIONS, parse_wrk

    if not shutil.which("wrk"):
        raise BenchError("wrk is not installed (apt-get install wrk)")
    cookie = _session_cookie(ctx.server_url, username)
    check = urllib.request.Request(  # noqa: S310 - loopback
        ctx.server_url + path, headers={"Cookie": cookie}
    )
    with urllib.request.urlopen(check, timeout=10) as response:  # noqa: S310 - loopback
        if response.status != 200 or "/login" in response.url:
            raise BenchError(f"{path} answered {response.status} at {response.url}")
        if expect_redirect and response.url == ctx.server_url + path:
            raise BenchError(f"{path} did not redirect")
    completed = subprocess.run(
        [
            "wrk",
            "-t1",
            f"-c{CONNECTIONS}",
            f"-d{ctx.duration}s",
            "--latency",
            "-H",
            f"Cookie: {cookie}",
            ctx.server_url + path,
        ],
        capture_output=True,
        text=True,
        check=False,
        timeout=ctx.duration + 60,
    )
    if completed.returncode != 0:
        raise BenchError(f"wrk failed: {completed.stderr.strip()[:200]}")
    rate, _errors, note = parse_wrk(completed.stdout)
    return Result([rate], note=f"{note}; {path}")


@figure(
    "throughput, member list category + building (gunicorn -w 2, wrk -c8, staff)",
    unit="req/s",
    target=400,
    higher_is_better=True,
    phase="gunicorn",
    source="SPEC §14",
)
def throughput_member_list(ctx: Context) -> Result:
    s = _staff_sample(ctx)
    return _wrk(ctx, "staff", f"/members/?category={s['category']}&building={s['building']}")


@figure(
    "throughput, member list category + building, full page (gunicorn -w 2, wrk -c8, admin,"
    " first Random(1) pair)",
    unit="req/s",
    target=600,
    higher_is_better=True,
    phase="gunicorn",
)
def throughput_member_list_admin(ctx: Context) -> Result:
    category, building = _admin_sample(ctx)["pairs"][0]
    return _wrk(ctx, "admin", f"/members/?category={category}&building={building}")


@figure(
    "throughput, trivial signed-in route (GET / → 302, gunicorn -w 2, wrk -c8, admin)",
    unit="req/s",
    target=3000,
    higher_is_better=True,
    phase="gunicorn",
)
def throughput_signed_in(ctx: Context) -> Result:
    return _wrk(ctx, "admin", "/", expect_redirect=True)


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "import-child":
        print(json.dumps(import_child(sys.argv[2], int(sys.argv[3])), ensure_ascii=False))
    else:
        sys.exit("usage: python -m bench.figures_members import-child DIR ROWS")
