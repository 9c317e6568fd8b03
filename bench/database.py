"""The benchmark's own SQLite database: created, migrated and seeded once, then reused.

The file lives in ``instance/bench/`` (ignored by git) next to a marker that records what it
was built from: size, seed, a digest of the demo generator and of the migrations. When the
marker no longer matches (the generator or the schema changed), the database is rebuilt.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DIR = ROOT / "instance" / "bench"


@dataclass
class Database:
    path: Path
    seed_seconds: float | None  # None when an existing database was reused
    seed_output: str = ""

    @property
    def url(self) -> str:
        return f"sqlite:///{self.path}"


def _digest(paths: list[Path]) -> str:
    h = hashlib.sha256()
    for path in sorted(paths):
        h.update(str(path.relative_to(ROOT)).encode())
        h.update(path.read_bytes())
    return h.hexdigest()[:16]


def fingerprint(size: str, seed: int) -> dict:
    return {
        "size": size,
        "seed": seed,
        "generator": _digest(list((ROOT / "app" / "demo").glob("*.py"))),
        "schema": _digest(list((ROOT / "migrations" / "versions").glob("*.py"))),
    }


def subprocess_env(url: str) -> dict[str, str]:
    env = dict(os.environ)
    env.update(DATABASE_URL=url, LINLI_CONFIG="development", PYTHONPATH=str(ROOT))
    return env


def flask(args: list[str], url: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "flask", "--app", "wsgi", *args],
        cwd=ROOT,
        env=subprocess_env(url),
        capture_output=True,
        text=True,
        check=False,
    )


def remove(path: Path) -> None:
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)


def prepare(size: str, seed: int, directory: Path = DEFAULT_DIR, fresh: bool = False, log=print):  # noqa: ANN001
    """Return a seeded database of the given size, reusing a matching one."""
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"{size}-{seed}.db"
    marker = directory / f"{size}-{seed}.json"
    wanted = fingerprint(size, seed)
    if not fresh and path.exists() and marker.exists():
        recorded = json.loads(marker.read_text())
        if {k: recorded.get(k) for k in wanted} == wanted:
            log(f"# 复用基准数据库 {path}（{recorded.get('seeded_at', '?')} 生成）")
            return Database(path, None)
    remove(path)
    marker.unlink(missing_ok=True)
    url = f"sqlite:///{path}"
    log(f"# 新建基准数据库 {path}：迁移并生成 {size} 规模演示数据……")
    upgrade = flask(["db", "upgrade"], url)
    if upgrade.returncode != 0:
        raise RuntimeError(f"flask db upgrade failed:\n{upgrade.stderr}")
    started = time.perf_counter()
    seeded = flask(["demo", "seed", "--size", size, "--seed", str(seed)], url)
    seconds = time.perf_counter() - started
    if seeded.returncode != 0:
        raise RuntimeError(f"flask demo seed failed:\n{seeded.stdout}\n{seeded.stderr}")
    marker.write_text(
        json.dumps(
            {
                **wanted,
                "seconds": round(seconds, 2),
                "seeded_at": time.strftime("%Y-%m-%d %H:%M"),
            },
            ensure_ascii=False,
        )
    )
    return Database(path, seconds, seeded.stdout)
