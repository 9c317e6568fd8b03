"""The demo street's trees: communities, estates with their branches and groups, grids and
buildings (org tree and place tree rows with explicit ids). A mixin of ``Generator``."""

from __future__ import annotations

from dataclasses import dataclass, field

from app.demo import data
from app.demo.common import apportion, chinese_number


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


def street_name(index: int) -> str:
    """The demo's streets: 城关街道 first, then the district's others, then numbered ones."""
    if index == 0:
        return data.STREET_NAME
    if index <= len(data.OTHER_STREETS):
        return data.OTHER_STREETS[index - 1]
    return f"城关第{index + 1}街道"


class TreeBuilder:
    def build_trees(self) -> None:
        rng, size = self.rng, self.size
        street_ids = []
        for s in range(size.streets):
            street_ids.append(self.next_id("org"))
            self.org_rows.append(
                self.org_row(
                    street_ids[-1],
                    None,
                    "street_committee",
                    f"{street_name(s)}党工委",
                    data.STREET_CODE if s == 0 else f"{data.COUNTY_CODE}{3 + s:03d}",
                    s,
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
                street_ids[c * size.streets // size.communities],
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

    @staticmethod
    def node_row(id_, parent_id, kind, name, code, position, **columns) -> dict:
        """A row of a tree table (org or place): the node's own columns, then the rest."""
        return {
            "id": id_,
            "parent_id": parent_id,
            "kind": kind,
            "name": name,
            "code": code,
            "position": position,
            **columns,
        }

    def org_row(self, *node, **extra) -> dict:
        defaults = {
            "is_joint": False,
            "place_id": None,
            "contact_name": None,
            "contact_phone": None,
        }
        return self.node_row(*node, **{**defaults, **extra})

    def add_org(self, id_, parent_id, kind, name, code, position, **extra) -> None:
        row = self.org_row(id_, parent_id, kind, name, code, position, **extra)
        self.org_rows.append(row)
        self.org_names[id_] = (name, row["contact_name"], row["contact_phone"])

    def place_row(self, *node, **extra) -> dict:
        return self.node_row(*node, **{"address": None, "group_id": None, **extra})

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
