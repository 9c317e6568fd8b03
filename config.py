"""Configuration from environment variables, with safe defaults for development."""

from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent
INSTANCE_DIR = BASE_DIR / "instance"

DEV_SECRET = "dev-secret-not-for-production"  # noqa: S105 - marker refused by ProductionConfig
HTMX_VERSION = "2.0.11"
HTMX_SRI = "sha384-2OatzQy1H+Zd/IIrjr1TcuDGqLXeHhbooAyJY1KdQMKnr4LZ22k31GBLdYKHmVjg"


def _bool(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


class Config:
    SECRET_KEY = os.environ.get("SECRET_KEY", DEV_SECRET)
    # Keys for ID-number protection; derived from SECRET_KEY when unset (not allowed in production).
    ID_HASH_KEY = os.environ.get("ID_HASH_KEY", "")
    DATA_KEY = os.environ.get("DATA_KEY", "")
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
    # Daily reminder digests (`flask reminders send`): "log" (default) or "webhook", which POSTs
    # JSON to REMINDER_WEBHOOK_URL (an SMS or messaging gateway's adapter).
    REMINDER_SENDER = os.environ.get("REMINDER_SENDER", "log")
    REMINDER_WEBHOOK_URL = os.environ.get("REMINDER_WEBHOOK_URL", "")
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

    WTF_CSRF_TIME_LIMIT = None  # the token lives as long as the session
    WTF_CSRF_HEADERS = ["X-CSRFToken"]
    MAX_CONTENT_LENGTH = 20 * 1024 * 1024

    HSTS = False
    TIMEZONE = "Asia/Shanghai"

    @classmethod
    def init_app(cls, app) -> None:  # noqa: ANN001
        pass


class DevelopmentConfig(Config):
    DEBUG = False


class TestingConfig(Config):
    TESTING = True
    SECRET_KEY = "test-secret"  # noqa: S105
    SQLALCHEMY_DATABASE_URI = os.environ.get("TEST_DATABASE_URL", "sqlite://")
    RATELIMIT_ENABLED = False
    # Cheap hashes keep the suite fast; production uses the argon2-cffi defaults.
    ARGON2_TIME_COST = 1
    ARGON2_MEMORY_COST = 1024
    ARGON2_PARALLELISM = 1


class ProductionConfig(Config):
    SESSION_COOKIE_SECURE = _bool("SESSION_COOKIE_SECURE", True)
    HSTS = True

    @classmethod
    def init_app(cls, app) -> None:  # noqa: ANN001
        problems = []
        secret = app.config.get("SECRET_KEY") or ""
        if not secret or secret == DEV_SECRET or len(secret) < 32:
            problems.append("SECRET_KEY must be set to a random value of at least 32 characters")
        for key in ("ID_HASH_KEY", "DATA_KEY"):
            if not app.config.get(key):
                problems.append(f"{key} must be set in production")
        if problems:
            raise RuntimeError("Refusing to start in production: " + "; ".join(problems))


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
