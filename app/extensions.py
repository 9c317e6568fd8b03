"""Flask extensions. Imports no application module."""

from __future__ import annotations

from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager as BaseLoginManager
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from flask_wtf import CSRFProtect
from sqlalchemy import MetaData
from sqlalchemy.orm import DeclarativeBase

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class LoginManager(BaseLoginManager):
    """Flask-Login without its session protection, which Linli replaces (session versions,
    idle and absolute timeouts in app/auth/routes.py), and without remember-me cookies. The
    stock check hashes the client's address and user agent on every request before it looks
    whether protection is on."""

    def _session_protection_failed(self) -> bool:
        return False

    def _update_remember_cookie(self, response):  # noqa: ANN001, ANN202
        return response  # no remember-me cookie is ever set (login_user without remember)


def for_dialect(dialect: str):  # noqa: ANN201
    """An Alembic ``include_object`` that leaves out indexes made for another database
    (``Index(...).ddl_if(dialect=...)``), for autogenerate and for comparing models with
    the migrated schema."""

    def include(obj, name, type_, reflected, compare_to) -> bool:  # noqa: ANN001
        condition = getattr(obj, "_ddl_if", None) if type_ == "index" else None
        wanted = getattr(condition, "dialect", None)
        if wanted is None:
            return True
        return dialect in ((wanted,) if isinstance(wanted, str) else tuple(wanted))

    return include


db = SQLAlchemy(model_class=Base)
migrate = Migrate()
login_manager = LoginManager()
csrf = CSRFProtect()
# The storage (Redis, the database, or memory for an in-memory test database) is chosen per app
# in create_app from app.ratelimit.storage_uri; a storage_uri given here would override it.
limiter = Limiter(key_func=get_remote_address, default_limits=[])
