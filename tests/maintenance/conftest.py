"""Backup fixtures: the app on a real database file (or its own PostgreSQL database).

The suite's default database is in-memory SQLite, which cannot be backed up; here ``app`` is
overridden with a database built by the migrations: a file in ``tmp_path`` on SQLite, or a
fresh database next to TEST_DATABASE_URL on PostgreSQL (pg_dump/pg_restore needed there).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Iterator

import pytest
from flask import Flask
from flask_migrate import upgrade
from sqlalchemy import create_engine, text

from app.extensions import db
from app.maintenance.backup import MIGRATIONS_DIR, BackupError, find_pg_tool
from tests.conftest import make_app
from tests.members.conftest import (  # noqa: F401  (fixtures re-used here)
    id_number,
    make_member,
    tree,
)

PG_URL = os.environ.get("TEST_DATABASE_URL", "")


def _pg_admin():  # noqa: ANN202
    return create_engine(PG_URL, isolation_level="AUTOCOMMIT")


def _pg_name(label: str) -> str:
    return f"{PG_URL.rsplit('/', 1)[1]}_bk_{label}"


@pytest.fixture(autouse=True)
def _keep_logging() -> Iterator[None]:
    """Alembic's env.py runs ``logging.config.fileConfig``, which disables every logger that
    exists and replaces the root handlers; put logging back so later tests' logs still work."""
    root = logging.getLogger()
    saved_root = (root.level, list(root.handlers))
    saved = {
        name: (logger.disabled, logger.level, list(logger.handlers), logger.propagate)
        for name, logger in logging.Logger.manager.loggerDict.items()
        if isinstance(logger, logging.Logger)
    }
    yield
    root.setLevel(saved_root[0])
    root.handlers[:] = saved_root[1]
    for name, logger in logging.Logger.manager.loggerDict.items():
        if not isinstance(logger, logging.Logger):
            continue
        if name in saved:
            logger.disabled, level, handlers, logger.propagate = saved[name]
            logger.setLevel(level)
            logger.handlers[:] = handlers
        else:
            logger.disabled = False


@pytest.fixture
def fresh_url(tmp_path) -> Iterator[Callable[[str], str]]:
    """``fresh_url(label)``: the URL of a new, empty database (removed after the test)."""
    created: list[str] = []

    def factory(label: str) -> str:
        if not PG_URL:
            return f"sqlite:///{tmp_path / label / 'linli.db'}"
        name = _pg_name(label)
        admin = _pg_admin()
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        admin.dispose()
        created.append(name)
        return PG_URL.rsplit("/", 1)[0] + "/" + name

    yield factory
    if created:
        admin = _pg_admin()
        with admin.connect() as conn:
            for name in created:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture
def make_file_app(tmp_path) -> Iterator[Callable[..., Flask]]:
    """``make_file_app(url, revision="head")``: an app on ``url``, migrated to ``revision``."""
    made: list[Flask] = []

    def factory(url: str, revision: str = "head") -> Flask:
        application = make_app(
            SQLALCHEMY_DATABASE_URI=url, BACKUP_DIR=str(tmp_path / "before-restore")
        )
        with application.app_context():
            upgrade(directory=MIGRATIONS_DIR, revision=revision)
            db.engine.dispose()
        made.append(application)
        return application

    yield factory
    for application in made:
        with application.app_context():
            db.session.remove()
            db.engine.dispose()


@pytest.fixture
def app(fresh_url, make_file_app) -> Iterator[Flask]:
    """The running app of these tests, on its own migrated database."""
    if PG_URL:
        try:
            find_pg_tool("pg_dump")
            find_pg_tool("pg_restore")
        except BackupError as exc:
            pytest.skip(f"PostgreSQL backup tests need pg_dump and pg_restore: {exc}")
    application = make_file_app(fresh_url("live"))
    with application.app_context():
        yield application
        db.session.remove()
        db.engine.dispose()
