"""The demo data generator: counts, valid identities, consistent trees, placement and history."""

from __future__ import annotations

from collections import Counter, defaultdict

import pytest
from sqlalchemy import func, select, text

from app import create_app
from app.auth.models import User
from app.certificates.models import Certificate
from app.crypto import decrypt, keyed_hash
from app.demo.accounts import DEMO_ACCOUNTS, DEMO_PASSWORD
from app.demo.common import add_years, apportion, chinese_number
from app.demo.places import fit_groups
from app.extensions import db
from app.followup.dues import propose
from app.members.identity import MOBILE_RE, parse_id_number
from app.members.models import Member, MemberHistory
from app.members.rules import ClassificationFacts, classify, name_keys
from app.organization.models import GridWorker, Org, Place, UserScope
from app.settings import DEFAULTS, Setting, get_setting
from app.timeutil import local_today


def release_foreign_keys() -> None:
    """Let the fixture's ``drop_all`` run on SQLite.

    The demo data has the cross-references real data has (user ↔ member, place ↔ org), and
    SQLite checks foreign keys while dropping tables that still hold rows.
    """
    db.session.rollback()
    if db.engine.dialect.name == "sqlite":
        db.session.execute(text("PRAGMA foreign_keys = OFF"))
        db.session.commit()


@pytest.fixture
def seeded(app, runner):
    result = runner.invoke(args=["demo", "seed", "--size", "small", "--seed", "7"])
    assert result.exit_code == 0, result.output
    yield result
    release_foreign_keys()


def count(model, *where) -> int:
    return db.session.execute(select(func.count()).select_from(model).where(*where)).scalar()


def test_small_seed_creates_the_expected_counts(seeded):
    assert "演示数据已生成" in seeded.output
    assert "社区 3" in seeded.output and "党员 600" in seeded.output
    places = Counter(db.session.execute(select(Place.kind)).scalars())
    assert places == {"community": 3, "grid": 12, "building": 60}
    orgs = Counter(db.session.execute(select(Org.kind)).scalars())
    assert orgs == {"street_committee": 1, "community_committee": 3, "branch": 9, "group": 30}
    assert count(Org, Org.is_joint.is_(True)) == 1
    assert count(Member) == 600
    assert count(Certificate, Certificate.status == "issued") == 60
    # Demo accounts, one more staff user per other community, a grid worker per other grid.
    assert count(User) == len(DEMO_ACCOUNTS) + 2 + 11
    assert count(GridWorker) == 12
    codes = db.session.execute(select(Place.code)).scalars().all()
    assert all(code and code.isdigit() for code in codes)
    community_codes = db.session.execute(
        select(Place.code).where(Place.kind == "community")
    ).scalars()
    assert all(9 <= len(code) <= 12 for code in community_codes)


def test_identity_numbers_are_valid_and_agree_with_the_record(seeded):
    today = local_today()
    members = db.session.execute(select(Member)).scalars().all()
    phones = [m.phone for m in members if m.phone]
    assert len(set(phones)) == len(phones)
    for m in members:
        number = decrypt(m.id_number_enc)
        parsed = parse_id_number(number)
        assert parsed.value == number
        assert parsed.birth_date == m.birth_date
        assert parsed.sex == m.sex
        assert m.id_hash == keyed_hash(number)
        assert (m.id_prefix6, m.id_last4) == (number[:6], number[-4:])
        assert (m.name_pinyin, m.name_initials) == name_keys(m.name)
        if m.phone:
            assert MOBILE_RE.match(m.phone) and m.phone_last4 == m.phone[-4:]
        age = (today - m.birth_date).days // 365.25
        assert 20 <= age <= 95
        assert m.joined_on <= today
        assert add_years(m.birth_date, 18) <= m.joined_on
        if m.member_type == "probationary":
            assert m.full_member_on is None
        else:
            assert m.joined_on < m.full_member_on <= today
        assert m.version == 1 and m.dues_fen > 0 and m.dues_paid_until.day == 1
    ethnicities = Counter(m.ethnicity for m in members)
    assert ethnicities.most_common(1)[0][0] == "汉族" and len(ethnicities) > 3
    assert 0 < sum(m.member_type == "probationary" for m in members) < 40


def test_buildings_have_at_most_one_group_in_their_own_community(seeded):
    places = {p.id: p for p in db.session.execute(select(Place)).scalars()}
    orgs = {o.id: o for o in db.session.execute(select(Org)).scalars()}
    groups_seen = Counter()
    for building in (p for p in places.values() if p.kind == "building"):
        grid = places[building.parent_id]
        assert grid.kind == "grid" and places[grid.parent_id].kind == "community"
        assert building.address and building.name in building.address
        if building.group_id is None:
            continue
        group = orgs[building.group_id]
        branch = orgs[group.parent_id]
        committee = orgs[branch.parent_id]
        assert (group.kind, branch.kind, committee.kind) == (
            "group",
            "branch",
            "community_committee",
        )
        assert committee.place_id == grid.parent_id
        groups_seen[group.id] += 1
    assert set(groups_seen) == {o.id for o in orgs.values() if o.kind == "group"}
    for committee in (o for o in orgs.values() if o.kind == "community_committee"):
        assert places[committee.place_id].kind == "community"


