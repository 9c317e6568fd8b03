"""双管 rules: places, QR codes, confirmed hours (each test fails without its rule)."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest

from app.dual import queries, services, signin
from app.dual.models import Need, Service
from app.errors import Conflict, DomainError
from app.extensions import db
from app.members.models import Member
from app.organization.models import Place
from app.timeutil import freeze

NOW = datetime(2026, 11, 20, 2, 0)  # 10:00 in Beijing


def test_dual_member_is_classified_dual(dual_member):
    assert dual_member().category == "dual"


def test_no_claim_beyond_the_places(app, dual_member, need):
    post = need(places=1)
    a, b = dual_member("甲"), dual_member("乙")
    services.claim(post, a)
    db.session.commit()
    with pytest.raises(Conflict, match="名额已满"):
        services.claim(post, b)
    db.session.rollback()
    assert db.session.get(Need, post.id).claimed == 1


def test_the_guarded_update_refuses_a_stale_need(app, dual_member, need):
    """Two requests read the need when one place was free; the second UPDATE finds none."""
    post = need(places=1)
    a, b = dual_member("甲"), dual_member("乙")
    stale = db.session.get(Need, post.id)
    db.session.execute(Need.__table__.update().values(claimed=1))  # the other request won
    assert stale.claimed == 0  # this request still believes a place is free
    with pytest.raises(Conflict):
        services.claim(stale, b)
    db.session.rollback()
    assert a.id


def test_withdraw_frees_the_place_and_claiming_twice_is_refused(app, dual_member, need):
    post = need(places=1)
    a, b = dual_member("甲"), dual_member("乙")
    services.claim(post, a)
    with pytest.raises(DomainError, match="已认领"):
        services.claim(post, a)
    services.withdraw(post, a)
    services.claim(post, b)
    db.session.commit()
    assert db.session.get(Need, post.id).claimed == 1


@pytest.mark.parametrize(
    ("minutes_later", "accepted"),
    [(0, True), (14, True), (16, False), (60 * 24, False)],
)
def test_sign_in_code_expires(app, dual_member, need, minutes_later, accepted):
    activity, m = need(places=5), dual_member()
    with freeze(NOW):
        code = signin.code_for(activity.id)
    with freeze(NOW + timedelta(minutes=minutes_later)):
        if accepted:
            assert services.sign_in(code, m).need_id == activity.id
        else:
            with pytest.raises(DomainError, match="已过期"):
                services.sign_in(code, m)


def test_sign_in_code_is_not_replayed_and_not_forged(app, dual_member, need):
    activity, m = need(places=5), dual_member()
    with freeze(NOW):
        code = signin.code_for(activity.id)
        services.sign_in(code, m)
        with pytest.raises(DomainError, match="已签到"):
            services.sign_in(code, m)
        forged = code.replace(str(activity.id), str(activity.id + 1), 1)
        with pytest.raises(DomainError, match="无效"):
            services.sign_in(forged, dual_member("乙"))


def test_sign_in_code_of_another_community_is_refused(app, dual_member, need, tree):
    activity = need(places=5)
    other = Place(kind="community", name="别的社区", code="C9")
    db.session.add(other)
    db.session.flush()
    stranger = dual_member("外社区")
    db.session.execute(
        Member.__table__.update().where(Member.id == stranger.id).values(community_id=other.id)
    )
    db.session.expire_all()
    with freeze(NOW), pytest.raises(DomainError, match="不属于"):
        services.sign_in(signin.code_for(activity.id), db.session.get(Member, stranger.id))


def test_sign_out_makes_a_pending_record_and_hours_count_only_when_confirmed(
    app, dual_member, need
):
    activity, m = need(places=5), dual_member()
    with freeze(NOW):
        services.sign_in(signin.code_for(activity.id), m)
    with freeze(NOW + timedelta(minutes=150)):
        service = services.sign_out(signin.code_for(activity.id), m)
        period = queries.current_period()
        assert service.status == "pending" and service.minutes == 150
        assert queries.figures_for([m], period)[m.id].minutes == 0
        assert queries.confirmed_minutes(m.id, period) == 0
        services.decide_service(service, True, None, "2")
        assert queries.figures_for([m], period)[m.id].hours == 2.0
        assert queries.figures_for([m], period)[m.id].activities == 1
        with pytest.raises(Conflict):
            services.decide_service(service, False, None)


def test_member_reports_are_pending_staff_records_confirmed(app, dual_member):
    m = dual_member()
    with freeze(NOW):
        mine = services.record_service(
            m,
            {"served_on": date(2026, 11, 19), "hours": 3, "content": "义诊"},
            None,
            by_staff=False,
        )
        staff = services.record_service(
            m,
            {"served_on": date(2026, 11, 18), "hours": 1.5, "content": "宣传"},
            None,
            by_staff=True,
        )
        assert (mine.status, staff.status) == ("pending", "confirmed")
        assert queries.confirmed_minutes(m.id, queries.current_period()) == 90
        with pytest.raises(DomainError, match="晚于今天"):
            services.record_service(
                m,
                {"served_on": date(2026, 11, 21), "hours": 1, "content": "x"},
                None,
                by_staff=True,
            )
    assert db.session.query(Service).count() == 2


@pytest.mark.parametrize(
    ("day", "yearly", "key", "label"),
    [
        (date(2026, 3, 1), False, "2026H1", "2026年上半年"),
        (date(2026, 7, 1), False, "2026H2", "2026年下半年"),
        (date(2026, 7, 1), True, "2026", "2026年度"),
    ],
)
def test_periods(app, day, yearly, key, label):
    period = queries.period_of(day, yearly)
    assert (period.key, period.label) == (key, label)
    assert queries.parse_period(key) == period
    assert queries.parse_period("2026H3") is None


def test_sheet_tracking_order(app, dual_member):
    m = dual_member()
    period = queries.parse_period("2026H1")
    with freeze(NOW):
        with pytest.raises(DomainError, match="评价"):
            services.mark_sent(m, period, date(2026, 11, 1), "post")
        with pytest.raises(DomainError, match="尚未发送"):
            services.mark_returned(m, period, date(2026, 11, 2), None)
        services.rate(m, period, "excellent", "积极")
        services.mark_sent(m, period, date(2026, 11, 1), "post")
        sheet = services.mark_returned(m, period, date(2026, 11, 10), "已收到")
    assert sheet.status == "returned"
