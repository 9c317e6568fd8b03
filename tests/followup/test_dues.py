"""党费 pages and services: proposal vs stored, hardship reduction, payments (several months,
paid for another member), the behind list and its export, scope, SQL == Python proposal."""

from __future__ import annotations

import io
import re
from datetime import date

import pytest
from openpyxl import load_workbook
from sqlalchemy import func, select

from app.audit.models import AuditEntry
from app.extensions import db
from app.followup import dues
from app.followup.models import DuesPayment
from app.members.models import Member
from app.settings import DEFAULTS
from app.timeutil import add_months, local_today
from tests.plans import plan, reference_statistics, statements

HX = {"HX-Request": "true"}


@pytest.fixture
def staff(auth, staff_of, tree):
    user = staff_of(org=tree["committee"])
    assert auth.login(user.username).status_code == 302
    return user


def _actions():
    return [a for (a,) in db.session.execute(select(AuditEntry.action).order_by(AuditEntry.id))]


def test_sql_proposal_agrees_with_python(app, tree, make_member):
    cases = [
        ("in_service", 300000),
        ("in_service", 300001),
        ("in_service", 456789),
        ("in_service", 1000000),
        ("in_service", 1000001),
        ("in_service", 500),
        ("in_service", None),
        ("retired", 500000),
        ("retired", 500001),
        ("retired", None),
        ("laid_off", 800000),
        ("resident", 400000),
        ("resident", None),
        ("in_service", 2_000_000_000),  # large pay: BIGINT arithmetic on PostgreSQL
    ]
    ids = []
    for employment, income in cases:
        m = make_member(employment=employment, building=tree["building_a"])
        m.monthly_income_fen = income
        ids.append(m.id)
    db.session.commit()
    settings = DEFAULTS["dues_brackets"]
    expr = dues.proposed_fen_sql(settings)
    got = dict(db.session.execute(select(Member.id, expr).where(Member.id.in_(ids))).all())
    for member_id, (employment, income) in zip(ids, cases, strict=True):
        assert got[member_id] == dues.propose(employment, income, settings).fen, (
            employment,
            income,
        )


def test_member_page_shows_proposal_and_confirms_it(client, auth, staff, tree, make_member):
    m = make_member(employment="in_service", building=tree["building_a"], monthly_income_fen=456789)
    html = client.get(f"/followup/dues/members/{m.id}").get_data(as_text=True)
    assert "45.68 元/月" in html and "1%" in html and "未确定" in html
    token = auth.token(f"/followup/dues/members/{m.id}")
    response = client.post(
        f"/followup/dues/members/{m.id}/standard",
        data={"csrf_token": token, "mode": "confirm", "version": m.version},
    )
    assert response.status_code == 303
    db.session.expire_all()
    m = db.session.get(Member, m.id)
    assert m.dues_fen == 4568 and m.dues_reduced is False
    assert "dues_standard" in _actions()
    html = client.get(f"/followup/dues/members/{m.id}").get_data(as_text=True)
    assert "与测算一致" in html


def test_hardship_reduction_needs_amount_below_proposal_and_reason(
    client, auth, staff, tree, make_member
):
    m = make_member(employment="retired", building=tree["building_a"], monthly_income_fen=400000)
    token = auth.token(f"/followup/dues/members/{m.id}")
    url = f"/followup/dues/members/{m.id}/standard"
    bad = client.post(
        url,
        data={
            "csrf_token": token,
            "mode": "reduce",
            "amount": "25",
            "reason": "",
            "version": m.version,
        },
        headers=HX,
    )
    html = bad.get_data(as_text=True)
    assert bad.status_code == 422 and "<html" not in html
    assert "应低于测算金额 20.00 元" in html and "请填写减免原因" in html
    assert 'value="25"' in html  # input kept
    bad = client.post(
        url, data={"csrf_token": token, "mode": "reduce", "amount": "1.234", "version": m.version}
    )
    assert bad.status_code == 422 and "最多两位小数" in bad.get_data(as_text=True)
    ok = client.post(
        url,
        data={
            "csrf_token": token,
            "mode": "reduce",
            "amount": "0.2",
            "reason": "依靠救济生活",
            "version": m.version,
        },
    )
    assert ok.status_code == 303
    db.session.expire_all()
    m = db.session.get(Member, m.id)
    assert (m.dues_fen, m.dues_reduced, m.hardship) == (20, True, "依靠救济生活")
    # Stale version: conflict, nothing changed.
    stale = client.post(
        url, data={"csrf_token": token, "mode": "confirm", "version": m.version - 1}, headers=HX
    )
    # The 409 fragment (swapped by the page) carries the conflict message above the form.
    html = stale.get_data(as_text=True)
    assert stale.status_code == 409 and "<html" not in html
    assert "该党员信息已被他人修改，请刷新页面后重新操作" in html
    db.session.expire_all()
    assert db.session.get(Member, m.id).dues_reduced is True


