from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from flask import Blueprint, redirect, request, url_for
from sqlalchemy import or_, select

from app import timeutil
from app.audit import record
from app.audit.chain import last_verification, remember, verify
from app.audit.labels import ACTION_LABELS, OBJECT_LABELS
from app.audit.models import AuditEntry
from app.audit.objects import describe
from app.auth.models import User
from app.extensions import db
from app.htmx import render_page_or_block
from app.paging import keyset_page
from app.security import admin_required

bp = Blueprint("audit", __name__, url_prefix="/admin/audit")

DETAIL_LABELS = {
    "wrong password": "密码错误",
    "locked": "连续输错，已锁定",
    "throttled": "累计输错过多，须等待",
    "source locked": "同一来源连续输错，锁定该来源",
    "account throttled": "各来源累计输错，放慢登录",
    "unknown user": "用户名不存在",
    "inactive": "账号已停用",
    "wrong current password": "当前密码错误",
}
RESULT_LABELS = {"ok": "成功", "failed": "失败", "locked": "已锁定", "denied": "拒绝"}


def _parse_date(value: str | None) -> date | None:
    if not value:
        return None
    try:
        return datetime.strptime(value, "%Y-%m-%d").date()
    except ValueError:
        return None


def _local_day_start_utc(day: date, days_later: int = 0) -> datetime | None:
    """The stored (naive UTC) instant the local day ``day + days_later`` starts at; None at the
    ends of the calendar (0001-01-01, 9999-12-31: no bound on that side)."""
    try:
        day += timedelta(days=days_later)
        local = datetime(day.year, day.month, day.day, tzinfo=timeutil.LOCAL_TZ)
        return local.astimezone(UTC).replace(tzinfo=None)
    except OverflowError:
        return None


def _user_matches(typed: str):  # noqa: ANN202
    """Entries by a user whose name or username contains ``typed`` (or whose stored username
    is exactly ``typed``: failed logins, deleted accounts)."""
    users = select(User.id).where(
        or_(
            User.display_name.icontains(typed, autoescape=True),
            User.username.icontains(typed, autoescape=True),
        )
    )
    return or_(AuditEntry.user_id.in_(users), AuditEntry.username == typed)


def _in_label_order(actions: list[str]) -> list[str]:
    """Actions in the order of the label table (grouped by feature), unlabelled ones last."""
    order = {action: i for i, action in enumerate(ACTION_LABELS)}
    return sorted(actions, key=lambda a: (order.get(a, len(order)), a))


@bp.route("/")
@admin_required
def index():
    args = request.args
    filters = {
        "user": args.get("user", "").strip(),
        "action": args.get("action", "").strip(),
        "result": args.get("result", "").strip(),
        "object": args.get("object", "").strip(),
        "date_from": args.get("date_from", "").strip(),
        "date_to": args.get("date_to", "").strip(),
    }
    query = select(AuditEntry)
    if filters["user"]:
        query = query.where(_user_matches(filters["user"]))
    if filters["action"]:
        query = query.where(AuditEntry.action == filters["action"])
    if filters["result"]:
        query = query.where(AuditEntry.result == filters["result"])
    if filters["object"]:
        query = query.where(AuditEntry.object_type == filters["object"])
    start, end = _parse_date(filters["date_from"]), _parse_date(filters["date_to"])
    since = _local_day_start_utc(start) if start else None
    until = _local_day_start_utc(end, days_later=1) if end else None
    if since:
        query = query.where(AuditEntry.at >= since)
    if until:
        query = query.where(AuditEntry.at < until)
    page = keyset_page(query, [AuditEntry.id], descending=True, cursor=lambda row: row[0].id)
    page.rows = entries = [row[0] for row in page.rows]
    actors, objects = describe(entries)
    actions = db.session.execute(select(AuditEntry.action).distinct()).scalars().all()
    return render_page_or_block(
        "audit/index.html",
        "results",
        page=page,
        entries=entries,
        actors=actors,
        objects=objects,
        filters=filters,
        page_args={k: v for k, v in filters.items() if v},
        actions=_in_label_order(actions),
        action_labels=ACTION_LABELS,
        object_labels=OBJECT_LABELS,
        result_labels=RESULT_LABELS,
        detail_labels=DETAIL_LABELS,
    )


@bp.context_processor
def _chain_state() -> dict:
    return {"audit_chain_state": last_verification}


@bp.route("/verify", methods=["POST"])
@admin_required
def verify_chain():
    """Walk the hash chain now; the page shows the result."""
    result = verify()
    remember(result)
    record(
        "audit_verify",
        object_type="audit_chain",
        result="ok" if result.ok else "failed",
        detail=result.summary()[:500],
    )
    return redirect(url_for("audit.index"))
