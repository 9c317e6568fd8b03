"""Fast bulk member rows for the thousand-member tests (the factory is too slow for that)."""

from __future__ import annotations

from datetime import date

from sqlalchemy import insert

from app.crypto import last4_hash
from app.extensions import db
from app.members.models import Member, MemberHistory


def bulk_members(n: int, tree: dict, start: int = 0) -> list[int]:
    rows = [
        {
            "name": f"批量{i}",
            "name_pinyin": f"piliang {i:05d}",
            "name_initials": "pl",
            "sex": "M",
            "birth_date": date(1970, 1, 1),
            "id_number_enc": b"x",
            "id_hash": f"bulk-{start + i}",
            "id_prefix6": "620302",
            "id_last4_hash": last4_hash(f"{i % 10000:04d}"),
            "community_id": tree["community"].id,
            "grid_id": tree["grid_a"].id,
            "building_id": tree["building_a"].id,
            "branch_id": tree["branch_a"].id,
            "group_id": tree["group_a"].id,
        }
        for i in range(start, start + n)
    ]
    db.session.execute(insert(Member), rows)
    ids = [
        r[0]
        for r in db.session.execute(
            db.select(Member.id).where(Member.id_hash.like("bulk-%")).order_by(Member.id)
        ).all()
    ][-n:]
    db.session.execute(
        insert(MemberHistory),
        [
            {
                "member_id": i,
                "aspect": "placement",
                "value": {},
                "effective_from": date(2020, 1, 1),
            }
            for i in ids
        ],
    )
    db.session.commit()
    return ids
