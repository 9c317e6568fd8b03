"""The management picture (管理关系, SPEC §6a): how one member is managed, derived in one place.

From the record (category, relation location, mobility and its trip, certificate, liaison,
status) it says where the relation is held (所属), where the member takes part in org life
(所在), where dues are paid, who is responsible for contact, whether the member is away, and
the duties the category brings. Pages show it; lists, rosters, alerts and counts use the SQL
clauses below, which state the same rules for many members at once. Nothing else re-derives
these facts from raw fields.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import date
from typing import Any

from sqlalchemy import and_, case, false, func, or_, select, true
from sqlalchemy.sql.elements import ColumnElement

from app.extensions import db
from app.members.models import Member

# 所属: where the org relation is held.
RELATION_KINDS = {
    "branch": "本社区党支部",
    "work_unit": "工作单位党组织",
    "former_unit": "原单位党组织",
    "home_org": "原籍（流出地）党组织",
}
# 所在: where the member takes part in org life.
TAKES_PART_KINDS = {
    "own": "本社区所在支部、党小组",
    "participant": "以报到党员身份参加楼栋党小组活动",
    "destination": "外出地（持活动证）",
}
# Where dues are paid.
DUES_PLACES = {
    "here": "在本社区交纳",
    "work_unit": "在工作单位党组织交纳",
    "former_unit": "在原单位党组织交纳",
    "home_org": "在原籍党组织交纳",
}
TRIP_STATES = {"planned": "计划外出", "away": "外出中", "in": "流入本社区"}
OPEN_ENDED = "长期外出（返回时间不定）"

# Statuses under the community's management (在管): not transferred out, deceased or withdrawn.
MANAGED_STATUSES = ("active", "flowed_out", "lost_contact")

# ---- the headline numbers (SPEC §10): one definition and one label each -------------------
#
# Every page that shows a scope's headline numbers (工作台, 统计分析, 党员名册, the org tree)
# counts them with ``headline_counts`` and labels them with these words, so the same scope
# shows the same number everywhere.
#
# - 在册党员 (on_roster): every record on the roster of the scope, whatever its status (the
#   member list without filters shows exactly these).
# - 在管党员 (managed): on the roster and under the community's management — not transferred
#   out, deceased or withdrawn (``MANAGED_STATUSES``).
# - 失联党员 (lost_contact): status 失联. The status is set only by opening a lost-contact case
#   and left only by closing it (``app.followup.lost_contact``), so it equals the open cases.
# - 流出党员 (away): managed members of this community on a flow-out trip that has begun
#   (``away_clause``; a planned trip is not yet 流出). They stay managed here. The member
#   status ``flowed_out`` is labelled 长期外出: a kind of status among them, not a second count
#   of 流出.
HEADLINES = {
    "on_roster": "在册党员",
    "managed": "在管党员",
    "lost_contact": "失联党员",
    "away": "流出党员",
}
HEADLINE_NOTES = {
    "on_roster": "名册中的全部党员记录（含已转出、已故、已出党）",
    "managed": "在册党员中未转出、未去世、未出党的党员",
    "lost_contact": "状态为失联的党员，每人都有一件未结案的失联登记",
    "away": "在管党员中外出流动且已出发的人数（计划外出不计）",
}
LOST_CONTACT = "lost_contact"


@dataclass(frozen=True)
class Trip:
    direction: str  # "out" (this community's member away) or "in" (here from elsewhere)
    state: str  # planned / away / in
    place: str | None
    since: date | None
    planned_return: date | None
    open_ended: bool
    occupation: str | None = None

    @property
    def state_label(self) -> str:
        return TRIP_STATES[self.state]

    @property
    def return_label(self) -> str:
        if self.open_ended:
            return OPEN_ENDED
        return self.planned_return.isoformat() if self.planned_return else "未填写"


@dataclass(frozen=True)
class Liaison:
    kind: str  # "user" (staff) or "member"
    id: int
    name: str
    phone: str

    @property
    def label(self) -> str:
        return f"{self.name}（{'工作人员' if self.kind == 'user' else '党员'}）"


@dataclass(frozen=True)
class Facts:
    """What the derivation reads: the record plus the names it shows."""

    category: str
    status: str
    relation_location: str
    relation_org_name: str | None
    work_unit: str | None
    work_unit_org: str | None
    original_unit: str | None
    mobility: str
    mobility_place: str | None
    mobility_since: date | None
    mobility_expected_return: date | None
    mobility_open_ended: bool
    mobility_occupation: str | None
    branch_name: str | None = None
    group_name: str | None = None
    building_group_name: str | None = None
    branch_has_groups: bool = True
    liaison: Liaison | None = None
    certificate_number: str | None = None


@dataclass(frozen=True)
class Picture:
    relation: str
    relation_text: str
    takes_part: str
    takes_part_text: str
    dues: str
    dues_text: str
    contact_text: str
    contact_every_months: int | None
    trip: Trip | None
    duties: tuple[str, ...] = field(default_factory=tuple)
    managed: bool = True

    @property
    def away(self) -> bool:
        return self.trip is not None and self.trip.state == "away"

    @property
    def dues_here(self) -> bool:
        return self.dues == "here"

    @property
    def participant(self) -> bool:
        return self.takes_part == "participant"


DUTIES = {
    "direct": ("每季度一次思想汇报", "设岗定责、党员责任区", "结对帮扶"),
    "dual": (
        "到社区报到（报到单）",
        "认领社区服务岗位、记录服务时长（需求表、联系卡）",
        "在职党员社区表现反馈单（每季度）、年度评价",
    ),
    "shared": ("关心生活、定期走访", "参加社区活动"),
    "takeover": (
        "编入支部，按时参加组织生活",
        "“五个一”：参加一次组织生活、写一份思想汇报、学一门技能、找一份工作、作一份贡献",
        "每月一次思想汇报",
        "再就业帮扶",
    ),
    "coordinated_out": (
        "持活动证在外出地参加组织生活",
        "联络人每 3 个月联系一次",
        "活动证按期查验，返回时交回",
    ),
    "coordinated_in": (
        "编入所在楼栋党小组参加活动",
        "联络人每 3 个月联系一次",
        "与原籍党组织双向联系、互通情况",
    ),
    "short_trip": ("外出报告", "外出期间保持联系"),
}
CONTACT_EVERY_MONTHS = 3


def trip_of(f: Facts, today: date) -> Trip | None:
    if f.mobility == "flow_out":
        planned = f.mobility_since is not None and f.mobility_since > today
        return Trip(
            "out",
            "planned" if planned else "away",
            f.mobility_place,
            f.mobility_since,
            f.mobility_expected_return,
            f.mobility_open_ended,
            f.mobility_occupation,
        )
    if f.mobility == "flow_in" or f.relation_location == "elsewhere":
        return Trip(
            "in",
            "in",
            f.mobility_place,
            f.mobility_since,
            f.mobility_expected_return,
            f.mobility_open_ended,
            f.mobility_occupation,
        )
    return None


def _own_part(f: Facts) -> str:
    if f.branch_name and f.group_name:
        return f"{f.branch_name} · {f.group_name}"
    if f.branch_name and not f.branch_has_groups:
        return f"{f.branch_name}（支部不设党小组，直接参加支部活动）"
    if f.branch_name:
        return f"{f.branch_name}（尚未编入党小组）"
    return "尚未编入支部和党小组"


def _relation(f: Facts, flow_in: bool) -> tuple[str, str]:
    """所属: where the org relation is held."""
    if flow_in:
        return "home_org", f"原籍党组织：{f.relation_org_name or '未填写'}"
    if f.relation_location == "work_unit":
        return "work_unit", f"工作单位党组织：{f.work_unit_org or f.work_unit or '未填写'}"
    if f.relation_location in ("original_unit", "elsewhere"):
        return "former_unit", f"原单位党组织：{f.relation_org_name or f.original_unit or '未填写'}"
    return "branch", f"本社区：{f.branch_name or '尚未编入支部'}"


def _takes_part(f: Facts, trip: Trip | None, relation: str) -> tuple[str, str]:
    """所在: where the member takes part in org life."""
    if trip is not None and trip.state == "away":
        card = f"，持活动证 {f.certificate_number}" if f.certificate_number else "（未办活动证）"
        where = trip.place or "未填写"
        return "destination", f"外出地：{where}{card}；在本社区记为外出，不计缺席"
    if relation in ("home_org", "work_unit"):
        group = f.group_name or f.building_group_name or "所在楼栋党小组（尚未确定）"
        prefix = "工作单位；在本社区" if relation == "work_unit" else "在本社区"
        return "participant", f"{prefix}以报到党员身份参加{group}的活动"
    return "own", _own_part(f)


def _dues(relation: str, away: bool) -> tuple[str, str]:
    """Where dues are paid: where the relation is held."""
    dues = {"home_org": "home_org", "work_unit": "work_unit", "former_unit": "former_unit"}
    place = dues.get(relation, "here")
    text = DUES_PLACES[place]
    if away and place == "here":
        text += "（外出期间可按活动证约定在外出地交纳）"
    return place, text


def _contact(f: Facts, trip: Trip | None) -> tuple[str, int | None]:
    """联系责任人 and how often a contact is due (mobile members: the liaison, every 3 months)."""
    if trip is not None:
        liaison = f.liaison.label if f.liaison else "尚未指定联络人"
        return f"联络人：{liaison}", CONTACT_EVERY_MONTHS
    group = f.group_name or f.building_group_name
    by_category = {
        "dual": f"{group or '楼栋党小组'}；向工作单位反馈表现",
        "shared": "党小组长；关心走访",
        "takeover": f"所在支部：{f.branch_name or '尚未编入'}",
    }
    return by_category.get(f.category, "党小组长、网格员"), None


def _duties(category: str, trip: Trip | None) -> tuple[str, ...]:
    if category == "coordinated":
        return DUTIES["coordinated_in" if trip and trip.direction == "in" else "coordinated_out"]
    if trip is not None and trip.direction == "out":
        return DUTIES.get(category, ()) + DUTIES["short_trip"]
    return DUTIES.get(category, ())


def derive(f: Facts, today: date) -> Picture:
    """The picture of one member (pure: everything it needs is in ``f``)."""
    trip = trip_of(f, today)
    relation = _relation(f, trip is not None and trip.direction == "in")
    away = trip is not None and trip.state == "away"
    return Picture(
        *relation,
        *_takes_part(f, trip, relation[0]),
        *_dues(relation[0], away),
        *_contact(f, trip),
        trip,
        _duties(f.category, trip),
        f.status in MANAGED_STATUSES,
    )


# ---- loading one member's picture ------------------------------------------------------------


def liaison_of(member: Member) -> Liaison | None:
    """The member's liaison (a staff user or another member): the one place that reads it."""
    from app.auth.models import User

    if member.liaison_member_id:
        row = db.session.execute(
            select(Member.name, Member.phone).where(Member.id == member.liaison_member_id)
        ).one_or_none()
        if row is not None:
            return Liaison("member", member.liaison_member_id, row.name, row.phone or "")
    if member.liaison_user_id:
        user = db.session.get(User, member.liaison_user_id)
        if user is not None:
            return Liaison("user", user.id, user.display_name, getattr(user, "phone", None) or "")
    return None


