"""Reminders (SPEC §15): what needs doing now, per user and scope, from every feature.

Each feature registers its sources here (``register``): a function of the user returning how many
items wait and where their list is. The 工作台 shows them (``reminders_for``); ``flask reminders
send`` sends each staff user a digest through the configured sender — a log by default, or a
webhook an SMS or messaging gateway can consume (``REMINDER_SENDER=webhook`` and
``REMINDER_WEBHOOK_URL``). Digests carry counts and links only, never personal data.
"""

from __future__ import annotations

import json
import logging
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

STAFF_ROLES = ("staff", "grid_worker", "admin")

log = logging.getLogger("linli.reminders")


@dataclass(frozen=True)
class Reminder:
    key: str
    label: str
    count: int
    url: str
    overdue: bool = False  # past a deadline (shown first, in red), not just waiting


@dataclass(frozen=True)
class Source:
    key: str
    label: str
    roles: tuple[str, ...]
    count: Callable[[Any], int]
    endpoint: str
    args: dict
    overdue: bool
    order: int


SOURCES: dict[str, Source] = {}


def register(
    key: str,
    label: str,
    count: Callable[[Any], int],
    endpoint: str,
    roles: tuple[str, ...] = STAFF_ROLES,
    overdue: bool = False,
    order: int = 50,
    **args: Any,
) -> None:
    """Register a reminder source: ``count(user)`` items (within the user's scope) wait at
    ``url_for(endpoint, **args)``."""
    SOURCES[key] = Source(key, label, roles, count, endpoint, args, overdue, order)


def reminders_for(user: Any) -> list[Reminder]:
    """The user's reminders with at least one item: overdue ones first.

    Kept per user and day until the next change to the data (``app.cache``): every source counts
    rows in the user's scope against today's date, so nothing else moves them. The daily digest
    (outside a request) always counts afresh."""
    from app.organization.scope import scope_cached
    from app.timeutil import local_today

    return scope_cached(user, "reminders", (local_today(),), lambda: _count(user))


def _count(user: Any) -> list[Reminder]:
    from flask import url_for

    found = []
    for source in sorted(SOURCES.values(), key=lambda s: (not s.overdue, s.order, s.key)):
        if user.role not in source.roles:
            continue
        count = source.count(user)
        if count:
            found.append(
                Reminder(
                    source.key,
                    source.label,
                    count,
                    url_for(source.endpoint, **source.args),
                    source.overdue,
                )
            )
    return found


def digest(user: Any, reminders: list[Reminder], base_url: str) -> str:
    lines = [f"{user.display_name}，您好！邻里·社区党员服务中心今日待办："]
    for r in reminders:
        lines.append(
            f"- {r.label}{'（已逾期）' if r.overdue else ''}：{r.count} 项 {base_url}{r.url}"
        )
    return "\n".join(lines)


class Sender(Protocol):
    def send(self, user: Any, subject: str, text: str) -> None: ...


class LogSender:
    """Writes each digest to the application log (the default; nothing leaves the server)."""

    def send(self, user: Any, subject: str, text: str) -> None:
        log.info("reminder to %s: %s\n%s", user.username, subject, text)


class WebhookSender:
    """POSTs each digest as JSON to a gateway (e.g. an SMS service's adapter):
    ``{"username", "phone", "subject", "text"}``."""

    def __init__(self, url: str, timeout: float = 10) -> None:
        self.url, self.timeout = url, timeout

    def send(self, user: Any, subject: str, text: str) -> None:
        body = json.dumps(
            {
                "username": user.username,
                "phone": getattr(user, "phone", None),
                "subject": subject,
                "text": text,
            },
            ensure_ascii=False,
        ).encode()
        request = urllib.request.Request(  # noqa: S310 - configured by the operator
            self.url, data=body, headers={"Content-Type": "application/json; charset=utf-8"}
        )
        with urllib.request.urlopen(request, timeout=self.timeout) as response:  # noqa: S310
            if response.status >= 300:
                raise OSError(f"webhook answered {response.status}")


def configured_sender(config: dict) -> Sender:
    kind = (config.get("REMINDER_SENDER") or "log").lower()
    if kind == "webhook":
        url = config.get("REMINDER_WEBHOOK_URL") or ""
        if not url:
            raise RuntimeError("REMINDER_SENDER=webhook needs REMINDER_WEBHOOK_URL")
        return WebhookSender(url)
    if kind == "log":
        return LogSender()
    raise RuntimeError(f"unknown REMINDER_SENDER {kind!r}; use log or webhook")
