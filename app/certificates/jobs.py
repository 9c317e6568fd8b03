"""Batch printing through a real job queue (huey).

* Queue: ``SqliteHuey`` on ``instance/huey-<database key>.db`` by default (one queue per
  database, ``config.huey_queue``), ``RedisHuey`` when ``REDIS_URL``
  is set. One task, ``print_job(job_id)``.
* Workers: ``flask worker`` runs the huey consumer (2 worker threads, so two jobs can run at
  once). In the embedded default (``PRINT_WORKER=embedded``, the development setting) the
  web process starts one consumer thread of its own on the first enqueue, so batch printing
  works with no extra set-up; production sets ``PRINT_WORKER=external`` and runs
  ``flask worker`` next to gunicorn.
* A job renders its documents' HTML in chunks (database work, in the job's thread) and hands
  the chunks to a pool of 2 processes that run WeasyPrint — both cores, whichever way the job
  was started — then merges the parts into ONE PDF with poppler's ``pdfunite``.
* Progress (done/total) is written after every chunk; a cancelled job stops at the next
  chunk; results are kept for ``PRINT_RESULT_HOURS`` (24 h) and then purged.
"""

from __future__ import annotations

import contextlib
import math
import multiprocessing
import secrets
import shutil
import subprocess
import threading
import time
from concurrent.futures import ProcessPoolExecutor
from datetime import timedelta
from pathlib import Path
from typing import Any

from flask import Flask, current_app
from huey import RedisHuey, SqliteHuey
from sqlalchemy import select, update

from app.audit import record
from app.certificates.engine import html_to_pdf, html_to_pdf_interleaved, in_batch, pool_init
from app.certificates.models import Certificate, PrintJob
from app.extensions import db
from app.members.models import Member
from app.timeutil import utcnow
from config import huey_queue

CHUNK = 20  # documents per WeasyPrint render (fonts are subset once per chunk)
POOL_SIZE = 2  # the machine's cores
RESULT_HOURS = 24
KIND_LABELS = {
    "certificates": "流动党员活动证",
    "feedback": "在职党员社区表现反馈单",
    "contact_cards": "社区联系卡",
    "roster": "党员名册",
}
STATUS_LABELS = {
    "queued": "排队中",
    "running": "正在生成",
    "done": "已完成",
    "failed": "失败",
    "cancelled": "已取消",
    "expired": "已过期（文件已清除）",
}

_embedded_started: set[int] = set()
_embedded_lock = threading.Lock()


def result_dir(app: Flask | None = None) -> Path:
    app = app or current_app
    path = Path(app.config.get("PRINT_RESULT_DIR") or Path(app.instance_path) / "print_jobs")
    path.mkdir(parents=True, exist_ok=True)
    return path


def get_huey(app: Flask | None = None):  # noqa: ANN201
    """The app's huey instance and its print task (created once per app)."""
    app = app or current_app._get_current_object()
    if "huey" not in app.extensions:
        name, path = huey_queue(app.config, app.instance_path)
        if app.config.get("REDIS_URL"):
            huey = RedisHuey(name, url=app.config["REDIS_URL"])
        else:
            huey = SqliteHuey(name, filename=path)

        @huey.task(name="print_job")
        def print_job_task(job_id: int) -> None:
            with app.app_context():
                execute_job(job_id)

        app.extensions["huey"] = (huey, print_job_task)
    return app.extensions["huey"]


def worker_mode(app: Flask) -> str:
    return app.config.get("PRINT_WORKER") or "embedded"


def _start_embedded_consumer(app: Flask) -> None:
    """A consumer thread inside the web process (embedded default)."""
    with _embedded_lock:
        if id(app) in _embedded_started:
            return
        _embedded_started.add(id(app))
    huey, _ = get_huey(app)

    def loop() -> None:
        while True:
            try:
                task = huey.dequeue()
            except Exception:  # noqa: BLE001 - storage hiccup: try again shortly
                task = None
            if task is None:
                time.sleep(0.2)
                continue
            with contextlib.suppress(Exception):  # the task records its own failure
                huey.execute(task)

    threading.Thread(target=loop, name="linli-print-consumer", daemon=True).start()


