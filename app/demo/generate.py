"""Demo data: one street's org and places trees, staff and grid workers, members with history,
and open mobile-member certificates.

Deterministic for a given seed and day (``random.Random``; only ciphertexts, certificate serials
and password hashes differ between runs). Rows are written with bulk inserts and explicit
primary keys, so the reference size of SPEC §14 (100,000 members) takes well under two minutes.
"""

from __future__ import annotations

import calendar
import random
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from datetime import time as dtime
from itertools import accumulate

from sqlalchemy import func, insert, select, text

from app.auth import services
from app.auth.models import User
from app.auth.passwords import hash_password
from app.certificates.models import Certificate
from app.certificates.services import new_serial, new_short_code
from app.crypto import encrypt, keyed_hash, last4_hash
from app.demo import data
from app.demo.followup import build_followup
from app.extensions import db
from app.members.identity import check_char
from app.members.models import Member, MemberHistory
from app.members.rules import ClassificationFacts, classify, name_keys
from app.organization.models import GridWorker, Org, Place, UserScope
from app.settings import DEFAULTS
from app.timeutil import local_today

DEMO_PASSWORD = "Linli@2026demo"  # noqa: S105 - demo only, printed on purpose
DEMO_ACCOUNTS = [
    ("admin", "社区书记（演示）", "admin", DEMO_PASSWORD),
    ("staff", "社区党务工作者（演示）", "staff", DEMO_PASSWORD),
    ("grid", "网格员（演示）", "grid_worker", DEMO_PASSWORD),
    ("member", "党员（演示）", "member", DEMO_PASSWORD),
]


@dataclass(frozen=True)
class Size:
    communities: int
    grids: int
    buildings: int
    branches: int  # including the joint branches
    joint_branches: int
    groups: int
    members: int
    certificates: int
    staff_per_community: int


SIZES = {
    "small": Size(3, 12, 60, 9, 1, 30, 600, 60, 1),
    # SPEC §14 reference size.
    "reference": Size(30, 500, 5_000, 300, 10, 1_000, 100_000, 10_000, 2),
}

# Member profiles and their shares, shaped like seed 003 (1952 members: 927 retired, 214
# in service, 128 laid off, 173 other take-over, 170 mobile); mobile members are a little more
# frequent so that one member in ten can hold an open certificate (SPEC §14).
PROFILE_SHARES: list[tuple[str, float]] = [
    ("retired", 0.470),
    ("dual", 0.110),
    ("laid_off", 0.065),
    ("contract_terminated", 0.030),
    ("waiting_post", 0.020),
    ("unplaced_veteran", 0.015),
    ("unemployed_graduate", 0.020),
    ("flow_out", 0.065),
    ("flow_in", 0.045),
    ("flow_out_short", 0.005),
    ("in_service_local", 0.050),
    ("resident", 0.105),
]
AGE_RANGES = {  # (youngest, oldest, most common)
    "retired": (55, 95, 68),
    "dual": (23, 59, 40),
    "laid_off": (40, 62, 52),
    "contract_terminated": (28, 55, 42),
    "waiting_post": (30, 55, 45),
    "unplaced_veteran": (22, 35, 26),
    "unemployed_graduate": (21, 28, 23),
    "flow_out": (22, 62, 40),
    "flow_in": (22, 55, 36),
    "flow_out_short": (25, 65, 45),
    "in_service_local": (22, 58, 35),
    "resident": (20, 90, 50),
}
PROBATIONARY_SHARE = 0.03
LOST_CONTACT_SHARE = 0.015
MOVED_SHARE = 0.03  # members whose placement changed some months ago
CHUNK = 5_000
# Ethnic groups whose names differ from Han names: their ID numbers come from their home areas.
NAMED_APART = {"藏族", "维吾尔族", "哈萨克族"}
LOST_CONTACT_NOTES = [
    "口袋党员：持组织关系介绍信未报到，正在核实",
    "花名册党员：电话停机，家属称外出务工，去向不明",
    "隐蔽党员：经走访了解到其党员身份，尚未参加组织生活",
    "空挂党员：组织关系在社区，长期未参加组织生活",
]
HARDSHIPS = [
    ("低保户", "每月最低生活保障金"),
    ("本人患重病，医疗负担重", "临时救助 2000 元"),
    ("残疾，行动不便", "春节慰问 500 元"),
    ("独居老人", "社区定期走访"),
]

Echo = Callable[[str], None]


# ---- small helpers -------------------------------------------------------------------------


def chinese_number(n: int) -> str:
    """1 → 一, 10 → 十, 17 → 十七, 23 → 二十三 (1–99)."""
    digits = "零一二三四五六七八九"
    tens, ones = divmod(n, 10)
    if tens == 0:
        return digits[ones]
    head = "" if tens == 1 else digits[tens]
    return head + "十" + (digits[ones] if ones else "")


def apportion(total: int, weights: list[float], minimum: int = 0) -> list[int]:
    """Split ``total`` into integer parts proportional to ``weights`` (largest remainder)."""
    n = len(weights)
    if n == 0:
        return []
    base = minimum * n
    if total < base:
        raise ValueError("total too small for the minimum")
    rest = total - base
    wsum = sum(weights) or 1.0
    exact = [rest * w / wsum for w in weights]
    parts = [int(x) for x in exact]
    short = rest - sum(parts)
    order = sorted(range(n), key=lambda i: exact[i] - parts[i], reverse=True)
    for i in order[:short]:
        parts[i] += 1
    return [p + minimum for p in parts]


def add_years(d: date, years: int) -> date:
    try:
        return d.replace(year=d.year + years)
    except ValueError:  # 29 February
        return d.replace(year=d.year + years, day=28)


def add_months(d: date, months: int) -> date:
    month0 = d.month - 1 + months
    year, month = d.year + month0 // 12, month0 % 12 + 1
    return date(year, month, min(d.day, calendar.monthrange(year, month)[1]))


def month_start(d: date) -> date:
    return d.replace(day=1)


def at_morning(d: date) -> datetime:
    """09:30 in Asia/Shanghai as a naive UTC timestamp."""
    return datetime.combine(d, dtime(1, 30))


def half_up_fen(amount_fen: int, per_mille: int) -> int:
    """``amount_fen`` × per_mille / 1000, rounded half-up to a whole fen."""
    return (amount_fen * per_mille * 2 + 1000) // 2000