def test_categories_placement_and_liaisons_are_consistent(seeded):
    today = local_today()
    places = {p.id: p for p in db.session.execute(select(Place)).scalars()}
    orgs = {o.id: o for o in db.session.execute(select(Org)).scalars()}
    holders = set(db.session.execute(select(Certificate.member_id)).scalars())
    workers = defaultdict(set)
    for grid_id, user_id in db.session.execute(select(GridWorker.grid_id, GridWorker.user_id)):
        workers[grid_id].add(user_id)
    categories = Counter()
    for m in db.session.execute(select(Member)).scalars():
        facts = ClassificationFacts(
            employment=m.employment,
            relation_location=m.relation_location,
            mobility=m.mobility,
            mobility_since=m.mobility_since,
            mobility_expected_return=m.mobility_expected_return,
            has_open_certificate=m.id in holders,
        )
        assert m.category == m.category_proposed == classify(facts, today)
        categories[m.category] += 1
        building = places[m.building_id]
        assert building.parent_id == m.grid_id
        assert places[m.grid_id].parent_id == m.community_id
        if m.relation_location == "community":
            if m.group_id is not None:
                assert (m.branch_id, m.group_id) == (
                    orgs[building.group_id].parent_id,
                    building.group_id,
                )
            elif m.branch_id is not None:
                assert orgs[m.branch_id].is_joint
        else:
            assert m.branch_id is None and m.group_id is None
        if m.relation_location == "work_unit":
            assert m.employment == "in_service" and m.work_unit and m.work_unit_org
        if m.mobility == "flow_in":
            assert m.relation_location == "elsewhere" and m.relation_org_name and m.mobility_since
        if m.category == "coordinated":
            assert m.liaison_user_id in workers[m.grid_id]
    # Shaped like seed 003: about half retired (共管), every category present.
    assert set(categories) == {"direct", "dual", "shared", "takeover", "coordinated"}
    assert 0.40 < categories["shared"] / 600 < 0.55
    assert 0.08 < categories["coordinated"] / 600 < 0.15


def test_certificates_are_open_numbered_and_unguessable(seeded):
    today = local_today()
    communities = set(
        db.session.execute(select(Place.code).where(Place.kind == "community")).scalars()
    )
    certificates = db.session.execute(select(Certificate)).scalars().all()
    assert len({c.number for c in certificates}) == len(certificates)
    for c in certificates:
        assert c.status == "issued" and c.valid_until > today >= c.issued_on
        assert len(c.serial) == 32  # 192 random bits, url-safe, as the certificates feature makes
        assert len(c.short_code) == 8
        code, year, _sequence = c.number.split("-")
        assert year == str(c.issued_on.year)
        if c.direction == "out":
            assert code in communities
            assert c.issuing_org_id is not None


def test_history_has_one_open_row_per_aspect_and_some_past_changes(seeded):
    members = {m.id: m for m in db.session.execute(select(Member)).scalars()}
    rows = defaultdict(list)
    for h in db.session.execute(
        select(MemberHistory).order_by(MemberHistory.effective_from)
    ).scalars():
        rows[(h.member_id, h.aspect)].append(h)
    changed = set()
    for member_id, m in members.items():
        for aspect in ("category", "placement", "status", "mobility"):
            history = rows[(member_id, aspect)]
            assert [h.effective_to for h in history].count(None) == 1
            assert history[-1].effective_to is None
            for before, after in zip(history, history[1:], strict=False):
                assert before.effective_from < before.effective_to == after.effective_from
                changed.add(member_id)
            current = history[-1].value
            if aspect == "category":
                assert current == {"category": m.category}
            elif aspect == "status":
                assert current == {"status": m.status}
            elif aspect == "mobility":
                assert current["mobility"] == m.mobility
            else:
                assert current == {
                    "community_id": m.community_id,
                    "grid_id": m.grid_id,
                    "building_id": m.building_id,
                    "branch_id": m.branch_id,
                    "group_id": m.group_id,
                }
    assert 0.05 < len(changed) / len(members) < 0.25


def test_demo_accounts_log_in_with_their_scopes(seeded, auth):
    for username, _name, _role, password in DEMO_ACCOUNTS:
        assert password == DEMO_PASSWORD
        response = auth.login(username, password)
        assert response.status_code == 302, username
        assert "/account/password" not in response.headers["Location"]
        auth.client.post("/logout", data={"csrf_token": auth.token()})
    users = {u.username: u for u in db.session.execute(select(User)).scalars()}
    assert next(iter(DEMO_ACCOUNTS))[0] == "admin"
    staff_scope = db.session.execute(
        select(UserScope).where(UserScope.user_id == users["staff"].id)
    ).scalar_one()
    assert db.session.get(Org, staff_scope.org_id).kind == "community_committee"
    grid = db.session.execute(
        select(GridWorker).where(GridWorker.user_id == users["grid"].id)
    ).scalar_one()
    assert db.session.get(Place, grid.grid_id).kind == "grid"
    member = db.session.get(Member, users["member"].member_id)
    assert member is not None and member.grid_id == grid.grid_id
    assert users["member"].role == "member" and not users["member"].must_change_password


