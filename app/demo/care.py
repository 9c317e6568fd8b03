"""Demo 共管 and 协管 data: care plans for retired members, a few visits and illness events,
contacts with the other organization for mobile members, and one 流动党员管理站 per community.

Set-based and deterministic (choices are functions of the member id); called once from
``app.demo.generate.generate`` after the follow-up data.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import TYPE_CHECKING

from app.care.models import ABILITIES, CareEvent, CarePlan, CareVisit
from app.demo.common import bulk_insert
from app.extensions import db
from app.mobile.models import MobileContact, MobileStation, MobileStationMember

if TYPE_CHECKING:
    from app.demo.generate import Generator

HEALTH = ("healthy", "healthy", "healthy", "limited", "bedridden", "alone")
ABILITY_KEYS = tuple(ABILITIES)
UNIT_ORGS = (
    "金川集团离退休党委",
    "市供电公司离退休党支部",
    "市第一中学退休党支部",
    "市建设局机关党委",
)


def build_care(gen: Generator, staff_user_id: int | None) -> dict[str, int]:
    today: date = gen.today
    active = [r for r in gen.member_rows if r["status"] == "active"]
    shared = [r for r in active if r["category"] == "shared"]
    plans, visits, events = [], [], []
    for r in shared:
        mid = r["id"]
        if mid % 3:  # two in three have a care plan
            plans.append(
                {
                    "member_id": mid,
                    "health": HEALTH[mid % len(HEALTH)],
                    "unit_org_name": UNIT_ORGS[mid % len(UNIT_ORGS)] if mid % 2 else None,
                    "unit_contact": "离退休办 " + gen.mobile() if mid % 2 else None,
                    "abilities": [ABILITY_KEYS[mid % 6], ABILITY_KEYS[(mid // 6) % 6]][
                        : 1 + mid % 2
                    ],
                    "notes": None,
                    "updated_by_id": staff_user_id,
                }
            )
        if mid % 5 == 0:
            visits.append(
                {
                    "member_id": mid,
                    "visited_on": today - timedelta(days=20 + mid % 200),
                    "occasion": "other",
                    "occasion_label": "日常走访",
                    "event_id": None,
                    "visitors": "社区党委书记、党小组长",
                    "unit_co_visitor": UNIT_ORGS[mid % len(UNIT_ORGS)] if mid % 10 == 0 else None,
                    "brought": "米、油，了解生活困难",
                    "follow_up": None,
                    "created_by_id": staff_user_id,
                }
            )
        if mid % 41 == 0:
            events.append(
                {
                    "member_id": mid,
                    "kind": "hospital" if mid % 2 else "illness",
                    "occurred_on": today - timedelta(days=mid % 10),
                    "note": "家属来电告知",
                    "created_by_id": staff_user_id,
                }
            )
    bulk_insert(CarePlan, plans)
    bulk_insert(CareVisit, visits)
    bulk_insert(CareEvent, events)

    mobile = [r for r in active if r["mobility"] in ("flow_out", "flow_in")]
    contacts = []
    for r in mobile:
        mid = r["id"]
        if mid % 2:
            continue
        out = r["mobility"] == "flow_out"
        contacts.append(
            {
                "member_id": mid,
                "contacted_on": today - timedelta(days=10 + mid % 150),
                "kind": "feedback",
                "direction": "sent" if mid % 4 else "received",
                "channel": ("phone", "letter", "message")[mid % 3],
                "org_name": f"{r['mobility_place'] or '外地'}{'流动党员党支部' if out else '原籍党支部'}",
                "summary": "互通该同志近期参加组织生活、交纳党费情况。",
                "created_by_id": staff_user_id,
            }
        )
    bulk_insert(MobileContact, contacts)

    stations, links = 0, 0
    away = {}
    for r in mobile:
        if r["mobility"] == "flow_out" and r["mobility_place"] and r["mobility_since"] <= today:
            away.setdefault((r["community_id"], r["mobility_place"]), []).append(r["id"])
    taken: set[int] = set()
    for (community_id, place), ids in sorted(away.items(), key=lambda kv: -len(kv[1])):
        if community_id in taken or len(ids) < 2:
            continue
        taken.add(community_id)
        stations += 1
        station = MobileStation(
            community_id=community_id,
            name=f"{place}流动党员管理站",
            place=place,
            contact="站长 " + gen.mobile(),
            created_by_id=staff_user_id,
        )
        db.session.add(station)
        db.session.flush()
        station_id = station.id
        links += len(ids[:8])
        bulk_insert(
            MobileStationMember,
            [
                {"station_id": station_id, "member_id": mid, "created_by_id": staff_user_id}
                for mid in ids[:8]
            ],
        )
    return {
        "关怀计划": len(plans),
        "走访记录": len(visits),
        "与对方党组织联系": len(contacts),
        "流动党员管理站": stations,
    }