def test_payment_of_two_months_advances_paid_until(client, auth, staff, tree, make_member):
    m = make_member(building=tree["building_a"], employment="in_service", monthly_income_fen=300000)
    m.dues_fen = 1500
    m.dues_paid_until = date(2026, 1, 1)
    db.session.commit()
    token = auth.token(f"/followup/dues/members/{m.id}")
    response = client.post(
        f"/followup/dues/members/{m.id}/payments",
        data={"csrf_token": token, "months": "2", "amount": "", "paid_on": "2026-03-05"},
    )
    assert response.status_code == 303
    db.session.expire_all()
    assert db.session.get(Member, m.id).dues_paid_until == date(2026, 3, 1)
    p = db.session.execute(select(DuesPayment)).scalar_one()
    assert (p.from_month, p.to_month, p.amount_fen, p.paid_by_member_id) == (
        date(2026, 2, 1),
        date(2026, 3, 1),
        3000,
        None,
    )
    entry = db.session.execute(
        select(AuditEntry).where(AuditEntry.action == "dues_payment")
    ).scalar_one()
    assert entry.after == {"dues_paid_until": "2026-03-01"}
    assert entry.detail == "交纳 2 个月（2026年2月至2026年3月），30.00 元"
    html = client.get(f"/followup/dues/members/{m.id}").get_data(as_text=True)
    assert "2026年2月 – 2026年3月" in html and "30.00 元" in html
    card = client.get(f"/members/{m.id}").get_data(as_text=True)
    assert "登记党费交纳" in card and "涉及：党费交至" in card


def test_payment_paid_by_another_member(client, auth, staff, tree, make_member):
    m = make_member(name="王小明", building=tree["building_a"])
    payer = make_member(name="王大明", building=tree["building_a"])
    token = auth.token(f"/followup/dues/members/{m.id}")
    found = client.post(
        f"/followup/dues/members/{m.id}/payers",
        data={"payer_q": "王大", "csrf_token": token},
        headers=HX,
    )
    assert "王大明" in found.get_data(as_text=True) and "王小明" not in found.get_data(as_text=True)
    response = client.post(
        f"/followup/dues/members/{m.id}/payments",
        data={
            "csrf_token": token,
            "months": "3",
            "amount": "0.60",
            "paid_on": local_today().isoformat(),
            "paid_by_member_id": str(payer.id),
        },
    )
    assert response.status_code == 303
    p = db.session.execute(select(DuesPayment)).scalar_one()
    assert p.paid_by_member_id == payer.id and p.amount_fen == 60
    # Nothing was recorded before: the payment starts with the current month.
    start = local_today().replace(day=1)
    assert p.from_month == start and p.to_month == add_months(start, 2)
    html = client.get(f"/followup/dues/members/{payer.id}").get_data(as_text=True)
    assert "为其他党员代交" in html and "王小明" in html


def test_payment_errors_are_422_next_to_the_field(client, auth, staff, tree, make_member):
    m = make_member(building=tree["building_a"])
    token = auth.token(f"/followup/dues/members/{m.id}")
    url = f"/followup/dues/members/{m.id}/payments"
    cases = [
        ({"months": "0", "paid_on": "2026-01-01"}, "一次可交 1 至 24 个月"),
        ({"months": "abc", "paid_on": "2026-01-01"}, "请填写整数"),
        ({"months": "1", "paid_on": "2026-13-01"}, "年-月-日"),
        ({"months": "1", "paid_on": "2999-01-01", "amount": "1"}, "不能晚于今天"),
        ({"months": "1", "paid_on": "2026-01-01"}, "尚未确定党费标准"),
        ({"months": "1", "paid_on": "2026-01-01", "amount": "x"}, "请填写金额"),
    ]
    for data, message in cases:
        response = client.post(url, data={"csrf_token": token, **data}, headers=HX)
        assert response.status_code == 422, data
        assert message in response.get_data(as_text=True), data
    assert db.session.execute(select(DuesPayment)).first() is None


