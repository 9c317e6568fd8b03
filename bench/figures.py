"""The figures measured in-process with Flask's test client (and the seeding time)."""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from flask import Flask
from flask.testing import FlaskClient

from bench.database import Database
from bench.registry import BenchError, Result, figure

CSRF_RE = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"|"X-CSRFToken": "([^"]+)"')
WARMUP = 10
SEED_TARGETS = {"small": 5.0, "reference": 120.0}  # seconds (SPEC §14 for reference)


@dataclass
class Context:
    app: Flask
    size: str
    n: int
    database: Database
    server_url: str = ""  # set in --gunicorn mode
    duration: int = 10
    _sessions: dict[str, FlaskClient] = field(default_factory=dict)

    def client(self) -> FlaskClient:
        return self.app.test_client()

    def logged_in(self, username: str, password: str | None = None) -> FlaskClient:
        """A client logged in through the real login form (cached per user)."""
        if username not in self._sessions:
            from app.demo.accounts import DEMO_PASSWORD

            self._sessions[username] = login(self.client(), username, password or DEMO_PASSWORD)
        return self._sessions[username]


def csrf_token(client: FlaskClient, path: str) -> str:
    html = client.get(path).get_data(as_text=True)
    match = CSRF_RE.search(html)
    if not match:
        raise BenchError(f"no CSRF token on {path}")
    return match.group(1) or match.group(2)


def login(client: FlaskClient, username: str, password: str) -> FlaskClient:
    token = csrf_token(client, "/login")
    response = client.post(
        "/login", data={"username": username, "password": password, "csrf_token": token}
    )
    if response.status_code != 302 or "/account/password" in response.headers.get("Location", ""):
        raise BenchError(f"login as {username} answered {response.status_code}")
    return client


def time_requests(
    client: FlaskClient,
    method: str,
    path: str,
    n: int,
    expect: int = 200,
    before: Callable[[], object] | None = None,
    **kwargs,
) -> list[float]:
    """Milliseconds per request, after a short warm-up; any other status code is an error.
    ``before()`` runs ahead of each request, untimed (e.g. emptying the figure cache)."""
    samples = []
    for i in range(WARMUP + n):
        if before is not None:
            before()
        started = time.perf_counter()
        response = client.open(path, method=method, **kwargs)
        elapsed = (time.perf_counter() - started) * 1000
        if response.status_code != expect:
            raise BenchError(f"{method} {path} answered {response.status_code}")
        if i >= WARMUP:
            samples.append(elapsed)
    return samples


# ---- setup -----------------------------------------------------------------------------------


HX = {"HX-Request": "true"}


@figure("demo seed", unit="s", phase="setup", source="SPEC §14")
def demo_seed(ctx: Context) -> Result | None:
    """Wall time of `flask demo seed` (process start included); only when it just ran."""
    if ctx.database.seed_seconds is None:
        return None
    return Result(
        [ctx.database.seed_seconds],
        suffix=f" --size {ctx.size}",
        target=SEED_TARGETS.get(ctx.size),
        source="SPEC §14" if ctx.size == "reference" else "house",
    )


# ---- in-process ------------------------------------------------------------------------------


@figure("hello (GET /healthz)", target=5)
def hello(ctx: Context) -> list[float]:
    return time_requests(ctx.client(), "GET", "/healthz", ctx.n)


@figure("login page (GET /login)", target=20)
def login_page(ctx: Context) -> list[float]:
    return time_requests(ctx.client(), "GET", "/login", ctx.n)


@figure("authenticated page (GET /home as staff)", target=20, target_p95=40)
def home_as_staff(ctx: Context) -> list[float]:
    return time_requests(ctx.logged_in("staff"), "GET", "/home", ctx.n)


# ---- registration (报到) -------------------------------------------------------------------------


def _registration_form(ctx: Context) -> tuple[FlaskClient, str, int]:
    """A client holding a CSRF token, and a community of the seeded database."""
    from sqlalchemy import select

    from app.extensions import db
    from app.organization.models import Place

    client = ctx.client()
    token = csrf_token(client, "/register/flow_in")
    with ctx.app.app_context():
        community_id = db.session.execute(
            select(Place.id).where(Place.kind == "community").limit(1)
        ).scalar()
    if community_id is None:
        raise BenchError("no community in the database")
    return client, token, community_id


def _random_id_number() -> str:
    import random
    from datetime import date, timedelta

    from app.members.identity import check_char

    birth = date(1950, 1, 1) + timedelta(days=random.randrange(12_000))  # noqa: S311
    first17 = f"620302{birth:%Y%m%d}{random.randrange(1000):03d}"  # noqa: S311
    return first17 + check_char(first17)


@figure("registration submit (POST /register/flow_in)", target=20, source="SPEC §14")
def registration_submit(ctx: Context) -> list[float]:
    """The final step: every field re-checked, duplicate check, insert, audit, commit."""
    import uuid

    from app.registration.drafts import Draft

    client, token, community_id = _registration_form(ctx)
    forms = []
    with ctx.app.test_request_context():
        for i in range(WARMUP + ctx.n):
            values = {
                "name": "张晓明",
                "id_number": _random_id_number(),
                "phone": f"139{i:08d}",
                "member_type": "formal",
                "joined_on": "2008-07-01",
                "origin_org": "民勤县大坝镇党委",
                "origin_org_contact": "王书记 13800001111",
                "origin_place": "甘肃省武威市民勤县",
                "mobility_since": "2025-03-01",
                "community_id": str(community_id),
                "consent": "y",
                "sensitive_consent": "y",
            }
            draft = Draft(kind="flow_in", values=values, key=f"bench-{uuid.uuid4().hex}")
            forms.append(
                {
                    **values,
                    "draft": draft.dump(),
                    "step": "consent",
                    "action": "submit",
                    "csrf_token": token,
                }
            )
    samples = []
    for i, data in enumerate(forms):
        started = time.perf_counter()
        response = client.post("/register/flow_in", data=data)
        elapsed = (time.perf_counter() - started) * 1000
        if response.status_code != 303:
            raise BenchError(f"POST /register/flow_in answered {response.status_code}")
        if i >= WARMUP:
            samples.append(elapsed)
    return samples


@figure("registration field check (POST /register/validate/id_number)", target=5)
def registration_validate(ctx: Context) -> list[float]:
    client, token, _ = _registration_form(ctx)
    return time_requests(
        client,
        "POST",
        "/register/validate/id_number",
        ctx.n,
        data={"id_number": _random_id_number(), "csrf_token": token},
    )


# ---- assignment (待分配 / 调整分配) ---------------------------------------------------------------


def _assignment_setup(ctx: Context) -> tuple[str, list[int], list[int], dict]:
    """1,000 active members of one staff user's scope, two target buildings in that scope, and
    what is needed to put everything back afterwards."""
    from sqlalchemy import select

    from app.auth.models import User
    from app.extensions import db
    from app.members.models import Member, MemberHistory
    from app.organization.models import Place
    from app.organization.scope import member_scope_filter, place_scope_filter

    with ctx.app.app_context():
        for username in ("staff", "admin"):
            user = db.session.execute(select(User).filter_by(username=username)).scalar_one()
            ids = list(
                db.session.execute(
                    select(Member.id)
                    .where(member_scope_filter(user), Member.status == "active")
                    .order_by(Member.id)
                    .limit(1000)
                ).scalars()
            )
            if len(ids) == 1000:
                break
        else:
            raise BenchError("fewer than 1,000 active members in the database")
        buildings = list(
            db.session.execute(
                select(Place.id)
                .where(Place.kind == "building", place_scope_filter(user))
                .order_by(Place.id)
                .limit(2)
            ).scalars()
        )
        if len(buildings) < 2:
            raise BenchError("no two buildings in the user's scope")
        keys = ("community_id", "grid_id", "building_id", "branch_id", "group_id", "version")
        saved = {
            "members": [
                dict(zip(("id", *keys), row, strict=True))
                for row in db.session.execute(
                    select(Member.id, *(getattr(Member, k) for k in keys)).where(Member.id.in_(ids))
                )
            ],
            "history_max": db.session.execute(select(db.func.max(MemberHistory.id))).scalar_one()
            or 0,
            "open_rows": list(
                db.session.execute(
                    select(MemberHistory.id).where(
                        MemberHistory.member_id.in_(ids),
                        MemberHistory.aspect == "placement",
                        MemberHistory.effective_to.is_(None),
                    )
                ).scalars()
            ),
        }
        db.session.remove()
    return username, ids, buildings, saved


def _assignment_restore(ctx: Context, saved: dict) -> None:
    """Put the moved members and their placement history back as they were (audit rows stay:
    the log is append-only)."""
    from sqlalchemy import bindparam, delete, update

    from app.extensions import db
    from app.members.models import Member, MemberHistory

    with ctx.app.app_context():
        table = Member.__table__
        db.session.execute(
            update(table)
            .where(table.c.id == bindparam("b_id"))
            .values({k: bindparam(f"b_{k}") for k in saved["members"][0] if k != "id"}),
            [{f"b_{k}": v for k, v in row.items()} for row in saved["members"]],
        )
        db.session.execute(delete(MemberHistory).where(MemberHistory.id > saved["history_max"]))
        db.session.execute(
            update(MemberHistory)
            .where(MemberHistory.id.in_(saved["open_rows"]))
            .values(effective_to=None)
        )
        db.session.commit()
        db.session.remove()


@figure("assignment bulk move, 1,000 members (preview + commit)", target=2000)
def assignment_bulk_move(ctx: Context) -> Result:
    """POST /assignment/bulk/preview then /assignment/bulk/apply for 1,000 checked members,
    alternating between two buildings (each apply really moves all 1,000, in one transaction)."""
    username, ids, buildings, saved = _assignment_setup(ctx)
    client = ctx.logged_in(username)
    token = csrf_token(client, "/assignment/bulk")
    key_re = re.compile(r'name="preview_key" value="([^"]+)"')
    samples = []
    try:
        for i in range(1 + min(ctx.n, 5)):
            form = {
                "csrf_token": token,
                "member_id": [str(x) for x in ids],
                "building_id": str(buildings[i % 2]),
                "org_mode": "auto",
            }
            started = time.perf_counter()
            preview = client.post("/assignment/bulk/preview", data=form)
            match = key_re.search(preview.get_data(as_text=True))
            if preview.status_code != 200 or not match:
                raise BenchError(f"preview answered {preview.status_code}")
            done = client.post(
                "/assignment/bulk/apply", data={**form, "preview_key": match.group(1)}
            )
            elapsed = (time.perf_counter() - started) * 1000
            if done.status_code != 200 or "调整完成" not in done.get_data(as_text=True):
                raise BenchError(f"apply answered {done.status_code}")
            if i:  # the first round warms up
                samples.append(elapsed)
    finally:
        _assignment_restore(ctx, saved)
    return Result(samples, note=f"as {username}")


@figure("unassigned work list (GET /assignment/)", target=20)
def assignment_unassigned(ctx: Context) -> list[float]:
    return time_requests(ctx.logged_in("staff"), "GET", "/assignment/?kind=group", ctx.n)


@figure("unassigned nav badge (GET /assignment/counts?nav=1)", target=10)
def assignment_badge(ctx: Context) -> list[float]:
    return time_requests(ctx.logged_in("staff"), "GET", "/assignment/counts?nav=1", ctx.n)


@figure(
    "reminders panel on the 工作台 (GET /reminders/, staff of one community, counts kept until a"
    " change)",
    target=20,
)
def reminders_staff(ctx: Context) -> list[float]:
    return time_requests(ctx.logged_in("staff"), "GET", "/reminders/", ctx.n, headers=HX)


@figure(
    "reminders panel on the 工作台 (GET /reminders/, admin: whole street, counts kept until a"
    " change)",
    target=50,
)
def reminders_admin(ctx: Context) -> list[float]:
    return time_requests(ctx.logged_in("admin"), "GET", "/reminders/", ctx.n, headers=HX)


def _reminders_computed(ctx: Context, username: str) -> list[float]:
    """The panel with its counts computed (what the first visit after a change pays)."""
    return time_requests(
        ctx.logged_in(username),
        "GET",
        "/reminders/",
        min(ctx.n, 10),
        headers=HX,
        before=lambda: ctx.app.extensions.pop("linli_cache", None),
    )


@figure("reminders panel computed, no cache (staff of one community)", target=20)
def reminders_staff_computed(ctx: Context) -> list[float]:
    return _reminders_computed(ctx, "staff")


@figure("reminders panel computed, no cache (admin, whole street)", target=50)
def reminders_admin_computed(ctx: Context) -> list[float]:
    return _reminders_computed(ctx, "admin")


# ---- certificates and printed documents --------------------------------------------------------

_batch_memory: dict[str, float] = {}


def _open_certificates(limit: int) -> list[int]:
    from sqlalchemy import select

    from app.certificates.models import Certificate
    from app.extensions import db

    return list(
        db.session.execute(
            select(Certificate.id)
            .where(Certificate.status == "issued", Certificate.direction == "out")
            .order_by(Certificate.id)
            .limit(limit)
        ).scalars()
    )


@figure(
    "one certificate PDF, warm ÷ WeasyPrint alone on the same HTML",
    unit="×",
    target=1.2,
    source="SPEC §14",
)
def certificate_pdf_ratio(ctx: Context) -> Result:
    """The whole document path (DB rows, context, QR, Jinja, engine) against bare WeasyPrint
    rendering the finished HTML with the same stylesheet and fonts, interleaved in one run."""
    import statistics

    from weasyprint import HTML

    from app.certificates import documents
    from app.certificates.engine import BASE_URL, get_engine
    from app.certificates.models import Certificate
    from app.extensions import db

    with ctx.app.app_context():
        ids = _open_certificates(1)
        if not ids:
            raise BenchError("no open certificate in the benchmark database")
        engine = get_engine()
        html = documents.certificates_html(
            [documents.certificate_context(db.session.get(Certificate, ids[0]))], "a4"
        )
        full, alone = [], []
        rounds = max(5, min(ctx.n, 20))
        for i in range(rounds + 3):
            db.session.expire_all()
            started = time.perf_counter()
            documents.certificate_pdf(db.session.get(Certificate, ids[0]), layout="a4")
            a = (time.perf_counter() - started) * 1000
            started = time.perf_counter()
            HTML(string=html, base_url=BASE_URL, url_fetcher=engine.fetcher).write_pdf(
                stylesheets=[engine.stylesheet], font_config=engine.font_config
            )
            b = (time.perf_counter() - started) * 1000
            if i >= 3:
                full.append(a)
                alone.append(b)
    ratio = statistics.median(full) / statistics.median(alone)
    return Result(
        [ratio],
        note=f"engine {statistics.median(full):.0f} ms, WeasyPrint alone {statistics.median(alone):.0f} ms (medians of {len(full)})",
    )


def _rss_mb(pid: int) -> float:
    try:
        with open(f"/proc/{pid}/status", encoding="ascii") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        return 0.0
    return 0.0


def _pss_mb(pid: int) -> float:
    """Proportional set size: shared pages counted once across the processes sharing them."""
    try:
        with open(f"/proc/{pid}/smaps_rollup", encoding="ascii") as f:
            for line in f:
                if line.startswith("Pss:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        return 0.0
    return 0.0


def _tree(pid: int) -> list[int]:
    """``pid`` and all its descendants."""
    found, todo = [], [pid]
    while todo:
        current = todo.pop()
        found.append(current)
        todo.extend(_children(current))
    return found


def _children(pid: int) -> list[int]:
    import os

    kids = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat", encoding="ascii", errors="replace") as f:
                    if int(f.read().rsplit(")", 1)[1].split()[1]) == pid:
                        kids.append(int(entry))
            except (OSError, IndexError, ValueError):
                continue
    return kids


@figure("500 certificates as one batch (A4, one PDF)", unit="s", target=60, source="SPEC §14")
def certificate_batch_500(ctx: Context) -> Result:
    """A real print job (2 render processes + merge) run by a fresh process, as ``flask worker``
    runs it in production; a sampler records that process's and its render processes' memory
    every 0.2 s."""
    import itertools
    import resource
    import subprocess
    import sys
    import threading
    from pathlib import Path

    from app.certificates import jobs
    from app.certificates.models import PrintJob
    from app.extensions import db
    from bench.database import ROOT, subprocess_env

    with ctx.app.app_context():
        ids = _open_certificates(500)
        if not ids:
            raise BenchError("no open certificate in the benchmark database")
        ids = list(itertools.islice(itertools.cycle(ids), 500))
        job = jobs.create_job("certificates", ids, None, layout="a4")
        db.session.commit()
        job_id = job.id
    peak = {"workers": 0.0, "parent": 0.0, "tree_rss": 0.0, "tree_pss": 0.0}
    stop = threading.Event()
    script = (
        "from app import create_app\n"
        "from app.certificates import jobs\n"
        "app = create_app()\n"
        "with app.app_context():\n"
        f"    jobs.execute_job({job_id})\n"
    )
    kids_before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    worker = subprocess.Popen(  # noqa: S603 - this interpreter, a fixed script
        [sys.executable, "-c", script],
        cwd=ROOT,
        env=subprocess_env(ctx.app.config["SQLALCHEMY_DATABASE_URI"]),
    )

    def sample() -> None:
        while not stop.is_set():
            tree = _tree(worker.pid)
            peak["workers"] = max(peak["workers"], sum(_rss_mb(p) for p in tree if p != worker.pid))
            peak["parent"] = max(peak["parent"], _rss_mb(worker.pid))
            peak["tree_rss"] = max(peak["tree_rss"], sum(_rss_mb(p) for p in tree))
            peak["tree_pss"] = max(peak["tree_pss"], sum(_pss_mb(p) for p in tree))
            stop.wait(0.2)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    worker.wait()
    elapsed = time.perf_counter() - started
    stop.set()
    sampler.join()
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = kids.ru_utime - kids_before.ru_utime + kids.ru_stime - kids_before.ru_stime
    with ctx.app.app_context():
        job = db.session.get(PrintJob, job_id)
        if job.status != "done":
            raise BenchError(f"job ended {job.status}: {job.error}")
        size = Path(job.result_path).stat().st_size / 1e6
        Path(job.result_path).unlink(missing_ok=True)
        db.session.delete(job)
        db.session.commit()
    _batch_memory.update(peak)
    return Result(
        [elapsed],
        note=(
            f"{size:.1f} MB PDF; CPU {cpu:.0f} s in all (≈ {cpu / 2:.0f} s of wall time on 2 idle"
            f" cores, including the job process's start); render processes peak RSS"
            f" {peak['workers']:.0f} MB together, job process {peak['parent']:.0f} MB"
        ),
    )


@figure(
    "500-certificate batch: peak memory of the whole process tree (RSS)",
    unit="MB",
    target=600,
    source="SPEC §14",
)
def certificate_batch_memory(ctx: Context) -> Result | None:
    """The job's process (a fresh process, as ``flask worker`` is in production) plus its
    render processes, sampled together."""
    if "tree_rss" not in _batch_memory:
        return None
    return Result(
        [_batch_memory["tree_rss"]],
        note=(
            f"PSS {_batch_memory['tree_pss']:.0f} MB (shared pages once); render processes"
            f" {_batch_memory['workers']:.0f} MB, job process {_batch_memory['parent']:.0f} MB"
        ),
    )
