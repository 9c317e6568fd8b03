"""Linli (邻里): community party-member service portal."""

from __future__ import annotations

import logging

from flask import Flask
from sqlalchemy import event
from sqlalchemy.engine import Engine

from config import Config, get_config


class LinliFlask(Flask):
    """Flask, with the sync check of hooks and views done once per function.

    Flask asks ``inspect.iscoroutinefunction`` about every hook and view on every request
    (a dozen times for a redirect); the answer never changes for a function."""

    _SYNC_KEPT = 2048

    def ensure_sync(self, func):  # noqa: ANN001, ANN201
        kept = self.__dict__.setdefault("_sync_kept", {})
        try:
            return kept[func]
        except KeyError:
            if len(kept) >= self._SYNC_KEPT:
                kept.clear()
            made = kept[func] = super().ensure_sync(func)
            return made
        except TypeError:  # an unhashable callable
            return super().ensure_sync(func)


def create_app(config: type[Config] | str | None = None, **overrides) -> Flask:
    app = LinliFlask(
        __name__,
        template_folder="../templates",
        static_folder="../static",
        instance_relative_config=False,
    )
    config_class = config if isinstance(config, type) else get_config(config)
    app.config.from_object(config_class)
    app.config.update(overrides)
    from app.params import BoundedIntConverter
    from app.timeutil import set_timezone

    app.url_map.converters["int"] = BoundedIntConverter
    set_timezone(app.config.get("TIMEZONE", "Asia/Shanghai"))
    app.instance_path = _instance_dir()
    config_class.init_app(app)
    _ensure_sqlite_dir(app)
    if app.config.get("TRUSTED_PROXIES"):
        from werkzeug.middleware.proxy_fix import ProxyFix

        hops = app.config["TRUSTED_PROXIES"]
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops)
    _configure_logging(app)
    logging.getLogger("linli.config").info(
        "configuration %s; keys from %s", config_class.CONFIG_NAME, app.config["KEY_SOURCE"]
    )

    from app.extensions import csrf, db, limiter, migrate
    from app.sessions import CookieSessionInterface

    app.session_interface = CookieSessionInterface()

    from app import uow

    uow.postgresql_options(app)
    db.init_app(app)
    migrate.init_app(app, db, render_as_batch=True, compare_type=True)
    csrf.init_app(app)
    from app import security

    security.init_csrf(app)
    from app import ratelimit

    app.config["RATELIMIT_STORAGE_URI"] = ratelimit.storage_uri(app)
    limiter.init_app(app)

    from app import errors, params, security, static_assets, templating, uow
    from app import models as _models  # noqa: F401  (register every model)
    from app.assessment.routes import bp as assessment_bp
    from app.assignment import bulk_routes  # noqa: F401
    from app.assignment import routes as _assignment_routes  # noqa: F401
    from app.assignment.blueprint import bp as assignment_bp
    from app.audit.cli import bp as audit_cli
    from app.audit.routes import bp as audit_bp
    from app.auth import routes as auth_routes
    from app.auth.cli import bp as users_cli
    from app.care.routes import bp as care_bp
    from app.certificates import (  # noqa: F401
        document_routes,
        lifecycle_routes,
        received_routes,
        verify_routes,
    )
    from app.certificates import routes as _certificate_routes  # noqa: F401
    from app.certificates.blueprint import bp as certificates_bp
    from app.certificates.cli import bp as certificates_cli
    from app.demo.cli import bp as demo_cli
    from app.direct import member_routes as _direct_member_routes  # noqa: F401
    from app.direct import routes as _direct_routes  # noqa: F401
    from app.direct.blueprint import bp as direct_bp
    from app.dual import feedback_routes, member_routes  # noqa: F401
    from app.dual import routes as _dual_routes  # noqa: F401
    from app.dual.blueprint import bp as dual_bp
    from app.followup import appraisal_routes, dues_routes, lost_routes  # noqa: F401
    from app.followup import routes as _followup_routes  # noqa: F401
    from app.followup.blueprint import bp as followup_bp
    from app.keys import bp as keys_cli
    from app.main.routes import bp as main_bp
    from app.maintenance.cli import bp as backup_cli
    from app.members import roster_routes as _roster_routes  # noqa: F401
    from app.members import routes as _member_routes  # noqa: F401
    from app.members.blueprint import bp as members_bp
    from app.members.cli import bp as roster_cli
    from app.members.cli import stats_bp as stats_cli
    from app.mobile.routes import bp as mobile_bp
    from app.organization import import_routes, place_routes  # noqa: F401
    from app.organization import routes as _organization_routes  # noqa: F401
    from app.organization.account_routes import bp as accounts_bp
    from app.organization.blueprint import bp as organization_bp
    from app.organization.cli import bp as org_cli
    from app.registration import review_routes  # noqa: F401
    from app.registration import routes as _registration_routes  # noqa: F401
    from app.registration.blueprint import bp as registration_bp
    from app.reminders.routes import bp as reminders_bp
    from app.selfservice.routes import bp as selfservice_bp
    from app.settings.routes import bp as settings_bp
    from app.stats.routes import bp as stats_bp
    from app.takeover.routes import bp as takeover_bp
    from app.work.routes import bp as work_bp

    auth_routes.init_app(app)
    security.init_headers(app)
    templating.init_app(app)
    errors.init_app(app)
    uow.init_app(app)
    params.init_app(app)
    static_assets.init_app(app)

    app.register_blueprint(main_bp)
    app.register_blueprint(auth_routes.bp)
    app.register_blueprint(audit_bp)
    app.register_blueprint(audit_cli)
    app.register_blueprint(certificates_bp)
    app.register_blueprint(certificates_cli)
    app.register_blueprint(members_bp)
    app.register_blueprint(roster_cli)
    app.register_blueprint(stats_cli)
    app.register_blueprint(users_cli)
    app.register_blueprint(demo_cli)
    app.register_blueprint(organization_bp)
    app.register_blueprint(accounts_bp)
    app.register_blueprint(org_cli)
    app.register_blueprint(assignment_bp)
    app.register_blueprint(registration_bp)
    app.register_blueprint(stats_bp)
    app.register_blueprint(settings_bp)
    app.register_blueprint(reminders_bp)
    app.register_blueprint(followup_bp)
    app.register_blueprint(selfservice_bp)
    app.register_blueprint(backup_cli)
    app.register_blueprint(keys_cli)
    app.register_blueprint(work_bp)
    app.register_blueprint(takeover_bp)
    app.register_blueprint(assessment_bp)
    app.register_blueprint(care_bp)
    app.register_blueprint(mobile_bp)
    app.register_blueprint(direct_bp)
    app.register_blueprint(dual_bp)
    ratelimit.drop_idle_request_hook(app, limiter)
    return app


