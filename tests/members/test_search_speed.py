"""Member search that stays fast street-wide: a surname is an equality on the name's first
character walked in pinyin order (no sort of every match, whatever the surname's readings),
a pinyin search takes the first page of pinyin and of initials from their own indexes, and the
query count does not grow with the matches. No wall-clock time is asserted: the query plans and
the query counts are."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from app.extensions import db
from app.members.models import Member
from app.members.queries import PINYIN_ORDER, merged_search, search_alternatives, search_clause
from tests.conftest import csrf_token, search
from tests.members.test_routes import names_in


@pytest.fixture
def crowd(make_member):
    """Surnames with two readings (王 wáng / yù, 单 dān / shàn), a name starting with 玉 (yù,
    whose pinyin range the old search also walked for 王), and a crowd of 王."""
    names = ["王五", "王小明", "单田芳", "玉兰", "于谦", "汪洋", "张三"]
    return [make_member(name=n) for n in names]


SEARCHES = [
    ("王", ["王五", "王小明"]),  # not 玉兰 / 于谦 (王's second reading yù)
    ("王小", ["王小明"]),
    ("王小明", ["王小明"]),
    ("王 小", ["王小明"]),
    ("单", ["单田芳"]),
    ("玉", ["玉兰"]),
    ("wang", ["王五", "王小明", "汪洋"]),
    ("wx", ["王小明"]),
    ("yu", ["玉兰", "于谦"]),
    ("y", ["玉兰", "于谦"]),
    ("wy", ["汪洋"]),
    ("小", []),  # a prefix, not a substring
    ("%", []),
    ("王%", []),
]


@pytest.mark.parametrize(("q", "expected"), SEARCHES)
def test_search_matches(client, auth, crowd, q, expected):
    auth.login_as("admin")
    html = search(client, "/members/", q, htmx=True).get_data(as_text=True)
    assert sorted(names_in(html)) == sorted(expected)


def _plan(statement) -> str:  # noqa: ANN001
    """SQLite's plan for ``statement`` with its parameters bound as the application binds
    them (an expression index is matched only when the expression is written alike)."""
    compiled = statement.compile(db.engine)
    params = tuple(compiled.params[name] for name in compiled.positiontup or ())
    connection = db.session.connection()
    rows = connection.exec_driver_sql(f"EXPLAIN QUERY PLAN {compiled}", params).all()
    return "\n".join(str(row[-1]) for row in rows)


@pytest.mark.parametrize(("q", "index"), [("王", "ix_member_name_first"), ("王小", None)])
def test_a_surname_is_one_index_walk_in_pinyin_order(app, crowd, q, index):
    if db.engine.dialect.name != "sqlite":
        pytest.skip("SQLite's query plan")
    page = select(Member.id).where(search_clause(q)).order_by(*PINYIN_ORDER).limit(51)
    plan = _plan(page)
    if index:
        assert index in plan and "TEMP B-TREE" not in plan, plan
    else:  # two characters: the few matches of the first two are sorted
        assert "ix_member_name_two" in plan, plan


def test_pinyin_or_initials_take_each_first_page_from_its_own_index(app, crowd):
    if db.engine.dialect.name != "sqlite":
        pytest.skip("SQLite's query plan")
    alternatives = search_alternatives("wang")
    assert len(alternatives) == 2
    inner = [
        select(Member.id).where(alternative).order_by(*PINYIN_ORDER).limit(51)
        for alternative in alternatives
    ]
    # The pinyin page is a walk in order; the initials (a rarer prefix) sort their matches.
    assert "TEMP B-TREE" not in _plan(inner[0])
    assert "ix_member_name_initials" in _plan(inner[1])
    merged = merged_search([], alternatives, 51)
    ids = db.session.execute(select(Member.name).where(*merged).order_by(*PINYIN_ORDER)).scalars()
    assert sorted(ids) == ["汪洋", "王五", "王小明"]


@pytest.mark.parametrize("q", ["王", "wang", "wx", "王小"])
def test_search_query_count_does_not_grow_with_matches(client, auth, make_member, count_queries, q):
    auth.login_as("admin")
    token = csrf_token(client, "/home")

    def queries() -> int:
        with count_queries() as counter:
            response = client.post(
                "/members/", data={"csrf_token": token, "q": q}, headers={"HX-Request": "true"}
            )
        assert "共" in response.get_data(as_text=True)
        return counter.count

    make_member(name="王小明")
    queries()  # warm: scope and filter choices cached until the data change
    few = queries()
    for i in range(60):  # more than a page: the count query runs too
        make_member(name=f"王小{chr(0x4E00 + i)}")
    queries()
    many = queries()
    assert many == few + 1  # + the capped count once there is a second page
    assert many <= 4  # the user, the page, the count, the data version (the filter choices)
    html = search(client, "/members/", q, htmx=True).get_data(as_text=True)
    assert re.search(r"共 <strong>6[01]</strong> 人", html)
