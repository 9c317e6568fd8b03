"""The members' history rows: the category, mobility, status and placement periods that lead
to their current record, and the liaison. A mixin of ``Generator``."""

from __future__ import annotations

from datetime import timedelta

from app.demo.common import at_morning
from app.members.rules import ClassificationFacts, classify
from app.settings import DEFAULTS

MOVED_SHARE = 0.03  # members whose placement changed some months ago


class HistoryBuilder:
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