def dues_fen(employment: str, income_fen: int | None) -> int:
    """Monthly dues by the party's brackets (SPEC §9); 0.2 yuan without income."""
    if not income_fen:
        return 20
    yuan = income_fen / 100
    if employment == "retired":
        rate = 5 if yuan <= 5000 else 10
    elif yuan <= 3000:
        rate = 5
    elif yuan <= 5000:
        rate = 10
    elif yuan <= 10000:
        rate = 15
    else:
        rate = 20
    return half_up_fen(income_fen, rate)


# ---- the model of the generated street -----------------------------------------------------


@dataclass
class Building:
    id: int
    name: str
    address: str
    community: int  # index
    grid_id: int = 0
    group_id: int | None = None
    branch_id: int | None = None
    floors: int = 6
    units: int = 3


@dataclass
class Grid:
    id: int
    community: int
    worker_id: int = 0
    worker_name: str = ""
    worker_phone: str = ""


@dataclass
class Community:
    index: int
    name: str
    code: str
    place_id: int
    org_id: int
    roads: list[str]
    grid_ids: list[int] = field(default_factory=list)
    buildings: list[Building] = field(default_factory=list)
    branch_ids: list[int] = field(default_factory=list)
    joint_branch_id: int | None = None
    staff_ids: list[int] = field(default_factory=list)


