"""The member queries every feature reads: list filters from the query string, the search
clause (name, pinyin, initials, last 4, full phone or ID), the filter WHERE (with the as-of
month), keyset continuation in pinyin order, and the merged page for large scopes.

Routes and services of every feature import this module; it imports no routes.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import (
    ColumnElement,
    and_,
    false,
    func,
    literal_column,
    or_,
    select,
    tuple_,
    union_all,
)
from sqlalchemy.orm import aliased
from sqlalchemy.sql import operators
from sqlalchemy.sql.elements import BinaryExpression, BindParameter, BooleanClauseList

from app.crypto import keyed_hash, last4_hash
from app.extensions import db
from app.members import history
from app.members.identity import (
    IdNumberError,
    normalize_text,
    parse_id_number,
)
from app.members.management import MANAGED_STATUSES, away_clause
from app.members.models import (
    CATEGORIES,
    MOBILITIES,
    STATUSES,
    Member,
)
from app.members.rules import month_end
from app.members.validation import CHOICE_FIELDS
from app.organization.models import Org, Place
from app.organization.scope import (
    member_scope_filter,
)
from app.params import parse_int
from app.timeutil import local_today

PINYIN_ORDER = (Member.name_pinyin, Member.id)
# The same order as an expression, for lists of a few rows found through another index (the
# dues to confirm, the lost-contact proposals): the planner then sorts the few matches instead
# of walking the whole pinyin index and testing every member on the way (PostgreSQL did so,
# guessing the matches many: 130 ms for 42 rows).
FEW_ROWS_PINYIN_ORDER = (func.coalesce(Member.name_pinyin, ""), Member.id)


def keyset_after(after: int | None, scope: ColumnElement[bool]) -> list[ColumnElement[bool]]:
    """The condition continuing a list in pinyin order after member ``after`` (the cursor is
    an id only, no personal data in the URL; looked up inside ``scope`` so a cursor from
    outside it reveals nothing): [] for the first page or an unknown cursor."""
    if not after:
        return []
    last = db.session.execute(select(*PINYIN_ORDER).where(Member.id == after, scope)).first()
    return [tuple_(*PINYIN_ORDER) > tuple_(*last)] if last is not None else []


# Built once: creating aliases per request costs more than the list query itself.
GRID = aliased(Place, name="grid")
BUILDING = aliased(Place, name="building")
BRANCH = aliased(Org, name="branch")
# Counts stop early: a filtered list counts exactly up to a community's size (a whole street
# says "10000 多"); a search counts to 1,000 ("1000 多"): nobody reads further than that.
COUNT_CAP = 10_000
SEARCH_COUNT_CAP = 1_000
# The list's status and mobility filters: the stored values plus the headline groups
# (``app.members.management``), so every headline number links to exactly its members.
STATUS_FILTERS = {"managed": "在管（未转出、未去世、未出党）", **STATUSES}
MOBILITY_FILTERS = {**MOBILITIES, "away": "流出（已出发）"}
FILTER_KEYS = (
    "q",
    "category",
    "status",
    "community",
    "grid",
    "building",
    "branch",
    "group",
    "mobility",
    "as_of",
)
CHOICE_LABELS: dict[str, dict[str, str]] = {**CHOICE_FIELDS, "category": CATEGORIES}


def _like_prefix(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


def read_filters(args) -> dict[str, Any]:  # noqa: ANN001
    """The list filters from the query string; unknown or malformed values are dropped."""
    f: dict[str, Any] = {key: "" for key in FILTER_KEYS}
    f["q"] = normalize_text(args.get("q"))[:40]
    for key, allowed in (
        ("category", CATEGORIES),
        ("status", STATUS_FILTERS),
        ("mobility", MOBILITY_FILTERS),
    ):
        if args.get(key) in allowed:
            f[key] = args[key]
    for key in ("community", "grid", "building", "branch", "group"):
        f[key] = parse_int(args.get(key)) or ""
    as_of = (args.get("as_of") or "").strip()
    if as_of:
        try:
            if month_end(as_of) <= month_end(local_today()):
                f["as_of"] = as_of
        except ValueError:
            pass
    return f


def _prefix_range(column, prefix: str):  # noqa: ANN001, ANN202
    """``column`` starts with ``prefix`` as an index range (LIKE alone cannot use the index)."""
    upper = prefix[:-1] + chr(ord(prefix[-1]) + 1)
    return and_(column >= prefix, column < upper)


def name_start(length: int):  # noqa: ANN201
    """The first ``length`` characters of the name, written exactly as the indexes
    ``ix_member_name_first`` / ``ix_member_name_two`` are (literal numbers: with bound
    parameters neither SQLite nor PostgreSQL would match the expression to its index)."""
    return func.substr(Member.name, literal_column("1"), literal_column(str(length)))


def search_alternatives(q: str) -> list:
    """The search as alternatives, each walkable in pinyin order through its own index (the
    list takes the first page of each and merges them, see ``merged_page``); [] for no text.

    Name prefix (hanzi): the first character by equality (``ix_member_name_first``: one
    surname in pinyin order, whatever its readings), or the first two characters and a LIKE
    (``ix_member_name_two``); pinyin prefix or pinyin initials; last 4 digits of the ID or the
    phone; a full phone or ID number.
    """
    text = q.strip()
    if not text:
        return []
    compact = text.replace(" ", "")
    if len(compact) == 4 and compact[:3].isdigit() and compact[3] in "0123456789Xx":
        by_id = Member.id_last4_hash == last4_hash(compact)
        return [by_id, Member.phone_last4 == compact] if compact.isdigit() else [by_id]
    if compact.isdigit() and len(compact) == 11:
        return [Member.phone == compact]
    if len(compact) in (15, 18) and compact[:-1].isdigit():
        try:
            return [Member.id_hash == keyed_hash(parse_id_number(compact).value)]
        except IdNumberError:
            return [false()]
    if compact.isascii() and compact.isalpha():
        full, initials = " ".join(text.lower().split()), compact.lower()
        if len(compact) == 1:  # the first initial is the first letter of the pinyin
            return [_prefix_range(Member.name_pinyin, full)]
        return [
            and_(
                _prefix_range(Member.name_pinyin, full),
                Member.name_pinyin.like(_like_prefix(full), escape="\\"),
            ),
            and_(
                _prefix_range(Member.name_initials, initials),
                Member.name_initials.like(_like_prefix(initials), escape="\\"),
            ),
        ]
    if len(compact) == 1:
        return [name_start(1) == compact]
    return [
        and_(
            name_start(2) == compact[:2],
            Member.name.like(_like_prefix(compact), escape="\\"),
        )
    ]


def search_clause(q: str):  # noqa: ANN201
    """The search as one WHERE clause (None for no text): see ``search_alternatives``."""
    alternatives = search_alternatives(q)
    if not alternatives:
        return None
    return or_(*alternatives) if len(alternatives) > 1 else alternatives[0]


def filter_where(f: dict[str, Any], user, search: bool = True) -> tuple[list, Any]:  # noqa: ANN001
    """The WHERE clauses of the member list for filters ``f`` (scope first; the search text
    last, unless ``search`` is false), and the "as of" subquery to join when a month is chosen.
    Also used by bulk actions on "all matching"."""
    asof = history.as_of(f["as_of"]) if f["as_of"] else None
    category_col = asof.c.category if asof is not None else Member.category
    status_col = asof.c.status if asof is not None else Member.status
    where = [member_scope_filter(user)]
    if f["category"]:
        where.append(category_col == f["category"])
    if f["status"] == "managed":
        where.append(status_col.in_(MANAGED_STATUSES))
    elif f["status"]:
        where.append(status_col == f["status"])
    if f["mobility"] == "away":
        where.append(and_(Member.status.in_(MANAGED_STATUSES), away_clause(local_today())))
    elif f["mobility"]:
        where.append(Member.mobility == f["mobility"])
    # The most specific choice of each cascade only: its parents are implied (and the query
    # keeps the index of the child, e.g. ix_member_category_building).
    for cascade in (
        (
            ("building", Member.building_id),
            ("grid", Member.grid_id),
            ("community", Member.community_id),
        ),
        (("group", Member.group_id), ("branch", Member.branch_id)),
    ):
        for key, column in cascade:
            if f[key]:
                where.append(column == f[key])
                break
    clause = search_clause(f["q"]) if search else None
    if clause is not None:
        where.append(clause)
    return where, asof


MAX_MERGED_BRANCHES = 16


def _scope_branches(clause) -> list | None:  # noqa: ANN001
    """The scope filter as simple alternatives (``community_id = 1``, ``branch_id = 38`` …),
    or None when it is not an OR / IN of a few values (then the query is left as it is)."""
    parts = (
        list(clause.clauses)
        if isinstance(clause, BooleanClauseList) and clause.operator is operators.or_
        else [clause]
    )
    branches = []
    for part in parts:
        right = getattr(part, "right", None)
        if (
            isinstance(part, BinaryExpression)
            and part.operator is operators.in_op
            and isinstance(right, BindParameter)
            and right.expanding
            and isinstance(right.value, list | tuple)
        ):
            branches += [part.left == value for value in right.value]
        else:
            branches.append(part)
    if len(branches) < 2 or len(branches) > MAX_MERGED_BRANCHES:
        return None
    return branches


def merged_page(where: list, limit: int) -> list:
    """A page of a scope made of several alternatives (a community OR a joint branch …).

    SQLite cannot walk an OR in index order, so it would sort the whole scope for every page.
    Each alternative instead takes its first ``limit`` rows in pinyin order from its own sort
    index (``ix_member_community_sort``, ``ix_member_branch_sort``, …) and the page is the first
    ``limit`` of their union: the same rows, a few hundred index entries read instead of the
    whole scope.
    """
    branches = _scope_branches(where[0])
    if branches is None:
        return where
    rest = where[1:]
    firsts = [
        select(
            select(Member.id)
            .where(branch, *rest)
            .order_by(*PINYIN_ORDER)
            .limit(limit)
            .subquery()
            .c.id
        )
        for branch in branches
    ]
    return [Member.id.in_(union_all(*firsts))]


def merged_search(where: list, alternatives: list, limit: int) -> list:
    """A page of a search made of alternatives (pinyin OR initials, ID OR phone last 4): the
    first ``limit`` rows in pinyin order of each, through its own index, instead of sorting
    every match of the OR (``where``: the other conditions, without the search)."""
    firsts = [
        select(
            select(Member.id)
            .where(*where, alternative)
            .order_by(*PINYIN_ORDER)
            .limit(limit)
            .subquery()
            .c.id
        )
        for alternative in alternatives
    ]
    return [Member.id.in_(union_all(*firsts))]


def _list_select(category_col, status_col):  # noqa: ANN001, ANN202
    return (
        select(
            Member.id,
            Member.name,
            Member.sex,
            Member.birth_date,
            Member.id_number_enc,
            Member.phone,
            Member.mobility,
            Member.room,
            category_col.label("category"),
            status_col.label("status"),
            GRID.name.label("grid_name"),
            BUILDING.name.label("building_name"),
            BRANCH.name.label("branch_name"),
        )
        .outerjoin(GRID, GRID.id == Member.grid_id)
        .outerjoin(BUILDING, BUILDING.id == Member.building_id)
        .outerjoin(BRANCH, BRANCH.id == Member.branch_id)
    )


# The list's columns and joins on today's values, built once (statements are immutable; each
# request adds its WHERE to a copy). An "as of" list builds its own on the month's values.
LIST_SELECT = _list_select(Member.category, Member.status)
