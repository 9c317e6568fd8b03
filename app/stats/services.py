"""The dashboard's figures (SPEC §10): one scope (the user's, or one community / branch / grid
inside it), a few grouped queries, each figure with the URL of the list behind it.

Every panel is a tuple of ``Row`` (label, number, link). Category and status can be shown as of
the end of a past month (``app.members.stats.member_counts``); the other panels show today.
Figures are cached per scope, focus and month until the next change to members, history,
certificates, registrations or the audit log (every change is audited), and until midnight.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from flask import url_for
from sqlalchemy import Index, and_, case, func, or_, select
from sqlalchemy.orm import aliased

from app.assignment import services as assignment_services
from app.assignment import worklist
from app.cache import cached
from app.certificates.models import CERTIFICATE_STATUSES, Certificate
from app.extensions import db
from app.members import management
from app.members.models import CATEGORIES, STATUSES, Member
from app.members.stats import GONE, member_counts
from app.organization.models import Org, Place
from app.organization.scope import (
    member_scope_filter,
    org_scope_filter,
    place_scope_filter,
    scope_cached,
    scope_of,
)
from app.registration import services as registration_services
from app.registration.models import REGISTRATION_KINDS, Registration
from app.timeutil import local_today

FOCUS_KINDS = {"community": "社区", "branch": "党支部", "grid": "网格"}
TOP_ROWS = 10  # rows of the by-branch and by-grid charts before "show all"
UNASSIGNED = "__none__"


@dataclass(frozen=True)
class Focus:
    """One community, branch or grid inside the user's scope that the dashboard narrows to."""

    kind: str
    id: int
    name: str
    community_id: int | None = None  # a grid's community (the registration queue filters by it)

    @property
    def token(self) -> str:
        return f"{self.kind}-{self.id}"

    @property
    def label(self) -> str:
        return f"{FOCUS_KINDS[self.kind]}：{self.name}"


@dataclass(frozen=True)
class Choice:
    token: str
    name: str


@dataclass(frozen=True)
class Row:
    key: str
    label: str
    value: int
    href: str | None = None


@dataclass(frozen=True)
class Panel:
    key: str
    title: str
    rows: tuple[Row, ...]
    unit: str = "人"
    total: int | None = None
    as_of: str | None = None  # the month shown; None: today
    note: str = ""
    more_href: str | None = None  # "show all" (by branch / by grid)
    hidden: int = 0  # rows left out of a top-N chart

    @property
    def max_value(self) -> int:
        return max((row.value for row in self.rows), default=0)


@dataclass
class Dashboard:
    panels: list[Panel] = field(default_factory=list)
    managed: int = 0
    total: int = 0
    headlines: tuple[management.Headline, ...] = ()
    as_of: str | None = None
    link_note: str = ""

    def panel(self, key: str) -> Panel:
        return next(p for p in self.panels if p.key == key)


# ---- the scope picker -------------------------------------------------------------------------


def focus_choices(user: Any) -> dict[str, list[Choice]]:
    """Communities, branches and grids inside the user's scope (cached until the trees or the
    scopes change)."""
    return scope_cached(user, "stats_focus_choices", (), lambda: _load_choices(user))


def _load_choices(user: Any) -> dict[str, list[Choice]]:
    communities = db.session.execute(
        select(Place.id, Place.name)
        .where(Place.kind == "community", place_scope_filter(user))
        .order_by(Place.position, Place.id)
    ).all()
    community_names = dict(communities)
    grids = db.session.execute(
        select(Place.id, Place.name, Place.parent_id)
        .where(Place.kind == "grid", place_scope_filter(user))
        .order_by(Place.parent_id, Place.position, Place.id)
    ).all()
    scope = scope_of(user)
    branch_clause = org_scope_filter(user)
    if not scope.everything and scope.community_ids:
        # A community's staff see its branches even when their scope is the place, not the org.
        committees = select(Org.id).where(Org.place_id.in_(sorted(scope.community_ids)))
        branch_clause = or_(branch_clause, Org.parent_id.in_(committees))
    branches = db.session.execute(
        select(Org.id, Org.name)
        .where(Org.kind == "branch", branch_clause)
        .order_by(Org.parent_id, Org.position, Org.id)
    ).all()
    several = len({parent for _, _, parent in grids}) > 1
    if several:
        missing = {parent for _, _, parent in grids} - set(community_names)
        if missing:
            community_names.update(
                db.session.execute(
                    select(Place.id, Place.name).where(Place.id.in_(sorted(missing)))
                ).all()
            )
    return {
        "community": [Choice(f"community-{i}", name) for i, name in communities],
        "branch": [Choice(f"branch-{i}", name) for i, name in branches],
        "grid": [
            Choice(
                f"grid-{i}",
                f"{community_names.get(parent, '')} · {name}" if several else name,
            )
            for i, name, parent in grids
        ],
    }