class Generator:
    def __init__(self, size: Size, seed: int, echo: Echo, verbose: bool):
        self.size = size
        self.rng = random.Random(seed)
        self.echo = echo if verbose else (lambda _msg: None)
        self.today = local_today()
        self.ids: dict[str, int] = {}
        self.org_rows: list[dict] = []
        self.community_place_rows: list[dict] = []
        self.place_rows: list[dict] = []  # grids and buildings
        self.communities: list[Community] = []
        self.grids: dict[int, Grid] = {}
        self.org_names: dict[int, tuple[str, str | None, str | None]] = {}
        self.user_rows: list[dict] = []
        self.member_rows: list[dict] = []
        self.history_rows: list[dict] = []
        self.certificate_rows: list[dict] = []
        self.used_ids: set[str] = set()
        self.used_phones: set[str] = set()
        self.pinyin: dict[str, tuple[str, str]] = {}
        self.cumulative: dict[int, list[float]] = {}
        self.started = time.perf_counter()

    # ---- ids and progress ------------------------------------------------------------------

    def next_id(self, table: str) -> int:
        value = self.ids[table]
        self.ids[table] = value + 1
        return value

    def progress(self, message: str) -> None:
        self.echo(f"  [{time.perf_counter() - self.started:6.1f} 秒] {message}")

    # ---- people ----------------------------------------------------------------------------

    def weighted(self, table: list[tuple]) -> tuple:
        """One row of ``table``, whose last item is its weight."""
        cumulative = self.cumulative.get(id(table))
        if cumulative is None:
            cumulative = self.cumulative[id(table)] = list(accumulate(row[-1] for row in table))
        return self.rng.choices(table, cum_weights=cumulative)[0]

    def person_name(self, sex: str, birth_year: int, ethnicity: str = "汉族") -> str:
        rng = self.rng
        if ethnicity == "藏族":
            parts = data.TIBETAN_PARTS_M if sex == "M" else data.TIBETAN_PARTS_F
            return rng.choice(data.TIBETAN_PARTS_M + data.TIBETAN_PARTS_F) + rng.choice(parts)
        if ethnicity in {"维吾尔族", "哈萨克族"}:
            own = data.TURKIC_NAMES_M if sex == "M" else data.TURKIC_NAMES_F
            return rng.choice(own) + "·" + rng.choice(data.TURKIC_NAMES_M)
        surnames = data.MINORITY_SURNAMES.get(ethnicity, data.SURNAMES)
        surname = self.weighted(surnames)[0]
        for born_by, male, female in data.GIVEN_NAMES:
            if birth_year <= born_by:
                names = male if sex == "M" else female
                break
        if rng.random() < 0.7:
            given = rng.choice(names)
        else:
            chars = data.NAME_CHARS_M if sex == "M" else data.NAME_CHARS_F
            given = rng.choice(chars) + rng.choice(chars)
            if given[0] == given[1] and rng.random() < 0.5:
                given = given[0]
        return surname + given

    def mobile(self) -> str:
        while True:
            number = self.rng.choice(data.MOBILE_PREFIXES) + f"{self.rng.randrange(10**8):08d}"
            if number not in self.used_phones:
                self.used_phones.add(number)
                return number

    def landline(self) -> str:
        return f"{data.AREA_PHONE}-8{self.rng.randrange(10**6):06d}"

    def id_number(self, area: str, birth: date, sex: str) -> str:
        while True:
            seq = self.rng.randrange(100)
            sex_digit = self.rng.randrange(1, 10, 2) if sex == "M" else self.rng.randrange(0, 10, 2)
            first17 = f"{area}{birth:%Y%m%d}{seq:02d}{sex_digit}"
            value = first17 + check_char(first17)
            if value not in self.used_ids:
                self.used_ids.add(value)
                return value

    def name_keys(self, name: str) -> tuple[str, str]:
        keys = self.pinyin.get(name)
        if keys is None:
            keys = self.pinyin[name] = name_keys(name)
        return keys

    def date_between(self, start: date, end: date) -> date:
        if end <= start:
            return start
        return start + timedelta(days=self.rng.randrange((end - start).days + 1))

    def birth_date(self, age: int) -> date:
        latest = add_years(self.today, -age)
        earliest = add_years(self.today, -(age + 1)) + timedelta(days=1)
        return self.date_between(earliest, latest)

    # ---- trees -----------------------------------------------------------------------------

    def build_trees(self) -> None:
        rng, size = self.rng, self.size
        street_id = self.next_id("org")
        self.org_rows.append(
            self.org_row(
                street_id,
                None,
                "street_committee",
                f"{data.STREET_NAME}党工委",
                data.STREET_CODE,
                0,
                contact_name=self.person_name("M", 1972),
                contact_phone=self.landline(),
            )
        )
        weights = [rng.uniform(0.7, 1.3) for _ in range(size.communities)]
        buildings = apportion(size.buildings, weights, 1)
        grids = apportion(size.grids, weights, 1)
        groups = apportion(size.groups, weights, 1)
        # Joint branches sit in evenly spread communities.
        joint_at = {
            round(i * size.communities / size.joint_branches) for i in range(size.joint_branches)
        }
        regular = apportion(size.branches - len(joint_at), weights, 1)
        names = list(data.COMMUNITIES)
        roads = list(data.EXTRA_ROADS)
        rng.shuffle(roads)
        estate_names = list(data.ESTATES)
        rng.shuffle(estate_names)
        road_numbers: dict[str, int] = {}
        for c in range(size.communities):
            base = names[c] if c < len(names) else f"{names[c % len(names)]}{c // len(names) + 1}"
            own_roads = [base] if base.endswith(("路", "街")) else []
            while len(own_roads) < 3:
                own_roads.append(roads.pop() if roads else f"{base}{len(own_roads)}号路")
            community = Community(
                index=c,
                name=f"{base}社区",
                code=f"{data.STREET_CODE}{c + 1:03d}",
                place_id=self.next_id("place"),
                org_id=self.next_id("org"),
                roads=own_roads,
            )
            self.communities.append(community)
            self.community_place_rows.append(
                self.place_row(
                    community.place_id,
                    None,
                    "community",
                    community.name,
                    community.code,
                    c,
                    address=f"{data.DISTRICT}{own_roads[0]}{rng.randint(1, 120)}号",
                )
            )
            committee = "党委" if buildings[c] >= 40 else "党总支"
            self.add_org(
                community.org_id,
                street_id,
                "community_committee",
                f"{community.name}{committee}",
                community.code,
                c,
                place_id=community.place_id,
                contact_name=self.person_name(rng.choice("MF"), 1975),
                contact_phone=self.landline(),
            )
            self.build_community(
                community,
                regular[c],
                c in joint_at,
                buildings[c],
                grids[c],
                groups[c],
                estate_names,
                road_numbers,
            )

    def org_row(self, id_, parent_id, kind, name, code, position, **extra) -> dict:
        row = {
            "id": id_,
            "parent_id": parent_id,
            "kind": kind,
            "name": name,
            "code": code,
            "position": position,
            "is_joint": False,
            "place_id": None,
            "contact_name": None,
            "contact_phone": None,
        }
        row.update(extra)
        return row

    def add_org(self, id_, parent_id, kind, name, code, position, **extra) -> None:
        row = self.org_row(id_, parent_id, kind, name, code, position, **extra)
        self.org_rows.append(row)
        self.org_names[id_] = (name, row["contact_name"], row["contact_phone"])

    def place_row(self, id_, parent_id, kind, name, code, position, **extra) -> dict:
        row = {
            "id": id_,
            "parent_id": parent_id,
            "kind": kind,
            "name": name,
            "code": code,
            "position": position,
            "address": None,
            "group_id": None,
        }
        row.update(extra)
        return row

    def build_community(
        self,
        community: Community,
        n_branches: int,
        joint: bool,
        n_buildings: int,
        n_grids: int,
        n_groups: int,
        estate_names: list[str],
        road_numbers: dict[str, int],
    ) -> None:
        rng = self.rng
        n_groups = max(n_branches, min(n_groups, n_buildings))
        n_branches = min(n_branches, n_buildings)
        # Estates (小区): one regular branch each; buildings in estate order.
        estate_sizes = apportion(n_buildings, [rng.uniform(0.4, 1.6) for _ in range(n_branches)], 1)
        group_counts = fit_groups(n_groups, estate_sizes)
        branch_position = 0
        for e, (n_estate, n_estate_groups) in enumerate(
            zip(estate_sizes, group_counts, strict=True)
        ):
            road = rng.choice(community.roads)
            number = road_numbers.get(road, rng.randint(1, 20)) + rng.randint(2, 12)
            road_numbers[road] = number
            if rng.random() < 0.55 or not estate_names:
                estate = f"{road}{number}号院"
                address_base = f"{data.DISTRICT}{estate}"
                branch_name = f"{estate}党支部"
            else:
                estate = estate_names.pop()
                address_base = f"{data.DISTRICT}{road}{number}号{estate}"
                branch_name = (
                    f"{estate}党支部" if estate.endswith("小区") else f"{estate}小区党支部"
                )
            branch_id = self.next_id("org")
            community.branch_ids.append(branch_id)
            branch_code = f"{community.code}{e + 1:02d}"
            self.add_org(
                branch_id,
                community.org_id,
                "branch",
                branch_name,
                branch_code,
                branch_position,
                contact_name=self.person_name(rng.choice("MMF"), 1965),
                contact_phone=self.mobile(),
            )
            branch_position += 1
            high_rise = rng.random() < 0.35
            estate_buildings = []
            for k in range(n_estate):
                building = Building(
                    id=self.next_id("place"),
                    name=f"{estate}{k + 1}号楼",
                    address=f"{address_base}{k + 1}号楼",
                    community=community.index,
                    floors=rng.randint(11, 26) if high_rise else rng.randint(5, 7),
                    units=rng.randint(1, 2) if high_rise else rng.randint(2, 4),
                )
                estate_buildings.append(building)
            # A few buildings (new or hard to organize) have no group yet.
            covered = list(estate_buildings)
            if len(covered) > n_estate_groups and rng.random() < 0.12:
                covered.pop()
            runs = apportion(
                len(covered), [rng.uniform(0.5, 1.5) for _ in range(n_estate_groups)], 1
            )
            start = 0
            for g, run in enumerate(runs):
                members = covered[start : start + run]
                start += run
                first, last = members[0].name, members[-1].name
                if len(members) == 1:
                    group_name = f"{first}党小组"
                else:
                    group_name = f"{estate}{first.removeprefix(estate).removesuffix('号楼')}—{last.removeprefix(estate)}党小组"
                group_id = self.next_id("org")
                self.add_org(
                    group_id, branch_id, "group", group_name, f"{branch_code}{g + 1:02d}", g
                )
                for building in members:
                    building.group_id = group_id
                    building.branch_id = branch_id
            community.buildings.extend(estate_buildings)
        if joint:
            joint_id = self.next_id("org")
            community.joint_branch_id = joint_id
            self.add_org(
                joint_id,
                community.org_id,
                "branch",
                f"{community.name}{rng.choice(data.JOINT_BRANCH_NAMES)}",
                f"{community.code}{len(estate_sizes) + 1:02d}",
                branch_position,
                is_joint=True,
                contact_name=self.person_name(rng.choice("MF"), 1980),
                contact_phone=self.mobile(),
            )
        # Grids: consecutive runs of buildings.
        n_grids = min(n_grids, n_buildings)
        runs = apportion(n_buildings, [rng.uniform(0.8, 1.2) for _ in range(n_grids)], 1)
        start = 0
        for g, run in enumerate(runs):
            grid_id = self.next_id("place")
            grid_code = f"{community.code}{g + 1:02d}"
            community.grid_ids.append(grid_id)
            self.grids[grid_id] = Grid(grid_id, community.index)
            self.place_rows.append(
                self.place_row(
                    grid_id,
                    community.place_id,
                    "grid",
                    f"第{chinese_number(g + 1)}网格",
                    grid_code,
                    g,
                )
            )
            for k, building in enumerate(community.buildings[start : start + run]):
                building.grid_id = grid_id
                self.place_rows.append(
                    self.place_row(
                        building.id,
                        grid_id,
                        "building",
                        building.name,
                        f"{grid_code}{k + 1:03d}",
                        k,
                        address=building.address,
                        group_id=building.group_id,
                    )
                )
            start += run

    # ---- accounts ----------------------------------------------------------------------------

    def build_users(self, demo: dict[str, User]) -> None:
        """Staff per community and a grid worker per grid; the demo accounts take the first."""
        rng = self.rng
        shared_hash = hash_password(DEMO_PASSWORD)
        first = self.communities[0]
        first_grid = self.grids[first.grid_ids[0]]
        for community in self.communities:
            for k in range(self.size.staff_per_community):
                if community is first and k == 0:
                    user_id = demo["staff"].id
                else:
                    user_id = self.next_id("user")
                    sex = rng.choice("MF")
                    self.user_rows.append(
                        self.user_row(
                            user_id,
                            f"staff{community.index + 1:02d}{chr(ord('a') + k)}",
                            self.person_name(sex, rng.randint(1970, 1995)),
                            "staff",
                            shared_hash,
                        )
                    )
                community.staff_ids.append(user_id)
            for g, grid_id in enumerate(community.grid_ids):
                grid = self.grids[grid_id]
                if grid is first_grid:
                    user = demo["grid"]
                    grid.worker_id, grid.worker_name, grid.worker_phone = (
                        user.id,
                        user.display_name,
                        user.phone,
                    )
                    continue
                grid.worker_id = self.next_id("user")
                grid.worker_name = self.person_name(rng.choice("MFF"), rng.randint(1975, 1998))
                grid.worker_phone = self.mobile()
                row = self.user_row(
                    grid.worker_id,
                    f"grid{community.index + 1:02d}{g + 1:02d}",
                    grid.worker_name,
                    "grid_worker",
                    shared_hash,
                )
                row["phone"] = grid.worker_phone
                self.user_rows.append(row)

    def user_row(self, id_, username, display_name, role, password_hash) -> dict:
        return {
            "id": id_,
            "username": username,
            "display_name": display_name,
            "role": role,
            "phone": self.mobile() if role == "staff" else None,
            "password_hash": password_hash,
            "must_change_password": False,
            "failed_logins": 0,
            "session_version": 1,
            "active": True,
            "may_reveal": False,
        }

    # ---- members -----------------------------------------------------------------------------

    def profiles(self) -> list[str]:
        shares = [share for _, share in PROFILE_SHARES]
        counts = apportion(self.size.members, shares)
        result = [
            name
            for (name, _), count in zip(PROFILE_SHARES, counts, strict=True)
            for _ in range(count)
        ]
        self.rng.shuffle(result)
        return result

    def build_members(self) -> None:
        rng, today = self.rng, self.today
        profiles = self.profiles()
        n = len(profiles)
        eligible_probationary = [
            i for i, p in enumerate(profiles) if p not in {"retired", "flow_out", "flow_out_short"}
        ]
        probationary = set(
            rng.sample(
                eligible_probationary,
                min(len(eligible_probationary), round(n * PROBATIONARY_SHARE)),
            )
        )
        eligible_lost = [
            i
            for i, p in enumerate(profiles)
            if i not in probationary
            and p
            in {"resident", "laid_off", "contract_terminated", "waiting_post", "unplaced_veteran",
                "unemployed_graduate", "in_service_local", "retired"}
        ]  # fmt: skip
        lost = set(
            rng.sample(eligible_lost, min(len(eligible_lost), round(n * LOST_CONTACT_SHARE)))
        )
        flow_out = [i for i, p in enumerate(profiles) if p == "flow_out"]
        flow_in = [i for i, p in enumerate(profiles) if p == "flow_in"]
        holders = set((flow_out + flow_in)[: self.size.certificates])
        buildings = [b for c in self.communities for b in c.buildings]
        coordinated_months = DEFAULTS["flow_out_coordinated_months"]
        self.member_meta: list[dict] = []
        first_id = self.ids["member"]
        for i, profile in enumerate(profiles):
            building = rng.choice(buildings)
            row, meta = self.make_member(
                first_id + i, profile, building, i in probationary, i in lost, i in holders
            )
            facts = ClassificationFacts(
                employment=row["employment"],
                relation_location=row["relation_location"],
                mobility=row["mobility"],
                mobility_since=row["mobility_since"],
                mobility_expected_return=row["mobility_expected_return"],
                has_open_certificate=i in holders,
            )
            category = classify(facts, today, coordinated_months)
            row["category"] = row["category_proposed"] = category
            if category == "coordinated":
                row["liaison_user_id"] = self.grids[row["grid_id"]].worker_id
            meta["facts"] = facts
            self.next_id("member")
            self.member_rows.append(row)
            self.member_meta.append(meta)
        self.assign_posts()

    def make_member(
        self,
        member_id: int,
        profile: str,
        building: Building,
        probationary: bool,
        lost: bool,
        holder: bool,
    ) -> tuple[dict, dict]:
        """One member row (and what later passes need to know about it)."""
        rng, today = self.rng, self.today
        community = self.communities[building.community]
        person = self.identity(profile, probationary)
        birth, id_number = person["birth"], person["id_number"]
        adult = add_years(birth, 18)
        move = self.mobility(profile, adult, person["origin"])
        joined, full, registered = self.party_dates(adult, probationary, move)
        work = self.situation(profile, move["reason"], person["origin"])
        employment, relation = work["employment"], work["relation_location"]

        # Placement: the building's group for members whose relation is here; some workers
        # of small enterprises belong to the community's joint branch instead.
        branch_id = group_id = None
        if relation == "community":
            if profile == "in_service_local" and community.joint_branch_id and rng.random() < 0.5:
                branch_id = community.joint_branch_id
            else:
                branch_id, group_id = building.branch_id, building.group_id
        unit, floor, door = (
            rng.randint(1, building.units),
            rng.randint(1, building.floors),
            rng.randint(1, 4),
        )
        room = f"{unit}单元{floor}{door:02d}"

        # Income and dues (SPEC §9); a few members are months behind.
        income = None
        if employment == "in_service":
            income = round(rng.triangular(2800, 14000, 5500)) * 100
        elif employment == "retired":
            income = round(rng.triangular(2200, 8500, 4200)) * 100
        months_behind = rng.choices([0, 1, 2, 3, 4, 7, 10, 14], [55, 30, 5, 3, 3, 2, 1, 1])[0]
        if lost:
            months_behind = rng.randint(8, 36)
        paid_until = max(add_months(month_start(today), -months_behind), month_start(joined))
        hardship = aid = None
        if rng.random() < 0.03:
            hardship, aid = rng.choice(HARDSHIPS)
        on_relief = hardship == "低保户"

        status = "active"
        if lost:
            status = "lost_contact"
        elif (
            profile == "flow_out"
            and move["mobility_since"] < today - timedelta(days=730)
            and rng.random() < 0.25
        ):
            status = "flowed_out"

        education, degree = self.education(birth.year)
        phone = None if person["age"] >= 85 and rng.random() < 0.15 else self.mobile()
        second_phone = self.landline() if profile == "retired" and rng.random() < 0.15 else None
        introducers = None
        if rng.random() < 0.7:
            introducers = (
                f"{self.person_name('M', 1950)}、{self.person_name(rng.choice('MF'), 1955)}"
            )
        pinyin, initials = self.name_keys(person["name"])
        row = {
            "id": member_id,
            "version": 1,
            "name": person["name"],
            "name_pinyin": pinyin,
            "name_initials": initials,
            "sex": person["sex"],
            "ethnicity": person["ethnicity"],
            "native_place": person["native"],
            "birth_date": birth,
            "id_number_enc": encrypt(id_number),
            "id_hash": keyed_hash(id_number),
            "id_prefix6": id_number[:6],
            "id_last4_hash": last4_hash(id_number[-4:]),
            "phone": phone,
            "phone_last4": phone[-4:] if phone else None,
            "second_phone": second_phone,
            "education": education,
            "degree": degree,
            "joined_on": joined,
            "introducers": introducers,
            "member_type": "probationary" if probationary else "formal",
            "full_member_on": full,
            "party_post": None,
            **work,
            "monthly_income_fen": income,
            "hardship": hardship,
            "aid_received": aid,
            "dues_fen": 20 if on_relief else dues_fen(employment, income),
            "dues_reduced": on_relief,
            "dues_paid_until": paid_until,
            "mobility": move["mobility"],
            "mobility_place": move["mobility_place"],
            "mobility_since": move["mobility_since"],
            "mobility_expected_return": move["mobility_expected_return"],
            "mobility_occupation": move["mobility_occupation"],
            "mobility_contact": self.mobile() if move["mobility"] == "flow_out" else None,
            "status": status,
            "category": "direct",
            "category_proposed": "direct",
            "category_override_reason": None,
            "community_id": community.place_id,
            "grid_id": building.grid_id,
            "building_id": building.id,
            "room": room,
            "address": f"{building.address}{room}",
            "branch_id": branch_id,
            "group_id": group_id,
            "liaison_user_id": None,
            "liaison_member_id": None,
            "notes": rng.choice(LOST_CONTACT_NOTES) if lost else None,
            "source": "import",
            "created_at": at_morning(registered),
            "updated_at": at_morning(registered),
        }
        meta = {
            "registered": registered,
            "age": person["age"],
            "reason": move["reason"],
            "holder": holder,
            "building": building,
        }
        return row, meta

    def identity(self, profile: str, probationary: bool) -> dict:
        """Sex, age, ethnicity, name, native place and a valid ID number from a fitting area."""
        rng = self.rng
        youngest, oldest, mode = AGE_RANGES[profile]
        sex = "M" if rng.random() < (0.6 if profile == "retired" else 0.66) else "F"
        if profile == "retired" and sex == "M":
            youngest, mode = 60, 70  # men retire at 60, women at 50 or 55
        age = round(rng.triangular(youngest, oldest, mode))
        if probationary:
            age = min(age, 45)
        birth = self.birth_date(age)
        ethnicity = self.weighted(data.ETHNICITIES)[0]
        origin = None
        if profile == "flow_in":
            origin = rng.choice(data.ORIGINS)
            area, native = origin[0], origin[3]
        elif ethnicity in data.ETHNIC_AREAS and (ethnicity in NAMED_APART or rng.random() < 0.7):
            area, native = rng.choice(data.ETHNIC_AREAS[ethnicity])
        else:
            area, native, _weight = self.weighted(data.AREAS)
        return {
            "sex": sex,
            "age": age,
            "birth": birth,
            "ethnicity": ethnicity,
            "name": self.person_name(sex, birth.year, ethnicity),
            "native": native,
            "id_number": self.id_number(area, birth, sex),
            "origin": origin,
        }

    def mobility(self, profile: str, adult: date, origin: tuple | None) -> dict:
        rng, today = self.rng, self.today
        move = {
            "mobility": "none",
            "mobility_place": None,
            "mobility_since": None,
            "mobility_expected_return": None,
            "mobility_occupation": None,
            "reason": None,
        }
        if profile == "flow_out":
            # Gone for six months or more; joined and settled here at least two years before.
            since = today - timedelta(days=rng.randint(200, 1800))
            since = max(since, adult + timedelta(days=800))
            reason, occupation = rng.choice(data.FLOW_OUT_WORK)
            expected = add_months(since, rng.randint(12, 48)) if rng.random() < 0.5 else None
        elif profile == "flow_out_short":
            # Away for three to six months: needs a report, stays in its category.
            since = today - timedelta(days=rng.randint(10, 75))
            reason, occupation = rng.choice(data.FLOW_OUT_WORK[:6])
            expected = since + timedelta(days=rng.randint(95, 165))
        elif profile == "flow_in":
            move.update(
                mobility="flow_in",
                mobility_place=origin[1],
                mobility_since=today - timedelta(days=rng.randint(60, 3000)),
            )
            return move
        else:
            return move
        move.update(
            mobility="flow_out",
            mobility_place=rng.choice(data.DESTINATIONS),
            mobility_since=since,
            mobility_expected_return=expected,
            mobility_occupation=occupation,
            reason=reason,
        )
        return move

    def party_dates(self, adult: date, probationary: bool, move: dict) -> tuple:
        """(joined, full member, registered here): joined at 18 or later, one year's probation."""
        rng, today = self.rng, self.today
        since = move["mobility_since"]
        if probationary:
            start = max(adult, today - timedelta(days=330))
            joined = self.date_between(start, today - timedelta(days=20))
            full = None
        else:
            latest = today - timedelta(days=400)
            if move["mobility"] == "flow_out":
                latest = min(latest, since - timedelta(days=400))
            span = max(0, (latest - adult).days)
            offset = round(rng.triangular(0, span, min(span, 365 * rng.choice([3, 6, 10, 15]))))
            joined = adult + timedelta(days=offset)
            full = min(joined + timedelta(days=365 + rng.randint(0, 25)), today)
        registered_start = max(joined, today - timedelta(days=365 * 15))
        if move["mobility"] == "flow_out":
            registered = self.date_between(registered_start, since - timedelta(days=30))
        elif move["mobility"] == "flow_in":
            registered = max(joined, min(since + timedelta(days=rng.randint(0, 30)), today))
        else:
            registered = self.date_between(registered_start, today - timedelta(days=7))
        return joined, full, registered

    def situation(self, profile: str, reason: str | None, origin: tuple | None) -> dict:
        """Employment, work units and where the org relation is held."""
        rng = self.rng
        work = {
            "employment": profile,
            "relation_location": "community",
            "relation_org_name": None,
            "work_unit": None,
            "work_unit_org": None,
            "work_unit_contact": None,
            "original_unit": None,
            "employer": None,
            "origin_org_contact": None,
        }
        if profile == "dual":
            unit, unit_org = rng.choice(data.WORK_UNITS)
            title = rng.choice(["书记", "主任", "委员"])
            work.update(
                employment="in_service",
                relation_location="work_unit",
                work_unit=unit,
                work_unit_org=unit_org,
                work_unit_contact=f"{self.weighted(data.SURNAMES)[0]}{title} {self.landline()}",
            )
        elif profile == "in_service_local":
            work.update(employment="in_service", work_unit=rng.choice(data.SMALL_EMPLOYERS))
        elif profile == "retired":
            if rng.random() < 0.8:
                work["original_unit"] = rng.choice(data.FORMER_UNITS)
                if rng.random() < 0.06:
                    work["relation_location"] = "original_unit"
        elif profile in {"laid_off", "contract_terminated", "waiting_post"}:
            work["original_unit"] = rng.choice(data.FORMER_UNITS)
            if rng.random() < 0.3:
                work["employer"] = rng.choice(data.SMALL_EMPLOYERS)
        elif profile in {"flow_out", "flow_out_short"}:
            employment = rng.choices(
                ["resident", "in_service", "laid_off", "retired"], [40, 30, 15, 15]
            )[0]
            work["employment"] = "retired" if reason == "随子女居住" else employment
        elif profile == "flow_in":
            _area, _place, home_org, _native = origin
            phone = f"0{rng.randint(900, 999)}-{rng.randint(2000000, 8999999)}"
            work.update(
                employment=rng.choices(
                    ["in_service", "resident", "laid_off", "unemployed_graduate"],
                    [45, 35, 10, 10],
                )[0],
                relation_location="elsewhere",
                relation_org_name=home_org,
                employer=rng.choice(data.FLOW_IN_WORK),
                origin_org_contact=f"{home_org} {self.weighted(data.SURNAMES)[0]}书记 {phone}",
            )
        elif profile == "resident" and rng.random() < 0.2:
            work["employer"] = rng.choice(data.SMALL_EMPLOYERS)
        return work

    def education(self, born: int) -> tuple[str, str | None]:
        rng = self.rng
        if born < 1955:
            education = rng.choices(data.EDUCATIONS[:6], [15, 30, 25, 15, 10, 5])[0]
        elif born < 1975:
            education = rng.choices(data.EDUCATIONS[1:7], [15, 25, 20, 20, 18, 2])[0]
        else:
            education = rng.choices(data.EDUCATIONS[2:7], [10, 10, 30, 42, 8])[0]
        return education, {"大学本科": "学士", "硕士研究生": "硕士"}.get(education)

    def assign_posts(self) -> None:
        """A secretary and two committee members per branch, a leader per group."""
        by_branch: dict[int, list[dict]] = {}
        by_group: dict[int, list[dict]] = {}
        for row in self.member_rows:
            if (
                row["status"] != "active"
                or row["member_type"] != "formal"
                or row["mobility"] != "none"
            ):
                continue
            if not 30 <= self.today.year - row["birth_date"].year <= 72:
                continue
            if row["branch_id"]:
                by_branch.setdefault(row["branch_id"], []).append(row)
            if row["group_id"]:
                by_group.setdefault(row["group_id"], []).append(row)
        for rows in by_group.values():
            rows[0]["party_post"] = "党小组长"
        for rows in by_branch.values():
            candidates = [r for r in rows if r["party_post"] is None]
            for row, post in zip(candidates, ["党支部书记", "组织委员", "宣传委员"], strict=False):
                row["party_post"] = post

    # ---- certificates ------------------------------------------------------------------------

    def build_certificates(self) -> None:
        rng, today = self.rng, self.today
        sequence: dict[tuple[str, int], int] = {}
        in_sequence = 0
        for row, meta in zip(self.member_rows, self.member_meta, strict=True):
            if not meta["holder"]:
                continue
            community = self.communities[meta["building"].community]
            grid = self.grids[row["grid_id"]]
            since = row["mobility_since"]
            # Open certificates are valid for two years: issued within the last 23 months.
            issued = max(
                since + timedelta(days=rng.randint(0, 45)),
                today - timedelta(days=rng.randint(30, 700)),
            )
            issued = min(issued, today)
            valid_until = add_years(issued, DEFAULTS["certificate_valid_years"])
            if row["mobility"] == "flow_out":
                key = (community.code, issued.year)
                sequence[key] = sequence.get(key, 0) + 1
                number = f"{community.code}-{issued.year}-{sequence[key]:04d}"
                issuing_org_id = row["branch_id"] or community.org_id
                issuing_name = self.org_names[issuing_org_id][0]
                direction, destination = "out", row["mobility_place"]
                occupation = row["mobility_occupation"]
                reason = meta["reason"]
            else:
                in_sequence += 1
                area = row["id_prefix6"]
                number = f"{area}-{issued.year}-{in_sequence:05d}"
                issuing_org_id, issuing_name = None, row["relation_org_name"]
                direction = "in"
                destination = f"{data.DISTRICT}{data.STREET_NAME}{community.name}"
                occupation = row["employer"]
                reason = "外出务工"
            interval = DEFAULTS["certificate_verification_months"]
            self.certificate_rows.append(
                {
                    "version": 1,
                    "number": number,
                    "serial": new_serial(),
                    "short_code": new_short_code(),
                    "member_id": row["id"],
                    "direction": direction,
                    "status": "issued",
                    "issuing_org_id": issuing_org_id,
                    "issuing_org_name": issuing_name,
                    "issued_on": issued,
                    "valid_until": valid_until,
                    "left_on": since,
                    "reason": reason,
                    "destination": destination,
                    "occupation": occupation,
                    "contact_phone": row["phone"],
                    "liaison_name": grid.worker_name,
                    "liaison_phone": grid.worker_phone,
                    "verification_interval_months": interval,
                    "next_verification_due": add_months(issued, interval),
                    "created_by_id": community.staff_ids[0],
                    "created_at": at_morning(issued),
                }
            )

    # ---- history -----------------------------------------------------------------------------

    def build_history(self) -> None:
        rng, today = self.rng, self.today
        buildings_by_community = [c.buildings for c in self.communities]
        coordinated_months = DEFAULTS["flow_out_coordinated_months"]
        for row, meta in zip(self.member_rows, self.member_meta, strict=True):
            community = self.communities[meta["building"].community]
            by = community.staff_ids[0]
            registered = meta["registered"]
            member_id = row["id"]
            latest = registered

            def add(aspect, value, start, end=None, reason="建档", member_id=member_id, by=by):
                self.history_rows.append(
                    {
                        "member_id": member_id,
                        "aspect": aspect,
                        "value": value,
                        "effective_from": start,
                        "effective_to": end,
                        "reason": reason,
                        "changed_by_id": by,
                        "changed_at": at_morning(start),
                    }
                )

            since = row["mobility_since"]
            # Category and mobility: flow-out members were classified by their work before.
            category = row["category"]
            if row["mobility"] == "flow_out" and since > registered:
                facts = meta["facts"]
                before = classify(
                    ClassificationFacts(facts.employment, facts.relation_location, "none"),
                    today,
                    coordinated_months,
                )
                add(
                    "mobility",
                    {"mobility": "none", "place": None, "since": None},
                    registered,
                    since,
                )
                add("mobility", mobility_value(row), since, reason="外出报告")
                if before != category:
                    add("category", {"category": before}, registered, since)
                    add(
                        "category", {"category": category}, since, reason="外出六个月以上，转为协管"
                    )
                else:
                    add("category", {"category": category}, registered)
                latest = max(latest, since)
            else:
                add("mobility", mobility_value(row), registered)
                retire_on = None
                if category == "shared" and meta["age"] <= 62 and rng.random() < 0.5:
                    retire_on = self.date_between(
                        registered + timedelta(days=30), today - timedelta(days=30)
                    )
                if retire_on and retire_on > registered:
                    add(
                        "category",
                        {"category": "dual" if rng.random() < 0.5 else "direct"},
                        registered,
                        retire_on,
                    )
                    add("category", {"category": category}, retire_on, reason="办理退休，转为共管")
                    latest = max(latest, retire_on)
                else:
                    add("category", {"category": category}, registered)
            # Status.
            if row["status"] == "lost_contact":
                lost_on = self.date_between(
                    registered + timedelta(days=1), today - timedelta(days=180)
                )
                if lost_on > registered:
                    add("status", {"status": "active"}, registered, lost_on)
                    add(
                        "status",
                        {"status": "lost_contact"},
                        lost_on,
                        reason="半年以上未参加组织生活、未交纳党费",
                    )
                    latest = max(latest, lost_on)
                else:
                    add("status", {"status": row["status"]}, registered)
            elif row["status"] == "flowed_out" and since > registered:
                gone_on = since + timedelta(days=365)
                add("status", {"status": "active"}, registered, gone_on)
                add("status", {"status": "flowed_out"}, gone_on, reason="长期在外，已流出")
                latest = max(latest, gone_on)
            else:
                add("status", {"status": row["status"]}, registered)
            # Placement: a few members moved within the community some months ago.
            current = placement_value(row)
            moved_on = None
            if rng.random() < MOVED_SHARE and (today - registered).days > 120:
                moved_on = self.date_between(
                    registered + timedelta(days=60), today - timedelta(days=30)
                )
            if moved_on:
                old = rng.choice(buildings_by_community[community.index])
                previous = dict(current, grid_id=old.grid_id, building_id=old.id)
                if row["branch_id"] and row["group_id"]:
                    previous.update(branch_id=old.branch_id, group_id=old.group_id)
                add("placement", previous, registered, moved_on)
                add("placement", current, moved_on, reason="搬迁，调整楼栋与党小组")
                latest = max(latest, moved_on)
            else:
                add("placement", current, registered)
            if row["liaison_user_id"]:
                start = max(registered, since) if since else registered
                add("liaison", {"user_id": row["liaison_user_id"], "member_id": None}, start)
            row["updated_at"] = at_morning(latest)

    # ---- writing -----------------------------------------------------------------------------

    def write(self, demo: dict[str, User]) -> None:
        session = db.session
        if session.get_bind().dialect.name == "sqlite":
            # Random-order index inserts (pinyin, ID hash, history) thrash SQLite's default
            # 2 MB page cache; a larger cache for this connection keeps them in memory.
            session.execute(text("PRAGMA cache_size = -400000"))
        bulk_insert(Place, self.community_place_rows)
        bulk_insert(Org, self.org_rows)
        bulk_insert(Place, self.place_rows)
        self.progress(
            f"组织树 {len(self.org_rows)} 个节点，地点树 {len(self.place_rows) + len(self.communities)} 个节点"
        )
        bulk_insert(User, self.user_rows)
        scopes = [
            {"user_id": uid, "org_id": c.org_id, "place_id": None}
            for c in self.communities
            for uid in c.staff_ids
        ]
        bulk_insert(UserScope, scopes)
        workers = [{"grid_id": g.id, "user_id": g.worker_id} for g in self.grids.values()]
        bulk_insert(GridWorker, workers)
        bulk_insert(Member, self.member_rows)
        self.progress(f"党员 {len(self.member_rows)} 名已写入")
        bulk_insert(Certificate, self.certificate_rows)
        bulk_insert(MemberHistory, self.history_rows)
        self.progress(
            f"历史记录 {len(self.history_rows)} 条、活动证 {len(self.certificate_rows)} 张已写入"
        )
        # The demo member's login is linked to a member of the demo grid.
        member_row = self.demo_member_row()
        member_user = demo["member"]
        member_user.member_id = member_row["id"]
        member_user.display_name = member_row["name"]
        member_user.phone = member_row["phone"]
        session.flush()
        sync_sequences([Org, Place, User, Member])

    def demo_member_row(self) -> dict:
        grid_id = self.communities[0].grid_ids[0]
        candidates = [
            r
            for r in self.member_rows
            if r["grid_id"] == grid_id
            and r["status"] == "active"
            and r["relation_location"] == "community"
            and r["mobility"] == "none"
            and r["phone"]
        ]
        candidates = candidates or [
            r for r in self.member_rows if r["community_id"] == self.communities[0].place_id
        ]
        return candidates[0]


