"""Demo data. (Minimal for now: accounts only; extended by the trees and members.)"""

from __future__ import annotations

from collections.abc import Callable

from app.auth import services

DEMO_PASSWORD = "Linli@2026demo"  # noqa: S105 - demo only, printed on purpose
DEMO_ACCOUNTS = [
    ("admin", "社区书记（演示）", "admin", DEMO_PASSWORD),
]


def generate(size: str, seed: int, echo: Callable[[str], None]) -> dict[str, int]:
    for username, name, role, password in DEMO_ACCOUNTS:
        services.create_user(username, name, role, password, must_change_password=False)
    return {"账号": len(DEMO_ACCOUNTS)}
