"""Configuration from environment variables, with safe defaults for development."""

from __future__ import annotations

import hashlib
import json
import logging
import math
import os
import secrets
import string
import tempfile
from datetime import timedelta
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent
INSTANCE_DIR = BASE_DIR / "instance"

KEY_NAMES = ("SECRET_KEY", "ID_HASH_KEY", "DATA_KEY")
MIN_KEY_BITS = 256  # 32 bytes of entropy
# Values that are words, not keys (compared after lower-casing and removing repetition), and
# placeholder markers that must never be left in a key.
KNOWN_WEAK_KEYS = frozenset(
    {
        "1", "123", "1234", "12345", "123456", "12345678", "123456789", "1234567890",
        "0", "a", "abc", "admin", "changeme", "change-me", "change_me", "default", "dev",
        "development", "example", "key", "letmein", "linli", "pass", "passw0rd", "password",
        "prod", "production", "qwerty", "secret", "secret-key", "secret_key", "secretkey",
        "test", "test-secret", "testing", "x",
    }
)  # fmt: skip
PLACEHOLDER_MARKERS = ("changeme", "change-me", "not-for-production", "your-secret", "replace-me")
logger = logging.getLogger("linli.config")
HTMX_VERSION = "2.0.11"
HTMX_SRI = "sha384-2OatzQy1H+Zd/IIrjr1TcuDGqLXeHhbooAyJY1KdQMKnr4LZ22k31GBLdYKHmVjg"


