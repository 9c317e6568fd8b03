"""Members by five-management category and by status, for a scope, now or "as of" a month.

The figures behind ``flask stats`` and the registry's counts panel; the dashboard (SPEC §10)
will reuse ``member_counts``.
"""

from __future__ import annotations

from collections import Counter
from datetime import date
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.sql.elements import True_

from app.extensions import db
from app.members import history
from app.members.management import MANAGED_STATUSES
from app.members.models import CATEGORIES, STATUSES, Member, history_changed_on
from app.members.rules import month_end

# Statuses of members the community no longer manages (not 在管): counted by status, not by
# category. The complement of ``management.MANAGED_STATUSES``, the one definition.
GONE = tuple(status for status in STATUSES if status not in MANAGED_STATUSES)


def restricting(where: list) -> list:
    """The clauses of ``where`` that restrict anything (a whole-street scope is ``true()``)."""
    return [clause for clause in where if not isinstance(clause, True_)]


def member_counts(where: list | None = None, as_of: str | date | None = None) -> dict[str, Any]:
    """{"by_category": {key: n}, "by_status": {key: n}, "total": n, "managed": n}.

    ``total`` is 在册 and ``managed`` 在管 (``app.members.management.HEADLINES``).

    ``where`` are extra clauses on ``Member`` (scope, community); ``as_of`` a month (YYYY-MM) —
    category and status then come from the history, and members created later are not counted.
    Categories count the members still in the community's care (not transferred out, deceased
    or withdrawn).
    """
    where = list(where or [])

    def counts(query) -> Counter:  # noqa: ANN001
        return Counter({(cat, st): n for cat, st, n in db.session.execute(query)})

    today = counts(
        select(Member.category, Member.status, func.count())
        .where(*where)
        .group_by(Member.status, Member.category)
    )
    if as_of:
        # Today's figures, corrected for the few members changed (or created) since that month:
        # take their values today out, put their values back as they were then (looked up only
        # for the members who existed then).
        # The members changed since: ``history.changed_since``, read from the date the
        # history triggers keep on the member row (one index range, no lookup by id).
        changed_today = counts(
            select(Member.category, Member.status, func.count())
            .where(*where, history_changed_on > month_end(as_of))
            .group_by(Member.status, Member.category)
        )
        asof = history.as_of(as_of, members=history.existing_changed_since(as_of))
        then = select(asof.c.category, asof.c.status, func.count())
        if restricting(where):  # the members of a scope; every history row has its member
            then = then.select_from(Member).join(asof, asof.c.member_id == Member.id)
        changed_then = counts(then.where(*where).group_by(asof.c.status, asof.c.category))
        today.subtract(changed_today)
        today.update(changed_then)
    rows = [(cat, st, n) for (cat, st), n in today.items() if n > 0]
    by_category = dict.fromkeys(CATEGORIES, 0)
    by_status = dict.fromkeys(STATUSES, 0)
    for cat, st, n in rows:
        by_status[st] = by_status.get(st, 0) + n
        if st not in GONE:
            by_category[cat] = by_category.get(cat, 0) + n
    return {
        "as_of": str(as_of) if as_of else None,
        "by_category": by_category,
        "by_status": by_status,
        "total": sum(by_status.values()),
        "managed": sum(by_category.values()),
    }


def render_text(counts: dict[str, Any], title: str) -> str:
    """The counts as a small Chinese text table (for the command line)."""
    lines = [title, f"党员总数：{counts['total']}（在管 {counts['managed']}）", "", "按五管分类："]
    for key, label in CATEGORIES.items():
        lines.append(f"  {label}  {counts['by_category'].get(key, 0)}")
    lines += ["", "按状态："]
    for key, label in STATUSES.items():
        lines.append(f"  {label}  {counts['by_status'].get(key, 0)}")
    return "\n".join(lines)