def record_facts(member: Member) -> Facts:
    """The facts the member's own record holds (no query): enough for ``trip_of``."""
    return Facts(
        category=member.category,
        status=member.status,
        relation_location=member.relation_location or "community",
        relation_org_name=member.relation_org_name,
        work_unit=member.work_unit,
        work_unit_org=member.work_unit_org,
        original_unit=member.original_unit,
        mobility=member.mobility or "none",
        mobility_place=member.mobility_place,
        mobility_since=member.mobility_since,
        mobility_expected_return=member.mobility_expected_return,
        mobility_open_ended=bool(getattr(member, "mobility_open_ended", False)),
        mobility_occupation=member.mobility_occupation,
    )


def trip_now(member: Member, today: date) -> Trip | None:
    """The member's trip (away from here, or here from elsewhere) from the record alone."""
    return trip_of(record_facts(member), today)


def facts_of(member: Member) -> Facts:
    from app.certificates.models import Certificate
    from app.organization.models import Org, Place

    names = dict(
        db.session.execute(
            select(Org.id, Org.name).where(
                Org.id.in_([i for i in (member.branch_id, member.group_id) if i])
            )
        ).all()
    )
    building_group = None
    if member.building_id and not member.group_id:
        building_group = db.session.execute(
            select(Org.name)
            .join(Place, Place.group_id == Org.id)
            .where(Place.id == member.building_id)
        ).scalar()
    number = None
    if member.id is not None:
        number = db.session.execute(
            select(Certificate.number).where(
                Certificate.member_id == member.id,
                Certificate.status == "issued",
                Certificate.direction == "out",
            )
        ).scalar()
    return replace(
        record_facts(member),
        branch_name=names.get(member.branch_id),
        group_name=names.get(member.group_id),
        building_group_name=building_group,
        branch_has_groups=not member.branch_id
        or db.session.execute(
            select(Org.id).where(
                Org.parent_id == member.branch_id, Org.kind == "group", Org.retired_at.is_(None)
            )
        ).first()
        is not None,
        liaison=liaison_of(member),
        certificate_number=number,
    )