def test_behind_list_keyset_and_export(client, auth, staff, tree, make_member):
    today = local_today()
    this_month = today.replace(day=1)
    behind = make_member(name="欠缴甲", building=tree["building_a"])
    behind.dues_paid_until = add_months(this_month, -8)
    current = make_member(name="按时乙", building=tree["building_a"])
    current.dues_paid_until = this_month
    never = make_member(name="无记录丙", building=tree["building_b"])
    db.session.commit()
    html = client.get("/followup/dues?months=6").get_data(as_text=True)
    assert "欠缴甲" in html and "无记录丙" in html and "按时乙" not in html
    assert "7 个月" in html and "无记录" in html
    assert "139" not in re.sub(r"139\*{4}\d{4}", "", html)  # phones masked
    assert never.name in html
    export = client.get("/followup/dues/export.xlsx?months=6")
    assert export.status_code == 200 and export.headers["Cache-Control"] == "no-store"
    sheet = load_workbook(io.BytesIO(export.data)).active
    values = [[c.value for c in row] for row in sheet.iter_rows()]
    assert values[0][:3] == ["姓名", "身份证号", "手机号"]
    names = {row[0] for row in values[1:]}
    assert names == {"欠缴甲", "无记录丙"}
    assert all("*" in row[1] for row in values[1:])
    assert "dues_export" in _actions()


def test_behind_list_pages_by_keyset(client, auth, staff, tree, make_member):
    for n in range(53):
        make_member(name=f"欠{n:02d}", building=tree["building_a"], commit=False)
    db.session.commit()
    first = client.get("/followup/dues", headers=HX).get_data(as_text=True)
    assert first.count('data-label="姓名"') == 50 and '共 <strong class="mono">53</strong>' in first
    more = re.search(r'hx-get="([^"]*after=\d+[^"]*)"', first).group(1).replace("&amp;", "&")
    rest = client.get(more, headers=HX).get_data(as_text=True)
    assert rest.count('data-label="姓名"') == 3 and "加载更多" not in rest


def test_unconfirmed_tab(client, auth, staff, tree, make_member):
    wrong = make_member(
        name="标准不符",
        building=tree["building_a"],
        employment="in_service",
        monthly_income_fen=600000,
    )
    wrong.dues_fen = 100
    right = make_member(
        name="标准相符",
        building=tree["building_a"],
        employment="retired",
        monthly_income_fen=600000,
    )
    right.dues_fen = 6000
    reduced = make_member(
        name="减免人",
        building=tree["building_a"],
        employment="in_service",
        monthly_income_fen=600000,
    )
    reduced.dues_fen, reduced.dues_reduced = 20, True
    db.session.commit()
    html = client.get("/followup/dues?tab=unconfirmed").get_data(as_text=True)
    assert ">标准不符<" in html and "90.00 元" in html
    assert ">标准相符<" not in html and ">减免人<" not in html, html[html.find("<tbody") :]


def test_scope_404_and_list_limited(client, auth, make_user, staff_of, tree, make_member):
    inside = make_member(name="甲网格党员", building=tree["building_a"])
    outside = make_member(name="乙网格党员", building=tree["building_b"])
    user = staff_of(place=tree["grid_a"])
    auth.login(user.username)
    assert client.get(f"/followup/dues/members/{outside.id}").status_code == 404
    token = auth.token(f"/followup/dues/members/{inside.id}")
    response = client.post(
        f"/followup/dues/members/{outside.id}/payments",
        data={"csrf_token": token, "months": "1", "amount": "1", "paid_on": "2026-01-01"},
    )
    assert response.status_code == 404
    # A payer outside the scope is refused.
    response = client.post(
        f"/followup/dues/members/{inside.id}/payments",
        data={
            "csrf_token": token,
            "months": "1",
            "amount": "1",
            "paid_on": "2026-01-01",
            "paid_by_member_id": str(outside.id),
        },
    )
    assert response.status_code == 422
    html = client.get("/followup/dues").get_data(as_text=True)
    assert "甲网格党员" in html and "乙网格党员" not in html
    token = auth.token(f"/followup/dues/members/{inside.id}")
    assert "乙网格党员" not in client.post(
        f"/followup/dues/members/{inside.id}/payers", data={"q": "乙", "csrf_token": token}
    ).get_data(as_text=True)