# ---- enqueue / cancel / purge (called by routes: they commit) ------------------------------


def create_job(
    kind: str, ids: list[int], user: Any, layout: str = "a4", title: str = ""
) -> PrintJob:
    job = PrintJob(
        token=secrets.token_urlsafe(24),
        kind=kind,
        params={"ids": ids, "layout": layout, "title": title},
        status="queued",
        done=0,
        total=len(ids),
        created_by_id=getattr(user, "id", None),
    )
    db.session.add(job)
    db.session.flush()
    record("print_job_create", job, user=user, after={"kind": kind, "total": len(ids)})
    return job


def enqueue(job: PrintJob) -> None:
    """Put a committed job on the queue (and start the embedded consumer if that is the mode)."""
    app = current_app._get_current_object()
    _, task = get_huey(app)
    task(job.id)
    if worker_mode(app) == "embedded":
        _start_embedded_consumer(app)


def cancel(job: PrintJob, user: Any) -> bool:
    if job.status not in {"queued", "running"}:
        return False
    db.session.execute(
        update(PrintJob)
        .where(PrintJob.id == job.id, PrintJob.status.in_(("queued", "running")))
        .values(status="cancelled", finished_at=utcnow())
    )
    record("print_job_cancel", job, user=user)
    return True


def purge_expired(now=None) -> int:  # noqa: ANN001
    """Delete result files past their time; the job row stays (status expired)."""
    now = now or utcnow()
    jobs = db.session.execute(
        select(PrintJob).where(PrintJob.status == "done", PrintJob.expires_at < now)
    ).scalars()
    count = 0
    for job in jobs:
        if job.result_path:
            Path(job.result_path).unlink(missing_ok=True)
        job.status = "expired"
        job.result_path = None
        count += 1
    db.session.flush()
    return count


# ---- the job itself ----------------------------------------------------------------------


def _chunk_html(kind: str, ids: list[int], params: dict, part: str = "all") -> str:
    from app.certificates import documents

    if kind == "certificates":
        certs = db.session.execute(select(Certificate).where(Certificate.id.in_(ids))).scalars()
        by_id = {c.id: c for c in certs}
        members = {
            m.id: m
            for m in db.session.execute(
                select(Member).where(Member.id.in_([c.member_id for c in by_id.values()]))
            ).scalars()
        }
        docs = [
            documents.certificate_context(by_id[i], members[by_id[i].member_id])
            for i in ids
            if i in by_id
        ]
        return documents.certificates_html(docs, params.get("layout") or "a4", part)
    members = db.session.execute(select(Member).where(Member.id.in_(ids))).scalars().all()
    order = {mid: n for n, mid in enumerate(ids)}
    members = sorted(members, key=lambda m: order[m.id])
    if kind == "feedback":
        return documents.feedback_sheets_html(members)
    if kind == "contact_cards":
        return documents.contact_cards_html(members)
    if kind == "roster":
        return documents.roster_html(members, params.get("title") or "党员名册")
    raise ValueError(f"unknown print job kind {kind!r}")


def _status(job_id: int) -> str | None:
    db.session.rollback()  # see other transactions' commits (cancel)
    return db.session.execute(select(PrintJob.status).where(PrintJob.id == job_id)).scalar()


def merge_pdfs(parts: list[Path], target: Path) -> None:
    if len(parts) == 1:
        shutil.copy(str(parts[0]), target)
        return
    subprocess.run(  # noqa: S603 - fixed tool, paths we created
        ["pdfunite", *map(str, parts), str(target)],  # noqa: S607
        check=True,
        capture_output=True,
    )