def parse_focus(raw: str | None) -> tuple[str, int] | None:
    """``grid-12`` → ("grid", 12); anything malformed → None (the whole scope)."""
    kind, _, number = (raw or "").strip().partition("-")
    if kind not in FOCUS_KINDS or not number.isdigit() or not 0 < int(number) < 2**62:
        return None
    return kind, int(number)


def resolve_focus(user: Any, parsed: tuple[str, int]) -> Focus | None:
    """The parsed focus if it lies inside the user's scope, else None (the route answers 404)."""
    kind, node_id = parsed
    token = f"{kind}-{node_id}"
    if not any(c.token == token for c in focus_choices(user)[kind]):
        return None
    model = Org if kind == "branch" else Place
    row = db.session.execute(select(model.name, model.parent_id).where(model.id == node_id)).one()
    return Focus(kind, node_id, row.name, row.parent_id if kind == "grid" else None)


# ---- the figures ------------------------------------------------------------------------------


def focus_clause(focus: Focus | None) -> list:
    if focus is None:
        return []
    column = {
        "community": Member.community_id,
        "branch": Member.branch_id,
        "grid": Member.grid_id,
    }[focus.kind]
    return [column == focus.id]


def member_where(user: Any, focus: Focus | None) -> list:
    return [member_scope_filter(user), *focus_clause(focus)]


def dashboard(user: Any, focus: Focus | None, as_of: str | None, show: str = "") -> Dashboard:
    """All panels for the user's scope narrowed to ``focus``; cached until the data changes."""
    return cached(
        "stats_dashboard",
        (scope_of(user), focus, as_of, show, local_today()),
        lambda: _compute(user, focus, as_of, show),
    )


def _member_link(focus: Focus | None, **filters: Any) -> str | None:
    """The member list with the same filters; None when the focus cannot be expressed there."""
    if focus is not None and focus.kind == "community":
        return None  # the member list has no community filter
    if focus is not None:
        filters[focus.kind] = focus.id
    return url_for("members.index", **{k: v for k, v in filters.items() if v})


def _coded_panel(
    column: str,
    title: str,
    labels: dict[str, str],
    counts: dict[str, int],
    focus: Focus | None,
    as_of: str | None,
    **panel: Any,
) -> Panel:
    """Member counts by the codes of one column (category, status), each row linked to the
    member list filtered by its code."""
    rows = tuple(
        Row(code, label, counts.get(code, 0), _member_link(focus, **{column: code}, as_of=as_of))
        for code, label in labels.items()
    )
    return Panel(column, title, rows, as_of=as_of, **panel)


def _compute(user: Any, focus: Focus | None, as_of: str | None, show: str) -> Dashboard:
    where = member_where(user, focus)
    counts = member_counts(where, as_of)
    dash = Dashboard(managed=counts["managed"], total=counts["total"], as_of=as_of)
    dash.panels.append(
        _coded_panel(
            "category",
            "按五管分类",
            CATEGORIES,
            counts["by_category"],
            focus,
            as_of,
            total=counts["managed"],
            note="只统计在管党员（未转出、未去世、未出党）。",
        )
    )
    dash.panels.append(
        _coded_panel(
            "status", "按状态", STATUSES, counts["by_status"], focus, as_of, total=counts["total"]
        )
    )
    scanned = _one_pass_counts(where)
    # The headline numbers (management.HEADLINES): as of the month when one is chosen (流出
    # is today's only, so it is left out then).
    values = {
        "on_roster": counts["total"],
        "managed": counts["managed"],
        "lost_contact": counts["by_status"].get(management.LOST_CONTACT, 0),
    }
    if not as_of:
        values["away"] = scanned["away"]
    dash.headlines = management.make_headlines(values)
    dash.panels.append(_mobility_panel(scanned, focus))
    wide = focus is None and scope_of(user).everything
    dash.panels += _placement_panels(where, focus, show, wide)
    dash.panels.append(_registration_panel(user, focus))
    dash.panels.append(_certificate_panel(user, focus))
    dash.panels.append(_unassigned_panel(scanned, focus))
    if focus is not None and focus.kind == "community":
        dash.link_note = "党员名册和证件列表暂不能按社区筛选：点击数字可查看网格或党支部的名单。"
    return dash


