"""Template globals: navigation, htmx script tag, masking filters."""

from __future__ import annotations

from collections.abc import Callable

from flask import Flask, url_for
from flask_login import current_user

from app.audit.labels import action_label
from app.members.address import member_address
from app.security import htmx_cdn_url, mask_id_number, mask_name, mask_phone

# Navigation for staff: (endpoint, label, roles or None for all staff). Items whose endpoint
# is not registered yet show as "coming soon".
STAFF_NAV = [
    ("main.home", "工作台", None),
    ("registration.queue", "报到审核", None),
    ("selfservice.queue", "信息变更", None),
    ("members.index", "党员名册", None),
    ("assignment.unassigned", "待分配", None),
    ("certificates.index", "证件打印", None),
    ("followup.index", "跟踪管理", None),
    ("work.index", "五管工作", None),
    ("stats.dashboard", "统计分析", None),
    ("organization.places", "我的网格", ("staff", "grid_worker")),
    ("organization.tree", "组织与网格", ("admin",)),
    ("accounts.users", "账号与权限", ("admin",)),
    ("settings.index", "系统设置", ("admin",)),
    ("audit.index", "审计日志", ("admin",)),
]
# Count badges on nav items, loaded by htmx after the page (so no page waits for them) and
# refreshed by an event from body; registered by the feature that owns the endpoint:
# endpoint -> (badge endpoint returning the number or nothing, event name).
NAV_LIVE_BADGES: dict[str, tuple[str, str]] = {}
MEMBER_NAV = [
    ("main.home", "我的首页", None),
    ("selfservice.profile", "我的信息", None),
    ("selfservice.documents_page", "我的证件", None),
    ("registration.mine", "我的报到与外出报告", None),
    ("followup.mine", "思想汇报与组织生活", None),
    ("direct.mine", "我的岗位", None),
    ("dual.mine", "社区服务", None),
]


def init_app(app: Flask) -> None:
    @app.context_processor
    def _globals():
        return {"nav_items": _nav_items, "htmx_src": _htmx_src}

    app.json.ensure_ascii = False  # readable Chinese in tojson output
    app.jinja_env.filters["mask_id"] = mask_id_number
    app.jinja_env.filters["mask_phone"] = mask_phone
    app.jinja_env.filters["mask_name"] = mask_name
    app.jinja_env.filters["action_label"] = action_label
    app.jinja_env.globals["app_name"] = "邻里·社区党员服务中心"
    app.jinja_env.globals["member_address"] = member_address


def _nav_items() -> list[dict]:
    from flask import request

    if not current_user.is_authenticated:
        return []
    return [
        {**item, "active": request.endpoint == item["endpoint"]}
        for item in _nav_for_role(current_user.role)
    ]


def _nav_for_role(role: str) -> list[dict]:
    """The role's navigation with its URLs, built once per application and mount point."""
    from flask import current_app, request

    cache = current_app.extensions.setdefault("linli_nav", {})
    key = (role, request.script_root)
    if key not in cache:
        source = MEMBER_NAV if role == "member" else STAFF_NAV
        items = []
        for endpoint, label, roles in source:
            if roles and role not in roles:
                continue
            available = endpoint in current_app.view_functions
            items.append(
                {
                    "endpoint": endpoint,
                    "label": label,
                    "url": url_for(endpoint) if available else None,
                    "live_badge": _live_badge(endpoint) if available else None,
                }
            )
        cache[key] = items
    return cache[key]


def _live_badge(endpoint: str) -> dict | None:
    if endpoint not in NAV_LIVE_BADGES:
        return None
    badge_endpoint, event = NAV_LIVE_BADGES[endpoint]
    return {"url": url_for(badge_endpoint, nav=1), "trigger": f"load, {event} from:body"}


def _htmx_src() -> dict:
    from flask import current_app

    cfg = current_app.config
    if cfg["HTMX_LOCAL"]:
        return {"src": url_for("static", filename=f"vendor/htmx-{cfg['HTMX_VERSION']}.min.js")}
    return {
        "src": htmx_cdn_url(cfg),
        "integrity": cfg["HTMX_SRI"],
        # The installer's copy, loaded by static/js/htmx-fallback.js when the CDN fails.
        "local": url_for("static", filename=f"vendor/htmx-{cfg['HTMX_VERSION']}.min.js"),
    }


_ID_SENTINEL = 918273645


def id_url(endpoint: str, param: str, **values) -> Callable[[int], str]:
    """``url_for(endpoint, param=id)`` for the rows of a long list at the cost of one url_for:
    the URL is built once with a sentinel id and each row fills in its own."""
    head, _, tail = url_for(endpoint, **{param: _ID_SENTINEL}, **values).partition(
        str(_ID_SENTINEL)
    )
    return lambda object_id: f"{head}{object_id}{tail}"