def _bool(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def new_key() -> str:
    """A random key: 48 bytes from the operating system's generator, URL-safe (64 characters)."""
    return secrets.token_urlsafe(48)


def _repeating_unit(value: str) -> str:
    """The shortest prefix whose repetition makes ``value`` ('changeme' for 'changeme' * 4)."""
    for size in range(1, len(value) // 2 + 1):
        unit = value[:size]
        if (unit * (len(value) // size + 1))[: len(value)] == value:
            return unit
    return value


def estimated_bits(value: str) -> float:
    """A rough, conservative estimate of a key's entropy in bits.

    Repetition counts once; each character counts log2 of the alphabet its character classes
    span (lower case, upper case, digits, others), but only log2 of the distinct characters when
    fewer than 10 are used.
    """
    unit = _repeating_unit(value)
    distinct = len(set(unit))
    alphabet = 0
    for chars, size in (
        (string.ascii_lowercase, 26),
        (string.ascii_uppercase, 26),
        (string.digits, 10),
    ):
        if any(c in chars for c in unit):
            alphabet += size
    if any(not (c.isascii() and c.isalnum()) for c in unit):
        alphabet += 32
    per_char = math.log2(alphabet) if distinct >= 10 else math.log2(max(distinct, 1))
    return len(unit) * per_char


def key_problems(
    values: dict[str, str | None], fallbacks: list[str] | tuple[str, ...] = ()
) -> list[str]:
    """What is wrong with the configured keys (English / Chinese), empty when they are fine.

    Old SECRET_KEYs kept in ``fallbacks`` still verify signatures, so they pass the same checks.
    """
    problems = []
    named = [(name, values.get(name) or "") for name in KEY_NAMES]
    named += [(f"SECRET_KEY_FALLBACKS[{i}]", value) for i, value in enumerate(fallbacks)]
    for name, value in named:
        if not value:
            problems.append(f"{name} is missing / 未设置 {name}")
            continue
        lowered = value.strip().lower()
        if _repeating_unit(lowered) in KNOWN_WEAK_KEYS or any(
            marker in lowered for marker in PLACEHOLDER_MARKERS
        ):
            problems.append(f"{name} is a known or placeholder value / {name} 是公开的示例或占位值")
            continue
        bits = estimated_bits(value)
        if bits < MIN_KEY_BITS:
            problems.append(
                f"{name} is too weak (about {bits:.0f} bits, at least {MIN_KEY_BITS} needed) / "
                f"{name} 强度不足（约 {bits:.0f} 位，至少需要 {MIN_KEY_BITS} 位）"
            )
    present = [name for name in KEY_NAMES if values.get(name)]
    for i, first in enumerate(present):
        for second in present[i + 1 :]:
            if values[first] == values[second]:
                problems.append(
                    f"{first} and {second} are equal / {first} 与 {second} 相同，每个密钥须各不相同"
                )
    for value in fallbacks:
        for name in ("ID_HASH_KEY", "DATA_KEY"):
            if value and value == values.get(name):
                problems.append(
                    f"SECRET_KEY_FALLBACKS holds {name} / SECRET_KEY_FALLBACKS 中含有 {name}"
                )
    return problems


def check_keys(app, config_name: str) -> None:  # noqa: ANN001
    problems = key_problems(
        {name: app.config.get(name) for name in KEY_NAMES},
        app.config.get("SECRET_KEY_FALLBACKS") or (),
    )
    if problems:
        raise RuntimeError(
            f"Refusing to start (configuration {config_name}) / 拒绝启动："
            + "; ".join(problems)
            + ". Generate each key with: python3 -c 'import secrets; "
            "print(secrets.token_urlsafe(48))' / 用该命令分别生成三个密钥"
        )


def load_key_file(path: Path) -> dict[str, str]:
    """The development keys in ``path``, created once with random values (mode 0600)."""
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".keys-")  # mode 0600
        try:
            with os.fdopen(fd, "w") as handle:
                json.dump({name: new_key() for name in KEY_NAMES}, handle, indent=2)
                handle.flush()
                os.fsync(handle.fileno())
            try:
                os.link(tmp, path)  # atomic: another process starting at once keeps its file
                logger.warning("created development keys in %s (mode 600)", path)
            except FileExistsError:
                pass
        finally:
            os.unlink(tmp)
    mode = path.stat().st_mode & 0o777
    if mode & 0o077:
        os.chmod(path, 0o600)
        logger.warning("%s was readable by others (mode %o): now 600", path, mode)
    with path.open() as handle:
        return json.load(handle)


def queue_key(database_url: str) -> str:
    """A short, stable name of one database (12 hex digits of a SHA-256 of its URL without the
    password), so that servers of different databases started from one checkout keep separate
    batch-job queues, and a password change keeps the same queue."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    try:
        text = make_url(database_url).set(password="").render_as_string(hide_password=False)
    except ArgumentError:
        text = database_url
    return hashlib.sha256(text.encode()).hexdigest()[:12]


def huey_queue(config, instance_path: str) -> tuple[str, str]:  # noqa: ANN001
    """The batch-job queue of an app's configuration: (huey name, SQLite file).

    ``HUEY_SQLITE_PATH`` names the file outright; by default it is
    ``instance/huey-<queue_key>.db``, keyed by the database. The name (used as the Redis key
    prefix when ``REDIS_URL`` is set) carries the same key.
    """
    key = queue_key(config["SQLALCHEMY_DATABASE_URI"])
    path = config.get("HUEY_SQLITE_PATH") or str(Path(instance_path) / f"huey-{key}.db")
    return f"linli-{key}", path


class Config:
    # Every key comes from the environment (production) or from the instance key file
    # (development); none is written in the code.
    SECRET_KEY = os.environ.get("SECRET_KEY", "")
    ID_HASH_KEY = os.environ.get("ID_HASH_KEY", "")
    DATA_KEY = os.environ.get("DATA_KEY", "")
    # Previous SECRET_KEYs (comma-separated), accepted but never used to sign after a rotation:
    # sessions and printed certificate QR codes signed with them stay valid.
    SECRET_KEY_FALLBACKS = [
        k.strip() for k in os.environ.get("SECRET_KEY_FALLBACKS", "").split(",") if k.strip()
    ]
    KEY_FILE = os.environ.get("LINLI_KEY_FILE") or str(INSTANCE_DIR / "secret_keys.json")
    KEY_SOURCE = "environment variables"
    SQLALCHEMY_DATABASE_URI = os.environ.get(
        "DATABASE_URL", f"sqlite:///{INSTANCE_DIR / 'linli.db'}"
    )
    SQLALCHEMY_ENGINE_OPTIONS: dict = {}
    SQLALCHEMY_TRACK_MODIFICATIONS = False
    HTMX_LOCAL = _bool("HTMX_LOCAL")
    HTMX_VERSION = HTMX_VERSION
    HTMX_SRI = HTMX_SRI
    REDIS_URL = os.environ.get("REDIS_URL", "")
    # The address printed on QR codes and posters (e.g. https://linli.example.org); when unset,
    # the address of the current request.
    PUBLIC_BASE_URL = os.environ.get("PUBLIC_BASE_URL", "")
    # Batch printing: "embedded" runs the queue consumer inside the web process; "external"
    # expects `flask worker` (production).
    PRINT_WORKER = os.environ.get("PRINT_WORKER", "embedded")
    # The batch-job queue's SQLite file; empty = instance/huey-<hash of DATABASE_URL>.db, so
    # servers of different databases never take each other's jobs (config.huey_queue).
    HUEY_SQLITE_PATH = os.environ.get("HUEY_SQLITE_PATH", "")
    # Daily reminder digests (`flask reminders send`): "log" (default) or "webhook", which POSTs
    # JSON to REMINDER_WEBHOOK_URL (an SMS or messaging gateway's adapter).
    REMINDER_SENDER = os.environ.get("REMINDER_SENDER", "log")
    REMINDER_WEBHOOK_URL = os.environ.get("REMINDER_WEBHOOK_URL", "")
    # Change tokens (app/change_tokens.py): "file" — a small file mapped into memory, shared by
    # every process on this host, so a signed-in request needs no query; "database" — read
    # from the database on every request (one query): set it when the application runs on
    # more than one host. TOKEN_FILE: empty = instance/change-tokens. Every
    # TOKEN_RECHECK_SECONDS each process also compares the database tokens (0 = never).
    TOKEN_STORE = os.environ.get("TOKEN_STORE", "file")
    TOKEN_FILE = os.environ.get("TOKEN_FILE", "")
    TOKEN_RECHECK_SECONDS = float(os.environ.get("TOKEN_RECHECK_SECONDS", "5") or 0)
    # Number of reverse proxies in front of the app whose X-Forwarded-* headers are trusted.
    TRUSTED_PROXIES = int(os.environ.get("TRUSTED_PROXIES", "0") or 0)

    # Sessions (SPEC §12): idle 30 min, absolute 12 h.
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    SESSION_COOKIE_SECURE = _bool("SESSION_COOKIE_SECURE")
    SESSION_COOKIE_NAME = "linli_session"
    PERMANENT_SESSION_LIFETIME = timedelta(hours=12)
    # The cookie is re-sent only when the session changes (the idle stamp is refreshed once
    # a minute), not re-signed on every response; it expires with the absolute limit.
    SESSION_REFRESH_EACH_REQUEST = False
    SESSION_IDLE_TIMEOUT = timedelta(minutes=30)
    SESSION_ABSOLUTE_TIMEOUT = timedelta(hours=12)
    REMEMBER_COOKIE_DURATION = timedelta(seconds=0)

    # Login protection.
    # 5 wrong guesses lock a username for 30 minutes from one source address; all addresses
    # together get 20 guesses, then each further one waits 2 s, 4 s, 8 s … up to 15 minutes.
    LOCKOUT_THRESHOLD = 5
    LOCKOUT_MINUTES = 30
    LOGIN_ACCOUNT_THRESHOLD = 20
    LOGIN_ACCOUNT_DELAY_BASE = 2
    LOGIN_ACCOUNT_DELAY_CAP = 900
    LOGIN_ACCOUNT_WINDOW_HOURS = 24
    LOGIN_RATE_LIMIT = os.environ.get("LOGIN_RATE_LIMIT", "30 per minute")
    RATELIMIT_ENABLED = True
    RATELIMIT_HEADERS_ENABLED = False
    # Where the counters live, shared by every worker: empty = Redis when REDIS_URL is set,
    # else the database (app/ratelimit.py); any `limits` storage URI overrides that.
    RATELIMIT_STORAGE_URI = os.environ.get("RATELIMIT_STORAGE_URI", "")

    WTF_CSRF_TIME_LIMIT = None  # the token lives as long as the session
    WTF_CSRF_HEADERS = ["X-CSRFToken"]
    MAX_CONTENT_LENGTH = 20 * 1024 * 1024

    HSTS = False
    TIMEZONE = "Asia/Shanghai"

    CONFIG_NAME = "base"

    @classmethod
    def init_app(cls, app) -> None:  # noqa: ANN001
        check_keys(app, cls.CONFIG_NAME)


class DevelopmentConfig(Config):
    DEBUG = False
    CONFIG_NAME = "development"

    @classmethod
    def init_app(cls, app) -> None:  # noqa: ANN001
        """Keys not given in the environment come from the instance key file (made once)."""
        missing = [name for name in KEY_NAMES if not app.config.get(name)]
        if missing:
            path = Path(app.config["KEY_FILE"])
            stored = load_key_file(path)
            for name in missing:
                app.config[name] = stored.get(name, "")
            given = [name for name in KEY_NAMES if name not in missing]
            app.config["KEY_SOURCE"] = f"{path} (development key file)" + (
                f", {', '.join(given)} from the environment" if given else ""
            )
        super().init_app(app)


class TestingConfig(Config):
    TESTING = True
    CONFIG_NAME = "testing"
    # Random keys for each test process.
    SECRET_KEY = new_key()
    ID_HASH_KEY = new_key()
    DATA_KEY = new_key()
    KEY_SOURCE = "random keys for this test process"
    SQLALCHEMY_DATABASE_URI = os.environ.get("TEST_DATABASE_URL", "sqlite://")
    RATELIMIT_ENABLED = False
    # Tests that switch the limiter on count in memory unless they ask for a shared storage.
    RATELIMIT_STORAGE_URI = "memory://"
    # Cheap hashes keep the suite fast; production uses the argon2-cffi defaults.
    ARGON2_TIME_COST = 1
    ARGON2_MEMORY_COST = 1024
    ARGON2_PARALLELISM = 1
    # One change-token file per test process (the SQLite and PostgreSQL suites run at the same
    # time); no timed recheck, so counted queries never depend on the clock.
    TOKEN_FILE = str(Path(tempfile.gettempdir()) / f"linli-test-tokens-{os.getpid()}")
    TOKEN_RECHECK_SECONDS = 0


class ProductionConfig(Config):
    SESSION_COOKIE_SECURE = _bool("SESSION_COOKIE_SECURE", True)
    HSTS = True
    CONFIG_NAME = "production"


CONFIGS = {
    "development": DevelopmentConfig,
    "testing": TestingConfig,
    "production": ProductionConfig,
}


def get_config(name: str | None = None) -> type[Config]:
    name = name or os.environ.get("LINLI_CONFIG", "development")
    try:
        return CONFIGS[name]
    except KeyError as exc:
        raise RuntimeError(f"Unknown LINLI_CONFIG {name!r}; use one of {sorted(CONFIGS)}") from exc