def picture_of(member: Member, today: date) -> Picture:
    return derive(facts_of(member), today)


# ---- the same rules for many members (SQL) ---------------------------------------------------


def away_clause(today: date) -> ColumnElement[bool]:
    """Members of this community away on a trip that has started (planned trips are not)."""
    return and_(
        Member.mobility == "flow_out",
        Member.mobility_since.is_not(None),
        Member.mobility_since <= today,
    )


def flow_in_clause() -> ColumnElement[bool]:
    return or_(Member.mobility == "flow_in", Member.relation_location == "elsewhere")


def dues_here_clause() -> ColumnElement[bool]:
    """Members who pay their dues here (the relation is held by the community's branch)."""
    return and_(
        Member.relation_location == "community",
        Member.mobility != "flow_in",
    )


def participant_clause(building_ids: Any) -> ColumnElement[bool]:
    """报到 participants of a building group: members living in its buildings whose relation
    is held elsewhere (双管 at their work unit, flow-in members at home)."""
    if building_ids is None:
        return false()
    return and_(
        Member.building_id.in_(building_ids),
        or_(Member.relation_location == "work_unit", flow_in_clause()),
    )


def managed_clause() -> ColumnElement[bool]:
    """在管: under the community's management (not transferred out, deceased or withdrawn)."""
    return Member.status.in_(MANAGED_STATUSES)