def mobility_value(row: dict) -> dict:
    since = row["mobility_since"]
    return {
        "mobility": row["mobility"],
        "place": row["mobility_place"],
        "since": since.isoformat() if since else None,
    }


def placement_value(row: dict) -> dict:
    return {
        "community_id": row["community_id"],
        "grid_id": row["grid_id"],
        "building_id": row["building_id"],
        "branch_id": row["branch_id"],
        "group_id": row["group_id"],
    }


def fit_groups(n_groups: int, estate_sizes: list[int]) -> list[int]:
    """Groups per estate: proportional to its buildings, at least one, at most one per building."""
    counts = apportion(n_groups, [float(s) for s in estate_sizes], 1)
    counts = [min(c, s) for c, s in zip(counts, estate_sizes, strict=True)]
    missing = n_groups - sum(counts)
    for i in sorted(range(len(counts)), key=lambda i: estate_sizes[i] - counts[i], reverse=True):
        if missing <= 0:
            break
        room = estate_sizes[i] - counts[i]
        take = min(room, missing)
        counts[i] += take
        missing -= take
    return counts


def bulk_insert(model, rows: list[dict]) -> None:  # noqa: ANN001
    """Core executemany in chunks (every row has the same keys; no ORM bookkeeping)."""
    statement = insert(model.__table__)
    for start in range(0, len(rows), CHUNK):
        db.session.execute(statement, rows[start : start + CHUNK])