# Every column ``_one_pass_counts`` reads (migration 0028): the whole street's pass scans this
# narrow index, not the wide member rows; a community scope is a range of its first column.
Index(
    "ix_member_dashboard_pass",
    Member.community_id,
    Member.mobility,
    Member.category,
    Member.status,
    Member.group_id,
    Member.building_id,
    Member.relation_location,
    Member.branch_id,
    Member.mobility_since,
    Member.liaison_user_id,
    Member.liaison_member_id,
)


def _one_pass_counts(where: list) -> dict[str, int]:
    """Flow-in / flow-out and the unassigned counters in one pass over the scope's members (no
    index serves them, so one scan instead of one per figure).

    The scan first keeps the few members any counter can match — mobile, or missing a
    building or a group, or coordinated (``assignment.services.unassigned_clause`` asks no
    more than that; a test compares the counters with the work list's) — and only those are
    tested against each figure's full condition.
    """
    managed = management.managed_clause()
    conditions = {
        "flow_in": and_(Member.mobility == "flow_in", managed),
        "away": management.headline_clauses(local_today())["away"],
        **{
            f"unassigned_{kind}": worklist.unassigned_clause(kind, False)
            for kind in assignment_services.UNASSIGNED_KINDS
        },
    }
    candidates = or_(
        Member.mobility != "none",
        func.coalesce(Member.building_id, 0) == 0,
        func.coalesce(Member.group_id, 0) == 0,
        Member.category == "coordinated",
    )
    row = db.session.execute(
        select(
            *(func.coalesce(func.sum(case((c, 1), else_=0)), 0) for c in conditions.values())
        ).where(*where, candidates)
    ).one()
    return {key: int(n) for key, n in zip(conditions, row, strict=True)}


def _mobility_panel(found: dict[str, int], focus: Focus | None) -> Panel:
    rows = (
        Row("flow_in", "流入党员", found["flow_in"], _member_link(focus, mobility="flow_in")),
        Row(
            "away",
            management.HEADLINES["away"],
            found["away"],
            _member_link(focus, mobility="away"),
        ),
    )
    return Panel(
        "mobility",
        "流入与流出",
        rows,
        total=sum(r.value for r in rows),
        note="在管党员中流入本社区的人数，和外出流动已出发的人数（计划外出不计）。"
        "“长期外出”是党员状态：这样的党员外出已出发的，计入流出党员，不另计。",
    )


def _placement_counts(where: list, wide: bool) -> dict[str, dict[int | None, int]]:
    """Managed members per branch and per grid.

    ``wide`` (the whole street): all members from the two sort indexes alone, less the few no
    longer managed (found through the status index). A narrower scope reads its members'
    rows anyway, so one grouped query gives both.
    """
    if not wide:
        found: dict[str, dict[int | None, int]] = {"branch": {}, "grid": {}}
        for branch_id, grid_id, n in db.session.execute(
            select(Member.branch_id, Member.grid_id, func.count())
            .where(*where, Member.status.not_in(GONE))
            .group_by(Member.branch_id, Member.grid_id)
        ).all():
            found["branch"][branch_id] = found["branch"].get(branch_id, 0) + n
            found["grid"][grid_id] = found["grid"].get(grid_id, 0) + n
        return found
    gone = aliased(Member)
    gone_ids = select(gone.id).where(gone.status.in_(GONE))
    found = {}
    for kind, column in (("branch", Member.branch_id), ("grid", Member.grid_id)):
        counts: dict[int | None, int] = dict(
            db.session.execute(select(column, func.count()).where(*where).group_by(column)).all()
        )
        for node_id, n in db.session.execute(
            select(column, func.count()).where(*where, Member.id.in_(gone_ids)).group_by(column)
        ).all():
            counts[node_id] = counts.get(node_id, 0) - n
        found[kind] = counts
    return found


def _placement_panels(
    where: list, focus: Focus | None, show: str, wide: bool = False
) -> list[Panel]:
    """Managed members by branch and by grid: the top rows, or all with ``show``."""
    panels = []
    placement = _placement_counts(where, wide)
    for kind, model, title, missing in (
        ("branch", Org, "按党支部", "未编入党支部"),
        ("grid", Place, "按网格", "未分配网格"),
    ):
        counts = placement[kind]
        names = _names(model, {k for k in counts if k})
        ranked = sorted(
            ((k, n) for k, n in counts.items() if k and n > 0),
            key=lambda item: (-item[1], names.get(item[0], "")),
        )
        show_all = show == kind
        shown = ranked if show_all else ranked[:TOP_ROWS]
        rows = [
            Row(
                str(node_id),
                names.get(node_id, "—"),
                n,
                _member_link(
                    focus if focus is not None and focus.kind not in (kind, "community") else None,
                    **{kind: node_id},
                ),
            )
            for node_id, n in shown
        ]
        if counts.get(None, 0) > 0:
            rows.append(Row(UNASSIGNED, missing, counts[None], None))
        hidden = len(ranked) - len(shown)
        panels.append(
            Panel(
                kind,
                title,
                tuple(rows),
                total=sum(n for n in counts.values() if n > 0),
                hidden=hidden,
                note=f"在管党员最多的 {TOP_ROWS} 个{FOCUS_KINDS[kind]}。" if hidden else "",
            )
        )
    return panels