def on_roster_clause() -> ColumnElement[bool]:
    """在册: every record on the roster (the member list without filters)."""
    return true()


def lost_contact_clause() -> ColumnElement[bool]:
    """失联: status lost_contact (set and cleared only through a lost-contact case)."""
    return Member.status == LOST_CONTACT


def headline_clauses(today: date) -> dict[str, ColumnElement[bool]]:
    """The condition of each headline number, in ``HEADLINES`` order."""
    return {
        "on_roster": on_roster_clause(),
        "managed": managed_clause(),
        "lost_contact": lost_contact_clause(),
        "away": and_(managed_clause(), away_clause(today)),
    }


@dataclass(frozen=True)
class Headline:
    key: str
    label: str
    value: int
    note: str


def headline_counts(where: list, today: date) -> tuple[Headline, ...]:
    """The headline numbers of the members matching ``where`` (scope, focus), one query."""
    clauses = headline_clauses(today)
    row = db.session.execute(
        select(
            *(func.coalesce(func.sum(case((c, 1), else_=0)), 0) for c in clauses.values())
        ).where(*where)
    ).one()
    return make_headlines(dict(zip(clauses, (int(n) for n in row), strict=True)))


def make_headlines(values: dict[str, int]) -> tuple[Headline, ...]:
    """Headlines from numbers counted elsewhere with the same clauses (e.g. "as of" a month,
    from the history); keys missing from ``values`` are left out, in ``HEADLINES`` order."""
    return tuple(
        Headline(key, label, values[key], HEADLINE_NOTES[key])
        for key, label in HEADLINES.items()
        if key in values
    )


def headline_dict(headlines: tuple[Headline, ...]) -> dict[str, int]:
    return {h.key: h.value for h in headlines}


# ---- which branch a member belongs to (assignment, SPEC §7) ----------------------------------
#
# "党小组建在楼栋": a member's building proposes its party group and the group's branch. A
# member who is already in a branch of his own — a 联合党支部 (members of small non-public
# enterprises and social organizations), or any branch that is not the branch of his building's
# group — stays there until staff deliberately move him; a building's proposal never moves him
# by itself. A branch without any party group (a joint branch, typically) holds its members
# directly: they are not missing a group.


def own_branch(branch_id: int | None, is_joint: bool, building_branch_id: int | None) -> bool:
    """The member is in a branch of his own (joint, or not his building's group's branch)."""
    return branch_id is not None and (bool(is_joint) or branch_id != building_branch_id)


def groupless_branch_clause() -> ColumnElement[bool]:
    """Members of a branch that has no (live) party group at all: they take part in org life
    with the branch itself, so no group is missing."""
    from sqlalchemy import exists
    from sqlalchemy.orm import aliased

    from app.organization.models import Org

    group = aliased(Org, name="branch_group")
    return and_(
        Member.branch_id.is_not(None),
        ~exists().where(
            group.parent_id == Member.branch_id,
            group.kind == "group",
            group.retired_at.is_(None),
        ),
    )
