"""User accounts: members, staff, grid workers and admins."""

from __future__ import annotations

from datetime import datetime

from flask_login import UserMixin
from sqlalchemy import Float, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from app.extensions import db
from app.timeutil import utcnow

ROLES = {
    "member": "党员",
    "staff": "党务工作者",
    "grid_worker": "网格员",
    "admin": "管理员",
}
STAFF_ROLES = {"staff", "grid_worker", "admin"}


class User(UserMixin, db.Model):
    __tablename__ = "user"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    display_name: Mapped[str] = mapped_column(String(50))
    role: Mapped[str] = mapped_column(String(16), index=True)
    phone: Mapped[str | None] = mapped_column(String(30))
    password_hash: Mapped[str] = mapped_column(String(255))
    must_change_password: Mapped[bool] = mapped_column(default=True)
    # No longer used by login (see LoginThrottle); kept so older databases and tools still fit.
    failed_logins: Mapped[int] = mapped_column(default=0)
    locked_until: Mapped[datetime | None]
    # Bumped at logout and password change: older session cookies stop working.
    session_version: Mapped[int] = mapped_column(default=1)
    active: Mapped[bool] = mapped_column(default=True)
    # A member's login is linked to the member record.
    member_id: Mapped[int | None] = mapped_column(
        ForeignKey("member.id", use_alter=True), unique=True
    )
    may_reveal: Mapped[bool] = mapped_column(default=False)
    last_login_at: Mapped[datetime | None]
    password_changed_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    @property
    def is_active(self) -> bool:  # Flask-Login
        return self.active

    def get_id(self) -> str:
        # The session version is part of the id: bumping it invalidates old cookies.
        return f"{self.id}:{self.session_version}"

    @property
    def role_label(self) -> str:
        return ROLES.get(self.role, self.role)

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"

    @property
    def is_staff(self) -> bool:
        return self.role in STAFF_ROLES

    @property
    def can_reveal(self) -> bool:
        """Roles allowed to reveal full ID numbers and phones (an audited action)."""
        return self.role == "admin" or (self.role == "staff" and self.may_reveal)


class LoginThrottle(db.Model):
    """Failed-login counters (app/auth/throttle.py), in the database so they hold across workers.

    One row per (typed username, source address) — the 5-guess lock — and one per typed username
    with ``source = "*"`` — the slower account-wide limit. The username is kept only as a keyed
    hash of its normalized form, so a typed phone number is not stored. Times are seconds since
    the epoch (portable arithmetic in SQL on SQLite and PostgreSQL).
    """

    __tablename__ = "login_throttle"

    username_key: Mapped[str] = mapped_column(String(64), primary_key=True)
    source: Mapped[str] = mapped_column(String(64), primary_key=True)
    # Guesses counted (reserved before the password is checked) since the last reset.
    failures: Mapped[int] = mapped_column(default=0)
    # Per source: locked until; account-wide: the next guess is not taken before.
    locked_until: Mapped[float | None] = mapped_column(Float)
    last_at: Mapped[float] = mapped_column(Float)

    __table_args__ = (Index("ix_login_throttle_last_at", "last_at"),)