def test_list_query_count_does_not_grow_with_rows(
    client, auth, staff, tree, make_member, count_queries
):
    for n in range(5):
        make_member(name=f"少{n}", building=tree["building_a"], commit=False)
    db.session.commit()
    with count_queries() as few:
        client.get("/followup/dues", headers=HX)
    for n in range(30):
        make_member(name=f"多{n}", building=tree["building_a"], commit=False)
    db.session.commit()
    with count_queries() as many:
        client.get("/followup/dues", headers=HX)
    assert many.count <= few.count + 1  # +1: the total is counted when there is a next page


def test_unconfirmed_filter_agrees_with_python(app, tree, make_member):
    """Listed: paying here, not reduced, a proposal that differs from the stored amount (or no
    stored amount); the SQL test written once per member gives the same set."""
    settings = DEFAULTS["dues_brackets"]
    cases = [
        # employment, income, stored amount, reduced, status, mobility
        ("in_service", 600000, None, False, "active", "none"),
        ("in_service", 600000, 9000, False, "active", "none"),
        ("in_service", 600000, 100, False, "active", "none"),
        ("in_service", 600000, 100, True, "active", "none"),
        ("in_service", None, None, False, "active", "none"),  # no proposal: not listed
        ("in_service", None, 500, False, "active", "none"),
        ("retired", 500000, 2500, False, "lost_contact", "none"),
        ("retired", 500001, 2500, False, "flowed_out", "none"),
        ("retired", 500001, 2500, False, "transferred_out", "none"),
        ("laid_off", 800000, 20, False, "active", "none"),
        ("laid_off", 800000, None, False, "active", "none"),
        ("resident", None, 20, False, "active", "none"),
        ("resident", 0, 0, False, "active", "none"),
        ("resident", 400000, 100, False, "active", "flow_in"),
        ("in_service", 2_000_000_000, 0, False, "active", "none"),
    ]
    expected = set()
    for employment, income, stored, reduced, status, mobility in cases:
        extra = {"mobility_since": local_today(), "mobility_place": "兰州"}
        m = make_member(
            employment=employment,
            building=tree["building_a"],
            mobility=mobility,
            commit=False,
            **(extra if mobility != "none" else {}),
        )
        m.monthly_income_fen, m.dues_fen, m.dues_reduced, m.status = (
            income,
            stored,
            reduced,
            status,
        )
        fen = dues.propose(employment, income, settings).fen
        here = m.relation_location == "community" and mobility != "flow_in"
        if (
            status in dues.DUES_STATUSES
            and here
            and not reduced
            and fen is not None
            and stored != fen
        ):
            expected.add(m.id)
    db.session.commit()
    found = set(db.session.execute(select(Member.id).where(dues.unconfirmed_filter())).scalars())
    assert found == expected and expected


def test_unconfirmed_list_computes_the_proposal_from_the_index(app, tree, make_member):
    """The proposal is computed for every member from ``ix_member_dues_standard`` (every column
    it reads), not from the table rows."""
    if db.engine.dialect.name != "sqlite":
        pytest.skip("SQLite's query plan")
    make_member(building=tree["building_a"])
    reference_statistics()
    count = select(func.count()).select_from(Member).where(dues.unconfirmed_filter())
    [executed] = statements(lambda: db.session.execute(count))
    found = plan(*executed)
    assert "COVERING INDEX ix_member_dues_standard" in found, found


def test_whole_street_behind_count_reads_the_dues_index(app, tree, make_member):
    """Members behind on dues, counted over the whole street, are two ranges of
    ``ix_member_dues_behind`` (never paid / paid until before the cut-off), not every row."""
    if db.engine.dialect.name != "sqlite":
        pytest.skip("SQLite's query plan")
    make_member(building=tree["building_a"])
    reference_statistics()
    count = select(func.count()).select_from(Member).where(dues.behind_filter(local_today(), 6))
    [executed] = statements(lambda: db.session.execute(count))
    found = plan(*executed)
    assert "ix_member_dues_behind" in found, found
    assert "SCAN member" not in found and "ix_member_dues_standard" not in found, found