def test_if_empty_skips_a_second_run_and_a_plain_second_run_refuses(seeded, runner):
    result = runner.invoke(args=["demo", "seed", "--size", "small", "--if-empty"])
    assert result.exit_code == 0
    assert "跳过" in result.output and "admin" in result.output
    assert count(Member) == 600
    result = runner.invoke(args=["demo", "seed", "--size", "small"])
    assert result.exit_code != 0 and "空数据库" in result.output
    assert count(Member) == 600


def test_same_seed_gives_the_same_data(seeded):
    def snapshot():
        return db.session.execute(
            select(Member.name, Member.id_hash, Member.building_id, Member.category).order_by(
                Member.id
            )
        ).all()

    first = snapshot()
    other = create_app("testing", SQLALCHEMY_DATABASE_URI="sqlite://")
    with other.app_context():
        db.create_all()
        result = other.test_cli_runner().invoke(
            args=["demo", "seed", "--size", "small", "--seed", "7"]
        )
        assert result.exit_code == 0, result.output
        assert snapshot() == first
        release_foreign_keys()
        db.session.remove()
        db.drop_all()


def test_helpers():
    assert [chinese_number(n) for n in (1, 10, 11, 20, 23)] == [
        "一",
        "十",
        "十一",
        "二十",
        "二十三",
    ]
    parts = apportion(100, [1, 2, 1], 1)
    assert sum(parts) == 100 and parts[1] > parts[0]
    assert fit_groups(7, [1, 2, 10]) == [1, 2, 4]
    assert all(c <= s for c, s in zip(fit_groups(12, [1, 2, 10]), [1, 2, 10], strict=True))


def dues_fen(employment: str, income_fen: int | None) -> int | None:
    return propose(employment, income_fen, DEFAULTS["dues_brackets"]).fen


def test_demo_dues_follow_the_real_rules():
    # SPEC §9 brackets (the real rules the generator uses): boundaries belong to the lower
    # band, half-up to the fen.
    assert dues_fen("in_service", 300000) == 1500  # 3000 yuan × 0.5 %
    assert dues_fen("in_service", 300100) == 3001  # 3001 yuan × 1 %
    assert dues_fen("in_service", 1000000) == 15000
    assert dues_fen("retired", 500000) == 2500 and dues_fen("retired", 500100) == 5001
    assert dues_fen("laid_off", None) == 20
    assert dues_fen("in_service", 333333) == 3333  # 33.3333 → 33.33
    assert dues_fen("in_service", 333350) == 3334  # 33.335 → 33.34


def test_seeded_dues_are_what_the_dues_rules_propose(seeded):
    rules = get_setting("dues_brackets")
    members = db.session.execute(select(Member)).scalars().all()
    for m in members:
        proposal = propose(m.employment, m.monthly_income_fen, rules, on_relief=m.dues_reduced)
        assert m.dues_fen == proposal.fen, (m.employment, m.monthly_income_fen)
    assert any(m.dues_reduced for m in members)
    assert len({m.dues_fen for m in members}) > 20


def test_seed_uses_the_configured_dues_brackets(app, runner):
    brackets = {
        "in_service": [[400000, 8], [None, 12]],
        "retired": [[None, 6]],
        "flat_fen": 50,
    }
    db.session.add(Setting(key="dues_brackets", value=brackets))
    db.session.commit()
    result = runner.invoke(args=["demo", "seed", "--size", "small", "--seed", "7"])
    assert result.exit_code == 0, result.output
    try:
        members = db.session.execute(select(Member)).scalars().all()
        for m in members:
            expected = propose(
                m.employment, m.monthly_income_fen, brackets, on_relief=m.dues_reduced
            )
            assert m.dues_fen == expected.fen
        assert {m.dues_fen for m in members if m.employment == "laid_off"} == {50}
    finally:
        release_foreign_keys()


def test_takeover_work_is_populated(seeded):
    """A newcomer sees the 接管 board with content: leads per community, training, referrals and
    ticks on the 五个一 of the demo's 接管 members."""
    from app.takeover import rules
    from app.takeover.models import JobLead, JobReferral, TrainingRecord

    assert count(JobLead) == 3 * 4
    takeover = list(
        db.session.execute(select(Member.id).where(Member.category == "takeover")).scalars()
    )
    assert takeover and count(TrainingRecord) > 0 and count(JobReferral) > 0
    status = rules.five_one(takeover, local_today().year)
    assert any(how for items in status.values() for how in items.values())