def _instance_dir() -> str:
    from config import INSTANCE_DIR

    return str(INSTANCE_DIR)


def _ensure_sqlite_dir(app: Flask) -> None:
    uri = app.config["SQLALCHEMY_DATABASE_URI"]
    if uri.startswith("sqlite:///"):
        from pathlib import Path

        Path(uri.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)


def _configure_logging(app: Flask) -> None:
    if not app.debug and not app.testing:
        logging.basicConfig(
            level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s"
        )
        # Libraries that narrate routine work at INFO.
        for name in ("alembic.runtime.plugins", "weasyprint", "fontTools"):
            logging.getLogger(name).setLevel(logging.WARNING)


@event.listens_for(Engine, "connect")
def _connection_settings(dbapi_connection, connection_record):  # noqa: ANN001
    """SQLite: WAL for concurrent readers, enforced foreign keys, a busy timeout.

    PostgreSQL: no JIT compilation. Linli's statements are short (a page, a count); the
    planner's cost of a whole-street count passes ``jit_above_cost`` and compiling then takes
    15–200 ms, several times what the query itself takes."""
    module = type(dbapi_connection).__module__
    if module.startswith("psycopg"):
        cursor = dbapi_connection.cursor()
        cursor.execute("SET jit = off")
        cursor.close()
        dbapi_connection.commit()
        return
    if not module.startswith("sqlite3"):
        return
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=5000")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()
