"""The demo members: profiles shaped like a real street's roster, identities, mobility, party
dates, work situation, placement, income and dues (by the real dues rules), posts. A mixin of
``Generator``."""

from __future__ import annotations

from datetime import date, timedelta

from app.crypto import encrypt, keyed_hash, last4_hash
from app.demo import data
from app.demo.common import add_years, apportion, at_morning
from app.demo.places import Building
from app.followup.dues import propose
from app.members.rules import ClassificationFacts, classify
from app.settings import DEFAULTS
from app.timeutil import add_months, month_start

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


class MemberBuilder:
    dues_rules: dict

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
            facts = ClassificationFacts.of(row, i in holders)
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
            "dues_fen": propose(employment, income, self.dues_rules, on_relief=on_relief).fen,
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
