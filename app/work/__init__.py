"""五管工作: the hub where each category's workflows are listed (SPEC §5, seed 003).

Each feature that builds a category's practice registers its pages here with ``register`` at import
time (like the reminder sources); the hub shows them per category with how many members of that
category staff manage in their scope.
"""

from __future__ import annotations

from dataclasses import dataclass

# What each category's management is, in the words of seed 003 (shown on the hub).
PRACTICE = {
    "direct": "划分责任区、设岗定责、结对帮扶、争做“五好”",
    "dual": "双向联系、双向服务、双向反馈：认领服务岗位，记录服务时长，向单位反馈表现",
    "shared": "社区为主、单位为辅：走访慰问、关心照顾，发挥余热",
    "takeover": "组织关系转入社区，落实“五个一”，帮助再就业",
    "coordinated": "流出地与流入地双向管理：活动证、联系函、二卡三簿",
}


@dataclass(frozen=True)
class Link:
    category: str
    label: str
    endpoint: str
    roles: tuple[str, ...] | None
    order: int


LINKS: dict[str, Link] = {}


def register(
    category: str,
    label: str,
    endpoint: str,
    *,
    roles: tuple[str, ...] | None = None,
    order: int = 50,
) -> None:
    """Show ``endpoint`` on the hub under ``category`` for ``roles`` (None: every staff role)."""
    LINKS[endpoint] = Link(category, label, endpoint, roles, order)


def links_for(role: str) -> dict[str, list[Link]]:
    by_category: dict[str, list[Link]] = {key: [] for key in PRACTICE}
    for link in sorted(LINKS.values(), key=lambda item: (item.order, item.label)):
        if link.roles is None or role in link.roles:
            by_category.setdefault(link.category, []).append(link)
    return by_category