def _shared_pages(kind: str, params: dict) -> tuple[str, int] | None:
    """Certificates: the notes and ruled pages are the same on every card. They are rendered
    once, and each card's own pages ("unique") are interleaved with them at the merge —
    a third of the rendering work of a batch."""
    from app.certificates import documents

    if kind != "certificates":
        return None
    layout = params.get("layout") or "a4"
    html = documents.certificates_html([{}], layout, part="shared")
    return html, documents.UNIQUE_PAGES[layout]


def execute_job(job_id: int) -> None:
    job = db.session.get(PrintJob, job_id)
    if job is None or job.status != "queued":
        return
    ids = list(job.params.get("ids") or [])
    params = dict(job.params)
    job.status = "running"
    db.session.commit()
    workdir = result_dir() / f"job-{job.id}-parts"
    workdir.mkdir(parents=True, exist_ok=True)
    # The chunk PDFs in order, merged at the end.
    sequence: list[Path] = []
    try:
        size = max(1, min(CHUNK, math.ceil(len(ids) / POOL_SIZE)))
        chunks = [ids[i : i + size] for i in range(0, len(ids), size)]
        shared = _shared_pages(job.kind, params)
        context = multiprocessing.get_context("spawn")
        with ProcessPoolExecutor(
            max_workers=min(POOL_SIZE, max(1, len(chunks))),
            mp_context=context,
            initializer=pool_init,
        ) as pool:
            # At most 2 chunks in flight per process: HTML is built while the pool renders.
            pending: list = []
            next_chunk = 0
            done = 0
            cancelled = False
            while next_chunk < len(chunks) or pending:
                while next_chunk < len(chunks) and len(pending) < POOL_SIZE * 2:
                    chunk = chunks[next_chunk]
                    if shared:
                        html = _chunk_html(job.kind, chunk, params, "unique")
                        future = pool.submit(
                            in_batch,
                            html_to_pdf_interleaved,
                            html,
                            shared[0],
                            shared[1],
                            len(chunk),
                        )
                    else:
                        future = pool.submit(
                            in_batch, html_to_pdf, _chunk_html(job.kind, chunk, params)
                        )
                    pending.append((next_chunk, future))
                    next_chunk += 1
                index, future = pending.pop(0)
                pdf = future.result()
                count = len(chunks[index])
                if pdf is None:
                    # A card ran over its pages (very long text): print this chunk whole.
                    html = _chunk_html(job.kind, chunks[index], params, "all")
                    pdf = pool.submit(in_batch, html_to_pdf, html).result()
                part = workdir / f"{index:05d}.pdf"
                part.write_bytes(pdf)
                sequence.append(part)
                done += count
                if _status(job_id) == "cancelled":
                    cancelled = True
                    for _, f in pending:
                        f.cancel()
                    break
                db.session.execute(update(PrintJob).where(PrintJob.id == job_id).values(done=done))
                db.session.commit()
        if cancelled:
            return
        target = result_dir() / f"{job.token}.pdf"
        merge_pdfs(sequence, target)
        finished = utcnow()
        db.session.execute(
            update(PrintJob)
            .where(PrintJob.id == job_id, PrintJob.status == "running")
            .values(
                status="done",
                done=len(ids),
                result_path=str(target),
                finished_at=finished,
                expires_at=finished + timedelta(hours=RESULT_HOURS),
            )
        )
        db.session.commit()
    except Exception as exc:  # noqa: BLE001 - recorded on the job and shown to the user
        db.session.rollback()
        db.session.execute(
            update(PrintJob)
            .where(PrintJob.id == job_id)
            .values(status="failed", error=str(exc)[:2000], finished_at=utcnow())
        )
        db.session.commit()
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def run_consumer(app: Flask, workers: int = 2) -> None:
    """``flask worker``: the huey consumer in this process (blocking)."""
    from huey.consumer import Consumer

    huey, _ = get_huey(app)
    consumer = Consumer(huey, workers=workers, worker_type="thread")
    consumer.run()