def next_ids() -> dict[str, int]:
    return {
        table: (db.session.execute(select(func.max(model.id))).scalar() or 0) + 1
        for table, model in {"org": Org, "place": Place, "user": User, "member": Member}.items()
    }


def sync_sequences(models: Iterable) -> None:
    """PostgreSQL: explicit primary keys leave the id sequences behind; move them on."""
    if db.session.get_bind().dialect.name != "postgresql":
        return
    for model in models:
        table = model.__tablename__
        db.session.execute(
            text(
                f"SELECT setval(pg_get_serial_sequence('\"{table}\"', 'id'), "  # noqa: S608
                f'(SELECT COALESCE(MAX(id), 1) FROM "{table}"))'
            )
        )


def create_demo_accounts() -> dict[str, User]:
    accounts = {}
    for username, name, role, password in DEMO_ACCOUNTS:
        fields = {}
        if role == "staff":
            fields["may_reveal"] = True
        accounts[username] = services.create_user(
            username, name, role, password, must_change_password=False, **fields
        )
    return accounts


def generate(size: str, seed: int, echo: Echo) -> dict[str, int]:
    """Fill an empty database with demo data; returns Chinese-labelled counts."""
    spec = SIZES[size]
    gen = Generator(spec, seed, echo, verbose=size != "small")
    demo = create_demo_accounts()
    demo["grid"].phone = gen.mobile()
    db.session.flush()
    gen.ids = next_ids()
    gen.build_trees()
    gen.progress(f"组织树与地点树：{len(gen.communities)} 个社区")
    gen.build_users(demo)
    gen.build_members()
    gen.progress(f"党员 {len(gen.member_rows)} 名已生成")
    gen.build_certificates()
    gen.build_history()
    gen.progress("历史记录与活动证已生成")
    gen.write(demo)
    build_followup(gen, demo["staff"].id)
    branches = sum(1 for r in gen.org_rows if r["kind"] == "branch")
    return {
        "社区": len(gen.communities),
        "网格": len(gen.grids),
        "楼栋": sum(len(c.buildings) for c in gen.communities),
        "党支部": branches,
        "其中联合党支部": sum(1 for r in gen.org_rows if r["is_joint"]),
        "党小组": sum(1 for r in gen.org_rows if r["kind"] == "group"),
        "党员": len(gen.member_rows),
        "流动党员活动证": len(gen.certificate_rows),
        "历史记录": len(gen.history_rows),
        "账号": len(DEMO_ACCOUNTS) + len(gen.user_rows),
    }