def _names(model: Any, ids: set[int]) -> dict[int, str]:
    if not ids:
        return {}
    return dict(
        db.session.execute(select(model.id, model.name).where(model.id.in_(sorted(ids)))).all()
    )


def _registration_panel(user: Any, focus: Focus | None) -> Panel:
    where = [registration_services.scope_filter(user), Registration.status == "submitted"]
    community = None
    if focus is not None and focus.kind == "branch":
        return Panel(
            "registrations",
            "待审核报到",
            (),
            unit="件",
            note="报到申请按社区和网格登记，不分党支部。",
        )
    if focus is not None and focus.kind == "community":
        where.append(Registration.community_id == focus.id)
        community = focus.id
    elif focus is not None:
        where.append(Registration.grid_id == focus.id)
        community = focus.community_id
    found = dict(
        db.session.execute(
            select(Registration.kind, func.count()).where(*where).group_by(Registration.kind)
        ).all()
    )
    rows = tuple(
        Row(
            key,
            label,
            found.get(key, 0),
            url_for("registration.queue", status="submitted", kind=key, community=community),
        )
        for key, label in REGISTRATION_KINDS.items()
    )
    return Panel(
        "registrations",
        "待审核报到",
        rows,
        unit="件",
        total=sum(r.value for r in rows),
        note="点击数字打开报到审核队列（该队列按社区筛选）。"
        if focus and focus.kind == "grid"
        else "",
    )


def _certificate_panel(user: Any, focus: Focus | None) -> Panel:
    today = local_today()
    overdue = and_(Certificate.status == "issued", Certificate.next_verification_due < today)
    query = select(
        Certificate.status,
        func.count(),
        func.coalesce(func.sum(case((overdue, 1), else_=0)), 0),
    ).group_by(Certificate.status)
    if not (scope_of(user).everything and focus is None):
        # From the scope's members to their certificates (member_id index), not the reverse.
        query = query.where(
            Certificate.member_id.in_(select(Member.id).where(*member_where(user, focus)))
        )
    found = {status: (n, late) for status, n, late in db.session.execute(query).all()}
    link_focus = {}
    if focus is not None and focus.kind in ("branch", "grid"):
        link_focus = {focus.kind: focus.id}

    def link(**args: Any) -> str | None:
        if focus is not None and focus.kind == "community":
            return None
        return url_for("certificates.index", **args, **link_focus)

    rows = [
        Row(key, label, found.get(key, (0, 0))[0], link(status=key))
        for key, label in CERTIFICATE_STATUSES.items()
    ]
    rows.append(
        Row(
            "overdue",
            "有效但核验逾期",
            sum(late for _, late in found.values()),
            link(due="overdue"),
        )
    )
    return Panel(
        "certificates",
        "流动党员活动证",
        tuple(rows),
        unit="本",
        total=sum(n for n, _ in found.values()),
        note="“核验逾期”是有效证件中已过核验日期的部分。",
    )


def _unassigned_panel(found: dict[str, int], focus: Focus | None) -> Panel:
    """The same counters as the assignment work list (``unassigned_clause``)."""
    rows = tuple(
        Row(key, label, found[f"unassigned_{key}"], url_for("assignment.unassigned", kind=key))
        for key, label in assignment_services.UNASSIGNED_KINDS.items()
    )
    return Panel(
        "unassigned",
        "待分配",
        rows,
        note="一名党员可能同时缺多项。"
        + ("点击数字打开您管辖范围内的待分配名单。" if focus else ""),
    )


# ---- export -----------------------------------------------------------------------------------


def export_rows(dash: Dashboard, scope_label: str) -> list[list[str]]:
    """The dashboard as spreadsheet rows: 范围, 面板, 项目, 数量, 单位, 时点."""
    rows = []
    for panel in dash.panels:
        when = f"{panel.as_of} 月末" if panel.as_of else f"{local_today():%Y-%m-%d}"
        for row in panel.rows:
            rows.append([scope_label, panel.title, row.label, str(row.value), panel.unit, when])
        if panel.total is not None:
            rows.append([scope_label, panel.title, "合计", str(panel.total), panel.unit, when])
    return rows


EXPORT_HEADER = ["范围", "统计项", "项目", "数量", "单位", "时点"]
